"""The seeded discrete-event simulator: virtual time, the same state machines, byte-identical reruns."""

from .simulator import Simulator, simulate

__all__ = ["Simulator", "simulate"]
