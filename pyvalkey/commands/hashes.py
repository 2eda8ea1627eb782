"""Hash commands: Valkey's t_hash.c group, including Valkey 9's per-field expiry (HEXPIRE ...,
HTTL ..., HPERSIST, HGETEX, HSETEX, HGETDEL).

The value is ``pyvalkey.storage.hashes.HashValue``. Field expiry works in two ways:

* lazily: every hash command looks its key up through ``_lookup``, which first removes the
  fields whose deadline has passed (at the command's cached time) and drops the key when none
  are left, so no command ever sees an expired field;
* actively: ``FieldExpiry`` keeps one min-heap per server of (earliest field deadline, db, key,
  hash) and a cron job pops the due entries, spending at most a quarter of a cron period per tick,
  as Valkey's active expire cycle does for hashes with volatile fields. An entry whose key no
  longer holds the same hash (deleted, renamed, swapped) is dropped; the next hash command
  on the hash files it again under its new name.

Valkey counts an expired-but-not-yet-reclaimed field in HLEN until its active cycle removes it
(well under a cron period); here it is gone as soon as anything looks. Expired fields are
reported with the ``hexpired`` keyspace event and counted in ``keyspace.expired_fields``.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.common import delete_emptied
from pyvalkey.commands.keys import parse_cursor, parse_scan_options
from pyvalkey.commands.parsing import INT64_MAX, INT64_MIN, parse_int
from pyvalkey.commands.registry import command
from pyvalkey.commands.strings import _Infinite, _NotFloat, long_double_add, parse_long_double
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_HASH, Database
from pyvalkey.storage.hashes import HashValue
from pyvalkey.storage.sets import ScanSnapshots

__all__ = ["FieldExpiry"]

HASH_NOT_INTEGER = b"ERR hash value is not an integer"
HASH_NOT_FLOAT = b"ERR hash value is not a float"
INCR_NOT_FINITE = b"ERR value is NaN or Infinity"
NUMFIELDS_MISMATCH = b"ERR numfields should be greater than 0 and match the provided number of fields"
OUT_OF_RANGE = b"ERR value is out of range"
RANGE_NOT_SYMMETRIC = (
    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)

# Result codes of the field-expiry commands.
NO_FIELD = -2
NO_TTL = -1
CONDITION_FAILED = 0
UPDATED = 1
EXPIRED_NOW = 2

EXPIRE_NX = 1
EXPIRE_XX = 2
EXPIRE_GT = 4
EXPIRE_LT = 8

_CRON_CHUNK = 500  # fields removed between two looks at the clock


# ---------------------------------------------------------------------------------------------
# Active expiry of fields
# ---------------------------------------------------------------------------------------------


class FieldExpiry:
    """Server-wide registry of hashes that have fields with a TTL, ordered by earliest one."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.heap: list[tuple[int, int, int, bytes, HashValue]] = []
        self.seq = itertools.count()
        server.cron_jobs.append(self.cycle)

    def track(self, db: Database, key: bytes, value: HashValue) -> None:
        deadline = value.next_deadline()
        if deadline is None:
            return
        if value.reg_key == key and value.reg_db == db.index and 0 <= value.reg_deadline <= deadline:
            return  # an entry at or before this deadline is already filed
        value.reg_key = key
        value.reg_db = db.index
        value.reg_deadline = deadline
        heapq.heappush(self.heap, (deadline, next(self.seq), db.index, key, value))

    def cycle(self) -> None:
        keyspace = self.server.keyspace
        if not keyspace.active_expire_enabled or keyspace.is_replica:
            return
        heap = self.heap
        clock = self.server.clock
        now = clock.ms()
        # Like Valkey's slow cycle: at most a quarter of a cron period, checked per chunk.
        stop_at = now + 250 // max(self.server.config.hz, 1)
        dbs = keyspace.dbs
        budget = _CRON_CHUNK
        while heap and heap[0][0] <= now:
            if budget <= 0:
                if clock.ms() >= stop_at:
                    return
                budget = _CRON_CHUNK
            _, _, index, key, value = heapq.heappop(heap)
            if value.reg_key == key and value.reg_db == index:
                value.reg_deadline = -1
            if index >= len(dbs) or dbs[index].data.get(key) is not value:
                continue
            db = dbs[index]
            removed = value.expire_due(now, budget)
            budget -= len(removed) + 1
            if removed:
                _propagate_expired(self.server.propagator, db, key, value, removed)
                _announce_expired(db, key, value, len(removed))
            if value.data:
                self.track(db, key, value)


