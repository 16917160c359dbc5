"""The global transition system the model checker explores.

:class:`ActorModel` turns any :class:`~mabeam.core.protocol.Protocol` into a
transition system whose states are :class:`World` values: every agent's node
state, armed timers, messages in flight, faults so far, decisions and evidence.
Its actions are the nondeterministic choices of an asynchronous network:
deliver any in-flight message, fire any armed timer, and, within configured
budgets, drop or duplicate a message or crash an agent. Byzantine agents run no
honest code: every message they could sign is placed in flight up front
(the protocol's :class:`~mabeam.core.adversary.Adversary`), and the network may deliver any of
those, in any order, or none.

Successors are computed fast without changing them: protocols are pure by
contract, so each event's step is computed once per node state and compiled
into set operations whose results (timer sets, networks, decisions) are
memoised too, letting many worlds share the same immutable parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import msgspec

from ..core.effects import Defer, Effect, Evidence, Reject
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
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
    #: crash-recover faults: an honest agent restarts from ``protocol.durable`` (volatile state lost)
    max_recoveries: int = 0
    drops: int = 0
    duplicates: int = 0
    intruder: bool = False  # an outsider injects the protocol adversary's forged() messages
    max_depth: int | None = None
    max_states: int | None = None

    def __post_init__(self) -> None:
        if self.network not in ("multiset", "duplicating"):
            raise ConfigurationError(f"unknown network semantics {self.network!r}")
        for name in ("max_crashes", "max_recoveries", "drops", "duplicates", "max_depth", "max_states"):
            value = getattr(self, name)
            if value is None and name in ("max_depth", "max_states"):
                continue  # no bound
            # bool is an int subclass: drops=True would silently mean one drop
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.intruder, bool):
            raise ConfigurationError(f"intruder must be a bool, got {self.intruder!r}")
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
    recoveries: int = 0  # crash-recover faults left


class Action(NamedTuple):
    """One nondeterministic choice; ``key()`` identifies it across processes for replay."""

    kind: str  # deliver | timer | drop | duplicate | crash | recover | start
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
        if self.kind == "recover":
            return f"{self.agent} crashes and restarts from its durable state"
        return f"{self.kind} {self.agent}"


_INERT = (Reject, Defer)


def _changes(step: Step) -> bool:
    """Whether a step's effects can change the world (rejections and deferrals never do)."""
    return any(type(e) not in _INERT for e in step.effects)


def _defers(step: Step) -> bool:
    return any(type(e) is Defer for e in step.effects)


class _Delta:
    """A protocol step compiled into set operations on a world (see :meth:`ActorModel._compile`).

    The resulting timer sets, networks and decision sets are memoised per input
    set, so successors share those frozensets (whose hashes Python caches)
    instead of rebuilding and rehashing equal copies.
    """

    __slots__ = (
        "arm",
        "decisions",
        "decisions_after",
        "deferred",
        "disarm",
        "effects",
        "evidence",
        "evidence_after",
        "network_after",
        "noop",
        "outgoing",
        "state",
        "step",
        "timers_after",
    )

    def __init__(self, step: Step, noop: bool, arm: frozenset[str], disarm: frozenset[str],
                 outgoing: tuple[Envelope, ...], decisions: frozenset[Decision],
                 evidence: frozenset[Evidence]) -> None:
        self.step, self.state, self.effects, self.noop = step, step.state, step.effects, noop
        #: the node handed the message back ("not yet"): it stays in flight, unconsumed
        self.deferred = noop and _defers(step)
        self.arm, self.disarm, self.outgoing = arm, disarm, outgoing
        self.decisions, self.evidence = decisions, evidence
        self.timers_after: dict[frozenset[str], frozenset[str]] = {}
        self.network_after: dict[frozenset, frozenset] = {}
        self.decisions_after: dict[frozenset[Decision], frozenset[Decision]] = {}
        self.evidence_after: dict[frozenset[Evidence], frozenset[Evidence]] = {}


