"""Explicit-state model checking of any mabeam protocol, unchanged."""

from .model import Action, ActorModel, CheckConfig, Transition, World
from .results import CheckResult, PropertyResult, Stats, Trace, TraceStep
from .search import check, random_walks, replay_actions, replay_path

__all__ = [
    "Action", "ActorModel", "CheckConfig", "CheckResult", "PropertyResult", "Stats", "Trace",
    "TraceStep", "Transition", "World", "check", "random_walks", "replay_actions", "replay_path",
]
