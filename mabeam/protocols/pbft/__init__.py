"""PBFT: Byzantine consensus with view change (spec: ``spec/pbft.md``).

Each module imports only modules listed before it: ``messages``, ``evidence``,
``config``, ``state``, ``interface`` (the replica as the code below the machine
sees it), ``common``, the handlers ``checkpoint``, ``normal``, ``catchup``,
``viewchange`` and ``linear`` (vote bundles), ``recovery`` (the durable part of a
replica and its restart), then ``adversary``, ``properties``, ``machine``, ``mutants``.
"""

from __future__ import annotations

from typing import Any

from ...core import AgentId, Protocol
from ...core.auth import Authenticator, Ed25519Authenticator, Signer, SymbolicAuthenticator, signing_bytes
from ...core.catalog import Factory, ProtocolEntry, SweepPoint
from . import config
from .adversary import PBFTAdversary
from .config import (
    ADVERSARIES,
    CATCH_UP_BOUNDS,
    CHECKPOINT_BOUNDS,
    EXPOSURE_BOUNDS,
    STANDARD_BOUNDS,
    VIEW_CHANGE_BOUNDS,
    PBFTConfig,
    join_threshold,
    make_config,
    max_faulty,
    quorum,
    signed_requests,
)
from .evidence import conflicting, equivocation, verify_evidence
from .interface import Replica
from .machine import PBFTReplica
from .messages import (
    MESSAGE_TYPES,
    Checkpoint,
    Commit,
    CommitCertificate,
    Decided,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    Request,
    ViewChange,
    request_digest,
    request_value,
)
from .mutants import DEEP_MUTANTS, MUTANTS
from .normal import VIEW_CHANGE_TIMER
from .properties import PROPERTIES, audit
from .state import NORMAL, PHASES, VIEW_CHANGE, ReplicaState, Slot

__all__ = [
    "ADVERSARIES", "CATCH_UP_BOUNDS", "CHECKPOINT_BOUNDS", "DEEP_MUTANTS", "ENTRY", "EXPOSURE_BOUNDS",
    "MESSAGE_TYPES", "MUTANTS",
    "NORMAL", "PHASES", "PROPERTIES", "STANDARD_BOUNDS", "VIEW_CHANGE", "VIEW_CHANGE_BOUNDS", "VIEW_CHANGE_TIMER",
    "Authenticator", "Checkpoint", "Commit", "CommitCertificate", "Decided", "Ed25519Authenticator", "NewView",
    "PBFTAdversary", "PBFTConfig", "PBFTReplica", "PrePrepare", "Prepare", "PreparedCertificate", "Replica",
    "ReplicaState", "Request", "Signer", "Slot", "SymbolicAuthenticator", "ViewChange", "audit", "build",
    "build_checked", "conflicting", "equivocation", "join_threshold", "make_config", "max_faulty",
    "quorum", "request_digest", "request_value", "signed_requests", "signing_bytes", "verify_evidence", "with_views",
]


def build(agents: int, faulty: int = 1, cls: type[PBFTReplica] = PBFTReplica, **bounds: Any) -> PBFTReplica:
    """:func:`.config.build` with the honest replica as the default class."""
    return config.build(agents, faulty, cls, **bounds)


def build_checked(agents: int, faulty: int = 1, cls: type[PBFTReplica] = PBFTReplica,
                  **bounds: Any) -> PBFTReplica:
    """:func:`.config.build_checked` (the standard bounds) with the honest replica as the default class."""
    return config.build_checked(agents, faulty, cls, **bounds)


def with_views(views: int) -> Factory:
    """``mabeam check pbft --views V``: the standard bounds with up to ``views`` view changes (max_view)."""
    return lambda agents, faulty: build_checked(agents, faulty, max_view=views)


def _linear(**bounds: Any) -> Factory:
    """The standard bounds with linear communication (votes through the view's primary)."""
    return lambda agents, faulty: build_checked(agents, faulty, communication="linear", **bounds)


def _primaries_first(protocol: Protocol, f: int) -> frozenset[AgentId]:
    """The Byzantine replicas are the primaries of views 0..f-1: the faulty primary is the interesting case."""
    return frozenset(protocol.agents[:f])


#: ``mabeam check pbft --sweep``: n = 3f+1 and 3f+2, f = 1 and 2, up to two view changes (the view-0
#: primary is Byzantine in every point but the first linear one; with views, an honest primary within the
#: bound makes PBFT-L1 bite), and linear communication (a Byzantine collector relays only with Dolev-Yao)
SWEEP = (
    SweepPoint("n=4 f=1: n=3f+1, no view change (standard)", 4, 1),
    SweepPoint("n=5 f=1: n=3f+2, odd n", 5, 1),
    SweepPoint("n=4 f=1: one view change, silent primary", 4, 1,
               lambda n, f: build_checked(n, f, **VIEW_CHANGE_BOUNDS), max_seconds=300.0),
    SweepPoint("n=4 f=1: one view change, lagging primary, catch-up", 4, 1,
               lambda n, f: build_checked(n, f, **CATCH_UP_BOUNDS), max_seconds=300.0),
    SweepPoint("n=4 f=1: one view change, Byzantine primary", 4, 1, with_views(1)),
    SweepPoint("n=4 f=1: two view changes, Byzantine primary", 4, 1, with_views(2)),
    SweepPoint("n=4 f=1: linear communication, honest collector, Byzantine backup", 4, 1, _linear(),
               check={"byzantine": frozenset({"a3"})}),
    SweepPoint("n=4 f=1: linear communication, Dolev-Yao Byzantine collector", 4, 1, _linear(adversary="primary"),
               check={"adversary": "dolev-yao"}),
    SweepPoint("n=7 f=2: f=2, n=3f+1", 7, 2),
    SweepPoint("n=8 f=2: f=2, n=3f+2, even n", 8, 2),
)


ENTRY = ProtocolEntry(
    name="pbft",
    summary="PBFT Byzantine consensus with checkpoints and view change (n >= 3f+1)",
    fault_model="byzantine",
    factory=build_checked,
    properties=PROPERTIES,
    mutants=MUTANTS,
    deep_mutants=DEEP_MUTANTS,
    default_agents=4,
    default_faulty=1,
    check_defaults={"network": "duplicating"},
    faulty_agents=_primaries_first,
    views=with_views,
    view_option="max_view",
    sweep=SWEEP,
)
