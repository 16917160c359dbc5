"""Counterexamples people can read: each step's actor, message and changed node states, and why it fails.

A :class:`~mabeam.checker.results.Trace` is a list of worlds only its model can
read. :func:`trace_views` reads them once into plain values (:class:`StepView`,
:class:`NodeView`): who acted, on what, what it emitted, every node's state as
the protocol renders it (``describe_state``), which nodes changed. Every
rendering is built from those views: the text trace (:func:`render_trace`),
the closing explanation (:func:`explain`), the JSON document the HTML page
steps through (:func:`trace_document`) and the sequence diagram (:mod:`.mermaid`).

Why the explanation matters: a safety trace ends in a bad state and says which
property it breaks; a liveness counterexample either ends where no fair action
is enabled (every correct agent waits for something that never comes) or
loops forever, and in both cases the reader must see who is still undecided
and which fair actions were enabled, and taken, or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core.choice import parse_choice
from ..core.identity import AgentId
from ..core.interpret import describe_effects
from ..core.properties import Kind, Snapshot
from .model import Action, ActorModel, World
from .results import PropertyResult, Trace

__all__ = ["NodeView", "StepView", "action_text", "explain", "node_views", "render_trace", "trace_document",
           "trace_views"]


@dataclass(frozen=True)
class NodeView:
    """One agent in one world, as plain values."""

    agent: AgentId
    state: str  # the protocol's describe_state, or why there is none
    phase: str | None
    decided: list[str]  # repr of each value decided so far
    crashed: bool
    byzantine: bool
    timers: list[str]  # armed timers; offered choices as "label: o1|o2"
    changed: bool = False  # differs from the previous step (the initial step: every started agent)


@dataclass(frozen=True)
class StepView:
    """One step of a trace: the action (``None`` at the initial state) and the world after it."""

    index: int
    actor: AgentId | None
    kind: str  # initial | deliver | timer | choice | drop | duplicate | crash
    text: str
    sender: AgentId | None = None  # of the message delivered, dropped or duplicated
    message: str | None = None
    effects: list[str] = field(default_factory=list)
    nodes: list[NodeView] = field(default_factory=list)
    in_flight: int = 0
    starts: list[tuple[AgentId, list[str]]] = field(default_factory=list)  # initial step: each agent's effects

    def changed(self) -> list[NodeView]:
        return [node for node in self.nodes if node.changed]


# ------------------------------------------------------------------ reading worlds
def action_text(action: Action) -> str:
    """How a step reads: deliveries and timers as the checker names them, a choice as a choice."""
    if action.kind == "timer":
        choice = parse_choice(str(action.detail))
        if choice is not None:
            return f"{action.agent} chooses {choice.describe()}"
    return action.describe()


def _kind(action: Action | None) -> str:
    if action is None:
        return "initial"
    if action.kind == "timer" and parse_choice(str(action.detail)) is not None:
        return "choice"
    return action.kind


def _timers(timers: frozenset[str]) -> list[str]:
    plain, offers = [], {}
    for name in sorted(timers):
        choice = parse_choice(name)
        if choice is None:
            plain.append(name)
        else:
            offers[choice.label] = "|".join(choice.options)
    return plain + [f"choice {label}: {options}" for label, options in sorted(offers.items())]


def node_views(model: ActorModel, world: World, previous: list[NodeView] | None) -> list[NodeView]:
    protocol = model.protocol
    view = model.view(world)
    decided: dict[AgentId, list[str]] = {}
    for d in sorted(view.decisions, key=lambda d: (d.agent, repr(d.instance), repr(d.value))):
        decided.setdefault(d.agent, []).append(repr(d.value) if d.instance == 0 else f"{d.value!r} @ {d.instance!r}")
    out = []
    for i, agent in enumerate(model.agents):
        state = view.nodes[i]
        byzantine = agent in model.byzantine
        if byzantine:
            text = "Byzantine: runs no honest code (may send anything it can sign)"
        elif state is None:
            text = "not started"
        else:
            text = protocol.describe_state(state)
        node = NodeView(agent, text, None if state is None else protocol.phase_of(state), decided.get(agent, []),
                        agent in view.crashed, byzantine, _timers(view.timers[i]))
        old = None if previous is None else previous[i]
        changed = (state is not None and not byzantine) if old is None else (
            (old.state, old.decided, old.crashed, old.timers) != (node.state, node.decided, node.crashed, node.timers))
        out.append(NodeView(**{**asdict(node), "changed": changed}))
    return out


def trace_views(trace: Trace) -> list[StepView]:
    """Every step of ``trace`` as plain values (needs the trace's model)."""
    model: ActorModel = trace.model
    if model is None:
        raise ValueError("this trace carries no model to read its worlds")
    views: list[StepView] = []
    previous: list[NodeView] | None = None
    for i, step in enumerate(trace.steps):
        nodes = node_views(model, step.world, previous)
        in_flight = len(model.in_flight(step.world))
        if step.action is None:
            starts = [(a, describe_effects(model.protocol.start(a).effects, timers=False))
                      for a in model.agents if a not in model.byzantine]
            bad = sorted(model.byzantine)
            text = "initial state" + (f"; Byzantine {', '.join(bad)}: every message they could sign is in flight"
                                      if bad else "")
            views.append(StepView(i, None, "initial", text, nodes=nodes, in_flight=in_flight, starts=starts))
        else:
            action = step.action
            message = action.detail.message if action.kind in ("deliver", "drop", "duplicate") else None
            views.append(StepView(
                i, action.agent, _kind(action), action_text(action),
                sender=None if message is None else message.sender,
                message=None if message is None else message.describe(),
                effects=describe_effects(step.effects, timers=False), nodes=nodes, in_flight=in_flight))
        previous = nodes
    return views


# ------------------------------------------------------------------ text
def render_trace(trace: Trace, result: PropertyResult | None = None, *, views: list[StepView] | None = None) -> str:
    """The trace step by step, each with its effects and the node states it changed, then the explanation."""
    views = views if views is not None else trace_views(trace)
    lines: list[str] = []
    for view in views:
        if view.kind == "initial":
            lines.append(f"   0. {view.text}")
            nodes = {node.agent: node for node in view.nodes}
            for agent, effects in view.starts:
                node = nodes[agent]
                offers = [t for t in node.timers if t.startswith("choice ")]
                lines.append(f"        {agent} starts: {node.state}{_node_suffix(node)}"
                             + (f" (offers {'; '.join(o[7:] for o in offers)})" if offers else "")
                             + (f"  → {'; '.join(effects)}" if effects else ""))
            continue
        else:
            marker = "  ⟲" if trace.loop_start is not None and view.index == trace.loop_start + 1 else "   "
            suffix = f"  → {'; '.join(view.effects)}" if view.effects else ""
            lines.append(f"{marker}{view.index:>2}. {view.text}{suffix}")
        for node in view.changed():
            lines.append(f"        {node.agent}: {node.state}{_node_suffix(node)}")
    if trace.loop_start is not None:
        lines.append(f"   … and back to step {trace.loop_start} forever (a fair cycle)")
    if result is not None:
        lines.append("")
        lines += [f"   {line}" for line in explain(trace, result, views=views)]
    return "\n".join(lines)


def _node_suffix(node: NodeView) -> str:
    parts = []
    if node.crashed:
        parts.append("CRASHED")
    if node.decided:
        parts.append("decided " + ", ".join(node.decided))
    return f"  [{'; '.join(parts)}]" if parts else ""


# ------------------------------------------------------------------ explanation
def _undecided(model: ActorModel, snap: Snapshot, nodes: Sequence[NodeView]) -> list[str]:
    decided = {d.agent for d in snap.decisions}
    by_agent = {n.agent: n for n in nodes}
    return [f"{a} ({by_agent[a].state})" for a in snap.correct if a not in decided]


def _enabled(model: ActorModel, world: World) -> tuple[list[Action], list[Action]]:
    """The actions enabled in ``world``: (fair, unfair), self-loops included."""
    fair: list[Action] = []
    unfair: list[Action] = []
    for t in model.transitions(world):
        (fair if t.fair else unfair).append(t.action)
    return fair, unfair


def _phrases(actions: Sequence[Action], limit: int = 6) -> str:
    texts = [action_text(a) for a in actions]
    shown = "; ".join(texts[:limit])
    return shown + (f"; … {len(texts) - limit} more" if len(texts) > limit else "")


def explain(trace: Trace, result: PropertyResult, *, views: list[StepView] | None = None) -> list[str]:
    """Why the trace is a counterexample (or a witness): the property, the agents still undecided,
    and for liveness which fair actions were enabled and whether the run took them."""
    model: ActorModel = trace.model
    views = views if views is not None else trace_views(trace)
    prop = result.property
    last = trace.steps[-1].world
    snap = model.snapshot(last)
    head = f"{prop.id} {prop.name}"
    lines = [f"property: {head} ({prop.kind.value})" + (f": {prop.description}" if prop.description else "")]
    if result.status == "reached":
        return [*lines, "witness: the last state satisfies it"]
    if prop.kind is Kind.ALWAYS:
        lines.append("why: the last state violates it")
    elif prop.kind is Kind.STEP:
        lines.append(f"why: the last step ({views[-1].text}) violates it")
    elif prop.kind is Kind.EVENTUALLY:
        lines += _explain_liveness(trace, views)
    else:
        lines.append(f"why: it is {result.status}")
    decisions = [f"{n.agent} {', '.join(n.decided)}" for n in views[-1].nodes if n.decided]
    lines.append("decisions so far: " + ("; ".join(decisions) if decisions else "none"))
    undecided = _undecided(model, snap, views[-1].nodes)
    if undecided:
        lines.append("correct agents still undecided: " + "; ".join(undecided))
    if snap.crashed:
        lines.append("crashed: " + ", ".join(sorted(snap.crashed)))
    return lines


def _explain_liveness(trace: Trace, views: list[StepView]) -> list[str]:
    model: ActorModel = trace.model
    last = trace.steps[-1].world
    if trace.loop_start is None:
        fair, unfair = _enabled(model, last)
        lines = ["why: the goal never holds on this run: it ends in a state where no fair action is enabled, "
                 "so nothing obliges another step"]
        lines.append("fair actions enabled at the end: none (no delivery between correct agents is pending "
                     "and no timer of a correct agent is armed)" if not fair else
                     f"fair actions enabled at the end: {_phrases(fair)}")
        if unfair:
            lines.append(f"still possible but never forced (not fair): {_phrases(unfair)}")
        return lines
    cycle = trace.steps[trace.loop_start:]
    enabled_each = [{model.fairness_class(a): a for a in _enabled(model, s.world)[0]} for s in cycle]
    always_on = set(enabled_each[0]).intersection(*enabled_each[1:]) if enabled_each else set()
    taken = {model.fairness_class(s.action) for s in cycle[1:] if s.action is not None}
    lines = [f"why: the goal never holds on this run: from step {trace.loop_start} it repeats steps "
             f"{trace.loop_start + 1}..{len(trace)} forever, and the goal is false in every state of the cycle"]
    if always_on:
        shown = [action_text(enabled_each[0][k]) + (" (taken in the cycle)" if k in taken else " (NOT taken)")
                 for k in sorted(always_on, key=repr)]
        lines.append("fair actions enabled throughout the cycle: " + "; ".join(shown[:8])
                     + (f"; … {len(shown) - 8} more" if len(shown) > 8 else ""))
        lines.append("the cycle is fair: every fair action enabled throughout it is taken in it")
    else:
        lines.append("no fair action stays enabled throughout the cycle, so weak fairness does not force one")
    return lines


# ------------------------------------------------------------------ JSON for pages
def trace_document(trace: Trace, result: PropertyResult | None = None, *, title: str = "",
                   views: list[StepView] | None = None) -> dict[str, Any]:
    """Everything a trace page shows, as JSON-able values."""
    views = views if views is not None else trace_views(trace)
    model: ActorModel = trace.model
    return {
        "title": title,
        "agents": list(model.agents),
        "byzantine": sorted(model.byzantine),
        "property": None if result is None else {
            "id": result.property.id, "name": result.property.name, "kind": result.property.kind.value,
            "status": result.status, "description": result.property.description},
        "loop_start": trace.loop_start,
        "steps": [asdict(v) for v in views],
        "explanation": [] if result is None else explain(trace, result, views=views),
    }
