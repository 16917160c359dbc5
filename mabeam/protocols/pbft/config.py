"""One PBFT instance's fixed configuration: members, fault bound, requests, bounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...core import AgentId, ConfigurationError, InsufficientReplicasError, Membership
from .auth import Authenticator
from .messages import Request


#: what a Byzantine replica may send in an exhaustive check (see PBFTReplica.adversary_messages)
ADVERSARIES = ("full", "silent", "primary", "lagging")


@dataclass(frozen=True)
class PBFTConfig:
    """Everything a replica knows before it starts.

    ``requests`` are the clients' signed requests every replica holds from the
    start (the client broadcast them); a decided value must be one of them.
    ``max_view`` and ``max_seq`` bound the run: no replica starts a view change
    beyond ``max_view`` and no primary assigns a sequence number beyond
    ``max_seq``. In a live deployment both are simply large.
    """

    membership: Membership
    f: int
    auth: Authenticator
    requesters: tuple[AgentId, ...]
    requests: tuple[Request, ...]
    session: str = "s0"
    checkpoint_interval: int = 1  # K: a checkpoint every K sequence numbers
    watermark_window: int = 2  # L: sequence numbers accepted in (low, low + L]
    max_view: int = 2
    max_seq: int = 1
    base_timeout: float = 10.0  # first view-change timeout; doubles on every consecutive view change
    #: what a Byzantine replica may send in a check: ``"full"`` (everything it can sign), ``"silent"``,
    #: ``"primary"`` (only its pre-prepares, certificates and commits for the views it leads) or
    #: ``"lagging"`` (the same, withheld from the last replica)
    adversary: str = "full"
    #: keep the history PBFT-A2 reads (``ReplicaState.pre_prepares_seen``): every replica that is shown a
    #: conflicting pre-prepare then differs from one that was not, which costs the exhaustive check states
    audit_pre_prepares: bool = False

    def __post_init__(self) -> None:
        n = len(self.membership)
        if not isinstance(self.f, int) or self.f < 0:
            raise ConfigurationError(f"f must be a non-negative integer, got {self.f!r}")
        if n < 3 * self.f + 1:
            raise InsufficientReplicasError(f"PBFT needs n >= 3f+1 replicas: n={n}, f={self.f}")
        for name in ("checkpoint_interval", "watermark_window", "max_seq"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        if self.watermark_window < self.checkpoint_interval:
            raise ConfigurationError("the watermark window must span at least one checkpoint interval")
        if self.adversary not in ADVERSARIES:
            raise ConfigurationError(f"adversary must be one of {ADVERSARIES}, got {self.adversary!r}")
        if self.max_view < 0 or self.base_timeout <= 0:
            raise ConfigurationError("max_view must be >= 0 and base_timeout > 0")
        overlap = set(self.requesters) & set(self.membership)
        if overlap:
            raise ConfigurationError(f"requesters must not be replicas: {sorted(overlap)}")
        for request in self.requests:
            if request.sender not in self.requesters:
                raise ConfigurationError(f"request from {request.sender!r}, who is not a requester")
            if request.session != self.session:
                raise ConfigurationError("a request belongs to another session")
            if not self.auth.verify(request):
                raise ConfigurationError(f"request {request.operation!r} is not validly signed")
        operations = [r.operation for r in self.requests]
        if len(set(operations)) != len(operations):
            raise ConfigurationError("request operations must be distinct (they are the decided values)")

    @property
    def n(self) -> int:
        return len(self.membership)

    @property
    def quorum(self) -> int:
        """(n+f)//2 + 1, which is 2f+1 when n = 3f+1: any two quorums share f+1 replicas, one honest.

        Prepared needs the pre-prepare plus quorum-1 prepares; committed needs a quorum of commits.
        A fixed 2f+1 would be unsafe for n > 3f+1 (two quorums of n = 3f+2 may share only f).
        """
        return (self.n + self.f) // 2 + 1

    def primary(self, view: int) -> AgentId:
        return self.membership.agents[view % self.n]

    @property
    def requested_values(self) -> frozenset[str]:
        return frozenset(r.operation for r in self.requests)


def signed_requests(auth: Authenticator, session: str,
                    operations: Sequence[tuple[AgentId, str]]) -> tuple[Request, ...]:
    """One signed request per (requester, operation), timestamps counting up per requester."""
    counters: dict[AgentId, int] = {}
    out = []
    for requester, operation in operations:
        counters[requester] = counters.get(requester, 0) + 1
        out.append(auth.signer(requester).sign(
            Request(session=session, sender=requester, timestamp=counters[requester], operation=operation)))
    return tuple(out)
