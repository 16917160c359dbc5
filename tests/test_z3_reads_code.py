"""Z3 reads the code: a changed threshold in a protocol makes ``mabeam prove`` fail (issue #11, item 5).

Each model's ``code_checks()`` evaluates the protocol's own threshold functions
(and what built machines hold) at every size up to a bound and proves them equal
to the formulas its lemmas are about. Here the code is changed, one threshold at
a time, with ``monkeypatch`` at the name the model reads when it runs, and the
matching "code = formula" result must be refuted, with the point and both values
in its detail. Without a patch every proof holds.

One change per protocol goes through ``run_proofs`` and the ``mabeam prove``
command line (the acceptance line); the others call the model's ``code_checks()``
only, which is what they change and far cheaper than every lemma.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest

from mabeam.api.proofs import ProofResult, run_proofs
from mabeam.api.registry import builtin_entries, get
from mabeam.cli.main import main
from mabeam.models.conformance import CODE_PREFIX
from mabeam.protocols.adaptive import config as adaptive_config
from mabeam.protocols.adaptive import machine as adaptive_machine
from mabeam.protocols.hierarchical import config as hierarchical_config
from mabeam.protocols.hierarchical import machine as hierarchical_machine
from mabeam.protocols.iterative import config as iterative_config
from mabeam.protocols.iterative import machine as iterative_machine
from mabeam.protocols.iterative_categorical import config as categorical_config
from mabeam.protocols.iterative_categorical import machine as categorical_machine
from mabeam.protocols.majority import config as majority_config
from mabeam.protocols.majority import machine as majority_machine
from mabeam.protocols.pbft import config as pbft_config
from mabeam.protocols.pbft import machine as pbft_machine
from mabeam.protocols.weighted import config as weighted_config
from mabeam.protocols.weighted import machine as weighted_machine

PROTOCOLS = [e.name for e in builtin_entries().values() if e.proofs]


@dataclass(frozen=True)
class Change:
    """A code change: ``target.attribute = replacement``; the "code = formula" result whose claim
    starts with ``check`` (and has property ``id``) must then be refuted."""

    protocol: str
    label: str
    target: object
    attribute: str
    replacement: object
    check: str
    id: str


def _after_init(cls: type, **shifts: int) -> Callable[..., None]:
    """``cls.__init__`` followed by ``self.<name> += shift``: a change to a threshold the machine
    computes inline in its constructor (no config function to patch)."""
    original: Any = cls.__dict__["__init__"]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for name, shift in shifts.items():
            setattr(self, name, getattr(self, name) + shift)
    return init


def _unchecked_make_group(name: str, members: Any, f: int, forwarders: Any = None, **_: Any) -> Any:
    original: Any = _MAKE_GROUP
    return original(name, members, f, forwarders, check_size=False)


_MAKE_GROUP = hierarchical_config.make_group
_SWITCH = adaptive_config.switch_quorum
_ROUND_COUNT = iterative_config.round_count

#: the first change of each protocol also goes through run_proofs and the command line
CHANGES = [
    # majority
    Change("majority", "quorum n//2", majority_config, "quorum", lambda n: n // 2,
           "config.quorum(n)", "MAJ-S1"),
    Change("majority", "quorum n//2 from n = 200", majority_config, "quorum",
           lambda n: n // 2 + (n < 200), "config.quorum(n)", "MAJ-S1"),
    Change("majority", "machine quorum +1", majority_machine, "quorum", lambda n: n // 2 + 2,
           "MajorityVoting(n members).quorum", "MAJ-S5"),
    Change("majority", "crash tolerance n//2", majority_config, "crash_tolerance", lambda n: n // 2,
           "config.crash_tolerance(n)", "MAJ-L1"),
    # weighted
    Change("weighted", ">= for >", weighted_machine.WeightedVoting, "_backed",
           lambda self, units: units >= self.quorum_units, "WeightedVoting._backed(units)", "WV-S5"),
    Change("weighted", "Byzantine threshold 1/2", weighted_config, "BYZANTINE_THRESHOLD", Fraction(1, 2),
           "config.validate_threshold(mode, None)", "WV-S1"),
    Change("weighted", "fault limit 1/2", weighted_config, "BYZANTINE_FAULT_LIMIT", Fraction(1, 2),
           "config.validate_faulty_weight(mode, F, W)", "WV-S2"),
    Change("weighted", "quorum units rounded down", weighted_config, "quorum_units",
           lambda units, t: units * t.numerator // t.denominator - 1, "config.quorum_units(U, t)", "WV-S5"),
    Change("weighted", "machine quorum units one short", weighted_machine, "quorum_units",
           lambda units, t: units // t.denominator * t.numerator - 1, "WeightedVoting._backed(units)", "WV-S5"),
    # pbft
    Change("pbft", "quorum (n+f)//2", pbft_config, "quorum", lambda n, f: (n + f) // 2,
           "config.quorum(n, f)", "PBFT-S1"),
    Change("pbft", "2f+1 at n = 3f+2", pbft_config, "quorum",
           lambda n, f: 2 * f + 1 if n == 3 * f + 2 else (n + f) // 2 + 1, "PBFTReplica.commit_quorum", "PBFT-S1"),
    Change("pbft", "max_faulty n//3", pbft_config, "max_faulty", lambda n: n // 3,
           "config.max_faulty(n)", "PBFT-S1"),
    Change("pbft", "join threshold f", pbft_config, "join_threshold", lambda f: f,
           "config.join_threshold(f)", "PBFT-L3"),
    Change("pbft", "replica join threshold f", pbft_machine, "join_threshold", lambda f: f,
           "PBFTReplica.join_threshold", "PBFT-L3"),
    Change("pbft", "prepared with q prepares", pbft_machine.PBFTReplica, "__init__",
           _after_init(pbft_machine.PBFTReplica, prepare_quorum=1), "PBFTReplica.prepare_quorum", "PBFT-S2"),
    Change("pbft", "checkpoint quorum one short", pbft_machine.PBFTReplica, "__init__",
           _after_init(pbft_machine.PBFTReplica, checkpoint_quorum=-1), "PBFTReplica.checkpoint_quorum", "PBFT-S7"),
    # iterative
    Change("iterative", "quorum n-f-1", iterative_config, "quorum", lambda n, f: n - f - 1,
           "config.quorum(n, f)", "IR-S1"),
    Change("iterative", "resilient n >= 3f", iterative_config, "resilient", lambda n, f: n >= 3 * f,
           "config.resilient(n, f)", "IR-S1"),
    Change("iterative", "trim f-1", iterative_machine.ApproximateAgreement, "__init__",
           _after_init(iterative_machine.ApproximateAgreement, trim=-1), "ApproximateAgreement.trim", "IR-S1"),
    Change("iterative", "one round more", iterative_config, "round_count",
           lambda w, e, m: min(_ROUND_COUNT(w, e, m + 1) + 1, m), "config.round_count", "IR-S3"),
    Change("iterative", "machine rounds uncapped", iterative_machine, "round_count",
           lambda w, e, m: _ROUND_COUNT(w, e, 10 ** 6), "ApproximateAgreement(domain [0, width]).rounds", "IR-S3"),
    # iterative-categorical
    Change("iterative-categorical", "quorum n-f+1", categorical_config, "quorum", lambda n, f: n - f + 1,
           "config.quorum(n, f)", "IR-CL1"),
    Change("iterative-categorical", "tolerates f <= n", categorical_config, "tolerates", lambda n, f: f <= n,
           "config.tolerates(n, f)", "IR-CL1"),
    Change("iterative-categorical", "machine quorum n", categorical_machine, "quorum", lambda n, f: n,
           "CategoricalRefinement.quorum", "IR-CL1"),
    Change("iterative-categorical", "round limit max_rounds+1", categorical_machine.CategoricalRefinement,
           "__init__", _after_init(categorical_machine.CategoricalRefinement, round_limit=1),
           "CategoricalRefinement.round_limit", "IR-C2"),
    # adaptive
    Change("adaptive", "Byzantine quorum (n+f)//2", adaptive_config, "byzantine_quorum",
           lambda n, f: (n + f) // 2, "config.byzantine_quorum(n, f)", "ADAPT-S2"),
    Change("adaptive", "weighted quorum 2T//3", adaptive_config, "weighted_quorum", lambda t: 2 * t // 3,
           "config.weighted_quorum(T)", "ADAPT-S2"),
    Change("adaptive", "majority quorum n//2", adaptive_config, "majority_quorum", lambda n: n // 2,
           "config.majority_quorum(n)", "ADAPT-S2"),
    Change("adaptive", "switch quorum one short", adaptive_config, "switch_quorum",
           lambda stage, target: _SWITCH(stage, target) - 1, "config.switch_quorum(Byzantine stage, next)",
           "ADAPT-S2"),
    Change("adaptive", "machine switch quorum one short", adaptive_machine, "switch_quorum",
           lambda stage, target: _SWITCH(stage, target) - 1, "AdaptiveCoordination.switch_quorum(0)", "ADAPT-S2"),
    Change("adaptive", "majority precondition 2c <= n", adaptive_config.Stage, "precondition_holds",
           lambda self, n: self.kind != "majority" or 2 * self.crash_bound <= n,
           "Stage.precondition_holds(n)", "ADAPT-S3"),
    # hierarchical
    Change("hierarchical", "certificate of f+1", hierarchical_config, "group_quorum", lambda n, f: f + 1,
           "config.group_quorum(n, f)", "HIER-S2"),
    Change("hierarchical", "upper threshold (G+F)//2", hierarchical_config, "upper_threshold",
           lambda g, f: (g + f) // 2, "config.upper_threshold(G, F)", "HIER-S3"),
    Change("hierarchical", "over-bound group counted honest", hierarchical_config, "faults_above",
           lambda groups, byzantine: 0, "config.faults_above", "HIER-S3"),
    Change("hierarchical", "judges ask f+1 signatures", hierarchical_machine.Hierarchical, "quorum",
           lambda self, group: group.f + 1, "Hierarchical.quorum(group)", "HIER-S2"),
    Change("hierarchical", "no size bound", hierarchical_config, "make_group", _unchecked_make_group,
           "make_group(n members, f) is accepted", "HIER-S1"),
]
FIRST = {name: next(c for c in CHANGES if c.protocol == name) for name in PROTOCOLS}


def _model(protocol: str) -> Any:
    return importlib.import_module(get(protocol).proofs)


def _code_results(results: list[ProofResult]) -> list[ProofResult]:
    return [r for r in results if r.name.startswith(CODE_PREFIX)]


def _assert_caught(change: Change, results: list[ProofResult]) -> None:
    """The change's own "code = formula" result is refuted at a named point; every failure cites a
    real property ID and is a refutation (no unknown, no crash)."""
    failed = [r for r in results if not r.ok]
    known = {p.id for p in get(change.protocol).properties}
    assert failed, f"{change.label}: every proof still holds"
    assert all(r.id in known and r.status == "refuted" for r in failed), [r.to_json() for r in failed]
    mine = [r for r in failed if r.name.startswith(CODE_PREFIX + change.check)]
    assert mine, f"{change.label}: {change.check} not refuted; failed: {[r.name for r in failed]}"
    assert all(r.id == change.id and ("the code gives" in r.detail or "the code raised" in r.detail)
               for r in mine), [r.to_json() for r in mine]


def test_every_protocol_has_code_changes_and_every_model_protocol_is_covered() -> None:
    assert set(PROTOCOLS) == {c.protocol for c in CHANGES} == set(FIRST)
    assert len(PROTOCOLS) == 7


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_without_a_change_every_proof_holds_and_the_code_is_read(protocol: str) -> None:
    results = run_proofs(protocol)
    assert results and all(r.ok for r in results), [r.to_json() for r in results if not r.ok]
    code = _code_results(results)
    assert len(code) >= 3
    known = {p.id for p in get(protocol).properties}
    for r in code:
        assert r.id in known and r.status == "proved"
        assert int(r.detail.split()[0]) >= 2, r.detail  # the point count leads the detail
    # every claim a change below targets exists, so a change cannot miss by a renamed check
    for change in CHANGES:
        if change.protocol == protocol:
            assert any(r.name.startswith(CODE_PREFIX + change.check) for r in code), change.check


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_changed_threshold_fails_run_proofs_and_mabeam_prove(
        protocol: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    change = FIRST[protocol]
    monkeypatch.setattr(change.target, change.attribute, change.replacement)
    _assert_caught(change, run_proofs(protocol))
    code = main(["prove", protocol, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    assert any(p["status"] == "refuted" and p["name"].startswith(CODE_PREFIX + change.check)
               for p in report["proofs"])


@pytest.mark.parametrize("change", [c for c in CHANGES if c is not FIRST[c.protocol]],
                         ids=lambda c: f"{c.protocol}: {c.label}")
def test_each_changed_threshold_fails_its_code_check(change: Change, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(change.target, change.attribute, change.replacement)
    _assert_caught(change, _model(change.protocol).code_checks())
