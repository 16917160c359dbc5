"""Judging states and steps during a search, reusing verdicts where a property says what it reads.

A property that declares ``reads`` (see :class:`~mabeam.core.properties.Property`)
depends only on those parts of a world, so its verdict is memoised on the
fingerprints of those components: worlds that differ only elsewhere (another
agent's timers, messages the property never looks at) share one evaluation.
A property that declares nothing is evaluated on every state.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ..core.properties import Kind, Property, Snapshot
from .model import Action, ActorModel, World

if TYPE_CHECKING:
    from .search import Exploration

#: verdict memo entries per property before the table is emptied
MEMO_LIMIT = 1 << 20
#: evaluations of a memoised property timed before the judge decides whether its memo pays
MEMO_TRIAL = 1 << 12


class _Verdicts:
    """One property's verdicts: memoised on what it reads while that is cheaper than evaluating it.

    During a trial of :data:`MEMO_TRIAL` lookups the judge times the predicate on
    misses and the memo lookups themselves; the memo stays only if the evaluations
    it saves cost more than the lookups (a cheap predicate over rarely repeating
    inputs is faster, and lighter, evaluated every time).
    """

    __slots__ = ("key_of", "lookup_seconds", "lookups", "memo", "misses", "predicate_seconds", "property")

    def __init__(self, prop: Property, key_of: Callable[[World], Any] | None) -> None:
        self.property = prop
        self.key_of = key_of
        self.memo: dict[Any, bool] = {}
        self.lookups = self.misses = 0
        self.lookup_seconds = self.predicate_seconds = 0.0

    def decide(self) -> None:
        hits = self.lookups - self.misses
        saved = hits * (self.predicate_seconds / max(self.misses, 1))
        if saved <= self.lookup_seconds * 1.25:
            self.key_of = None
            self.memo.clear()


def _record(role: int, pid: str, verdict: bool, fp: int, depth: int, violated: dict[str, tuple[int, int]],
            reached: dict[str, tuple[int, int]], live_true: dict[str, list[int]]) -> None:
    """Note one verdict: role 0 safety (first violation), 1 goal (first witness), 2 liveness."""
    if role == 0:
        if not verdict and pid not in violated:
            violated[pid] = (fp, depth)
    elif role == 1:
        if verdict and pid not in reached:
            reached[pid] = (fp, depth)
    elif verdict:
        live_true[pid].append(fp)


class Judge:
    """Evaluates a search's properties on its states and steps."""

    def __init__(self, model: ActorModel, properties: Sequence[Property]) -> None:
        self.model = model
        self.safety = [p for p in properties if p.kind is Kind.ALWAYS]
        self.goals = [p for p in properties if p.kind is Kind.SOMETIMES]
        self.live = [p for p in properties if p.kind is Kind.EVENTUALLY]
        self.steps = [p for p in properties if p.kind is Kind.STEP]
        self._verdicts = {p.id: _Verdicts(p, self._key_of(p)) for p in properties}

    def _key_of(self, p: Property) -> Callable[[World], Any] | None:
        """What of a world the property's verdict depends on, or ``None`` (everything)."""
        if p.reads is None:
            return None
        n = self.model.n
        where = {"states": range(n), "in_flight": (n,), "decisions": (n + 1,), "evidence": (n + 1,),
                 "crashed": (n + 2,)}
        positions = sorted({i for part in p.reads for i in where[part]})
        if not positions:
            return lambda world: ()
        return itemgetter(*positions)

    def holds(self, p: Property, world: World, snap: list[Snapshot]) -> bool:
        """``p`` on ``world``; ``snap`` caches the world's snapshot between properties."""
        v = self._verdicts[p.id]
        if v.key_of is None:
            if not snap:
                snap.append(self.model.snapshot(world))
            return p.holds(snap[0])
        trial = v.lookups < MEMO_TRIAL
        started = perf_counter() if trial else 0.0
        key = v.key_of(world)
        verdict = v.memo.get(key)
        if trial:
            v.lookups += 1
            v.lookup_seconds += perf_counter() - started
        if verdict is not None:
            return verdict
        if not snap:
            snap.append(self.model.snapshot(world))
        if trial:
            v.misses += 1
            started = perf_counter()
            verdict = p.holds(snap[0])
            v.predicate_seconds += perf_counter() - started
            if v.lookups == MEMO_TRIAL:
                v.decide()
                if v.key_of is None:
                    return verdict
        else:
            verdict = p.holds(snap[0])
        if len(v.memo) >= MEMO_LIMIT:
            v.memo.clear()
        v.memo[key] = verdict
        return verdict

    def begin_level(self, found: Exploration) -> bool:
        """Prepare to judge a level's states; whether there is anything left to judge."""
        violated, reached = found.violated, found.reached
        todo = [(p, 0) for p in self.safety if p.id not in violated] + \
               [(p, 1) for p in self.goals if p.id not in reached] + [(p, 2) for p in self.live]
        self._direct = [(p.predicate, role, p.id) for p, role in todo if self._verdicts[p.id].key_of is None]
        self._memoised = [(p, role) for p, role in todo if self._verdicts[p.id].key_of is not None]
        return bool(todo)

    def judge(self, world: World, fp: int, depth: int, found: Exploration) -> None:
        """Judge one state (the first failure per property is a shortest one, states being judged in
        breadth-first order). Properties evaluated directly share one snapshot and skip the memo's
        bookkeeping; memoised ones build the snapshot only on a miss."""
        violated = found.violated
        snap: list[Snapshot] = []
        if self._memoised:
            reached, live_true = found.reached, found.live_true
            for p, role in self._memoised:
                _record(role, p.id, self.holds(p, world, snap), fp, depth, violated, reached, live_true)
        if self._direct:
            here = snap[0] if snap else self.model.snapshot(world)
            for predicate, role, pid in self._direct:
                verdict = bool(predicate(here))
                if role == 0:
                    if not verdict and pid not in violated:
                        violated[pid] = (fp, depth)
                else:
                    _record(role, pid, verdict, fp, depth, violated, found.reached, found.live_true)

    def step(self, world: World, fp: int, depth: int, action: Action, succ: World, succ_fp: int,
             found: Exploration) -> None:
        """Judge the step properties on one transition."""
        for p in self.steps:
            if p.id in found.violated_steps:
                continue
            if not p.holds_on_step(self.model.snapshot(world), action, self.model.snapshot(succ)):
                found.violated_steps[p.id] = (fp, depth, action, succ_fp)


def fingerprints(values: Iterable[int]) -> array:
    return array("q", values)
