"""Set commands: Valkey's t_set.c group (SADD ... SSCAN).

The value is ``pyvalkey.storage.sets.SetValue``, which models Valkey's intset / listpack /
hashtable encodings. The algebra commands build their result the way Valkey does (a fresh
intset that converts as members arrive, SINTERSTORE's listpack-then-maybe-intset, SDIFF's two
algorithms) because that decides both OBJECT ENCODING of a stored result and the order in
which a small result is listed.
"""

from __future__ import annotations

import random
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.common import delete_emptied
from pyvalkey.commands.keys import parse_cursor, parse_scan_options
from pyvalkey.commands.parsing import INT64_MIN, parse_int, to_int_at_least
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import RespSet
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_SET, Database
from pyvalkey.storage.sets import HASHTABLE, INTSET, LISTPACK, ScanSnapshots, SetLimits, SetValue

__all__: list[str] = []

NUMKEYS_NOT_POSITIVE = b"ERR numkeys should be greater than 0"
TOO_MANY_NUMKEYS = b"ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = b"ERR LIMIT can't be negative"
RANGE_NOT_SYMMETRIC = (
    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)

_SPOP_MOVE_STRATEGY_MUL = 5
_SPOP_SREM_BATCH = 1024  # members per SREM when SPOP with a count is propagated


def _limits(client: Client) -> SetLimits:
    config = client.server.config
    return (
        config.set_max_intset_entries,
        config.set_max_listpack_entries,
        config.set_max_listpack_value,
    )


def _read(db: Database, key: bytes) -> SetValue | None:
    value = db.lookup_read(key)
    if value is None or type(value) is SetValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _write(db: Database, key: bytes) -> SetValue | None:
    value = db.lookup_write(key)
    if value is None or type(value) is SetValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


# ---------------------------------------------------------------------------------------------
# Single-set commands
# ---------------------------------------------------------------------------------------------


