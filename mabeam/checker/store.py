"""A compact visited set: 64-bit fingerprints and parent links in sorted numpy arrays.

The breadth-first search is level-synchronous, so membership tests and inserts
happen in batches of one level. Each stored state costs 24 bytes: its
fingerprint in the merged sorted array, plus its fingerprint and its parent's in
that level's arrays (used only to rebuild counterexample traces).
"""

from __future__ import annotations

import numpy as np


class FingerprintStore:
    def __init__(self) -> None:
        self._all = np.empty(0, dtype=np.uint64)
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []
        self._staged: list[tuple[np.ndarray, np.ndarray]] = []

    @classmethod
    def of_sorted(cls, fingerprints: np.ndarray) -> FingerprintStore:
        """A store answering membership for ``fingerprints`` (sorted, unique), without parent links."""
        store = cls()
        store._all = fingerprints
        return store

    def __len__(self) -> int:
        return int(self._all.size)

    @property
    def depth(self) -> int:
        return len(self._levels)

    def unseen(self, fingerprints: np.ndarray) -> np.ndarray:
        """Boolean mask: which of ``fingerprints`` (unique) are not stored yet."""
        if self._all.size == 0:
            return np.ones(fingerprints.size, dtype=bool)
        pos = np.searchsorted(self._all, fingerprints)
        pos[pos == self._all.size] = 0
        return self._all[pos] != fingerprints

    def add_level(self, fingerprints: np.ndarray, parents: np.ndarray) -> None:
        """Store one BFS level (fingerprints unique and not yet stored)."""
        order = np.argsort(fingerprints, kind="stable")
        fps = fingerprints[order]
        self._levels.append((fps, parents[order]))
        merged = np.concatenate((self._all, fps))
        merged.sort(kind="stable")
        self._all = merged

    def stage(self, fingerprints: np.ndarray, parents: np.ndarray) -> None:
        """Part of the level being built (unique, unseen); stored by :meth:`commit_level`."""
        if fingerprints.size:
            self._staged.append((fingerprints, parents))

    def commit_level(self, *, keep_empty: bool = False) -> None:
        """Store the staged parts as one level (nothing if none were staged, unless ``keep_empty``:
        a partitioned search's share keeps one entry per level, so levels stay depths)."""
        if not self._staged:
            if keep_empty:
                self._levels.append((np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)))
            return
        fps = np.concatenate([f for f, _ in self._staged])
        parents = np.concatenate([p for _, p in self._staged])
        self._staged = []
        self.add_level(fps, parents)

    def contains(self, fingerprint: int) -> bool:
        i = int(np.searchsorted(self._all, fingerprint))
        return i < self._all.size and int(self._all[i]) == fingerprint

    @property
    def sorted_fingerprints(self) -> np.ndarray:
        """Every stored fingerprint, ascending (the index space of the liveness graph)."""
        return self._all

    def parent_of(self, fingerprint: int, level: int) -> int:
        fps, parents = self._levels[level]
        i = int(np.searchsorted(fps, fingerprint))
        if i >= fps.size or fps[i] != fingerprint:
            raise KeyError(fingerprint)
        return int(parents[i])

    def path_to(self, fingerprint: int, level: int) -> list[int]:
        """Fingerprints from the initial state to ``fingerprint`` (found at ``level``)."""
        path = [fingerprint]
        for lv in range(level, 0, -1):
            path.append(self.parent_of(path[-1], lv))
        path.reverse()
        return path

    @property
    def nbytes(self) -> int:
        return int(self._all.nbytes + sum(f.nbytes + p.nbytes for f, p in self._levels))
