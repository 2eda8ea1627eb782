"""Stream commands: Valkey's t_stream.c group (XADD/XTRIM/XDEL, ranges, XREAD and consumer
groups: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO, XSETID).

The value is ``pyvalkey.storage.streams.StreamValue``. Handlers follow Valkey's order of checks
(which arguments are parsed before the key is looked up, and when a missing key is an error),
because that order decides which error a client sees when several things are wrong at once.

IDs are parsed like Valkey's stream ID parser: the text up to a NUL byte, at most 127 bytes,
``<ms>[-<seq>]`` with both parts read by string2ull (which accepts what C's strtoull accepts when
the strict integer parser refuses it, e.g. leading blanks or ``+``), ``-`` and ``+`` for the
extreme IDs where allowed, ``<ms>-*`` only in XADD.

XREAD/XREADGROUP with BLOCK park the client through ``server.blocking``; when a waited-on key is
written the same handler is re-run. ``$`` is replaced in the kept arguments by the stream's last
ID before parking, as Valkey does, so the re-run serves what arrived meanwhile. XREADGROUP
waiters wake on any change of the key (deletion, type change, XGROUP DESTROY) and the re-run
answers with the NOGROUP/WRONGTYPE error, as in Valkey.
"""

from __future__ import annotations

import os
from itertools import islice
from typing import Any

from pyvalkey.blocking import parse_timeout
from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg, subcommand_syntax_error
from pyvalkey.protocol.replies import NULL_ARRAY, OK, Map
from pyvalkey.storage.database import NOTIFY_STREAM, Database
from pyvalkey.storage.streams import (
    INVALID_ENTRIES_READ,
    MAX_ID,
    UINT64_MAX,
    ZERO_ID,
    Consumer,
    ConsumerGroup,
    Nack,
    StreamID,
    StreamValue,
    format_id,
)

__all__: list[str] = []

LONG_MAX = 2**63 - 1
LISTPACK_MAX_SIZE = 1 << 30

INVALID_ID = b"ERR Invalid stream ID specified as stream command argument"
XADD_ID_TOO_SMALL = b"ERR The ID specified in XADD is equal or smaller than the target stream top item"
XADD_ID_ZERO = b"ERR The ID specified in XADD must be greater than 0-0"
XADD_EXHAUSTED = b"ERR The stream has exhausted the last possible ID, unable to add more items"
XADD_TOO_LARGE = b"ERR Elements are too large to be stored"
MAXLEN_MINID = b"ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
MAXLEN_NEGATIVE = b"ERR The MAXLEN argument must be >= 0."
LIMIT_NEGATIVE = b"ERR The LIMIT argument must be >= 0."
LIMIT_NO_STRATEGY = b"ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
XTRIM_NO_STRATEGY = b"ERR syntax error, XTRIM must be called with a trimming strategy"
LIMIT_NO_APPROX = b"ERR syntax error, LIMIT cannot be used without the special ~ option"
BAD_START = b"ERR invalid start ID for the interval"
BAD_END = b"ERR invalid end ID for the interval"
UNBALANCED = b"ERR Unbalanced '%s' list of streams: for each stream key an ID or '%s' must be specified."
GROUP_ONLY_XREADGROUP = b"ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
NOACK_ONLY_XREADGROUP = b"ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
MISSING_GROUP = b"ERR Missing GROUP option for XREADGROUP"
NOGROUP_XREADGROUP = b"NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option"
NOGROUP_KEY = b"NOGROUP No such key '%s' or consumer group '%s'"
NOGROUP_NAME = b"NOGROUP No such consumer group '%s' for key name '%s'"
DOLLAR_IN_XREADGROUP = (
    b"ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
    b"consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just "
    b"return an empty result set."
)
PLUS_IN_XREADGROUP = (
    b"ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this "
    b"consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just "
    b"return an empty result set."
)
GT_IN_XREAD = b"ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
ENTRIESREAD_RANGE = b"ERR value for ENTRIESREAD must be positive or -1"
XGROUP_NEEDS_KEY = (
    b"ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
    b"the MKSTREAM option to create an empty stream automatically."
)
BUSYGROUP = b"BUSYGROUP Consumer Group name already exists"
ENTRIES_ADDED_NEGATIVE = b"ERR entries_added must be positive"
XSETID_BELOW_MAXDELETED_ARG = b"ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
XSETID_BELOW_MAXDELETED = b"ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"
XSETID_BELOW_TOP = b"ERR The ID specified in XSETID is smaller than the target stream top item"
XSETID_ADDED_BELOW_LENGTH = b"ERR The entries_added specified in XSETID is smaller than the target stream length"
XCLAIM_MINIDLE = b"ERR Invalid min-idle-time argument for XCLAIM"
XCLAIM_IDLE = b"ERR Invalid IDLE option argument for XCLAIM"
XCLAIM_TIME = b"ERR Invalid TIME option argument for XCLAIM"
XCLAIM_RETRYCOUNT = b"ERR Invalid RETRYCOUNT option argument for XCLAIM"
XCLAIM_UNKNOWN = b"ERR Unrecognized XCLAIM option '%s'"
XAUTOCLAIM_MINIDLE = b"ERR Invalid min-idle-time argument for XAUTOCLAIM"
XAUTOCLAIM_COUNT = b"ERR COUNT must be > 0"
XAUTOCLAIM_MAX_COUNT = LONG_MAX // 16
XAUTOCLAIM_NOMEM = b"ERR Insufficient memory, failed allocating transient memory, COUNT too high."

_SPACES = b" \t\n\v\f\r"


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


_PHYSICAL_MEMORY = _physical_memory()


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _string2ull(data: bytes) -> int | None:
    """Valkey's string2ull: the strict integer parser, else strtoull's looser syntax."""
    value = parse_int(data)
    if value is not None:
        return value if value >= 0 else None
    text = data.lstrip(_SPACES)
    negative = False
    if text[:1] in (b"+", b"-"):
        negative = text[:1] == b"-"
        text = text[1:]
    if not text or not text.isdigit():
        return None
    value = int(text)
    if value > UINT64_MAX:
        return None
    return (-value) & UINT64_MAX if negative else value


