"""What one model-checking run explores: the adversary's budgets and the search's bounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..core.errors import ConfigurationError
from ..core.identity import AgentId

NetworkSemantics = Literal["multiset", "duplicating"]
AdversaryModel = Literal["static", "dolev-yao"]


@dataclass(frozen=True)
class CheckConfig:
    """What the adversary may do in one model-checking run, and how far the search may go.

    ``network="multiset"``: each send puts one copy in flight; delivery consumes it.
    ``network="duplicating"``: a sent message stays available forever, so it may be
    delivered any number of times or never (loss, duplication and reordering at once).
    ``max_depth``, ``max_states`` and ``max_seconds`` bound the search; ``max_memory``
    (bytes of resident memory, ``None``: a safe fraction of the memory available when the
    search starts) stops it cleanly. A bounded search reports itself incomplete, never "holds".
    ``stop_on_violation`` ends the search at the first level with a safety violation
    (its trace is still a shortest one). ``symmetry`` and ``por`` ask for the
    reductions of :mod:`mabeam.checker.reduction`.

    ``adversary="static"``: every message a Byzantine agent may send is in flight from
    the start (what it can sign with its own key). ``"dolev-yao"``: it also learns every
    message sent to a Byzantine agent, and may send anything it can build from what the
    coalition has learned (forwarded messages, assembled certificates, replays in another
    view, session or kind), as the protocol's adversary module says.

    ``max_crashes`` bounds how many times an honest agent crashes (its timers and the
    messages in flight to it are lost; its last state stays). ``max_recoveries`` bounds
    how many times a crashed agent restarts from what it kept on stable storage
    (:meth:`~mabeam.core.protocol.Protocol.durable`, then
    :meth:`~mabeam.core.protocol.Protocol.recover`); a restart needs a crash first, so
    a crash-recover fault is ``max_crashes=1, max_recoveries=1``.
    """

    network: NetworkSemantics = "multiset"
    byzantine: frozenset[AgentId] = field(default_factory=frozenset)
    max_crashes: int = 0
    #: restarts of crashed agents from their durable state (crash-recover faults)
    max_recoveries: int = 0
    drops: int = 0
    duplicates: int = 0
    intruder: bool = False  # an outsider injects the protocol adversary's forged() messages
    max_depth: int | None = None
    max_states: int | None = None
    max_memory: int | None = None
    max_seconds: float | None = None
    stop_on_violation: bool = False
    symmetry: bool = False
    por: bool = False
    adversary: AdversaryModel = "static"

    def __post_init__(self) -> None:
        if self.network not in ("multiset", "duplicating"):
            raise ConfigurationError(f"unknown network semantics {self.network!r}")
        if self.adversary not in ("static", "dolev-yao"):
            raise ConfigurationError(f"unknown adversary model {self.adversary!r} (static or dolev-yao)")
        for name in ("max_crashes", "max_recoveries", "drops", "duplicates", "max_depth", "max_states", "max_memory"):
            value = getattr(self, name)
            if value is None and name in ("max_depth", "max_states", "max_memory"):
                continue  # no bound
            # bool is an int subclass: drops=True would silently mean one drop
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative integer, got {value!r}")
        if self.max_seconds is not None and (isinstance(self.max_seconds, bool) or
                                             not isinstance(self.max_seconds, (int, float)) or
                                             not 0 < self.max_seconds < float("inf")):
            raise ConfigurationError(f"max_seconds must be a positive number of seconds, got {self.max_seconds!r}")
        for name in ("intruder", "stop_on_violation", "symmetry", "por"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.max_recoveries and not self.max_crashes:
            raise ConfigurationError("max_recoveries restarts crashed agents: it needs max_crashes >= 1 "
                                     "(a crash-recover fault is max_crashes=1, max_recoveries=1)")
        if self.network == "duplicating" and (self.drops or self.duplicates):
            raise ConfigurationError("a duplicating network already loses and duplicates; "
                                     "drop/duplicate budgets apply to the multiset network only")

    @property
    def fair_links(self) -> bool:
        """Whether the stated liveness fairness (eventual delivery between correct agents) holds."""
        return self.drops == 0
