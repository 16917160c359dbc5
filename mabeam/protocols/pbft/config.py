"""One PBFT instance's fixed configuration, its quorum arithmetic, and the bounded instances the checker explores.

The thresholds are plain functions of the sizes (``quorum(n, f)``...) so that the
Z3 model in ``models/pbft.py`` states the same arithmetic the replicas run.
The builders take the machine class as an argument: ``machine.py`` imports this
module, so the honest replica is bound as the default in the package root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ...core import AgentId, ConfigurationError, InsufficientReplicasError, Membership
from ...core.auth import Authenticator, SymbolicAuthenticator
from .messages import Request

#: what a Byzantine replica may send in an exhaustive check (see :class:`.adversary.PBFTAdversary`)
ADVERSARIES = ("full", "silent", "primary", "lagging", "relay")

#: how prepares and commits travel (:mod:`.normal`): to every replica, or through the view's primary
COMMUNICATIONS = ("all-to-all", "linear")


def max_faulty(n: int) -> int:
    """The largest f that n replicas tolerate: n >= 3f+1."""
    return (n - 1) // 3


def quorum(n: int, f: int) -> int:
    """(n+f)//2 + 1, which is 2f+1 when n = 3f+1: any two quorums share f+1 replicas, one honest.

    Prepared needs the pre-prepare plus quorum-1 prepares; committed needs a quorum of commits.
    A fixed 2f+1 would be unsafe for n > 3f+1 (two quorums of n = 3f+2 may share only f).
    """
    return (n + f) // 2 + 1


def join_threshold(f: int) -> int:
    """VIEW-CHANGEs for higher views that pull a replica along: f+1 include an honest one."""
    return f + 1


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
    #: ``"lagging"`` (the same, withheld from the last replica) or ``"relay"`` (nothing signed up front:
    #: against the Dolev-Yao adversary only what it builds from what it learns, silent against the static one)
    adversary: str = "full"
    #: keep the history PBFT-A2 reads (``ReplicaState.pre_prepares_seen``): every replica that is shown a
    #: conflicting pre-prepare then differs from one that was not, which costs the exhaustive check states
    audit_pre_prepares: bool = False
    #: requests one pre-prepare may order (:mod:`.batching`); 1 = no batching
    batch_size: int = 1
    #: seconds the primary waits for a partial batch to fill (0: propose it at once)
    batch_timeout: float = 0.0
    #: ``"all-to-all"``: every replica broadcasts its prepare and commit, n(n-1) messages per phase;
    #: ``"linear"``: backups send them to the view's primary, which relays each phase's counted votes
    #: in one :class:`.messages.VoteBundle` (O(n) messages per phase; spec/pbft.md, "Linear communication")
    communication: str = "all-to-all"

    def __post_init__(self) -> None:
        n = len(self.membership)
        if not isinstance(self.f, int) or self.f < 0:
            raise ConfigurationError(f"f must be a non-negative integer, got {self.f!r}")
        if n < 3 * self.f + 1:
            raise InsufficientReplicasError(f"PBFT needs n >= 3f+1 replicas: n={n}, f={self.f}")
        for name in ("checkpoint_interval", "watermark_window", "max_seq", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be at least 1")
        if self.watermark_window < self.checkpoint_interval:
            raise ConfigurationError("the watermark window must span at least one checkpoint interval")
        if self.adversary not in ADVERSARIES:
            raise ConfigurationError(f"adversary must be one of {ADVERSARIES}, got {self.adversary!r}")
        if self.communication not in COMMUNICATIONS:
            raise ConfigurationError(f"communication must be one of {COMMUNICATIONS}, got {self.communication!r}")
        _check_batch_timeout(self.batch_timeout)
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
        if len(set(operations)) != len(operations) or any("\x1f" in op for op in operations):
            raise ConfigurationError("request operations must be distinct (they are the decided values) and "
                                     "free of U+001F (it joins a batch's operations)")


    @property
    def n(self) -> int:
        return len(self.membership)

    @property
    def quorum(self) -> int:
        """:func:`quorum` of this group's n and f."""
        return quorum(self.n, self.f)

    def primary(self, view: int) -> AgentId:
        agents = self.membership.agents  # read per vote: one property, not two
        return agents[view % len(agents)]

    @property
    def linear(self) -> bool:
        return self.communication == "linear"

    @property
    def requested_values(self) -> frozenset[str]:
        return frozenset(r.operation for r in self.requests)


