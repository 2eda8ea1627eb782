"""Sorted set commands: Valkey's t_zset.c group (ZADD family, ranks and ranges, range removal,
pops and their blocking forms, random members, set operations, ZSCAN).

The value is ``pyvalkey.storage.zsets.ZSetValue``. Handlers follow Valkey's order of checks
(options, then scores, then the key's type ...), because that order decides which error a client
sees when several things are wrong at once.

Numbers: scores given to ZADD/ZINCRBY and WEIGHTS are parsed like Valkey's string2d (no
spaces, no hex, no NaN, and a value that overflows to infinity or underflows to zero is
refused), range ends like its range parser (the text up to a NUL byte, an empty text is 0,
``(`` marks an open end, overflow is fine). Scores are returned as floats, which the writer
prints as Valkey prints doubles. With WITHSCORES, RESP3 gets [member, score] pairs and RESP2
a flat array, as Valkey sends them.

Blocking pops (BZPOPMIN/BZPOPMAX/BZMPOP) try to pop and otherwise park the client through
``server.blocking`` (pyvalkey/blocking.py), which re-runs the handler when a key is written.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from pyvalkey.blocking import parse_timeout
from pyvalkey.client import Client
from pyvalkey.commands.common import delete_emptied
from pyvalkey.commands.keys import parse_cursor, parse_scan_options
from pyvalkey.commands.parsing import parse_int, parse_numkeys_side_count, to_int, to_int_at_least
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import NULL_ARRAY
from pyvalkey.protocol.writer import format_double
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_ZSET, Database
from pyvalkey.storage.sets import ScanSnapshots
from pyvalkey.storage.zsets import MAX_STRING, MIN_STRING, LexRange, ScoreRange, ZSetValue

__all__: list[str] = []

LONG_MAX = 2**63 - 1

NAN_RESULT = b"ERR resulting score is not a number (NaN)"
NOT_FLOAT_RANGE = b"ERR min or max is not a float"
NOT_LEX_RANGE = b"ERR min or max not valid string range item"
XX_NX = b"ERR XX and NX options at the same time are not compatible"
GT_LT_NX = b"ERR GT, LT, and/or NX options at the same time are not compatible"
INCR_PAIRS = b"ERR INCR option supports a single increment-element pair"
LIMIT_NEEDS_BY = b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
WITHSCORES_BYLEX = b"ERR syntax error, WITHSCORES not supported in combination with BYLEX"
WEIGHT_NOT_FLOAT = b"ERR weight value is not a float"
NEED_INPUT_KEY = b"ERR at least 1 input key is needed for '%s' command"
LIMIT_NEGATIVE = b"ERR LIMIT can't be negative"
OUT_OF_RANGE = b"ERR value is out of range"
RANDMEMBER_RANGE = b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

# Valkey's float syntax (its parser takes no hex and no NaN).
_FLOAT_RE = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)\Z", re.IGNORECASE)
_NONZERO_MANTISSA = re.compile(rb"[1-9]")


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _score_arg(data: bytes, error: bytes = msg.NOT_FLOAT) -> float:
    """string2d: a whole, finite-or-literal-infinite double; no overflow, no underflow to 0."""
    if not data or not _FLOAT_RE.match(data):
        raise ErrorReply(error)
    value = float(data)
    if value in (math.inf, -math.inf):
        if b"n" not in data and b"N" not in data:  # overflowed, not written as inf
            raise ErrorReply(error)
    elif value == 0:
        mantissa = data.split(b"e", 1)[0].split(b"E", 1)[0]
        if _NONZERO_MANTISSA.search(mantissa):  # underflowed to zero
            raise ErrorReply(error)
    return value


def _range_number(text: bytes) -> float | None:
    if not text:
        return 0.0
    if not _FLOAT_RE.match(text):
        return None
    return float(text)


def _score_range(low: bytes, high: bytes) -> ScoreRange:
    ends: list[Any] = []
    for arg in (low, high):
        nul = arg.find(b"\0")
        if nul >= 0:
            arg = arg[:nul]
        open_end = arg[:1] == b"("
        value = _range_number(arg[1:] if open_end else arg)
        if value is None:
            raise ErrorReply(NOT_FLOAT_RANGE)
        ends.append(value)
        ends.append(open_end)
    return ScoreRange(ends[0], ends[2], ends[1], ends[3])


def _lex_item(arg: bytes) -> tuple[Any, bool]:
    first = arg[:1]
    if first == b"+" or first == b"-":
        if len(arg) != 1:
            raise ErrorReply(NOT_LEX_RANGE)
        return (MAX_STRING if first == b"+" else MIN_STRING), True
    if first == b"(":
        return arg[1:], True
    if first == b"[":
        return arg[1:], False
    raise ErrorReply(NOT_LEX_RANGE)


def _lex_range(low: bytes, high: bytes) -> LexRange:
    low_value, minex = _lex_item(low)
    high_value, maxex = _lex_item(high)
    return LexRange(low_value, high_value, minex, maxex)


# ---------------------------------------------------------------------------------------------
# Keys, limits and replies
# ---------------------------------------------------------------------------------------------


def _read(db: Database, key: bytes) -> ZSetValue | None:
    value = db.lookup_read(key)
    if value is None or type(value) is ZSetValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _write(db: Database, key: bytes) -> ZSetValue | None:
    value = db.lookup_write(key)
    if value is None or type(value) is ZSetValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _limits(client: Client) -> tuple[int, int]:
    config = client.server.config
    return config.zset_max_listpack_entries, config.zset_max_listpack_value


def _reply_entries(client: Client, entries: list[tuple[float, bytes]], withscores: bool) -> list[Any]:
    """Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [member for _, member in entries]
    if client.resp3:
        return [[member, score] for score, member in entries]
    flat: list[Any] = []
    append = flat.append
    for score, member in entries:
        append(member)
        append(score)
    return flat