def _registry(client: Client) -> FieldExpiry:
    server = client.server
    registry = getattr(server, "hash_field_expiry", None)
    if registry is None:
        registry = FieldExpiry(server)
        server.hash_field_expiry = registry
    return registry  # type: ignore[no-any-return]


def _propagate_expired(
    propagator: Any, db: Database, key: bytes, value: HashValue, removed: list[bytes]
) -> None:
    """Fields removed for being past their deadline reach replicas and the AOF as an HDEL, sent
    at once like an expired key's deletion; when the hash is left empty, the key's deletion
    follows in the same MULTI/EXEC (what Valkey's active expiry sends)."""
    if not propagator.active:
        return
    hdel = [b"HDEL", key, *removed]
    if value.data:
        propagator.emit_now(db.index, hdel)
        return
    unit = [
        (-1, [b"MULTI"]),
        (db.index, hdel),
        (db.index, [propagator.lazy_expire_command, key]),
        (-1, [b"EXEC"]),
    ]
    for sink in propagator.sinks:
        sink.feed(unit)


def _announce_expired(db: Database, key: bytes, value: HashValue, count: int) -> None:
    keyspace = db.keyspace
    keyspace.expired_fields = getattr(keyspace, "expired_fields", 0) + count  # type: ignore[attr-defined]
    db.notify(NOTIFY_HASH, b"hexpired", key)
    if not value.data:
        delete_emptied(db, key)
    else:
        db.signal_modified(key)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _lookup(client: Client, key: bytes, write: bool) -> HashValue | None:
    db = client.db
    value = db.lookup_write(key) if write else db.lookup_read(key)
    if value is None:
        return None
    if type(value) is not HashValue:
        raise ErrorReply(msg.WRONGTYPE)
    if value.expires:
        now = db.keyspace.now_ms
        heap = value.heap
        if heap and heap[0][0] <= now:
            removed = value.expire_due(now, len(value.data))
            if removed:
                _propagate_expired(client.server.propagator, db, key, value, removed)
                _announce_expired(db, key, value, len(removed))
                if not value.data:
                    return None
        if value.expires and (value.reg_key != key or value.reg_db != db.index):
            _registry(client).track(db, key, value)
    return value


def _create(client: Client, key: bytes) -> HashValue:
    """hashTypeLookupWriteOrCreate."""
    value = _lookup(client, key, True)
    if value is None:
        value = HashValue()
        client.db.add(key, value)
    return value


def _limits(client: Client) -> tuple[int, int]:
    config = client.server.config
    return config.hash_max_listpack_entries, config.hash_max_listpack_value


def _try_conversion(value: HashValue, args: list[bytes], max_entries: int, max_value: int) -> None:
    """hashTypeTryConversion for the field/value arguments about to be written."""
    if not value.listpack:
        return
    if len(args) // 2 > max_entries:
        value.to_hashtable()
        return
    for arg in args:
        if len(arg) > max_value:
            value.to_hashtable()
            return


def _delete_if_empty(db: Database, key: bytes, value: HashValue) -> bool:
    if not value.data:
        delete_emptied(db, key)
        return True
    return False


def _pairs(fields: list[bytes], value: HashValue, resp3: bool) -> list[Any]:
    """HRANDFIELD WITHVALUES: flat in RESP2, [field, value] pairs in RESP3."""
    data = value.data
    if resp3:
        return [[field, data[field]] for field in fields]
    out: list[Any] = []
    for field in fields:
        out.append(field)
        out.append(data[field])
    return out


