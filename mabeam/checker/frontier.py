"""One breadth-first level of worlds, held compactly and spilled to disk past a size.

Worlds are tuples of 64-bit component fingerprints, each kept with its own
fingerprint. The first :data:`TUPLES` worlds of a level stay as tuples (the
fastest form to expand, and all a model of a few million states needs);
beyond that they are packed, :data:`CHUNK` at a time, into ``uint64`` arrays
of fixed width (the world, then its fingerprint), half the size of the tuples, and once the packed level passes
``spill_bytes`` the arrays go to a temporary directory. A level is read
once, in insertion order, and each chunk is freed as soon as it is read, so
a wide level costs disk, not memory, and the level being expanded shrinks
while the next one grows.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

TUPLES = 1 << 18
CHUNK = 1 << 15


class Frontier:
    """Worlds of one level in insertion order: tuples first, then packed chunks in memory or on disk."""

    def __init__(self, width: int, spill_bytes: int | None) -> None:
        self.width = width
        self.spill_bytes = spill_bytes
        self._worlds: list[tuple[int, ...]] = []
        self._fps: list[int] = []
        self._chunks: list[np.ndarray | Path] = []
        self._pending: list[tuple[int, ...]] = []
        self._dir: Path | None = None
        self._count = 0
        self._packed_bytes = 0
        self.spilled = 0

    def __len__(self) -> int:
        return self._count

    @property
    def memory_bytes(self) -> int:
        """An estimate of what the level holds in memory now."""
        tuples = (len(self._worlds) + len(self._pending)) * (sys.getsizeof((0,) * self.width) + 48)
        return tuples + self._packed_bytes

    def append(self, world: tuple[int, ...], fp: int) -> None:
        self._count += 1
        if len(self._worlds) < TUPLES and not self._chunks and not self._pending:
            self._worlds.append(world)
            self._fps.append(fp)
            return
        self._pending.append((*world, fp))
        if len(self._pending) >= CHUNK:
            self._pack()

    def extend(self, worlds: list[tuple[int, ...]], fps: list[int]) -> None:
        """Append many (the search's batches)."""
        room = TUPLES - len(self._worlds) if not self._chunks and not self._pending else 0
        if room > 0:
            self._worlds += worlds[:room]
            self._fps += fps[:room]
            self._count += min(room, len(worlds))
            worlds, fps = worlds[room:], fps[room:]
        for world, fp in zip(worlds, fps):
            self.append(world, fp)

    def take(self, count: int) -> tuple[list[tuple[int, ...]], list[int]]:
        """Remove up to ``count`` worlds (the newest tuples first) to hand them to another worker."""
        if not self._worlds:
            return [], []
        count = min(count, len(self._worlds))
        worlds, fps = self._worlds[-count:], self._fps[-count:]
        del self._worlds[-count:], self._fps[-count:]
        self._count -= count
        return worlds, fps

    def _pack(self) -> None:
        packed = np.array(self._pending, dtype=np.uint64).reshape(-1, self.width + 1)
        self._pending = []
        if self.spill_bytes is not None and self._packed_bytes + packed.nbytes > self.spill_bytes:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="mabeam-frontier-"))
            path = self._dir / f"chunk-{len(self._chunks)}.npy"
            np.save(path, packed)
            self._chunks.append(path)
            self.spilled += len(packed)
        else:
            self._chunks.append(packed)
            self._packed_bytes += packed.nbytes

    def __iter__(self) -> Iterator[tuple[tuple[int, ...], int]]:
        """(world, fingerprint) pairs in insertion order; the level is consumed as it is read."""
        worlds, fps = self._worlds, self._fps
        self._worlds, self._fps = [], []
        yield from zip(worlds, fps)
        del worlds, fps
        while self._chunks:
            chunk = self._chunks.pop(0)
            if isinstance(chunk, Path):
                rows = np.load(chunk)
                chunk.unlink()
            else:
                rows = chunk
                self._packed_bytes -= chunk.nbytes
            listed = rows.tolist()
            del rows, chunk
            for row in listed:
                yield tuple(row[:-1]), row[-1]
        pending, self._pending = self._pending, []
        for row in pending:
            yield row[:-1], row[-1]

    def close(self) -> None:
        """Forget the level and delete its spill files."""
        self._worlds, self._fps, self._pending, self._chunks = [], [], [], []
        self._packed_bytes = 0
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
