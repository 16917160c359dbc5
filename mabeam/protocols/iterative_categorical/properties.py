"""Properties IR-C1, IR-C2, IR-CL1, IR-CR1 of categorical refinement (spec: ``spec/iterative-categorical.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...core import Snapshot, always, eventually, sometimes
from .state import CategoricalState

if TYPE_CHECKING:
    from .machine import CategoricalRefinement


def _protocol(snap: Snapshot) -> CategoricalRefinement:
    return cast("CategoricalRefinement", snap.protocol)


def _states(snap: Snapshot) -> list[CategoricalState]:
    return [s for a, s in snap.states.items() if a not in snap.byzantine and s is not None]


@always("IR-C1", "Answer was proposed", reads=("states", "decisions"))
def answer_was_proposed(snap: Snapshot) -> bool:
    """Every answer an agent holds or decides is the input answer of some agent."""
    proposed = {answer for answer, _ in _protocol(snap).inputs.values()}
    return all(s.answer in proposed and all(h.plurality in proposed for h in s.history)
               for s in _states(snap)) and all(d.value[0] in proposed for d in snap.decisions)


@always("IR-C2", "Round count bounded by max rounds", reads=("states", "decisions"))
def rounds_bounded(snap: Snapshot) -> bool:
    """No agent enters a round past max_rounds, and every decision reports <= max_rounds rounds."""
    protocol = _protocol(snap)
    return all(s.round <= protocol.max_rounds for s in _states(snap)) and all(
        d.value[1] <= protocol.max_rounds for d in snap.decisions)


@eventually("IR-CL1", "Termination", reads=("states", "crashed"))
def termination(snap: Snapshot) -> bool:
    """Every correct agent eventually decides (at most f crash)."""
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in snap.correct)


@sometimes("IR-CR1", "Some agent decides", reads=("decisions",))
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration reaches a decision."""
    return bool(snap.decisions)


PROPERTIES = (answer_was_proposed, rounds_bounded, termination, someone_decides)
