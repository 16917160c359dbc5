"""The global transition system the model checker explores.

:class:`ActorModel` turns any :class:`~mabeam.core.protocol.Protocol` into a
transition system whose states are :class:`World` values: every agent's node
state, armed timers, messages in flight, faults so far, decisions and evidence.
Its actions are the nondeterministic choices of an asynchronous network:
deliver any in-flight message, fire any armed timer, and, within configured
budgets, drop or duplicate a message or crash an agent. Byzantine agents run no
honest code: every message they could sign is placed in flight up front
(:meth:`Protocol.adversary_messages`), and the network may deliver any of
those, in any order, or none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import msgspec

from ..core.effects import Broadcast, CancelTimer, Decide, Effect, Evidence, Reject, Send, SetTimer
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.properties import Decision, Snapshot
from ..core.protocol import Envelope, Protocol, Step

NetworkSemantics = Literal["multiset", "duplicating"]


@dataclass(frozen=True)
class CheckConfig:
    """What the adversary may do in one model-checking run.

    ``network="multiset"``: each send puts one copy in flight; delivery consumes it.
    ``network="duplicating"``: a sent message stays available forever, so it may be
    delivered any number of times or never (loss, duplication and reordering at once).
    """

    network: NetworkSemantics = "multiset"
    byzantine: frozenset[AgentId] = frozenset()
    max_crashes: int = 0
    drops: int = 0
    duplicates: int = 0
    intruder: bool = False  # an outsider injects Protocol.forged_messages()
    max_depth: int | None = None
    max_states: int | None = None

    def __post_init__(self) -> None:
        if self.network not in ("multiset", "duplicating"):
            raise ConfigurationError(f"unknown network semantics {self.network!r}")
        for name in ("max_crashes", "drops", "duplicates"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative integer, got {value!r}")
        if self.network == "duplicating" and (self.drops or self.duplicates):
            raise ConfigurationError("a duplicating network already loses and duplicates; "
                                     "drop/duplicate budgets apply to the multiset network only")

    @property
    def fair_links(self) -> bool:
        """Whether the stated liveness fairness (eventual delivery between correct agents) holds."""
        return self.drops == 0


class World(msgspec.Struct, frozen=True):
    """One global state. Hashable; its hash is the checker's fingerprint."""

    nodes: tuple[Any, ...]
    timers: tuple[frozenset[str], ...]
    network: frozenset  # of Envelope (duplicating) or of (Envelope, count) (multiset)
    crashed: frozenset[AgentId] = frozenset()
    decisions: frozenset[Decision] = frozenset()
    evidence: frozenset[Evidence] = frozenset()
    budget: tuple[int, int, int] = (0, 0, 0)  # crashes, drops, duplicates left


class Action(NamedTuple):
    """One nondeterministic choice; ``key()`` identifies it across processes for replay."""

    kind: str  # deliver | timer | drop | duplicate | crash | start
    agent: AgentId
    detail: Any = None  # the Envelope, or the timer name

    def key(self) -> list[str]:
        if isinstance(self.detail, Envelope):
            return [self.kind, self.agent, self.detail.message.canonical().hex()]
        return [self.kind, self.agent, "" if self.detail is None else str(self.detail)]

    def describe(self) -> str:
        if self.kind == "deliver":
            msg = self.detail.message
            return f"{self.agent} receives {msg.describe()} from {msg.sender}"
        if self.kind == "timer":
            return f"{self.agent}: timer '{self.detail}' fires"
        if self.kind == "drop":
            return f"network drops {self.detail.message.describe()} to {self.agent}"
        if self.kind == "duplicate":
            return f"network duplicates {self.detail.message.describe()} to {self.agent}"
        if self.kind == "crash":
            return f"{self.agent} crashes"
        return f"{self.kind} {self.agent}"


def _changes(step: Step) -> bool:
    """Whether a step's effects can change the world (rejections never do)."""
    return any(type(e) is not Reject for e in step.effects)


class Transition(NamedTuple):
    action: Action
    world: World
    effects: tuple[Effect, ...]
    fair: bool  # part of the stated fairness (delivery to / timer of a correct agent)


@dataclass
class StepStats:
    rejected: dict[str, int] = field(default_factory=dict)


