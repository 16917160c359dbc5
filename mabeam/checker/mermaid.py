"""A counterexample as a Mermaid sequence diagram (``mabeam check --mermaid FILE``).

Each delivery is an arrow from the message's sender to the agent that takes
it, drawn at the step where it is delivered (a message's journey is the
adversary's choice, so the send time says little); timers, choices, crashes,
drops and decisions are notes over the agent. A lasso's cycle is a ``loop``
block. The text renders on GitHub, GitLab and mermaid.live as it is.
"""

from __future__ import annotations

import re

from .render import StepView, trace_views
from .results import PropertyResult, Trace

_UNSAFE = re.compile(r"[;#<>{}\n]")


def _text(value: str, limit: int = 90) -> str:
    """Mermaid message text: no statement separators, entities or braces; bounded length."""
    clean = _UNSAFE.sub(" ", value).replace('"', "'").strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _participant(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(trace: Trace, result: PropertyResult | None = None, *, title: str = "") -> str:
    """The Mermaid ``sequenceDiagram`` source of ``trace``."""
    views = trace_views(trace)
    agents = list(trace.model.agents)
    senders = {v.sender for v in views if v.sender is not None} - set(agents)
    lines = ["sequenceDiagram"]
    if title:
        lines.append(f"    title {_text(title)}")
    for agent in [*agents, *sorted(senders)]:
        label = f"{agent} (Byzantine)" if agent in trace.model.byzantine else (
            f"{agent} (outsider)" if agent in senders else agent)
        lines.append(f"    participant {_participant(agent)} as {_text(label)}")
    first, last = _participant(agents[0]), _participant(agents[-1])
    for view in views:
        if trace.loop_start is not None and view.index == trace.loop_start + 1:
            lines.append("    loop forever (a fair cycle)")
        lines += [f"    {line}" for line in _step_lines(view, first, last)]
    if trace.loop_start is not None:
        lines.append("    end")
    if result is not None:
        verdict = _text(f"{result.property.id} {result.property.name}: {result.status}")
        lines.append(f"    Note over {first},{last}: {verdict}")
    return "\n".join(lines) + "\n"


def _step_lines(view: StepView, first: str, last: str) -> list[str]:
    if view.kind == "initial":
        out = [f"Note over {first},{last}: step 0, initial state"]
        for agent, effects in view.starts:
            if effects:
                out.append(f"Note over {_participant(agent)}: starts, {_text('; '.join(effects))}")
        return out
    actor = _participant(view.actor or "")
    if view.kind == "deliver" and view.sender is not None:
        out = [f"{_participant(view.sender)}->>{actor}: {view.index}. {_text(view.message or '')}"]
    else:
        out = [f"Note over {actor}: {view.index}. {_text(view.text)}"]
    decisions = [e for e in view.effects if e.startswith("DECIDE")]
    evidence = [e for e in view.effects if e.startswith("evidence")]
    for phrase in decisions + evidence:
        out.append(f"Note over {actor}: {_text(phrase)}")
    return out
