"""The network model both live drivers apply to every message: latency, loss, duplication, partitions.

A :class:`NetworkModel` is a frozen configuration. Given a transmission (sender,
recipient, time) and a :class:`~mabeam.core.rng.SeededRandom`, :meth:`NetworkModel.route`
says when each copy arrives, or that it never does. The simulator schedules those
arrivals in virtual time; the asyncio runtime schedules them with ``call_later``.
Reordering is not a separate knob: it falls out of random latency.

With ``reliable_links`` (the default) the link behaves like TCP: a lost
transmission is retransmitted after ``retransmit_timeout``, so loss becomes delay,
and a message across a partition is held until the partition heals. Without it,
lost is lost and a message sent across a partition is dropped. A partition acts
on transmissions made while it is active: a message already in flight when it
starts still arrives.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.rng import SeededRandom

Distribution = Literal["constant", "uniform", "exponential", "lognormal"]


def _finite_non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ConfigurationError(f"{name} must be finite and >= 0, got {value!r}")
    return float(value)


def _probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigurationError(f"{name} must be a probability in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Latency:
    """One-way delay in seconds, drawn per transmission.

    Build with :meth:`constant`, :meth:`uniform`, :meth:`exponential` or :meth:`lognormal`;
    ``floor`` is a minimum added to every draw (propagation delay).
    """

    distribution: Distribution = "constant"
    a: float = 0.001  # constant: the delay; uniform: low; exponential: mean; lognormal: median
    b: float = 0.0  # uniform: high; lognormal: sigma
    floor: float = 0.0

    def __post_init__(self) -> None:
        if self.distribution not in ("constant", "uniform", "exponential", "lognormal"):
            raise ConfigurationError(f"unknown latency distribution {self.distribution!r}")
        _finite_non_negative("latency", self.a)
        _finite_non_negative("latency spread", self.b)
        _finite_non_negative("latency floor", self.floor)
        if self.distribution == "uniform" and self.b < self.a:
            raise ConfigurationError(f"uniform latency needs low <= high, got {self.a} > {self.b}")

    @classmethod
    def constant(cls, seconds: float) -> Latency:
        return cls("constant", seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        return cls("uniform", low, high)

    @classmethod
    def exponential(cls, mean: float, floor: float = 0.0) -> Latency:
        return cls("exponential", mean, 0.0, floor)

    @classmethod
    def lognormal(cls, median: float, sigma: float, floor: float = 0.0) -> Latency:
        return cls("lognormal", median, sigma, floor)

    @property
    def is_constant(self) -> bool:
        return self.distribution == "constant" or (self.distribution == "uniform" and self.a == self.b)

    def sample(self, rng: SeededRandom) -> float:
        if self.distribution == "constant":
            return self.a + self.floor
        if self.distribution == "uniform":
            return rng.uniform(self.a, self.b) + self.floor
        if self.distribution == "exponential":
            return (rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0) + self.floor
        if self.a == 0:
            return self.floor
        return rng.lognormvariate(math.log(self.a), self.b) + self.floor


@dataclass(frozen=True)
class Partition:
    """While ``start <= t < heal`` the groups cannot reach each other (``heal=None``: never heals).

    Agents named in no group are unaffected: they reach everyone.
    """

    groups: tuple[frozenset[AgentId], ...]
    start: float = 0.0
    heal: float | None = None

    def __init__(self, groups: Iterable[Iterable[AgentId]], start: float = 0.0,
                 heal: float | None = None) -> None:
        frozen = tuple(frozenset(g) for g in groups)
        object.__setattr__(self, "groups", frozen)
        object.__setattr__(self, "start", _finite_non_negative("partition start", start))
        healed = None if heal is None else _finite_non_negative("partition heal", heal)
        object.__setattr__(self, "heal", healed)
        if len(frozen) < 2 or any(not g for g in frozen):
            raise ConfigurationError("a partition needs at least two non-empty groups")
        seen: set[AgentId] = set()
        for group in frozen:
            overlap = seen & group
            if overlap:
                raise ConfigurationError(f"partition groups overlap on {sorted(overlap)}")
            seen |= group
        if self.heal is not None and self.heal <= self.start:
            raise ConfigurationError(f"a partition must heal after it starts ({self.start} >= {self.heal})")

    @property
    def members(self) -> frozenset[AgentId]:
        return frozenset().union(*self.groups)

    def active(self, t: float) -> bool:
        return self.start <= t and (self.heal is None or t < self.heal)

    def separates(self, a: AgentId, b: AgentId) -> bool:
        for group in self.groups:
            if a in group:
                return b not in group and any(b in other for other in self.groups)
        return False


class Route(NamedTuple):
    """What the network does with one send: arrival times of the copies that get through."""

    arrivals: tuple[float, ...]  # absolute times; empty when the message is lost for good
    duplicated: int = 0  # extra copies the network made
    retransmissions: int = 0  # lost transmissions a reliable link repeated


@dataclass(frozen=True)
class NetworkModel:
    """Latency, loss, duplication and partitions, deterministic given a seeded random stream."""

    latency: Latency = field(default_factory=Latency)
    loss: float = 0.0
    duplication: float = 0.0
    reliable_links: bool = True
    retransmit_timeout: float = 0.2  # RTO of a reliable link, seconds
    partitions: tuple[Partition, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.latency, Latency):
            raise ConfigurationError(f"latency must be a Latency, got {self.latency!r}")
        _probability("loss", self.loss)
        _probability("duplication", self.duplication)
        _finite_non_negative("retransmit_timeout", self.retransmit_timeout)
        if not isinstance(self.reliable_links, bool):
            raise ConfigurationError(f"reliable_links must be a bool, got {self.reliable_links!r}")
        if self.reliable_links and self.loss >= 1.0:
            raise ConfigurationError("a reliable link cannot turn loss=1 into delay: nothing ever arrives")
        if self.reliable_links and self.loss > 0 and self.retransmit_timeout <= 0:
            raise ConfigurationError("a reliable lossy link needs retransmit_timeout > 0")
        object.__setattr__(self, "partitions", tuple(self.partitions))
        for p in self.partitions:
            if not isinstance(p, Partition):
                raise ConfigurationError(f"partitions must be Partition values, got {p!r}")

    def validate_for(self, agents: Collection[AgentId]) -> NetworkModel:
        """Raise :class:`ConfigurationError` if a partition names an agent outside ``agents``."""
        known = set(agents)
        for p in self.partitions:
            unknown = p.members - known
            if unknown:
                raise ConfigurationError(f"partition names unknown agents {sorted(unknown)}")
        return self

    @cached_property
    def is_ideal(self) -> bool:
        """Constant latency, no loss, no duplication, no partitions: routing needs no randomness."""
        return (self.latency.is_constant and self.loss == 0 and self.duplication == 0
                and not self.partitions)

    @cached_property
    def fair(self) -> bool:
        """Whether messages between live agents are eventually delivered (liveness can be judged)."""
        if not self.reliable_links and self.loss > 0:
            return False
        return all(p.heal is not None for p in self.partitions) or not self.partitions

    def route(self, sender: AgentId, to: AgentId, now: float, rng: SeededRandom) -> Route:
        """Arrival times of the copies of one message sent at ``now``."""
        if self.is_ideal:
            return Route((now + self.latency.sample(rng),))
        copies = 2 if self.duplication and rng.random() < self.duplication else 1
        arrivals: list[float] = []
        retransmissions = 0
        for _ in range(copies):
            arrival, retries = self._one_copy(sender, to, now, rng)
            retransmissions += retries
            if arrival is not None:
                arrivals.append(arrival)
        return Route(tuple(arrivals), copies - 1, retransmissions)

    def _one_copy(self, sender: AgentId, to: AgentId, t: float, rng: SeededRandom
                  ) -> tuple[float | None, int]:
        retries = 0
        while True:
            blocking = self._blocking_partition(sender, to, t)
            if blocking is not None:
                if not self.reliable_links or blocking.heal is None:
                    return None, retries
                t = blocking.heal  # the link holds the message until the partition heals
                continue
            if self.loss and rng.random() < self.loss:
                if not self.reliable_links:
                    return None, retries
                retries += 1
                t += self.retransmit_timeout
                continue
            return t + self.latency.sample(rng), retries

    def _blocking_partition(self, a: AgentId, b: AgentId, t: float) -> Partition | None:
        for p in self.partitions:
            if p.active(t) and p.separates(a, b):
                return p
        return None