class ActorModel:
    """A protocol plus a :class:`CheckConfig`, seen as a transition system."""

    def __init__(self, protocol: Protocol, config: CheckConfig | None = None) -> None:
        self.protocol = protocol
        self.config = config or CheckConfig()
        self.agents = protocol.agents
        self.index = {a: i for i, a in enumerate(self.agents)}
        unknown = set(self.config.byzantine) - set(self.agents)
        if unknown:
            raise ConfigurationError(f"byzantine agents {sorted(unknown)} are not members")
        self.byzantine = frozenset(self.config.byzantine)
        self.honest = frozenset(self.agents) - self.byzantine
        self.multiset = self.config.network == "multiset"
        self._key_cache: dict[Envelope, tuple[str, bytes]] = {}

    # ------------------------------------------------------------ construction
    def initial(self) -> World:
        n = len(self.agents)
        world = World(
            nodes=(None,) * n,
            timers=(frozenset(),) * n,
            network=frozenset(),
            budget=(self.config.max_crashes, self.config.drops, self.config.duplicates),
        )
        for agent in self.agents:
            if agent in self.byzantine:
                continue
            world = self._apply(world, agent, self.protocol.start(agent))
        injected = [env for bad in sorted(self.byzantine)
                    for env in self.protocol.adversary_messages(bad)
                    if env.to not in self.byzantine]
        if self.config.intruder:
            injected += [env for env in self.protocol.forged_messages() if env.to not in self.byzantine]
        return self._add_messages(world, injected)

    def snapshot(self, world: World) -> Snapshot:
        return Snapshot(
            protocol=self.protocol,
            states={a: s for a, s in zip(self.agents, world.nodes)},
            crashed=world.crashed,
            byzantine=self.byzantine,
            decisions=world.decisions,
            evidence=world.evidence,
            in_flight=tuple(self._envelopes(world)),
        )

    # ------------------------------------------------------------- successors
    def transitions(self, world: World) -> Iterator[Transition]:
        """Every enabled action and its successor, in a canonical (reproducible) order."""
        crashed = world.crashed
        protocol = self.protocol
        honest = self.honest
        for env in self._ordered(self._envelopes(world)):
            to = env.to
            if to in crashed:
                continue
            i = self.index[to]
            state = world.nodes[i]
            step = protocol.receive(to, state, env.message)
            after = self._consume(world, env) if self.multiset else world
            # fairness covers messages between honest members only: the adversary may withhold its own
            fair = env.message.sender in honest
            if step.state is state and after is world and not _changes(step):
                yield Transition(Action("deliver", to, env), world, step.effects, fair)
                continue
            yield Transition(Action("deliver", to, env), self._apply(after, to, step), step.effects, fair)
        for i, agent in enumerate(self.agents):
            if agent in crashed or not world.timers[i]:
                continue
            state = world.nodes[i]
            for name in sorted(world.timers[i]):
                disarmed = self._replace_timers(world, i, world.timers[i] - {name})
                step = protocol.fire(agent, state, name)
                yield Transition(Action("timer", agent, name), self._apply(disarmed, agent, step),
                                 step.effects, True)
        crashes, drops, dups = world.budget
        if self.multiset and (drops or dups):
            for env in self._ordered(self._envelopes(world)):
                if drops:
                    yield Transition(Action("drop", env.to, env),
                                     self._consume(world, env, budget=(crashes, drops - 1, dups)), (), False)
                if dups:
                    yield Transition(Action("duplicate", env.to, env),
                                     self._add_messages(world, [env], budget=(crashes, drops, dups - 1)),
                                     (), False)
        if crashes:
            for i, agent in enumerate(self.agents):
                if agent in crashed or agent in self.byzantine:
                    continue
                yield Transition(Action("crash", agent), self._crash(world, i, agent), (), False)

    # ---------------------------------------------------------------- helpers
    def _envelopes(self, world: World) -> Iterator[Envelope]:
        if self.multiset:
            for env, _count in world.network:
                yield env
        else:
            yield from world.network

    def _ordered(self, envelopes: Iterator[Envelope]) -> list[Envelope]:
        cache = self._key_cache
        def key(env: Envelope) -> tuple[str, bytes]:
            k = cache.get(env)
            if k is None:
                k = cache[env] = env.sort_key()
            return k
        return sorted(envelopes, key=key)

    def _consume(self, world: World, env: Envelope, budget: tuple[int, int, int] | None = None) -> World:
        net = dict(world.network)
        count = net.pop(env)
        if count > 1:
            net[env] = count - 1
        return msgspec.structs.replace(world, network=frozenset(net.items()),
                                       budget=world.budget if budget is None else budget)

    def _add_messages(self, world: World, envelopes: list[Envelope],
                      budget: tuple[int, int, int] | None = None) -> World:
        if not envelopes and budget is None:
            return world
        if self.multiset:
            net = dict(world.network)
            for env in envelopes:
                net[env] = net.get(env, 0) + 1
            network = frozenset(net.items())
        else:
            network = world.network.union(envelopes)
        return msgspec.structs.replace(world, network=network,
                                       budget=world.budget if budget is None else budget)

    def _replace_timers(self, world: World, i: int, timers: frozenset[str]) -> World:
        all_timers = world.timers[:i] + (timers,) + world.timers[i + 1:]
        return msgspec.structs.replace(world, timers=all_timers)

    def _crash(self, world: World, i: int, agent: AgentId) -> World:
        crashes, drops, dups = world.budget
        if self.multiset:
            network = frozenset(item for item in world.network if item[0].to != agent)
        else:
            network = frozenset(env for env in world.network if env.to != agent)
        world = self._replace_timers(world, i, frozenset())
        return msgspec.structs.replace(world, crashed=world.crashed | {agent}, network=network,
                                       budget=(crashes - 1, drops, dups))

    def _apply(self, world: World, agent: AgentId, step: Step) -> World:
        """Install the agent's new state and interpret its effects."""
        i = self.index[agent]
        nodes = world.nodes[:i] + (step.state,) + world.nodes[i + 1:]
        timers = world.timers[i]
        outgoing: list[Envelope] = []
        decisions = world.decisions
        evidence = world.evidence
        for effect in step.effects:
            kind = type(effect)
            if kind is Send:
                if effect.to not in self.byzantine:
                    outgoing.append(Envelope(effect.to, effect.message))
            elif kind is Broadcast:
                for other in self.agents:
                    if (other != agent or effect.include_self) and other not in self.byzantine:
                        outgoing.append(Envelope(other, effect.message))
            elif kind is SetTimer:
                timers = timers | {effect.name}
            elif kind is CancelTimer:
                timers = timers - {effect.name}
            elif kind is Decide:
                decisions = decisions | {Decision(agent, effect.instance, effect.value)}
            elif kind is Evidence:
                evidence = evidence | {effect}
            elif kind is Reject:
                pass  # counted by live drivers; never part of the checked state
            else:  # pragma: no cover - a new effect type must be taught to the checker
                raise TypeError(f"the checker does not know effect {kind.__name__}")
        world = msgspec.structs.replace(
            world, nodes=nodes,
            timers=world.timers[:i] + (timers,) + world.timers[i + 1:],
            decisions=decisions, evidence=evidence)
        return self._add_messages(world, outgoing)
