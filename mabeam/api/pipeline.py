"""Multi-level pipelines: each level a real protocol run, its output passed up with a certificate.

A pipeline is a sequence of levels (PBFT consensus, weighted voting, iterative
refinement, or groups certifying a vote for judges). Each level runs through
:mod:`mabeam.api.session` in the simulator or the asyncio runtime. When it ends, its
honest members sign its output (Ed25519, bound to pipeline session, level and
level name), a forwarder assembles a certificate of ``q = (n + f) // 2 + 1``
distinct signatures, and the next level accepts the output only if the
certificate verifies under the rule of :mod:`mabeam.protocols.hierarchical`
(spec: ``spec/hierarchical.md``). A Byzantine representative may relay an
altered certificate; it is rejected and a deputy forwards a valid one. The next
level's inputs are computed from the certified value alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import median
from typing import Any

from ..core.auth import Authenticator, Ed25519Authenticator
from ..core.errors import ConfigurationError, InsufficientReplicasError
from ..core.identity import AgentId, Membership
from ..protocols.hierarchical.config import Group, group_quorum
from ..protocols.hierarchical.machine import GroupCertificate, GroupVote, Hierarchical, certificate_fault
from .session import Driver, SessionResult, run_protocol, start_byzantine_consensus, start_weighted_vote

Consume = Callable[[Any], Any]


@dataclass(frozen=True)
class ConsensusLevel:
    """PBFT among ``agents`` on the proposal ``proposal(previous output)``; ``f`` faults (n >= 3f + 1)."""

    name: str
    agents: tuple[AgentId, ...]
    f: int
    proposal: Consume
    byzantine: Mapping[AgentId, str] = field(default_factory=dict)
    kind: str = "pbft"


@dataclass(frozen=True)
class WeightedLevel:
    """A Byzantine-mode weighted vote; ``ballots(previous output)`` gives each agent's vote.

    ``f`` Byzantine members are tolerated: the declared faulty weight is the weight of
    the ``f`` heaviest members, which must stay below a third of the total.
    """

    name: str
    weights: Mapping[AgentId, int]
    f: int
    ballots: Consume
    byzantine: Mapping[AgentId, str] = field(default_factory=dict)
    kind: str = "weighted"


@dataclass(frozen=True)
class RefinementLevel:
    """Iterative refinement (approximate agreement) on numeric criteria for ``rounds`` rounds.

    ``inputs(previous output)`` gives each agent's starting vector; every coordinate lies
    in ``domain``. Honest outputs end within ``tolerance = width / 2**rounds`` of each other.
    """

    name: str
    agents: tuple[AgentId, ...]
    f: int
    inputs: Consume
    domain: tuple[float, float]
    rounds: int
    byzantine: Mapping[AgentId, str] = field(default_factory=dict)
    kind: str = "iterative"


@dataclass(frozen=True)
class GroupVoteLevel:
    """Groups each certify a decision passed up as one vote to ``judges`` (the verified core, live)."""

    name: str
    groups: tuple[Group, ...]
    judges: tuple[AgentId, ...]
    inputs: Consume  # previous output -> {member: value}
    faulty_groups: int = 0
    byzantine: Mapping[AgentId, str] = field(default_factory=dict)
    kind: str = "hierarchical"


Level = ConsensusLevel | WeightedLevel | RefinementLevel | GroupVoteLevel


@dataclass
class Certificate:
    """A level's output as the next level received it."""

    value: Any  # the certified output handed to the next level
    signed_value: str  # what the signatures cover
    forwarder: AgentId
    signers: tuple[AgentId, ...]
    quorum: int
    refused: list[tuple[AgentId, str]] = field(default_factory=list)  # (relayer, reason) of rejected relays


