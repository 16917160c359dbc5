"""What a trace is made of: the code's world after each step, from the simulator or the checker.

An :class:`Observation` is one global state of a run, in terms every mapping can
read whichever driver produced it:

- ``nodes``: each honest agent's node state (a Byzantine agent has none);
- ``in_flight``: the envelopes sent and not yet delivered (or deferred: a message a
  node handed back is still on its way to it), one entry per copy;
- ``sent``: every message put on the wire so far, as a set: all an honest agent
  sent; what a Byzantine agent or an outsider sent once it was sent (simulator) or
  first delivered (checker, whose adversary holds all its messages in flight from
  the start: a message it never delivered was, as far as the run shows, never sent);
- ``crashed``; ``byzantine``, the agents the spec holds Byzantine (those running a
  strategy, and in the simulator those the cfg holds Byzantine even when they run
  the honest code: what they do is then one of the things a Byzantine agent may do);
  the ``decisions`` taken so far, and ``event``: the
  step that led here (``"init"`` for the first observation), with ``actor``, the
  agent that took it.

The first observation is the state after every honest agent started: what a
spec's ``Init`` describes. :class:`TracingDriver` (the simulator's and the
asyncio runtime's observed variants) starts the honest agents first, then the
Byzantine ones, whose first messages are then ordinary later steps.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from heapq import heapify
from typing import Any

from ..core.effects import Effect, Send, SetTimer
from ..core.identity import AgentId
from ..core.messages import Envelope, Message
from ..core.observer import DELIVER, REDELIVER, START
from ..core.properties import Decision
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from ..live.deferral import changed
from ..live.driver import LiveDriver
from ..live.network import NetworkModel
from ..live.strategy import Strategy
from ..sim.simulator import FAN_OUT, Simulator


@dataclasses.dataclass(frozen=True)
class Observation:
    """One global state of a run (see the module docstring)."""

    nodes: Mapping[AgentId, Any]
    in_flight: tuple[Envelope, ...]
    sent: frozenset[Message]
    crashed: frozenset[AgentId]
    byzantine: frozenset[AgentId]
    decisions: frozenset[Decision]
    event: str
    actor: AgentId | None = None


@dataclasses.dataclass(frozen=True)
class RunTrace:
    """A run as a sequence of observations, with where it came from."""

    protocol: Protocol
    observations: tuple[Observation, ...]
    source: str  # "simulator seed S" or "checker counterexample ..."
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.observations)


# ------------------------------------------------------------------ live drivers
class TracingDriver(LiveDriver, ABC):
    """A live driver recording an :class:`Observation` after every protocol step (mixed into the
    simulator and the asyncio runtime, which say what is in flight: :meth:`_in_flight`).

    One delivery, timer expiry or crash is one code step; each redelivery of a
    deferred message is a step of its own. The honest agents start first (``late``:
    the agents that start after the observed initial state, the Byzantine ones and
    those the spec holds Byzantine even when they run the honest code).
    """

    def _trace_setup(self, late: frozenset[AgentId]) -> None:
        self.late = frozenset(late) | frozenset(self.strategies)
        self.observations: list[Observation] = []
        self._sent: set[Message] = set()
        self._decisions: set[Decision] = set()
        self._limbo: list[list[Message]] = [[] for _ in self.protocol.agents]
        self._recording = False
        self._starts_left = sum(1 for a in self.protocol.agents if a not in self.late)

    @abstractmethod
    def _in_flight(self) -> list[Envelope]:
        """The envelopes sent and not yet delivered (the driver's own queues; deferred ones are added)."""
        ...

    def _honest_started(self) -> None:
        """Every honest agent has started: the initial state is observed, the late agents may start."""
        self._observe("init", None)

    _observes_steps = True

    def _stepped(self, i: int, kind: str, payload: Any) -> None:
        """An observation after each step's effects (the late agents' starts release the trace first)."""
        agent = self.protocol.agents[i]
        if kind == START and agent not in self.late:
            self._starts_left -= 1
            if self._starts_left == 0:
                self._honest_started()
        elif self._recording:
            what = payload.describe() if isinstance(payload, Message) else str(payload or "")
            self._observe(f"{kind} {what} at {agent}".strip() if kind != START else f"start {agent}", agent)

    def _redeliver(self, i: int) -> None:
        """The driver's redelivery loop, observing after each redelivered message."""
        agent = self.protocol.agents[i]
        if self._strategies[i] is not None:
            super()._redeliver(i)
            return
        queue = self._deferred[i]
        state = self._states[agent]
        passes = len(queue)
        while queue and passes > 0:
            passes -= 1
            progressed = False
            limbo = self._limbo[i] = queue.take_all()
            while limbo:
                message = limbo.pop(0)
                self.stats.redelivered += 1
                self._events += 1
                self._on_redeliver(agent, message)
                step = self.protocol.receive(agent, state, message)
                self._states[agent] = step.state
                if self._watchers:
                    self._notify_step(i, REDELIVER, message, state, step.effects)
                if changed(state, step.state):
                    progressed = True
                state = step.state
                if step.effects:
                    self._apply(i, step.effects)
                if self._recording:
                    self._observe(f"redeliver {message.describe()} at {agent}", agent)
            if not progressed:
                break
        self._states[agent] = state

    def _crash(self, i: int) -> None:
        super()._crash(i)
        if self._recording:
            self._observe(f"crash {self.protocol.agents[i]}", self.protocol.agents[i])

    # the effect sink: remember what was sent and decided
    def send(self, to: AgentId, message: Message) -> None:
        if to in self._index and not self._impersonates_quietly(message):
            self._sent.add(message)
        super().send(to, message)

    def broadcast(self, message: Message, include_self: bool) -> None:
        if not self._impersonates_quietly(message):
            self._sent.add(message)
        super().broadcast(message, include_self)

    def _impersonates_quietly(self, message: Message) -> bool:
        return self._actor_byzantine and message.sender != self.protocol.agents[self._actor]

    def decide(self, value: Any, instance: Any) -> None:
        self._decisions.add(Decision(self.protocol.agents[self._actor], instance, value))
        super().decide(value, instance)

    # ------------------------------------------------------------ observing
    def _observe(self, event: str, actor: AgentId | None) -> None:
        self._recording = True
        agents = self.protocol.agents
        in_flight = self._in_flight()
        for i, agent in enumerate(agents):
            in_flight += [Envelope(agent, m) for m in list(self._deferred[i].messages) + self._limbo[i]]
        in_flight.sort(key=Envelope.sort_key)
        byzantine = self.late
        self.observations.append(Observation(
            nodes={a: s for a, s in self._states.items() if a not in byzantine},
            in_flight=tuple(in_flight), sent=frozenset(self._sent),
            crashed=frozenset(a for a, c in zip(agents, self._crashed) if c), byzantine=byzantine,
            decisions=frozenset(self._decisions), event=event, actor=actor))


class TracingSimulator(TracingDriver, Simulator):
    """The seeded simulator, observed (see :class:`TracingDriver`). Runs are as reproducible as
    the simulator's: the same seed gives the same trace."""

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *,
                 late: frozenset[AgentId] = frozenset(), **options: Any) -> None:
        super().__init__(protocol, network, **options)
        self._late_arg = late

    def run(self) -> Any:
        self._trace_setup(self._late_arg)
        return super().run()

    def _loop(self) -> bool:
        # reorder the START events so the honest ones come first; they all happen at time 0, before any
        # delivery, so the order is one the simulator could have taken
        starts = sorted((e for e in self._heap if e[2] == START),
                        key=lambda e: (self.protocol.agents[e[3]] in self.late, e[1]))
        others = [e for e in self._heap if e[2] != START]
        seqs = sorted(e[1] for e in starts)
        self._heap[:] = others + [(e[0], seq, *e[2:]) for e, seq in zip(starts, seqs)]
        heapify(self._heap)
        if self._starts_left == 0:
            self._observe("init", None)
        return super()._loop()

    def _in_flight(self) -> list[Envelope]:
        agents = self.protocol.agents
        in_flight: list[Envelope] = []
        for entry in self._heap:
            kind = entry[2]
            if kind == DELIVER:
                in_flight.append(Envelope(agents[entry[3]], entry[4]))
            elif kind == FAN_OUT:
                message, targets = entry[4]
                in_flight += [Envelope(agents[j], message) for j in targets]
        return in_flight


