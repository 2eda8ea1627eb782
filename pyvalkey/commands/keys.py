"""Generic keyspace commands: Valkey's db.c, expire.c and OBJECT from object.c.

DEL/UNLINK, EXISTS, TYPE, RENAME(NX), COPY, MOVE, SWAPDB, DBSIZE, FLUSHDB/FLUSHALL, RANDOMKEY,
KEYS, SCAN, TOUCH, the EXPIRE family, TTL/PTTL/(P)EXPIRETIME, PERSIST and OBJECT.

Every change goes through ``Database`` so WATCH, tracking and blocked clients hear of it; each
handler fires Valkey's keyspace events (``del``, ``rename_from``/``rename_to``, ``move_from``/
``move_to``, ``copy_to``, ``expire``, ``persist``) and adds to ``dirty`` as Valkey does.

The EXPIRE family rewrites its argv in place the way Valkey rewrites the client's command
vector, so that whatever propagates the command (AOF, replicas) sees the deterministic form:
``PEXPIREAT key <absolute ms> [flags]``, or ``DEL``/``UNLINK key`` when the deadline was already
in the past and the key was deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import INT64_MAX, parse_int, to_int
from pyvalkey.commands.registry import command
from pyvalkey.commands.strings import string_encoding
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.lazyfree import free_database, free_value
from pyvalkey.protocol.replies import OK, SimpleString
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_KEY_MISS, Database, type_name
from pyvalkey.storage.glob import compile_glob
from pyvalkey.storage.scan import TYPE_NAMES, ScanOptions, scan_keys

if TYPE_CHECKING:
    from pyvalkey.server import Server

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# C's LLONG_MAX / 1000 and LLONG_MIN / 1000 (division truncates toward zero).
_SECONDS_MAX = 9223372036854775
_SECONDS_MIN = -9223372036854775

_TYPE_REPLIES = {
    name: SimpleString(name) for name in (b"string", b"list", b"set", b"zset", b"hash", b"stream", b"none")
}


# -- helpers -----------------------------------------------------------------------------------


def _lookup_no_touch(db: Database, key: bytes, notify_miss: bool = True) -> Any:
    """Valkey's lookupKeyRead with LOOKUP_NOTOUCH: counts hits/misses, leaves the LRU alone."""
    value = db.lookup(key)
    keyspace = db.keyspace
    if value is None:
        keyspace.misses += 1
        if notify_miss:
            db.notify(NOTIFY_KEY_MISS, b"keymiss", key)
    else:
        keyspace.hits += 1
    return value


def _int32(arg: bytes, error: bytes | None = None) -> int:
    """getIntFromObjectOrReply: a strict integer that fits a C int; ``error`` replaces both
    of Valkey's default messages when given."""
    value = parse_int(arg)
    if value is None:
        raise ErrorReply(error or msg.NOT_INTEGER)
    if not INT32_MIN <= value <= INT32_MAX:
        raise ErrorReply(error or msg.INT_RANGE)
    return value


def _target_db(client: Client, arg: bytes) -> Database:
    index = _int32(arg)
    dbs = client.server.keyspace.dbs
    if not 0 <= index < len(dbs):
        raise ErrorReply(msg.DB_INDEX)
    return dbs[index]


def _duplicate(value: Any) -> Any:
    kind = type(value)
    if kind is bytes:
        return value  # immutable: sharing is a copy
    if kind is bytearray:
        return bytearray(value)
    return value.copy()


def _signal_all(db: Database, keys: Any) -> None:
    keyspace = db.keyspace
    for key in keys:
        keyspace.key_changed(db, key, False)


# -- SCAN cursor and options (shared with HSCAN, SSCAN, ZSCAN) ---------------------------------

UINT64_MAX = 2**64 - 1


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


# -- deleting, testing and typing keys ---------------------------------------------------------


def _delete_keys(client: Client, argv: list[bytes], lazy: bool) -> int:
    db = client.db
    data = db.data
    server = client.server
    deleted = 0
    for key in argv[1:]:
        value = data.get(key) if lazy else None
        if db.delete(key):  # an expired key is expired (not deleted) by the lookup inside
            db.notify(NOTIFY_GENERIC, b"del", key)
            deleted += 1
            if value is not None:
                free_value(server, value)  # large values go to the lazyfree thread
    server.keyspace.dirty += deleted
    return deleted


@command("del")
def del_(client: Client, argv: list[bytes]) -> Any:
    return _delete_keys(client, argv, client.server.config.lazyfree_lazy_user_del)


@command("unlink")
def unlink(client: Client, argv: list[bytes]) -> Any:
    return _delete_keys(client, argv, True)


