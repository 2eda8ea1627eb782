"""SCAN over a database's keys (the cursor and option parsing, shared with HSCAN/SSCAN/ZSCAN, is
``parse_cursor``/``parse_scan_options`` in ``pyvalkey.commands.keys``).

Valkey's cursor is a position in its hash table, walked in reverse-binary order so that a scan
survives rehashing. A Python dict has no such stable position, so cursors here name a
*snapshot* instead:

* ``SCAN 0`` on a database with at most COUNT keys answers everything at once with cursor 0.
* Otherwise it copies the key list (one list of references: O(n) once per scan, not per call),
  stores it in the database's small cursor table (``Database.scan_cursors``) under a fresh id
  and returns the cursor ``id << 32 | position``. Each later call examines the next COUNT
  snapshot entries and returns those that still exist, have not expired and pass MATCH/TYPE.
  The scan ends (cursor 0) when the snapshot is exhausted, and the snapshot is dropped.
* Every key present from the first call to the last is in the snapshot, so it is returned:
  SCAN's guarantee. Keys added meanwhile are not returned; keys deleted meanwhile are skipped.
* The table is bounded (count and total size, least recently used out first). An evicted scan
  leaves a tombstone: the database's removal counter when its snapshot was taken. Python dicts
  keep surviving keys in insertion order and append new ones, so each removal since then moved
  an unseen key at most one place forward; the scan resumes from a fresh snapshot, examining
  from ``position - removals since`` to ``position + COUNT``: it never skips a key, still
  advances (repeats and over-long pages are allowed by SCAN). A cursor never issued here (made
  up, or from another database) restarts at position 0.
* FLUSHDB/FLUSHALL drop the table with the data; SWAPDB moves it with the data.

Cursors stay below 2**63 so that clients that parse them as signed integers are happy.
Expired keys met by a scan are deleted (lazy expiry), as Valkey does, and never returned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.storage.database import type_name

if TYPE_CHECKING:
    from pyvalkey.storage.database import Database

__all__ = ["TYPE_NAMES", "ScanOptions", "scan_keys"]

TYPE_NAMES = frozenset((b"string", b"list", b"set", b"zset", b"hash", b"stream"))

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_ID_LIMIT = 1 << 31
_MAX_SNAPSHOTS = 16
# Snapshots may hold this many key references beyond a few times the database size.
_SLACK_ENTRIES = 4096
_MAX_TOMBSTONES = 1024


class ScanOptions:
    __slots__ = ("count", "match", "no_values", "type")

    def __init__(self) -> None:
        self.count = 10
        self.match: Callable[[bytes], Any] | None = None  # None: everything matches
        self.type: bytes | None = None
        self.no_values = False  # HSCAN NOVALUES / ZSCAN NOSCORES


class _Snapshots:
    """A database's live scans, least recently used first: id -> (key list, ``db.removals`` when
    taken). Evicted scans leave a tombstone (id -> removals) so that they can resume."""

    __slots__ = ("entries", "next_id", "table", "tombstones")

    def __init__(self) -> None:
        self.table: OrderedDict[int, tuple[list[bytes], int]] = OrderedDict()
        self.tombstones: OrderedDict[int, int] = OrderedDict()
        self.entries = 0
        self.next_id = 1

    def add(self, keys: list[bytes], removals: int, db_size: int) -> int:
        snapshot_id = self.next_id
        self.next_id = snapshot_id + 1 if snapshot_id + 1 < _ID_LIMIT else 1
        self.drop(snapshot_id)
        self.tombstones.pop(snapshot_id, None)
        self.table[snapshot_id] = (keys, removals)
        self.entries += len(keys)
        limit = 4 * db_size + _SLACK_ENTRIES
        while len(self.table) > 1 and (len(self.table) > _MAX_SNAPSHOTS or self.entries > limit):
            old_id, (old, old_removals) = self.table.popitem(last=False)
            self.entries -= len(old)
            self.tombstones[old_id] = old_removals
            if len(self.tombstones) > _MAX_TOMBSTONES:
                self.tombstones.popitem(last=False)
        return snapshot_id

    def get(self, snapshot_id: int) -> list[bytes] | None:
        entry = self.table.get(snapshot_id)
        if entry is None:
            return None
        self.table.move_to_end(snapshot_id)
        return entry[0]

    def drop(self, snapshot_id: int) -> None:
        entry = self.table.pop(snapshot_id, None)
        if entry is not None:
            self.entries -= len(entry[0])


def _snapshots(db: Database) -> _Snapshots:
    table = db.scan_cursors
    if table is None:
        table = db.scan_cursors = _Snapshots()
    return table  # type: ignore[no-any-return]


def scan_keys(db: Database, cursor: int, options: ScanOptions) -> tuple[int, list[bytes]]:
    """One SCAN step over ``db``: (next cursor, keys)."""
    data = db.data
    count = options.count
    snapshot: list[bytes] | None = None
    snapshot_id = 0
    position = 0
    rewind = 0
    if cursor:
        table = db.scan_cursors
        snapshot_id = cursor >> _POSITION_BITS
        position = cursor & _POSITION_MASK
        if table is not None:
            snapshot = table.get(snapshot_id)
            if snapshot is None:
                taken_at = table.tombstones.pop(snapshot_id, None)
                if taken_at is not None:
                    # Evicted: keys still unseen sat at ``position`` or later in the old
                    # snapshot. Dict order keeps surviving keys in order and appends new ones,
                    # so each removal since moved them at most one place forward. Examine
                    # the rewound stretch too (repeats are allowed), so the scan still
                    # advances by COUNT.
                    rewind = min(position, db.removals - taken_at)
                    snapshot = list(data)
                    snapshot_id = table.add(snapshot, db.removals, len(data))
        if snapshot is None or position > len(snapshot):
            # Never issued here (or from another database): start over rather than skip keys.
            cursor = 0
            position = 0
            snapshot = None
    if cursor == 0:
        if len(data) <= count:
            return 0, _filter(db, list(data), options)
        snapshot = list(data)
        snapshot_id = _snapshots(db).add(snapshot, db.removals, len(data))
    assert snapshot is not None
    end = position + count
    candidates = snapshot[position - rewind : end]
    if end >= len(snapshot):
        _snapshots(db).drop(snapshot_id)
        next_cursor = 0
    else:
        next_cursor = snapshot_id << _POSITION_BITS | end
    return next_cursor, _filter(db, candidates, options)


def _filter(db: Database, candidates: list[bytes], options: ScanOptions) -> list[bytes]:
    data = db.data
    expires = db.expires
    match = options.match
    wanted_type = options.type
    result = []
    for key in candidates:
        value = data.get(key)
        if value is None:
            continue
        if match is not None and match(key) is None:
            continue
        if wanted_type is not None and type_name(value) != wanted_type:
            continue
        # Expired keys that made it this far are deleted (Valkey filters them after matching).
        if expires and key in expires and db.lookup(key) is None:
            continue
        result.append(key)
    return result