def simulate_trace(protocol: Protocol, network: NetworkModel, *, seed: int,
                   crashes: Mapping[AgentId, float] | None = None,
                   byzantine: Mapping[AgentId, Strategy] | None = None, until: float | None = None,
                   max_events: int | None = 5000, late: frozenset[AgentId] = frozenset()) -> RunTrace:
    """One seeded simulator run of ``protocol``, observed after every step (``late``: see
    :class:`TracingSimulator`)."""
    sim = TracingSimulator(protocol, network, late=late, seed=seed, crashes=crashes, byzantine=byzantine, until=until,
                           max_events=max_events, monitor="end")
    result = sim.run()
    return RunTrace(protocol, tuple(sim.observations), f"simulator seed {seed}",
                    {"seed": seed, "crashes": dict(crashes or {}), "byzantine": sorted(byzantine or ()),
                     "status": result.status, "events": result.events, "decided": result.decided_value})


class InjectingStrategy(Strategy):
    """A seeded Byzantine agent that sends what the protocol's adversary says it can sign.

    The checker's fault model, live: the protocol's :class:`~mabeam.core.adversary.Adversary`
    lists every envelope the agent may inject; this strategy sends a seeded sample of
    them at start and another on each of a few timer expiries, and otherwise stays
    silent. So a simulator run with it is a run the model checker explores too.
    """

    TIMER = "trace:inject"

    def __init__(self, agent: AgentId, protocol: Protocol, *, share: float = 0.5, rounds: int = 3,
                 period: float = 0.02) -> None:
        super().__init__(agent)
        self.envelopes = tuple(protocol.adversary.messages(protocol, agent))
        self.share, self.rounds, self.period = share, rounds, period

    def _sample(self) -> tuple[Effect, ...]:
        chosen = [env for env in self.envelopes if self.rng.random() < self.share]
        return tuple(Send(env.to, env.message) for env in chosen)

    def on_start(self) -> tuple[Effect, ...]:
        self.left = self.rounds
        return self._sample() + (SetTimer(self.TIMER, self.period),)

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        if timer != self.TIMER:
            return ()
        self.left -= 1
        again: tuple[Effect, ...] = (SetTimer(self.TIMER, self.period),) if self.left > 0 else ()
        return self._sample() + again