@dataclass
class LevelReport:
    level: int
    name: str
    protocol: str
    agents: int
    faulty: tuple[AgentId, ...]
    fault_bound: int
    consumed: Any
    decided: Any
    certificate: Certificate
    duration: float  # virtual seconds (simulator) or wall seconds of the run (runtime)
    wall_seconds: float
    messages: int
    properties: dict[str, str]
    status: str
    rule: str  # how the level decided, in words
    run: SessionResult = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        cert = self.certificate
        return {
            "level": self.level, "name": self.name, "protocol": self.protocol, "agents": self.agents,
            "faulty": list(self.faulty), "fault_bound": self.fault_bound, "consumed": _text(self.consumed),
            "decided": _text(self.decided), "status": self.status, "rule": self.rule,
            "certificate": {"value": _text(cert.value), "forwarder": cert.forwarder, "signers": list(cert.signers),
                            "quorum": cert.quorum, "refused": [list(r) for r in cert.refused]},
            "duration": self.duration, "messages": self.messages, "properties": self.properties,
        }


@dataclass
class PipelineReport:
    session: str
    driver: str
    seed: int | str
    levels: list[LevelReport]
    wall_seconds: float

    @property
    def output(self) -> Any:
        return self.levels[-1].certificate.value if self.levels else None

    @property
    def all_properties_hold(self) -> bool:
        return all(status != "violated" for lv in self.levels for status in lv.properties.values())

    def to_json(self, *, wall_clock: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"session": self.session, "driver": self.driver, "seed": self.seed,
                               "output": _text(self.output), "all_properties_hold": self.all_properties_hold,
                               "levels": [lv.to_json() for lv in self.levels]}
        if wall_clock:
            out["wall_seconds"] = self.wall_seconds
            for entry, lv in zip(out["levels"], self.levels):
                entry["wall_seconds"] = lv.wall_seconds
        return out


class CertificateError(ConfigurationError):
    """No forwarder of a level could produce a certificate the next level accepts."""


def _text(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_text(v) for v in value]
    if isinstance(value, Fraction):
        return float(value)
    return value


# ------------------------------------------------------------------ signing the hand-over
def _encode(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(Fraction(v)) for v in value)
    return str(value)


def _decode_vector(text: str) -> tuple[Fraction, ...]:
    return tuple(Fraction(part) for part in text.split(","))


def _within(a: tuple[Fraction, ...], b: tuple[Fraction, ...], tolerance: Fraction) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b))


class _HandOver:
    """Signs, assembles and verifies one level's certificate (Ed25519 keys of the pipeline)."""

    def __init__(self, session: str, auth: Authenticator) -> None:
        self.session = session
        self.auth = auth

    def vote(self, level: int, name: str, agent: AgentId, value: str) -> GroupVote:
        vote = GroupVote(session=self.session, sender=agent, level=level, group=name, value=value)
        return self.auth.signer(agent).sign(vote)

    def certify(self, level: int, name: str, members: Sequence[AgentId], f: int,
                outputs: Mapping[AgentId, str], byzantine: Sequence[AgentId],
                tolerance: Fraction | None) -> tuple[Certificate, GroupCertificate]:
        """Members sign their outputs; forwarders (members in order) relay until one certificate verifies.

        A Byzantine member signs an altered value and, as a forwarder, relays the honest
        quorum under that altered value; the verifier refuses it and the next member forwards.
        """
        quorum = group_quorum(len(members), f)
        votes: list[GroupVote] = []
        for agent in members:
            if agent in byzantine:
                votes.append(self.vote(level, name, agent, "altered:" + agent))
            elif agent in outputs:
                votes.append(self.vote(level, name, agent, outputs[agent]))
        refused: list[tuple[AgentId, str]] = []
        for forwarder in members:
            cert = self._assemble(level, name, forwarder, votes, quorum, forwarder in byzantine, tolerance)
            if cert is None:
                continue
            reason = self.fault(cert, level, members, quorum, tolerance)
            if reason is None:
                value: Any = _vector_median(cert) if tolerance is not None else cert.value
                return Certificate(value, cert.value, forwarder, tuple(sorted({v.sender for v in cert.votes})),
                                   quorum, refused), cert
            refused.append((forwarder, reason))
        raise CertificateError(f"level {level} ({name}): no forwarder produced a valid certificate "
                               f"(quorum {quorum}); refused: {refused}")

    def _assemble(self, level: int, name: str, forwarder: AgentId, votes: list[GroupVote], quorum: int,
                  byzantine: bool, tolerance: Fraction | None) -> GroupCertificate | None:
        own = next((v for v in votes if v.sender == forwarder), None)
        if own is None:
            return None
        if byzantine:  # pass the others' quorum up under its own, altered value
            others = [v for v in votes if v.value != own.value]
            return GroupCertificate(session=self.session, sender=forwarder, level=level, group=name,
                                    value=own.value, votes=tuple(others[:quorum]))
        if tolerance is None:
            chosen = [v for v in votes if v.value == own.value][:quorum]
        else:
            mine = _decode_vector(own.value)
            chosen = [v for v in votes if _parses_within(v.value, mine, tolerance)][:quorum]
        return GroupCertificate(session=self.session, sender=forwarder, level=level, group=name,
                                value=own.value, votes=tuple(chosen))

    def fault(self, cert: GroupCertificate, level: int, members: Sequence[AgentId], quorum: int,
              tolerance: Fraction | None) -> str | None:
        """The hierarchical rule; for refinement, signed vectors must agree within the tolerance
        (the certified output is then their coordinate-wise median, inside the honest range)."""
        if tolerance is None:
            return certificate_fault(cert, session=self.session, level=level, members=members, quorum=quorum,
                                     auth=self.auth)
        try:
            anchor = _decode_vector(cert.value)
        except (ValueError, ZeroDivisionError):
            return "value-mismatch"
        return certificate_fault(cert, session=self.session, level=level, members=members, quorum=quorum,
                                 auth=self.auth, matches=lambda c, v: _parses_within(v.value, anchor, tolerance))


