"""Refinement mappings: from the code's world to a TLA+ spec's variables.

A :class:`Mapping` says, for one protocol, how an :class:`~.observe.Observation`
(node states, messages in flight and sent, crashes, decisions) reads as a state
of its spec in ``tla/``. It does so field by field: each :class:`Field` names a
TLA+ expression over the spec's variables (often a variable itself, sometimes a
projection such as ``[a \\in Honest |-> tally[a]]`` or ``msgs \\cap MemberVotes``)
and the Python function computing the value that expression must have. Spec
variables no field constrains are *unobserved*: TLC is free to choose them, which
is how a mapping abstracts what the code does not have (or the spec keeps only
for its properties).

A mapping also knows the configurations its spec is checked in (the ``tla/*.cfg``
files and the Python instances they model) and how to run one in the simulator
with its fault model, so ``mabeam tla validate PROTOCOL --seed S`` can go from a
seed to a verdict. The protocols' mappings are in :mod:`mabeam.tla.mappings`, one
module per protocol; each documents what maps to what and what is abstracted.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from typing import Any, ClassVar

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from ..live.network import Latency, NetworkModel
from ..live.strategy import Strategy
from .observe import InjectingStrategy, Observation, RunTrace, simulate_trace

#: how an intermediate spec state (inside one code step) may hold a field, see :mod:`.export`
KINDS = ("exact", "grow", "agents")


@dataclasses.dataclass(frozen=True)
class Field:
    """One observed part of the spec's state.

    ``expr`` is a TLA+ expression over the spec's variables; ``kind`` says what it may be
    in the intermediate states of a code step that takes several spec steps: ``exact``
    (its value before or after the code step), ``grow`` (a set between the two) or
    ``agents`` (a function over agents: every component but the acting agent's as before
    or after).
    """

    name: str
    expr: str
    kind: str = "exact"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"field kind must be one of {KINDS}, got {self.kind!r}")


@dataclasses.dataclass(frozen=True)
class Configuration:
    """A checked configuration (``tla/<cfg>.cfg``) and the Python instance it models."""

    cfg: str  # the cfg's name without .cfg: "Majority", "Adaptive.fallback"
    build: Callable[[], Protocol]
    #: the agents the cfg holds Byzantine (they run :class:`~.observe.InjectingStrategy` in faulty runs)
    byzantine: frozenset[AgentId] = frozenset()
    #: crashes a faulty run may schedule (the cfg's F)
    crashes: int = 0


class Mapping(ABC):
    """Base class of the protocols' refinement mappings (see the module docstring)."""

    protocol: ClassVar[str]  # the registry name
    module: ClassVar[str]  # the TLA+ module
    fields: ClassVar[tuple[Field, ...]]
    #: most extra spec steps one code step may take (0: every code step is one spec step or a stutter)
    max_substeps: ClassVar[int] = 0
    #: extra TLA+ definitions the fields use, added to the trace module
    definitions: ClassVar[str] = ""

    # ------------------------------------------------------------ configurations
    @abstractmethod
    def configurations(self) -> dict[str, Configuration]:
        """Every checked configuration a trace of this protocol may be validated in."""
        ...

    def run_configuration(self, faults: bool) -> Configuration:
        """The configuration ``mabeam tla validate`` runs: the first, unless another suits faults better."""
        return next(iter(self.configurations().values()))

    def checker_configuration(self, model: Any) -> Configuration:
        """The configuration a checked model is an instance of (by agents, Byzantine set and
        :meth:`instance_key`): a trace of another instance would be rejected for its constants,
        not its steps."""
        key = self.instance_key(model.protocol)
        for config in self.configurations().values():
            instance = config.build()
            if instance.agents == model.protocol.agents and config.byzantine == model.byzantine \
                    and self.instance_key(instance) == key:
                return config
        raise ConfigurationError(f"no tla/{self.module}*.cfg models this checked instance "
                                 f"(agents {model.protocol.agents}, Byzantine {sorted(model.byzantine)}, "
                                 f"{key!r})")

    def mutant_instance(self, mutant: Any, faults: bool) -> Protocol | None:
        """``mutant`` (a :class:`~mabeam.core.catalog.Mutant`) built at the instance of the cfg a run with
        (or without) ``faults`` validates in, or ``None`` if its factory builds another instance."""
        instance = self.run_configuration(faults).build()
        try:
            broken = mutant.factory(instance.n, len(self.run_configuration(faults).byzantine))
        except ConfigurationError:  # a mutant declared for other sizes only
            return None
        same = broken.agents == instance.agents and self.instance_key(broken) == self.instance_key(instance)
        return broken if same else None

    def instance_key(self, protocol: Protocol) -> Any:
        """The constants a cfg fixes besides the agents (by default the inputs). A mutant changes
        the code, not these, so its instance still matches its honest configuration."""
        return getattr(protocol, "inputs", None)

    # --------------------------------------------------------------- the mapping
    @abstractmethod
    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        """The value of every field in ``obs``."""
        ...

    def states(self, run: RunTrace) -> list[dict[str, Any]]:
        return [self.state(run.protocol, obs) for obs in run.observations]

    # ------------------------------------------------------------ simulator runs
    def network(self) -> NetworkModel:
        """The simulator's network for this spec: reordering, and duplication where the spec's
        network keeps every message."""
        return NetworkModel(latency=Latency.lognormal(0.01, 0.6), duplication=0.2)

    def faults(self, config: Configuration, protocol: Protocol, seed: int) -> dict[str, Any]:
        """The simulator's faults for a faulty run: the cfg's Byzantine agents inject what the
        adversary lets them sign; up to the cfg's F agents crash at seeded times."""
        rng = SeededRandom(seed).derive("trace-faults")
        options: dict[str, Any] = {}
        if config.byzantine:
            strategies: dict[AgentId, Strategy] = {
                a: InjectingStrategy(a, protocol, share=self.byzantine_share) for a in sorted(config.byzantine)}
            options["byzantine"] = strategies
        if config.crashes:
            honest = [a for a in protocol.agents if a not in config.byzantine]
            victims = rng.sample(honest, config.crashes)
            options["crashes"] = {a: round(rng.uniform(0.001, 0.03), 4) for a in victims}
        return options

    def simulate(self, seed: int, faults: bool, protocol: Protocol | None = None) -> tuple[Configuration, RunTrace]:
        """A seeded simulator run at the size the cfg models (with its faults if ``faults``).

        Without faults the cfg's Byzantine agents run the honest code: an honest behaviour
        is one of the spec's Byzantine behaviours, so it must be accepted as well (unless
        ``honest_byzantine`` is off: a spec whose Byzantine member only has certain moves,
        then a silent one).
        """
        config, protocol, options = self._run_setup(seed, faults, protocol)
        run = simulate_trace(protocol, self.network(), seed=seed, until=self.horizon, late=config.byzantine, **options)
        return config, run

    def run_live(self, seed: int, faults: bool, protocol: Protocol | None = None) -> tuple[Configuration, RunTrace]:
        """The same run on the asyncio runtime (real seconds; :attr:`horizon` bounds it); ``protocol``:
        another instance of the cfg's configuration to run instead (a mutant's)."""
        from .live import runtime_trace

        config, protocol, options = self._run_setup(seed, faults, protocol)
        run = runtime_trace(protocol, self.network(), seed=seed, timeout=self.horizon or 10.0,
                            late=config.byzantine, **options)
        return config, run

    def _run_setup(self, seed: int, faults: bool, protocol: Protocol | None = None
                   ) -> tuple[Configuration, Protocol, dict[str, Any]]:
        config = self.run_configuration(faults)
        protocol = protocol or config.build()
        if faults:
            options = self.faults(config, protocol, seed)
        elif self.honest_byzantine:
            options = {}
        else:
            options = {"byzantine": {a: Strategy(a) for a in sorted(config.byzantine)}}
        return config, protocol, options

    #: the share of the adversary's envelopes a faulty run's Byzantine agent sends at each injection
    byzantine_share: ClassVar[float] = 0.5
    #: whether the honest code is one of the behaviours the spec allows its Byzantine agents
    honest_byzantine: ClassVar[bool] = True
    #: virtual seconds a validated simulator run may last (timers keep some protocols going)
    horizon: ClassVar[float | None] = 5.0


def function(keys: Any, value: Callable[[Any], Any]) -> dict[Any, Any]:
    """The TLA+ function ``[k \\in keys |-> value(k)]`` as a dict."""
    return {k: value(k) for k in keys}


def honest_nodes(obs: Observation) -> MappingABC[AgentId, Any]:
    return obs.nodes