# -------------------------------------------------------------------- checker
def checker_trace(model: Any, trace: Any, source: str, info: Mapping[str, Any] | None = None) -> RunTrace:
    """A checker counterexample (:class:`~mabeam.checker.results.Trace`) as observations.

    The checker's Byzantine agents and intruder hold their messages in flight from
    the start; one counts as sent from the step that first delivers it.
    """
    protocol = model.protocol
    members = frozenset(protocol.agents)
    honest = members - model.byzantine
    observations: list[Observation] = []
    sent: set[Message] = set()
    for step in trace.steps:
        view = model.view(step.world)
        if model.multiset:
            in_flight = tuple(sorted((env for env, count in view.network for _ in range(count)),
                                     key=Envelope.sort_key))
        else:
            in_flight = tuple(sorted(view.network, key=Envelope.sort_key))
        sent |= {env.message for env in in_flight if env.message.sender in honest}
        action = step.action
        if action is not None and action.kind == "deliver":
            sent.add(action.detail.message)
        event = "init" if action is None else action.describe()
        nodes = {a: s for a, s in zip(protocol.agents, view.nodes) if a in honest}
        observations.append(Observation(nodes, in_flight, frozenset(sent), view.crashed, model.byzantine,
                                        view.decisions, event, None if action is None else action.agent))
    return RunTrace(protocol, tuple(observations), source, dict(info or {}))


def describe_observations(observations: Sequence[Observation]) -> list[str]:
    return [o.event for o in observations]


def checker_walk(model: Any, steps: int, seed: int) -> Any:
    """A seeded random path through the checker's transition system (a :class:`~mabeam.checker.results.Trace`):
    the honest code's checked behaviours, as a control for trace validation."""
    from ..checker.replay import initial_effects
    from ..checker.results import Trace, TraceStep

    rng = SeededRandom(seed).derive("trace-walk")
    world = model.initial()
    path = [TraceStep(None, initial_effects(model), world)]
    for _ in range(steps):
        moves = [t for t in model.transitions(world) if t.world != world]
        if not moves:
            break
        chosen = moves[int(rng.random() * len(moves))]
        path.append(TraceStep(chosen.action, chosen.effects, chosen.world))
        world = chosen.world
    return Trace(path, model=model)
