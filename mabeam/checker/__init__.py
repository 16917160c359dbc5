"""Explicit-state model checking of any mabeam protocol, unchanged."""

from .config import CheckConfig
from .dispatch import check
from .model import Action, ActorModel, Transition, World, WorldView
from .replay import replay_actions, replay_path
from .results import CheckResult, PropertyResult, Stats, Trace, TraceStep
from .search import Progress, explore
from .walks import random_walks

__all__ = [
    "Action", "ActorModel", "CheckConfig", "CheckResult", "Progress", "PropertyResult", "Stats", "Trace",
    "TraceStep", "Transition", "World", "WorldView", "check", "explore", "random_walks", "replay_actions",
    "replay_path",
]
