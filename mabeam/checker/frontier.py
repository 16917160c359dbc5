"""One breadth-first level of worlds, held compactly and spilled to disk past a size.

Worlds are tuples of 64-bit component fingerprints, each kept with its own
fingerprint. While a level is small they stay as tuples (the fastest form to
expand); once its estimated size passes ``spill_bytes``, further worlds are
packed into ``uint64`` arrays of fixed width (the world, then its
fingerprint), written to a temporary directory and read back chunk by chunk
when the level is expanded, so a wide level costs disk, not memory.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHUNK = 1 << 16


class Frontier:
    """Worlds of one level in insertion order: in memory first, then on disk."""

    def __init__(self, width: int, spill_bytes: int | None) -> None:
        self.width = width
        self.spill_bytes = spill_bytes
        self._worlds: list[tuple[int, ...]] = []
        self._fps: list[int] = []
        self._files: list[Path] = []
        self._pending: list[tuple[int, ...]] = []
        self._dir: Path | None = None
        self._count = 0
        self.spilled = 0
        #: one world tuple in memory (its integers are shared with the interning tables) and its fingerprint
        self._world_bytes = sys.getsizeof((0,) * width) + 8 + 40

    def __len__(self) -> int:
        return self._count

    @property
    def memory_bytes(self) -> int:
        return (len(self._worlds) + len(self._pending)) * self._world_bytes

    def append(self, world: tuple[int, ...], fp: int) -> None:
        self._count += 1
        if self.spill_bytes is None or not self._files and len(self._worlds) * self._world_bytes < self.spill_bytes:
            self._worlds.append(world)
            self._fps.append(fp)
            return
        self._pending.append((*world, fp))
        if len(self._pending) >= CHUNK:
            self._write()

    def extend(self, worlds: list[tuple[int, ...]], fps: list[int]) -> None:
        """Append many (the search's batches): in memory while there is room."""
        if self.spill_bytes is None or not self._files and \
                (len(self._worlds) + len(worlds)) * self._world_bytes < self.spill_bytes:
            self._worlds += worlds
            self._fps += fps
            self._count += len(worlds)
            return
        for world, fp in zip(worlds, fps):
            self.append(world, fp)

    def _write(self) -> None:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="mabeam-frontier-"))
        path = self._dir / f"chunk-{len(self._files)}.npy"
        np.save(path, np.array(self._pending, dtype=np.uint64).reshape(-1, self.width + 1))
        self._files.append(path)
        self.spilled += len(self._pending)
        self._pending = []

    def __iter__(self) -> Iterator[tuple[tuple[int, ...], int]]:
        """(world, fingerprint) pairs in insertion order."""
        yield from zip(self._worlds, self._fps)
        for path in self._files:
            for row in np.load(path).tolist():
                yield tuple(row[:-1]), row[-1]
        for row in self._pending:
            yield row[:-1], row[-1]

    def close(self) -> None:
        """Forget the level and delete its spill files."""
        self._worlds = []
        self._fps = []
        self._pending = []
        self._files = []
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
