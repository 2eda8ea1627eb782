"""The stream value (``TYPE`` ``stream``): entries keyed by (ms, seq) IDs plus consumer groups.

Layout. Live entry IDs are kept ascending in a Python list read from ``_head`` on (trimming
from the front just advances ``_head``; the dead prefix is dropped in bulk once it is more than
half of the list), and each ID maps to its flat ``[field, value, ...]`` list in ``entries``.
Range lookups are two bisections, so XRANGE/XREAD cost O(log n + returned).

Valkey keeps entries in listpack "nodes" of a radix tree, and some replies depend on where the
node boundaries fall: approximate trimming (``MAXLEN ~`` / ``MINID ~``) only drops whole nodes,
and XINFO reports the number of nodes. ``_Node`` models one listpack: its first (primary) ID,
its primary field names, live and deleted counts, the ID of its last entry (deleted or not) and
its size in bytes, computed with the listpack element sizes Valkey would use, so a new node is
started exactly when Valkey starts one (``stream-node-max-bytes`` / ``stream-node-max-entries``).
Deleting marks an entry deleted in its node (a tombstone) and drops the node when nothing live
is left, as Valkey does; exact trimming marks entries of the first remaining node the same way.

Consumer groups: each group has a last-delivered ID, an ``entries_read`` counter (-1 when
unknown), a pending entries list (PEL: ID -> ``Nack``, kept sorted) and consumers, each with its
own sorted PEL sharing the same ``Nack`` objects. Valkey keeps groups and consumers in radix
trees, so they are listed in byte order of their names.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedDict

from pyvalkey.storage.lists import entry_size

__all__ = [
    "INVALID_ENTRIES_READ",
    "MAX_ID",
    "Consumer",
    "ConsumerGroup",
    "Nack",
    "StreamID",
    "StreamValue",
    "format_id",
]

StreamID = tuple[int, int]
UINT64_MAX = 2**64 - 1
MAX_ID: StreamID = (UINT64_MAX, UINT64_MAX)
ZERO_ID: StreamID = (0, 0)
INVALID_ENTRIES_READ = -1
LISTPACK_MAX_SIZE = 1 << 30  # Valkey's cap for one stream node
_LP_EMPTY = 7  # listpack header (6 bytes) + end marker (1 byte)

# Flags Valkey writes in front of every node entry: 0 (fields spelled out) or 2 (same fields as
# the node's primary entry); both take one byte plus the back-length byte.
_FLAGS_SIZE = 2


def format_id(entry_id: StreamID) -> bytes:
    return b"%d-%d" % entry_id


def _int_size(value: int) -> int:
    """Bytes an integer element takes in a listpack."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2147483648 <= value <= 2147483647:
        return 6
    return 10


def _signed64(value: int) -> int:
    """The value a 64-bit unsigned difference reads back as when stored as a signed integer."""
    value &= UINT64_MAX
    return value - (1 << 64) if value >= 1 << 63 else value


class _Node:
    """One modelled listpack node (see the module docstring)."""

    __slots__ = ("deleted", "fields", "last_id", "live", "primary_id", "size")

    def __init__(self, primary_id: StreamID, fields: tuple[bytes, ...]) -> None:
        self.primary_id = primary_id
        self.fields = fields
        self.live = 0
        self.deleted = 0
        self.last_id = primary_id
        # Bytes of everything except the two counters in front (live, deleted), whose size
        # depends on their current values.
        self.size = _LP_EMPTY + _int_size(len(fields)) + sum(entry_size(f) for f in fields) + 2

    def total_bytes(self) -> int:
        return self.size + _int_size(self.live) + _int_size(self.deleted)

    def copy(self) -> _Node:
        node = _Node.__new__(_Node)
        node.primary_id = self.primary_id
        node.fields = self.fields
        node.live = self.live
        node.deleted = self.deleted
        node.last_id = self.last_id
        node.size = self.size
        return node


