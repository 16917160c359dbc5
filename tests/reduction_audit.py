"""Audits of what a protocol declares for the state-space reductions, over every reachable world.

The reduction gates (``tests/test_reductions.py``) compare reduced and unreduced
searches; these audits check the declarations themselves, one by one, on the
unreduced reachable state set of a configuration, so a wrong declaration is
named precisely instead of surfacing as a differing count:

* ``reads``: each property is judged on snapshots whose undeclared parts raise
  on any access, so a predicate that reads more than it declares fails loudly;
* ``sends_no_more``: every step an agent takes from a state declared silent
  sends nothing and leads to a state declared silent again (so "never again"
  holds inductively on the reachable worlds);
* ``symmetry``: each declared permutation (the checker's own renaming) commutes
  with the successor function, ``succ(pi(w)) == pi(succ(w))``, and leaves every
  property's verdict unchanged; together these are what make one world per
  orbit sound, independently of how the representative is chosen.

Helpers for the protocols' own test modules (``tests/test_<protocol>.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from mabeam.checker import ActorModel
from mabeam.checker.symmetry import Symmetry
from mabeam.core import Broadcast, Send
from mabeam.core.properties import Kind, Property, Snapshot

World = tuple[int, ...]


def reachable(model: ActorModel) -> list[World]:
    """Every reachable world of the unreduced model (depth-first, fingerprints deduplicate)."""
    root = model.initial()
    seen = {model.fingerprint(root)}
    todo, out = [root], []
    while todo:
        world = todo.pop()
        out.append(world)
        for succ, succ_fp, _action, _fair in model.successors(world):
            if succ_fp not in seen:
                seen.add(succ_fp)
                todo.append(succ)
    return out


# ------------------------------------------------------------------ reads
class Unread(Exception):
    """A predicate touched a snapshot part its ``reads`` does not declare."""


class _Poison(Mapping[Any, Any]):
    """Stands for an undeclared snapshot part: any use raises :class:`Unread`."""

    def __init__(self, part: str) -> None:
        self.part = part

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise Unread(self.part)

    __getitem__ = __iter__ = __len__ = __contains__ = __or__ = __ror__ = __and__ = __sub__ = _refuse
    get = keys = items = values = _refuse

    def __bool__(self) -> bool:
        raise Unread(self.part)


def _restricted(snap: Snapshot, reads: frozenset[str]) -> Snapshot:
    parts: dict[str, Any] = {name: _Poison(name) for name in ("states", "decisions", "evidence", "crashed")
                             if name not in reads}
    if "in_flight" not in reads:
        parts["in_flight"] = _Poison("in_flight")._refuse
    return snap.replace(**parts)


def audit_reads(model: ActorModel, properties: Sequence[Property], worlds: Sequence[World]) -> None:
    """Every applicable property gives its verdict without touching an undeclared part."""
    for world in worlds:
        snap = model.snapshot(world)
        for p in properties:
            if p.kind is Kind.STEP or not p.applies(model.protocol):
                continue
            assert p.reads is not None, f"{p.id} declares no reads"
            try:
                verdict = p.holds(_restricted(snap, p.reads))
            except Unread as unread:
                raise AssertionError(f"{p.id} reads {unread.args[0]!r}, not in its reads {sorted(p.reads)}") from None
            assert verdict == p.holds(snap), p.id


def audit_step_reads(model: ActorModel, properties: Sequence[Property], worlds: Sequence[World]) -> None:
    """As :func:`audit_reads`, for step properties, on every transition from ``worlds``."""
    steps = [p for p in properties if p.kind is Kind.STEP and p.applies(model.protocol)]
    for world in worlds:
        before = model.snapshot(world)
        for t in model.transitions(world):
            after = model.snapshot(t.world)
            for p in steps:
                assert p.reads is not None, f"{p.id} declares no reads"
                try:
                    verdict = p.holds_on_step(_restricted(before, p.reads), t.action, _restricted(after, p.reads))
                except Unread as unread:
                    raise AssertionError(f"{p.id} reads {unread.args[0]!r}, not in {sorted(p.reads)}") from None
                assert verdict == p.holds_on_step(before, t.action, after), p.id


# ------------------------------------------------------------------ silence
def _sends(effects: Sequence[Any]) -> bool:
    return any(isinstance(e, (Send, Broadcast)) for e in effects)


def audit_silence(model: ActorModel, worlds: Sequence[World]) -> int:
    """Every step of an agent in a state its protocol declares silent sends nothing and stays silent.

    Returns how many (world, agent) pairs were declared silent, so a caller can check that
    the declaration is not vacuous.
    """
    protocol = model.protocol
    silent_pairs = 0
    for world in worlds:
        states = model.node_states(world)
        silent = {a for a, s in states.items() if s is not None and protocol.sends_no_more(s)}
        silent_pairs += len(silent)
        for t in model.transitions(world):
            agent = t.action.agent
            if t.action.kind not in ("deliver", "timer") or agent not in silent:
                continue
            assert not _sends(t.effects), f"{agent} sends after a state declared silent: {t.action.describe()}"
            after = model.node_states(t.world)[agent]
            assert protocol.sends_no_more(after), f"{agent} leaves a silent state: {t.action.describe()}"
    return silent_pairs


# ------------------------------------------------------------------ symmetry
def generators(sym: Symmetry) -> Iterator[dict[int, int]]:
    """Transpositions of neighbours in each declared class: they generate every declared permutation."""
    for group in sym.positions:
        for a, b in itertools.pairwise(group):
            yield {a: b, b: a}


def audit_symmetry(model: ActorModel, properties: Sequence[Property], worlds: Sequence[World]) -> int:
    """Each declared permutation commutes with the successor function and keeps every verdict.

    Returns the number of generators checked (0: the configuration declares no symmetry).
    """
    sym = Symmetry(model)
    perms = list(generators(sym))
    state_properties = [p for p in properties if p.kind is not Kind.STEP and p.applies(model.protocol)]
    fingerprint = model.fingerprint
    for perm in perms:
        for world in worlds:
            image = sym._apply(world, perm)
            expected = {fingerprint(sym._apply(succ, perm)) for succ, _fp, _a, _f in model.successors(world)}
            found = {succ_fp for _succ, succ_fp, _a, _f in model.successors(image)}
            assert found == expected, _describe_mismatch(model, world, image, perm)
            here, there = model.snapshot(world), model.snapshot(image)
            for p in state_properties:
                assert p.holds(here) == p.holds(there), f"{p.id} is not symmetric under {perm}"
    return len(perms)


def _describe_mismatch(model: ActorModel, world: World, image: World, perm: dict[int, int]) -> str:
    names = {model.agents[i]: model.agents[j] for i, j in perm.items()}
    return (f"renaming {names} does not commute with the successors of\n  {model.view(world)}\n"
            f"image:\n  {model.view(image)}")


# ------------------------------------------------------------------ all at once
def audit(model: ActorModel, properties: Sequence[Property]) -> tuple[int, int, int]:
    """Every audit above on ``model``'s reachable worlds: (worlds, silent (world, agent) pairs, generators)."""
    worlds = reachable(model)
    audit_reads(model, properties, worlds)
    audit_step_reads(model, properties, worlds)
    silent = audit_silence(model, worlds)
    return len(worlds), silent, audit_symmetry(model, properties, worlds)
