"""Partial-order reduction for the breadth-first search: ample sets of one agent's actions.

In the actor model, actions of different agents commute: a delivery to (or a
timer of) agent ``i`` touches only ``i``'s component, the envelope it
consumes and the messages it adds, none of which another agent's action
reads or removes. An *ample set* explores, from a world, only the enabled
actions of one agent ``i`` instead of all of them. The classical conditions
make that sound for every safety, reachability and step property:

- C0: the set is not empty;
- C1 (persistence): no action outside it that depends on it can happen first.
  Here that means no other agent may ever send ``i`` a message again (every
  other active agent's state is one the protocol declares silent, see
  :meth:`~mabeam.core.protocol.Protocol.sends_no_more`; Byzantine agents of the
  checker put all their messages in flight at the start) and no fault budget
  (drop, duplicate, crash, or a restart while an agent is down) is left to act
  on ``i`` or its messages (a restarted agent may send again: while a restart
  can happen, every world is expanded in full);
- C2 (invisibility): every action in the set leaves unchanged what the
  properties read (the union of their declared ``reads``: the node states,
  decisions, evidence, crashed set or messages in flight);
- C3 (cycle proviso, for breadth-first search): no action in the set leads to
  a world already visited or already met in this level; otherwise the world is
  expanded in full.

Liveness is not judged under the reduction (a reduced graph's cycles need not
be fair cycles of the system).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..core.properties import READABLE, Property
from .model import Action, ActorModel, World
from .store import FingerprintStore

Successor = tuple[World, int, Action, bool]


class PartialOrder:
    """Chooses ample sets; counts how often it could reduce."""

    def __init__(self, model: ActorModel, properties: Sequence[Property]) -> None:
        self.model = model
        reads: set[str] = set()
        for p in properties:
            reads |= READABLE if p.reads is None else set(p.reads)
        self.reads = frozenset(reads)
        self.reduced = 0
        self.full = 0

    def ample(self, world: World, successors: list[Successor], store: FingerprintStore, level: set[int],
              stored_as: Callable[[World, int], int] | None = None) -> list[Successor]:
        """The successors to explore from ``world``: an ample set, or all of them.

        ``stored_as(successor, fingerprint)`` is the fingerprint the search stores the
        successor under (its orbit representative's, under symmetry reduction), which is
        what the cycle proviso must look up.
        """
        model = self.model
        n = model.n
        faults = world[n + 2]
        active, budget_left = model._plans.get(faults) or model._plan(faults)
        if budget_left or len(active) < 2:
            self.full += 1
            return successors
        by_agent: dict[str, list[Successor]] = {}
        for succ in successors:
            by_agent.setdefault(succ[2].agent, []).append(succ)
        if len(by_agent) < 2:
            self.full += 1
            return successors
        silent = {i: model.protocol.sends_no_more(model._state_of[world[i]]) for i in active}
        for i in active:
            agent = model.agents[i]
            mine = by_agent.get(agent)
            if not mine:
                continue
            if not all(silent[j] for j in active if j != i):
                continue  # C1: another agent may still send to i
            if not all(self._invisible(world, succ[0], i) for succ in mine):
                continue  # C2
            keys = [succ[1] if stored_as is None else stored_as(succ[0], succ[1]) for succ in mine]
            if any(key in level or store.contains(key) for key in keys):
                continue  # C3: the proviso for breadth-first search
            self.reduced += 1
            return mine
        self.full += 1
        return successors

    def _invisible(self, world: World, succ: World, i: int) -> bool:
        model = self.model
        n = model.n
        reads = self.reads
        if "states" in reads and model._state_of[world[i]] != model._state_of[succ[i]]:
            return False
        if "in_flight" in reads and world[n] != succ[n]:
            return False
        if ("decisions" in reads or "evidence" in reads) and world[n + 1] != succ[n + 1]:
            return False
        return not ("crashed" in reads and world[n + 2] != succ[n + 2])

    def notes(self) -> list[str]:
        total = self.reduced + self.full
        share = f"{100 * self.reduced / total:.1f}%" if total else "0%"
        return [f"partial-order reduction: {self.reduced:,} of {total:,} worlds expanded through an ample set "
                f"({share}); properties read {', '.join(sorted(self.reads))}; liveness not judged"]