def _check_batch_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout < float("inf"):
        raise ConfigurationError(f"batch_timeout must be a finite number >= 0, got {timeout!r}")


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


# ------------------------------------------------------------ checked instances
#: the checked requests: two clients competing for one sequence number
DEFAULT_REQUESTS = (("c0", "x"), ("c1", "y"))

#: the standard exhaustive check (spec/pbft.md, "Checked bounds"): one sequence number, no view change,
#: no checkpoint (interval 2 > max_seq 1)
STANDARD_BOUNDS: dict[str, Any] = {"max_view": 0, "max_seq": 1, "checkpoint_interval": 2, "watermark_window": 2}
#: the standard bounds with a checkpoint after every request (the larger, slow exhaustive check)
CHECKPOINT_BOUNDS: dict[str, Any] = {"max_view": 0, "max_seq": 1, "checkpoint_interval": 1, "watermark_window": 2}
#: the view-change check: the view-0 primary is Byzantine but silent, so every honest replica times out
VIEW_CHANGE_BOUNDS: dict[str, Any] = {"max_view": 1, "max_seq": 1, "checkpoint_interval": 1, "adversary": "silent"}

#: the equivocating primary's own messages only (both pre-prepares, commits), with the history PBFT-A2 reads
EXPOSURE_BOUNDS: dict[str, Any] = {"adversary": "primary", "audit_pre_prepares": True}
#: catch-up: the Byzantine view-0 primary pre-prepares only to two honest replicas and may commit with
#: them, so they execute and the third is left behind alone; view 1 (honest primary) makes PBFT-L1 a promise, but
#: one replica's VIEW-CHANGE moves nobody, so only a catch-up answer lets it execute
CATCH_UP_BOUNDS: dict[str, Any] = {"max_view": 1, "adversary": "lagging", "requests": (("c0", "x"),)}

R = TypeVar("R")


def make_config(agents: int, *, auth: Authenticator | None = None, session: str = "s0",
                requests: tuple[tuple[str, str], ...] = DEFAULT_REQUESTS, **bounds: Any) -> PBFTConfig:
    """A configuration for ``agents`` replicas tolerating f = (n-1)//3 Byzantine ones."""
    membership = Membership.of_size(agents)
    requesters = tuple(dict.fromkeys(who for who, _ in requests))
    auth = auth or SymbolicAuthenticator((*membership.agents, *requesters))
    return PBFTConfig(membership=membership, f=max_faulty(agents), auth=auth, requesters=requesters,
                      requests=signed_requests(auth, session, requests), session=session, **bounds)


def build(agents: int, faulty: int, cls: Callable[[PBFTConfig], R], **bounds: Any) -> R:
    """The checked instance of ``cls``: n replicas, f = (n-1)//3; ``faulty`` may not exceed f."""
    f = max_faulty(agents)
    if faulty > f:
        raise InsufficientReplicasError(
            f"{agents} replicas tolerate f={f} Byzantine faults, not {faulty} (n >= 3f+1)")
    return cls(make_config(agents, **bounds))


def build_checked(agents: int, faulty: int, cls: Callable[[PBFTConfig], R], **bounds: Any) -> R:
    """``build`` with :data:`STANDARD_BOUNDS` unless overridden (the registry's factory)."""
    return build(agents, faulty, cls, **{**STANDARD_BOUNDS, **bounds})