@command("sadd")
def sadd(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = _write(db, key)
    limits = _limits(client)
    hint = len(argv) - 2
    if value is None:
        value = SetValue.create(argv[2], hint, limits)
        db.add(key, value)
    else:
        value.maybe_convert(hint, limits)
    add = value.add
    added = 0
    for member in argv[2:]:
        if add(member, limits):
            added += 1
    if added:
        db.signal_modified(key)
        db.notify(NOTIFY_SET, b"sadd", key)
        client.server.keyspace.dirty += added
    return added


@command("srem")
def srem(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = _write(db, key)
    if value is None:
        return 0
    deleted = 0
    emptied = False
    for member in argv[2:]:
        if value.remove(member):
            deleted += 1
            if not value.members:
                db.delete(key)
                emptied = True
                break
    if deleted:
        if not emptied:
            db.signal_modified(key)
        db.notify(NOTIFY_SET, b"srem", key)
        if emptied:
            db.notify(NOTIFY_GENERIC, b"del", key)
        client.server.keyspace.dirty += deleted
    return deleted


@command("smove")
def smove(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    source, destination, member = argv[1], argv[2], argv[3]
    src = db.lookup_write(source)
    dst = db.lookup_write(destination)
    if src is None:
        return 0
    if type(src) is not SetValue or (dst is not None and type(dst) is not SetValue):
        raise ErrorReply(msg.WRONGTYPE)
    if src is dst:
        return 1 if member in src else 0
    if not src.remove(member):
        return 0
    db.notify(NOTIFY_SET, b"srem", source)
    if not src.members:
        delete_emptied(db, source)
    limits = _limits(client)
    if dst is None:
        dst = SetValue.create(member, 1, limits)
        db.add(destination, dst)
    db.signal_modified(source)
    keyspace = client.server.keyspace
    keyspace.dirty += 1
    if dst.add(member, limits):
        keyspace.dirty += 1
        db.signal_modified(destination)
        db.notify(NOTIFY_SET, b"sadd", destination)
    return 1


@command("sismember")
def sismember(client: Client, argv: list[bytes]) -> Any:
    value = _read(client.db, argv[1])
    return 1 if value is not None and argv[2] in value.members else 0


@command("smismember")
def smismember(client: Client, argv: list[bytes]) -> Any:
    value = _read(client.db, argv[1])
    if value is None:
        return [0] * (len(argv) - 2)
    members = value.members
    return [1 if member in members else 0 for member in argv[2:]]


@command("scard")
def scard(client: Client, argv: list[bytes]) -> Any:
    value = _read(client.db, argv[1])
    return 0 if value is None else len(value.members)


@command("smembers")
def smembers(client: Client, argv: list[bytes]) -> Any:
    value = _read(client.db, argv[1])
    if value is None:
        return RespSet()
    return RespSet(value.ordered())


# ---------------------------------------------------------------------------------------------
# Random members
# ---------------------------------------------------------------------------------------------


@command("spop")
def spop(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        return _spop_count(client, argv)
    if len(argv) > 3:
        raise ErrorReply(msg.SYNTAX)
    db = client.db
    key = argv[1]
    value = _write(db, key)
    if value is None:
        return None
    member = value.random_member()
    value.remove(member)
    client.server.propagator.rewrite([b"SREM", key, member])  # what the pop did, not the pick
    db.notify(NOTIFY_SET, b"spop", key)
    if not value.members:
        delete_emptied(db, key)
    else:
        db.signal_modified(key)
    client.server.keyspace.dirty += 1
    return member


def _spop_count(client: Client, argv: list[bytes]) -> Any:
    count = to_int_at_least(argv[2], 0, msg.NOT_POSITIVE)
    db = client.db
    key = argv[1]
    value = _write(db, key)
    if value is None or count == 0:
        return RespSet()
    size = len(value.members)
    db.notify(NOTIFY_SET, b"spop", key)
    client.server.keyspace.dirty += min(count, size)
    limits = _limits(client)
    if count >= size:
        # Valkey answers with the union of the set alone: a fresh result set, whose order
        # (sorted integers first, then in insertion order) can differ from the source's.
        reply = _union_result([value], limits).ordered()
        delete_emptied(db, key)
        config = client.server.config
        client.server.propagator.rewrite([b"UNLINK" if config.lazyfree_lazy_server_del else b"DEL", key])
        return RespSet(reply)
    remaining = size - count
    if remaining * _SPOP_MOVE_STRATEGY_MUL > count:
        popped = value.sample(count)
        for member in popped:
            value.remove(member)
    else:
        # Most of the set goes: pick the survivors and rebuild the value from them. Valkey
        # builds the survivor set as a listpack (intset when the source is an intset).
        survivors = set(value.sample(remaining))
        ordered = value.ordered()
        popped = [member for member in ordered if member not in survivors]
        kept = [member for member in ordered if member in survivors]
        if value.enc == HASHTABLE:
            kept = list(survivors)
        value.replace_with(kept, INTSET if value.enc == INTSET else LISTPACK, limits)
    db.signal_modified(key)
    propagator = client.server.propagator
    if propagator.active:
        # replicas remove exactly the members popped here, in SREMs of up to 1024 members
        propagator.rewrite(
            *([b"SREM", key, *popped[i : i + _SPOP_SREM_BATCH]] for i in range(0, len(popped), _SPOP_SREM_BATCH))
        )
    return RespSet(popped)


@command("srandmember")
def srandmember(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        return _srandmember_count(client, argv)
    if len(argv) > 3:
        raise ErrorReply(msg.SYNTAX)
    value = _read(client.db, argv[1])
    if value is None:
        return None
    return value.random_member()


def _srandmember_count(client: Client, argv: list[bytes]) -> Any:
    count = parse_int(argv[2])
    if count is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if count == INT64_MIN:
        raise ErrorReply(RANGE_NOT_SYMMETRIC)
    value = _read(client.db, argv[1])
    if value is None or count == 0:
        return []
    if count < 0 or count == 1:
        pick = value.random_member
        return [pick() for _ in range(-count if count < 0 else 1)]
    size = len(value.members)
    if count >= size:
        return list(value.ordered())
    if value.enc == LISTPACK:
        # Valkey walks the listpack once: a random subset in listpack order.
        ordered = value.ordered()
        return [ordered[i] for i in sorted(random.sample(range(size), count))]
    return value.sample(count)


# ---------------------------------------------------------------------------------------------
# Algebra
# ---------------------------------------------------------------------------------------------


def _load(db: Database, keys: list[bytes]) -> list[SetValue | None]:
    """Read every key (missing ones are None), WRONGTYPE for any non-set."""
    sets: list[SetValue | None] = []
    for key in keys:
        value = db.lookup_read(key)
        if value is not None and type(value) is not SetValue:
            raise ErrorReply(msg.WRONGTYPE)
        sets.append(value)
    return sets


def _store(
    client: Client, destination: bytes, result: SetValue, event: bytes
) -> int:
    db = client.db
    keyspace = client.server.keyspace
    if result.members:
        db.set(destination, result)
        db.notify(NOTIFY_SET, event, destination)
        keyspace.dirty += 1
        return len(result.members)
    if db.delete(destination):
        keyspace.dirty += 1
        db.notify(NOTIFY_GENERIC, b"del", destination)
    return 0


def _intersect(client: Client, keys: list[bytes], destination: bytes | None) -> Any:
    db = client.db
    sets = _load(db, keys)
    if any(value is None for value in sets):
        if destination is not None:
            return _store(client, destination, SetValue(), b"sinterstore")
        return RespSet()
    # Smallest first (a stable sort, as glibc's qsort is for these sizes).
    ordered_sets: list[SetValue] = sorted(sets, key=len)  # type: ignore[arg-type]
    first = ordered_sets[0]
    others = [value.members for value in ordered_sets[1:] if value is not first]
    result = [m for m in first.ordered() if all(m in other for other in others)]
    if destination is None:
        return RespSet(result)
    limits = _limits(client)
    target = SetValue(INTSET if first.enc == INTSET else LISTPACK)
    for member in result:
        target.add(member, limits)
    if target.enc != INTSET and all(_canonical_int(m) for m in result):
        target.maybe_to_intset(limits[0])
    return _store(client, destination, target, b"sinterstore")


def _canonical_int(member: bytes) -> bool:
    return parse_int(member) is not None


def _union_result(sets: list[SetValue | None], limits: SetLimits) -> SetValue:
    target = SetValue(INTSET)
    add = target.add
    for value in sets:
        if value is None:
            continue
        if target.enc == HASHTABLE:
            # Past the small encodings nothing converts any more: add in bulk.
            members = target.members
            arr = target.arr
            for member in value.ordered():
                if member not in members:
                    members[member] = len(arr)
                    arr.append(member)
            continue
        for member in value.ordered():
            add(member, limits)
    return target


def _diff_result(sets: list[SetValue | None], limits: SetLimits) -> SetValue:
    target = SetValue(INTSET)
    first = sets[0]
    if first is None or any(value is first for value in sets[1:]):
        return target
    # Valkey picks one of two algorithms by estimated work; they can leave the result in
    # different encodings, so the choice is reproduced.
    work_one = 0
    work_two = 0
    for value in sets:
        if value is not None:
            work_one += len(first.members)
            work_two += len(value.members)
    if work_one // 2 <= work_two:
        others = [value.members for value in sets[1:] if value is not None]
        for member in first.ordered():
            if not any(member in other for other in others):
                target.add(member, limits)
        return target
    for member in first.ordered():
        target.add(member, limits)
    for value in sets[1:]:
        if value is None:
            continue
        if not target.members:
            break
        remove = target.remove
        for member in value.ordered():
            remove(member)
    return target


def _union_or_diff(client: Client, keys: list[bytes], destination: bytes | None, union: bool) -> Any:
    sets = _load(client.db, keys)
    limits = _limits(client)
    result = _union_result(sets, limits) if union else _diff_result(sets, limits)
    if destination is None:
        return RespSet(result.ordered())
    return _store(client, destination, result, b"sunionstore" if union else b"sdiffstore")


@command("sinter")
def sinter(client: Client, argv: list[bytes]) -> Any:
    return _intersect(client, argv[1:], None)


@command("sinterstore")
def sinterstore(client: Client, argv: list[bytes]) -> Any:
    return _intersect(client, argv[2:], argv[1])


@command("sintercard")
def sintercard(client: Client, argv: list[bytes]) -> Any:
    numkeys = to_int_at_least(argv[1], 1, NUMKEYS_NOT_POSITIVE)
    if numkeys > len(argv) - 2:
        raise ErrorReply(TOO_MANY_NUMKEYS)
    limit = 0
    i = 2 + numkeys
    while i < len(argv):
        if argv[i].lower() == b"limit" and i + 1 < len(argv):
            limit = to_int_at_least(argv[i + 1], 0, LIMIT_NEGATIVE)
            i += 2
        else:
            raise ErrorReply(msg.SYNTAX)
    sets = _load(client.db, argv[2 : 2 + numkeys])
    if any(value is None for value in sets):
        return 0
    ordered_sets: list[SetValue] = sorted(sets, key=len)  # type: ignore[arg-type]
    first = ordered_sets[0]
    others = [value.members for value in ordered_sets[1:] if value is not first]
    cardinality = 0
    for member in first.ordered():
        if all(member in other for other in others):
            cardinality += 1
            if limit and cardinality >= limit:
                break
    return cardinality


@command("sunion")
def sunion(client: Client, argv: list[bytes]) -> Any:
    return _union_or_diff(client, argv[1:], None, True)


@command("sunionstore")
def sunionstore(client: Client, argv: list[bytes]) -> Any:
    return _union_or_diff(client, argv[2:], argv[1], True)


@command("sdiff")
def sdiff(client: Client, argv: list[bytes]) -> Any:
    return _union_or_diff(client, argv[1:], None, False)


@command("sdiffstore")
def sdiffstore(client: Client, argv: list[bytes]) -> Any:
    return _union_or_diff(client, argv[2:], argv[1], False)


# ---------------------------------------------------------------------------------------------
# SSCAN
# ---------------------------------------------------------------------------------------------


@command("sscan")
def sscan(client: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    value = _read(client.db, argv[1])
    if value is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, b"sscan")
    match = options.match
    if value.enc != HASHTABLE:
        # Small encodings answer in one call whatever the cursor, as Valkey does.
        members = value.ordered()
        if match is not None:
            return [b"0", [m for m in members if match(m) is not None]]
        return [b"0", list(members)]
    scans = value.scans
    if scans is None:
        scans = value.scans = ScanSnapshots()
    next_cursor, candidates = scans.step(cursor, options.count, value.arr)
    present = value.members
    found = [m for m in candidates if m in present and (match is None or match(m) is not None)]
    return [b"%d" % next_cursor, found]

