"""How a protocol package describes itself to the rest of mabeam.

Each protocol package exports one :class:`ProtocolEntry` as ``ENTRY``: how to
build a checkable instance, its properties, its mutants. Its companion files
follow one naming rule from the registry name (see :class:`Companions`). The
registry, CLI, checker front-end and tests read only this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .identity import AgentId
from .properties import Property
from .protocol import Protocol

#: ``factory(agents, faulty) -> Protocol`` with inputs chosen so properties are not vacuous
Factory = Callable[[int, int], Protocol]


@dataclass(frozen=True)
class Mutant:
    """A deliberately broken variant that the checkers must reject with a counterexample."""

    protocol: str
    name: str
    description: str
    breaks: tuple[str, ...]  # property IDs at least one of which must be found violated
    factory: Factory
    #: CheckConfig fields this mutant needs to show its bug (e.g. a duplicate budget)
    check_overrides: Mapping[str, Any] = field(default_factory=dict)
    agents: int | None = None
    faulty: int | None = None
    #: how ``factory`` builds it (``build(agents, faulty, machine, **options)``), for checks at other bounds
    machine: type[Protocol] | None = None
    build: Callable[..., Protocol] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def with_options(self, **changes: Any) -> Factory:
        """A factory for this mutant with some build options changed (a larger view bound, say)."""
        if self.build is None or self.machine is None:
            raise ValueError(f"mutant {self.name} was not declared with mutant(): its build options are unknown")
        build, machine, options = self.build, self.machine, {**self.options, **changes}
        return lambda n, f: build(n, f, machine, **options)


def mutant(cls: type[Protocol], name: str, description: str, breaks: Sequence[str], *,
           build: Callable[..., Protocol], size: tuple[int, int] | None = None,
           options: Mapping[str, Any] | None = None, **check_overrides: Any) -> Mutant:
    """Declare a mutant: the broken class ``cls``, built as ``build(agents, faulty, cls, **options)``.

    ``size`` = (agents, faulty) is where the bug already shows, for mutants whose
    state space at the protocol's default size is needlessly large;
    ``check_overrides`` are :class:`~mabeam.checker.CheckConfig` fields it needs
    (a duplicate budget, an intruder, a search budget).
    """
    settings = dict(options or {})
    agents, faulty = size if size is not None else (None, None)
    return Mutant(cls.name, name, description, tuple(breaks),
                  lambda n, f: build(n, f, cls, **settings), dict(check_overrides), agents, faulty, cls, build,
                  settings)


@dataclass(frozen=True)
class Companions:
    """Where a protocol's companion artifacts live, all derived from its registry name.

    For registry name ``iterative-categorical``: package
    ``mabeam.protocols.iterative_categorical``, ``spec/iterative-categorical.md``,
    ``tla/IterativeCategorical.tla`` and ``.cfg``, Z3 model ``models/iterative_categorical.py``
    (importable as ``mabeam.models.iterative_categorical``) and Hypothesis suite
    ``properties/iterative_categorical_props.py``.
    """

    name: str

    @property
    def module_name(self) -> str:
        return self.name.replace("-", "_")

    @property
    def package(self) -> str:
        return f"mabeam.protocols.{self.module_name}"

    @property
    def spec(self) -> str:
        return f"spec/{self.name}.md"

    @property
    def tla_module(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def tla(self) -> str:
        return f"tla/{self.tla_module}.tla"

    @property
    def tla_cfg(self) -> str:
        return f"tla/{self.tla_module}.cfg"

    @property
    def model(self) -> str:
        return f"models/{self.module_name}.py"

    @property
    def proofs(self) -> str:
        """The importable module whose ``run()`` returns the Z3 proof results."""
        return f"mabeam.models.{self.module_name}"

    @property
    def hypothesis_suite(self) -> str:
        return f"properties/{self.module_name}_props.py"

    def files(self) -> tuple[str, ...]:
        return (self.spec, self.tla, self.tla_cfg, self.model, self.hypothesis_suite)


@dataclass(frozen=True)
class SweepPoint:
    """One configuration of a protocol's sweep (``mabeam check X --sweep``).

    ``factory(agents, faulty)`` overrides the entry's (for view bounds, stage chains,
    layouts); ``check`` adds :class:`~mabeam.checker.CheckConfig` fields (the adversary
    model, reductions known sound for it); ``max_states``, ``max_seconds`` and ``max_memory``
    (bytes) bound the exhaustive attempt, after which the point is covered by ``walks``
    seeded random walks of ``steps`` steps. The defaults keep a whole sweep within CI's
    budget: a point that does not close in 30 s is a bounded point, and says so.
    """

    label: str
    agents: int
    faulty: int
    factory: Factory | None = None
    check: Mapping[str, Any] = field(default_factory=dict)
    max_states: int = 2_000_000
    max_seconds: float = 30.0
    max_memory: int = 3 * 2**30
    walks: int = 80
    steps: int = 120


#: the modules every protocol package has (see docs/architecture.md)
PACKAGE_MODULES = ("__init__", "messages", "state", "machine", "config", "properties", "mutants", "adversary")


def _last_agents(protocol: Protocol, f: int) -> frozenset[AgentId]:
    return frozenset(protocol.agents[len(protocol.agents) - f:]) if f else frozenset()


@dataclass(frozen=True)
class ProtocolEntry:
    name: str
    summary: str
    fault_model: str  # "crash" or "byzantine"
    factory: Factory
    properties: tuple[Property, ...]
    mutants: tuple[Mutant, ...] = ()
    #: mutants caught only by a long search (minutes, gigabytes): ``--mutant NAME`` finds them, but runs over
    #: every mutant (``mabeam mutants --check``, ``mabeam validate``, the parallel and reduction sweeps) skip them
    deep_mutants: tuple[Mutant, ...] = ()
    default_agents: int = 3
    default_faulty: int = 0
    #: CheckConfig fields for the standard check (network semantics, budgets, intruder)
    check_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: which agents are Byzantine when ``faulty`` are asked for (byzantine fault model)
    faulty_agents: Callable[[Protocol, int], frozenset[AgentId]] = _last_agents
    #: the importable module whose ``run()`` returns the Z3 proof results, for a protocol outside
    #: mabeam (default: the companion ``mabeam.models.<name>``)
    proof_module: str | None = None
    #: where the human contract lives, for a protocol outside mabeam (default: the companion ``spec/<name>.md``)
    spec_path: str | None = None
    #: the sizes and bounds ``--sweep`` checks (default: the standard check alone)
    sweep: tuple[SweepPoint, ...] = ()
    #: ``--views V``: the factory of the standard instance with up to V view changes (None: no views)
    views: Callable[[int], Factory] | None = None
    #: the build option ``--views V`` sets on a mutant declared with :func:`mutant` (``--views V --mutant M``:
    #: that mutant at the same view bound; None: ``--views`` applies to the standard instance only)
    view_option: str | None = None

    def sweep_points(self) -> tuple[SweepPoint, ...]:
        return self.sweep or (SweepPoint("standard", self.default_agents, self.default_faulty),)

    @property
    def companions(self) -> Companions:
        return Companions(self.name)

    @property
    def spec(self) -> str:
        return self.spec_path or self.companions.spec

    @property
    def proofs(self) -> str:
        return self.proof_module or self.companions.proofs

    def mutant(self, name: str) -> Mutant:
        from .errors import UnknownProtocolError

        for m in (*self.mutants, *self.deep_mutants):
            if m.name == name:
                return m
        known = ", ".join(m.name for m in (*self.mutants, *self.deep_mutants)) or "none"
        raise UnknownProtocolError(f"{self.name} has no mutant {name!r} (known: {known})")
