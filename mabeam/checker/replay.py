"""Turning recorded paths back into readable traces by re-executing them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..core.effects import Effect
from ..core.errors import ReplayError
from .model import Action, ActorModel, World
from .results import Trace, TraceStep


def replay_path(model: ActorModel, path: Sequence[tuple[Action | None, int]],
                canonical: Callable[[World], World] | None = None) -> Trace:
    """Re-execute a path given as (action or None, fingerprint) pairs into a readable trace.

    With symmetry reduction the fingerprints are of canonical representatives
    (``canonical``): each step takes a successor of the actual world whose
    representative matches, so the trace is a real execution. A given action is
    preferred; another action reaching the same state is taken otherwise.
    """
    same = canonical or (lambda world: world)
    world = model.initial()
    if model.fingerprint(same(world)) != path[0][1]:
        raise ReplayError("initial state does not match the recorded path")
    steps = [TraceStep(None, initial_effects(model), world)]
    for action, fp in path[1:]:
        matching = [t for t in model.transitions(world) if model.fingerprint(same(t.world)) == fp]
        if not matching:
            raise ReplayError("a recorded step is no longer enabled")
        chosen = next((t for t in matching if t.action == action), matching[0])
        steps.append(TraceStep(chosen.action, chosen.effects, chosen.world))
        world = chosen.world
    return Trace(steps, model=model)


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
    return Trace(steps, model=model)


def initial_effects(model: ActorModel) -> tuple[Effect, ...]:
    return tuple(e for a in model.agents if a not in model.byzantine
                 for e in model.protocol.start(a).effects)
