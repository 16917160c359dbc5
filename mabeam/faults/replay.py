"""The checker of a fault run: the nodes' logs, merged in time, judged by the protocol's safety properties.

Why it can: every record carries the machine-wide monotonic clock, a node
logs a step's state before that step's messages leave, and a message is
logged as sent before anyone can receive it (see :mod:`mabeam.faults.log`).
So after each record, in time order, the latest state of every agent, the
decisions and evidence so far and every message sent so far form a
consistent global state: a :class:`~mabeam.core.properties.Snapshot` like the
model checker's on its duplicating network, where every message ever sent
stays in flight (``in_flight``). The protocol's ``always`` properties (the
same functions the checker and the live monitors run) are judged on every
one of them; the first violation is kept with the record that caused it.
An agent is crashed from the harness's ``kill`` record until its next
incarnation's ``start`` record (a restarted PBFT replica recovers from its store).
Messages are decoded with the protocol's codec, so a log line that does not
decode is an error, not a skipped line; a signed message's signature is
checked with the public keys alone (every one a node logged should verify).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.messages import Envelope
from ..core.properties import Decision, Kind, Snapshot
from ..core.protocol import Protocol
from .log import decode_message, read_log, unpack


@dataclass
class Verdict:
    id: str
    name: str
    status: str  # holds | violated
    checks: int = 0
    #: the record after which it first failed: agent, kind, text, t (seconds since the run's start)
    at: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "checks": self.checks, "at": self.at}


@dataclass
class Replay:
    """What the logs held and what the properties said about them."""

    verdicts: dict[str, Verdict]
    records: int
    states: int
    sent: int
    decisions: dict[str, list[str]]
    evidence: int
    rejected: dict[str, int]
    ends: int
    not_judged: list[str] = field(default_factory=list)
    #: sent messages carrying a signature, and how many of those verify under the public keys alone
    signed: int = 0
    signatures_valid: int = 0

    def violations(self) -> list[str]:
        return sorted(pid for pid, v in self.verdicts.items() if v.status == "violated")

    def to_json(self) -> dict[str, Any]:
        return {"verdicts": {p: v.to_json() for p, v in self.verdicts.items()}, "records": self.records,
                "states": self.states, "sent": self.sent, "decisions": self.decisions, "evidence": self.evidence,
                "rejected": self.rejected, "node_results": self.ends, "not_judged": self.not_judged,
                "signed": self.signed, "signatures_valid": self.signatures_valid}


def merged(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record of every log, in time order (a log's own order breaks ties)."""
    records = [(r["t"], k, i, r) for k, path in enumerate(paths) for i, r in enumerate(read_log(path))]
    records.sort(key=lambda item: item[:3])
    return [r for _, _, _, r in records]


def replay(protocol: Protocol, logs: Iterable[str | Path], harness_log: str | Path | None = None,
           started: float = 0.0) -> Replay:
    """Why: the whole checker is this loop; see the module docstring for what each record does.

    ``protocol`` is the honest build of the run (its configuration and public keys);
    ``harness_log`` holds the harness's ``kill`` records.
    """
    paths = [*logs, *([harness_log] if harness_log is not None else [])]
    safety = [p for p in protocol.properties if p.kind == Kind.ALWAYS]
    verdicts = {p.id: Verdict(p.id, p.name, "holds") for p in safety}
    states: dict[str, Any] = {a: None for a in protocol.agents}
    crashed: set[str] = set()
    decisions: set[Decision] = set()
    evidence: set[Any] = set()
    in_flight: set[Envelope] = set()
    counts = {"records": 0, "states": 0, "sent": 0, "ends": 0, "signed": 0, "valid": 0}
    auth = protocol.authenticator()
    decided: dict[str, list[str]] = {}
    rejected: dict[str, int] = {}
    for record in merged(paths):
        counts["records"] += 1
        kind, agent = record["kind"], record["agent"]
        if kind == "state":
            states[agent] = unpack(record["py"])
            counts["states"] += 1
        elif kind == "send":
            message = decode_message(protocol, record)
            in_flight.update(Envelope(to, message) for to in record["to"])
            counts["sent"] += 1
            signature = getattr(message, "signature", None)
            if auth is not None and isinstance(signature, bytes) and signature:
                counts["signed"] += 1
                counts["valid"] += int(auth.verify(message))
        elif kind == "decide":
            instance, value = unpack(record["py"])
            decisions.add(Decision(agent, instance, value))
            decided.setdefault(agent, []).append(repr(value))
        elif kind == "evidence":
            evidence.add(unpack(record["py"]))
        elif kind == "kill":
            crashed.update(record["local"])
        elif kind == "start" and record["inc"] > 0:
            crashed.difference_update(record["local"])
        elif kind == "end":
            counts["ends"] += 1
            for reason, n in record["result"]["rejected"].items():
                rejected[reason] = rejected.get(reason, 0) + n
            continue
        else:
            continue
        _judge(protocol, safety, verdicts, record, started,
               Snapshot(protocol=protocol, states=dict(states), crashed=frozenset(crashed), byzantine=frozenset(),
                        decisions=frozenset(decisions), evidence=frozenset(evidence),
                        in_flight=lambda: tuple(in_flight)))
    return Replay(verdicts, counts["records"], counts["states"], counts["sent"], decided, len(evidence),
                  rejected, counts["ends"], [p.id for p in protocol.properties if p.kind != Kind.ALWAYS],
                  counts["signed"], counts["valid"])


def _judge(protocol: Protocol, safety: list[Any], verdicts: Mapping[str, Verdict], record: dict[str, Any],
           started: float, snapshot: Snapshot) -> None:
    for prop in safety:
        verdict = verdicts[prop.id]
        if verdict.status == "violated":
            continue
        verdict.checks += 1
        if not prop.holds(snapshot):
            verdict.status = "violated"
            verdict.at = {"agent": record["agent"], "kind": record["kind"], "text": record["text"],
                          "t": round(record["t"] - started, 4)}
