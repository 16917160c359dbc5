"""What honest agents can tell about attackers from what they saw, and the per-run report.

Two tiers, never mixed:

* an **accusation** names an agent together with evidence that an honest agent
  never produces, checked here before it counts: two conflicting messages
  signed by the accused (reported live: a primary's conflicting pre-prepares
  meet at an honest replica because backups forward the pre-prepare in their
  PREPAREs, and are reported as ``primary-equivocation``; or found by auditing the honest
  replicas' commit certificates; checked with
  :func:`~mabeam.protocols.pbft.verify_evidence`), or a message the
  accused's own authenticated link carried under another member's name that
  does not verify as that member's (``impersonation``, attested by the link).
  Anything that fails its check is counted as unverifiable and ignored.
* a **suspicion** is what a replica may act on locally but cannot prove: a
  view-change timer that gave up on a primary (silence, slowness, or a
  partition), or a validly signed message from another session (a replay,
  which anyone holding the message could have made). Suspicions are reported,
  with the honest agents they hit, and never exclude anyone.

Messages with bad signatures are refused and counted, but not attributed: the
sender they name is exactly what a bad signature fails to establish.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.properties import Kind, Snapshot
from ..protocols.pbft import verify_evidence
from ..protocols.pbft.messages import PrePrepare
from ..protocols.pbft.properties import audit
from .run import LabRun

LIVENESS = "PBFT-L1"


@dataclass(frozen=True)
class Accusation:
    against: AgentId
    kind: str  # primary-equivocation | equivocation | certificate-equivocation | impersonation
    basis: str  # signed (transferable to any third party) | link (attested by the authenticated channel)
    at: float


@dataclass(frozen=True)
class Suspicion:
    against: AgentId
    kind: str  # timeout | replay
    at: float


def accusations(run: LabRun) -> tuple[list[Accusation], int]:
    """Every verified accusation (earliest per agent and kind) and how many claims failed verification."""
    auth = run.protocol.auth
    found: list[Accusation] = []
    unverifiable = 0
    for record in run.result.evidence:
        if record.effect is not None and verify_evidence(record.effect, auth):
            found.append(Accusation(record.against, _kind(record.effect), "signed", record.at))
        else:
            unverifiable += 1
    snapshot = Snapshot(run.protocol, dict(run.states), frozenset(), run.byzantine, frozenset(), frozenset())
    for evidence in audit(snapshot):
        if verify_evidence(evidence, auth):
            found.append(Accusation(evidence.against, "certificate-equivocation", "signed", run.result.duration))
        else:
            unverifiable += 1
    for refused in run.result.rejections:
        if refused.reason != "impersonation":
            continue
        message = refused.first
        if message is not None and message.sender != refused.sender and not auth.verify(message):
            found.append(Accusation(refused.sender, "impersonation", "link", refused.first_at))
        else:
            unverifiable += refused.count
    return _earliest(found), unverifiable


def _kind(evidence: Evidence) -> str:
    """``primary-equivocation`` for two conflicting signed pre-prepares (met directly, forwarded in
    PREPAREs, or inside VIEW-CHANGE / catch-up certificates), else the evidence's own kind."""
    return "primary-equivocation" if isinstance(evidence.proof[0], PrePrepare) else evidence.kind


def suspicions(run: LabRun) -> list[Suspicion]:
    """Timeouts (the primary of each view an honest timer gave up on) and signed replays from elsewhere."""
    found = [Suspicion(run.protocol.primary(view), "timeout", at)
             for times in run.timeouts.values() for view, at in times]
    auth = run.protocol.auth
    for record in run.result.rejections:
        if record.reason == "wrong-session" and record.first is not None and auth.verify(record.first):
            found.append(Suspicion(record.sender, "replay", record.first_at))
    return _earliest(found)


def _earliest(items: Iterable[Any]) -> list[Any]:
    best: dict[tuple[AgentId, str], Any] = {}
    for item in items:
        key = (item.against, item.kind)
        if key not in best or item.at < best[key].at:
            best[key] = item
    return sorted(best.values(), key=lambda i: (i.at, i.against, i.kind))


@dataclass
class AttackReport:
    """One row of the attack table."""

    pattern: str
    n: int
    f: int
    seed: int | str
    byzantine: list[AgentId]
    liveness_promised: bool  # at most f Byzantine agents over an eventually fair network
    consensus_reached: bool  # every honest agent decided
    honest_decided: int
    honest: int
    decided_value: Any
    agreement: bool
    safety: bool  # no safety property was violated (live monitors)
    liveness: str  # the PBFT-L1 verdict: holds | violated | not-checked
    violations: list[str]
    detection_time: float | None  # first verified accusation of an attacker
    suspicion_time: float | None  # first suspicion of an attacker
    accused: list[AgentId]
    suspected: list[AgentId]
    false_positives: list[AgentId]  # honest agents accused (must stay empty)
    false_suspicions: list[AgentId]  # honest agents suspected (timeouts can hit honest primaries)
    false_negatives: list[AgentId]  # attackers neither accused nor suspected
    unaccused: list[AgentId]  # attackers never accused with evidence (they may still be suspected)
    unverifiable_accusations: int
    unattributed_bad_signatures: int
    recovery_time: float | None  # first flag of an attacker -> last honest decision
    duration: float
    messages_sent: int
    view_changes: int
    accusations: list[dict[str, Any]]
    suspicions: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def attack_report(pattern: str, run: LabRun, *, network_fair: bool = True) -> AttackReport:
    """Turn one lab run into its report row."""
    result = run.result
    bad = run.byzantine
    honest = run.honest
    accused_items, unverifiable = accusations(run)
    suspected_items = suspicions(run)
    accused = sorted({a.against for a in accused_items})
    suspected = sorted({s.against for s in suspected_items})
    detection = min((a.at for a in accused_items if a.against in bad), default=None)
    suspicion = min((s.at for s in suspected_items if s.against in bad), default=None)
    decided_at = [result.decisions[a][-1].at for a in honest if a in result.decisions]
    flagged_at = min((t for t in (detection, suspicion) if t is not None), default=None)
    recovery = (max(0.0, max(decided_at) - flagged_at)
                if flagged_at is not None and len(decided_at) == len(honest) else None)
    verdicts = result.properties
    safety_ids = [pid for pid, v in verdicts.items() if v["kind"] == Kind.ALWAYS.value]
    return AttackReport(
        pattern=pattern, n=run.protocol.n, f=run.f, seed=result.seed, byzantine=sorted(bad),
        liveness_promised=len(bad) <= run.f and network_fair,
        consensus_reached=len(decided_at) == len(honest), honest_decided=len(decided_at), honest=len(honest),
        decided_value=result.decided_value, agreement=result.agreement,
        safety=result.agreement and not any(verdicts[p]["status"] == "violated" for p in safety_ids),
        liveness=verdicts.get(LIVENESS, {}).get("status", "not-checked"), violations=result.violations(),
        detection_time=detection, suspicion_time=suspicion, accused=accused, suspected=suspected,
        false_positives=[a for a in accused if a not in bad],
        false_suspicions=[a for a in suspected if a not in bad],
        false_negatives=sorted(bad - set(accused) - set(suspected)),
        unaccused=sorted(bad - set(accused)), unverifiable_accusations=unverifiable,
        unattributed_bad_signatures=result.rejected.get("bad-signature", 0),
        recovery_time=recovery, duration=result.duration, messages_sent=result.messages.sent,
        view_changes=int(result.extras.get("view_changes", 0)),
        accusations=[asdict(a) for a in accused_items], suspicions=[asdict(s) for s in suspected_items])
