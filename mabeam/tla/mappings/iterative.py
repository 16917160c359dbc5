"""Approximate agreement, numeric (``tla/Iterative.tla``, ``mabeam.protocols.iterative``).

=================  ==========================================================
spec variable      the code (values scaled by ``Scale = 2^R``, R the cfg's: a value
                   that is no whole number of units maps to an integer no spec
                   state holds)
=================  ==========================================================
``round[a]``       ``NumericState.round``, or ``R + 1`` once the agent is done
``val[a]``         ``NumericState.value`` (its one coordinate) x Scale
``hist[a]``        ``NumericState.history``: per round left, the record
                   ``[round, view, left]`` (``view`` the ``<<sender, value>>``
                   pairs the agent left with, ``left`` its new value)
=================  ==========================================================

Abstracted: deliveries and the inbox (the spec chooses a round's view when the
agent leaves, from the values that can have arrived: a delivery is a stutter);
the grace timer (armed, fired: a stutter until the agent leaves); the entered
value of a record (it is ``val`` before the step). A code step is one ``Leave``,
or several when values already received complete the next round at once.
Configuration: ``tla/Iterative.cfg`` = ``iterative.build(4, 1)``, ``a3`` Byzantine
(one value per round and recipient, one of the two extremes).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ...core.protocol import Protocol
from ...protocols.iterative import ApproximateAgreement
from ...protocols.iterative import build as numeric
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record

#: what a value that is not a whole number of spec units maps to: the spec's midpoints always are
#: (values scaled by 2^R), so no spec state holds it
UNREPRESENTABLE = -1_000_000


def scaled(vector: tuple[Fraction, ...], scale: int) -> int:
    (x,) = vector
    value = x * scale
    return int(value) if value.denominator == 1 else UNREPRESENTABLE


class IterativeMapping(Mapping):
    protocol = "iterative"
    module = "Iterative"
    fields = (
        Field("round", "round", "agents"),
        Field("val", "val", "agents"),
        Field("hist", "hist", "agents"),
    )
    max_substeps = 2
    #: the spec's Byzantine member only sends the extremes: a fault-free run keeps it silent
    honest_byzantine = False

    def configurations(self) -> dict[str, Configuration]:
        return {"Iterative": Configuration("Iterative", lambda: numeric(4, 1), byzantine=frozenset({"a3"}))}

    def spec_rounds(self) -> int:
        """R of tla/Iterative.cfg: the rounds of the instance it models."""
        instance = self.configurations()["Iterative"].build()
        assert isinstance(instance, ApproximateAgreement)
        return instance.rounds

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, ApproximateAgreement)
        rounds = self.spec_rounds()  # the cfg's R (a mutant may run another number of rounds)
        scale = 2 ** rounds
        honest = [a for a in protocol.agents if a not in obs.byzantine]
        out: dict[str, dict[str, Any]] = {"round": {}, "val": {}, "hist": {}}
        for a in honest:
            state = obs.nodes[a]
            out["round"][a] = rounds + 1 if state.phase == "done" else state.round
            out["val"][a] = scaled(state.value, scale)
            out["hist"][a] = tuple(
                Record(round=r.round, view=frozenset((s, scaled(v, scale)) for s, v in r.view),
                       left=scaled(r.left, scale)) for r in state.history)
        return out
