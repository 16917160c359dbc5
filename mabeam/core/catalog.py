"""How a protocol module describes itself to the rest of mabeam.

Each protocol module exports one :class:`ProtocolEntry`: how to build a
checkable instance, its properties, its mutants and where its Z3 proofs live.
The registry, CLI, checker front-end and tests read only this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class ProtocolEntry:
    name: str
    summary: str
    fault_model: str  # "crash" or "byzantine"
    factory: Factory
    properties: tuple[Property, ...]
    mutants: tuple[Mutant, ...] = ()
    default_agents: int = 3
    default_faulty: int = 0
    #: CheckConfig fields for the standard check (network semantics, budgets, intruder)
    check_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: which agents are Byzantine when ``faulty`` are asked for (byzantine fault model)
    faulty_agents: Callable[[Protocol, int], frozenset[AgentId]] = (
        lambda protocol, f: frozenset(protocol.agents[len(protocol.agents) - f:]))
    #: importable module whose ``run()`` returns the Z3 proof results
    proofs: str | None = None
    spec: str = ""  # path of the human-readable contract, e.g. spec/majority.md

    def mutant(self, name: str) -> Mutant:
        from .errors import UnknownProtocolError

        for m in self.mutants:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.mutants) or "none"
        raise UnknownProtocolError(f"{self.name} has no mutant {name!r} (known: {known})")
