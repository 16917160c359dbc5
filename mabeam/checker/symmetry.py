"""Symmetry reduction: one representative world per orbit of interchangeable agents.

A protocol declares, for a configuration, which agents are interchangeable
(:meth:`~mabeam.core.protocol.Protocol.symmetry`: honest members with equal
roles and inputs, Byzantine members among themselves). Permuting such agents
maps reachable worlds to reachable worlds and keeps every symmetric property's
verdict, so the search may store one world per orbit.

The representative is found without trying every permutation:

1. each interchangeable agent gets a *profile*: the world described from its
   point of view, with its own name replaced by ``SELF`` and every other
   interchangeable agent's name by its class (the profile of an agent in a
   permuted world is the profile it had before, so profiles are invariant);
2. each class is ordered by profile; that ordering is applied (agents renamed
   through node states, timers, messages, decisions and evidence, and moved
   to their new positions);
3. agents with equal profiles are usually interchangeable in the world itself:
   this is checked (swapping two of them must give the same world). When it is
   not, the permutations of the tied agents are tried, and the one giving the
   smallest fingerprint is taken, up to :data:`MAX_TRIED` of them.

Steps 1-3 give one world per orbit (the reduced state count is the number of
orbits, as the soundness tests check against the unreduced state set). Past
the :data:`MAX_TRIED` limit, the ordering of step 2 is kept as it is: still
sound (every reachable orbit keeps a representative) but an orbit may then be
stored more than once; the search's notes count how often that happened.

Renaming is generic (strings that name agents, tuples the protocol declares
as indexed by member, envelopes, decisions and evidence); a signed message is
re-signed through :meth:`~mabeam.core.protocol.Protocol.rename_signature`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Envelope, Message
from ..core.properties import Decision
from .canonical import canonical_bytes, fingerprint
from .model import ActorModel, World

#: permutations of tied agents tried before settling for an approximate representative
MAX_TRIED = 720
#: cache entries (renamings, profiles, representatives) before the caches are emptied
CACHE_LIMIT = 1 << 20


class Symmetry:
    """The interchangeable agents of one model, and the representative of each world's orbit."""

    def __init__(self, model: ActorModel) -> None:
        self.model = model
        protocol = model.protocol
        declared = tuple(frozenset(c) for c in protocol.symmetry())
        self.classes = self._validated(declared)
        self.active = any(len(c) > 1 for c in self.classes)
        self.positions = [tuple(sorted(model.index[a] for a in c)) for c in self.classes if len(c) > 1]
        self.symmetric = {i for group in self.positions for i in group}
        self._class_of = {a: k for k, c in enumerate(self.classes) for a in c}
        self._per_member = dict(protocol.per_member_fields)
        self._renamed: dict[tuple[str, int, tuple[int, ...]], int] = {}
        self._anonymous: dict[tuple[str, int, int], int] = {}
        self._representative: dict[int, tuple[World, int]] = {}
        self.approximate = 0  # worlds whose ties exceeded MAX_TRIED
        self.canonicalised = 0

    def _validated(self, declared: tuple[frozenset[AgentId], ...]) -> tuple[frozenset[AgentId], ...]:
        """The declared classes, each split into its honest and its Byzantine members: the protocol cannot
        know which members a check makes Byzantine, and a permutation must keep that set fixed."""
        model = self.model
        seen: set[AgentId] = set()
        split: list[frozenset[AgentId]] = []
        for group in declared:
            unknown = group - set(model.agents)
            if unknown:
                raise ConfigurationError(f"symmetry names agents that are not members: {sorted(unknown)}")
            if group & seen:
                raise ConfigurationError("symmetry classes must not overlap")
            seen |= group
            split += [part for part in (group - model.byzantine, group & model.byzantine) if len(part) > 1]
        return tuple(split)

    # ------------------------------------------------------------ the representative
    def canonical(self, world: World) -> World:
        """The representative of ``world``'s orbit (``world`` itself when nothing is interchangeable)."""
        if not self.active:
            return world
        model = self.model
        fp = model.fingerprint(world)
        known = self._representative.get(fp)
        if known is not None:
            return known[0]
        self.canonicalised += 1
        profiles = {i: self._profile(world, i) for i in self.symmetric}
        order = self._ordering(profiles)
        best = self._apply(world, order)
        tied = self._ties(profiles, order)
        if tied:
            best = self._resolve(world, order, best, tied)
        if len(self._representative) >= CACHE_LIMIT:
            self._representative.clear()
        self._representative[fp] = (best, model.fingerprint(best))
        return best

    def _ordering(self, profiles: dict[int, int]) -> dict[int, int]:
        """Target position of every interchangeable agent: each class sorted by profile."""
        order: dict[int, int] = {}
        for group in self.positions:
            ranked = sorted(group, key=lambda i: (profiles[i], i))
            order.update(zip(ranked, group))
        return order

    def _ties(self, profiles: dict[int, int], order: dict[int, int]) -> list[list[int]]:
        """Groups of agents whose profiles are equal (in their target order)."""
        tied: list[list[int]] = []
        for group in self.positions:
            ranked = sorted(group, key=order.__getitem__)
            for _, same in itertools.groupby(ranked, key=profiles.__getitem__):
                members = list(same)
                if len(members) > 1:
                    tied.append(members)
        return tied

    def _resolve(self, world: World, order: dict[int, int], first: World, tied: list[list[int]]) -> World:
        """Agents with equal profiles: interchangeable in the world itself (then any order is the
        orbit's), or else the tied orders' smallest fingerprint."""
        if all(self._swap_is_automorphism(world, a, b) for members in tied for a, b in itertools.pairwise(members)):
            return first
        count = 1
        for members in tied:
            count *= _factorial(len(members))
        if count > MAX_TRIED:
            self.approximate += 1
            return first
        fingerprint_of = self.model.fingerprint
        best, best_fp = first, fingerprint_of(first)
        slots = [sorted(order[i] for i in members) for members in tied]
        for choice in itertools.product(*(itertools.permutations(s) for s in slots)):
            trial = dict(order)
            for members, targets in zip(tied, choice):
                trial.update(zip(members, targets))
            candidate = self._apply(world, trial)
            candidate_fp = fingerprint_of(candidate)
            if candidate_fp < best_fp:
                best, best_fp = candidate, candidate_fp
        return best

    def _swap_is_automorphism(self, world: World, a: int, b: int) -> bool:
        swapped = self._apply(world, {a: b, b: a})
        return self.model.fingerprint(swapped) == self.model.fingerprint(world)

    # ------------------------------------------------------------ renaming worlds
    def _apply(self, world: World, order: Mapping[int, int]) -> World:
        """``world`` with agent ``i`` renamed to (and moved to) position ``order[i]``."""
        model = self.model
        n = model.n
        perm = tuple(order.get(i, i) for i in range(n))
        if all(p == i for i, p in enumerate(perm)):
            return world
        comps = [0] * n
        for i in range(n):
            comps[perm[i]] = self._rename_comp("agent", world[i], perm)
        return (*comps, self._rename_comp("network", world[n], perm), self._rename_comp("facts", world[n + 1], perm),
                self._rename_comp("faults", world[n + 2], perm))

    def _rename_comp(self, kind: str, comp: int, perm: tuple[int, ...]) -> int:
        key = (kind, comp, perm)
        renamed = self._renamed.get(key)
        if renamed is None:
            if len(self._renamed) >= CACHE_LIMIT:
                self._renamed.clear()
            mapping = {self.model.agents[i]: self.model.agents[p] for i, p in enumerate(perm) if i != p}
            renamed = self._renamed[key] = self._rename_value(kind, comp, mapping, perm)
        return renamed

    def _rename_value(self, kind: str, comp: int, mapping: dict[AgentId, AgentId], perm: tuple[int, ...]) -> int:
        model = self.model
        rename = self._renamer(mapping, perm)
        if kind == "agent":
            state, timers = model._agents[comp]
            return model._agent_comp((rename(state), frozenset(rename(t) for t in timers)))
        if kind == "network":
            network = model._networks[comp]
            envs, order = model._envelope_of, model._order

            def moved(fp: int) -> int:
                return model._envelope(rename(envs[fp]), injected=order[fp][2])

            if model.multiset:
                value: frozenset[Any] = frozenset((moved(fp), count) for fp, count in network)
            else:
                value = frozenset(moved(fp) for fp in network)
            return model._networks.add(value)
        if kind == "facts":
            decisions, evidence = model._facts[comp]
            return model._facts.add((frozenset(rename(d) for d in decisions), frozenset(rename(e) for e in evidence)))
        crashed, budget, learned = model._faults[comp]
        known = frozenset(model._messages.add(rename(model._messages[m])) for m in learned)
        return model._faults.add((frozenset(mapping.get(a, a) for a in crashed), budget, known))

    def _renamer(self, mapping: dict[AgentId, AgentId], perm: tuple[int, ...]) -> Callable[[Any], Any]:
        """A function renaming agents throughout a value (injectively: ``mapping`` is a permutation)."""
        protocol = self.model.protocol
        per_member = self._per_member

        def rename(value: Any) -> Any:
            if isinstance(value, str):
                return mapping.get(value, value)
            if isinstance(value, Message):
                renamed = _replace_fields(value, rename, per_member.get(type(value), ()), perm)
                return protocol.rename_signature(value, renamed) if renamed != value else value
            if isinstance(value, Envelope):
                return Envelope(rename(value.to), rename(value.message))
            if isinstance(value, Decision):
                return Decision(rename(value.agent), rename(value.instance), rename(value.value))
            if isinstance(value, msgspec.Struct):
                return _replace_fields(value, rename, per_member.get(type(value), ()), perm)
            if isinstance(value, tuple):
                return tuple(rename(v) for v in value)
            if isinstance(value, frozenset):
                return frozenset(rename(v) for v in value)
            if isinstance(value, list):
                return [rename(v) for v in value]
            if isinstance(value, dict):
                return {rename(k): rename(v) for k, v in value.items()}
            return value

        return rename

    # ------------------------------------------------------------ profiles
    def _profile(self, world: World, i: int) -> int:
        """Agent ``i``'s view of the world with names anonymised (see the module docstring)."""
        n = self.model.n
        own_class = self._class_of[self.model.agents[i]]
        parts: list[Any] = [self._anonymised("agent", world[i], i)]
        for k, group in enumerate(self.positions):
            others = [self._anonymised("agent", world[j], i) for j in group if j != i]
            parts.append((k, tuple(sorted(others))))
        parts.append(tuple(self._anonymised("agent", world[j], i) for j in range(n) if j not in self.symmetric))
        parts += [self._anonymised(kind, world[n + k], i) for k, kind in enumerate(("network", "facts", "faults"))]
        parts.append(own_class)
        return hash(tuple(parts))

    def _anonymised(self, kind: str, comp: int, i: int) -> int:
        key = (kind, comp, i)
        found = self._anonymous.get(key)
        if found is None:
            if len(self._anonymous) >= CACHE_LIMIT:
                self._anonymous.clear()
            value = self._anonymous_value(kind, comp, i)
            found = self._anonymous[key] = fingerprint(b"anonymous", canonical_bytes(value))
        return found

    def _anonymous_value(self, kind: str, comp: int, i: int) -> Any:
        model = self.model
        me = model.agents[i]
        roles = {a: ("\x00self" if a == me else f"\x00class{self._class_of[a]}") for a in self._class_of}
        anonymise = self._anonymiser(roles, i)
        if kind == "agent":
            state, timers = model._agents[comp]
            return [anonymise(state), sorted(canonical_bytes(anonymise(t)) for t in timers)]
        if kind == "network":
            envs, order = model._envelope_of, model._order
            network = model._networks[comp]
            items = ([(canonical_bytes([anonymise(envs[fp]), order[fp][2]]), count) for fp, count in network]
                     if model.multiset else [canonical_bytes([anonymise(envs[fp]), order[fp][2]]) for fp in network])
            return sorted(items)
        if kind == "facts":
            decisions, evidence = model._facts[comp]
            return [sorted(canonical_bytes(anonymise(d)) for d in decisions),
                    sorted(canonical_bytes(anonymise(e)) for e in evidence)]
        crashed, budget, learned = model._faults[comp]
        return [sorted(roles.get(a, a) for a in crashed), list(budget),
                sorted(canonical_bytes(anonymise(model._messages[m])) for m in learned)]

    def _anonymiser(self, roles: dict[AgentId, str], i: int) -> Callable[[Any], Any]:
        """Names of interchangeable agents replaced by their role; member-indexed tuples reordered so
        that the result does not depend on which agent holds which position."""
        per_member = self._per_member
        groups = self.positions
        rest = [j for j in range(self.model.n) if j not in self.symmetric]

        def member_tuple(value: tuple[Any, ...]) -> Any:
            mine = anonymise(value[i])
            by_class = [sorted(canonical_bytes(anonymise(value[j])) for j in g if j != i) for g in groups]
            return ["\x00members", mine, [anonymise(value[j]) for j in rest], by_class]

        def anonymise(value: Any) -> Any:
            if isinstance(value, str):
                return roles.get(value, value)
            if isinstance(value, msgspec.Struct):
                fields = per_member.get(type(value), ())
                out = [type(value).__qualname__]
                for name in value.__struct_fields__:
                    if name == "signature":
                        continue  # determined by content and signer, or invalid either way
                    field = getattr(value, name)
                    out.append(member_tuple(field) if name in fields else anonymise(field))
                return out
            if isinstance(value, (Envelope, Decision)):
                return [type(value).__name__, *(anonymise(v) for v in (value if isinstance(value, Envelope)
                                                                      else (value.agent, value.instance,
                                                                            value.value)))]
            if isinstance(value, (tuple, list)):
                return [anonymise(v) for v in value]
            if isinstance(value, frozenset):
                return sorted(canonical_bytes(anonymise(v)) for v in value)
            if isinstance(value, dict):
                return sorted([canonical_bytes(anonymise(k)), anonymise(v)] for k, v in value.items())
            return value

        return anonymise

    def notes(self) -> list[str]:
        if not self.active:
            return ["symmetry: the protocol declares no interchangeable agents in this configuration"]
        classes = ", ".join("{" + ", ".join(sorted(c)) + "}" for c in self.classes if len(c) > 1)
        note = f"symmetry over {classes}: {self.canonicalised:,} worlds canonicalised"
        if self.approximate:
            note += (f"; {self.approximate:,} had more than {MAX_TRIED} tied orders and kept an approximate "
                     "representative (sound; an orbit may be stored more than once)")
        return [note]


def _replace_fields(value: msgspec.Struct, rename: Callable[[Any], Any], per_member: tuple[str, ...],
                    perm: tuple[int, ...]) -> Any:
    changes = {}
    for name in value.__struct_fields__:
        field = getattr(value, name)
        if name in per_member:
            moved = [None] * len(field)
            for j, entry in enumerate(field):
                moved[perm[j]] = rename(entry)
            new = tuple(moved)
        elif name == "signature":
            continue
        else:
            new = rename(field)
        if new != field:
            changes[name] = new
    return msgspec.structs.replace(value, **changes) if changes else value


def _factorial(k: int) -> int:
    out = 1
    for i in range(2, k + 1):
        out *= i
    return out
