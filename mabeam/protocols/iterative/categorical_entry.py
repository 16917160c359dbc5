"""Catalogue entry of ``iterative-categorical``: properties IR-C1, IR-C2, IR-CL1, IR-CR1 and mutants."""

from __future__ import annotations

from typing import Any

from ...core import Snapshot, always, eventually, sometimes
from ...core.catalog import Mutant, ProtocolEntry
from .categorical import CategoricalRefinement, CategoricalState, build


def _states(snap: Snapshot) -> list[CategoricalState]:
    return [s for a, s in snap.states.items() if a not in snap.byzantine and s is not None]


@always("IR-C1", "Answer was proposed")
def answer_was_proposed(snap: Snapshot) -> bool:
    """Every answer an agent holds or decides is the input answer of some agent."""
    protocol = snap.protocol
    assert isinstance(protocol, CategoricalRefinement)
    proposed = {answer for answer, _ in protocol.inputs.values()}
    return all(s.answer in proposed and all(h.plurality in proposed for h in s.history)
               for s in _states(snap)) and all(d.value[0] in proposed for d in snap.decisions)


@always("IR-C2", "Round count bounded by max rounds")
def rounds_bounded(snap: Snapshot) -> bool:
    """No agent enters a round past max_rounds, and every decision reports <= max_rounds rounds."""
    protocol = snap.protocol
    assert isinstance(protocol, CategoricalRefinement)
    return all(s.round <= protocol.max_rounds for s in _states(snap)) and all(
        d.value[1] <= protocol.max_rounds for d in snap.decisions)


@eventually("IR-CL1", "Termination")
def termination(snap: Snapshot) -> bool:
    """Every correct agent eventually decides (at most f crash)."""
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in snap.correct)


@sometimes("IR-CR1", "Some agent decides")
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration reaches a decision."""
    return bool(snap.decisions)


PROPERTIES = (answer_was_proposed, rounds_bounded, termination, someone_decides)


class _InventOnTie(CategoricalRefinement):
    """Breaks a tie by the first candidate overall, even one nobody proposed."""

    def plurality(self, view: Any) -> str:
        support = self._support(view)
        best = max(support.values())
        leaders = [c for c in self.candidates if support.get(c) == best]
        return leaders[0] if len(leaders) == 1 else self.candidates[0]


class _IgnoreMaxRounds(CategoricalRefinement):
    """Refines one round past max_rounds when the plurality is not yet stable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.round_limit = self.max_rounds + 1


class _ImpossibleQuorum(CategoricalRefinement):
    """Waits for n+1 proposals per round: nobody ever finishes."""

    def _ready(self, view: Any) -> bool:
        return len(view) > self.n


def _mutant(name: str, cls: type[CategoricalRefinement], description: str, breaks: tuple[str, ...]) -> Mutant:
    return Mutant("iterative-categorical", name, description, breaks,
                  lambda agents, faulty: build(agents, faulty, cls))


ENTRY = ProtocolEntry(
    name="iterative-categorical",
    summary="rounds of confidence-weighted plurality over candidate answers, crash-tolerant",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=(
        _mutant("invent-answer", _InventOnTie, "breaks ties with the first candidate, proposed or not",
                ("IR-C1",)),
        _mutant("ignore-max-rounds", _IgnoreMaxRounds, "keeps refining one round past max_rounds",
                ("IR-C2",)),
        _mutant("impossible-quorum", _ImpossibleQuorum, "waits for n+1 proposals per round",
                ("IR-CL1", "IR-CR1")),
    ),
    default_agents=3,
    default_faulty=1,
    check_defaults={"network": "duplicating", "intruder": True},
)
