"""The properties of the hierarchical protocol (IDs as in ``spec/hierarchical.md``).

The predicates recompute everything from the configuration (members, inputs,
``n_g``, ``f_g``) and the snapshot's Byzantine set, never from the machine's own
``quorum()``/``threshold`` helpers, so a wrong threshold in the machine cannot
hide itself from the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...core import Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, integrity_holds
from .config import Group, faults_above
from .state import HierState

if TYPE_CHECKING:
    from .machine import Hierarchical


def _protocol(snap: Snapshot) -> Hierarchical:
    return cast("Hierarchical", snap.protocol)


def _judges(snap: Snapshot) -> list[HierState]:
    protocol = _protocol(snap)
    return [s for a, s in snap.states.items() if a in protocol.judges and s is not None
            and a not in snap.byzantine]


def _bound_holds(group: Group) -> bool:
    return group.n >= 3 * group.f + 1


def _quorum(group: Group) -> int:
    return (group.n + group.f) // 2 + 1


def _threshold(protocol: Hierarchical) -> int:
    return (len(protocol.groups) + protocol.faulty_groups) // 2 + 1


def _certified(protocol: Hierarchical, snap: Snapshot, group: Group, value: str, signers: tuple[str, ...]) -> bool:
    """``signers`` are >= q_g distinct members of ``group`` and every honest one among them holds ``value``
    (an honest member signs only its own input)."""
    members = set(group.members)
    if len(set(signers)) != len(signers) or not set(signers) <= members or len(signers) < _quorum(group):
        return False
    return all(protocol.inputs[s] == value for s in signers if s not in snap.byzantine)


@always("HIER-S1", "Group size bound", reads=("states",))
def size_bound(snap: Snapshot) -> bool:
    """Every group whose vote an honest judge counted satisfies n_g >= 3 f_g + 1."""
    protocol = _protocol(snap)
    for state in _judges(snap):
        for name, _value, _signers in state.tally:
            group = protocol.group(name)
            if group is None or not _bound_holds(group):
                return False
    return True


@always("HIER-S2", "Certificate soundness", reads=("states",))
def certificate_soundness(snap: Snapshot) -> bool:
    """A group vote (g, v) counted by an honest judge was signed by >= q_g distinct members of g,
    each honest one on its own input v: a forwarder can neither forge nor alter it."""
    protocol = _protocol(snap)
    for state in _judges(snap):
        for name, value, signers in state.tally:
            group = protocol.group(name)
            if group is None or not _certified(protocol, snap, group, value, signers):
                return False
    return True


@always("HIER-S3", "Upper agreement", reads=("decisions",))
def upper_agreement(snap: Snapshot) -> bool:
    """No two honest judges decide different values (and none decides twice)."""
    return agreement_holds(snap) and integrity_holds(snap)


@always("HIER-S4", "One vote per group", reads=("states",))
def one_vote_per_group(snap: Snapshot) -> bool:
    """Each honest judge counts at most one value per group; a group that certified two values
    (more than f_g faults) is one equivocating vote above, and a refused value is never counted."""
    for state in _judges(snap):
        names = [e[0] for e in state.tally]
        if len(names) != len(set(names)):
            return False
        if any((e := state.entry(g)) is not None and e[1] == v for g, v in state.refused):
            return False
    return True


@always("HIER-S5", "Level consumption", reads=("states",))
def level_consumption(snap: Snapshot) -> bool:
    """An honest judge's decision is computed from certified outputs of the level below only:
    it decided v exactly when >= T groups of that level have a certified entry for v."""
    protocol = _protocol(snap)
    threshold = _threshold(protocol)
    for state in _judges(snap):
        certified: dict[str, int] = {}
        for name, value, signers in state.tally:
            group = protocol.group(name)
            if group is None or len(set(signers)) < _quorum(group) or not set(signers) <= set(group.members):
                return False
            certified[value] = certified.get(value, 0) + 1
        if state.decided is not None and certified.get(state.decided, 0) < threshold:
            return False
    return True


@sometimes("HIER-R1", "A judge decides", reads=("states",))
def a_judge_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked hierarchy can reach a top decision."""
    return any(s.decided is not None for s in _judges(snap))


@sometimes("HIER-R2", "A faulty group is caught equivocating above",
           applies_to=lambda p: getattr(p, "faulty_groups", 0) > 0, reads=("states",))
def group_equivocation_seen(snap: Snapshot) -> bool:
    """Non-vacuity of HIER-S4: a judge refuses a second certified value of one group."""
    return any(s.refused for s in _judges(snap))


def live_groups(protocol: Hierarchical, snap: Snapshot, value: str) -> int:
    """Groups within their bound, with a correct forwarder and >= q_g correct members whose input is value."""
    correct = set(snap.correct)
    count = 0
    for g in protocol.groups:
        if g.faulty_members(snap.byzantine) > g.f or not any(a in correct for a in g.forwarders):
            continue
        if sum(1 for m in g.members if m in correct and protocol.inputs[m] == value) >= _quorum(g):
            count += 1
    return count


@eventually("HIER-L1", "Termination", reads=("states", "crashed"))
def termination(snap: Snapshot) -> bool:
    """If >= T groups within their bound each have a correct forwarder and q_g correct members
    with the same input v, every correct judge decides."""
    protocol = _protocol(snap)
    threshold = _threshold(protocol)
    if faults_above(protocol.groups, snap.byzantine) > protocol.faulty_groups:
        return True  # outside the upper level's bound: nothing is promised
    if not any(live_groups(protocol, snap, v) >= threshold for v in protocol.candidates):
        return True
    return all(snap.states[j] is not None and snap.states[j].decided is not None
               for j in protocol.judges if j in snap.correct)


PROPERTIES = (size_bound, certificate_soundness, upper_agreement, one_vote_per_group, level_consumption,
              a_judge_decides, group_equivocation_seen, termination)
