"""PBFT's properties over a global snapshot (IDs as in spec/pbft.md).

Properties look only at honest replicas. Faulty ones are the Byzantine set of
the snapshot plus any identity a Twins run doubles (``protocol.twinned``).
History the snapshot cannot show (views reached, slots ever prepared) comes
from the replicas' history fields, see :mod:`.state`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from itertools import combinations
from typing import Any, cast

from ...core import AgentId, Evidence, Message, Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, integrity_holds
from .batching import operations
from .config import PBFTConfig
from .evidence import conflicting, equivocation, verify_evidence
from .interface import Replica
from .messages import NULL_VALUE, PrePrepare, Request, VoteBundle
from .state import NORMAL, ReplicaState


def replica_protocol(snap: Snapshot) -> Replica:
    """The PBFT instance behind the snapshot (unwrapping a Twins wrapper)."""
    return cast(Replica, getattr(snap.protocol, "inner", snap.protocol))


def _config(protocol: object) -> PBFTConfig:
    """The configuration of a PBFT instance, or of the one a Twins wrapper runs (for ``applies_to``)."""
    return cast(Replica, getattr(protocol, "inner", protocol)).config


def faulty(snap: Snapshot) -> frozenset[AgentId]:
    return snap.byzantine | frozenset(getattr(snap.protocol, "twinned", ()))


def honest_states(snap: Snapshot) -> Iterator[tuple[AgentId, ReplicaState]]:
    bad = faulty(snap)
    for agent, state in snap.states.items():
        if agent not in bad and state is not None:
            yield agent, state


def honest_decisions(snap: Snapshot) -> list:
    bad = faulty(snap)
    return [d for d in snap.decisions if d.agent not in bad]


# --------------------------------------------------------------------- safety
@always("PBFT-S1", "Agreement", reads=("decisions",))
def agreement(snap: Snapshot) -> bool:
    """No two honest replicas decide different values at the same sequence number, in any views."""
    return agreement_holds(_honest_only(snap))


@always("PBFT-S2", "Prepared uniqueness", reads=("states",))
def prepared_uniqueness(snap: Snapshot) -> bool:
    """Within one view, honest replicas never prepare different values for one sequence number."""
    seen: dict[tuple[int, int], bytes] = {}
    for _, state in honest_states(snap):
        for view, seq, digest in state.prepared_log:
            if seen.setdefault((view, seq), digest) != digest:
                return False
    return True


@always("PBFT-S3", "Committed implies prepared at f+1 honest", reads=("states",))
def committed_backed(snap: Snapshot) -> bool:
    """A slot committed-local at an honest replica was prepared by at least f+1 honest replicas."""
    f = replica_protocol(snap).f
    states = [s for _, s in honest_states(snap)]
    for state in states:
        for entry in state.committed_log:
            if sum(1 for other in states if entry in other.prepared_log) < f + 1:
                return False
    return True


@always("PBFT-S4", "View-change preservation", reads=("states",))
def view_change_preservation(snap: Snapshot) -> bool:
    """Once a value is committed-local at (view v, seq n), no honest replica prepares another value at n in a view above v."""  # noqa: E501 (the description reports print)
    states = [s for _, s in honest_states(snap)]
    committed = {entry for s in states for entry in s.committed_log}
    prepared = {entry for s in states for entry in s.prepared_log}
    return all(not (seq == cseq and view > cview and digest != cdigest)
               for cview, cseq, cdigest in committed for view, seq, digest in prepared)


@always("PBFT-S5", "Validity", reads=("decisions",))
def validity(snap: Snapshot) -> bool:
    """Every value an honest replica decides was requested by a configured requester (or is the null request);
    a batch's value (:mod:`.batching`) only lists requested operations."""
    allowed = replica_protocol(snap).config.requested_values
    return all(d.value == NULL_VALUE or d.value in allowed or all(op in allowed for op in operations(d.value))
               for d in honest_decisions(snap))


@always("PBFT-S6", "Integrity", reads=("decisions",))
def integrity(snap: Snapshot) -> bool:
    """An honest replica decides once per sequence number and executes each request at most once."""
    if not integrity_holds(_honest_only(snap)):
        return False
    executed: set[tuple[AgentId, Any]] = set()
    for d in honest_decisions(snap):
        for op in operations(d.value):  # a batch executes several requests; the null value none
            if (d.agent, op) in executed:
                return False
            executed.add((d.agent, op))
    return True