def _numfields_at(argv: list[bytes], index: int, mismatch: bytes) -> int:
    """``FIELDS numfields field...`` starting at ``index`` (the FIELDS token)."""
    if argv[index].lower() != b"fields":
        raise ErrorReply(msg.SYNTAX)
    count = parse_int(argv[index + 1])
    if count is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if count <= 0 or count != len(argv) - index - 2:
        raise ErrorReply(mismatch)
    return count


def _find_fields(argv: list[bytes], start: int) -> int:
    """Position of the first FIELDS token at or after ``start`` (not the last argument), or
    -1."""
    for i in range(start, len(argv) - 1):
        if argv[i].lower() == b"fields":
            return i
    return -1


def _to_deadline(client: Client, arg: bytes, relative: bool, seconds: bool, name: bytes) -> int:
    """convertExpireArgumentToUnixTime: an absolute deadline in ms or Valkey's error."""
    when = parse_int(arg)
    if when is None:
        raise ErrorReply(msg.NOT_INTEGER)
    invalid = ErrorReply(msg.INVALID_EXPIRE % name)
    if when < 0:
        raise invalid
    if seconds:
        if when > INT64_MAX // 1000:
            raise invalid
        when *= 1000
    if relative:
        base = client.server.keyspace.now_ms
        if when > INT64_MAX - base:
            raise invalid
        when += base
    return when


def _expired_already(client: Client, deadline: int) -> bool:
    keyspace = client.server.keyspace
    return deadline <= keyspace.now_ms and not keyspace.is_replica


def _set_field_expire(value: HashValue | None, field: bytes, deadline: int, flags: int) -> int:
    """hashTypeSetExpire's result code."""
    if value is None or field not in value.data:
        return NO_FIELD
    if flags and not _condition_holds(value, field, deadline, flags):
        return CONDITION_FAILED
    if value.listpack:
        value.to_hashtable()
    value.set_expire(field, deadline)
    return UPDATED


def _condition_holds(value: HashValue, field: bytes, deadline: int, flags: int) -> bool:
    """NX / XX / GT / LT of the HEXPIRE family against ``field``'s current deadline (none is
    "later than any deadline"). Checked before a past deadline deletes the field, too."""
    current = -1 if value.listpack else value.get_expire(field)
    if flags & EXPIRE_NX and current != -1:
        return False
    if flags & EXPIRE_XX and current == -1:
        return False
    if flags & EXPIRE_GT and (current == -1 or deadline <= current):
        return False
    return not (flags & EXPIRE_LT and current != -1 and deadline >= current)


def _persist_field(value: HashValue | None, field: bytes) -> int:
    if value is None or field not in value.data:
        return NO_FIELD
    return UPDATED if value.persist(field) else NO_TTL


# ---------------------------------------------------------------------------------------------
# Basic commands
# ---------------------------------------------------------------------------------------------


def _hset(client: Client, argv: list[bytes], name: bytes) -> int:
    if len(argv) % 2 == 1:
        raise ErrorReply(msg.WRONG_ARITY % name)
    key = argv[1]
    value = _create(client, key)
    max_entries, max_value = _limits(client)
    _try_conversion(value, argv[2:], max_entries, max_value)
    created = 0
    put = value.set
    for i in range(2, len(argv), 2):
        if not put(argv[i], argv[i + 1], max_entries, max_value):
            created += 1
    db = client.db
    db.signal_modified(key)
    db.notify(NOTIFY_HASH, b"hset", key)
    client.server.keyspace.dirty += (len(argv) - 2) // 2
    return created


@command("hset")
def hset(client: Client, argv: list[bytes]) -> Any:
    return _hset(client, argv, b"hset")


@command("hmset")
def hmset(client: Client, argv: list[bytes]) -> Any:
    _hset(client, argv, b"hmset")
    return OK