class _Event:
    """One event (an in-flight envelope, or a timer of one agent) and the memo of its outcome.

    The memo maps a receiving node state to its compiled step. Successor worlds
    reuse the very state objects the memo returned, so it is looked up by
    identity first (``by_id`` keeps each key object alive, so its id cannot be
    reused while stored) and by equality only for a state object not seen yet.
    """

    __slots__ = ("action", "by_id", "by_state", "env", "fair", "index", "message", "timer", "to")

    def __init__(self, to: AgentId, index: int, action: Action, fair: bool,
                 env: Envelope | None = None, timer: str | None = None) -> None:
        self.env, self.timer, self.to, self.index, self.action, self.fair = env, timer, to, index, action, fair
        self.message = None if env is None else env.message
        self.by_state: dict[Any, _Delta] = {}
        self.by_id: dict[int, tuple[Any, _Delta]] = {}


#: memo tables are dropped when they grow past this many entries (bounds memory on huge models)
_MEMO_LIMIT = 1 << 20


class _StepCompiler:
    """The checker's effect sink: what one step adds to the world, as sets to merge in.

    Messages to Byzantine agents are not kept in flight (the adversary needs no
    deliveries to act); rejections and deferrals change nothing checked.
    """

    __slots__ = ("agent", "agents", "byzantine", "decisions", "last_timer_op", "outgoing", "proofs")

    def __init__(self, agent: AgentId, agents: tuple[AgentId, ...], byzantine: frozenset[AgentId]) -> None:
        self.agent, self.agents, self.byzantine = agent, agents, byzantine
        self.last_timer_op: dict[str, bool] = {}
        self.outgoing: list[Envelope] = []
        self.decisions: list[Decision] = []
        self.proofs: list[Evidence] = []

    def send(self, to: AgentId, message: Message) -> None:
        if to not in self.byzantine:
            self.outgoing.append(Envelope(to, message))

    def broadcast(self, message: Message, include_self: bool) -> None:
        for other in self.agents:
            if (other != self.agent or include_self) and other not in self.byzantine:
                self.outgoing.append(Envelope(other, message))

    def set_timer(self, name: str, delay: float) -> None:
        self.last_timer_op[name] = True

    def cancel_timer(self, name: str) -> None:
        self.last_timer_op[name] = False

    def decide(self, value: Any, instance: Any) -> None:
        self.decisions.append(Decision(self.agent, instance, value))

    def evidence(self, evidence: Evidence) -> None:
        self.proofs.append(evidence)

    def reject(self, reason: str, message: Message | None) -> None:
        """Counted by live drivers; never part of the checked state."""

    def defer(self, message: Message) -> None:
        """The message stays in flight (see :class:`_Delta`)."""


class Transition(NamedTuple):
    action: Action
    world: World
    effects: tuple[Effect, ...]
    fair: bool  # part of the stated fairness (delivery to / timer of a correct agent)