@always("PBFT-S7", "Checkpoint stability and garbage collection", reads=("states",))
def checkpoint_discipline(snap: Snapshot) -> bool:
    """A stable checkpoint has a quorum (2f+1 at n = 3f+1) of matching signed checkpoints; only slots at or below it are collected."""  # noqa: E501 (the description reports print)
    protocol = replica_protocol(snap)
    quorum = protocol.config.quorum
    for _, state in honest_states(snap):
        if state.stable_seq:
            proof = state.stable_proof
            if (len({c.sender for c in proof}) < quorum or len({(c.seq, c.digest) for c in proof}) != 1
                    or proof[0].seq != state.stable_seq
                    or not all(c.sender in protocol.membership and protocol.auth.verify(c) for c in proof)):
                return False
        if any(s.seq <= state.stable_seq for s in state.slots):
            return False
        kept = {s.seq for s in state.slots if s.committed}
        if any(seq not in kept for seq in range(state.stable_seq + 1, state.last_executed + 1)):
            return False
    return True


@always("PBFT-S8", "Views never decrease", reads=("states",))
def views_monotone(snap: Snapshot) -> bool:
    """An honest replica's current view is the highest view it ever entered."""
    return all(state.view == state.highest_view for _, state in honest_states(snap))


def held_messages(state: ReplicaState) -> Iterator[Message]:
    """The signed messages a replica's state holds: its log, checkpoints, view changes and certificates."""
    for slot in state.slots:
        if slot.pre_prepare is not None:
            yield slot.pre_prepare
        yield from slot.prepares
        yield from slot.commits
    yield from state.checkpoints
    yield from state.view_changes
    for certificate in state.decision_proofs:
        yield from certificate.commits


@always("PBFT-S9", "No honest replica signs conflicting messages", reads=("states", "in_flight", "evidence"))
def no_honest_equivocation(snap: Snapshot) -> bool:
    """No two validly signed messages of one honest replica for the same kind, view and sequence number
    differ, among the messages in flight, those honest replicas hold and those quoted as evidence.

    On the duplicating network every message sent stays in flight, so this is exactly "never signed
    two conflicting messages"; on the multiset network a message consumed and not kept escapes it.
    A replica restarted without what it had signed breaks it (``forgets-on-crash``).
    """
    bad = faulty(snap)
    seen: dict[tuple[type, AgentId, Any, Any], Message] = {}
    clash: list[tuple[Message, Message]] = []

    def note(m: Message) -> None:
        if isinstance(m, VoteBundle):  # a relay claims nothing of its sender's own; the votes it carries do
            for vote in m.votes:
                note(vote)
            return
        if m.sender in bad or isinstance(m, Request):
            return
        key = (type(m), m.sender, getattr(m, "view", None), getattr(m, "seq", None))
        first = seen.setdefault(key, m)
        if first is not m and first != m:
            clash.append((first, m))

    for env in snap.in_flight:
        note(env.message)
    for _, state in honest_states(snap):
        for m in held_messages(state):
            note(m)
    for evidence in snap.evidence:
        for m in evidence.proof:
            note(m)
    if not clash:
        return True
    protocol = replica_protocol(snap)
    members = protocol.membership
    return not any(a.sender in members and conflicting(a, b) and protocol.auth.verify(a) and protocol.auth.verify(b)
                   for a, b in clash)


# ----------------------------------------------------------- view-change rules
@always("PBFT-L2", "Bounded run of faulty primaries", reads=("states",))
def honest_primary_within_f_plus_1(snap: Snapshot) -> bool:
    """Among any f+1 consecutive views an honest replica reaches, one has an honest primary."""
    protocol = replica_protocol(snap)
    bad = faulty(snap)
    top = max((s.highest_view for _, s in honest_states(snap)), default=0)
    for start in range(0, top - protocol.f + 1):
        if all(protocol.primary(v) in bad for v in range(start, start + protocol.f + 1)):
            return False
    return True


@always("PBFT-L3", "Fewer than f+1 view changes move no honest replica",
        reads=("states",))
def no_view_change_without_honest_timeout(snap: Snapshot) -> bool:
    """An honest replica is in view v > 0 only if some honest replica's own timer expired in a view >= v-1."""
    states = [s for _, s in honest_states(snap)]
    suspected = max((v for s in states for v in s.suspected), default=-1)
    return all(s.highest_view <= suspected + 1 for s in states)


# ---------------------------------------------------------------- liveness
@eventually("PBFT-L1", "Liveness after stabilisation", reads=("states", "crashed"))
def requests_execute(snap: Snapshot) -> bool:
    """Every correct replica executes every request within the sequence bound.

    Promised only when some view within the bound has a correct primary: with
    the view bound at a faulty primary's view no protocol can progress. A
    replica that missed the commits of the view in which a request committed
    (misled by an equivocating primary, cut off, or moved ahead in views)
    executes it through catch-up.
    """
    protocol = replica_protocol(snap)
    target = min(protocol.config.max_seq, len(protocol.config.requests))
    bad = faulty(snap)
    if all(protocol.primary(v) in bad or protocol.primary(v) in snap.crashed
           for v in range(protocol.config.max_view + 1)):
        return True
    return all(snap.states.get(a) is not None and snap.states[a].last_executed >= target
               for a in snap.protocol.agents if a not in bad and a not in snap.crashed)


