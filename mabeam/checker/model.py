"""The global transition system the model checker explores.

:class:`ActorModel` turns any :class:`~mabeam.core.protocol.Protocol` into a
transition system. Its actions are the nondeterministic choices of an
asynchronous network: deliver any in-flight message, fire any armed timer, and,
within configured budgets, drop or duplicate a message, crash an agent, or
restart a crashed one from its durable state (crash-recover).
Byzantine agents run no honest code: every message they could sign is placed
in flight up front (the protocol's :class:`~mabeam.core.adversary.Adversary`),
and the network may deliver any of those, in any order, or none.

A world is a tuple of component fingerprints (see :mod:`.canonical`)::

    (agent_0, ..., agent_{n-1}, network, facts, faults)

``agent_i`` is one agent's (node state, armed timers); ``network`` the
envelopes in flight (a set in the duplicating network, a multiset of
(envelope, copies) in the multiset one); ``facts`` the decisions and evidence
so far; ``faults`` what the adversary holds: the crashed agents, the budgets
left (crashes, drops, duplicates, restarts) and, against the Dolev-Yao
adversary, the messages the Byzantine coalition has learned. Each distinct
component is stored once (:class:`~.canonical.Interner`), so a world costs a
tuple of integers and its fingerprint is the tuple's hash, the same in every
process.

Protocols are pure, so every step is computed once per (event, node state) and
compiled into component operations; one agent's whole contribution to the
successors of a world depends only on its component and the network, and is
memoised on that pair. The memo tables are caches: :meth:`ActorModel.trim`
empties them when memory runs short, and the next lookups recompute.

Crash-recover: a crashed agent's restart (``CheckConfig.max_recoveries``) runs
``protocol.recover(agent, protocol.durable(agent, last state))`` and is a fault
action like a crash, but a weakly fair one: a crashed agent with a restart left
eventually restarts, so liveness is judged on runs where it comes back (a crash
for good is what the crash budget alone already explores).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from functools import partial
from typing import Any, NamedTuple

from ..core.effects import Defer, Effect, Evidence, Reject
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.properties import Decision, Snapshot
from ..core.protocol import Envelope, Protocol, Step
from .canonical import Interner, canonical_bytes, mix
from .config import CheckConfig, NetworkSemantics

__all__ = ["Action", "ActorModel", "CheckConfig", "NetworkSemantics", "Transition", "World", "WorldView"]

World = tuple[int, ...]


class Action(NamedTuple):
    """One nondeterministic choice; ``key()`` identifies it across processes for replay."""

    kind: str  # deliver | timer | drop | duplicate | crash | recover
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
            return f"{self.agent} restarts from its durable state"
        return f"{self.kind} {self.agent}"


class Transition(NamedTuple):
    action: Action
    world: World
    effects: tuple[Effect, ...]
    fair: bool  # part of the stated fairness (delivery to / timer of a correct agent; a restart while one is left)


class WorldView(NamedTuple):
    """A world's components as values (for reports, tests and replays)."""

    nodes: tuple[Any, ...]
    timers: tuple[frozenset[str], ...]
    network: frozenset[Any]  # of Envelope (duplicating) or of (Envelope, count) (multiset)
    crashed: frozenset[AgentId]
    decisions: frozenset[Decision]
    evidence: frozenset[Evidence]
    budget: tuple[int, int, int]  # crashes, drops, duplicates left
    recoveries: int = 0  # restarts of crashed agents left


_INERT = (Reject, Defer)


class _Delta:
    """One protocol step compiled into component operations."""

    __slots__ = ("arm", "deferred", "disarm", "effects", "facts", "learned", "noop", "outgoing", "state")

    def __init__(self, step: Step, noop: bool, arm: frozenset[str], disarm: frozenset[str],
                 outgoing: tuple[int, ...], facts: int, learned: int) -> None:
        self.state, self.effects, self.noop = step.state, step.effects, noop
        #: the node handed the message back ("not yet"): it stays in flight, unconsumed
        self.deferred = noop and any(type(e) is Defer for e in step.effects)
        self.arm, self.disarm, self.outgoing, self.facts = arm, disarm, outgoing, facts
        self.learned = learned  # the messages a Dolev-Yao adversary learns from the step (0: none)