class Nack:
    """A pending (delivered, not yet acknowledged) entry."""

    __slots__ = ("consumer", "delivery_count", "delivery_time")

    def __init__(self, consumer: Consumer | None, delivery_time: int, delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("active_time", "name", "pel", "seen_time")

    def __init__(self, name: bytes, now_ms: int) -> None:
        self.name = name
        self.pel: SortedDict = SortedDict()  # StreamID -> Nack (shared with the group's PEL)
        self.seen_time = now_ms
        self.active_time = -1


class ConsumerGroup:
    __slots__ = ("consumers", "entries_read", "last_id", "pel")

    def __init__(self, last_id: StreamID, entries_read: int) -> None:
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict = SortedDict()  # StreamID -> Nack
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        return [self.consumers[name] for name in sorted(self.consumers)]

    def drop_pending(self, entry_id: StreamID) -> None:
        nack = self.pel.pop(entry_id)
        if nack.consumer is not None:
            nack.consumer.pel.pop(entry_id, None)


class StreamValue:
    TYPE_NAME = b"stream"

    __slots__ = (
        "_head",
        "entries",
        "entries_added",
        "first_id",
        "groups",
        "ids",
        "last_id",
        "max_deleted_id",
        "node_keys",
        "nodes",
    )

    def __init__(self) -> None:
        self.ids: list[StreamID] = []  # live IDs ascending, valid from _head on
        self._head = 0
        self.entries: dict[StreamID, list[bytes]] = {}
        self.nodes: list[_Node] = []
        self.node_keys: list[StreamID] = []  # primary IDs of ``nodes``, for bisection
        self.last_id: StreamID = ZERO_ID
        self.first_id: StreamID = ZERO_ID
        self.max_deleted_id: StreamID = ZERO_ID
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] | None = None

    # -- generic -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def encoding(self) -> bytes:
        return b"stream"

    def copy(self) -> StreamValue:
        other = StreamValue()
        other.ids = self.ids[self._head :]
        other.entries = {key: list(fields) for key, fields in self.entries.items()}
        other.nodes = [node.copy() for node in self.nodes]
        other.node_keys = list(self.node_keys)
        other.last_id = self.last_id
        other.first_id = self.first_id
        other.max_deleted_id = self.max_deleted_id
        other.entries_added = self.entries_added
        if self.groups is not None:
            other.groups = {}
            for name, group in self.groups.items():
                clone = ConsumerGroup(group.last_id, group.entries_read)
                for cname, consumer in group.consumers.items():
                    twin = Consumer(cname, consumer.seen_time)
                    twin.active_time = consumer.active_time
                    clone.consumers[cname] = twin
                for entry_id, nack in group.pel.items():
                    owner = clone.consumers[nack.consumer.name] if nack.consumer is not None else None
                    copied = Nack(owner, nack.delivery_time, nack.delivery_count)
                    clone.pel[entry_id] = copied
                    if owner is not None:
                        owner.pel[entry_id] = copied
                other.groups[name] = clone
        return other

    # -- reading -------------------------------------------------------------------------------

    def get(self, entry_id: StreamID) -> list[bytes] | None:
        return self.entries.get(entry_id)

    def last_live_id(self) -> StreamID:
        """The greatest ID still in the stream (0-0 when empty)."""
        return self.ids[-1] if len(self.ids) > self._head else ZERO_ID

    def first_live_id(self) -> StreamID:
        return self.ids[self._head] if len(self.ids) > self._head else ZERO_ID

    def range(
        self, start: StreamID, end: StreamID, count: int = 0, rev: bool = False
    ) -> Iterator[tuple[StreamID, list[bytes]]]:
        """Entries with start <= ID <= end, ascending (or descending with ``rev``); ``count``
        0 means no limit."""
        if start > end:
            return
        ids = self.ids
        lo = bisect_left(ids, start, self._head)
        hi = bisect_right(ids, end, lo)
        if count and hi - lo > count:
            if rev:
                lo = hi - count
            else:
                hi = lo + count
        entries = self.entries
        if rev:
            for index in range(hi - 1, lo - 1, -1):
                key = ids[index]
                yield key, entries[key]
        else:
            for index in range(lo, hi):
                key = ids[index]
                yield key, entries[key]

    def has_tombstones_in(self, start: StreamID) -> bool:
        """Valkey's check for a deleted entry at or after ``start`` (by the max deleted ID)."""
        # Valkey 9 no longer treats a tombstone before the first entry as harmless here.
        mdi = self.max_deleted_id
        if not self.entries or mdi == ZERO_ID:
            return False
        return start <= mdi

    def estimate_entries_read(self, entry_id: StreamID) -> int:
        """How many entries were ever added up to ``entry_id``, when that can be known; else
        ``INVALID_ENTRIES_READ``."""
        if not self.entries_added:
            return 0
        if not self.entries and entry_id <= self.last_id:
            return self.entries_added
        mdi = self.max_deleted_id
        if entry_id != ZERO_ID and entry_id < mdi:
            return INVALID_ENTRIES_READ  # a deletion lies between the ID and the end
        if entry_id == self.last_id:
            return self.entries_added
        if entry_id > self.last_id:
            return INVALID_ENTRIES_READ
        if mdi == ZERO_ID or mdi < self.first_id:
            if entry_id < self.first_id:
                return self.entries_added - len(self.entries)
            if entry_id == self.first_id:
                return self.entries_added - len(self.entries) + 1
        return INVALID_ENTRIES_READ

    def lag(self, group: ConsumerGroup) -> int | None:
        """Entries not yet delivered to ``group``, or None when that cannot be told."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones_in(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimate_entries_read(group.last_id)
        if read != INVALID_ENTRIES_READ:
            return self.entries_added - read
        return None

    def node_count(self) -> int:
        return len(self.nodes)

    # -- writing -------------------------------------------------------------------------------

    def next_auto_id(self, now_ms: int) -> StreamID | None:
        """The ID ``*`` stands for, or None when the ID space is exhausted."""
        ms, seq = self.last_id
        if now_ms > ms:
            return (now_ms, 0)
        if seq == UINT64_MAX:
            if ms == UINT64_MAX:
                return None
            return (ms + 1, 0)
        return (ms, seq + 1)

    def append(self, entry_id: StreamID, pairs: list[bytes], max_bytes: int, max_entries: int) -> None:
        """Add an entry whose ID is known to be greater than ``last_id``."""
        nfields = len(pairs) // 2
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            total = 0
            for item in pairs:
                total += len(item)
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if node.total_bytes() + total >= limit or max_entries and node.live + node.deleted >= max_entries:
                node = None
        fields = pairs[0::2]
        if node is None:
            node = _Node(entry_id, tuple(fields))
            self.nodes.append(node)
            self.node_keys.append(entry_id)
            same = True
        else:
            same = node.fields == tuple(fields)
        size = _FLAGS_SIZE
        size += _int_size(_signed64(entry_id[0] - node.primary_id[0]))
        size += _int_size(_signed64(entry_id[1] - node.primary_id[1]))
        if same:
            for value in pairs[1::2]:
                size += entry_size(value)
            size += _int_size(nfields + 3)
        else:
            size += _int_size(nfields)
            for item in pairs:
                size += entry_size(item)
            size += _int_size(2 * nfields + 4)
        node.size += size
        node.live += 1
        node.last_id = entry_id
        self.ids.append(entry_id)
        self.entries[entry_id] = pairs
        self.entries_added += 1
        self.last_id = entry_id
        if len(self.entries) == 1:
            self.first_id = entry_id

    def delete(self, entry_id: StreamID) -> bool:
        """XDEL of one ID: True if it was there."""
        if self.entries.pop(entry_id, None) is None:
            return False
        ids = self.ids
        index = bisect_left(ids, entry_id, self._head)
        if index == self._head:
            self._advance(1)
        else:
            del ids[index]
        node_index = bisect_right(self.node_keys, entry_id) - 1
        node = self.nodes[node_index]
        if node.live == 1:
            del self.nodes[node_index]
            del self.node_keys[node_index]
        else:
            node.live -= 1
            node.deleted += 1
        return True

    def _advance(self, count: int) -> None:
        """Forget the first ``count`` live IDs of the list (their entries are already gone)."""
        self._head += count
        head = self._head
        if head >= len(self.ids):
            self.ids = []
            self._head = 0
        elif head > 64 and head * 2 > len(self.ids):
            del self.ids[:head]
            self._head = 0

    def _drop_front(self, count: int) -> None:
        """Remove the first ``count`` live entries (a trim)."""
        ids = self.ids
        entries = self.entries
        head = self._head
        for index in range(head, head + count):
            del entries[ids[index]]
        self._advance(count)

    def trim(self, maxlen: int | None, minid: StreamID | None, approx: bool, limit: int) -> int:
        """MAXLEN (``maxlen``) or MINID (``minid``) trimming as Valkey does it; returns the
        number of entries removed. ``limit`` 0 means no limit on the work."""
        deleted = 0
        nodes = self.nodes
        removed_nodes = 0
        for node in nodes:
            length = len(self.entries)
            if maxlen is not None and length <= maxlen:
                break
            live = node.live
            if limit and deleted + live > limit:
                break
            if maxlen is not None:
                whole = length - live >= maxlen
            else:
                whole = node.last_id < minid  # type: ignore[operator]
            if whole:
                self._drop_front(live)
                deleted += live
                removed_nodes += 1
                continue
            if approx:
                break
            # Mark entries of this node deleted until the target is met.
            if maxlen is not None:
                drop = length - maxlen
            else:
                drop = bisect_left(self.ids, minid, self._head) - self._head
                drop = min(drop, live)
            if drop > 0:
                self._drop_front(drop)
                node.live -= drop
                node.deleted += drop
                deleted += drop
            break
        if removed_nodes:
            del nodes[:removed_nodes]
            del self.node_keys[:removed_nodes]
        if not self.entries:
            self.first_id = ZERO_ID
        elif deleted:
            self.first_id = self.ids[self._head]
        return deleted

    # -- consumer groups -----------------------------------------------------------------------

    def group(self, name: bytes) -> ConsumerGroup | None:
        groups = self.groups
        return groups.get(name) if groups is not None else None

    def sorted_groups(self) -> list[tuple[bytes, ConsumerGroup]]:
        groups = self.groups
        if not groups:
            return []
        return [(name, groups[name]) for name in sorted(groups)]