def _parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False) -> StreamID:
    """An ID argument; ``strict`` refuses ``-`` and ``+``."""
    if len(arg) > 127:
        raise ErrorReply(INVALID_ID)
    nul = arg.find(b"\0")
    if nul >= 0:
        arg = arg[:nul]
    if arg == b"-":
        if strict:
            raise ErrorReply(INVALID_ID)
        return ZERO_ID
    if arg == b"+":
        if strict:
            raise ErrorReply(INVALID_ID)
        return MAX_ID
    ms_text, dash, seq_text = arg.partition(b"-")
    ms = _string2ull(ms_text)
    if ms is None:
        raise ErrorReply(INVALID_ID)
    if not dash:
        return (ms, missing_seq)
    seq = _string2ull(seq_text)
    if seq is None:
        raise ErrorReply(INVALID_ID)
    return (ms, seq)


def _parse_xadd_id(arg: bytes) -> tuple[StreamID, bool]:
    """XADD's explicit ID: (id, seq_given); ``<ms>-*`` leaves the sequence to us."""
    if len(arg) <= 127:
        text = arg.split(b"\0", 1)[0]
        ms_text, dash, seq_text = text.partition(b"-")
        if dash and seq_text == b"*" and text not in (b"-", b"+"):
            ms = _string2ull(ms_text)
            if ms is None:
                raise ErrorReply(INVALID_ID)
            return (ms, 0), False
    return _parse_id(arg, 0, strict=True), True


def _parse_interval(arg: bytes, missing_seq: int) -> tuple[StreamID, bool]:
    """A range end: ``(`` in front makes it exclusive (and then ``-``/``+`` are invalid)."""
    if len(arg) > 1 and arg[0] == 40:  # "("
        return _parse_id(arg[1:], missing_seq, strict=True), True
    return _parse_id(arg, missing_seq), False


def _incr(entry_id: StreamID) -> StreamID | None:
    ms, seq = entry_id
    if seq == UINT64_MAX:
        if ms == UINT64_MAX:
            return None
        return (ms + 1, 0)
    return (ms, seq + 1)


def _decr(entry_id: StreamID) -> StreamID | None:
    ms, seq = entry_id
    if seq == 0:
        if ms == 0:
            return None
        return (ms - 1, UINT64_MAX)
    return (ms, seq - 1)


def _range_bounds(start_arg: bytes, end_arg: bytes) -> tuple[StreamID, StreamID]:
    start, start_ex = _parse_interval(start_arg, 0)
    if start_ex:
        bumped = _incr(start)
        if bumped is None:
            raise ErrorReply(BAD_START)
        start = bumped
    end, end_ex = _parse_interval(end_arg, UINT64_MAX)
    if end_ex:
        lowered = _decr(end)
        if lowered is None:
            raise ErrorReply(BAD_END)
        end = lowered
    return start, end


def _long(arg: bytes, error: bytes = msg.NOT_INTEGER) -> int:
    value = parse_int(arg)
    if value is None:
        raise ErrorReply(error)
    return value


def _lower(arg: bytes) -> bytes:
    return arg.lower()


# ---------------------------------------------------------------------------------------------
# Keyspace helpers
# ---------------------------------------------------------------------------------------------


def _check(value: Any) -> StreamValue | None:
    if value is None or type(value) is StreamValue:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _read(db: Database, key: bytes) -> StreamValue | None:
    return _check(db.lookup_read(key))


def _write(db: Database, key: bytes) -> StreamValue | None:
    return _check(db.lookup_write(key))


def _node_limits(client: Client) -> tuple[int, int]:
    config = client.server.config
    return (
        getattr(config, "stream_node_max_bytes", 4096),
        getattr(config, "stream_node_max_entries", 100),
    )


def _entry_reply(entry_id: StreamID, pairs: list[bytes]) -> list[Any]:
    return [format_id(entry_id), list(pairs)]


def _entries_reply(stream: StreamValue, start: StreamID, end: StreamID, count: int, rev: bool) -> list[Any]:
    return [[format_id(key), list(pairs)] for key, pairs in stream.range(start, end, count, rev)]


def _create_consumer(
    client: Client, group: ConsumerGroup, name: bytes, key: bytes
) -> Consumer:
    consumer = Consumer(name, client.server.keyspace.now_ms)
    group.consumers[name] = consumer
    client.server.keyspace.dirty += 1
    client.db.notify(NOTIFY_STREAM, b"xgroup-createconsumer", key)
    return consumer


# ---------------------------------------------------------------------------------------------
# XADD / XTRIM / XDEL / XLEN / XRANGE
# ---------------------------------------------------------------------------------------------


class _TrimArgs:
    __slots__ = ("approx", "entry_id", "limit", "maxlen", "minid", "nomkstream", "seq_given", "strategy_index")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: StreamID | None = None
        self.approx = False
        self.limit = 0
        self.strategy_index = 0
        self.nomkstream = False
        self.entry_id: StreamID | None = None  # None: "*"
        self.seq_given = True


# Clients whose writes are applied as they come (Valkey's mustObeyClient).
_OBEYED_KINDS = frozenset(("aof", "primary", "master"))