def _parses_within(text: str, anchor: tuple[Fraction, ...], tolerance: Fraction) -> bool:
    try:
        return _within(_decode_vector(text), anchor, tolerance)
    except (ValueError, ZeroDivisionError):
        return False


def _vector_median(cert: GroupCertificate) -> tuple[Fraction, ...]:
    vectors = [_decode_vector(v.value) for v in cert.votes]
    return tuple(Fraction(median(column)) for column in zip(*vectors))


# ------------------------------------------------------------------ running levels
def _strategies(protocol: Any, byzantine: Mapping[AgentId, str]) -> dict[AgentId, Any]:
    from ..attacks import make_attack

    return {agent: make_attack(attack, agent, protocol) for agent, attack in byzantine.items()}


def _check_bound(name: str, n: int, f: int, byzantine: Mapping[AgentId, str]) -> None:
    if isinstance(f, bool) or not isinstance(f, int) or f < 0:
        raise ConfigurationError(f"level {name}: f must be a non-negative integer, got {f!r}")
    if n < 3 * f + 1:
        raise InsufficientReplicasError(f"level {name}: tolerating f={f} needs n >= {3 * f + 1}, got {n}")
    if len(byzantine) > f:
        raise InsufficientReplicasError(f"level {name}: {len(byzantine)} Byzantine members exceed f={f}")


