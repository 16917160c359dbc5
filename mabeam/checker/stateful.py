"""A generic Hypothesis ``RuleBasedStateMachine`` for any protocol.

The machine walks the same :class:`~mabeam.checker.model.ActorModel` as the
exhaustive checker (deliver a chosen in-flight message, fire a timer, drop,
duplicate, crash, within the model's budgets) and asserts the same invariant
functions after every step. Hypothesis supplies long random runs and shrinks a
failure to a short sequence of choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ..core.properties import Kind, Property
from .model import ActorModel, Transition, World

KINDS = ("deliver", "timer", "drop", "duplicate", "crash")


def protocol_state_machine(make_model: Callable[[], ActorModel], properties: Sequence[Property],
                           name: str = "ProtocolMachine") -> type[RuleBasedStateMachine]:
    """Build a state-machine test class; run it with ``Cls.TestCase`` or ``run_state_machine_as_test``."""
    safety = [p for p in properties if p.kind is Kind.ALWAYS]

    class Machine(RuleBasedStateMachine):
        model: ActorModel
        world: World
        history: list[str]

        @initialize()
        def setup(self) -> None:
            self.model = make_model()
            self.world = self.model.initial()
            self.history = []

        def _enabled(self, kind: str) -> list[Transition]:
            # every rule's precondition asks; compute the successors once per world
            if getattr(self, "_options_of", None) is not self.world:
                self._options = list(self.model.transitions(self.world))
                self._options_of = self.world
            return [t for t in self._options if t.action.kind == kind]

        def _take(self, kind: str, data: st.DataObject) -> None:
            options = self._enabled(kind)
            chosen = data.draw(st.integers(0, len(options) - 1), label=kind)
            t = options[chosen]
            self.history.append(t.action.describe())
            self.world = t.world

        @precondition(lambda self: bool(self._enabled("deliver")))
        @rule(data=st.data())
        def deliver(self, data: st.DataObject) -> None:
            self._take("deliver", data)

        @precondition(lambda self: bool(self._enabled("timer")))
        @rule(data=st.data())
        def fire_timer(self, data: st.DataObject) -> None:
            self._take("timer", data)

        @precondition(lambda self: bool(self._enabled("drop")))
        @rule(data=st.data())
        def drop(self, data: st.DataObject) -> None:
            self._take("drop", data)

        @precondition(lambda self: bool(self._enabled("duplicate")))
        @rule(data=st.data())
        def duplicate(self, data: st.DataObject) -> None:
            self._take("duplicate", data)

        @precondition(lambda self: bool(self._enabled("crash")))
        @rule(data=st.data())
        def crash(self, data: st.DataObject) -> None:
            self._take("crash", data)

        @precondition(lambda self: not any(self._enabled(kind) for kind in KINDS))
        @rule()
        def quiescent(self) -> None:
            """Nothing is enabled (every message consumed): the run may only stutter."""

        @invariant()
        def safety_properties_hold(self) -> None:
            if not hasattr(self, "world"):
                return
            snap = self.model.snapshot(self.world)
            for p in safety:
                assert p.holds(snap), (
                    f"{p.id} {p.name} violated after:\n  " + "\n  ".join(self.history or ["(start)"]))

    Machine.__name__ = Machine.__qualname__ = name
    return Machine