@command("hsetnx")
def hsetnx(client: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    value = _create(client, key)
    if argv[2] in value.data:
        return 0
    max_entries, max_value = _limits(client)
    _try_conversion(value, argv[2:4], max_entries, max_value)
    value.set(argv[2], argv[3], max_entries, max_value, keep_ttl=True)
    db = client.db
    db.signal_modified(key)
    db.notify(NOTIFY_HASH, b"hset", key)
    client.server.keyspace.dirty += 1
    return 1


@command("hget")
def hget(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    if value is None:
        return None
    return value.data.get(argv[2])


@command("hmget")
def hmget(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    if value is None:
        return [None] * (len(argv) - 2)
    get = value.data.get
    return [get(field) for field in argv[2:]]


@command("hdel")
def hdel(client: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    value = _lookup(client, key, True)
    if value is None:
        return 0
    deleted = 0
    emptied = False
    for field in argv[2:]:
        if value.delete(field):
            deleted += 1
            if not value.data:
                client.db.delete(key)
                emptied = True
                break
    if deleted:
        db = client.db
        if not emptied:
            db.signal_modified(key)
        db.notify(NOTIFY_HASH, b"hdel", key)
        if emptied:
            db.notify(NOTIFY_GENERIC, b"del", key)
        client.server.keyspace.dirty += deleted
    return deleted


@command("hgetdel")
def hgetdel(client: Client, argv: list[bytes]) -> Any:
    _numfields_at(argv, 2, NUMFIELDS_MISMATCH)
    key = argv[1]
    value = _lookup(client, key, True)
    if value is None:
        return [None] * (len(argv) - 4)
    db = client.db
    reply: list[Any] = []
    deleted = 0
    emptied = False
    for field in argv[4:]:
        if emptied:
            reply.append(None)
            continue
        reply.append(value.data.get(field))
        if value.delete(field):
            deleted += 1
            if not value.data:
                db.delete(key)
                emptied = True
    if deleted:
        if not emptied:
            db.signal_modified(key)
        db.notify(NOTIFY_HASH, b"hdel", key)
        if emptied:
            db.notify(NOTIFY_GENERIC, b"del", key)
        client.server.keyspace.dirty += deleted
    return reply


@command("hlen")
def hlen(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    return 0 if value is None else len(value.data)


@command("hstrlen")
def hstrlen(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    if value is None:
        return 0
    found = value.data.get(argv[2])
    return 0 if found is None else len(found)


@command("hexists")
def hexists(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    return 1 if value is not None and argv[2] in value.data else 0


@command("hkeys")
def hkeys(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    return [] if value is None else list(value.data)


@command("hvals")
def hvals(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    return [] if value is None else list(value.data.values())


@command("hgetall")
def hgetall(client: Client, argv: list[bytes]) -> Any:
    value = _lookup(client, argv[1], False)
    return {} if value is None else dict(value.data)


@command("hincrby")
def hincrby(client: Client, argv: list[bytes]) -> Any:
    increment = parse_int(argv[3])
    if increment is None:
        raise ErrorReply(msg.NOT_INTEGER)
    key, field = argv[1], argv[2]
    value = _create(client, key)
    current_text = value.data.get(field)
    current = 0
    if current_text is not None:
        parsed = parse_int(current_text)
        if parsed is None:
            raise ErrorReply(HASH_NOT_INTEGER)
        current = parsed
    result = current + increment
    if result < INT64_MIN or result > INT64_MAX:
        raise ErrorReply(msg.OVERFLOW)
    max_entries, max_value = _limits(client)
    value.set(field, b"%d" % result, max_entries, max_value, keep_ttl=True)
    db = client.db
    db.signal_modified(key)
    db.notify(NOTIFY_HASH, b"hincrby", key)
    client.server.keyspace.dirty += 1
    return result


@command("hincrbyfloat")
def hincrbyfloat(client: Client, argv: list[bytes]) -> Any:
    increment = argv[3]
    try:
        parse_long_double(increment)
    except _NotFloat:
        raise ErrorReply(msg.NOT_FLOAT) from None
    except _Infinite:
        raise ErrorReply(INCR_NOT_FINITE) from None
    key, field = argv[1], argv[2]
    value = _create(client, key)
    current = value.data.get(field)
    if current is not None:
        try:
            parse_long_double(current)
        except _NotFloat:
            raise ErrorReply(HASH_NOT_FLOAT) from None
        except _Infinite:
            pass  # the sum is infinite: long_double_add reports it
    result = long_double_add(current if current is not None else b"0", increment)
    max_entries, max_value = _limits(client)
    value.set(field, result, max_entries, max_value, keep_ttl=True)
    db = client.db
    db.signal_modified(key)
    db.notify(NOTIFY_HASH, b"hincrbyfloat", key)
    client.server.keyspace.dirty += 1
    # replicas set the result: float formatting must not make them drift
    client.server.propagator.rewrite([b"HSET", key, field, result])
    return result


# ---------------------------------------------------------------------------------------------
# HRANDFIELD / HSCAN
# ---------------------------------------------------------------------------------------------


@command("hrandfield")
def hrandfield(client: Client, argv: list[bytes]) -> Any:
    if len(argv) >= 3:
        count = parse_int(argv[2])
        if count is None:
            raise ErrorReply(msg.NOT_INTEGER)
        if count == INT64_MIN:
            raise ErrorReply(RANGE_NOT_SYMMETRIC)
        withvalues = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
            raise ErrorReply(msg.SYNTAX)
        if len(argv) == 4:
            withvalues = True
            if count < -(INT64_MAX // 2) or count > INT64_MAX // 2:
                raise ErrorReply(OUT_OF_RANGE)
        return _hrandfield_count(client, argv[1], count, withvalues)
    value = _lookup(client, argv[1], False)
    if value is None:
        return None
    return value.random_field()


def _hrandfield_count(client: Client, key: bytes, count: int, withvalues: bool) -> Any:
    value = _lookup(client, key, False)
    if value is None or count == 0:
        return []
    if count < 0 or count == 1:
        pick = value.random_field
        fields = [pick() for _ in range(-count if count < 0 else 1)]
    elif count >= len(value.data):
        fields = list(value.data)
    elif value.listpack:
        # Valkey samples a listpack in one forward walk: a random subset in listpack order.
        ordered = list(value.data)
        chosen = set(value.sample(count))
        fields = [field for field in ordered if field in chosen]
    else:
        fields = value.sample(count)
    if withvalues:
        return _pairs(fields, value, client.resp3)
    return fields


@command("hscan")
def hscan(client: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    value = _lookup(client, argv[1], False)
    if value is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, b"hscan")
    match = options.match
    data = value.data
    if value.listpack:
        candidates: Any = data
        next_cursor = 0
    else:
        scans = value.scans
        if scans is None:
            scans = value.scans = ScanSnapshots()
        next_cursor, candidates = scans.step(cursor, options.count, data)
    out: list[bytes] = []
    no_values = options.no_values
    for field in candidates:
        found = data.get(field)
        if found is None or (match is not None and match(field) is None):
            continue
        out.append(field)
        if not no_values:
            out.append(found)
    return [b"%d" % next_cursor, out]


# ---------------------------------------------------------------------------------------------
# Field expiry
# ---------------------------------------------------------------------------------------------


def _hexpire(client: Client, argv: list[bytes], relative: bool, seconds: bool) -> Any:
    name = argv[0].lower()
    fields_at = _find_fields(argv, 3)
    flags = 0
    numfields = 0
    if fields_at >= 0:
        for option in argv[3:fields_at]:
            word = option.lower()
            if word == b"nx":
                flags |= EXPIRE_NX
            elif word == b"xx":
                flags |= EXPIRE_XX
            elif word == b"gt":
                flags |= EXPIRE_GT
            elif word == b"lt":
                flags |= EXPIRE_LT
            else:
                raise ErrorReply(msg.UNSUPPORTED_OPTION % option)
        if flags & EXPIRE_NX and flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT):
            raise ErrorReply(msg.EXPIRE_NX_CONFLICT)
        if flags & EXPIRE_GT and flags & EXPIRE_LT:
            raise ErrorReply(msg.EXPIRE_GT_LT_CONFLICT)
        parsed = parse_int(argv[fields_at + 1])
        if parsed is None:
            raise ErrorReply(msg.NOT_INTEGER)
        numfields = parsed
    if numfields <= 0 or numfields != len(argv) - fields_at - 2:
        raise ErrorReply(NUMFIELDS_MISMATCH)
    deadline = _to_deadline(client, argv[2], relative, seconds, name)
    expire_now = _expired_already(client, deadline)
    key = argv[1]
    value = _lookup(client, key, True)
    db = client.db
    reply = []
    expired = 0
    updated = 0
    deleted: list[bytes] = []
    for field in argv[fields_at + 2 :]:
        if expire_now:
            if (
                value is not None
                and field in value.data
                and flags
                and not _condition_holds(value, field, deadline, flags)
            ):
                reply.append(CONDITION_FAILED)
            elif value is not None and value.delete(field):
                reply.append(EXPIRED_NOW)
                expired += 1
                deleted.append(field)
            else:
                reply.append(NO_FIELD)
        else:
            result = _set_field_expire(value, field, deadline, flags)
            if result == UPDATED:
                updated += 1
            reply.append(result)
    if expired or updated:
        assert value is not None
        if expired:
            keyspace = db.keyspace
            keyspace.expired_fields = getattr(keyspace, "expired_fields", 0) + expired  # type: ignore[attr-defined]
            db.notify(NOTIFY_HASH, b"hexpired", key)
            client.server.propagator.rewrite([b"HDEL", key, *deleted])
        else:
            db.notify(NOTIFY_HASH, b"hexpire", key)
            _registry(client).track(db, key, value)
            # an absolute deadline, so that replicas and the AOF expire the fields at the same time
            client.server.propagator.rewrite([b"HPEXPIREAT", key, b"%d" % deadline, *argv[3:]])
        client.server.keyspace.dirty += expired + updated
        db.signal_modified(key)
        _delete_if_empty(db, key, value)
    return reply


@command("hexpire")
def hexpire(client: Client, argv: list[bytes]) -> Any:
    return _hexpire(client, argv, True, True)


@command("hpexpire")
def hpexpire(client: Client, argv: list[bytes]) -> Any:
    return _hexpire(client, argv, True, False)


@command("hexpireat")
def hexpireat(client: Client, argv: list[bytes]) -> Any:
    return _hexpire(client, argv, False, True)


@command("hpexpireat")
def hpexpireat(client: Client, argv: list[bytes]) -> Any:
    return _hexpire(client, argv, False, False)


@command("hpersist")
def hpersist(client: Client, argv: list[bytes]) -> Any:
    _numfields_at(argv, 2, NUMFIELDS_MISMATCH)
    key = argv[1]
    value = _lookup(client, key, True)
    reply = [_persist_field(value, field) for field in argv[4:]]
    changes = reply.count(UPDATED)
    if changes:
        db = client.db
        client.server.keyspace.dirty += changes
        db.notify(NOTIFY_HASH, b"hpersist", key)
        db.signal_modified(key)
    return reply


def _httl(client: Client, argv: list[bytes], relative: bool, seconds: bool) -> Any:
    _numfields_at(argv, 2, msg.SYNTAX)
    value = _lookup(client, argv[1], False)
    base = client.server.keyspace.now_ms if relative else 0
    reply = []
    for field in argv[4:]:
        if value is None or field not in value.data:
            reply.append(NO_FIELD)
            continue
        deadline = value.get_expire(field)
        if deadline == -1:
            reply.append(NO_TTL)
            continue
        remaining = max(deadline - base, 0)
        reply.append((remaining + 500) // 1000 if seconds else remaining)
    return reply


@command("httl")
def httl(client: Client, argv: list[bytes]) -> Any:
    return _httl(client, argv, True, True)


@command("hpttl")
def hpttl(client: Client, argv: list[bytes]) -> Any:
    return _httl(client, argv, True, False)


@command("hexpiretime")
def hexpiretime(client: Client, argv: list[bytes]) -> Any:
    return _httl(client, argv, False, True)


@command("hpexpiretime")
def hpexpiretime(client: Client, argv: list[bytes]) -> Any:
    return _httl(client, argv, False, False)


# ---------------------------------------------------------------------------------------------
# HGETEX / HSETEX
# ---------------------------------------------------------------------------------------------

_ARG_NX = 1
_ARG_XX = 2
_ARG_FNX = 4
_ARG_FXX = 8
_ARG_KEEPTTL = 16
_ARG_PERSIST = 32
_ARG_EX = 64
_ARG_PX = 128
_ARG_EXAT = 256
_ARG_PXAT = 512
_ARG_EXPIRES = _ARG_EX | _ARG_PX | _ARG_EXAT | _ARG_PXAT
_EXPIRE_WORDS = {b"ex": _ARG_EX, b"px": _ARG_PX, b"exat": _ARG_EXAT, b"pxat": _ARG_PXAT}


def _parse_extended(argv: list[bytes], end: int, for_set: bool) -> tuple[int, bytes | None]:
    """The options between the key and FIELDS of HGETEX (``for_set`` False) or HSETEX:
    (flags, expire argument)."""
    flags = 0
    expire: bytes | None = None
    j = 2
    while j < end:
        word = argv[j].lower()
        has_next = j + 1 < end
        if for_set and word == b"nx" and not flags & _ARG_XX:
            flags |= _ARG_NX
        elif for_set and word == b"xx" and not flags & _ARG_NX:
            flags |= _ARG_XX
        elif for_set and word == b"fnx" and not flags & _ARG_FXX:
            flags |= _ARG_FNX
        elif for_set and word == b"fxx" and not flags & _ARG_FNX:
            flags |= _ARG_FXX
        elif for_set and word == b"keepttl" and not flags & (_ARG_PERSIST | _ARG_EXPIRES):
            flags |= _ARG_KEEPTTL
        elif not for_set and word == b"persist" and not flags & (_ARG_KEEPTTL | _ARG_EXPIRES):
            flags |= _ARG_PERSIST
        elif word in _EXPIRE_WORDS and has_next:
            bit = _EXPIRE_WORDS[word]
            if flags & (_ARG_KEEPTTL | _ARG_PERSIST) or flags & _ARG_EXPIRES & ~bit:
                raise ErrorReply(msg.SYNTAX)
            flags |= bit
            expire = argv[j + 1]
            j += 1
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    return flags, expire


def _expire_option(client: Client, flags: int, expire: bytes, name: bytes) -> int:
    relative = bool(flags & (_ARG_EX | _ARG_PX))
    seconds = bool(flags & (_ARG_EX | _ARG_EXAT))
    return _to_deadline(client, expire, relative, seconds, name)


@command("hgetex")
def hgetex(client: Client, argv: list[bytes]) -> Any:
    fields_at = _find_fields(argv, 1)
    numfields = -1
    flags = 0
    expire: bytes | None = None
    if fields_at >= 0:
        flags, expire = _parse_extended(argv, fields_at, False)
        parsed = parse_int(argv[fields_at + 1])
        if parsed is None:
            raise ErrorReply(msg.NOT_INTEGER)
        numfields = parsed
    if numfields == 0 or numfields != len(argv) - fields_at - 2 or fields_at < 0:
        raise ErrorReply(NUMFIELDS_MISMATCH)
    key = argv[1]
    value = _lookup(client, key, False)
    persist = bool(flags & _ARG_PERSIST)
    set_expiry = expire_now = False
    deadline = -1
    if not persist and expire is not None:
        deadline = _expire_option(client, flags, expire, b"hgetex")
        if _expired_already(client, deadline):
            expire_now = True
        else:
            set_expiry = True
    reply: list[Any] = []
    changes = 0
    changed_fields: list[bytes] = []
    for field in argv[fields_at + 2 :]:
        reply.append(None if value is None else value.data.get(field))
        if value is None:
            continue
        if expire_now:
            changed = value.delete(field)
        elif set_expiry:
            changed = _set_field_expire(value, field, deadline, 0) == UPDATED
        elif persist:
            changed = _persist_field(value, field) == UPDATED
        else:
            changed = False
        if changed:
            changes += 1
            changed_fields.append(field)
    if changes:
        assert value is not None
        db = client.db
        keyspace = db.keyspace
        # replicas get what changed, for the fields it changed
        propagator = client.server.propagator
        if expire_now:
            keyspace.expired_fields = getattr(keyspace, "expired_fields", 0) + changes  # type: ignore[attr-defined]
            db.notify(NOTIFY_HASH, b"hexpired", key)
            propagator.rewrite([b"HDEL", key, *changed_fields])
        else:
            db.notify(NOTIFY_HASH, b"hexpire" if set_expiry else b"hpersist", key)
            numfields = b"%d" % changes
            if set_expiry:
                _registry(client).track(db, key, value)
                propagator.rewrite(
                    [b"HPEXPIREAT", key, b"%d" % deadline, b"FIELDS", numfields, *changed_fields]
                )
            else:
                propagator.rewrite([b"HPERSIST", key, b"FIELDS", numfields, *changed_fields])
        keyspace.dirty += changes
        db.signal_modified(key)
        _delete_if_empty(db, key, value)
    return reply


@command("hsetex")
def hsetex(client: Client, argv: list[bytes]) -> Any:
    fields_at = _find_fields(argv, 0)
    numfields = 0
    flags = 0
    expire: bytes | None = None
    if fields_at >= 0:
        flags, expire = _parse_extended(argv, fields_at, True)
        parsed = parse_int(argv[fields_at + 1])
        if parsed is None:
            raise ErrorReply(msg.NOT_INTEGER)
        numfields = parsed
    if numfields <= 0 or numfields * 2 != len(argv) - fields_at - 2 or fields_at < 0:
        raise ErrorReply(NUMFIELDS_MISMATCH)
    key = argv[1]
    value = _lookup(client, key, True)
    if (flags & _ARG_NX and value is not None) or (flags & _ARG_XX and value is None):
        return 0
    keep_ttl = bool(flags & _ARG_KEEPTTL)
    deadline = -1
    expire_now = False
    if not keep_ttl and expire is not None:
        deadline = _expire_option(client, flags, expire, b"hsetex")
        expire_now = _expired_already(client, deadline)
    pairs = argv[fields_at + 2 :]
    if flags & (_ARG_FNX | _ARG_FXX):
        if value is not None:
            data = value.data
            for i in range(0, len(pairs), 2):
                present = pairs[i] in data
                if (flags & _ARG_FNX and present) or (flags & _ARG_FXX and not present):
                    return 0
        elif flags & _ARG_FXX:
            return 0
    db = client.db
    keyspace = db.keyspace
    if expire_now:
        if value is None:
            return 1
        deleted = 0
        gone: list[bytes] = []
        for i in range(0, len(pairs), 2):
            if value.delete(pairs[i]):
                deleted += 1
                gone.append(pairs[i])
        if deleted:
            client.server.propagator.rewrite([b"HDEL", key, *gone])
            keyspace.expired_fields = getattr(keyspace, "expired_fields", 0) + deleted  # type: ignore[attr-defined]
            db.notify(NOTIFY_HASH, b"hexpired", key)
            db.signal_modified(key)
            _delete_if_empty(db, key, value)
            keyspace.dirty += deleted
        return 1
    if value is None:
        value = HashValue()
        db.add(key, value)
    max_entries, max_value = _limits(client)
    put = value.set
    for i in range(0, len(pairs), 2):
        put(pairs[i], pairs[i + 1], max_entries, max_value, deadline, keep_ttl)
    db.notify(NOTIFY_HASH, b"hset", key)
    if expire is not None and not keep_ttl:
        db.notify(NOTIFY_HASH, b"hexpire", key)
    if value.expires:
        _registry(client).track(db, key, value)
    db.signal_modified(key)
    keyspace.dirty += len(pairs) // 2
    propagator = client.server.propagator
    if propagator.active:
        # The conditions (NX/XX/FNX/FXX) held here and must not be tested again by replicas;
        # a relative or second-based deadline becomes PXAT.
        if keep_ttl:
            middle = [next(arg for arg in argv[2:fields_at] if arg.lower() == b"keepttl")]
        elif expire is not None:
            middle = [b"PXAT", b"%d" % deadline]
        else:
            middle = []
        propagator.rewrite([argv[0], key, *middle, *argv[fields_at:]])
    return 1