def _run_level(index: int, level: Level, consumed: Any, driver: Driver, seed: int | str,
               session: str) -> tuple[SessionResult, dict[AgentId, str], tuple[AgentId, ...], int,
                                      Fraction | None, Any]:
    """Run one level; returns its result, honest outputs (as signed text), members, f, tolerance, decision."""
    level_session = f"{session}/L{index}"
    byzantine = dict(level.byzantine)
    if isinstance(level, ConsensusLevel):
        members = Membership(level.agents).agents
        _check_bound(level.name, len(members), level.f, byzantine)
        proposal = level.proposal(consumed)
        result = start_byzantine_consensus(proposal, members, fault_tolerance=level.f, driver=driver, seed=seed,
                                           byzantine=byzantine, session=level_session)
        outputs = {a: str(ds[-1].value) for a, ds in result.decisions.items() if ds and a not in byzantine}
        return result, outputs, members, level.f, None, result.decided_value
    if isinstance(level, WeightedLevel):
        members = Membership(level.weights).agents
        _check_bound(level.name, len(members), level.f, byzantine)
        heaviest = sorted(level.weights.values(), reverse=True)[:level.f]
        ballots = dict(level.ballots(consumed))
        from ..protocols.weighted import WeightedVoting

        probe = WeightedVoting(members, ballots, level.weights, max_faulty_weight=sum(heaviest),
                               session=level_session)
        result = start_weighted_vote(ballots, level.weights, max_faulty_weight=sum(heaviest), driver=driver,
                                     seed=seed, session=level_session, byzantine=_strategies(probe, byzantine))
        outputs = {a: str(ds[-1].value) for a, ds in result.decisions.items() if ds and a not in byzantine}
        return result, outputs, members, level.f, None, result.decided_value
    if isinstance(level, RefinementLevel):
        from ..protocols.iterative import ApproximateAgreement

        members = Membership(level.agents).agents
        _check_bound(level.name, len(members), level.f, byzantine)
        low, high = (Fraction(level.domain[0]), Fraction(level.domain[1]))
        epsilon = (high - low) / 2 ** level.rounds
        protocol = ApproximateAgreement(members, dict(level.inputs(consumed)), level.f, (low, high), epsilon,
                                        max_rounds=level.rounds, session=level_session)
        result = run_protocol(protocol, driver, seed=seed, byzantine=_strategies(protocol, byzantine))
        outputs = {a: _encode(tuple(ds[-1].value[0])) for a, ds in result.decisions.items()
                   if ds and a not in byzantine}
        decided = tuple(ds[-1].value[0] for a, ds in result.decisions.items() if ds and a not in byzantine)
        return result, outputs, members, level.f, epsilon, decided[:1][0] if decided else None
    if isinstance(level, GroupVoteLevel):
        inputs = dict(level.inputs(consumed))
        agents = [a for g in level.groups for a in g.members] + list(level.judges)
        voting = Hierarchical(level.groups, level.judges, inputs, faulty_groups=level.faulty_groups,
                              session=level_session,
                              auth=Ed25519Authenticator(agents, seed=f"{level_session}/{seed}"))
        result = run_protocol(voting, driver, seed=seed, byzantine=_strategies(voting, byzantine))
        outputs = {a: str(ds[-1].value) for a, ds in result.decisions.items() if ds and a not in byzantine}
        judges = voting.judges
        if result.status != "violated":  # only judges decide: the level is done when every judge is
            result.status = "decided" if all(j in outputs for j in judges) else "no-decision"
        return result, outputs, judges, (len(judges) - 1) // 3, None, result.decided_value
    raise ConfigurationError(f"unknown level type {type(level).__name__}")


def run_pipeline(levels: Sequence[Level], *, driver: Driver = "simulator", seed: int | str = 0,
                 session: str = "pipeline", initial: Any = None) -> PipelineReport:
    """Run ``levels`` bottom-up; level k+1 consumes exactly level k's certified output.

    Raises :class:`InsufficientReplicasError` for a level outside its size bound (before
    anything runs) and :class:`CertificateError` when a level's output cannot be certified.
    """
    if not levels:
        raise ConfigurationError("a pipeline needs at least one level")
    for level in levels:  # refuse an out-of-bound level before running anything
        if isinstance(level, (ConsensusLevel, RefinementLevel)):
            _check_bound(level.name, len(level.agents), level.f, level.byzantine)
        elif isinstance(level, WeightedLevel):
            _check_bound(level.name, len(level.weights), level.f, level.byzantine)
    everyone = sorted({a for lv in levels for a in _members(lv)})
    handover = _HandOver(session, Ed25519Authenticator(everyone, seed=f"{session}/{seed}"))
    started = time.perf_counter()
    reports: list[LevelReport] = []
    consumed = initial
    for index, level in enumerate(levels, start=1):
        level_started = time.perf_counter()
        result, outputs, members, f, tolerance, decided = _run_level(index, level, consumed, driver, seed, session)
        certificate, _ = handover.certify(index, level.name, members, f, outputs,
                                          sorted(level.byzantine), tolerance)
        reports.append(LevelReport(
            level=index, name=level.name, protocol=level.kind, agents=len(_members(level)),
            faulty=tuple(sorted(level.byzantine)), fault_bound=f, consumed=consumed, decided=decided,
            certificate=certificate, duration=result.duration,
            wall_seconds=time.perf_counter() - level_started, messages=result.messages.sent,
            properties={pid: v["status"] for pid, v in result.properties.items()}, status=result.status,
            rule=_rule(level, len(members), f), run=result))
        consumed = certificate.value  # the next level sees the certified output and nothing else
    return PipelineReport(session, driver, seed, reports, time.perf_counter() - started)


