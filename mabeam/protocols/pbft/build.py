"""Building checkable PBFT instances: the bounded configuration the checker explores."""

from __future__ import annotations

from typing import Any

from ...core import InsufficientReplicasError, Membership
from .auth import Authenticator, SymbolicAuthenticator
from .config import PBFTConfig, signed_requests
from .replica import PBFTReplica

#: the checked requests: two clients competing for one sequence number
DEFAULT_REQUESTS = (("c0", "x"), ("c1", "y"))


def make_config(agents: int, *, auth: Authenticator | None = None, session: str = "s0",
                requests: tuple[tuple[str, str], ...] = DEFAULT_REQUESTS, **bounds: Any) -> PBFTConfig:
    """A configuration for ``agents`` replicas tolerating f = (n-1)//3 Byzantine ones."""
    membership = Membership.of_size(agents)
    requesters = tuple(dict.fromkeys(who for who, _ in requests))
    auth = auth or SymbolicAuthenticator((*membership.agents, *requesters))
    return PBFTConfig(membership=membership, f=(agents - 1) // 3, auth=auth, requesters=requesters,
                      requests=signed_requests(auth, session, requests), session=session, **bounds)


def build(agents: int, faulty: int = 1, cls: type[PBFTReplica] = PBFTReplica, **bounds: Any) -> PBFTReplica:
    """The checked instance: n replicas, f = (n-1)//3; ``faulty`` may not exceed f."""
    f = (agents - 1) // 3
    if faulty > f:
        raise InsufficientReplicasError(
            f"{agents} replicas tolerate f={f} Byzantine faults, not {faulty} (n >= 3f+1)")
    return cls(make_config(agents, **bounds))


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


def build_checked(agents: int, faulty: int = 1, cls: type[PBFTReplica] = PBFTReplica,
                  **bounds: Any) -> PBFTReplica:
    """``build`` with :data:`STANDARD_BOUNDS` unless overridden (the registry's factory)."""
    return build(agents, faulty, cls, **{**STANDARD_BOUNDS, **bounds})