class _StepCompiler:
    """The checker's effect sink: what one step adds to the world.

    Messages to Byzantine agents are not kept in flight (the adversary needs no
    deliveries to act); rejections and deferrals change nothing checked.
    """

    __slots__ = ("agent", "agents", "byzantine", "decisions", "last_timer_op", "learned", "outgoing", "proofs")

    def __init__(self, agent: AgentId, agents: tuple[AgentId, ...], byzantine: frozenset[AgentId]) -> None:
        self.agent, self.agents, self.byzantine = agent, agents, byzantine
        self.last_timer_op: dict[str, bool] = {}
        self.outgoing: list[Envelope] = []
        self.learned: list[Message] = []  # what the step told a Byzantine agent
        self.decisions: list[Decision] = []
        self.proofs: list[Evidence] = []

    def send(self, to: AgentId, message: Message) -> None:
        if to not in self.byzantine:
            self.outgoing.append(Envelope(to, message))
        else:
            self.learned.append(message)

    def broadcast(self, message: Message, include_self: bool) -> None:
        for other in self.agents:
            if other != self.agent or include_self:
                if other not in self.byzantine:
                    self.outgoing.append(Envelope(other, message))
                else:
                    self.learned.append(message)

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


#: memo entries (all tables together) past which the search empties the caches between two levels
#: (roughly 200 bytes each); the memory watch empties them earlier if the budget nears
DEFAULT_MEMO_ENTRIES = 1 << 22

#: comp, net, facts added, messages learned, action, fair, effects, self-loop
Part = tuple[int, int, int, int, Action, bool, tuple[Effect, ...], bool]
#: crashed, budget left (crashes, drops, duplicates, recoveries), learned
Faults = tuple[frozenset[AgentId], tuple[int, int, int, int], frozenset[int]]
#: comp, net, facts added, messages learned, action, fair, fingerprint change
Move = tuple[int, int, int, int, Action, bool, int]


