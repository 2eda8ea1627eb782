"""The expiry heap's pure-Python form: (deadline ms, key) entries, earliest first.

A database pushes an entry for every deadline it sets and pops the due ones in its active
expiry cycle (``Database.expire_due``); entries made stale by PERSIST or a new deadline stay
until popped, and the database rebuilds the heap from its deadlines when they outnumber the
live ones. Equal deadlines come out in key order, as the tuples compare.

The compiled build uses ``DeadlineHeap`` from pyvalkey/_speedups/keytable.pyx instead (16 bytes
an entry with the deadline inline, against a tuple, its slot and an int here); both are held
to the same pop order by tests/test_keytable.py. ``pyvalkey._speedups.new_deadline_heap`` picks.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

__all__ = ["DeadlineHeap"]


class DeadlineHeap:
    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[int, Any]] = []

    def __len__(self) -> int:
        return len(self.entries)

    def push(self, deadline_ms: int, key: Any) -> None:
        heapq.heappush(self.entries, (deadline_ms, key))

    def pop_due(self, now_ms: int) -> tuple[int, Any] | None:
        """The earliest entry when its deadline is ``now_ms`` or earlier (removed), else None."""
        entries = self.entries
        if entries and entries[0][0] <= now_ms:
            return heapq.heappop(entries)
        return None

    def rebuild(self, deadlines: Mapping[Any, int]) -> None:
        """Exactly one entry per key of ``deadlines`` (key -> deadline ms)."""
        self.entries = [(deadline, key) for key, deadline in deadlines.items()]
        heapq.heapify(self.entries)