# ---------------------------------------------------------------- accountability
def audit(snap: Snapshot) -> set[Evidence]:
    """What a third party finds by comparing honest replicas' commit certificates (their decision log)."""
    commits: dict[tuple[AgentId, int, int], set] = defaultdict(set)
    for _, state in honest_states(snap):
        for certificate in state.decision_proofs:
            for c in certificate.commits:
                commits[(c.sender, c.view, c.seq)].add(c)
    found = set()
    for group in commits.values():
        for a, b in combinations(sorted(group, key=lambda m: m.canonical()), 2):
            if conflicting(a, b):
                found.add(equivocation(a, b))
    return found


@always("PBFT-A1", "Accountability", reads=("states", "decisions", "evidence"))
def accountability(snap: Snapshot) -> bool:
    """Evidence never names an honest replica; a same-view agreement break exposes at least f+1 culprits."""
    protocol = replica_protocol(snap)
    bad = faulty(snap)
    for e in snap.evidence:
        if e.against not in bad or not verify_evidence(e, protocol.auth):
            return False
    if agreement.holds(snap):
        return True
    views = defaultdict(set)
    for _, state in honest_states(snap):
        for certificate in state.decision_proofs:
            views[certificate.seq].add(certificate.view)
    if not any(len(v) == 1 for v in views.values()):
        return True  # a break across views is not attributable from commit certificates alone
    culprits = {e.against for e in set(snap.evidence) | audit(snap)
                if verify_evidence(e, protocol.auth)}
    return len(culprits) >= protocol.f + 1 and culprits <= bad


@always("PBFT-A2", "An equivocating primary is exposed", reads=("states", "evidence"))
def primary_exposed(snap: Snapshot) -> bool:
    """An honest replica that held two conflicting signed pre-prepares of one primary for one (view, seq)
    (delivered directly, forwarded in a PREPARE, or inside a VIEW-CHANGE or commit certificate) has
    produced verifiable equivocation evidence against that primary.

    Needs the ``pre_prepares_seen`` history, kept only when the configuration asks for it.
    """
    protocol = replica_protocol(snap)
    exposed = {(e.proof[0].view, e.proof[0].seq) for e in snap.evidence
               if e.kind == "equivocation" and len(e.proof) == 2 and isinstance(e.proof[0], PrePrepare)
               and e.against == protocol.primary(e.proof[0].view) and verify_evidence(e, protocol.auth)}
    for _, state in honest_states(snap):
        digests: dict[tuple[int, int], set[bytes]] = defaultdict(set)
        for view, seq, digest in state.pre_prepares_seen:
            digests[(view, seq)].add(digest)
        if any(len(ds) > 1 and slot not in exposed for slot, ds in digests.items()):
            return False
    return True


#: A2 reads a history only configurations with ``audit_pre_prepares`` keep (see PBFTConfig)
primary_exposed = dataclasses.replace(
    primary_exposed, applies_to=lambda protocol: _config(protocol).audit_pre_prepares)


# ---------------------------------------------------------------- non-vacuity
@sometimes("PBFT-R1", "Some honest replica decides", reads=("decisions",))
def someone_decides(snap: Snapshot) -> bool:
    return bool(honest_decisions(snap))


@sometimes("PBFT-R4", "A replica catches up from a commit certificate", reads=("states",))
def caught_up(snap: Snapshot) -> bool:
    """Some honest replica executed a sequence number whose commits it did not collect itself.

    Its committed slot holds the certificate it adopted, which has no prepared flag.
    """
    return any(s.committed and not s.prepared for _, state in honest_states(snap) for s in state.slots)


@sometimes("PBFT-R2", "A view change completes",
           applies_to=lambda protocol: _config(protocol).max_view >= 1, reads=("states",))
def view_change_completes(snap: Snapshot) -> bool:
    return any(s.view > 0 and s.phase == NORMAL for _, s in honest_states(snap))


@sometimes("PBFT-R3", "An equivocating replica is exposed",
           applies_to=lambda protocol: _config(protocol).adversary in ("full", "primary"), reads=("evidence",))
def equivocation_exposed(snap: Snapshot) -> bool:
    return any(e.against in faulty(snap) for e in snap.evidence)


def _honest_only(snap: Snapshot) -> Snapshot:
    bad = faulty(snap)
    return Snapshot(snap.protocol, snap.states, snap.crashed, bad,
                    frozenset(d for d in snap.decisions if d.agent not in bad), snap.evidence)


PROPERTIES = (agreement, prepared_uniqueness, committed_backed, view_change_preservation, validity,
              integrity, checkpoint_discipline, views_monotone, no_honest_equivocation,
              honest_primary_within_f_plus_1,
              no_view_change_without_honest_timeout, requests_execute, accountability, primary_exposed,
              someone_decides, view_change_completes, equivocation_exposed, caught_up)