@command("exists")
def exists(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    count = 0
    for key in argv[1:]:
        if _lookup_no_touch(db, key) is not None:
            count += 1
    return count


@command("type")
def type_(client: Client, argv: list[bytes]) -> Any:
    value = _lookup_no_touch(client.db, argv[1])
    if value is None:
        return _TYPE_REPLIES[b"none"]
    name = type_name(value)
    return _TYPE_REPLIES.get(name) or SimpleString(name)


@command("touch")
def touch(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    touched = 0
    for key in argv[1:]:
        if db.lookup_read(key) is not None:
            touched += 1
    return touched


# -- renaming, copying and moving ----------------------------------------------------------------


def _rename(client: Client, argv: list[bytes], nx: bool) -> Any:
    db = client.db
    source, target = argv[1], argv[2]
    value = db.lookup_write(source)
    if value is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    if source == target:
        return 0 if nx else OK
    deadline = db.get_expire(source)
    if db.lookup_write(target) is not None:
        if nx:
            return 0
        db.remove(target)
    access = db.access.get(source)
    db.remove(source)
    db.add(target, value)
    if access is not None:
        db.access[target] = access  # the object, and so its LRU, moves with the name
    if deadline != -1:
        db.set_expire(target, deadline)
    db.signal_modified(source)
    db.notify(NOTIFY_GENERIC, b"rename_from", source)
    db.notify(NOTIFY_GENERIC, b"rename_to", target)
    client.server.keyspace.dirty += 1
    return 1 if nx else OK


@command("rename")
def rename(client: Client, argv: list[bytes]) -> Any:
    return _rename(client, argv, False)


@command("renamenx")
def renamenx(client: Client, argv: list[bytes]) -> Any:
    return _rename(client, argv, True)


@command("copy")
def copy(client: Client, argv: list[bytes]) -> Any:
    source_db = target_db = client.db
    replace = False
    i = 3
    argc = len(argv)
    while i < argc:
        word = argv[i].lower()
        if word == b"replace":
            replace = True
        elif word == b"db" and i + 1 < argc:
            target_db = _target_db(client, argv[i + 1])
            i += 1
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1
    source, target = argv[1], argv[2]
    if source_db is target_db and source == target:
        raise ErrorReply(msg.SAME_OBJECT)
    value = source_db.lookup_read(source)
    if value is None:
        return 0
    deadline = source_db.get_expire(source)
    if target_db.lookup_write(target) is not None:
        if not replace:
            return 0
        target_db.remove(target)
    target_db.add(target, _duplicate(value))
    if deadline != -1:
        target_db.set_expire(target, deadline)
    target_db.notify(NOTIFY_GENERIC, b"copy_to", target)
    client.server.keyspace.dirty += 1
    return 1


@command("move")
def move(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    target_db = _target_db(client, argv[2])
    if target_db is db:
        raise ErrorReply(msg.SAME_OBJECT)
    value = db.lookup_write(key)
    if value is None:
        return 0
    deadline = db.get_expire(key)
    if target_db.lookup_write(key) is not None:
        return 0
    access = db.access.get(key)
    target_db.add(key, value)
    if access is not None:
        target_db.access[key] = access
    if deadline != -1:
        target_db.set_expire(key, deadline)
    db.remove(key)
    db.signal_modified(key)
    db.notify(NOTIFY_GENERIC, b"move_from", key)
    target_db.notify(NOTIFY_GENERIC, b"move_to", key)
    client.server.keyspace.dirty += 1
    return 1


@command("swapdb")
def swapdb(client: Client, argv: list[bytes]) -> Any:
    first = _int32(argv[1], msg.INVALID_FIRST_DB)
    second = _int32(argv[2], msg.INVALID_SECOND_DB)
    keyspace = client.server.keyspace
    dbs = keyspace.dbs
    if not (0 <= first < len(dbs) and 0 <= second < len(dbs)):
        raise ErrorReply(msg.DB_INDEX)
    if first != second:
        a, b = dbs[first], dbs[second]
        touched = set(a.data) | set(b.data) if keyspace.hooks_active else ()
        a.swap_contents(b)
        watches = getattr(client.server, "transactions", None)
        if touched:
            # Blocked clients (and tracking) see every key of both databases change; WATCH has
            # finer rules about stale keys, applied by ``swapped`` below.
            if watches is not None:
                watches.suspended = True
            try:
                _signal_all(a, touched)
                _signal_all(b, touched)
            finally:
                if watches is not None:
                    watches.suspended = False
        if watches is not None and watches.watchers:
            watches.swapped(a, b)
    keyspace.dirty += 1
    return OK


# -- whole databases -----------------------------------------------------------------------------


def _flush_mode(client: Client, argv: list[bytes]) -> Server | None:
    """Checks FLUSHALL/FLUSHDB's option; the server when the flush is to free lazily (ASYNC,
    or no option with ``lazyfree-lazy-user-flush``), else None."""
    if len(argv) > 2:
        raise ErrorReply(msg.SYNTAX)
    if len(argv) == 2:
        mode = argv[1].upper()
        if mode not in (b"ASYNC", b"SYNC"):
            raise ErrorReply(msg.SYNTAX)
        return client.server if mode == b"ASYNC" else None
    return client.server if client.server.config.lazyfree_lazy_user_flush else None


def _flush(db: Database, lazily_for: Server | None = None) -> int:
    if db.keyspace.hooks_active and db.data:
        _signal_all(db, list(db.data))
    old = db.data
    removed = db.clear()
    if lazily_for is not None:
        free_database(lazily_for, old, removed)
    return removed


@command("flushall")
def flushall(client: Client, argv: list[bytes]) -> Any:
    lazily_for = _flush_mode(client, argv)
    keyspace = client.server.keyspace
    removed = sum(_flush(db, lazily_for) for db in keyspace.dbs)
    keyspace.dirty += removed + 1
    return OK


@command("flushdb")
def flushdb(client: Client, argv: list[bytes]) -> Any:
    removed = _flush(client.db, _flush_mode(client, argv))
    client.server.keyspace.dirty += removed + 1
    return OK


@command("dbsize")
def dbsize(client: Client, argv: list[bytes]) -> Any:
    return len(client.db.data)


@command("randomkey")
def randomkey(client: Client, argv: list[bytes]) -> Any:
    return client.db.random_key()


@command("keys")
def keys(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    pattern = argv[1]
    match = None if pattern == b"*" else compile_glob(pattern)
    expires = db.expires
    now = db.keyspace.now_ms
    result = []
    append = result.append
    for key in db.data:
        if match is not None and match(key) is None:
            continue
        if expires:
            deadline = expires.get(key)
            if deadline is not None and deadline <= now:
                continue  # expired: not listed, but left for the expiry paths to delete
        append(key)
    return result


@command("scan")
def scan(client: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[1])
    options = parse_scan_options(argv, 2, b"scan")
    next_cursor, found = scan_keys(client.db, cursor, options)
    return [b"%d" % next_cursor, found]


# -- expiry --------------------------------------------------------------------------------------

_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8
_EXPIRE_FLAGS = {b"NX": _EXPIRE_NX, b"XX": _EXPIRE_XX, b"GT": _EXPIRE_GT, b"LT": _EXPIRE_LT}


def _expire(client: Client, argv: list[bytes], name: bytes, relative: bool, seconds: bool) -> Any:
    flags = 0
    for option in argv[3:]:
        flag = _EXPIRE_FLAGS.get(option.upper())
        if flag is None:
            raise ErrorReply(msg.UNSUPPORTED_OPTION % option)
        flags |= flag
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise ErrorReply(msg.EXPIRE_NX_CONFLICT)
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise ErrorReply(msg.EXPIRE_GT_LT_CONFLICT)
    when = to_int(argv[2])
    if seconds:
        if when > _SECONDS_MAX or when < _SECONDS_MIN:
            raise ErrorReply(msg.INVALID_EXPIRE % name)
        when *= 1000
    db = client.db
    keyspace = db.keyspace
    base = keyspace.now_ms if relative else 0
    if when > INT64_MAX - base:
        raise ErrorReply(msg.INVALID_EXPIRE % name)
    when += base
    key = argv[1]
    if db.lookup_write(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _EXPIRE_NX and current != -1:
            return 0
        if flags & _EXPIRE_XX and current == -1:
            return 0
        # No TTL counts as an infinite one: never "greater", and any TTL is "less".
        if flags & _EXPIRE_GT and (current == -1 or when <= current):
            return 0
        if flags & _EXPIRE_LT and current != -1 and when >= current:
            return 0
    server = client.server
    if when <= keyspace.now_ms and not keyspace.is_replica and not getattr(server, "loading", False):
        db.delete(key)
        keyspace.dirty += 1
        lazy = getattr(server.config, "lazyfree_lazy_expire", True)
        argv[:] = [b"UNLINK" if lazy else b"DEL", key]
        db.notify(NOTIFY_GENERIC, b"del", key)
        return 1
    db.set_expire(key, when)
    if name != b"pexpireat":
        argv[0] = b"PEXPIREAT"
        argv[2] = b"%d" % when
    db.signal_modified(key)
    db.notify(NOTIFY_GENERIC, b"expire", key)
    keyspace.dirty += 1
    return 1


@command("expire")
def expire(client: Client, argv: list[bytes]) -> Any:
    return _expire(client, argv, b"expire", True, True)


@command("pexpire")
def pexpire(client: Client, argv: list[bytes]) -> Any:
    return _expire(client, argv, b"pexpire", True, False)


@command("expireat")
def expireat(client: Client, argv: list[bytes]) -> Any:
    return _expire(client, argv, b"expireat", False, True)


@command("pexpireat")
def pexpireat(client: Client, argv: list[bytes]) -> Any:
    return _expire(client, argv, b"pexpireat", False, False)


def _ttl(client: Client, key: bytes, in_ms: bool, absolute: bool) -> int:
    db = client.db
    if _lookup_no_touch(db, key) is None:
        return -2
    deadline = db.get_expire(key)
    if deadline == -1:
        return -1
    remaining = deadline if absolute else deadline - db.keyspace.now_ms
    remaining = max(remaining, 0)
    if in_ms:
        return remaining
    return remaining // 1000 if absolute else (remaining + 500) // 1000


@command("ttl")
def ttl(client: Client, argv: list[bytes]) -> Any:
    return _ttl(client, argv[1], False, False)


@command("pttl")
def pttl(client: Client, argv: list[bytes]) -> Any:
    return _ttl(client, argv[1], True, False)


@command("expiretime")
def expiretime(client: Client, argv: list[bytes]) -> Any:
    return _ttl(client, argv[1], False, True)


@command("pexpiretime")
def pexpiretime(client: Client, argv: list[bytes]) -> Any:
    return _ttl(client, argv[1], True, True)


@command("persist")
def persist(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    if db.lookup_write(key) is None or not db.persist(key):
        return 0
    db.signal_modified(key)
    db.notify(NOTIFY_GENERIC, b"persist", key)
    client.server.keyspace.dirty += 1
    return 1


# -- OBJECT --------------------------------------------------------------------------------------

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_OBJECT_HELP: list[HelpEntry] = [
    ("ENCODING <key>", "The internal representation of the value at <key> (listpack, hashtable, ...)."),
    ("FREQ <key>", [
        "The logarithmic access counter of <key>; only with an LFU maxmemory-policy.",
    ]),
    ("IDLETIME <key>", [
        "Seconds since <key> was last read or written (approximate); not with an LFU policy.",
    ]),
    ("REFCOUNT <key>", "How many references the server holds to the value at <key>."),
]

# A new key's logarithmic access counter in Valkey's LFU (LFU_INIT_VAL).
_LFU_INIT_VAL = 5


def _lfu_policy(client: Client) -> bool:
    return "lfu" in str(client.server.config.maxmemory_policy)


def _object_lookup(client: Client, key: bytes) -> Any:
    # LOOKUP_NOTOUCH | LOOKUP_NONOTIFY: statistics yes, LRU and keymiss events no.
    return _lookup_no_touch(client.db, key, notify_miss=False)


def _as_bytes(text: Any) -> bytes:
    return text.encode() if isinstance(text, str) else bytes(text)


@command("object|help")
def object_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("OBJECT", _OBJECT_HELP)


@command("object|encoding")
def object_encoding(client: Client, argv: list[bytes]) -> Any:
    key = argv[2]
    value = _object_lookup(client, key)
    if value is None:
        return None
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return string_encoding(value, key)
    return _as_bytes(value.encoding())


@command("object|refcount")
def object_refcount(client: Client, argv: list[bytes]) -> Any:
    if _object_lookup(client, argv[2]) is None:
        return None
    return 1  # values are never shared between keys here (nor, since keys embed, in Valkey)


@command("object|idletime")
def object_idletime(client: Client, argv: list[bytes]) -> Any:
    key = argv[2]
    if _object_lookup(client, key) is None:
        return None
    if _lfu_policy(client):
        raise ErrorReply(msg.LFU_SELECTED)
    db = client.db
    last = db.access.get(key)
    if last is None:
        return 0
    return max(db.keyspace.lru_clock - last, 0)


@command("object|freq")
def object_freq(client: Client, argv: list[bytes]) -> Any:
    key = argv[2]
    if _object_lookup(client, key) is None:
        return None
    if not _lfu_policy(client):
        raise ErrorReply(msg.LFU_NOT_SELECTED)
    # No per-key LFU counter is kept: report the initial counter, decayed by the idle minutes
    # the way Valkey decays a counter that is not accessed.
    db = client.db
    base = _LFU_INIT_VAL
    counters = getattr(client.server, "lfu_counters", None)  # set by RESTORE FREQ (persistence.py)
    if counters:
        entry = counters.get((db.index, key))
        if entry is not None:
            if entry[0] is db.data.get(key):
                base = entry[1]
            else:
                del counters[(db.index, key)]  # the key holds another value since
    last = db.access.get(key, db.keyspace.lru_clock)
    decay_minutes = int(getattr(client.server.config, "lfu_decay_time", 1) or 0)
    if decay_minutes <= 0:
        return base
    periods = max(db.keyspace.lru_clock - last, 0) // 60 // decay_minutes
    return max(base - periods, 0)
