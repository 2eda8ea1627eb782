"""SCAN over a database's keys, and the cursor/option parsing shared by SCAN, HSCAN, SSCAN, ZSCAN.

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
* The table is bounded (count and total size, least recently used out first). A cursor that is
  unknown (evicted, from another database, or made up) restarts the scan from a fresh snapshot
  at position 0: the guarantee still holds, at the price of repeated keys, which SCAN allows.
* FLUSHDB/FLUSHALL drop the table with the data; SWAPDB moves it with the data.

Cursors stay below 2**63 so that clients that parse them as signed integers are happy.
Expired keys met by a scan are deleted (lazy expiry), as Valkey does, and never returned.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.parsing import parse_int
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.storage.database import type_name
from pyvalkey.storage.glob import compile_glob

if TYPE_CHECKING:
    from pyvalkey.storage.database import Database

__all__ = ["TYPE_NAMES", "ScanOptions", "parse_cursor", "parse_scan_options", "scan_keys"]

UINT64_MAX = 2**64 - 1
TYPE_NAMES = frozenset((b"string", b"list", b"set", b"zset", b"hash", b"stream"))

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_ID_LIMIT = 1 << 31
_MAX_SNAPSHOTS = 16
# Snapshots may hold this many key references beyond a few times the database size.
_SLACK_ENTRIES = 4096


def parse_cursor(arg: bytes) -> int:
    """Valkey's string2ull: a canonical non-negative int64, else anything C's strtoull takes
    whole (leading spaces, a sign, leading zeros; a negative value wraps), below 2**64."""
    value = parse_int(arg)
    if value is not None:
        if value < 0:
            raise ErrorReply(msg.INVALID_CURSOR)
        return value
    text = arg.split(b"\0", 1)[0]  # C stops at the first NUL
    stripped = text.lstrip(b" \t\n\v\f\r")
    sign = 1
    if stripped[:1] in (b"+", b"-"):
        sign = -1 if stripped[:1] == b"-" else 1
        stripped = stripped[1:]
    if not stripped or not stripped.isdigit():
        raise ErrorReply(msg.INVALID_CURSOR)
    value = int(stripped)
    if value > UINT64_MAX:
        raise ErrorReply(msg.INVALID_CURSOR)
    return (sign * value) % (UINT64_MAX + 1)


class ScanOptions:
    __slots__ = ("count", "match", "no_values", "type")

    def __init__(self) -> None:
        self.count = 10
        self.match: Callable[[bytes], Any] | None = None  # None: everything matches
        self.type: bytes | None = None
        self.no_values = False  # HSCAN NOVALUES / ZSCAN NOSCORES


def parse_scan_options(argv: list[bytes], start: int, command: bytes = b"scan") -> ScanOptions:
    """Parse ``[MATCH p] [COUNT n] [TYPE t] [NOVALUES] [NOSCORES]`` from ``argv[start:]`` with
    Valkey's errors; ``command`` (scan/hscan/sscan/zscan) decides which options are allowed."""
    options = ScanOptions()
    argc = len(argv)
    i = start
    while i < argc:
        word = argv[i].lower()
        has_value = argc - i >= 2
        if word == b"count" and has_value:
            count = parse_int(argv[i + 1])
            if count is None:
                raise ErrorReply(msg.NOT_INTEGER)
            if count < 1:
                raise ErrorReply(msg.SYNTAX)
            options.count = count
            i += 2
        elif word == b"match" and has_value:
            pattern = argv[i + 1]
            options.match = None if pattern == b"*" else compile_glob(pattern)
            i += 2
        elif word == b"type" and command == b"scan" and has_value:
            name = argv[i + 1]
            lowered = name.lower()
            if lowered not in TYPE_NAMES:
                raise ErrorReply(msg.UNKNOWN_TYPE_NAME % name)
            options.type = lowered
            i += 2
        elif word == b"novalues":
            if command != b"hscan":
                raise ErrorReply(msg.NOVALUES_HSCAN_ONLY)
            options.no_values = True
            i += 1
        elif word == b"noscores":
            if command != b"zscan":
                raise ErrorReply(msg.NOSCORES_ZSCAN_ONLY)
            options.no_values = True
            i += 1
        else:
            raise ErrorReply(msg.SYNTAX)
    return options


class _Snapshots:
    """A database's live scans: id -> key list, least recently used first."""

    __slots__ = ("entries", "next_id", "table")

    def __init__(self) -> None:
        self.table: OrderedDict[int, list[bytes]] = OrderedDict()
        self.entries = 0
        self.next_id = 1

    def add(self, keys: list[bytes], db_size: int) -> int:
        snapshot_id = self.next_id
        self.next_id = snapshot_id + 1 if snapshot_id + 1 < _ID_LIMIT else 1
        self.table.pop(snapshot_id, None)
        self.table[snapshot_id] = keys
        self.entries += len(keys)
        limit = 4 * db_size + _SLACK_ENTRIES
        while len(self.table) > 1 and (len(self.table) > _MAX_SNAPSHOTS or self.entries > limit):
            _, old = self.table.popitem(last=False)
            self.entries -= len(old)
        return snapshot_id

    def get(self, snapshot_id: int) -> list[bytes] | None:
        keys = self.table.get(snapshot_id)
        if keys is not None:
            self.table.move_to_end(snapshot_id)
        return keys

    def drop(self, snapshot_id: int) -> None:
        keys = self.table.pop(snapshot_id, None)
        if keys is not None:
            self.entries -= len(keys)


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
    if cursor:
        table = db.scan_cursors
        snapshot_id = cursor >> _POSITION_BITS
        position = cursor & _POSITION_MASK
        if table is not None:
            snapshot = table.get(snapshot_id)
        if snapshot is None or position > len(snapshot):
            # Unknown or evicted: start over rather than risk skipping keys.
            cursor = 0
            position = 0
            snapshot = None
    if cursor == 0:
        if len(data) <= count:
            return 0, _filter(db, list(data), options)
        snapshot = list(data)
        snapshot_id = _snapshots(db).add(snapshot, len(data))
    assert snapshot is not None
    end = position + count
    candidates = snapshot[position:end]
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