def _parse_trim_args(client: Client, argv: list[bytes], xadd: bool) -> tuple[_TrimArgs, int]:
    """XADD/XTRIM options; returns them with the position of XADD's ID argument."""
    args = _TrimArgs()
    argc = len(argv)
    limit_given = False
    have_strategy = False
    i = 2
    while i < argc:
        more = argc - 1 - i
        opt = argv[i]
        low = opt.lower()
        if xadd and opt == b"*":
            break
        if low == b"maxlen" and more:
            if have_strategy:
                raise ErrorReply(MAXLEN_MINID)
            args.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                args.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            maxlen = _long(argv[i + 1])
            if maxlen < 0:
                raise ErrorReply(MAXLEN_NEGATIVE)
            args.maxlen = maxlen
            args.minid = None
            have_strategy = True
            i += 1
            args.strategy_index = i
        elif low == b"minid" and more:
            if have_strategy:
                raise ErrorReply(MAXLEN_MINID)
            args.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                args.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            args.minid = _parse_id(argv[i + 1], 0, strict=True)
            args.maxlen = None
            have_strategy = True
            i += 1
            args.strategy_index = i
        elif low == b"limit" and more:
            limit = _long(argv[i + 1])
            if limit < 0:
                raise ErrorReply(LIMIT_NEGATIVE)
            args.limit = limit
            limit_given = True
            i += 1
        elif xadd and low == b"nomkstream":
            args.nomkstream = True
        elif xadd:
            args.entry_id, args.seq_given = _parse_xadd_id(opt)
            break
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1
    if args.limit and not have_strategy:
        raise ErrorReply(LIMIT_NO_STRATEGY)
    if not xadd and not have_strategy:
        raise ErrorReply(XTRIM_NO_STRATEGY)
    if client.kind in _OBEYED_KINDS:
        # Replayed from the AOF or sent by a primary: the trim was made exact (``=`` and the
        # resulting length or first ID) when it was propagated, so a LIMIT kept in it is moot.
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise ErrorReply(LIMIT_NO_APPROX)
    elif args.approx:
        limit = 100 * _node_limits(client)[1]
        if limit <= 0:
            limit = 10000
        limit = min(limit, 1000000)
        args.limit = limit
    else:
        args.limit = 0
    return args, i


def _trim(stream: StreamValue, args: _TrimArgs) -> int:
    if args.maxlen is None and args.minid is None:
        return 0
    return stream.trim(args.maxlen, args.minid, args.approx, args.limit)


_NO_OPTIONS = _TrimArgs()


@command("xadd")
def xadd(client: Client, argv: list[bytes]) -> Any:
    first = argv[2] if len(argv) > 2 else b""
    if first == b"*":
        # The common forms "XADD key * ..." and "XADD key <id> ..." carry no options.
        args, idpos = _NO_OPTIONS, 2
    elif first[:1].isdigit():
        args, idpos = _NO_OPTIONS, 2
        entry_id, seq_given = _parse_xadd_id(first)
    else:
        args, idpos = _parse_trim_args(client, argv, True)
        entry_id, seq_given = args.entry_id, args.seq_given
    field_pos = idpos + 1
    nvalues = len(argv) - field_pos
    if nvalues < 2 or nvalues % 2:
        raise ErrorReply(msg.WRONG_ARITY % b"xadd")
    if first == b"*":
        entry_id = None
    if entry_id is not None and seq_given and entry_id == ZERO_ID:
        raise ErrorReply(XADD_ID_ZERO)
    db = client.db
    key = argv[1]
    stream = _write(db, key)
    if stream is None:
        if args.nomkstream:
            return None
        stream = StreamValue()
        db.add(key, stream)
    if stream.last_id == MAX_ID:
        raise ErrorReply(XADD_EXHAUSTED)
    last = stream.last_id
    if entry_id is None:
        new_id = stream.next_auto_id(client.server.keyspace.now_ms)
    elif seq_given:
        new_id = entry_id
    else:
        ms = entry_id[0]
        if ms == last[0]:
            if last[1] == UINT64_MAX:
                raise ErrorReply(XADD_ID_TOO_SMALL)
            new_id = (ms, last[1] + 1)
        else:
            new_id = (ms, 0)
    if new_id is None or new_id <= last:
        raise ErrorReply(XADD_ID_TOO_SMALL)
    pairs = argv[field_pos:]
    total = 0
    for item in pairs:
        total += len(item)
    if total > LISTPACK_MAX_SIZE:
        raise ErrorReply(XADD_TOO_LARGE)
    max_bytes, max_entries = _node_limits(client)
    stream.append(new_id, list(pairs), max_bytes, max_entries)
    db.notify(NOTIFY_STREAM, b"xadd", key)
    client.server.keyspace.dirty += 1
    if args is not _NO_OPTIONS and _trim(stream, args):
        db.notify(NOTIFY_STREAM, b"xtrim", key)
    db.signal_modified(key)
    reply = format_id(new_id)
    propagator = client.server.propagator
    if propagator.active and (entry_id is None or not seq_given or args.approx):
        # Replicas and the AOF must reach the same state: the generated ID replaces "*" (or
        # "ms-*"), and an approximate trim becomes the exact trim it turned out to be.
        out = list(argv)
        out[idpos] = reply
        if args.approx:
            _exact_trim_args(out, stream, args)
        propagator.rewrite(out)
    return reply


def _exact_trim_args(out: list[bytes], stream: StreamValue, args: _TrimArgs) -> None:
    """Rewrite ``MAXLEN|MINID ~ x`` in ``out`` as ``= <what the stream now holds>``, as Valkey
    propagates an approximate trim (a replica must not decide on its own where to stop)."""
    index = args.strategy_index
    out[index - 1] = b"="
    if args.maxlen is not None:
        out[index] = b"%d" % len(stream)
    else:
        # Valkey takes the first ID of the stream, or the greatest ID when it is empty.
        out[index] = format_id(stream.first_live_id() if len(stream) else MAX_ID)


@command("xtrim")
def xtrim(client: Client, argv: list[bytes]) -> Any:
    args, _ = _parse_trim_args(client, argv, False)
    db = client.db
    key = argv[1]
    stream = _write(db, key)
    if stream is None:
        return 0
    deleted = _trim(stream, args)
    if deleted:
        db.notify(NOTIFY_STREAM, b"xtrim", key)
        propagator = client.server.propagator
        if args.approx and propagator.active:
            out = list(argv)
            _exact_trim_args(out, stream, args)
            propagator.rewrite(out)
        db.signal_modified(key)
        client.server.keyspace.dirty += deleted
    return deleted