def _emptied(client: Client, db: Database, key: bytes, zs: ZSetValue) -> bool:
    """After removals: delete an empty key (with its "del" event), else signal the change."""
    if not zs.scores:
        delete_emptied(db, key)
        return True
    db.signal_modified(key)
    return False


# ---------------------------------------------------------------------------------------------
# ZADD, ZINCRBY, ZREM
# ---------------------------------------------------------------------------------------------


def _zadd(client: Client, argv: list[bytes], incr: bool) -> Any:
    argc = len(argv)
    nx = xx = gt = lt = ch = False
    idx = 2
    while idx < argc:
        opt = argv[idx].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        idx += 1
    elements = argc - idx
    if elements % 2 or not elements:
        raise ErrorReply(msg.SYNTAX)
    pairs = elements // 2
    if nx and xx:
        raise ErrorReply(XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise ErrorReply(GT_LT_NX)
    if incr and pairs > 1:
        raise ErrorReply(INCR_PAIRS)
    scores = [_score_arg(argv[j]) for j in range(idx, argc, 2)]
    members = argv[idx + 1 : argc : 2]
    maxlen = max(map(len, members))

    db = client.db
    key = argv[1]
    zs = _write(db, key)
    added = updated = processed = 0
    score = 0.0
    if zs is None:
        if xx:
            return (None if incr else 0)
        entries, value_limit = _limits(client)
        zs = ZSetValue.create(pairs, maxlen, entries, value_limit)
        db.add(key, zs)
    else:
        entries, value_limit = _limits(client)
        zs.maybe_convert(pairs, maxlen, entries, value_limit)
    current = zs.scores
    for member, score in zip(members, scores):
        old = current.get(member)
        if old is not None:
            if nx:
                continue
            if incr:
                score += old
                if math.isnan(score):
                    raise ErrorReply(NAN_RESULT)
            if (lt and score >= old) or (gt and score <= old):
                continue
            processed += 1
            if score != old:
                zs.update(member, old, score)
                updated += 1
        elif not xx:
            zs.insert(member, score, entries, value_limit)
            added += 1
            processed += 1
    if added or updated:
        client.server.keyspace.dirty += added + updated
        db.signal_modified(key)
        db.notify(NOTIFY_ZSET, b"zincr" if incr else b"zadd", key)
    if incr:
        return score if processed else None
    return added + updated if ch else added


@command("zadd")
def zadd(client: Client, argv: list[bytes]) -> Any:
    return _zadd(client, argv, False)


@command("zincrby")
def zincrby(client: Client, argv: list[bytes]) -> Any:
    return _zadd(client, argv, True)


@command("zrem")
def zrem(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    zs = _write(db, key)
    if zs is None:
        return 0
    deleted = 0
    for member in argv[2:]:
        if zs.remove(member):
            deleted += 1
            if not zs.scores:
                break
    if deleted:
        db.notify(NOTIFY_ZSET, b"zrem", key)
        _emptied(client, db, key, zs)
        client.server.keyspace.dirty += deleted
    return deleted


# ---------------------------------------------------------------------------------------------
# Point reads
# ---------------------------------------------------------------------------------------------


@command("zcard")
def zcard(client: Client, argv: list[bytes]) -> Any:
    zs = _read(client.db, argv[1])
    return 0 if zs is None else len(zs.scores)


@command("zscore")
def zscore(client: Client, argv: list[bytes]) -> Any:
    zs = _read(client.db, argv[1])
    return None if zs is None else zs.scores.get(argv[2])


@command("zmscore")
def zmscore(client: Client, argv: list[bytes]) -> Any:
    zs = _read(client.db, argv[1])
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.scores.get
    return [get(member) for member in argv[2:]]


def _zrank(client: Client, argv: list[bytes], reverse: bool) -> Any:
    argc = len(argv)
    if argc > 4:
        raise ErrorReply(msg.WRONG_ARITY % argv[0].lower())
    withscore = False
    if argc > 3:
        if argv[3].lower() != b"withscore":
            raise ErrorReply(msg.SYNTAX)
        withscore = True
    zs = _read(client.db, argv[1])
    rank = None if zs is None else zs.rank(argv[2], reverse)
    if rank is None:
        return NULL_ARRAY if withscore else None
    if withscore:
        return [rank, zs.scores[argv[2]]]  # type: ignore[union-attr]
    return rank


@command("zrank")
def zrank(client: Client, argv: list[bytes]) -> Any:
    return _zrank(client, argv, False)


@command("zrevrank")
def zrevrank(client: Client, argv: list[bytes]) -> Any:
    return _zrank(client, argv, True)


@command("zcount")
def zcount(client: Client, argv: list[bytes]) -> Any:
    spec = _score_range(argv[2], argv[3])
    zs = _read(client.db, argv[1])
    if zs is None:
        return 0
    lo, hi = zs.score_span(spec)
    return hi - lo


@command("zlexcount")
def zlexcount(client: Client, argv: list[bytes]) -> Any:
    spec = _lex_range(argv[2], argv[3])
    zs = _read(client.db, argv[1])
    if zs is None:
        return 0
    lo, hi = zs.lex_span(spec)
    return hi - lo


# ---------------------------------------------------------------------------------------------
# ZRANGE and friends
# ---------------------------------------------------------------------------------------------

_AUTO, _RANK, _SCORE, _LEX = 0, 1, 2, 3


def _zrange(client: Client, argv: list[bytes], start_at: int, store: bool, rangetype: int, reverse: Any) -> Any:
    """zrangeGenericCommand: ``argv[start_at]`` is the source key, then min, max, options.
    ``reverse`` is None when REV may be given (ZRANGE, ZRANGESTORE)."""
    argc = len(argv)
    withscores = False
    offset = 0
    limit = -1
    direction_given = reverse is not None
    rev = bool(reverse)
    j = start_at + 3
    while j < argc:
        opt = argv[j].lower()
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and argc - j - 1 >= 2:
            offset = to_int(argv[j + 1])
            limit = to_int(argv[j + 2])
            j += 2
        elif not direction_given and opt == b"rev":
            rev = True
            direction_given = True
        elif rangetype == _AUTO and opt == b"bylex":
            rangetype = _LEX
        elif rangetype == _AUTO and opt == b"byscore":
            rangetype = _SCORE
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    if rangetype == _AUTO:
        rangetype = _RANK
    if limit != -1 and rangetype == _RANK:
        raise ErrorReply(LIMIT_NEEDS_BY)
    if withscores and rangetype == _LEX:
        raise ErrorReply(WITHSCORES_BYLEX)
    low, high = argv[start_at + 1], argv[start_at + 2]
    if rev and rangetype != _RANK:
        low, high = high, low
    start = end = 0
    score_spec: ScoreRange | None = None
    lex_spec: LexRange | None = None
    if rangetype == _RANK:
        start = to_int(low)
        end = to_int(high)
    elif rangetype == _SCORE:
        score_spec = _score_range(low, high)
    else:
        lex_spec = _lex_range(low, high)

    zs = _read(client.db, argv[start_at])
    if zs is None:
        if store:
            return _store_range(client, argv[1], [], 0)
        return []
    hint = 0
    if rangetype == _RANK:
        size = len(zs.scores)
        if start < 0:
            start += size
        if end < 0:
            end += size
        start = max(start, 0)
        if start > end or start >= size:
            entries: list[tuple[float, bytes]] = []
        else:
            if end >= size:
                end = size - 1
            hint = end - start + 1
            if rev:
                entries = zs.items(size - 1 - end, size - start, reverse=True)
            else:
                entries = zs.items(start, end + 1)
    else:
        if score_spec is not None:
            a, b = zs.window(*zs.score_span(score_spec), offset, limit, rev)
        elif zs.listpack:
            a, b = zs.lex_walk(lex_spec, offset, limit, rev)  # type: ignore[arg-type]
        else:
            a, b = zs.window(*zs.lex_span(lex_spec), offset, limit, rev)  # type: ignore[arg-type]
        entries = zs.items(a, b, reverse=rev) if a < b else []
    if store:
        return _store_range(client, argv[1], entries, hint)
    return _reply_entries(client, entries, withscores)


def _store_range(client: Client, dst: bytes, entries: list[tuple[float, bytes]], hint: int) -> int:
    db = client.db
    if not entries:
        if db.delete(dst):
            db.notify(NOTIFY_GENERIC, b"del", dst)
            client.server.keyspace.dirty += 1
        return 0
    limit_entries, value_limit = _limits(client)
    result = ZSetValue.create(hint, 0, limit_entries, value_limit)
    insert = result.insert
    for score, member in entries:
        insert(member, score, limit_entries, value_limit)
    db.set(dst, result)
    db.notify(NOTIFY_ZSET, b"zrangestore", dst)
    client.server.keyspace.dirty += 1
    return len(entries)


@command("zrange")
def zrange(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _AUTO, None)


@command("zrangestore")
def zrangestore(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 2, True, _AUTO, None)


@command("zrevrange")
def zrevrange(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _RANK, True)


@command("zrangebyscore")
def zrangebyscore(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _SCORE, False)


@command("zrevrangebyscore")
def zrevrangebyscore(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _SCORE, True)


@command("zrangebylex")
def zrangebylex(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _LEX, False)


@command("zrevrangebylex")
def zrevrangebylex(client: Client, argv: list[bytes]) -> Any:
    return _zrange(client, argv, 1, False, _LEX, True)


# ---------------------------------------------------------------------------------------------
# Range removal
# ---------------------------------------------------------------------------------------------


def _zremrange(client: Client, argv: list[bytes], rangetype: int) -> Any:
    start = end = 0
    score_spec: ScoreRange | None = None
    lex_spec: LexRange | None = None
    if rangetype == _RANK:
        event = b"zremrangebyrank"
        start = to_int(argv[2])
        end = to_int(argv[3])
    elif rangetype == _SCORE:
        event = b"zremrangebyscore"
        score_spec = _score_range(argv[2], argv[3])
    else:
        event = b"zremrangebylex"
        lex_spec = _lex_range(argv[2], argv[3])
    db = client.db
    key = argv[1]
    zs = _write(db, key)
    if zs is None:
        return 0
    if rangetype == _RANK:
        size = len(zs.scores)
        if start < 0:
            start += size
        if end < 0:
            end += size
        start = max(start, 0)
        if start > end or start >= size:
            return 0
        if end >= size:
            end = size - 1
        lo, hi = start, end + 1
    elif score_spec is not None:
        lo, hi = zs.score_span(score_spec)
    else:
        lo, hi = zs.lex_span(lex_spec)  # type: ignore[arg-type]
    if lo >= hi:
        return 0
    zs.delete_positions(lo, hi)
    deleted = hi - lo
    db.notify(NOTIFY_ZSET, event, key)
    _emptied(client, db, key, zs)
    client.server.keyspace.dirty += deleted
    return deleted


@command("zremrangebyrank")
def zremrangebyrank(client: Client, argv: list[bytes]) -> Any:
    return _zremrange(client, argv, _RANK)


@command("zremrangebyscore")
def zremrangebyscore(client: Client, argv: list[bytes]) -> Any:
    return _zremrange(client, argv, _SCORE)


@command("zremrangebylex")
def zremrangebylex(client: Client, argv: list[bytes]) -> Any:
    return _zremrange(client, argv, _LEX)


# ---------------------------------------------------------------------------------------------
# Pops
# ---------------------------------------------------------------------------------------------


def _pop(client: Client, db: Database, key: bytes, zs: ZSetValue, count: int, from_max: bool) -> list[tuple[float, bytes]]:
    popped = zs.pop(count, from_max)
    client.server.keyspace.dirty += len(popped)
    db.notify(NOTIFY_ZSET, b"zpopmax" if from_max else b"zpopmin", key)
    _emptied(client, db, key, zs)
    return popped


def _flat(entries: list[tuple[float, bytes]]) -> list[Any]:
    flat: list[Any] = []
    for score, member in entries:
        flat.append(member)
        flat.append(score)
    return flat


def _zpop(client: Client, argv: list[bytes], from_max: bool) -> Any:
    if len(argv) > 3:
        raise ErrorReply(msg.SYNTAX)
    count = -1
    if len(argv) == 3:
        count = to_int_at_least(argv[2], 0, msg.NOT_POSITIVE)
    db = client.db
    key = argv[1]
    zs = _write(db, key)
    if zs is None or count == 0:
        return []
    popped = _pop(client, db, key, zs, 1 if count == -1 else count, from_max)
    if client.resp3 and count != -1:
        return [[member, score] for score, member in popped]
    return _flat(popped)


@command("zpopmin")
def zpopmin(client: Client, argv: list[bytes]) -> Any:
    return _zpop(client, argv, False)


@command("zpopmax")
def zpopmax(client: Client, argv: list[bytes]) -> Any:
    return _zpop(client, argv, True)


def _mpop_args(argv: list[bytes], numkeys_at: int) -> tuple[list[bytes], bool, int]:
    """ZMPOP/BZMPOP: numkeys, keys, MIN|MAX, [COUNT n] -> (keys, from_max, count)."""
    keys, side, count = parse_numkeys_side_count(argv, numkeys_at, (b"MIN", b"MAX"))
    return keys, side == 1, count


def _mpop_first(client: Client, keys: list[bytes], from_max: bool, count: int) -> Any:
    """Pop from the first existing key: [key, [[member, score] ...]], or None."""
    db = client.db
    for key in keys:
        zs = _write(db, key)
        if zs is None or not zs.scores:
            continue
        popped = _pop(client, db, key, zs, count, from_max)
        # replicas get ZPOPMIN/ZPOPMAX with the number actually popped
        client.server.propagator.rewrite([b"ZPOPMAX" if from_max else b"ZPOPMIN", key, b"%d" % len(popped)])
        return [key, [[member, score] for score, member in popped]]
    return None


@command("zmpop")
def zmpop(client: Client, argv: list[bytes]) -> Any:
    keys, from_max, count = _mpop_args(argv, 1)
    reply = _mpop_first(client, keys, from_max, count)
    return NULL_ARRAY if reply is None else reply


def _bzpop(client: Client, argv: list[bytes], from_max: bool) -> Any:
    deadline = parse_timeout(argv[-1], client)
    keys = argv[1:-1]
    db = client.db
    for key in keys:
        zs = _write(db, key)
        if zs is None or not zs.scores:
            continue
        popped = _pop(client, db, key, zs, 1, from_max)
        score, member = popped[0]
        client.server.propagator.rewrite([b"ZPOPMAX" if from_max else b"ZPOPMIN", key])
        return [key, member, score]
    # Valkey re-runs a blocked pop only when a key it waits on holds a sorted set.
    return client.server.blocking.block(client, keys, deadline, NULL_ARRAY, value_type=ZSetValue)


@command("bzpopmin")
def bzpopmin(client: Client, argv: list[bytes]) -> Any:
    return _bzpop(client, argv, False)


@command("bzpopmax")
def bzpopmax(client: Client, argv: list[bytes]) -> Any:
    return _bzpop(client, argv, True)


@command("bzmpop")
def bzmpop(client: Client, argv: list[bytes]) -> Any:
    keys, from_max, count = _mpop_args(argv, 2)
    deadline = parse_timeout(argv[1], client)
    reply = _mpop_first(client, keys, from_max, count)
    if reply is not None:
        return reply
    # Valkey re-runs a blocked pop only when a key it waits on holds a sorted set.
    return client.server.blocking.block(client, keys, deadline, NULL_ARRAY, value_type=ZSetValue)


# ---------------------------------------------------------------------------------------------
# ZRANDMEMBER
# ---------------------------------------------------------------------------------------------


@command("zrandmember")
def zrandmember(client: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    if argc < 3:
        zs = _read(client.db, argv[1])
        if zs is None:
            return None
        return zs.random_entry()[1]
    count = parse_int(argv[2])
    if count is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if count < -LONG_MAX:
        raise ErrorReply(RANDMEMBER_RANGE)
    if argc > 4 or (argc == 4 and argv[3].lower() != b"withscores"):
        raise ErrorReply(msg.SYNTAX)
    withscores = argc == 4
    if withscores and (count < -LONG_MAX // 2 or count > LONG_MAX // 2):
        raise ErrorReply(OUT_OF_RANGE)
    zs = _read(client.db, argv[1])
    if zs is None or count == 0:
        return []
    size = len(zs.scores)
    if count < 0 or count == 1:
        # With repetitions, in random order.
        n = -count if count < 0 else 1
        sl = zs.sl
        picks = [sl[i] for i in random.choices(range(size), k=n)]
        return _reply_entries(client, picks, withscores)
    if count >= size:
        # The whole set, walked from the highest score down as Valkey's set-op iterator does.
        return _reply_entries(client, list(reversed(zs.sl)), withscores)
    positions = random.sample(range(size), count)
    if zs.listpack:
        positions.sort()  # a listpack yields its sample in stored order
    sl = zs.sl
    return _reply_entries(client, [sl[i] for i in positions], withscores)


# ---------------------------------------------------------------------------------------------
# ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
# ---------------------------------------------------------------------------------------------

_UNION, _INTER, _DIFF = 0, 1, 2
_SUM, _MIN, _MAX = 0, 1, 2


def _members_of(value: Any) -> Any:
    """(member, score) pairs of an input: a sorted set from its highest score down (Valkey's
    iteration order), a set with score 1."""
    if type(value) is ZSetValue:
        return ((member, score) for score, member in reversed(value.sl))
    return ((member, 1.0) for member in value.members)


def _score_in(value: Any, member: bytes) -> float | None:
    if type(value) is ZSetValue:
        return value.scores.get(member)
    return 1.0 if member in value.members else None


def _setop(client: Client, argv: list[bytes], name: bytes, dst: bytes | None, numkeys_at: int, op: int, card_only: bool) -> Any:
    setnum = to_int(argv[numkeys_at])
    if setnum < 1:
        raise ErrorReply(NEED_INPUT_KEY % name)
    argc = len(argv)
    if setnum > argc - (numkeys_at + 1):
        raise ErrorReply(msg.SYNTAX)
    db = client.db
    sources: list[Any] = []
    j = numkeys_at + 1
    for key in argv[j : j + setnum]:
        value = db.lookup_read(key)
        if value is not None and type(value) is not ZSetValue and getattr(value, "TYPE_NAME", None) != b"set":
            raise ErrorReply(msg.WRONGTYPE)
        sources.append(value)
    weights = [1.0] * setnum
    aggregate = _SUM
    withscores = False
    limit = 0
    j += setnum
    remaining = argc - j
    while remaining:
        opt = argv[j].lower()
        if op != _DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for i in range(setnum):
                weights[i] = _score_arg(argv[j], WEIGHT_NOT_FLOAT)
                j += 1
            remaining -= setnum + 1
        elif op != _DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            mode = argv[j + 1].lower()
            if mode == b"sum":
                aggregate = _SUM
            elif mode == b"min":
                aggregate = _MIN
            elif mode == b"max":
                aggregate = _MAX
            else:
                raise ErrorReply(msg.SYNTAX)
            j += 2
            remaining -= 2
        elif dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
            remaining -= 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = to_int_at_least(argv[j + 1], 0, LIMIT_NEGATIVE)
            j += 2
            remaining -= 2
        else:
            raise ErrorReply(msg.SYNTAX)

    inputs = list(zip(sources, weights))
    if op != _DIFF:
        # Smallest first (a stable sort, as Valkey's qsort of equal sizes in practice).
        inputs.sort(key=lambda pair: 0 if pair[0] is None else len(pair[0]))
    result: dict[bytes, float] = {}
    if op == _INTER:
        first, first_weight = inputs[0]
        if first is not None and len(first):
            others = inputs[1:]
            cardinality = 0
            for member, score in _members_of(first):
                total = first_weight * score
                if math.isnan(total):
                    total = 0.0
                for other, weight in others:
                    found = _score_in(other, member) if other is not None else None
                    if found is None:
                        break
                    total = _aggregate(total, found * weight, aggregate)
                else:
                    if card_only:
                        cardinality += 1
                        if limit and cardinality >= limit:
                            break
                    else:
                        result[member] = total
            if card_only:
                return cardinality
        elif card_only:
            return 0
    elif op == _UNION:
        for source, weight in inputs:
            if source is None or not len(source):
                continue
            get = result.get
            for member, score in _members_of(source):
                value = weight * score
                if math.isnan(value):
                    value = 0.0
                old = get(member)
                result[member] = value if old is None else _aggregate(old, value, aggregate)
    else:
        first = inputs[0][0]
        if first is not None and len(first):
            others = [source for source, _ in inputs[1:] if source is not None]
            if not any(other is first for other in others):
                for member, score in _members_of(first):
                    for other in others:
                        if _score_in(other, member) is not None:
                            break
                    else:
                        result[member] = score

    if dst is not None:
        if not result:
            if db.delete(dst):
                db.notify(NOTIFY_GENERIC, b"del", dst)
                client.server.keyspace.dirty += 1
            return 0
        zs = ZSetValue(False)
        zs.load(result)
        entries, value_limit = _limits(client)
        zs.fit_encoding(entries, value_limit)
        db.set(dst, zs)
        event = (b"zunionstore", b"zinterstore", b"zdiffstore")[op]
        db.notify(NOTIFY_ZSET, event, dst)
        client.server.keyspace.dirty += 1
        return len(result)
    ordered = sorted((score, member) for member, score in result.items())
    return _reply_entries(client, ordered, withscores)


def _aggregate(target: float, value: float, mode: int) -> float:
    if mode == _SUM:
        total = target + value
        return 0.0 if math.isnan(total) else total  # inf + -inf counts as 0
    if mode == _MIN:
        return min(target, value)
    return max(target, value)


@command("zunion")
def zunion(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zunion", None, 1, _UNION, False)


@command("zinter")
def zinter(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zinter", None, 1, _INTER, False)


@command("zdiff")
def zdiff(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zdiff", None, 1, _DIFF, False)


@command("zintercard")
def zintercard(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zintercard", None, 1, _INTER, True)


@command("zunionstore")
def zunionstore(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zunionstore", argv[1], 2, _UNION, False)


@command("zinterstore")
def zinterstore(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zinterstore", argv[1], 2, _INTER, False)


@command("zdiffstore")
def zdiffstore(client: Client, argv: list[bytes]) -> Any:
    return _setop(client, argv, b"zdiffstore", argv[1], 2, _DIFF, False)


# ---------------------------------------------------------------------------------------------
# ZSCAN
# ---------------------------------------------------------------------------------------------


def _scan_score(score: float) -> bytes:
    # Valkey prints skiplist scores for ZSCAN with printf's %.17g.
    return b"%.17g" % score


@command("zscan")
def zscan(client: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[2])
    zs = _read(client.db, argv[1])
    if zs is None:
        return [b"0", []]
    options = parse_scan_options(argv, 3, b"zscan")
    match = options.match
    no_scores = options.no_values
    out: list[bytes] = []
    if zs.listpack:
        # Small sets answer in one call, whatever the cursor, as Valkey does.
        for score, member in zs.sl:
            if match is not None and match(member) is None:
                continue
            out.append(member)
            if not no_scores:
                out.append(format_double(score))
        return [b"0", out]
    scans = zs.scans
    if scans is None:
        scans = zs.scans = ScanSnapshots()
    next_cursor, candidates = scans.step(cursor, options.count, zs.scores.keys())  # type: ignore[arg-type]
    scores = zs.scores
    for member in candidates:
        score = scores.get(member)
        if score is None:
            continue
        if match is not None and match(member) is None:
            continue
        out.append(member)
        if not no_scores:
            out.append(_scan_score(score))
    return [b"%d" % next_cursor, out]