def _rule(level: Level, n: int, f: int) -> str:
    if isinstance(level, ConsensusLevel):
        return f"PBFT: commit on 2f+1 = {2 * f + 1} matching signed commits of {n} replicas"
    if isinstance(level, WeightedLevel):
        total = sum(level.weights.values())
        return f"weighted vote: a candidate wins with more than 2/3 of the total weight {total}"
    if isinstance(level, RefinementLevel):
        return (f"approximate agreement: {level.rounds} rounds of trimmed midpoints (drop the f={f} lowest "
                f"and highest), outputs within width/2^{level.rounds}")
    return (f"group certificates: {len(level.groups)} groups, one certified vote each, judges decide on "
            f"(G + F) // 2 + 1 = {(len(level.groups) + level.faulty_groups) // 2 + 1} group votes")


def _members(level: Level) -> tuple[AgentId, ...]:
    if isinstance(level, WeightedLevel):
        return tuple(level.weights)
    if isinstance(level, GroupVoteLevel):
        return tuple(a for g in level.groups for a in g.members) + tuple(level.judges)
    return tuple(level.agents)


def render(report: PipelineReport) -> str:
    """A human-readable account of what each level decided, how, how long it took, what was monitored."""
    lines = [f"pipeline {report.session!r}: {len(report.levels)} levels, driver={report.driver}, seed={report.seed}"]
    for lv in report.levels:
        cert = lv.certificate
        lines.append(f"\nlevel {lv.level}: {lv.name} [{lv.protocol}] {lv.agents} agents, "
                     f"{len(lv.faulty)} Byzantine {list(lv.faulty)} (tolerates f={lv.fault_bound}) -> {lv.status}")
        lines.append(f"  how      : {lv.rule}")
        lines.append(f"  consumed : {_show(lv.consumed)}")
        lines.append(f"  decided  : {_show(lv.decided)}")
        lines.append(f"  passed up: {_show(cert.value)} with a certificate of {len(cert.signers)} Ed25519 "
                     f"signatures (quorum {cert.quorum}) forwarded by {cert.forwarder}")
        for relayer, reason in cert.refused:
            lines.append(f"             refused relay by {relayer}: {reason}")
        lines.append(f"  hand-over: HIER-S2 certificate verified ({len(cert.signers)} >= {cert.quorum} valid "
                     f"signatures on the value), HIER-S5 the next level consumes only this certified output")
        clock = "virtual" if report.driver == "simulator" else "in the runtime"
        lines.append(f"  time     : {lv.duration:.4f} s {clock}, {lv.wall_seconds:.2f} s wall; "
                     f"{lv.messages} messages")
        held = ", ".join(f"{pid} {status}" for pid, status in sorted(lv.properties.items()))
        lines.append(f"  monitored: {held}")
    verdict = "every monitored property held" if report.all_properties_hold else "a property was VIOLATED"
    lines.append(f"\noutput: {_show(report.output)}  ({verdict}; {report.wall_seconds:.2f} s wall)")
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{float(v):.4f}" if isinstance(v, Fraction) else str(v) for v in value) + ")"
    return repr(value)