class ActorModel:
    """A protocol plus a :class:`CheckConfig`, seen as a transition system over compact worlds."""

    def __init__(self, protocol: Protocol, config: CheckConfig | None = None, *,
                 memo_entries: int = DEFAULT_MEMO_ENTRIES) -> None:
        self.protocol = protocol
        self.config = config or CheckConfig()
        self.agents = protocol.agents
        self.n = len(self.agents)
        self.index = {a: i for i, a in enumerate(self.agents)}
        unknown = set(self.config.byzantine) - set(self.agents)
        if unknown:
            raise ConfigurationError(f"byzantine agents {sorted(unknown)} are not members")
        self.byzantine = frozenset(self.config.byzantine)
        self.honest = frozenset(self.agents) - self.byzantine
        self.multiset = self.config.network == "multiset"
        self.dolev_yao = self.config.adversary == "dolev-yao" and bool(self.byzantine)
        self.memo_entries = memo_entries
        self._state_bytes: dict[Any, bytes] = {}
        self._agents: Interner[tuple[Any, frozenset[str]]] = Interner(b"agent", self._encode_agent)
        self._state_of: dict[int, Any] = {}  # agent component -> its node state (for snapshots)
        #: per world position: component fingerprint -> its mixed value (see :meth:`fingerprint`)
        self._mix: list[dict[int, int]] = [{} for _ in range(self.n + 3)]
        self._envelopes: Interner[Envelope] = Interner(b"envelope", self._encode_envelope)
        self._injected: Interner[Envelope] = Interner(b"injected", self._encode_envelope)  # the adversary's
        self._envelope_of: dict[int, Envelope] = {}  # either kind of envelope fingerprint -> the envelope
        self._networks: Interner[frozenset[Any]] = Interner(b"network", self._encode_network)
        self._facts: Interner[tuple[frozenset[Decision], frozenset[Evidence]]] = Interner(b"facts", canonical_bytes)
        self._faults: Interner[Faults] = Interner(b"faults", self._encode_faults)
        self._messages: Interner[Message] = Interner(b"message", Message.canonical)
        self._learnings: Interner[frozenset[int]] = Interner(b"learned", self._encode_network)
        self._order: dict[int, tuple[int, bytes, bool]] = {}  # envelope fp -> canonical delivery order
        self._deliver_actions: dict[int, tuple[Action, bool]] = {}
        self._timer_actions: dict[tuple[int, str], Action] = {}
        #: one shared object per agent: fair actions are told apart by identity (search's ``_class_of``)
        self._recover_actions = tuple(Action("recover", agent) for agent in self.agents)
        self._reset_memos()
        self._empty_facts = self._facts.add((frozenset(), frozenset()))

    def _agent_comp(self, comp: tuple[Any, frozenset[str]]) -> int:
        fp = self._agents.add(comp)
        if fp not in self._state_of:
            self._state_of[fp] = comp[0]
        return fp

    # ------------------------------------------------------------ encodings
    def _encode_state(self, state: Any) -> bytes:
        data = self._state_bytes.get(state)
        if data is None:
            data = self._state_bytes[state] = canonical_bytes(state)
        return data

    def _encode_agent(self, comp: tuple[Any, frozenset[str]]) -> bytes:
        state, timers = comp
        return canonical_bytes([self._encode_state(state), sorted(timers)])

    @staticmethod
    def _encode_envelope(env: Envelope) -> bytes:
        return canonical_bytes([env.to, env.message.canonical()])

    def _encode_network(self, network: frozenset[Any]) -> bytes:
        return canonical_bytes(sorted(network))  # envelope fingerprints, or (fingerprint, copies) pairs

    @staticmethod
    def _encode_faults(faults: Faults) -> bytes:
        crashed, budget, learned = faults
        return canonical_bytes([sorted(crashed), list(budget), sorted(learned)])

    def _reset_memos(self) -> None:
        self._parts: list[dict[tuple[int, int], tuple[Part, ...]]] = [{} for _ in range(self.n)]
        #: network -> per agent: component -> (moves, self-loops), the hot path's memo
        self._moves_by_net: dict[int, list[dict[int, Any]]] = {}
        self._plans: dict[int, tuple[tuple[int, ...], bool]] = {}
        self._in_flight: dict[int, tuple[Envelope, ...]] = {}
        self._deliveries: dict[int, tuple[tuple[int, ...], ...]] = {}
        self._on_delivery: dict[tuple[int, Any], _Delta] = {}
        self._on_timer: dict[tuple[int, str, Any], _Delta] = {}
        self._on_recover: dict[tuple[int, Any], _Delta] = {}
        self._net_after: dict[tuple[int, int, tuple[int, ...]], int] = {}
        self._facts_after: dict[tuple[int, int], int] = {}
        self._facts_changes: dict[tuple[int, int], tuple[int, int]] = {}
        self._lessons: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}
        self._net_changes: dict[tuple[int, int, int], tuple[int, int, int]] = {}
        self._memo_size = 0

    def trim(self) -> None:
        """Empty the memo caches (the interned components stay: worlds refer to them)."""
        self._reset_memos()
        self._state_bytes.clear()

    @property
    def memo_size(self) -> int:
        return self._memo_size

    # ------------------------------------------------------------ construction
    def initial(self) -> World:
        nodes: list[Any] = [None] * self.n
        timers: list[frozenset[str]] = [frozenset()] * self.n
        outgoing: list[int] = []
        decisions: set[Decision] = set()
        evidence: set[Evidence] = set()
        learned: set[int] = set()
        for i, agent in enumerate(self.agents):
            if agent in self.byzantine:
                continue
            step = self.protocol.start(agent)
            delta = self._compile(agent, None, step)
            nodes[i] = step.state
            timers[i] = (timers[i] - delta.disarm) | delta.arm
            outgoing += delta.outgoing
            if delta.learned:
                learned |= self._learnings[delta.learned]
            if delta.facts:
                added_decisions, added_evidence = self._facts[delta.facts]
                decisions |= added_decisions
                evidence |= added_evidence
        adversary = self.protocol.adversary
        knowledge = frozenset(learned) if self.dolev_yao else frozenset()
        injected = list(self._derived(knowledge)) if self.dolev_yao else [
            self._envelope(env, injected=True) for bad in sorted(self.byzantine)
            for env in adversary.messages(self.protocol, bad) if env.to not in self.byzantine]
        if self.config.intruder:
            injected += [self._envelope(env, injected=True) for env in adversary.forged(self.protocol)
                         if env.to not in self.byzantine]
        outgoing += injected
        network = self._net_after_op(self._networks.add(frozenset()), 0, tuple(outgoing))
        comps = tuple(self._agent_comp((nodes[i], timers[i])) for i in range(self.n))
        facts = self._facts.add((frozenset(decisions), frozenset(evidence)))
        config = self.config
        budget = (config.max_crashes, config.drops, config.duplicates, config.max_recoveries)
        faults = self._faults.add((frozenset(), budget, knowledge))
        return (*comps, network, facts, faults)

    # --------------------------------------------------------- Dolev-Yao adversary
    def _derived(self, knowledge: frozenset[int]) -> tuple[int, ...]:
        """Every envelope the Byzantine coalition can send once it has learned ``knowledge``."""
        messages = frozenset(self._messages[m] for m in knowledge)
        adversary = self.protocol.adversary
        out = {self._envelope(env, injected=True) for bad in sorted(self.byzantine)
               for env in adversary.derived(self.protocol, bad, messages) if env.to not in self.byzantine}
        return tuple(sorted(out, key=self._order.__getitem__))

    def _lesson(self, faults: int, learned: int) -> tuple[int, tuple[int, ...]]:
        """The adversary's component after it learns ``learned``, and the envelopes that makes new."""
        key = (faults, learned)
        found = self._lessons.get(key)
        if found is None:
            crashed, budget, knowledge = self._faults[faults]
            grown = knowledge | self._learnings[learned]
            if grown == knowledge:
                found = (faults, ())
            else:
                before = set(self._derived(knowledge))
                new = tuple(fp for fp in self._derived(grown) if fp not in before)
                found = (self._faults.add((crashed, budget, grown)), new)
            self._lessons[key] = found
            self._memo_size += 1
        return found

    def _learn(self, net: int, faults: int, learned: int) -> tuple[int, int, int]:
        """(network, adversary component, fingerprint change) once a step taught the adversary ``learned``."""
        key = (net, faults, learned)
        found = self._net_changes.get(key)
        if found is None:
            faults2, new = self._lesson(faults, learned)
            net2 = self._net_after_op(net, 0, new) if new else net
            n, mixed = self.n, self._mixed
            change = mixed(n, net) ^ mixed(n, net2) ^ mixed(n + 2, faults) ^ mixed(n + 2, faults2)
            found = self._net_changes[key] = (net2, faults2, change)
            self._memo_size += 1
        return found

    def fingerprint(self, world: World) -> int:
        """The world's 64-bit fingerprint: the XOR of one mixed value per (position, component).

        Like Zobrist hashing: a step that changes a few components changes the fingerprint
        by the XOR of their mixed values, so successors are fingerprinted without building
        them. The mixed values come from the components' content fingerprints, so the
        world's fingerprint is the same in every process (see :mod:`.canonical`).
        """
        fp = 0
        for position, comp in enumerate(world):
            fp ^= self._mixed(position, comp)
        return fp

    def _mixed(self, position: int, comp: int) -> int:
        table = self._mix[position]
        value = table.get(comp)
        if value is None:
            value = table[comp] = mix(position, comp)
        return value

    # ------------------------------------------------------------ reading worlds
    def view(self, world: World) -> WorldView:
        n = self.n
        comps = [self._agents[c] for c in world[:n]]
        crashed, budget, _learned = self._faults[world[n + 2]]
        decisions, evidence = self._facts[world[n + 1]]
        network = self._networks[world[n]]
        envs = self._envelope_of
        net = frozenset((envs[fp], count) for fp, count in network) if self.multiset \
            else frozenset(envs[fp] for fp in network)
        return WorldView(tuple(c[0] for c in comps), tuple(c[1] for c in comps), net, crashed, decisions,
                         evidence, budget[:3], budget[3])

    def node_states(self, world: World) -> dict[AgentId, Any]:
        return dict(zip(self.agents, map(self._state_of.__getitem__, world)))  # zip stops after the agents

    def in_flight(self, world: World) -> tuple[Envelope, ...]:
        net = world[self.n]
        known = self._in_flight.get(net)
        if known is None:
            envs = self._envelope_of
            network = self._networks[net]
            known = tuple(envs[fp] for fp, _count in network) if self.multiset else tuple(envs[fp] for fp in network)
            self._in_flight[net] = known
            self._memo_size += 1
        return known

    def snapshot(self, world: World) -> Snapshot:
        n = self.n
        decisions, evidence = self._facts.values[world[n + 1]]
        crashed = self._faults.values[world[n + 2]][0]
        in_flight = self._in_flight.get(world[n]) or partial(self.in_flight, world)
        return Snapshot(self.protocol, dict(zip(self.agents, map(self._state_of.__getitem__, world))), crashed,
                        self.byzantine, decisions, evidence, in_flight)

    # ------------------------------------------------------------- successors
    def successors(self, world: World, fp: int | None = None, *, loops: bool = False
                   ) -> list[tuple[World, int, Action, bool]]:
        """(successor, its fingerprint, action, fair) for every enabled action; self-loops only if ``loops``.

        ``fp`` is the world's own fingerprint if the caller has it (it is computed otherwise).
        """
        if fp is None:
            fp = self.fingerprint(world)
        n = self.n
        net, facts, faults = world[n], world[n + 1], world[n + 2]
        out: list[tuple[World, int, Action, bool]] = []
        append = out.append
        active, budget_left = self._plans.get(faults) or self._plan(faults)
        by_agent = self._moves_by_net.get(net) or self._new_net_memo(net)
        for i in active:
            comp = world[i]
            found = by_agent[i].get(comp)
            if found is None:
                found = by_agent[i][comp] = self._agent_moves(i, comp, net)
            moves, stays, _count = found
            if moves:
                head, mid = world[:i], world[i + 1:n]
                for comp2, net2, add, learned, action, fair, change in moves:
                    facts2, faults2, succ_fp = facts, faults, fp ^ change
                    if add:
                        facts2, more = self._facts_change(facts, add)
                        succ_fp ^= more
                    if learned:
                        net2, faults2, more = self._learn(net2, faults, learned)
                        succ_fp ^= more
                    append(((*head, comp2, *mid, net2, facts2, faults2), succ_fp, action, fair))
            if loops:
                for action, fair in stays:
                    append((world, fp, action, fair))
        if budget_left:
            for t in self._budget_transitions(world):
                append((t.world, self.fingerprint(t.world), t.action, t.fair))
        return out

    def expand_new(self, world: World, fp: int, seen: set[int], worlds: list[World], fps: list[int]) -> int:
        """The search's hot path: append each successor whose fingerprint is not in ``seen`` yet
        (and add it there); return how many successors there were.

        Why one long function: a successor is fingerprinted from the memoised change of
        its components before its tuple is built, and only new ones are built at all.
        """
        n = self.n
        net, facts, faults = world[n], world[n + 1], world[n + 2]
        active, budget_left = self._plans.get(faults) or self._plan(faults)
        by_agent = self._moves_by_net.get(net) or self._new_net_memo(net)
        changes = self._facts_changes
        add_world, add_fp, known, remember = worlds.append, fps.append, seen.__contains__, seen.add
        generated = 0
        for i in active:
            comp = world[i]
            found = by_agent[i].get(comp)
            if found is None:
                found = by_agent[i][comp] = self._agent_moves(i, comp, net)
            moves = found[0]
            generated += found[2]
            for comp2, net2, add, learned, _action, _fair, change in moves:
                if learned:  # the Dolev-Yao adversary learns: rarer, and off the fast path
                    facts2, faults2, succ_fp = facts, faults, fp ^ change
                    if add:
                        facts2, more = self._facts_change(facts, add)
                        succ_fp ^= more
                    net2, faults2, more = self._learn(net2, faults, learned)
                    succ_fp ^= more
                    if succ_fp == fp or known(succ_fp):
                        continue
                    remember(succ_fp)
                    add_world((*world[:i], comp2, *world[i + 1:n], net2, facts2, faults2))
                elif add:
                    both = changes.get((facts, add)) or self._facts_change(facts, add)
                    succ_fp = fp ^ change ^ both[1]
                    if succ_fp == fp or known(succ_fp):
                        continue
                    remember(succ_fp)
                    add_world((*world[:i], comp2, *world[i + 1:n], net2, both[0], faults))
                else:
                    succ_fp = fp ^ change
                    if succ_fp == fp or known(succ_fp):
                        continue
                    remember(succ_fp)
                    add_world((*world[:i], comp2, *world[i + 1:n], net2, facts, faults))
                add_fp(succ_fp)
        if budget_left:
            for t in self._budget_transitions(world):
                generated += 1
                succ_fp = self.fingerprint(t.world)
                if succ_fp != fp and not known(succ_fp):
                    remember(succ_fp)
                    add_world(t.world)
                    add_fp(succ_fp)
        return generated

    def _new_net_memo(self, net: int) -> list[dict[int, Any]]:
        memo: list[dict[int, Any]] = [{} for _ in range(self.n)]
        self._moves_by_net[net] = memo
        return memo

    def _facts_change(self, facts: int, add: int) -> tuple[int, int]:
        """The facts after adding ``add``, and how that changes a world's fingerprint."""
        key = (facts, add)
        found = self._facts_changes.get(key)
        if found is None:
            after = self._facts_after_op(facts, add)
            found = self._facts_changes[key] = (after, self._mixed(self.n + 1, facts) ^ self._mixed(self.n + 1, after))
        return found

    def _plan(self, faults: int) -> tuple[tuple[int, ...], bool]:
        """For a faults component: the honest agents that have not crashed, and whether budget is left
        (a fault that can still act: a restart counts while some agent is down to take it)."""
        crashed, (crashes, drops, dups, recoveries), _learned = self._faults[faults]
        active = tuple(i for i, a in enumerate(self.agents) if a not in self.byzantine and a not in crashed)
        left = crashes or (recoveries and crashed) or (self.multiset and (drops or dups))
        plan = self._plans[faults] = (active, bool(left))
        return plan

    def _agent_moves(self, i: int, comp: int, net: int
                     ) -> tuple[tuple[Move, ...], tuple[tuple[Action, bool], ...], int]:
        """The agent's parts split for the hot path: (moves to another world with their fingerprint
        changes, self-loops, how many moves). The parts themselves are not kept: the moves memo
        holds all the search needs, and keeping both would double the caches."""
        parts = self._parts[i].get((comp, net)) or self._agent_parts(i, comp, net, keep=False)
        n = self.n
        base = self._mixed(i, comp) ^ self._mixed(n, net)
        moves = tuple((c, nt, add, learned, action, fair, base ^ self._mixed(i, c) ^ self._mixed(n, nt))
                      for c, nt, add, learned, action, fair, _e, loop in parts if not loop)
        self._memo_size += 1 + len(moves)
        return moves, tuple((action, fair) for *_rest, action, fair, _e, loop in parts if loop), len(moves)

    def transitions(self, world: World) -> Iterator[Transition]:
        """Every enabled action with its successor and effects, in a canonical (reproducible) order."""
        n = self.n
        net, facts, faults = world[n], world[n + 1], world[n + 2]
        for i in self._active_agents(faults):
            parts = self._parts[i].get((world[i], net)) or self._agent_parts(i, world[i], net)
            for comp, net2, add, learned, action, fair, effects, loop in parts:
                if loop:
                    yield Transition(action, world, effects, fair)
                    continue
                facts2 = facts if not add else self._facts_after_op(facts, add)
                faults2 = faults
                if learned:
                    net2, faults2, _change = self._learn(net2, faults, learned)
                yield Transition(action, (*world[:i], comp, *world[i + 1:n], net2, facts2, faults2), effects, fair)
        yield from self._budget_transitions(world)

    # ---------------------------------------------------------------- helpers
    def _active_agents(self, faults: int) -> tuple[int, ...]:
        """Honest agents that have not crashed, by index."""
        plan = self._plans.get(faults)
        return (plan or self._plan(faults))[0]

    def _envelope(self, env: Envelope, *, injected: bool = False) -> int:
        """An envelope's fingerprint. The adversary's injections are kept apart from what honest agents
        sent (even the same message to the same agent), since only the latter is delivered fairly."""
        fp = (self._injected if injected else self._envelopes).add(env)
        if fp not in self._order:
            self._order[fp] = (self.index[env.to], env.message.canonical(), injected)
            self._envelope_of[fp] = env
            # fairness covers what honest members sent one another: the adversary may withhold its own
            fair = not injected and env.message.sender in self.honest
            self._deliver_actions[fp] = (Action("deliver", env.to, env), fair)
        return fp

    def _delivery_lists(self, net: int) -> tuple[tuple[int, ...], ...]:
        """The envelopes in flight to each agent, in canonical order."""
        lists = self._deliveries.get(net)
        if lists is None:
            network = self._networks[net]
            fps = [fp for fp, _count in network] if self.multiset else list(network)
            fps.sort(key=self._order.__getitem__)
            per_agent: list[list[int]] = [[] for _ in range(self.n)]
            for fp in fps:
                per_agent[self._order[fp][0]].append(fp)
            lists = self._deliveries[net] = tuple(tuple(x) for x in per_agent)
            self._memo_size += 1
        return lists

    def _agent_parts(self, i: int, comp: int, net: int, *, keep: bool = True) -> tuple[Part, ...]:
        """Everything agent ``i`` can do from component ``comp`` with ``net`` in flight (memoised if ``keep``)."""
        state, timers = self._agents[comp]
        agent = self.agents[i]
        parts: list[Part] = []
        for env_fp in self._delivery_lists(net)[i]:
            action, fair = self._deliver_actions[env_fp]
            delta = self._delivery(env_fp, state)
            if delta.noop and (delta.deferred or not self.multiset):
                parts.append((comp, net, 0, 0, action, fair, delta.effects, True))
                continue
            comp2 = comp if delta.noop else self._agent_comp((delta.state, (timers - delta.disarm) | delta.arm))
            net2 = self._net_after_op(net, env_fp if self.multiset else 0, delta.outgoing)
            parts.append((comp2, net2, delta.facts, delta.learned, action, fair, delta.effects, False))
        for name in sorted(timers):
            timer_action = self._timer_actions.get((i, name))
            if timer_action is None:
                timer_action = self._timer_actions[(i, name)] = Action("timer", agent, name)
            delta = self._timer(i, name, state)
            remaining = timers - {name}
            comp2 = self._agent_comp((delta.state, (remaining - delta.disarm) | delta.arm))
            net2 = self._net_after_op(net, 0, delta.outgoing) if delta.outgoing else net
            parts.append((comp2, net2, delta.facts, delta.learned, timer_action, True, delta.effects, False))
        result = tuple(parts)
        if keep:
            self._parts[i][(comp, net)] = result
            self._memo_size += 1 + len(parts)
        return result

    def _delivery(self, env_fp: int, state: Any) -> _Delta:
        key = (env_fp, state)
        delta = self._on_delivery.get(key)
        if delta is None:
            env = self._envelope_of[env_fp]
            step = self.protocol.receive(env.to, state, env.message)
            delta = self._on_delivery[key] = self._compile(env.to, state, step)
            self._memo_size += 1
        return delta

    def _timer(self, i: int, name: str, state: Any) -> _Delta:
        key = (i, name, state)
        delta = self._on_timer.get(key)
        if delta is None:
            agent = self.agents[i]
            delta = self._on_timer[key] = self._compile(agent, state, self.protocol.fire(agent, state, name))
            self._memo_size += 1
        return delta

    def _compile(self, agent: AgentId, state: Any, step: Step) -> _Delta:
        """Reduce a step's effects to component operations (the same world as applying them in order)."""
        sink = _StepCompiler(agent, self.agents, self.byzantine)
        interpret(step.effects, sink)
        last = sink.last_timer_op
        unchanged = step.state is state or step.state == state
        noop = unchanged and not any(type(e) not in _INERT for e in step.effects)
        facts = self._facts.add((frozenset(sink.decisions), frozenset(sink.proofs))) \
            if sink.decisions or sink.proofs else 0
        learned = self._learnings.add(frozenset(self._messages.add(m) for m in sink.learned)) \
            if sink.learned and self.dolev_yao else 0
        return _Delta(step, noop, frozenset(name for name, on in last.items() if on),
                      frozenset(name for name, on in last.items() if not on),
                      tuple(self._envelope(env) for env in sink.outgoing), facts, learned)

    def _net_after_op(self, net: int, consumed: int, added: tuple[int, ...]) -> int:
        """The network after one envelope was consumed (multiset) and ``added`` were sent."""
        key = (net, consumed, added)
        after = self._net_after.get(key)
        if after is None:
            network = self._networks[net]
            if self.multiset:
                counts = dict(network)
                if consumed:
                    left = counts.pop(consumed) - 1
                    if left:
                        counts[consumed] = left
                for fp in added:
                    counts[fp] = counts.get(fp, 0) + 1
                value: frozenset[Any] = frozenset(counts.items())
            else:
                value = network.union(added)
            after = self._net_after[key] = self._networks.add(value)
            self._memo_size += 1
        return after

    def _facts_after_op(self, facts: int, add: int) -> int:
        key = (facts, add)
        after = self._facts_after.get(key)
        if after is None:
            decisions, evidence = self._facts[facts]
            more_decisions, more_evidence = self._facts[add]
            after = self._facts_after[key] = self._facts.add((decisions | more_decisions, evidence | more_evidence))
            self._memo_size += 1
        return after

    # ----------------------------------------------------------- fault budget
    def _budget_transitions(self, world: World) -> Iterator[Transition]:
        """Drops and duplicates (multiset network), crashes and restarts, while their budgets last."""
        n = self.n
        net, faults = world[n], world[n + 2]
        crashed, (crashes, drops, dups, recoveries), learned = self._faults[faults]
        network = self._networks[net]
        if self.multiset and (drops or dups):
            dropped = self._faults.add((crashed, (crashes, drops - 1, dups, recoveries), learned)) if drops else 0
            copied = self._faults.add((crashed, (crashes, drops, dups - 1, recoveries), learned)) if dups else 0
            for fp in sorted((fp for fp, _count in network), key=self._order.__getitem__):
                env = self._envelope_of[fp]
                if drops:
                    yield Transition(Action("drop", env.to, env),
                                     self._with(world, net=self._net_after_op(net, fp, ()), faults=dropped), (), False)
                if dups:
                    yield Transition(Action("duplicate", env.to, env),
                                     self._with(world, net=self._net_after_op(net, 0, (fp,)), faults=copied), (), False)
        if crashes:
            for i in self._active_agents(faults):
                agent = self.agents[i]
                yield Transition(Action("crash", agent), self._crash(world, i, agent), (), False)
        if recoveries and crashed:
            for i, agent in enumerate(self.agents):
                if agent in crashed:
                    after, effects = self._recover(world, i, agent)
                    yield Transition(self._recover_actions[i], after, effects, True)

    def _with(self, world: World, *, net: int, faults: int) -> World:
        n = self.n
        return (*world[:n], net, world[n + 1], faults)

    def _crash(self, world: World, i: int, agent: AgentId) -> World:
        """The agent stops: its timers are gone; its last state stays (a restart reads it).

        The messages in flight to it stay too while a restart is left: it may receive them
        once it is back (for safety a message lost in the crash is one never delivered, a
        behaviour this still contains). A crash no restart can follow is for good, and those
        messages, which nothing could deliver any more, are dropped.
        """
        n = self.n
        crashed, (crashes, drops, dups, recoveries), learned = self._faults[world[n + 2]]
        state, _timers = self._agents[world[i]]
        net = world[n]
        if not recoveries:
            network = self._networks[net]
            envs = self._envelope_of
            if self.multiset:
                kept: frozenset[Any] = frozenset(item for item in network if envs[item[0]].to != agent)
            else:
                kept = frozenset(fp for fp in network if envs[fp].to != agent)
            net = self._networks.add(kept)
        comp = self._agent_comp((state, frozenset()))
        faults = self._faults.add((crashed | {agent}, (crashes - 1, drops, dups, recoveries), learned))
        return (*world[:i], comp, *world[i + 1:n], net, world[n + 1], faults)

    def _recover(self, world: World, i: int, agent: AgentId) -> tuple[World, tuple[Effect, ...]]:
        """The crashed agent restarts with only the durable part of its last state.

        Its new component is the state ``protocol.recover`` returns with the timers that
        step arms (a crash disarmed the old ones); the step's sends, decisions, evidence
        and what it tells the Dolev-Yao adversary are applied like any other step's.
        Messages in flight to it at the crash and sent to it while it was down are still
        in flight: it may receive them now. The step is memoised on (agent, last state).
        """
        n = self.n
        crashed, (crashes, drops, dups, recoveries), learned = self._faults[world[n + 2]]
        state, _timers = self._agents[world[i]]
        key = (i, state)
        delta = self._on_recover.get(key)
        if delta is None:
            protocol = self.protocol
            step = protocol.recover(agent, protocol.durable(agent, state))
            delta = self._on_recover[key] = self._compile(agent, state, step)
            self._memo_size += 1
        comp = self._agent_comp((delta.state, delta.arm))
        net = self._net_after_op(world[n], 0, delta.outgoing) if delta.outgoing else world[n]
        facts = self._facts_after_op(world[n + 1], delta.facts) if delta.facts else world[n + 1]
        faults = self._faults.add((crashed - {agent}, (crashes, drops, dups, recoveries - 1), learned))
        if delta.learned:
            net, faults, _change = self._learn(net, faults, delta.learned)
        return (*world[:i], comp, *world[i + 1:n], net, facts, faults), delta.effects

    # ------------------------------------------------------------ fairness
    def fairness_class(self, action: Action) -> Hashable:
        """The weak-fairness class of a fair action: the protocol's, else the action itself."""
        chosen = self.protocol.fairness_class(action.kind, action.agent, action.detail)
        return action if chosen is None else chosen

    def memo_entries_used(self) -> int:
        return self._memo_size

    def component_counts(self) -> dict[str, int]:
        return {"agents": len(self._agents), "envelopes": len(self._envelopes), "networks": len(self._networks),
                "facts": len(self._facts), "faults": len(self._faults)}


def ordered_envelopes(envelopes: Iterable[Envelope]) -> list[Envelope]:
    """Envelopes in the canonical delivery order (recipient, then message bytes)."""
    return sorted(envelopes, key=Envelope.sort_key)
