"""The keyspace: numbered databases of key -> value with absolute expiry times.

Value representation (compact, because a server holds millions of keys):

* strings are ``bytes`` (Valkey's ``int``/``embstr`` encodings) or ``bytearray`` once they have
  been modified in place by APPEND or SETRANGE (Valkey's ``raw``);
* other types are objects from ``pyvalkey.storage.types`` that report their own type name and
  encoding.

All writes go through ``Database`` (``set``, ``add``, ``delete``, ``set_expire``, ``persist``) or
are announced with ``signal_modified`` after an in-place change, so WATCH, keyspace
notifications, client-side caching, blocked-client wakeups and the dirty counter hook in at one
place: ``Keyspace``.

Last-access times (the LRU clock behind OBJECT IDLETIME, OBJECT FREQ's decay, DEBUG OBJECT and
eviction) cost nothing per key for keys written once and not read since: ``data`` keeps keys in
insertion order, so a new key only records a "run" start when the clock moved since the previous
new key (``Database.runs``: first key of the run -> clock), and its time is that of the run it
falls in. Keys read, overwritten or moved get an explicit entry in ``Database.access``. Asking
``access`` for a key known only through its run is answered from the run when the key is among
the last ones written (before a RENAME of a new key, say); otherwise, and when a run's first key
is removed while keys follow it, the database converts to explicit entries in one pass
(``materialize_access``) and stays so until emptied: such workloads pay once and then cost what
an entry per key costs. Loading 1M small string keys takes about 138 bytes a key this way
instead of 180 (121 with the compiled ``KeyTable`` in place of the dict: ``data`` is whichever
table ``pyvalkey._speedups.new_keytable`` gives, and both keep insertion order; ``expires`` is a
dict or the compiled ``DeadlineTable``, and the expiry heap is pyvalkey/storage/deadlines.py or
its compiled twin, so a key with a TTL costs about 161 bytes in the compiled build).

Expiry is lazy (every lookup checks the deadline, using the time cached for the current
command, as Valkey does) and active: ``Keyspace.active_expire_cycle`` pops a min-heap of
deadlines, so keys that nobody reads still go away on time. The heap may hold stale entries
(after PERSIST or a new TTL); they are skipped when popped and the heap is rebuilt when they
outnumber the live ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from pyvalkey._speedups import new_deadline_heap, new_deadline_table, new_keytable

if TYPE_CHECKING:
    from pyvalkey.clock import Clock

__all__ = ["Database", "Keyspace", "type_name"]

# Keyspace notification classes (notify-keyspace-events flags).
NOTIFY_KEYSPACE = 1 << 0  # K
NOTIFY_KEYEVENT = 1 << 1  # E
NOTIFY_GENERIC = 1 << 2  # g
NOTIFY_STRING = 1 << 3  # $
NOTIFY_LIST = 1 << 4  # l
NOTIFY_SET = 1 << 5  # s
NOTIFY_HASH = 1 << 6  # h
NOTIFY_ZSET = 1 << 7  # z
NOTIFY_EXPIRED = 1 << 8  # x
NOTIFY_EVICTED = 1 << 9  # e
NOTIFY_STREAM = 1 << 10  # t
NOTIFY_KEY_MISS = 1 << 11  # m
NOTIFY_LOADED = 1 << 12  # module only
NOTIFY_MODULE = 1 << 13  # d
NOTIFY_NEW = 1 << 14  # n


def type_name(value: Any) -> bytes:
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return b"string"
    return value.TYPE_NAME  # type: ignore[no-any-return]


_MISSING: Any = object()
# How many of the last keys of ``data`` a read of an implied clock looks through before converting
# the database to explicit entries instead.
_RUN_NEIGHBOUR_BUDGET = 64


class AccessMap(dict):  # type: ignore[type-arg]
    """key -> LRU clock (seconds) of the last access. Holds the explicit entries; ``get`` and
    ``[]`` also answer for keys whose clock is only implied by their run (see the module
    docstring), converting the database to explicit entries the first time that happens."""

    __slots__ = ("db",)

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def get(self, key: Any, default: Any = None) -> Any:
        value = dict.get(self, key, _MISSING)
        if value is not _MISSING:
            return value
        db = self.db
        if db.runs and key in db.data:
            clock = db.implied_clock(key)
            if clock is not None:
                return clock
            db.materialize_access()
            return dict.get(self, key, default)
        return default

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value


class Database:
    __slots__ = (
        "_expiry_heap",
        "access",
        "data",
        "expires",
        "implicit_access",
        "index",
        "keyspace",
        "removals",
        "run_clock",
        "runs",
        "scan_cursors",
    )

    def __init__(self, index: int, keyspace: Keyspace) -> None:
        self.index = index
        self.keyspace = keyspace
        # key -> value: a dict, or its compact compiled twin (pyvalkey/_speedups/keytable.pyx)
        self.data: dict[bytes, Any] = new_keytable()
        self.expires: dict[bytes, int] = new_deadline_table()  # key -> absolute deadline in ms
        # key -> LRU clock (seconds) of the last access, for OBJECT IDLETIME. All keys touched
        # in one second share one int object, so this costs a dict slot per key that has one.
        self.access: AccessMap = AccessMap(self)
        # Keys written once and never read since have no entry in ``access``: ``runs`` maps the
        # first such key of each second (in ``data``'s order) to that second's clock, and
        # ``run_clock`` is the clock of the run a new key joins (-1: the next new key starts one).
        # ``implicit_access`` is False once ``materialize_access`` gave every key an entry.
        self.runs: dict[bytes, int] = {}
        self.run_clock = -1
        self.implicit_access = True
        # (deadline, key) for active expiry, earliest first (pyvalkey/storage/deadlines.py)
        self._expiry_heap = new_deadline_heap()
        self.scan_cursors: Any = None  # owned by pyvalkey.storage.scan
        # Keys ever removed from ``data``: a removal moves later keys one place forward in the
        # dict's order, which lets a SCAN whose snapshot was evicted resume without skipping.
        self.removals = 0

    # -- reads -------------------------------------------------------------------------------

    def lookup(self, key: bytes) -> Any:
        """The live value of ``key`` or ``None``; expires it lazily. Counts no statistics."""
        value = self.data.get(key)
        if value is None:
            return None
        expires = self.expires
        if (
            expires
            and key in expires
            and expires[key] <= self.keyspace.now_ms
            and self.keyspace.expire_lazily(self, key)
        ):
            return None
        return value

    def lookup_read(self, key: bytes) -> Any:
        """``lookup`` for a read command: counts keyspace hits and misses and updates the LRU."""
        value = self.lookup(key)
        keyspace = self.keyspace
        if value is None:
            keyspace.misses += 1
            if keyspace.notify_flags & NOTIFY_KEY_MISS:
                keyspace.notify(self, NOTIFY_KEY_MISS, b"keymiss", key)
        else:
            keyspace.hits += 1
            if not keyspace.no_touch:
                self.access[key] = keyspace.lru_clock
        return value

    def lookup_write(self, key: bytes) -> Any:
        value = self.lookup(key)
        if value is not None and not self.keyspace.no_touch:
            self.access[key] = self.keyspace.lru_clock
        return value

    def exists(self, key: bytes) -> bool:
        return self.lookup(key) is not None

    def __len__(self) -> int:
        return len(self.data)

    def ttl_ms(self, key: bytes) -> int:
        """Remaining time to live in ms, -1 without expiry. Caller ensures the key exists."""
        deadline = self.expires.get(key)
        if deadline is None:
            return -1
        return max(deadline - self.keyspace.now_ms, 0)

    def get_expire(self, key: bytes) -> int:
        """Absolute deadline in ms, or -1."""
        return self.expires.get(key, -1)

    def random_key(self) -> bytes | None:
        """A random live key; expired keys met on the way are removed, as in Valkey."""
        import random  # here, not at start-up

        data = self.data
        for _ in range(100):
            if not data:
                return None
            key = next(islice(iter(data), random.randrange(len(data)), None))
            if self.lookup(key) is not None:
                return key
            if len(self.expires) == len(data):
                # Every key has a TTL: keep looking, each miss removed one expired key.
                continue
        return next(iter(data), None)

    def iter_keys(self) -> Iterator[bytes]:
        """Live keys, skipping (not deleting) expired ones."""
        expires = self.expires
        now = self.keyspace.now_ms
        if not expires:
            yield from list(self.data)
            return
        for key in list(self.data):
            deadline = expires.get(key)
            if deadline is None or deadline > now:
                yield key

    # -- writes ------------------------------------------------------------------------------

    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Store ``value`` at ``key``, replacing any value; the TTL is cleared unless kept."""
        data = self.data
        is_new = key not in data
        data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        keyspace = self.keyspace
        clock = keyspace.lru_clock
        if not is_new:
            self.access[key] = clock  # an existing key keeps its place, so not its run
        elif clock != self.run_clock:
            if self.implicit_access:
                self.runs[key] = clock
                self.run_clock = clock
            else:
                self.access[key] = clock
        if keyspace.hooks_active:
            keyspace.key_changed(self, key, is_new)

    def add(self, key: bytes, value: Any) -> None:
        """Store a value at a key known to be absent."""
        self.data[key] = value
        keyspace = self.keyspace
        clock = keyspace.lru_clock
        if clock != self.run_clock:
            if self.implicit_access:
                self.runs[key] = clock
                self.run_clock = clock
            else:
                self.access[key] = clock
        if keyspace.hooks_active:
            keyspace.key_changed(self, key, True)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed (expired keys count as absent)."""
        if self.lookup(key) is None:
            return False
        self.remove(key)
        keyspace = self.keyspace
        if keyspace.hooks_active:
            keyspace.key_changed(self, key, False)
        return True

    def remove(self, key: bytes) -> Any:
        """Drop ``key`` without signalling; used by the expiry paths and by ``delete``."""
        runs = self.runs
        if runs and key in runs:
            self._drop_run_start(key)
        value = self.data.pop(key, None)
        self.removals += 1
        if self.expires:
            self.expires.pop(key, None)
        self.access.pop(key, None)
        return value

    # -- last-access clocks -------------------------------------------------------------------

    def _drop_run_start(self, key: bytes) -> None:
        """``key`` starts a run and is about to be removed. When it is the last key (a key
        written and deleted again, the common case) its run just ends; otherwise the keys after
        it would lose their clock, so the database converts to explicit entries. Finding the key
        after it would mean walking the dict, whose walk from either end also crosses the slots
        of removed keys: done once per removal that would be quadratic (keys expiring oldest
        first hand the run start on every time)."""
        if next(reversed(self.data), None) == key:
            del self.runs[key]
            self.run_clock = -1  # nothing follows: the next new key starts its own run
        else:
            self.materialize_access()

    def implied_clock(self, key: bytes) -> int | None:
        """The clock of ``key`` (in ``data``, without an explicit entry) from its run, when the
        run start before it is among the last keys of ``data``; else None."""
        runs = self.runs
        seen_key = False
        for steps, other in enumerate(reversed(self.data)):
            if other == key:
                seen_key = True
            if seen_key:
                start = runs.get(other)
                if start is not None:
                    return start
            if steps == _RUN_NEIGHBOUR_BUDGET:
                break
        return None

    def materialize_access(self) -> None:
        """Give every key whose clock is implied by its run an explicit entry in ``access`` and
        stop using runs (until the database is emptied): for readers of many clocks at once."""
        runs = self.runs
        if runs:
            access = self.access
            explicit = access.__contains__
            store = access.__setitem__
            clock = None
            for key in self.data:
                start = runs.get(key)
                if start is not None:
                    clock = start
                if clock is not None and not explicit(key):
                    store(key, clock)
        self.runs = {}
        self.run_clock = -1
        self.implicit_access = False

    def touch_all(self, clock: int) -> None:
        """Every key was last accessed at ``clock`` (after loading a dataset): one run."""
        self.access = AccessMap(self)
        self.runs = {}
        self.run_clock = -1
        self.implicit_access = True
        first = next(iter(self.data), None)
        if first is not None:
            self.runs[first] = clock
            self.run_clock = clock

    def set_expire(self, key: bytes, deadline_ms: int) -> None:
        self.expires[key] = deadline_ms
        self._expiry_heap.push(deadline_ms, key)

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def signal_modified(self, key: bytes) -> None:
        """Announce an in-place change of the value at ``key``."""
        keyspace = self.keyspace
        if keyspace.hooks_active:
            keyspace.key_changed(self, key, False)

    def notify(self, kind: int, event: bytes, key: bytes) -> None:
        keyspace = self.keyspace
        if keyspace.notify_flags & kind:
            keyspace.notify(self, kind, event, key)

    def clear(self) -> int:
        removed = len(self.data)
        self.data = new_keytable()
        self.expires = new_deadline_table()
        self.access = AccessMap(self)
        self.runs = {}
        self.run_clock = -1
        self.implicit_access = True
        self._expiry_heap = new_deadline_heap()
        self.scan_cursors = None
        return removed

    def swap_contents(self, other: Database) -> None:
        for name in ("data", "expires", "access", "runs", "run_clock", "implicit_access", "_expiry_heap",
                     "scan_cursors", "removals"):
            mine = getattr(self, name)
            setattr(self, name, getattr(other, name))
            setattr(other, name, mine)
        self.access.db = self
        other.access.db = other

    # -- active expiry -------------------------------------------------------------------------

    def expire_due(self, now_ms: int, budget: int) -> int:
        """Remove up to ``budget`` keys whose deadline has passed; returns how many were removed."""
        heap = self._expiry_heap
        expires = self.expires
        removed = 0
        while removed < budget:
            due = heap.pop_due(now_ms)
            if due is None:
                break
            deadline, key = due
            if expires.get(key) == deadline:
                self.keyspace.expire_key(self, key)
                removed += 1
        if len(heap) > 64 and len(heap) > 2 * len(expires):
            heap.rebuild(expires)  # mostly stale entries (PERSIST, new deadlines): start afresh
        return removed


class Keyspace:
    """The databases plus everything that reacts to key changes.

    ``hooks_active`` is True when anything listens for key changes (WATCH, tracking, blocked
    clients, notifications); writes check that one flag and skip the rest otherwise.
    """

    def __init__(self, clock: Clock, databases: int = 16) -> None:
        self.clock = clock
        self.now_ms = clock.ms()
        self.lru_clock = self.now_ms // 1000
        self.dbs = [Database(i, self) for i in range(databases)]
        self.hits = 0
        self.misses = 0
        self.expired_keys = 0
        self.dirty = 0
        self.no_touch = False
        self.notify_flags = 0
        self.hooks_active = False
        # pub/sub sets this while anybody is subscribed: writes then report new keys (class n)
        self.new_key_events = False
        self.change_listeners: list[Callable[[Database, bytes], None]] = []
        self.notify_listeners: list[Callable[[Database, int, bytes, bytes], None]] = []
        # Called for each key removed by expiry (lazy or active): the propagation of a DEL to
        # the AOF and replicas hooks in here.
        self.expire_listeners: list[Callable[[Database, bytes], None]] = []
        self.active_expire_enabled = True
        self.is_replica = False
        # CLIENT PAUSE (WRITE or ALL) holds expiry as well: keys past their deadline read as
        # absent but are not deleted (pyvalkey/pause.py sets it).
        self.expiry_paused = False

    def refresh_time(self) -> None:
        """Snapshot the clock (dispatch does this before every command, as Valkey snapshots the
        command time) and advance the LRU clock (seconds), which cron also refreshes."""
        now = self.clock.ms()
        self.now_ms = now
        lru = now // 1000
        if lru != self.lru_clock:
            self.lru_clock = lru

    def update_hooks(self) -> None:
        self.hooks_active = bool(self.change_listeners) or self.new_key_events

    def key_changed(self, db: Database, key: bytes, is_new: bool) -> None:
        if is_new and self.notify_flags & NOTIFY_NEW:
            self.notify(db, NOTIFY_NEW, b"new", key)
        for listener in self.change_listeners:
            listener(db, key)

    def notify(self, db: Database, kind: int, event: bytes, key: bytes) -> None:
        for listener in self.notify_listeners:
            listener(db, kind, event, key)

    def expire_key(self, db: Database, key: bytes) -> None:
        db.remove(key)
        self.expired_keys += 1
        if self.notify_flags & NOTIFY_EXPIRED:
            self.notify(db, NOTIFY_EXPIRED, b"expired", key)
        if self.hooks_active:
            self.key_changed(db, key, False)
        for listener in self.expire_listeners:
            listener(db, key)

    def expire_lazily(self, db: Database, key: bytes) -> bool:
        """Called when a lookup meets a key past its deadline; True if the key is gone. A
        replica keeps the key (its primary sends the DEL) but reports it as absent."""
        if self.is_replica or self.expiry_paused:
            return True
        self.expire_key(db, key)
        return True

    def active_expire_cycle(self, budget: int = 10_000) -> int:
        if not self.active_expire_enabled or self.is_replica or self.expiry_paused:
            return 0
        now = self.clock.ms()
        self.now_ms = now
        removed = 0
        for db in self.dbs:
            if db.expires:
                removed += db.expire_due(now, budget - removed)
        return removed

    def resize(self, databases: int) -> None:
        if databases > len(self.dbs):
            self.dbs.extend(Database(i, self) for i in range(len(self.dbs), databases))
