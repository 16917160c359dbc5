"""A generic Hypothesis ``RuleBasedStateMachine`` for any protocol.

The machine walks the same :class:`~mabeam.checker.model.ActorModel` as the
exhaustive checker (deliver a chosen in-flight message, fire a timer, drop,
duplicate, crash, restart a crashed agent, within the model's budgets) and asserts the same invariant
functions after every step. Each step draws from the actions enabled in the
current world, so no draw is ever rejected. Hypothesis supplies long random
runs and shrinks a failure to a short sequence of choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ..core.properties import Kind, Property
from .model import ActorModel, Transition, World

KINDS = ("deliver", "timer", "drop", "duplicate", "crash", "recover")


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

        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            """Take one enabled action: half the time any of them, half the time a kind first (so that
            rare kinds, faults above all, are taken as often as common ones), then one of that kind.

            Drawing from what is enabled (rather than guarding one rule per kind with a
            precondition) never rejects a draw; a world where nothing is enabled may only stutter.
            """
            enabled = list(self.model.transitions(self.world))
            if not enabled:
                return
            if data.draw(st.booleans(), label="by kind"):  # faults get their share even when deliveries abound
                kinds = sorted({t.action.kind for t in enabled}, key=KINDS.index)
                kind = data.draw(st.sampled_from(kinds), label="kind")
                enabled = [t for t in enabled if t.action.kind == kind]
            chosen: Transition = data.draw(st.sampled_from(enabled), label="action")
            self.history.append(chosen.action.describe())
            self.world = chosen.world

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