def _transition(fields: tuple[Action, World, tuple[Effect, ...], bool]) -> Transition:
    return tuple.__new__(Transition, fields)  # skips NamedTuple's Python-level __new__ on the hot path


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
        # Protocols are pure functions of (agent, state, event), so their steps are memoised;
        # this is what makes exploring many worlds that share node states cheap.
        self._deliveries: dict[Envelope, _Event] = {}
        self._ordered_cache: dict[frozenset, tuple[_Event, ...]] = {}
        self._timer_events: dict[tuple[int, str], _Event] = {}
        self._timer_plans: list[dict[frozenset[str], tuple[tuple[_Event, frozenset[str]], ...]]] = [
            {} for _ in self.agents]

    # ------------------------------------------------------------ construction
    def initial(self) -> World:
        n = len(self.agents)
        world = World(
            nodes=(None,) * n,
            timers=(frozenset(),) * n,
            network=frozenset(),
            budget=(self.config.max_crashes, self.config.drops, self.config.duplicates),
            recoveries=self.config.max_recoveries,
        )
        for agent in self.agents:
            if agent in self.byzantine:
                continue
            world = self._apply(world, agent, self.protocol.start(agent))
        adversary = self.protocol.adversary
        injected = [env for bad in sorted(self.byzantine)
                    for env in adversary.messages(self.protocol, bad)
                    if env.to not in self.byzantine]
        if self.config.intruder:
            injected += [env for env in adversary.forged(self.protocol) if env.to not in self.byzantine]
        return self._add_messages(world, injected)

    def snapshot(self, world: World) -> Snapshot:
        network = world.network
        return Snapshot(
            protocol=self.protocol,
            states=dict(zip(self.agents, world.nodes)),
            crashed=world.crashed,
            byzantine=self.byzantine,
            decisions=world.decisions,
            evidence=world.evidence,
            in_flight=tuple(env for env, _count in network) if self.multiset else tuple(network),
        )

    # ------------------------------------------------------------- successors
    def transitions(self, world: World) -> Iterator[Transition]:
        """Every enabled action and its successor, in a canonical (reproducible) order."""
        crashed = world.crashed
        nodes = world.nodes
        multiset = self.multiset
        for event in self._ordered_network(world.network):
            if crashed and event.to in crashed:
                continue
            i = event.index
            state = nodes[i]
            known = event.by_id.get(id(state))
            delta = known[1] if known is not None and known[0] is state else self._outcome(event, state)
            if multiset and not delta.deferred:
                after = self._consume(world, event.env)  # type: ignore[arg-type]  # a delivery has an envelope
            elif delta.noop:
                yield _transition((event.action, world, delta.effects, event.fair))
                continue
            else:
                after = world
            yield _transition((event.action, self._install(after, i, after.timers[i], delta),
                               delta.effects, event.fair))
        for i, armed in enumerate(world.timers):
            if not armed or (crashed and self.agents[i] in crashed):
                continue
            state = nodes[i]
            for event, remaining in self._timer_plan(i, armed):
                known = event.by_id.get(id(state))
                delta = known[1] if known is not None and known[0] is state else self._outcome(event, state)
                yield _transition((event.action, self._install(world, i, remaining, delta),
                                   delta.effects, True))
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
        if crashes or world.recoveries:
            yield from self._faults(world)

    def _faults(self, world: World) -> Iterator[Transition]:
        """Crashing an honest agent for good, or crashing it and restarting it from its durable state."""
        for i, agent in enumerate(self.agents):
            if agent in world.crashed or agent in self.byzantine:
                continue
            if world.budget[0]:
                yield Transition(Action("crash", agent), self._crash(world, i, agent), (), False)
            if world.recoveries:
                after, effects = self._recover(world, i, agent)
                yield Transition(Action("recover", agent), after, effects, False)

    # ---------------------------------------------------------------- helpers
    def _envelopes(self, world: World) -> Iterator[Envelope]:
        if self.multiset:
            for env, _count in world.network:
                yield env
        else:
            yield from world.network

    def _ordered(self, envelopes: Iterable[Envelope]) -> list[Envelope]:
        cache = self._key_cache
        def key(env: Envelope) -> tuple[str, bytes]:
            k = cache.get(env)
            if k is None:
                k = cache[env] = env.sort_key()
            return k
        return sorted(envelopes, key=key)

    def _ordered_network(self, network: frozenset) -> tuple[_Event, ...]:
        """The in-flight envelopes' deliveries in canonical order; many worlds share one network value."""
        ordered = self._ordered_cache.get(network)
        if ordered is None:
            deliveries = self._deliveries
            if len(self._ordered_cache) >= _MEMO_LIMIT or len(deliveries) >= _MEMO_LIMIT:
                self._ordered_cache.clear()
                deliveries.clear()
            events = []
            for env in self._ordered(env for env, _count in network) if self.multiset else self._ordered(network):
                event = deliveries.get(env)
                if event is None:
                    # fairness covers messages between honest members only: the adversary may withhold its own
                    event = deliveries[env] = _Event(env.to, self.index[env.to], Action("deliver", env.to, env),
                                                     env.message.sender in self.honest, env)
                events.append(event)
            ordered = self._ordered_cache[network] = tuple(events)
        return ordered

    def _timer_plan(self, i: int, armed: frozenset[str]) -> tuple[tuple[_Event, frozenset[str]], ...]:
        """For agent ``i`` with ``armed`` timers: each timer's event and the timers left once it fired."""
        plans = self._timer_plans[i]
        plan = plans.get(armed)
        if plan is None:
            agent = self.agents[i]
            steps = []
            for name in sorted(armed):
                event = self._timer_events.get((i, name))
                if event is None:
                    event = self._timer_events[(i, name)] = _Event(agent, i, Action("timer", agent, name), True,
                                                                   timer=name)
                steps.append((event, armed - {name}))
            if len(plans) >= _MEMO_LIMIT:
                plans.clear()
            plan = plans[armed] = tuple(steps)
        return plan

    def _outcome(self, event: _Event, state: Any) -> _Delta:
        """The memoised, compiled step of ``event`` at a node in ``state`` (protocols are pure)."""
        delta = event.by_state.get(state)
        if delta is None:
            if event.timer is not None:
                step = self.protocol.fire(event.to, state, event.timer)
            else:
                assert event.message is not None
                step = self.protocol.receive(event.to, state, event.message)
            if len(event.by_state) >= _MEMO_LIMIT:
                event.by_state.clear()
            delta = event.by_state[state] = self._compile(event.to, state, step)
        if len(event.by_id) >= _MEMO_LIMIT:
            event.by_id.clear()
        event.by_id[id(state)] = (state, delta)
        return delta

    def _compile(self, agent: AgentId, state: Any, step: Step) -> _Delta:
        """Reduce a step's effects to set operations (the same world as applying them in order)."""
        sink = _StepCompiler(agent, self.agents, self.byzantine)
        interpret(step.effects, sink)
        last = sink.last_timer_op
        return _Delta(
            step, noop=(step.state is state or step.state == state) and not _changes(step),
            arm=frozenset(name for name, armed in last.items() if armed),
            disarm=frozenset(name for name, armed in last.items() if not armed),
            outgoing=tuple(sink.outgoing), decisions=frozenset(sink.decisions), evidence=frozenset(sink.proofs))

    def _install(self, world: World, i: int, timers: frozenset[str], delta: _Delta) -> World:
        """``world`` with node ``i`` in its new state, timers ``timers`` then updated, effects applied."""
        if delta.arm or delta.disarm:
            after = delta.timers_after.get(timers)
            if after is None:
                after = delta.timers_after[timers] = (timers - delta.disarm) | delta.arm
            timers = after
        all_timers = world.timers
        if timers is not all_timers[i]:
            all_timers = all_timers[:i] + (timers,) + all_timers[i + 1:]
        network = world.network
        if delta.outgoing:
            grown = delta.network_after.get(network)
            if grown is None:
                grown = delta.network_after[network] = self._with_messages(network, delta.outgoing)
            network = grown
        decisions = world.decisions
        if delta.decisions:
            more = delta.decisions_after.get(decisions)
            if more is None:
                more = delta.decisions_after[decisions] = decisions | delta.decisions
            decisions = more
        evidence = world.evidence
        if delta.evidence:
            known = delta.evidence_after.get(evidence)
            if known is None:
                known = delta.evidence_after[evidence] = evidence | delta.evidence
            evidence = known
        if len(delta.network_after) >= _MEMO_LIMIT:  # the other memo tables are bounded by it
            delta.timers_after.clear()
            delta.network_after.clear()
            delta.decisions_after.clear()
            delta.evidence_after.clear()
        nodes = world.nodes
        return World(nodes[:i] + (delta.state,) + nodes[i + 1:], all_timers, network, world.crashed,
                     decisions, evidence, world.budget, world.recoveries)

    def _with_messages(self, network: frozenset, envelopes: Iterable[Envelope]) -> frozenset:
        if not self.multiset:
            return network.union(envelopes)
        net = dict(network)
        for env in envelopes:
            net[env] = net.get(env, 0) + 1
        return frozenset(net.items())

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

    def _recover(self, world: World, i: int, agent: AgentId) -> tuple[World, tuple[Effect, ...]]:
        """A crash and an immediate restart: the node keeps ``protocol.durable`` of its state and nothing
        else (its timers die; messages in flight to it stay in flight), then runs ``protocol.recover``."""
        protocol = self.protocol
        step = protocol.recover(agent, protocol.durable(agent, world.nodes[i]))
        world = msgspec.structs.replace(self._replace_timers(world, i, frozenset()),
                                        recoveries=world.recoveries - 1)
        return self._install(world, i, frozenset(), self._compile(agent, world.nodes[i], step)), step.effects

    def _apply(self, world: World, agent: AgentId, step: Step) -> World:
        """Install the agent's new state and interpret its effects (used for start steps)."""
        i = self.index[agent]
        return self._install(world, i, world.timers[i], self._compile(agent, world.nodes[i], step))
