"""What a live run reports, and the ledger every live driver fills in.

:class:`RunResult` is the one result shape of the simulator and the asyncio
runtime (and of the session API). :class:`RunLedger` is the observer behind it:
decisions, evidence, rejections and message counters, independent of how a
driver schedules events.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.agreement import value_key
from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.observer import Observer
from ..core.properties import Decision
from ..core.protocol import Protocol

DECIDED, NO_DECISION, VIOLATED = "decided", "no-decision", "violated"


@dataclass(frozen=True)
class DecisionRecord:
    value: Any
    instance: Any
    at: float  # virtual seconds (simulator) or seconds since the run started (runtime)
    round: int  # causal message depth: 0 = decided on start, k = after a chain of k messages

    def to_json(self) -> dict[str, Any]:
        return {"value": _jsonable(self.value), "instance": _jsonable(self.instance),
                "at": self.at, "round": self.round}


@dataclass(frozen=True)
class EvidenceRecord:
    kind: str
    against: AgentId
    reporter: AgentId
    at: float
    #: the reported effect itself, with its transferable proof (e.g. two signed messages)
    effect: Evidence | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "against": self.against, "reporter": self.reporter, "at": self.at}


@dataclass(frozen=True)
class RejectionRecord:
    """Refused messages attributed to one sender for one reason (see :meth:`RunLedger.reject`).

    ``sender`` is the name the messages claimed, except for ``impersonation``, which the
    driver attributes to the agent that really sent them (it runs the links). ``first``
    is the first such message, kept so a caller can check the attribution for itself.
    """

    sender: AgentId
    reason: str
    count: int
    first_at: float
    first: Message | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"sender": self.sender, "reason": self.reason, "count": self.count, "first_at": self.first_at}


@dataclass
class MessageStats:
    sent: int = 0  # point-to-point sends (a broadcast to k agents counts k)
    delivered: int = 0  # copies handed to a live agent's handler
    dropped: int = 0  # copies that never arrive: lost, cut off, or addressed to a crashed agent
    duplicated: int = 0  # extra copies made by the network
    retransmitted: int = 0  # lost transmissions a reliable link repeated
    deferred: int = 0  # Defer effects: messages a node parked until its state changed
    redelivered: int = 0  # deferred messages handed back to their node (not counted in delivered)

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class RunResult:
    """The outcome of one live run of a protocol."""

    driver: str  # "simulator" | "runtime"
    protocol: str
    seed: int | str
    status: str  # decided | no-decision | violated
    decided_value: Any
    decisions: dict[AgentId, list[DecisionRecord]]
    agreement: bool  # honest decisions equal per instance (within the protocol's epsilon if it has one)
    duration: float  # virtual seconds (simulator) or wall seconds of the run (runtime)
    rounds: int
    messages: MessageStats
    rejected: dict[str, int]
    evidence: list[EvidenceRecord]
    properties: dict[str, dict[str, Any]]
    events: int
    wall_seconds: float
    crashed: tuple[AgentId, ...] = ()
    byzantine: tuple[AgentId, ...] = ()
    quiescent: bool = False  # nothing was left to deliver or fire when the run ended
    timed_out: bool = False
    #: driver-independent facts a caller asked for (e.g. a protocol's summary of the final states)
    extras: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[Any, ...]] | None = field(default=None, repr=False)
    #: the same rejections per (sender, reason), sorted, for callers that attribute misbehaviour
    rejections: tuple[RejectionRecord, ...] = ()

    @property
    def decided(self) -> bool:
        return self.status == DECIDED

    def violations(self) -> list[str]:
        return [pid for pid, v in self.properties.items() if v["status"] == "violated"]

    def to_json(self, *, wall_clock: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; ``wall_clock=False`` leaves out the only non-deterministic field."""
        out = {
            "driver": self.driver, "protocol": self.protocol, "seed": self.seed, "status": self.status,
            "decided_value": _jsonable(self.decided_value),
            "decisions": {a: [d.to_json() for d in ds] for a, ds in sorted(self.decisions.items())},
            "agreement": self.agreement, "duration": self.duration, "rounds": self.rounds,
            "messages": self.messages.to_json(), "rejected": dict(sorted(self.rejected.items())),
            "evidence": [e.to_json() for e in self.evidence], "properties": self.properties,
            "events": self.events, "crashed": list(self.crashed), "byzantine": list(self.byzantine),
            "quiescent": self.quiescent, "timed_out": self.timed_out,
            "extras": {k: _jsonable(v) for k, v in sorted(self.extras.items())},
        }
        if wall_clock:
            out["wall_seconds"] = self.wall_seconds
        return out

    def to_json_text(self, *, wall_clock: bool = True) -> str:
        return json.dumps(self.to_json(wall_clock=wall_clock), sort_keys=True)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    return repr(value)


