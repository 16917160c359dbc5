"""Declared phase graphs, built with the ``transitions`` library.

A protocol declares its phases (states), triggers and guards once. The graph is
used three ways: the protocol asserts every phase change it makes is declared,
``spec/`` shows it as a diagram, and tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from transitions import Machine

from .errors import UndeclaredTransitionError


@dataclass(frozen=True)
class PhaseTransition:
    trigger: str
    source: str
    dest: str
    guard: str = ""


class PhaseGraph:
    """An immutable table of allowed ``(source, trigger) -> dest`` phase changes."""

    def __init__(self, name: str, phases: Sequence[str], initial: str,
                 transitions: Iterable[PhaseTransition]) -> None:
        self.name = name
        self.transitions = tuple(transitions)
        self._machine = Machine(
            model=None,
            states=list(phases),
            initial=initial,
            transitions=[
                {"trigger": t.trigger, "source": t.source, "dest": t.dest}
                for t in self.transitions
            ],
            auto_transitions=False,
        )
        self.phases = tuple(phases)
        self.initial = initial
        self._allowed = frozenset(
            (declared.source, trigger, declared.dest)
            for trigger in self._machine.events
            for declared in self._machine.get_transitions(trigger)
        )

    def check(self, source: str, trigger: str, dest: str) -> str:
        """Return ``dest`` if the move is declared, else raise :class:`UndeclaredTransitionError`."""
        if (source, trigger, dest) not in self._allowed:
            raise UndeclaredTransitionError(
                f"{self.name}: undeclared phase change {source} --{trigger}--> {dest}")
        return dest

    def allows(self, source: str, trigger: str, dest: str) -> bool:
        return (source, trigger, dest) in self._allowed

    def mermaid(self) -> str:
        """The graph as a Mermaid state diagram (embedded in spec/)."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            label = t.trigger + (f" [{t.guard}]" if t.guard else "")
            lines.append(f"    {t.source} --> {t.dest}: {label}")
        return "\n".join(lines)
