"""Turning recorded paths back into readable traces by re-executing them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..core.errors import ReplayError
from .model import Action, ActorModel
from .results import Trace, TraceStep


def replay_path(model: ActorModel, path: Sequence[tuple[Action | None, int]]) -> Trace:
    """Re-execute a path given as (action or None, fingerprint) pairs into a readable trace."""
    world = model.initial()
    if hash(world) != path[0][1]:
        raise ReplayError("initial state does not match the recorded path")
    steps = [TraceStep(None, initial_effects(model), world)]
    for action, fp in path[1:]:
        for t in model.transitions(world):
            if (action is None or t.action == action) and hash(t.world) == fp:
                steps.append(TraceStep(t.action, t.effects, t.world))
                world = t.world
                break
        else:
            raise ReplayError("a recorded step is no longer enabled")
    return Trace(steps)


def replay_actions(model: ActorModel, keys: Iterable[list[str] | None]) -> Trace:
    """Re-execute a trace recorded as JSON action keys (deterministic across processes)."""
    world = model.initial()
    steps = [TraceStep(None, initial_effects(model), world)]
    for key in keys:
        if key is None:
            continue
        for t in model.transitions(world):
            if t.action.key() == list(key):
                steps.append(TraceStep(t.action, t.effects, t.world))
                world = t.world
                break
        else:
            raise ReplayError(f"step {len(steps)}: action {key[:2]} is not enabled")
    return Trace(steps)


def initial_effects(model: ActorModel) -> tuple:
    return tuple(e for a in model.agents if a not in model.byzantine
                 for e in model.protocol.start(a).effects)