class RunLedger(Observer):
    """Decisions, evidence, rejections and counters of one run: the statistics observer every
    live driver registers first."""

    def __init__(self, messages: MessageStats | None = None) -> None:
        self.decisions: dict[AgentId, list[DecisionRecord]] = {}
        self.decision_facts: set[Decision] = set()
        self.evidence: list[EvidenceRecord] = []
        self.evidence_facts: set[Evidence] = set()
        self.rejected: Counter[str] = Counter()
        self._by_sender: dict[tuple[AgentId, str], list[Any]] = {}  # (sender, reason) -> [count, at, first]
        self.messages = messages if messages is not None else MessageStats()
        self.events = 0
        self._frozen: tuple[frozenset[Decision], frozenset[Evidence]] | None = None

    def facts(self) -> tuple[frozenset[Decision], frozenset[Evidence]]:
        """The decision and evidence facts so far, frozen once per change (not once per snapshot)."""
        if self._frozen is None:
            self._frozen = (frozenset(self.decision_facts), frozenset(self.evidence_facts))
        return self._frozen

    def on_decision(self, agent: AgentId, value: Any, instance: Any, at: float, round: int) -> None:
        self.decisions.setdefault(agent, []).append(DecisionRecord(value, instance, at, round))
        self.decision_facts.add(Decision(agent, instance, value))
        self._frozen = None

    def on_evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        if evidence not in self.evidence_facts:
            self.evidence_facts.add(evidence)
            self._frozen = None
            self.evidence.append(EvidenceRecord(evidence.kind, evidence.against, agent, at, evidence))

    def on_rejection(self, reason: str, sender: AgentId | None, message: Message | None,
                 at: float) -> None:
        self.rejected[reason] += 1
        if sender is not None:
            entry = self._by_sender.get((sender, reason))
            if entry is None:
                self._by_sender[(sender, reason)] = [1, at, message]
            else:
                entry[0] += 1

    def rejections(self) -> tuple[RejectionRecord, ...]:
        return tuple(RejectionRecord(sender, reason, count, at, first)
                     for (sender, reason), (count, at, first) in sorted(self._by_sender.items()))

    def outcome(self, correct: tuple[AgentId, ...], byzantine: frozenset[AgentId], violated: bool,
                protocol: Protocol) -> tuple[str, Any, bool, int]:
        """(status, decided value, agreement, rounds) judged over the correct agents.

        Agreement per instance is what the protocol says it is
        (:meth:`~mabeam.core.protocol.Protocol.decisions_agree`: exact equality, or within
        epsilon for approximate agreement). The decided value is reported only when the
        honest decisions are exactly equal.
        """
        honest = [d for a, ds in self.decisions.items() if a not in byzantine for d in ds]
        by_instance: dict[Any, dict[Any, Any]] = {}
        for d in honest:
            by_instance.setdefault(value_key(d.instance), {})[value_key(d.value)] = d.value
        agreement = all(protocol.decisions_agree(list(values.values())) for values in by_instance.values())
        values = {value_key(d.value): d.value for d in honest}
        decided_value = next(iter(values.values())) if len(values) == 1 else None
        everyone = bool(correct) and all(a in self.decisions for a in correct)
        broken = violated or (protocol.promises_agreement and not agreement)
        status = VIOLATED if broken else DECIDED if everyone else NO_DECISION
        rounds = max((d.round for d in honest), default=0)
        return status, decided_value, agreement, rounds
