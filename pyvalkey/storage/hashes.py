"""The hash value: fields, Valkey's listpack/hashtable encoding, and Valkey 9's per-field TTLs.

* ``data`` maps field -> value. Its insertion order is the listpack order, which HGETALL and
  friends show for listpack-encoded hashes; for hashtable-encoded ones the order is each
  server's own.
* ``listpack`` is the encoding flag. A hash converts to ``hashtable`` when an entry count or a
  field/value length passes the configured limits, or when any field gets a TTL; it never
  converts back (as in Valkey).
* Field TTLs: ``expires`` (field -> absolute deadline in ms) plus ``heap``, a min-heap of
  (deadline, field) that may hold stale entries (a TTL that was changed or removed); they are
  skipped when popped and the heap is rebuilt when they outnumber the live ones.
* Random picks (HRANDFIELD) need random access, which a dict lacks: ``arr``/``pos`` is a list of
  fields plus each field's slot, built on the first random pick of a hashtable-encoded hash and
  kept up to date from then on (removal swaps the last slot into the hole), so hashes that
  never see HRANDFIELD pay nothing for it.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

__all__ = ["HashValue"]


class HashValue:
    TYPE_NAME = b"hash"
    __slots__ = ("arr", "data", "expires", "heap", "listpack", "pos", "reg_db", "reg_deadline", "reg_key", "scans")

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.listpack = True
        self.expires: dict[bytes, int] | None = None
        self.heap: list[tuple[int, bytes]] = []
        self.arr: list[bytes] | None = None
        self.pos: dict[bytes, int] | None = None
        self.scans: Any = None  # pyvalkey.storage.sets.ScanSnapshots, for HSCAN
        # Where the active-expiry registry last filed this hash (see commands/hashes.py).
        self.reg_key: bytes | None = None
        self.reg_db = -1
        self.reg_deadline = -1

    # -- introspection -------------------------------------------------------------------------

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"hashtable"

    def __len__(self) -> int:
        return len(self.data)

    def get_expire(self, field: bytes) -> int:
        """The field's deadline in ms, -1 without one. Caller ensures the field exists."""
        expires = self.expires
        if not expires:
            return -1
        return expires.get(field, -1)

    def next_deadline(self) -> int | None:
        """The earliest live field deadline, dropping stale heap entries on the way."""
        expires = self.expires
        if not expires:
            return None
        heap = self.heap
        while heap:
            deadline, field = heap[0]
            if expires.get(field) == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    # -- writes --------------------------------------------------------------------------------

    def to_hashtable(self) -> None:
        self.listpack = False

    def set(
        self,
        field: bytes,
        value: bytes,
        max_entries: int,
        max_value: int,
        deadline: int = -1,
        keep_ttl: bool = False,
    ) -> bool:
        """hashTypeSet: store ``field``; True if it existed. The field's TTL becomes
        ``deadline`` (-1: none) unless ``keep_ttl`` keeps an existing one."""
        if self.listpack and (deadline >= 0 or len(field) > max_value or len(value) > max_value):
            self.listpack = False
        data = self.data
        existed = field in data
        data[field] = value
        if self.listpack:
            if len(data) > max_entries:
                self.listpack = False
            return existed
        if not existed and self.arr is not None:
            self.pos[field] = len(self.arr)  # type: ignore[index]
            self.arr.append(field)
        expires = self.expires
        if keep_ttl and existed:
            return existed
        if deadline >= 0:
            self.set_expire(field, deadline)
        elif expires and field in expires:
            del expires[field]
        return existed

    def set_expire(self, field: bytes, deadline: int) -> None:
        expires = self.expires
        if expires is None:
            expires = self.expires = {}
        expires[field] = deadline
        heap = self.heap
        heapq.heappush(heap, (deadline, field))
        if len(heap) > 64 and len(heap) > 2 * len(expires):
            self.heap = [(when, name) for name, when in expires.items()]
            heapq.heapify(self.heap)

    def persist(self, field: bytes) -> bool:
        expires = self.expires
        if expires and field in expires:
            del expires[field]
            return True
        return False

    def delete(self, field: bytes) -> bool:
        data = self.data
        if field not in data:
            return False
        del data[field]
        expires = self.expires
        if expires and field in expires:
            del expires[field]
        arr = self.arr
        if arr is not None:
            pos = self.pos
            slot = pos.pop(field)  # type: ignore[union-attr]
            last = arr.pop()
            if slot < len(arr):
                arr[slot] = last
                pos[last] = slot  # type: ignore[index]
        return True

    def expire_due(self, now_ms: int, budget: int) -> list[bytes]:
        """Remove up to ``budget`` fields whose deadline is at or before ``now_ms``."""
        removed: list[bytes] = []
        expires = self.expires
        if not expires:
            return removed
        heap = self.heap
        while heap and heap[0][0] <= now_ms and len(removed) < budget:
            deadline, field = heapq.heappop(heap)
            if expires.get(field) == deadline:
                self.delete(field)
                removed.append(field)
        if not expires:
            self.heap = []
        return removed

    # -- random access -------------------------------------------------------------------------

    def _index(self) -> list[bytes]:
        arr = self.arr
        if arr is None:
            arr = self.arr = list(self.data)
            self.pos = {field: slot for slot, field in enumerate(arr)}
        return arr

    def random_field(self) -> bytes:
        if self.listpack:
            fields = list(self.data)
            return fields[random.randrange(len(fields))]
        arr = self._index()
        return arr[random.randrange(len(arr))]

    def sample(self, count: int) -> list[bytes]:
        """``count`` distinct random fields (count < len)."""
        if self.listpack:
            return random.sample(list(self.data), count)
        return random.sample(self._index(), count)

    def copy(self) -> HashValue:
        other = HashValue()
        other.data = dict(self.data)
        other.listpack = self.listpack
        if self.expires:
            other.expires = dict(self.expires)
            other.heap = [(when, name) for name, when in other.expires.items()]
            heapq.heapify(other.heap)
        return other

    def __repr__(self) -> str:
        return f"HashValue({self.encoding().decode()}, {self.data!r}, ttl={self.expires!r})"
