"""List commands: Valkey's t_list.c group (pushes, pops, ranges, LINSERT/LSET/LREM/LPOS, moves,
multi-key pops and their blocking forms).

The value is ``pyvalkey.storage.lists.ListValue``; it also models Valkey's listpack/quicklist
layout so OBJECT ENCODING matches. Handlers follow Valkey's order of checks exactly (which
argument is parsed before the key is looked up), because that order decides which error a
client sees when several things are wrong at once.

Blocking forms first try their non-blocking work; when nothing is there they park the client
through ``server.blocking`` (see pyvalkey/blocking.py), which re-runs the same handler when a
waited-on key is written.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.blocking import parse_timeout
from pyvalkey.client import Client
from pyvalkey.commands.common import delete_emptied
from pyvalkey.commands.parsing import parse_int, parse_numkeys_side_count, to_int, to_int_at_least
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import NULL_ARRAY, OK
from pyvalkey.storage.database import NOTIFY_LIST, Database
from pyvalkey.storage.lists import ListValue

__all__: list[str] = []

LONG_MAX = 2**63 - 1

INDEX_OUT_OF_RANGE = b"ERR index out of range"
RANK_ZERO = (
    b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    b"or use negative to start from the end of the list"
)
COUNT_NEGATIVE = b"ERR COUNT can't be negative"
MAXLEN_NEGATIVE = b"ERR MAXLEN can't be negative"
RANGE_NOT_SYMMETRIC = (
    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)


def _read(db: Database, key: bytes) -> ListValue | None:
    value = db.lookup_read(key)
    if value is None or type(value) is ListValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _write(db: Database, key: bytes) -> ListValue | None:
    value = db.lookup_write(key)
    if value is None or type(value) is ListValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _fill(client: Client) -> int:
    return client.server.config.list_max_listpack_size  # type: ignore[no-any-return]


def _compress(client: Client) -> int:
    return client.server.config.list_compress_depth  # type: ignore[no-any-return]


def _raw_size(value: bytes) -> int:
    """What Valkey counts for an element about to be added: its length, or nothing when it
    travels as an integer object (values popped by LMOVE and friends)."""
    return 0 if parse_int(value) is not None else len(value)


def _removed(client: Client, db: Database, key: bytes, lst: ListValue, head: bool, count: int) -> None:
    """After popping from an end: event, delete when empty, shrink check, dirty."""
    db.notify(NOTIFY_LIST, b"lpop" if head else b"rpop", key)
    _emptied_or_shrunk(client, db, key, lst)
    client.server.keyspace.dirty += count


def _emptied_or_shrunk(client: Client, db: Database, key: bytes, lst: ListValue) -> None:
    if not lst.items:
        delete_emptied(db, key)
    else:
        lst.shrink_check(_fill(client))
        db.signal_modified(key)


def _side(arg: bytes) -> bool:
    """LEFT -> True (head), RIGHT -> False."""
    upper = arg.upper()
    if upper == b"LEFT":
        return True
    if upper == b"RIGHT":
        return False
    raise ErrorReply(msg.SYNTAX)


# ---------------------------------------------------------------------------------------------
# Pushes
# ---------------------------------------------------------------------------------------------


def _push(client: Client, argv: list[bytes], head: bool, only_existing: bool) -> Any:
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        if only_existing:
            return 0
        lst = ListValue()
        db.add(key, lst)
    values = argv[2:]
    lst.grow_check(_fill(client), sum(map(len, values)), len(values), _compress(client))
    lst.push_many(values, head)
    client.server.keyspace.dirty += len(values)
    db.signal_modified(key)
    db.notify(NOTIFY_LIST, b"lpush" if head else b"rpush", key)
    return len(lst.items)


@command("lpush")
def lpush(client: Client, argv: list[bytes]) -> Any:
    return _push(client, argv, True, False)


@command("rpush")
def rpush(client: Client, argv: list[bytes]) -> Any:
    return _push(client, argv, False, False)


@command("lpushx")
def lpushx(client: Client, argv: list[bytes]) -> Any:
    return _push(client, argv, True, True)


@command("rpushx")
def rpushx(client: Client, argv: list[bytes]) -> Any:
    return _push(client, argv, False, True)


@command("linsert")
def linsert(client: Client, argv: list[bytes]) -> Any:
    where = argv[2].upper()
    if where == b"AFTER":
        after = True
    elif where == b"BEFORE":
        after = False
    else:
        raise ErrorReply(msg.SYNTAX)
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        return 0
    value = argv[4]
    # Valkey converts before looking for the pivot, so a failed insert can still convert.
    lst.grow_check(_fill(client), len(value), 1, _compress(client))
    if not lst.insert(argv[3], value, after):
        return -1
    db.signal_modified(key)
    db.notify(NOTIFY_LIST, b"linsert", key)
    client.server.keyspace.dirty += 1
    return len(lst.items)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


@command("llen")
def llen(client: Client, argv: list[bytes]) -> Any:
    lst = _read(client.db, argv[1])
    return 0 if lst is None else len(lst.items)


@command("lindex")
def lindex(client: Client, argv: list[bytes]) -> Any:
    lst = _read(client.db, argv[1])
    if lst is None:
        return None
    return lst.index(to_int(argv[2]))


def _range_bounds(start: int, end: int, size: int) -> tuple[int, int] | None:
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    if start > end or start >= size:
        return None
    if end >= size:
        end = size - 1
    return start, end


@command("lrange")
def lrange(client: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    lst = _read(client.db, argv[1])
    if lst is None:
        return []
    bounds = _range_bounds(start, end, len(lst.items))
    if bounds is None:
        return []
    return lst.range(*bounds)


@command("lpos")
def lpos(client: Client, argv: list[bytes]) -> Any:
    rank = 1
    count = -1
    maxlen = 0
    j = 3
    argc = len(argv)
    while j < argc:
        opt = argv[j].upper()
        more = j + 1 < argc
        if opt == b"RANK" and more:
            j += 1
            rank = to_int(argv[j])
            if rank < -LONG_MAX:
                raise ErrorReply(RANGE_NOT_SYMMETRIC)
            if rank == 0:
                raise ErrorReply(RANK_ZERO)
        elif opt == b"COUNT" and more:
            j += 1
            count = to_int_at_least(argv[j], 0, COUNT_NEGATIVE)
        elif opt == b"MAXLEN" and more:
            j += 1
            maxlen = to_int_at_least(argv[j], 0, MAXLEN_NEGATIVE)
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    lst = _read(client.db, argv[1])
    if lst is None:
        return [] if count != -1 else None
    found = lst.positions(argv[2], rank, 1 if count == -1 else count, maxlen)
    if count != -1:
        return found
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# In-place changes
# ---------------------------------------------------------------------------------------------


@command("lset")
def lset(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    index = to_int(argv[2])
    value = argv[3]
    lst.grow_check(_fill(client), len(value), 1, _compress(client))
    if not lst.set(index, value):
        raise ErrorReply(INDEX_OUT_OF_RANGE)
    lst.shrink_check(_fill(client))
    db.signal_modified(key)
    db.notify(NOTIFY_LIST, b"lset", key)
    client.server.keyspace.dirty += 1
    return OK


@command("ltrim")
def ltrim(client: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        return OK
    size = len(lst.items)
    bounds = _range_bounds(start, end, size)
    if bounds is None:
        left, right = size, 0
    else:
        left, right = bounds[0], size - bounds[1] - 1
    lst.trim(left, right)
    db.notify(NOTIFY_LIST, b"ltrim", key)
    _emptied_or_shrunk(client, db, key, lst)
    client.server.keyspace.dirty += left + right
    return OK


@command("lrem")
def lrem(client: Client, argv: list[bytes]) -> Any:
    count = to_int(argv[2])
    if count < -LONG_MAX:
        raise ErrorReply(RANGE_NOT_SYMMETRIC)
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        return 0
    removed = lst.remove(argv[3], count)
    if removed:
        client.server.keyspace.dirty += removed
        db.notify(NOTIFY_LIST, b"lrem", key)
        _emptied_or_shrunk(client, db, key, lst)
    return removed


# ---------------------------------------------------------------------------------------------
# Pops and moves
# ---------------------------------------------------------------------------------------------


def _pop(client: Client, argv: list[bytes], head: bool) -> Any:
    argc = len(argv)
    if argc > 3:
        raise ErrorReply(msg.WRONG_ARITY % argv[0].lower())
    count = 0
    has_count = argc == 3
    if has_count:
        count = to_int_at_least(argv[2], 0, msg.NOT_POSITIVE)
    db = client.db
    key = argv[1]
    lst = _write(db, key)
    if lst is None:
        return NULL_ARRAY if has_count else None
    if has_count and not count:
        return []
    if not has_count:
        value = lst.pop(head)
        _removed(client, db, key, lst, head, 1)
        return value
    popped = lst.pop_many(count, head)
    _removed(client, db, key, lst, head, len(popped))
    return popped


@command("lpop")
def lpop(client: Client, argv: list[bytes]) -> Any:
    return _pop(client, argv, True)


@command("rpop")
def rpop(client: Client, argv: list[bytes]) -> Any:
    return _pop(client, argv, False)


def _push_moved(
    client: Client, db: Database, key: bytes, dst: ListValue | None, value: bytes, head: bool
) -> None:
    if dst is None:
        dst = ListValue()
        db.add(key, dst)
    dst.grow_check(_fill(client), _raw_size(value), 1, _compress(client))
    dst.push(value, head)
    db.signal_modified(key)
    db.notify(NOTIFY_LIST, b"lpush" if head else b"rpush", key)


def _move(client: Client, source: bytes, target: bytes, from_head: bool, to_head: bool) -> Any:
    db = client.db
    src = _write(db, source)
    if src is None:
        return None
    dst = _write(db, target)
    value = src.pop(from_head)
    if target == source:
        dst = src
    _push_moved(client, db, target, dst, value, to_head)
    _removed(client, db, source, src, from_head, 1)
    return value


@command("lmove")
def lmove(client: Client, argv: list[bytes]) -> Any:
    from_head = _side(argv[3])
    to_head = _side(argv[4])
    return _move(client, argv[1], argv[2], from_head, to_head)


@command("rpoplpush")
def rpoplpush(client: Client, argv: list[bytes]) -> Any:
    return _move(client, argv[1], argv[2], False, True)


def _mpop_args(argv: list[bytes], numkeys_at: int) -> tuple[list[bytes], bool, int]:
    """Parse LMPOP/BLMPOP: numkeys, the keys, LEFT|RIGHT, [COUNT n]."""
    keys, side, count = parse_numkeys_side_count(argv, numkeys_at, (b"LEFT", b"RIGHT"))
    return keys, side == 0, count


def _propagate_pop(client: Client, key: bytes, head: bool, count: int) -> None:
    """Multi-key and blocking pops reach replicas as the plain pop of the key they served:
    ``LPOP key`` (``count`` -1) or ``LPOP key n`` with the number actually popped."""
    name = b"LPOP" if head else b"RPOP"
    if count == -1:
        client.server.propagator.rewrite([name, key])
    else:
        client.server.propagator.rewrite([name, key, b"%d" % count])


def _mpop_first(client: Client, keys: list[bytes], head: bool, count: int) -> Any:
    """Pop up to ``count`` from the first non-empty list: [key, [elements]], or None."""
    db = client.db
    for key in keys:
        lst = _write(db, key)
        if lst is None or not lst.items:
            continue
        popped = lst.pop_many(count, head)
        _removed(client, db, key, lst, head, len(popped))
        _propagate_pop(client, key, head, len(popped))
        return [key, popped]
    return None


@command("lmpop")
def lmpop(client: Client, argv: list[bytes]) -> Any:
    keys, head, count = _mpop_args(argv, 1)
    reply = _mpop_first(client, keys, head, count)
    return NULL_ARRAY if reply is None else reply


# ---------------------------------------------------------------------------------------------
# Blocking forms. When there is nothing to pop they park the client; pyvalkey.blocking re-runs
# the handler when a waited-on key is written. Every list wait times out with a null array
# (even BLMOVE's), while inside MULTI or a script the moves answer a null bulk at once.
# ---------------------------------------------------------------------------------------------


def _blocking_pop(client: Client, keys: list[bytes], head: bool, deadline: int, count: int) -> Any:
    """BLPOP/BRPOP (``count`` -1: [key, element]) and BLMPOP ([key, [elements]])."""
    db = client.db
    for key in keys:
        lst = _write(db, key)
        if lst is None or not lst.items:
            continue
        if count != -1:
            popped = lst.pop_many(count, head)
            _removed(client, db, key, lst, head, len(popped))
            _propagate_pop(client, key, head, len(popped))
            return [key, popped]
        value = lst.pop(head)
        _removed(client, db, key, lst, head, 1)
        _propagate_pop(client, key, head, -1)
        return [key, value]
    return client.server.blocking.block(client, keys, deadline, NULL_ARRAY, ListValue)


@command("blpop")
def blpop(client: Client, argv: list[bytes]) -> Any:
    deadline = parse_timeout(argv[-1], client)
    return _blocking_pop(client, argv[1:-1], True, deadline, -1)


@command("brpop")
def brpop(client: Client, argv: list[bytes]) -> Any:
    deadline = parse_timeout(argv[-1], client)
    return _blocking_pop(client, argv[1:-1], False, deadline, -1)


@command("blmpop")
def blmpop(client: Client, argv: list[bytes]) -> Any:
    keys, head, count = _mpop_args(argv, 2)
    deadline = parse_timeout(argv[1], client)
    return _blocking_pop(client, keys, head, deadline, count)


def _blocking_move(client: Client, argv: list[bytes], from_head: bool, to_head: bool, deadline: int) -> Any:
    source = argv[1]
    if _write(client.db, source) is None:
        if client.deny_blocking:
            return None
        return client.server.blocking.block(client, [source], deadline, NULL_ARRAY, ListValue)
    value = _move(client, source, argv[2], from_head, to_head)
    # served: replicas get the non-blocking form (BLMOVE -> LMOVE, BRPOPLPUSH -> RPOPLPUSH)
    if len(argv) == 6:
        client.server.propagator.rewrite([b"LMOVE", source, argv[2], argv[3], argv[4]])
    else:
        client.server.propagator.rewrite([b"RPOPLPUSH", source, argv[2]])
    return value


@command("blmove")
def blmove(client: Client, argv: list[bytes]) -> Any:
    from_head = _side(argv[3])
    to_head = _side(argv[4])
    deadline = parse_timeout(argv[5], client)
    return _blocking_move(client, argv, from_head, to_head, deadline)


@command("brpoplpush")
def brpoplpush(client: Client, argv: list[bytes]) -> Any:
    deadline = parse_timeout(argv[3], client)
    return _blocking_move(client, argv, False, True, deadline)
