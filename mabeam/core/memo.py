"""Verdict memos that live exactly as long as the protocol instance they judge.

Property checks over immutable node states are memoised because the model
checker meets the same node states under many global states. Keying a global
cache on the protocol object would keep every finished session alive in a
long-running process, so each protocol instance gets its own bounded table,
held through a weak reference and dropped with the instance.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any
from weakref import WeakKeyDictionary


class ProtocolMemo:
    """``memo.get(protocol, key, compute)``: a bounded per-protocol table of computed verdicts."""

    def __init__(self, limit: int = 1 << 16) -> None:
        if limit < 1:
            raise ValueError("a memo needs room for at least one entry")
        self.limit = limit
        self._tables: WeakKeyDictionary[Any, dict[Hashable, Any]] = WeakKeyDictionary()

    def get(self, protocol: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
        table = self._tables.get(protocol)
        if table is None:
            table = self._tables[protocol] = {}
        try:
            return table[key]
        except KeyError:
            if len(table) >= self.limit:
                table.clear()  # a cache, not a record: starting over only costs recomputation
            value = table[key] = compute()
            return value

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a checker worker in another process) without its tables: they are caches."""
        return {"limit": self.limit}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.limit = state["limit"]
        self._tables = WeakKeyDictionary()

    def tables(self) -> int:
        """How many protocol instances currently hold a table (for leak tests)."""
        return len(self._tables)