@command("xdel")
def xdel(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    stream = _write(db, key)
    if stream is None:
        return 0
    ids = [_parse_id(arg, 0, strict=True) for arg in argv[2:]]
    deleted = 0
    first_deleted = False
    for entry_id in ids:
        if stream.delete(entry_id):
            if entry_id == stream.first_id:
                first_deleted = True
            stream.max_deleted_id = max(stream.max_deleted_id, entry_id)
            deleted += 1
    if deleted:
        if not len(stream):
            stream.first_id = ZERO_ID
        elif first_deleted:
            stream.first_id = stream.first_live_id()
        db.signal_modified(key)
        db.notify(NOTIFY_STREAM, b"xdel", key)
        client.server.keyspace.dirty += deleted
    return deleted


@command("xlen")
def xlen(client: Client, argv: list[bytes]) -> Any:
    stream = _read(client.db, argv[1])
    return len(stream) if stream is not None else 0


def _xrange(client: Client, argv: list[bytes], rev: bool) -> Any:
    if rev:
        start, end = _range_bounds(argv[3], argv[2])
    else:
        start, end = _range_bounds(argv[2], argv[3])
    count = -1
    j = 4
    argc = len(argv)
    while j < argc:
        if argv[j].lower() == b"count" and j + 1 < argc:
            count = _long(argv[j + 1])
            count = max(count, 0)
            j += 2
        else:
            raise ErrorReply(msg.SYNTAX)
    stream = _read(client.db, argv[1])
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return _entries_reply(stream, start, end, max(count, 0), rev)


@command("xrange")
def xrange_(client: Client, argv: list[bytes]) -> Any:
    return _xrange(client, argv, False)


@command("xrevrange")
def xrevrange(client: Client, argv: list[bytes]) -> Any:
    return _xrange(client, argv, True)


# ---------------------------------------------------------------------------------------------
# XREAD / XREADGROUP
# ---------------------------------------------------------------------------------------------


def _deliver(
    client: Client,
    stream: StreamValue,
    start: StreamID,
    count: int,
    group: ConsumerGroup,
    consumer: Consumer,
    noack: bool,
    feed: list[list[bytes]] | None = None,
    key: bytes = b"",
    group_name: bytes = b"",
) -> list[Any]:
    """Serve new entries to a group consumer: advance the group, record pending entries.

    With ``feed`` (replicas listening), the changes are added to it the way Valkey propagates
    them: one forced XCLAIM per new pending entry, then XGROUP SETID when the group moved."""
    now = client.server.keyspace.now_ms
    out: list[Any] = []
    moved = False
    for entry_id, pairs in stream.range(start, MAX_ID, count):
        if entry_id > group.last_id:
            moved = True
            if (
                group.entries_read != INVALID_ENTRIES_READ
                and group.last_id >= stream.first_id
                and not stream.has_tombstones_in(group.last_id)
            ):
                group.entries_read += 1
            elif stream.entries_added:
                group.entries_read = stream.estimate_entries_read(entry_id)
            group.last_id = entry_id
        out.append([format_id(entry_id), list(pairs)])
        if not noack:
            nack = group.pel.get(entry_id)
            if nack is None:
                nack = Nack(consumer, now)
                group.pel[entry_id] = nack
                consumer.pel[entry_id] = nack
            else:
                # Already pending (the group ID was moved back with SETID): give it to this
                # consumer as a fresh delivery.
                if nack.consumer is not None:
                    nack.consumer.pel.pop(entry_id, None)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
                consumer.pel[entry_id] = nack
            consumer.active_time = now
            if feed is not None:
                feed.append(_xclaim_feed(key, group_name, format_id(entry_id), nack, group))
    if moved and feed is not None:
        feed.append(_setid_feed(key, group_name, group))
    return out


def _xclaim_feed(key: bytes, group_name: bytes, id_arg: bytes, nack: Nack, group: ConsumerGroup) -> list[bytes]:
    """The idempotent XCLAIM that gives a replica the state of one pending entry."""
    owner = nack.consumer.name if nack.consumer is not None else b""
    return [
        b"XCLAIM", key, group_name, owner, b"0", id_arg,
        b"TIME", b"%d" % nack.delivery_time,
        b"RETRYCOUNT", b"%d" % nack.delivery_count,
        b"FORCE", b"JUSTID", b"LASTID", format_id(group.last_id),
    ]  # fmt: skip


def _setid_feed(key: bytes, group_name: bytes, group: ConsumerGroup) -> list[bytes]:
    return [
        b"XGROUP", b"SETID", key, group_name, format_id(group.last_id),
        b"ENTRIESREAD", b"%d" % group.entries_read,
    ]  # fmt: skip


def _history(client: Client, stream: StreamValue, start: StreamID, count: int, consumer: Consumer) -> list[Any]:
    """Re-deliver this consumer's own pending entries from ``start`` on."""
    now = client.server.keyspace.now_ms
    out: list[Any] = []
    for entry_id in consumer.pel.irange(minimum=start):
        if count and len(out) >= count:
            break
        pairs = stream.get(entry_id)
        if pairs is None:
            out.append([format_id(entry_id), NULL_ARRAY])
        else:
            nack = consumer.pel[entry_id]
            nack.delivery_time = now
            nack.delivery_count += 1
            out.append([format_id(entry_id), list(pairs)])
    return out


def _xread(client: Client, argv: list[bytes], xreadgroup: bool) -> Any:
    name = b"xreadgroup" if xreadgroup else b"xread"
    argc = len(argv)
    deadline = -1
    count = 0
    streams_arg = 0
    nstreams = 0
    noack = False
    group_name: bytes | None = None
    consumer_name = b""
    i = 1
    while i < argc:
        more = argc - i - 1
        low = argv[i].lower()
        if low == b"block" and more:
            i += 1
            deadline = parse_timeout(argv[i], client, unit_ms=1)
        elif low == b"count" and more:
            i += 1
            count = _long(argv[i])
            count = max(count, 0)
        elif low == b"streams" and more:
            streams_arg = i + 1
            nstreams = argc - streams_arg
            if nstreams % 2:
                raise ErrorReply(UNBALANCED % (name, b">" if xreadgroup else b"$"))
            nstreams //= 2
            break
        elif low == b"group" and more >= 2:
            if not xreadgroup:
                raise ErrorReply(GROUP_ONLY_XREADGROUP)
            group_name = argv[i + 1]
            consumer_name = argv[i + 2]
            i += 2
        elif low == b"noack":
            if not xreadgroup:
                raise ErrorReply(NOACK_ONLY_XREADGROUP)
            noack = True
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1
    if streams_arg == 0:
        raise ErrorReply(msg.SYNTAX)
    if xreadgroup and group_name is None:
        raise ErrorReply(MISSING_GROUP)

    db = client.db
    keys = argv[streams_arg : streams_arg + nstreams]
    ids: list[StreamID] = []
    groups: list[ConsumerGroup | None] = []
    for index in range(nstreams):
        key = keys[index]
        id_arg = argv[streams_arg + nstreams + index]
        stream = _read(db, key)
        group = None
        if group_name is not None and (stream is None or (group := stream.group(group_name)) is None):
            raise ErrorReply(NOGROUP_XREADGROUP % (key, group_name))
        groups.append(group)
        if id_arg == b"$":
            if xreadgroup:
                raise ErrorReply(DOLLAR_IN_XREADGROUP)
            ids.append(stream.last_id if stream is not None else ZERO_ID)
        elif id_arg == b"+":
            if xreadgroup:
                raise ErrorReply(PLUS_IN_XREADGROUP)
            # The entry before the last one: "+" reads the last entry. A stream that never had
            # an entry (last ID 0-0) has nothing to read, as when the key is missing.
            lowered = _decr(stream.last_id) if stream is not None else None
            ids.append(lowered if lowered is not None else ZERO_ID)
        elif id_arg == b">":
            if not xreadgroup:
                raise ErrorReply(GT_IN_XREAD)
            ids.append(MAX_ID)
        else:
            ids.append(_parse_id(id_arg, 0, strict=True))

    now = client.server.keyspace.now_ms
    served: list[tuple[bytes, list[Any]]] = []
    # What replicas get instead of XREADGROUP (None: nobody listens, or plain XREAD).
    propagator = client.server.propagator
    feed: list[list[bytes]] | None = [] if xreadgroup and propagator.active else None
    for index in range(nstreams):
        key = keys[index]
        stream = _read(db, key)
        if stream is None:
            continue
        gt = ids[index]
        group = groups[index]
        history = False
        serve = False
        if group is not None:
            if gt != MAX_ID:
                serve = history = True
            elif len(stream) and stream.last_live_id() > group.last_id:
                serve = True
                gt = group.last_id
            consumer = group.consumers.get(consumer_name)
            if consumer is None:
                consumer = _create_consumer(client, group, consumer_name, key)
                if noack and feed is not None:
                    # No XCLAIM will carry this consumer to replicas: create it explicitly.
                    feed.append([b"XGROUP", b"CREATECONSUMER", key, group_name, consumer_name])  # type: ignore[list-item]
            consumer.seen_time = now
        elif len(stream) and stream.last_live_id() > gt:
            serve = True
        if not serve:
            continue
        start = _incr(gt) or ZERO_ID
        if group is None:
            entries = _entries_reply(stream, start, MAX_ID, count, False)
        elif history:
            entries = _history(client, stream, start, count, consumer)
        else:
            entries = _deliver(client, stream, start, count, group, consumer, noack, feed, key, group_name)  # type: ignore[arg-type]
        if group is not None:
            client.server.keyspace.dirty += 1
        served.append((key, entries))

    if feed is not None:
        # XREADGROUP itself is never propagated: only the effects collected above.
        propagator.rewrite(*feed)
    if served:
        if client.resp3:
            return Map(served)
        return [[key, entries] for key, entries in served]
    if deadline != -1:
        # Pin "$" to the ID it stands for now, so that the re-run after a write serves what
        # was added since.
        for index in range(nstreams):
            position = streams_arg + nstreams + index
            if argv[position] == b"$":
                argv[position] = format_id(ids[index])
        value_type = None if xreadgroup else StreamValue
        return client.server.blocking.block(client, keys, deadline, NULL_ARRAY, value_type=value_type)
    return NULL_ARRAY


@command("xread")
def xread(client: Client, argv: list[bytes]) -> Any:
    return _xread(client, argv, False)


@command("xreadgroup")
def xreadgroup(client: Client, argv: list[bytes]) -> Any:
    return _xread(client, argv, True)


# ---------------------------------------------------------------------------------------------
# XGROUP / XSETID
# ---------------------------------------------------------------------------------------------

_XGROUP_HELP: list[HelpEntry] = [
    ("CREATE <key> <groupname> <id|$> [option]", [
        "Make a consumer group that starts reading after <id> ($: the last entry).",
        "MKSTREAM makes an empty stream first when the key is missing;",
        "ENTRIESREAD <n> sets the initial value of the group's read counter.",
    ]),
    ("CREATECONSUMER <key> <groupname> <consumer>", "Add a consumer to the group."),
    ("DELCONSUMER <key> <groupname> <consumer>", "Drop a consumer and its pending entries."),
    ("DESTROY <key> <groupname>", "Drop the whole group."),
    ("SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
     "Move the group's last delivered ID (and set its read counter)."),
]


class _GroupTarget:
    __slots__ = ("entries_read", "group", "mkstream", "stream")

    def __init__(self) -> None:
        self.stream: StreamValue | None = None
        self.group: ConsumerGroup | None = None
        self.mkstream = False
        self.entries_read = INVALID_ENTRIES_READ


def _xgroup_prepare(client: Client, argv: list[bytes]) -> _GroupTarget:
    """The checks every XGROUP subcommand with a key shares, in Valkey's order."""
    target = _GroupTarget()
    sub = argv[1].lower()
    create = sub == b"create"
    setid = sub == b"setid"
    argc = len(argv)
    i = 5
    while i < argc:
        opt = argv[i].lower()
        if create and opt == b"mkstream":
            target.mkstream = True
            i += 1
        elif (create or setid) and opt == b"entriesread" and i + 1 < argc:
            value = _long(argv[i + 1])
            if value < 0 and value != INVALID_ENTRIES_READ:
                raise ErrorReply(ENTRIESREAD_RANGE)
            target.entries_read = value
            i += 2
        else:
            raise subcommand_syntax_error(argv)
    target.stream = _write(client.db, argv[2])
    if not target.mkstream:
        if target.stream is None:
            raise ErrorReply(XGROUP_NEEDS_KEY)
        target.group = target.stream.group(argv[3])
        if target.group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise ErrorReply(NOGROUP_NAME % (argv[3], argv[2]))
    return target


@command("xgroup|help")
def xgroup_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("XGROUP", _XGROUP_HELP)


@command("xgroup|create")
def xgroup_create(client: Client, argv: list[bytes]) -> Any:
    target = _xgroup_prepare(client, argv)
    if len(argv) > 8:
        raise subcommand_syntax_error(argv)
    stream = target.stream
    if argv[4] == b"$":
        last = stream.last_id if stream is not None else ZERO_ID
    else:
        last = _parse_id(argv[4], 0, strict=True)
    db = client.db
    key = argv[2]
    if stream is None:
        stream = StreamValue()
        db.add(key, stream)
    if stream.groups is None:
        stream.groups = {}
    name = argv[3]
    if name in stream.groups:
        raise ErrorReply(BUSYGROUP)
    stream.groups[name] = ConsumerGroup(last, target.entries_read)
    client.server.keyspace.dirty += 1
    db.notify(NOTIFY_STREAM, b"xgroup-create", key)
    return OK


@command("xgroup|setid")
def xgroup_setid(client: Client, argv: list[bytes]) -> Any:
    target = _xgroup_prepare(client, argv)
    if len(argv) not in (5, 7):
        raise subcommand_syntax_error(argv)
    stream, group = target.stream, target.group
    assert stream is not None and group is not None
    if argv[4] == b"$":
        last = stream.last_id
    else:
        last = _parse_id(argv[4], 0)
    group.last_id = last
    group.entries_read = target.entries_read
    client.server.keyspace.dirty += 1
    client.db.notify(NOTIFY_STREAM, b"xgroup-setid", argv[2])
    return OK


@command("xgroup|destroy")
def xgroup_destroy(client: Client, argv: list[bytes]) -> Any:
    target = _xgroup_prepare(client, argv)
    stream = target.stream
    if target.group is None or stream is None or stream.groups is None:
        return 0
    del stream.groups[argv[3]]
    client.server.keyspace.dirty += 1
    db = client.db
    db.notify(NOTIFY_STREAM, b"xgroup-destroy", argv[2])
    # Wake XREADGROUP waiters (their re-run fails with NOGROUP) without counting as a
    # modification of the key: Valkey does not invalidate WATCH here.
    blocking = client.server.blocking
    entry = (db.index, argv[2])
    if entry in blocking.waiting:
        blocking.ready[entry] = None
    return 1


@command("xgroup|createconsumer")
def xgroup_createconsumer(client: Client, argv: list[bytes]) -> Any:
    group = _xgroup_prepare(client, argv).group
    assert group is not None
    if argv[4] in group.consumers:
        return 0
    _create_consumer(client, group, argv[4], argv[2])
    return 1


@command("xgroup|delconsumer")
def xgroup_delconsumer(client: Client, argv: list[bytes]) -> Any:
    group = _xgroup_prepare(client, argv).group
    assert group is not None
    consumer = group.consumers.pop(argv[4], None)
    if consumer is None:
        return 0
    pending = len(consumer.pel)
    for entry_id in consumer.pel:
        del group.pel[entry_id]
    client.server.keyspace.dirty += 1
    client.db.notify(NOTIFY_STREAM, b"xgroup-delconsumer", argv[2])
    return pending


@command("xsetid")
def xsetid(client: Client, argv: list[bytes]) -> Any:
    new_id = _parse_id(argv[2], 0, strict=True)
    entries_added = -1
    max_deleted = ZERO_ID
    i = 3
    argc = len(argv)
    while i < argc:
        more = argc - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = _long(argv[i + 1])
            if entries_added < 0:
                raise ErrorReply(ENTRIES_ADDED_NEGATIVE)
            i += 2
        elif opt == b"maxdeletedid" and more:
            max_deleted = _parse_id(argv[i + 1], 0, strict=True)
            if new_id < max_deleted:
                raise ErrorReply(XSETID_BELOW_MAXDELETED_ARG)
            i += 2
        else:
            raise ErrorReply(msg.SYNTAX)
    db = client.db
    stream = _write(db, argv[1])
    if stream is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    if new_id < stream.max_deleted_id:
        raise ErrorReply(XSETID_BELOW_MAXDELETED)
    if len(stream):
        if new_id < stream.last_live_id():
            raise ErrorReply(XSETID_BELOW_TOP)
        if entries_added != -1 and len(stream) > entries_added:
            raise ErrorReply(XSETID_ADDED_BELOW_LENGTH)
    stream.last_id = new_id
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted != ZERO_ID:
        stream.max_deleted_id = max_deleted
    client.server.keyspace.dirty += 1
    db.notify(NOTIFY_STREAM, b"xsetid", argv[1])
    return OK


# ---------------------------------------------------------------------------------------------
# XACK / XPENDING / XCLAIM / XAUTOCLAIM
# ---------------------------------------------------------------------------------------------


@command("xack")
def xack(client: Client, argv: list[bytes]) -> Any:
    stream = _read(client.db, argv[1])
    group = stream.group(argv[2]) if stream is not None else None
    if group is None:
        return 0
    ids = [_parse_id(arg, 0, strict=True) for arg in argv[3:]]
    acknowledged = 0
    for entry_id in ids:
        if entry_id in group.pel:
            group.drop_pending(entry_id)
            acknowledged += 1
    client.server.keyspace.dirty += acknowledged
    return acknowledged


@command("xpending")
def xpending(client: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    if argc != 3 and (argc < 6 or argc > 9):
        raise ErrorReply(msg.SYNTAX)
    minidle = 0
    count = 0
    consumer_name: bytes | None = None
    start = end = ZERO_ID
    if argc >= 6:
        startidx = 3
        if argv[3].lower() == b"idle":
            minidle = _long(argv[4])
            if argc < 8:
                raise ErrorReply(msg.SYNTAX)
            startidx += 2
        count = _long(argv[startidx + 2])
        count = max(count, 0)
        start, end = _range_bounds(argv[startidx], argv[startidx + 1])
        if startidx + 3 < argc:
            consumer_name = argv[startidx + 3]
    stream = _read(client.db, argv[1])
    group = stream.group(argv[2]) if stream is not None else None
    if group is None:
        raise ErrorReply(NOGROUP_KEY % (argv[1], argv[2]))
    if argc == 3:
        pel = group.pel
        if not pel:
            return [0, None, None, NULL_ARRAY]
        owners = [
            [consumer.name, b"%d" % len(consumer.pel)]
            for consumer in group.sorted_consumers()
            if consumer.pel
        ]
        return [len(pel), format_id(pel.keys()[0]), format_id(pel.keys()[-1]), owners]
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pel
    else:
        pel = group.pel
    now = client.server.keyspace.now_ms
    out: list[Any] = []
    if count and start <= end:
        for entry_id in pel.irange(start, end):
            nack = pel[entry_id]
            if minidle and now - nack.delivery_time < minidle:
                continue
            elapsed = now - nack.delivery_time
            out.append([format_id(entry_id), nack.consumer.name, max(elapsed, 0), nack.delivery_count])
            if len(out) >= count:
                break
    return out


@command("xclaim")
def xclaim(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    stream = _read(db, key)
    group = stream.group(argv[2]) if stream is not None else None
    if stream is None or group is None:
        raise ErrorReply(NOGROUP_KEY % (key, argv[2]))
    minidle = max(_long(argv[4], XCLAIM_MINIDLE), 0)
    ids: list[StreamID] = []
    argc = len(argv)
    j = 5
    while j < argc:
        try:
            ids.append(_parse_id(argv[j], 0, strict=True))  # argv[5 + i] is the text of ids[i]
        except ErrorReply:
            break
        j += 1
    now = client.server.keyspace.now_ms
    deliverytime = -1
    retrycount = -1
    force = justid = False
    last_id = ZERO_ID
    while j < argc:
        more = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - _long(argv[j], XCLAIM_IDLE)
        elif opt == b"time" and more:
            j += 1
            deliverytime = _long(argv[j], XCLAIM_TIME)
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = _long(argv[j], XCLAIM_RETRYCOUNT)
        elif opt == b"lastid" and more:
            j += 1
            last_id = _parse_id(argv[j], 0, strict=True)
        else:
            raise ErrorReply(XCLAIM_UNKNOWN % argv[j])
        j += 1
    keyspace = client.server.keyspace
    lastid_moved = False
    if last_id > group.last_id:
        group.last_id = last_id
        lastid_moved = True
    if deliverytime == -1 or deliverytime < 0 or deliverytime > now:
        deliverytime = now
    consumer = group.consumers.get(argv[3])
    if consumer is None:
        consumer = _create_consumer(client, group, argv[3], key)
    consumer.seen_time = now
    out: list[Any] = []
    # What replicas get instead of XCLAIM: one forced XCLAIM (with the ID as the user wrote it)
    # per entry changed, or XGROUP SETID when only LASTID moved the group.
    propagator = client.server.propagator
    feed: list[list[bytes]] | None = [] if propagator.active else None
    group_name = argv[2]
    for position, entry_id in enumerate(ids, 5):
        nack = group.pel.get(entry_id)
        pairs = stream.get(entry_id)
        if pairs is None:
            if nack is not None:
                if feed is not None:
                    feed.append(_xclaim_feed(key, group_name, argv[position], nack, group))
                lastid_moved = False
                keyspace.dirty += 1
                group.drop_pending(entry_id)
            continue
        if force and nack is None:
            nack = Nack(None, now)
            group.pel[entry_id] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if nack.consumer is not consumer and nack.consumer is not None:
            nack.consumer.pel.pop(entry_id, None)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        if nack.consumer is not consumer:
            consumer.pel[entry_id] = nack
            nack.consumer = consumer
        out.append(format_id(entry_id) if justid else _entry_reply(entry_id, pairs))
        consumer.active_time = now
        if feed is not None:
            feed.append(_xclaim_feed(key, group_name, argv[position], nack, group))
        lastid_moved = False
        keyspace.dirty += 1
    if lastid_moved:
        keyspace.dirty += 1
        if feed is not None:
            feed.append(_setid_feed(key, group_name, group))
    if feed is not None:
        propagator.rewrite(*feed)
    return out


@command("xautoclaim")
def xautoclaim(client: Client, argv: list[bytes]) -> Any:
    minidle = max(_long(argv[4], XAUTOCLAIM_MINIDLE), 0)
    start, start_ex = _parse_interval(argv[5], 0)
    if start_ex:
        bumped = _incr(start)
        if bumped is None:
            raise ErrorReply(BAD_START)
        start = bumped
    count = 100
    justid = False
    argc = len(argv)
    j = 6
    while j < argc:
        more = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            value = parse_int(argv[j + 1])
            if value is None or not 1 <= value <= XAUTOCLAIM_MAX_COUNT:
                raise ErrorReply(XAUTOCLAIM_COUNT)
            count = value
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    db = client.db
    key = argv[1]
    stream = _read(db, key)
    group = stream.group(argv[2]) if stream is not None else None
    if stream is None or group is None:
        raise ErrorReply(NOGROUP_KEY % (key, argv[2]))
    if count * 16 > _PHYSICAL_MEMORY:
        # Valkey allocates room for COUNT deleted IDs up front; the allocation fails when it
        # is larger than the machine can give (the kernel refuses more than RAM + swap).
        raise ErrorReply(XAUTOCLAIM_NOMEM)
    now = client.server.keyspace.now_ms
    consumer = group.consumers.get(argv[3])
    if consumer is None:
        consumer = _create_consumer(client, group, argv[3], key)
    consumer.seen_time = now
    keyspace = client.server.keyspace
    # Replicas get one forced XCLAIM per pending entry claimed or dropped, never XAUTOCLAIM.
    propagator = client.server.propagator
    feed: list[list[bytes]] | None = [] if propagator.active else None
    group_name = argv[2]
    attempts = count * 10
    # The walk looks at no more than ``attempts`` pending entries, plus one for the cursor.
    candidates = list(islice(group.pel.irange(minimum=start), attempts + 1))
    claimed: list[Any] = []
    deleted: list[bytes] = []
    position = 0
    while attempts and count and position < len(candidates):
        attempts -= 1
        entry_id = candidates[position]
        position += 1
        nack = group.pel[entry_id]
        pairs = stream.get(entry_id)
        if pairs is None:
            keyspace.dirty += 1
            if feed is not None:
                feed.append(_xclaim_feed(key, group_name, format_id(entry_id), nack, group))
            group.drop_pending(entry_id)
            deleted.append(format_id(entry_id))
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        if nack.consumer is not consumer and nack.consumer is not None:
            nack.consumer.pel.pop(entry_id, None)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        if nack.consumer is not consumer:
            consumer.pel[entry_id] = nack
            nack.consumer = consumer
        claimed.append(format_id(entry_id) if justid else _entry_reply(entry_id, pairs))
        count -= 1
        consumer.active_time = now
        keyspace.dirty += 1
        if feed is not None:
            feed.append(_xclaim_feed(key, group_name, format_id(entry_id), nack, group))
    if feed is not None:
        propagator.rewrite(*feed)
    cursor = candidates[position] if position < len(candidates) else ZERO_ID
    return [format_id(cursor), claimed, deleted]


# ---------------------------------------------------------------------------------------------
# XINFO
# ---------------------------------------------------------------------------------------------

_XINFO_HELP: list[HelpEntry] = [
    ("CONSUMERS <key> <groupname>", "The consumers of a group."),
    ("GROUPS <key>", "The consumer groups of a stream."),
    ("STREAM <key> [FULL [COUNT <count>]", "Facts about a stream (FULL: with entries and groups)."),
]


@command("xinfo|help")
def xinfo_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("XINFO", _XINFO_HELP)


def _xinfo_stream(client: Client, argv: list[bytes]) -> StreamValue:
    stream = _read(client.db, argv[2])
    if stream is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    return stream


@command("xinfo|consumers")
def xinfo_consumers(client: Client, argv: list[bytes]) -> Any:
    stream = _xinfo_stream(client, argv)
    group = stream.group(argv[3])
    if group is None:
        raise ErrorReply(NOGROUP_NAME % (argv[3], argv[2]))
    now = client.server.keyspace.now_ms
    out = []
    for consumer in group.sorted_consumers():
        inactive = now - consumer.active_time if consumer.active_time != -1 else -1
        out.append({
            b"name": consumer.name,
            b"pending": len(consumer.pel),
            b"idle": max(now - consumer.seen_time, 0),
            b"inactive": inactive,
        })
    return out


@command("xinfo|groups")
def xinfo_groups(client: Client, argv: list[bytes]) -> Any:
    stream = _xinfo_stream(client, argv)
    out = []
    for name, group in stream.sorted_groups():
        out.append({
            b"name": name,
            b"consumers": len(group.consumers),
            b"pending": len(group.pel),
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": group.entries_read if group.entries_read != INVALID_ENTRIES_READ else None,
            b"lag": stream.lag(group),
        })
    return out


def _radix_tree_nodes(stream: StreamValue) -> int:
    """Nodes of Valkey's radix tree over the 16-byte big-endian node keys."""
    keys = [ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in stream.node_keys]
    return _rax_nodes(keys, 0)


def _rax_nodes(keys: list[bytes], depth: int) -> int:
    """Nodes a compressed radix tree needs for sorted, distinct, equal-length ``keys`` below
    ``depth`` (a chain of shared bytes is one node, each branching point is one node, and every
    key ends in a leaf node)."""
    if not keys:
        return 1
    if len(keys) == 1:
        return 1 if depth == len(keys[0]) else 2
    first, last = keys[0], keys[-1]
    shared = depth
    while first[shared] == last[shared]:
        shared += 1
    nodes = 1 if shared > depth else 0  # the compressed chain of shared bytes
    nodes += 1  # the branching node
    group: list[bytes] = []
    for key in keys:
        if group and group[0][shared] != key[shared]:
            nodes += _child_nodes(group, shared + 1)
            group = []
        group.append(key)
    nodes += _child_nodes(group, shared + 1)
    return nodes


def _child_nodes(keys: list[bytes], depth: int) -> int:
    if len(keys) == 1:
        return 1 if depth == len(keys[0]) else 2
    return _rax_nodes(keys, depth)


@command("xinfo|stream")
def xinfo_stream(client: Client, argv: list[bytes]) -> Any:
    stream = _xinfo_stream(client, argv)
    options = argv[3:]
    full = bool(options)
    count = 10
    if options:
        if len(options) not in (1, 3) or options[0].lower() != b"full":
            raise subcommand_syntax_error(argv)
        if len(options) == 3:
            if options[1].lower() != b"count":
                raise subcommand_syntax_error(argv)
            count = _long(options[2])
            if count < 0:
                count = 10
    info: dict[bytes, Any] = {
        b"length": len(stream),
        b"radix-tree-keys": stream.node_count(),
        b"radix-tree-nodes": _radix_tree_nodes(stream),
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted_id),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }
    if not full:
        info[b"groups"] = len(stream.groups) if stream.groups else 0
        first = next(stream.range(ZERO_ID, MAX_ID, 1), None)
        last = next(stream.range(ZERO_ID, MAX_ID, 1, rev=True), None)
        info[b"first-entry"] = _entry_reply(*first) if first is not None else None
        info[b"last-entry"] = _entry_reply(*last) if last is not None else None
        return info
    info[b"entries"] = _entries_reply(stream, ZERO_ID, MAX_ID, count, False)
    groups = []
    for name, group in stream.sorted_groups():
        pending = [
            [format_id(entry_id), nack.consumer.name, nack.delivery_time, nack.delivery_count]
            for entry_id, nack in islice(group.pel.items(), count or None)
        ]
        consumers = []
        for consumer in group.sorted_consumers():
            consumers.append({
                b"name": consumer.name,
                b"seen-time": consumer.seen_time,
                b"active-time": consumer.active_time,
                b"pel-count": len(consumer.pel),
                b"pending": [
                    [format_id(entry_id), nack.delivery_time, nack.delivery_count]
                    for entry_id, nack in islice(consumer.pel.items(), count or None)
                ],
            })
        groups.append({
            b"name": name,
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": group.entries_read if group.entries_read != INVALID_ENTRIES_READ else None,
            b"lag": stream.lag(group),
            b"pel-count": len(group.pel),
            b"pending": pending,
            b"consumers": consumers,
        })
    info[b"groups"] = groups
    return info
