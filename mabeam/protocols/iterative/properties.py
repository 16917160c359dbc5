"""Properties IR-S1..S4, IR-L1, IR-R1, IR-R2 of approximate agreement (spec: ``spec/iterative.md``).

All are plain predicates over a global snapshot. "Honest round-r values" are
the values honest agents entered round r with, as far as they exist yet; the
value an agent leaves round r with is its round-(r+1) value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import wraps
from itertools import combinations
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from ...core import AgentId, Snapshot, always, eventually, sometimes
from ...core.memo import ProtocolMemo
from .state import NumericState, RoundRecord
from .values import Vector

if TYPE_CHECKING:
    from .machine import ApproximateAgreement


class _Nodes(NamedTuple):
    """The part of a snapshot these properties read: the protocol and the honest node states."""

    protocol: ApproximateAgreement
    states: dict[AgentId, NumericState | None]
    honest: tuple[AgentId, ...]


def _memoised(check: Callable[[Any], bool]) -> Callable[[Snapshot], bool]:
    """Judge a snapshot by its honest node states only, memoised on them.

    The checker meets the same node states under many network and timer states;
    node states cache their hashes, so a repeat costs one dictionary lookup.
    """
    memo = ProtocolMemo()

    @wraps(check)
    def predicate(snap: Snapshot) -> bool:
        protocol = cast("ApproximateAgreement", snap.protocol)
        nodes = tuple((a, snap.states.get(a)) for a in snap.honest)
        return memo.get(protocol, nodes,
                        lambda: check(_Nodes(protocol, dict(nodes), tuple(a for a, _ in nodes))))
    predicate.memo = memo  # type: ignore[attr-defined]
    return predicate


def _protocol(snap: Snapshot | _Nodes) -> ApproximateAgreement:
    return cast("ApproximateAgreement", snap.protocol)


def _honest_states(snap: Snapshot | _Nodes) -> Iterator[tuple[AgentId, NumericState]]:
    for agent in snap.honest:
        state = snap.states.get(agent)
        if state is not None:
            yield agent, state


def round_values(protocol: ApproximateAgreement, agent: AgentId, state: NumericState) -> dict[int, Vector]:
    """Round -> the value ``agent`` entered that round with (the final value is round R+1's)."""
    values = {1: protocol.inputs[agent]}
    for record in state.history:
        values[record.round + 1] = record.left
    return values


def _within(vector: Vector, low: Vector, high: Vector) -> bool:
    return all(lo <= x <= hi for x, lo, hi in zip(vector, low, high))


def _box(vectors: list[Vector]) -> tuple[Vector, Vector]:
    return tuple(map(min, zip(*vectors))), tuple(map(max, zip(*vectors)))


def _overlap(a: RoundRecord, b: RoundRecord) -> int:
    return len(a.view & b.view)


def _records_by_round(snap: Snapshot | _Nodes) -> dict[int, list[RoundRecord]]:
    by_round: dict[int, list[RoundRecord]] = {}
    for _, state in _honest_states(snap):
        for record in state.history:
            by_round.setdefault(record.round, []).append(record)
    return by_round


def synchronous_rounds(snap: Snapshot | _Nodes) -> bool:
    """Every pair of honest agents' views of every completed round shares >= 2f+1 identical entries."""
    protocol = _protocol(snap)
    need = 2 * protocol.f + 1
    return all(_overlap(a, b) >= need for records in _records_by_round(snap).values()
               for a, b in combinations(records, 2))


@always("IR-S1", "Validity", reads=("states",))
@_memoised
def validity(snap: Snapshot) -> bool:
    """Every honest value, at every round, lies within the (coordinate-wise) range of honest inputs."""
    protocol = _protocol(snap)
    low, high = _box([protocol.inputs[a] for a in snap.honest])
    return all(_within(v, low, high) for agent, state in _honest_states(snap)
               for v in round_values(protocol, agent, state).values())


@always("IR-S2", "Contraction", reads=("states",))
@_memoised
def contraction(snap: Snapshot) -> bool:
    """Leaving round r, an honest value lies in the honest round-r range; two honest agents whose
    round-r views share >= 2f+1 identical entries end within half that range of each other."""
    protocol = _protocol(snap)
    known: dict[int, list[Vector]] = {}
    for agent, state in _honest_states(snap):
        for round_, value in round_values(protocol, agent, state).items():
            known.setdefault(round_, []).append(value)
    need = 2 * protocol.f + 1
    for round_, records in _records_by_round(snap).items():
        low, high = _box(known[round_])
        if not all(_within(r.left, low, high) for r in records):
            return False
        half = tuple((hi - lo) / 2 for lo, hi in zip(low, high))
        for a, b in combinations(records, 2):
            if _overlap(a, b) >= need and any(abs(x - y) > h for x, y, h in zip(a.left, b.left, half)):
                return False
    return True


def agreement_bound(protocol: ApproximateAgreement) -> Fraction:
    """Width / 2**R: at most epsilon unless max_rounds cut the round count short."""
    low, high = protocol.domain
    return (high - low) / 2 ** protocol.rounds


def _all_honest_decided(snap: Snapshot | _Nodes) -> bool:
    return all((state := snap.states.get(a)) is not None and state.decided is not None for a in snap.honest)


@always("IR-S3", "Epsilon-agreement at termination", reads=("states",))
@_memoised
def epsilon_agreement(snap: Snapshot) -> bool:
    """Once every honest agent has decided after synchronous rounds (views pairwise sharing >= 2f+1
    entries; automatic when n > 5f), decided values differ by at most epsilon per coordinate."""
    protocol = _protocol(snap)
    if not _all_honest_decided(snap) or not synchronous_rounds(snap):
        return True
    bound = agreement_bound(protocol)
    finals = [state.decided[0] for _, state in _honest_states(snap) if state.decided is not None]
    return all(abs(x - y) <= bound for a, b in combinations(finals, 2) for x, y in zip(a, b))


@always("IR-S4", "One value per sender per round", reads=("states",))
@_memoised
def one_value_per_sender(snap: Snapshot) -> bool:
    """No honest agent holds two values of one sender for one round, or a non-member's value."""
    members = snap.protocol.membership
    for _, state in _honest_states(snap):
        entries = [(r, s) for r, s, _ in state.inbox]
        entries += [(record.round, s) for record in state.history for s, _ in record.view]
        if len(entries) != len(set(entries)) or any(s not in members for _, s in entries):
            return False
    return True


@_memoised
def _all_terminated(snap: Snapshot) -> bool:
    protocol = _protocol(snap)
    return _all_honest_decided(snap) and all(
        len(state.history) == protocol.rounds and state.decided is not None and state.decided[1] == protocol.rounds
        for _, state in _honest_states(snap))


@eventually("IR-L1", "Termination within R rounds", reads=("states", "crashed"))
def termination(snap: Snapshot) -> bool:
    """Every correct agent decides, after exactly R = min(ceil(log2(width/epsilon)), max_rounds) rounds.

    A crash is one of the f faults: the promise covers the honest agents that have
    not crashed, and holds while Byzantine plus crashed agents number at most f.
    """
    protocol = _protocol(snap)
    if len(snap.byzantine) + len(snap.crashed) > protocol.f:
        return True  # beyond the fault bound nothing is promised (spec IR-L1)
    if not snap.crashed:
        return _all_terminated(snap)
    # judge the correct agents only: treat the crashed ones like the faulty ones
    return _all_terminated(snap.replace(byzantine=snap.byzantine | snap.crashed))


@sometimes("IR-R1", "Some agent terminates", reads=("states",))
@_memoised
def someone_terminates(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration can reach a decision."""
    return any(state.decided is not None for _, state in _honest_states(snap))


@sometimes("IR-R2", "A synchronous run reaches epsilon-agreement", reads=("states",))
@_memoised
def synchronous_run_terminates(snap: Snapshot) -> bool:
    """Non-vacuity of IR-S3: every honest agent decides after rounds that all meet its precondition."""
    return _all_honest_decided(snap) and synchronous_rounds(snap)


PROPERTIES = (validity, contraction, epsilon_agreement, one_value_per_sender, termination,
              someone_terminates, synchronous_run_terminates)
