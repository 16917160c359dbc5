"""Cross-artifact consistency: spec/, tla/, models/ and mutants agree with the code.

Generic over :func:`mabeam.api.registry.entries`, so a new protocol is held to the
same rules as soon as it is registered: its contract names every property ID,
its TLA+ companion parses and its ``.cfg`` names only defined operators, its Z3
model cites real property IDs, and every safety and liveness property has a
mutant that the checker rejects with a counterexample.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tla
from mabeam.api.proofs import run_proofs
from mabeam.api.registry import all_mutants, builtin_entries
from mabeam.api.verify import check_protocol
from mabeam.core import Kind
from mabeam.core.catalog import Mutant, ProtocolEntry

ROOT = Path(__file__).resolve().parent.parent
TLA_FILES = sorted((ROOT / "tla").glob("*.tla"))
ENTRIES = list(builtin_entries().values())
#: the one protocol whose mutant sweep stays in the fast default run
FAST_PROTOCOL = "majority"

#: TLC config keywords, plural spellings mapped to the singular
CFG_KEYWORDS = {
    "CONSTANT": "CONSTANT", "CONSTANTS": "CONSTANT", "INIT": "INIT", "NEXT": "NEXT",
    "SPECIFICATION": "SPECIFICATION", "INVARIANT": "INVARIANT", "INVARIANTS": "INVARIANT",
    "PROPERTY": "PROPERTY", "PROPERTIES": "PROPERTY", "SYMMETRY": "SYMMETRY", "VIEW": "VIEW",
    "CONSTRAINT": "CONSTRAINT", "CONSTRAINTS": "CONSTRAINT", "ACTION_CONSTRAINT": "ACTION_CONSTRAINT",
    "ACTION_CONSTRAINTS": "ACTION_CONSTRAINT", "CHECK_DEADLOCK": "CHECK_DEADLOCK",
    "POSTCONDITION": "POSTCONDITION", "ALIAS": "ALIAS",
}


def _ids(entry: ProtocolEntry, *kinds: Kind) -> list[str]:
    return [p.id for p in entry.properties if not kinds or p.kind in kinds]


def _cfg_sections(text: str) -> dict[str, list[str]]:
    """The tokens under each keyword of a TLC config, comments removed."""
    text = re.sub(r"\(\*.*?\*\)", " ", text, flags=re.S)
    text = re.sub(r"\\\*[^\n]*", " ", text)
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in re.findall(r"<-|[^\s=,{}<]+|[=,{}]", text):
        if token in CFG_KEYWORDS:
            current = sections.setdefault(CFG_KEYWORDS[token], [])
            continue
        if current is None:
            raise AssertionError(f"config text before any keyword: {token!r}")
        current.append(token)
    return sections


def _definitions(module: tla._ast.Module) -> tuple[set[str], set[str]]:
    """Operator names defined in, and constant names declared by, a parsed module."""
    defined = {u.name for u in module.units if type(u).__name__ == "OperatorDefinition"}
    constants = {name.operator for u in module.units if type(u).__name__ == "Constants"
                 for name in u.names}
    return defined, constants


def _names_under(sections: dict[str, list[str]], *keywords: str) -> list[str]:
    return [tok for k in keywords for tok in sections.get(k, []) if tok not in {",", "=", "{", "}"}]


# ---------------------------------------------------------------------- spec/
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_spec_exists_and_names_every_property(entry: ProtocolEntry) -> None:
    assert entry.spec, f"{entry.name} declares no spec file"
    spec = ROOT / entry.spec
    assert spec.is_file(), f"{entry.spec} is missing"
    text = spec.read_text()
    missing = [pid for pid in _ids(entry) if pid not in text]
    assert not missing, f"{entry.spec} does not mention {missing}"


# ----------------------------------------------------------------------- tla/
def test_there_is_a_tla_spec() -> None:
    assert TLA_FILES


@pytest.mark.parametrize("path", TLA_FILES, ids=lambda p: p.name)
def test_tla_parses_and_its_cfg_names_defined_operators(path: Path) -> None:
    module = tla.parse(path.read_text())
    assert module is not None and module.name == path.stem
    defined, constants = _definitions(module)
    cfg = path.with_suffix(".cfg")
    assert cfg.is_file(), f"{path.name} has no sibling {cfg.name}"
    sections = _cfg_sections(cfg.read_text())
    checked = _names_under(sections, "INVARIANT", "PROPERTY")
    assert checked, f"{cfg.name} names no INVARIANT or PROPERTY"
    behaviour = _names_under(sections, "SPECIFICATION", "INIT", "NEXT")
    assert behaviour, f"{cfg.name} names no SPECIFICATION (or INIT/NEXT)"
    undefined = [name for name in checked + behaviour if name not in defined]
    assert not undefined, f"{cfg.name} names operators {path.name} does not define: {undefined}"
    # every declared constant gets a finite value or a substitution by a defined operator
    assignments = " ".join(sections.get("CONSTANT", []))
    assigned = dict(re.findall(r"(\w+)\s*(?:=|<-)\s*(\S+)", assignments))
    assert set(assigned) == constants, f"{cfg.name}: constants {sorted(constants ^ set(assigned))}"
    substituted = re.findall(r"\w+\s*<-\s*(\w+)", assignments)
    assert all(name in defined for name in substituted)


def test_cfg_reader_sees_what_it_must() -> None:
    """The config reader above is itself checked on a known text, so a pass means something."""
    sections = _cfg_sections("\\* note\nCONSTANTS A = {a, b}\n  B <- Def\n(* x *) SPECIFICATION Spec\n"
                             "INVARIANTS Inv1 Inv2\nPROPERTIES Live")
    assert _names_under(sections, "INVARIANT") == ["Inv1", "Inv2"]
    assert _names_under(sections, "PROPERTY") == ["Live"]
    assert _names_under(sections, "SPECIFICATION") == ["Spec"]
    assert "<-" in sections["CONSTANT"] and "a" in sections["CONSTANT"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_some_tla_spec_names_every_safety_and_liveness_id(entry: ProtocolEntry) -> None:
    wanted = _ids(entry, Kind.ALWAYS, Kind.EVENTUALLY)
    texts = [p.read_text() for p in TLA_FILES]

    def covers(text: str) -> bool:
        return all(pid in text or pid.replace("-", "_") in text for pid in wanted)

    assert any(covers(t) for t in texts), f"no tla/*.tla names all of {wanted}"


# -------------------------------------------------------------------- models/
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.proofs], ids=lambda e: e.name)
def test_z3_model_cites_the_entrys_property_ids(entry: ProtocolEntry) -> None:
    results = run_proofs(entry.name)
    assert results
    unknown = {r.id for r in results} - set(_ids(entry))
    assert not unknown, f"{entry.proofs} cites unknown IDs {unknown}"
    assert all(r.ok for r in results), [r for r in results if not r.ok]


# -------------------------------------------------------------------- mutants
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_safety_and_liveness_property_has_a_mutant(entry: ProtocolEntry) -> None:
    covered = {pid for m in entry.mutants for pid in m.breaks}
    uncovered = set(_ids(entry, Kind.ALWAYS, Kind.EVENTUALLY)) - covered
    assert not uncovered, f"{entry.name}: no mutant breaks {sorted(uncovered)}"
    known = set(_ids(entry))
    for m in entry.mutants:
        assert m.protocol == entry.name and m.breaks and set(m.breaks) <= known, m.name


def _caught(mutant: Mutant) -> None:
    result = check_protocol(mutant.protocol, mutant=mutant.name)
    caught = [r.property.id for r in result.results
              if r.status == "violated" and r.property.id in mutant.breaks and r.trace is not None
              and r.trace.steps]
    assert caught, (f"{mutant.protocol}/{mutant.name} not caught on {mutant.breaks}: "
                    f"{[(r.property.id, r.status) for r in result.results]}")


@pytest.mark.parametrize("mutant", [m for m in all_mutants() if m.protocol == FAST_PROTOCOL],
                         ids=lambda m: m.name)
def test_majority_mutants_are_caught(mutant: Mutant) -> None:
    _caught(mutant)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", all_mutants(), ids=lambda m: f"{m.protocol}/{m.name}")
def test_every_registered_mutant_is_caught(mutant: Mutant) -> None:
    _caught(mutant)
