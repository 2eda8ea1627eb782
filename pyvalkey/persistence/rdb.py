"""Valkey's RDB format: the reader and the writer, for whole files and for DUMP payloads.

File layout: a 9-byte header (``REDIS`` + 4 digits, or ``VALKEY`` + 3 digits from version 80
on), then opcodes -- AUX fields, FUNCTION2 libraries, SELECTDB / RESIZEDB, per-key
EXPIRETIME(_MS) / IDLE / FREQ -- and ``type, key, value`` records, then EOF and a CRC-64
(little endian; 0 means the writer did not compute one). A DUMP payload is one
``type, value`` record followed by the 2-byte RDB version and the CRC-64 of everything before.

Values are stored in one of many encodings accumulated over the format's history; the reader
understands all of them (plain lists/sets/hashes/zsets, zipmap, ziplist, intset, quicklist v1
and v2, listpack, binary-double zsets and Valkey 9's hash with per-field TTLs) and builds
pyvalkey's own value objects, picking their encoding from the configured limits as Valkey does
when it loads. The writer emits the encodings Valkey 9 itself writes (listpack for small
collections, quicklist v2 for lists, plain records for large ones), byte-for-byte the same
where the in-memory layout is deterministic, so that a DUMP taken here equals Valkey's.

Version choice for files: RDB 11 (``REDIS0011``) is what both Valkey 8 and Valkey 9 load, so
files are written as 11 unless they hold something only RDB 80 can express (a hash with
per-field TTLs), in which case they are written as ``VALKEY080`` like Valkey 9 does. DUMP
payloads carry version 80, as Valkey 9.1's do.

Streams and module values are refused with ``RdbError`` (no stream type exists here yet).
"""

from __future__ import annotations

import itertools
import math
import struct
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import Any

from pyvalkey.persistence import lzf
from pyvalkey.persistence.crc64 import crc64
from pyvalkey.protocol.writer import format_double
from pyvalkey.storage.hashes import HashValue
from pyvalkey.storage.lists import ListValue, Node, entry_size
from pyvalkey.storage.sets import HASHTABLE, INTSET, LISTPACK, SetValue
from pyvalkey.storage.streams import Consumer, ConsumerGroup, Nack, StreamValue, _int_size, _Node
from pyvalkey.storage.zsets import ZSetValue

__all__ = [
    "DUMP_VERSION",
    "FILE_VERSION",
    "MAX_LOAD_VERSION",
    "EmptyKey",
    "Limits",
    "LoadResult",
    "RdbError",
    "create_dump_payload",
    "decode_value",
    "dump_file_bytes",
    "encode_value",
    "iter_load_file_bytes",
    "load_file_bytes",
    "verify_dump_payload",
]

FILE_VERSION = 11  # read by Valkey 7.2, 8.x and 9.x
TTL_HASH_VERSION = 80  # needed for RDB_TYPE_HASH_2
DUMP_VERSION = 80  # what Valkey 9.1 puts in DUMP payloads
MAX_LOAD_VERSION = 80
_FOREIGN_VERSIONS = range(12, 80)  # other products' formats: refused

# Value types.
T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_MODULE_PRE_GA = 6
T_MODULE_2 = 7
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19
T_SET_LISTPACK = 20
T_STREAM_LISTPACKS_3 = 21
T_HASH_2 = 22

# Opcodes.
OP_SLOT_IMPORT = 243
OP_SLOT_INFO = 244
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

_ENC_INT8 = 0
_ENC_INT16 = 1
_ENC_INT32 = 2
_ENC_LZF = 3

_QUICKLIST_PLAIN = 1
_QUICKLIST_PACKED = 2

_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class RdbError(Exception):
    """The data is not valid RDB (or uses something we cannot load)."""


class EmptyKey(RdbError):
    """A collection with no elements: Valkey skips such keys with a warning."""


class Limits:
    """The encoding thresholds (from the configuration) that decide how a loaded value is held."""

    __slots__ = (
        "hash_entries",
        "hash_value",
        "list_fill",
        "set_entries",
        "set_intset",
        "set_value",
        "zset_entries",
        "zset_value",
    )

    def __init__(self, config: Any = None) -> None:
        get = (lambda name, default: getattr(config, name, default)) if config is not None else (lambda n, d: d)
        self.list_fill = int(get("list_max_listpack_size", -2))
        self.set_intset = int(get("set_max_intset_entries", 512))
        self.set_entries = int(get("set_max_listpack_entries", 128))
        self.set_value = int(get("set_max_listpack_value", 64))
        self.hash_entries = int(get("hash_max_listpack_entries", 128))
        self.hash_value = int(get("hash_max_listpack_value", 64))
        self.zset_entries = int(get("zset_max_listpack_entries", 128))
        self.zset_value = int(get("zset_max_listpack_value", 64))


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class _Input:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def read(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if end > len(self.data) or n < 0:
            raise RdbError("unexpected end of data")
        self.pos = end
        return self.data[pos:end]

    def byte(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise RdbError("unexpected end of data")
        self.pos = pos + 1
        return self.data[pos]

    def length(self) -> tuple[int, bool]:
        """A length, or (encoding kind, True) for a specially encoded string."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.read(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.read(8))[0], False
        raise RdbError(f"unknown length encoding {first}")

    def plain_length(self) -> int:
        value, encoded = self.length()
        if encoded:
            raise RdbError("encoded value where a length was expected")
        return value

    def string(self) -> bytes:
        value, encoded = self.length()
        if not encoded:
            return self.read(value)
        if value == _ENC_INT8:
            return b"%d" % struct.unpack("<b", self.read(1))[0]
        if value == _ENC_INT16:
            return b"%d" % struct.unpack("<h", self.read(2))[0]
        if value == _ENC_INT32:
            return b"%d" % struct.unpack("<i", self.read(4))[0]
        if value == _ENC_LZF:
            clen = self.plain_length()
            ulen = self.plain_length()
            try:
                return lzf.decompress(self.read(clen), ulen)
            except lzf.LzfError as exc:
                raise RdbError(f"invalid LZF data: {exc}") from None
        raise RdbError(f"unknown string encoding {value}")

    def binary_double(self) -> float:
        return float(_DOUBLE.unpack(self.read(8))[0])

    def text_double(self) -> float:
        """The old (type 3) score format: a length byte, with 253/254/255 for nan/inf/-inf."""
        n = self.byte()
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        return _to_float(self.read(n))

    def ms_time(self) -> int:
        return int(_I64.unpack(self.read(8))[0])


def _to_float(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        raise RdbError(f"invalid score {text!r}") from None


# -- compact containers ------------------------------------------------------------------------


def listpack_entries(blob: bytes) -> list[bytes]:
    """Every entry of a listpack, integers rendered as decimal text."""
    n = len(blob)
    if n < 7:
        raise RdbError("listpack too short")
    total, count = struct.unpack_from("<IH", blob, 0)
    if total != n or blob[-1] != 0xFF:
        raise RdbError("listpack header or terminator is wrong")
    out: list[bytes] = []
    pos = 6
    end = n - 1
    while pos < end:
        c = blob[pos]
        if c < 0x80:  # 7-bit unsigned integer
            out.append(b"%d" % c)
            size = 1
        elif c < 0xC0:  # string up to 63 bytes
            length = c & 0x3F
            out.append(blob[pos + 1 : pos + 1 + length])
            size = 1 + length
        elif c < 0xE0:  # 13-bit signed integer
            value = ((c & 0x1F) << 8) | blob[pos + 1]
            if value >= 1 << 12:
                value -= 1 << 13
            out.append(b"%d" % value)
            size = 2
        elif c < 0xF0:  # string up to 4095 bytes
            length = ((c & 0x0F) << 8) | blob[pos + 1]
            out.append(blob[pos + 2 : pos + 2 + length])
            size = 2 + length
        elif c == 0xF0:
            length = struct.unpack_from("<I", blob, pos + 1)[0]
            out.append(blob[pos + 5 : pos + 5 + length])
            size = 5 + length
        elif c == 0xF1:
            out.append(b"%d" % struct.unpack_from("<h", blob, pos + 1)[0])
            size = 3
        elif c == 0xF2:
            value = int.from_bytes(blob[pos + 1 : pos + 4], "little", signed=True)
            out.append(b"%d" % value)
            size = 4
        elif c == 0xF3:
            out.append(b"%d" % struct.unpack_from("<i", blob, pos + 1)[0])
            size = 5
        elif c == 0xF4:
            out.append(b"%d" % struct.unpack_from("<q", blob, pos + 1)[0])
            size = 9
        else:
            raise RdbError(f"invalid listpack entry type 0x{c:02x}")
        # Skip the back-length, which takes 1..5 bytes depending on ``size``.
        pos += size + _backlen_size(size)
        if pos > end:
            raise RdbError("listpack entry runs past the end")
    if pos != end:
        raise RdbError("listpack entries do not end at the terminator")
    if count != 65535 and count != len(out):
        raise RdbError("listpack element count is wrong")
    return out


def _backlen_size(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def ziplist_entries(blob: bytes) -> list[bytes]:
    n = len(blob)
    if n < 11:
        raise RdbError("ziplist too short")
    total, _tail, count = struct.unpack_from("<IIH", blob, 0)
    if total != n or blob[-1] != 0xFF:
        raise RdbError("ziplist header or terminator is wrong")
    out: list[bytes] = []
    pos = 10
    end = n - 1
    while pos < end:
        pos += 5 if blob[pos] == 0xFE else 1  # previous entry length
        if pos >= end:
            raise RdbError("ziplist entry runs past the end")
        c = blob[pos]
        top = c >> 6
        if top == 0:
            length = c & 0x3F
            out.append(blob[pos + 1 : pos + 1 + length])
            pos += 1 + length
        elif top == 1:
            length = ((c & 0x3F) << 8) | blob[pos + 1]
            out.append(blob[pos + 2 : pos + 2 + length])
            pos += 2 + length
        elif top == 2:
            length = struct.unpack_from(">I", blob, pos + 1)[0]
            out.append(blob[pos + 5 : pos + 5 + length])
            pos += 5 + length
        elif c == 0xC0:
            out.append(b"%d" % struct.unpack_from("<h", blob, pos + 1)[0])
            pos += 3
        elif c == 0xD0:
            out.append(b"%d" % struct.unpack_from("<i", blob, pos + 1)[0])
            pos += 5
        elif c == 0xE0:
            out.append(b"%d" % struct.unpack_from("<q", blob, pos + 1)[0])
            pos += 9
        elif c == 0xF0:
            out.append(b"%d" % int.from_bytes(blob[pos + 1 : pos + 4], "little", signed=True))
            pos += 4
        elif c == 0xFE:
            out.append(b"%d" % struct.unpack_from("<b", blob, pos + 1)[0])
            pos += 2
        elif 0xF1 <= c <= 0xFD:
            out.append(b"%d" % ((c & 0x0F) - 1))
            pos += 1
        else:
            raise RdbError(f"invalid ziplist entry encoding 0x{c:02x}")
        if pos > end:
            raise RdbError("ziplist entry runs past the end")
    if pos != end:
        raise RdbError("ziplist entries do not end at the terminator")
    if count != 65535 and count != len(out):
        raise RdbError("ziplist element count is wrong")
    return out


def intset_entries(blob: bytes) -> list[bytes]:
    if len(blob) < 8:
        raise RdbError("intset too short")
    width, count = struct.unpack_from("<II", blob, 0)
    codes = {2: "h", 4: "i", 8: "q"}
    if width not in codes or len(blob) != 8 + width * count:
        raise RdbError("intset header is wrong")
    values = struct.unpack_from(f"<{count}{codes[width]}", blob, 8)
    for a, b in itertools.pairwise(values):
        if a >= b:
            raise RdbError("intset is not sorted or has duplicates")
    return [b"%d" % v for v in values]


def zipmap_entries(blob: bytes) -> list[bytes]:
    """A zipmap's keys and values, alternating."""
    out: list[bytes] = []
    if not blob:
        raise RdbError("zipmap too short")
    pos = 1  # element count (unreliable beyond 253)
    n = len(blob)
    while True:
        if pos >= n:
            raise RdbError("zipmap runs past the end")
        c = blob[pos]
        if c == 0xFF:
            break
        # key
        if c < 254:
            length, pos = c, pos + 1
        elif c == 254:
            length, pos = struct.unpack_from("<I", blob, pos + 1)[0], pos + 5
        else:
            raise RdbError("invalid zipmap length")
        out.append(blob[pos : pos + length])
        pos += length
        if pos >= n:
            raise RdbError("zipmap runs past the end")
        c = blob[pos]
        if c < 254:
            length, pos = c, pos + 1
        elif c == 254:
            length, pos = struct.unpack_from("<I", blob, pos + 1)[0], pos + 5
        else:
            raise RdbError("invalid zipmap length")
        free = blob[pos]
        pos += 1
        out.append(blob[pos : pos + length])
        pos += length + free
        if pos > n:
            raise RdbError("zipmap runs past the end")
    if pos != n - 1:
        raise RdbError("zipmap has bytes after its terminator")
    return out


# -- building values ---------------------------------------------------------------------------


def _pairs(items: list[bytes], what: str) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise RdbError(f"{what} has an odd number of entries")
    return list(zip(items[0::2], items[1::2]))


def _build_list(values: list[bytes], limits: Limits) -> ListValue:
    if not values:
        raise EmptyKey("list")
    return ListValue.from_values(values, limits.list_fill)


def _build_list_nodes(nodes: list[tuple[list[bytes], bool]], limits: Limits) -> ListValue:
    """A quicklist loaded node by node keeps Valkey's node layout; one small node becomes a
    listpack (as Valkey converts it after loading)."""
    nodes = [(items, plain) for items, plain in nodes if items]
    if not nodes:
        raise EmptyKey("list")
    lst = ListValue()
    lst.fill = limits.list_fill
    model: deque[Node] = deque()
    for items, plain in nodes:
        lst.items.extend(items)
        if plain:
            model.append(Node(1, len(items[0]), True))
        else:
            model.append(Node(len(items), 7 + sum(map(entry_size, items))))
    lst.nodes = model
    if len(model) == 1 and not model[0].plain:
        only = model[0]
        fill = limits.list_fill
        if fill < 0:
            fits = only.sz <= (4096, 8192, 16384, 32768, 65536)[min(-fill - 1, 4)]
        else:
            fits = only.count <= max(fill, 1) and only.sz <= 8192
        if fits:
            lst.lp_bytes = only.sz
            lst.nodes = None
    return lst


def _build_set(members: list[bytes], kind: int, limits: Limits) -> SetValue:
    if not members:
        raise EmptyKey("set")
    triple = (limits.set_intset, limits.set_entries, limits.set_value)
    if kind == T_SET_INTSET:
        value = SetValue(INTSET if len(members) <= limits.set_intset else HASHTABLE)
    elif kind == T_SET_LISTPACK:
        value = SetValue(LISTPACK if len(members) <= limits.set_entries else HASHTABLE)
    else:
        value = SetValue.create(members[0], len(members), triple)
    if value.enc == HASHTABLE:
        arr = value.arr
        table = value.members
        for member in members:
            if member not in table:
                table[member] = len(arr)
                arr.append(member)
    elif kind in (T_SET_INTSET, T_SET_LISTPACK):
        value.members = dict.fromkeys(members)
    else:
        for member in members:
            value.add(member, triple)
    if len(value.members) != len(members):
        raise RdbError("duplicate set member")
    return value


def _build_hash(pairs: list[tuple[bytes, bytes]], compact: bool, limits: Limits) -> HashValue:
    if not pairs:
        raise EmptyKey("hash")
    value = HashValue()
    data = dict(pairs)
    if len(data) != len(pairs):
        raise RdbError("duplicate hash field")
    value.data = data
    if (
        not compact
        or len(data) > limits.hash_entries
        or any(len(f) > limits.hash_value or len(v) > limits.hash_value for f, v in pairs)
    ):
        value.listpack = False
    return value


def _build_zset(pairs: list[tuple[bytes, float]], compact: bool, limits: Limits) -> ZSetValue:
    if not pairs:
        raise EmptyKey("zset")
    scores: dict[bytes, float] = {}
    for member, score in pairs:
        if math.isnan(score):
            raise RdbError("NaN score")
        scores[member] = score
    if len(scores) != len(pairs):
        raise RdbError("duplicate sorted set member")
    listpack = len(scores) <= limits.zset_entries and max(map(len, scores)) <= limits.zset_value
    value = ZSetValue(listpack)
    value.load(scores)
    if listpack:
        value.fit_encoding(limits.zset_entries, limits.zset_value)
    return value


def decode_value(kind: int, src: _Input, limits: Limits, now_ms: int | None = None) -> Any:
    """Read one value of RDB type ``kind``. ``now_ms``: drop hash fields already expired
    (file loads on a primary); ``None`` keeps them."""
    if kind == T_STRING:
        return src.string()
    if kind == T_LIST:
        count = src.plain_length()
        return _build_list([src.string() for _ in range(count)], limits)
    if kind == T_SET:
        count = src.plain_length()
        return _build_set([src.string() for _ in range(count)], T_SET, limits)
    if kind in (T_ZSET, T_ZSET_2):
        count = src.plain_length()
        read_score = src.text_double if kind == T_ZSET else src.binary_double
        pairs = []
        for _ in range(count):
            member = src.string()
            pairs.append((member, read_score()))
        return _build_zset(pairs, False, limits)
    if kind == T_HASH:
        count = src.plain_length()
        pairs = []
        for _ in range(count):
            field = src.string()
            pairs.append((field, src.string()))
        return _build_hash(pairs, True, limits)
    if kind == T_HASH_2:
        count = src.plain_length()
        triples = []
        for _ in range(count):
            field = src.string()
            val = src.string()
            triples.append((field, val, src.ms_time()))
        return _build_ttl_hash(triples, now_ms)
    if kind == T_HASH_ZIPMAP:
        pairs = _pairs(zipmap_entries(src.string()), "zipmap")
        return _build_hash(pairs, True, limits)
    if kind == T_LIST_ZIPLIST:
        return _build_list(ziplist_entries(src.string()), limits)
    if kind == T_SET_INTSET:
        return _build_set(intset_entries(src.string()), T_SET_INTSET, limits)
    if kind == T_SET_LISTPACK:
        return _build_set(listpack_entries(src.string()), T_SET_LISTPACK, limits)
    if kind in (T_ZSET_ZIPLIST, T_ZSET_LISTPACK):
        entries = (ziplist_entries if kind == T_ZSET_ZIPLIST else listpack_entries)(src.string())
        pairs = [(m, _to_float(s)) for m, s in _pairs(entries, "sorted set")]
        return _build_zset(pairs, True, limits)
    if kind in (T_HASH_ZIPLIST, T_HASH_LISTPACK):
        entries = (ziplist_entries if kind == T_HASH_ZIPLIST else listpack_entries)(src.string())
        return _build_hash(_pairs(entries, "hash"), True, limits)
    if kind == T_LIST_QUICKLIST:
        count = src.plain_length()
        nodes = [(ziplist_entries(src.string()), False) for _ in range(count)]
        return _build_list_nodes(nodes, limits)
    if kind == T_LIST_QUICKLIST_2:
        count = src.plain_length()
        nodes = []
        for _ in range(count):
            container = src.plain_length()
            blob = src.string()
            if container == _QUICKLIST_PLAIN:
                nodes.append(([blob], True))
            elif container == _QUICKLIST_PACKED:
                entries = listpack_entries(blob)
                if not entries:
                    raise EmptyKey("list")  # Valkey refuses empty nodes as an empty key
                nodes.append((entries, False))
            else:
                raise RdbError(f"unknown quicklist container {container}")
        return _build_list_nodes(nodes, limits)
    if kind in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2, T_STREAM_LISTPACKS_3):
        return _read_stream(kind, src)
    if kind in (T_MODULE_PRE_GA, T_MODULE_2):
        raise RdbError("module values are not supported by this server (no modules are loaded)")
    raise RdbError(f"unknown value type {kind}")


# -- streams -----------------------------------------------------------------------------------

_STREAM_DELETED = 1  # entry flag: a tombstone
_STREAM_SAMEFIELDS = 2  # entry flag: the node's primary field names, values only
_U64_MASK = 2**64 - 1
_RAW_ID = struct.Struct(">QQ")


def _lp_int(item: bytes) -> int:
    try:
        return int(item)
    except ValueError:
        raise RdbError("stream listpack holds text where a number belongs") from None


def _read_stream_node(primary: tuple[int, int], blob: bytes, stream: StreamValue) -> None:
    """Unpack one node listpack into ``stream`` (live entries) and its node model."""
    items = listpack_entries(blob)
    if not items:
        raise RdbError("Empty listpack inside stream")
    n = len(items)
    if n < 4:
        raise RdbError("stream node primary entry is truncated")
    live = _lp_int(items[0])
    deleted = _lp_int(items[1])
    nfields = _lp_int(items[2])
    pos = 3 + nfields
    if nfields < 0 or pos >= n or items[pos] != b"0":
        raise RdbError("stream node primary entry is malformed")
    fields = tuple(items[3:pos])
    pos += 1
    ids = stream.ids
    entries = stream.entries
    base_ms, base_seq = primary
    seen_live = seen_deleted = 0
    last = primary
    previous: tuple[int, int] | None = None
    while pos < n:
        if pos + 3 > n:
            raise RdbError("stream entry is truncated")
        flags = _lp_int(items[pos])
        entry_id = ((base_ms + _lp_int(items[pos + 1])) & _U64_MASK, (base_seq + _lp_int(items[pos + 2])) & _U64_MASK)
        pos += 3
        if flags & _STREAM_SAMEFIELDS:
            count = len(fields)
            end = pos + count
            if end >= n:
                raise RdbError("stream entry is truncated")
            pairs = [x for pair in zip(fields, items[pos:end]) for x in pair]
            expected = count + 3
        else:
            count = _lp_int(items[pos])
            end = pos + 1 + 2 * count
            if count < 0 or end >= n:
                raise RdbError("stream entry is truncated")
            pairs = items[pos + 1 : end]
            expected = 2 * count + 4
        if _lp_int(items[end]) != expected:
            raise RdbError("stream entry back-count is wrong")
        pos = end + 1
        if entry_id < primary or (previous is not None and entry_id <= previous):
            raise RdbError("stream entry IDs are out of order")
        previous = last = entry_id
        if flags & _STREAM_DELETED:
            seen_deleted += 1
            continue
        seen_live += 1
        ids.append(entry_id)
        entries[entry_id] = pairs
    if seen_live != live or seen_deleted != deleted:
        raise RdbError("stream node counters disagree with its entries")
    if not live:
        raise RdbError("stream node without live entries")
    node = _Node(primary, fields)
    node.live = live
    node.deleted = deleted
    node.last_id = last
    node.size = len(blob) - _int_size(live) - _int_size(deleted)
    stream.nodes.append(node)
    stream.node_keys.append(primary)


def _read_id(src: _Input) -> tuple[int, int]:
    return src.plain_length(), src.plain_length()


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _read_stream(kind: int, src: _Input) -> StreamValue:
    stream = StreamValue()
    for _ in range(src.plain_length()):
        key = src.string()
        if len(key) != 16:
            raise RdbError("Stream node key entry is not the size of a stream ID")
        primary = _RAW_ID.unpack(key)
        if stream.node_keys and primary <= stream.node_keys[-1]:
            raise RdbError("Listpack re-added with existing key")
        if stream.ids and primary <= stream.ids[-1]:
            raise RdbError("stream nodes overlap")
        _read_stream_node(primary, src.string(), stream)
    length = src.plain_length()
    if length != len(stream.entries):
        raise RdbError("Stream length inconsistent with rax entries")
    stream.last_id = _read_id(src)
    if stream.ids and stream.ids[-1] > stream.last_id:
        raise RdbError("stream last ID is below its entries")
    if kind >= T_STREAM_LISTPACKS_2:
        stream.first_id = _read_id(src)
        stream.max_deleted_id = _read_id(src)
        stream.entries_added = src.plain_length()
    else:
        # Older files know nothing of these: every entry counts as added, no tombstones.
        stream.first_id = stream.ids[0] if stream.ids else (0, 0)
        stream.entries_added = length
    group_count = src.plain_length()
    if group_count:
        stream.groups = {}
    for _ in range(group_count):
        name = src.string()
        last_id = _read_id(src)
        if kind >= T_STREAM_LISTPACKS_2:
            entries_read = _signed(src.plain_length())
        else:
            entries_read = stream.estimate_entries_read(last_id)
        if name in stream.groups:  # type: ignore[operator]
            raise RdbError("Duplicated consumer group name")
        group = ConsumerGroup(last_id, entries_read)
        stream.groups[name] = group  # type: ignore[index]
        pel = group.pel
        for _ in range(src.plain_length()):
            entry_id = _RAW_ID.unpack(src.read(16))
            if entry_id in pel:
                raise RdbError("Duplicated global PEL entry loading stream consumer group")
            delivered = src.ms_time()
            pel[entry_id] = Nack(None, delivered, src.plain_length())
        for _ in range(src.plain_length()):
            cname = src.string()
            if cname in group.consumers:
                raise RdbError("Duplicate stream consumer detected.")
            consumer = Consumer(cname, src.ms_time())
            consumer.active_time = src.ms_time() if kind >= T_STREAM_LISTPACKS_3 else consumer.seen_time
            group.consumers[cname] = consumer
            for _ in range(src.plain_length()):
                entry_id = _RAW_ID.unpack(src.read(16))
                nack = pel.get(entry_id)
                if nack is None:
                    raise RdbError("Consumer entry not found in group global PEL")
                if entry_id in consumer.pel or nack.consumer is not None:
                    raise RdbError("Duplicated consumer PEL entry loading a stream consumer group")
                nack.consumer = consumer
                consumer.pel[entry_id] = nack
        for nack in pel.values():
            if nack.consumer is None:
                # The rest of the server assumes every pending entry has an owner.
                raise RdbError("Stream CG PEL entry without consumer")
    return stream


def _build_ttl_hash(triples: list[tuple[bytes, bytes, int]], now_ms: int | None) -> HashValue:
    if not triples:
        raise EmptyKey("hash")
    value = HashValue()
    value.listpack = False  # a hash with field TTLs is always a hashtable
    data = value.data
    for field, val, deadline in triples:
        if field in data:
            raise RdbError("duplicate hash field")
        if deadline != -1 and now_ms is not None and deadline <= now_ms:
            continue
        data[field] = val
        if deadline != -1:
            value.set_expire(field, deadline)
    if not data:
        raise EmptyKey("hash")  # every field had expired
    return value


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _len_bytes(n: int) -> bytes:
    if n < 64:
        return bytes((n,))
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def _int_encoding(data: bytes) -> bytes | None:
    """The 2/3/5-byte integer form of a canonical decimal string that fits 32 bits."""
    n = len(data)
    if n == 0 or n > 11:
        return None
    c = data[0]
    if not (c == 45 or 48 <= c <= 57):
        return None
    try:
        number = int(data)
    except ValueError:
        return None
    if b"%d" % number != data:
        return None
    if -128 <= number <= 127:
        return struct.pack("<Bb", 0xC0 | _ENC_INT8, number)
    if -32768 <= number <= 32767:
        return struct.pack("<Bh", 0xC0 | _ENC_INT16, number)
    if -(2**31) <= number <= 2**31 - 1:
        return struct.pack("<Bi", 0xC0 | _ENC_INT32, number)
    return None


class _Output:
    __slots__ = ("buf", "compress")

    def __init__(self, compress: bool) -> None:
        self.buf = bytearray()
        self.compress = compress

    def length(self, n: int) -> None:
        self.buf += _len_bytes(n)

    def string(self, data: bytes | bytearray) -> None:
        n = len(data)
        buf = self.buf
        if n <= 11:
            encoded = _int_encoding(bytes(data))
            if encoded is not None:
                buf += encoded
                return
        if self.compress and n > 20:
            packed = lzf.compress(bytes(data), n - 4)
            if packed is not None:
                buf.append(0xC0 | _ENC_LZF)
                buf += _len_bytes(len(packed))
                buf += _len_bytes(n)
                buf += packed
                return
        buf += _len_bytes(n)
        buf += data


def _lp_entry(item: bytes, out: bytearray) -> None:
    n = len(item)
    start = len(out)
    number: int | None = None
    if 0 < n <= 20:
        c = item[0]
        if c == 45 or 48 <= c <= 57:
            try:
                number = int(item)
            except ValueError:
                number = None
            if number is not None and (b"%d" % number != item or not _INT64_MIN <= number <= _INT64_MAX):
                number = None
    if number is not None:
        if 0 <= number <= 127:
            out.append(number)
        elif -4096 <= number <= 4095:
            number &= 0x1FFF
            out.append(0xC0 | (number >> 8))
            out.append(number & 0xFF)
        elif -32768 <= number <= 32767:
            out.append(0xF1)
            out += struct.pack("<h", number)
        elif -8388608 <= number <= 8388607:
            out.append(0xF2)
            out += (number & 0xFFFFFF).to_bytes(3, "little")
        elif -(2**31) <= number <= 2**31 - 1:
            out.append(0xF3)
            out += struct.pack("<i", number)
        else:
            out.append(0xF4)
            out += struct.pack("<q", number)
    elif n < 64:
        out.append(0x80 | n)
        out += item
    elif n < 4096:
        out.append(0xE0 | (n >> 8))
        out.append(n & 0xFF)
        out += item
    else:
        out.append(0xF0)
        out += struct.pack("<I", n)
        out += item
    size = len(out) - start
    # The back-length: ``size`` in 7-bit groups, most significant first, every byte but the
    # first flagged with the high bit, so it can be read from the right.
    if size <= 127:
        out.append(size)
    else:
        groups = []
        while size:
            groups.append(size & 0x7F)
            size >>= 7
        groups.reverse()
        out.append(groups[0])
        for g in groups[1:]:
            out.append(g | 0x80)


def encode_listpack(items: Iterable[bytes]) -> bytes:
    body = bytearray(6)
    count = 0
    for item in items:
        _lp_entry(item, body)
        count += 1
    body.append(0xFF)
    struct.pack_into("<IH", body, 0, len(body), min(count, 65535))
    return bytes(body)


def encode_intset(members: list[bytes]) -> bytes:
    numbers = sorted(int(m) for m in members)
    width = 2
    if numbers and (numbers[0] < -32768 or numbers[-1] > 32767):
        width = 4
        if numbers[0] < -(2**31) or numbers[-1] > 2**31 - 1:
            width = 8
    code = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack("<II", width, len(numbers)) + struct.pack(f"<{len(numbers)}{code}", *numbers)


def _score_text(score: float) -> bytes:
    return format_double(score)


def value_rdb_type(value: Any) -> int:
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return T_STRING
    if kind is ListValue:
        return T_LIST_QUICKLIST_2
    if kind is SetValue:
        return (T_SET_INTSET, T_SET_LISTPACK, T_SET)[value.enc]
    if kind is HashValue:
        if value.listpack:
            return T_HASH_LISTPACK
        return T_HASH_2 if value.expires else T_HASH
    if kind is ZSetValue:
        return T_ZSET_LISTPACK if value.listpack else T_ZSET_2
    if kind is StreamValue:
        return T_STREAM_LISTPACKS_3
    raise RdbError("cannot serialize a value of type {}".format(getattr(value, "TYPE_NAME", b"?").decode()))


def _write_value(value: Any, kind: int, out: _Output) -> None:
    if kind == T_STRING:
        out.string(value)
    elif kind == T_LIST_QUICKLIST_2:
        nodes = value.nodes
        items = value.items
        if nodes is None:
            out.length(1)
            out.length(_QUICKLIST_PACKED)
            out.string(encode_listpack(items))
        else:
            out.length(len(nodes))
            position = 0
            for node in nodes:
                chunk = [items[i] for i in range(position, position + node.count)]
                position += node.count
                if node.plain:
                    out.length(_QUICKLIST_PLAIN)
                    out.string(chunk[0])
                else:
                    out.length(_QUICKLIST_PACKED)
                    out.string(encode_listpack(chunk))
    elif kind == T_SET_INTSET:
        out.string(encode_intset(list(value.members)))
    elif kind == T_SET_LISTPACK:
        out.string(encode_listpack(value.ordered()))
    elif kind == T_SET:
        members = value.ordered()
        out.length(len(members))
        for member in members:
            out.string(member)
    elif kind == T_HASH_LISTPACK:
        flat: list[bytes] = []
        for field, val in value.data.items():
            flat.append(field)
            flat.append(val)
        out.string(encode_listpack(flat))
    elif kind in (T_HASH, T_HASH_2):
        data = value.data
        out.length(len(data))
        expires = value.expires or {}
        for field, val in data.items():
            out.string(field)
            out.string(val)
            if kind == T_HASH_2:
                out.buf += _I64.pack(expires.get(field, -1))
    elif kind == T_ZSET_LISTPACK:
        flat = []
        for score, member in value.sl:
            flat.append(member)
            flat.append(_score_text(score))
        out.string(encode_listpack(flat))
    elif kind == T_ZSET_2:
        # Highest score first: the loader then always inserts at the head of its skiplist.
        out.length(len(value.sl))
        pack = _DOUBLE.pack
        for score, member in reversed(value.sl):
            out.string(member)
            out.buf += pack(score)
    elif kind == T_STREAM_LISTPACKS_3:
        _write_stream(value, out)
    else:
        raise RdbError(f"cannot serialize RDB type {kind}")


def _write_stream(value: StreamValue, out: _Output) -> None:
    ids = value.ids
    head = value._head
    entries = value.entries
    nodes = value.nodes
    keys = value.node_keys
    out.length(len(nodes))
    for index, node in enumerate(nodes):
        lo = bisect_left(ids, node.primary_id, head)
        hi = bisect_left(ids, keys[index + 1], lo) if index + 1 < len(nodes) else len(ids)
        base_ms, base_seq = node.primary_id
        fields = node.fields
        nfields = len(fields)
        # Deleted entries are not kept here, so the node is written without its tombstones.
        items: list[bytes] = [b"%d" % (hi - lo), b"0", b"%d" % nfields, *fields, b"0"]
        for position in range(lo, hi):
            entry_id = ids[position]
            pairs = entries[entry_id]
            ms = _signed((entry_id[0] - base_ms) & _U64_MASK)
            seq = _signed((entry_id[1] - base_seq) & _U64_MASK)
            count = len(pairs) // 2
            if count == nfields and tuple(pairs[0::2]) == fields:
                items += (b"2", b"%d" % ms, b"%d" % seq, *pairs[1::2], b"%d" % (count + 3))
            else:
                items += (b"0", b"%d" % ms, b"%d" % seq, b"%d" % count, *pairs, b"%d" % (2 * count + 4))
        out.string(_RAW_ID.pack(*node.primary_id))
        out.string(encode_listpack(items))
    out.length(len(entries))
    for part in (*value.last_id, *value.first_id, *value.max_deleted_id):
        out.length(part)
    out.length(value.entries_added)
    groups = value.sorted_groups()
    out.length(len(groups))
    buf = out.buf
    for name, group in groups:
        out.string(name)
        out.length(group.last_id[0])
        out.length(group.last_id[1])
        out.length(group.entries_read & _U64_MASK)
        out.length(len(group.pel))
        for entry_id, nack in group.pel.items():
            buf += _RAW_ID.pack(*entry_id)
            buf += _I64.pack(nack.delivery_time)
            out.length(nack.delivery_count)
        consumers = group.sorted_consumers()
        out.length(len(consumers))
        for consumer in consumers:
            out.string(consumer.name)
            buf += _I64.pack(consumer.seen_time)
            buf += _I64.pack(consumer.active_time)
            out.length(len(consumer.pel))
            for entry_id in consumer.pel:
                buf += _RAW_ID.pack(*entry_id)


def encode_value(value: Any, compress: bool = True) -> tuple[int, bytes]:
    """(RDB type, serialized value)."""
    kind = value_rdb_type(value)
    out = _Output(compress)
    _write_value(value, kind, out)
    return kind, bytes(out.buf)


# -- DUMP payloads -----------------------------------------------------------------------------


def create_dump_payload(value: Any, compress: bool = True) -> bytes:
    kind, body = encode_value(value, compress)
    payload = bytearray((kind,))
    payload += body
    payload += struct.pack("<H", DUMP_VERSION)
    payload += _U64.pack(crc64(payload))
    return bytes(payload)


def verify_dump_payload(payload: bytes, check_crc: bool = True) -> bool:
    """Footer checks done before a payload is decoded (version not newer than ours, not a
    foreign version, CRC-64 right)."""
    if len(payload) < 10:
        return False
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > MAX_LOAD_VERSION or version in _FOREIGN_VERSIONS:
        return False
    if not check_crc:
        return True
    return _U64.unpack_from(payload, len(payload) - 8)[0] == crc64(memoryview(payload)[:-8])


def decode_dump_payload(payload: bytes, limits: Limits) -> Any:
    """The value inside a verified payload; ``RdbError`` if the body is malformed."""
    src = _Input(payload[:-10])
    kind = src.byte()
    value = decode_value(kind, src, limits)
    if src.pos != len(src.data):
        raise RdbError("trailing bytes after the value")
    return value


# -- whole files -------------------------------------------------------------------------------


class LoadResult:
    """What a file load found, for INFO and the log."""

    __slots__ = ("aux", "empty_keys", "end", "expired", "functions", "keys", "version")

    def __init__(self) -> None:
        self.version = 0
        self.end = 0  # offset just past the RDB image (an AOF preamble's command tail starts there)
        self.aux: dict[bytes, bytes] = {}
        self.keys = 0
        self.expired = 0
        self.empty_keys = 0
        self.functions: list[bytes] = []


def _header_version(data: bytes) -> tuple[int, int]:
    """(version, header length)."""
    if data[:6] == b"VALKEY" and len(data) >= 9 and data[6:9].isdigit():
        return int(data[6:9]), 9
    if data[:5] == b"REDIS" and len(data) >= 9 and data[5:9].isdigit():
        return int(data[5:9]), 9
    raise RdbError("Wrong signature trying to load DB from file")


def load_file_bytes(
    data: bytes,
    dbs: list[Any],
    limits: Limits,
    now_ms: int,
    expire_on_load: bool = True,
    check_crc: bool = True,
    on_function: Callable[[bytes], None] | None = None,
) -> LoadResult:
    """``iter_load_file_bytes`` run to the end in one go."""
    steps = iter_load_file_bytes(data, dbs, limits, now_ms, expire_on_load, check_crc, on_function)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


LOAD_STEP_RECORDS = 512  # key records between two progress reports of iter_load_file_bytes


def iter_load_file_bytes(
    data: bytes,
    dbs: list[Any],
    limits: Limits,
    now_ms: int,
    expire_on_load: bool = True,
    check_crc: bool = True,
    on_function: Callable[[bytes], None] | None = None,
) -> Generator[int, None, LoadResult]:
    """Load an RDB image step by step: yields the offset reached every ``LOAD_STEP_RECORDS``
    keys (so a caller can serve clients between steps), returns the ``LoadResult``.

    Load an RDB image into ``dbs`` (objects with ``data``/``expires``/``set_expire``, i.e.
    ``Database``), which the caller has emptied. Raises ``RdbError`` on bad data.
    ``on_function`` creates each FUNCTION2 library as it is met (it may raise ``RdbError``),
    so a bad library stops the load before any later key; without it the library sources
    are collected in ``result.functions``."""
    result = LoadResult()
    version, pos = _header_version(data)
    if version < 1 or version > MAX_LOAD_VERSION or version in _FOREIGN_VERSIONS:
        raise RdbError(f"Can't handle RDB format version {version}")
    result.version = version
    src = _Input(data, pos)
    db = dbs[0]
    expire_at = -1
    records = 0
    # The checksum is computed step by step too, so that no single step is long.
    view = memoryview(data)
    crc = 0
    crc_pos = 0
    while True:
        records += 1
        if records % LOAD_STEP_RECORDS == 0:
            if check_crc:
                crc = crc64(view[crc_pos : src.pos], crc)
                crc_pos = src.pos
            yield src.pos
        kind = src.byte()
        if kind == OP_EXPIRETIME:
            expire_at = struct.unpack("<i", src.read(4))[0] * 1000
            continue
        if kind == OP_EXPIRETIME_MS:
            expire_at = src.ms_time()
            continue
        if kind == OP_FREQ:
            src.byte()
            continue
        if kind == OP_IDLE:
            src.plain_length()
            continue
        if kind == OP_EOF:
            break
        if kind == OP_SELECTDB:
            index = src.plain_length()
            if index >= len(dbs):
                raise RdbError(
                    "FATAL: Data file was created with a Valkey server configured to handle more "
                    f"than {len(dbs)} databases. Exiting"
                )
            db = dbs[index]
            continue
        if kind == OP_RESIZEDB:
            src.plain_length()
            src.plain_length()
            continue
        if kind == OP_SLOT_INFO:
            for _ in range(3):
                src.plain_length()
            continue
        if kind == OP_SLOT_IMPORT:
            raise RdbError("slot import state cannot be loaded outside cluster mode")
        if kind == OP_AUX:
            name = src.string()
            result.aux[name] = src.string()
            continue
        if kind == OP_MODULE_AUX:
            raise RdbError("module auxiliary data found but no modules are loaded")
        if kind == OP_FUNCTION_PRE_GA:
            raise RdbError("function data from a 7.0 release candidate cannot be loaded")
        if kind == OP_FUNCTION2:
            code = src.string()
            if on_function is not None:
                on_function(code)
            else:
                result.functions.append(code)
            continue
        # A key-value record.
        key = src.string()
        try:
            value = decode_value(kind, src, limits, now_ms if expire_on_load else None)
        except EmptyKey:
            result.empty_keys += 1
            expire_at = -1
            continue
        if expire_on_load and expire_at != -1 and expire_at < now_ms:
            result.expired += 1
        elif key in db.data:
            raise RdbError("Duplicate key '{}' found in RDB file".format(key.decode(errors="replace")))
        else:
            db.data[key] = value
            if expire_at != -1:
                db.set_expire(key, expire_at)
            result.keys += 1
        expire_at = -1
    if version >= 5:
        footer = src.read(8)
        expected = _U64.unpack(footer)[0]
        if check_crc and expected != 0 and expected != crc64(view[crc_pos : src.pos - 8], crc):
            raise RdbError("Wrong RDB checksum. Aborting now.")
    result.end = src.pos
    return result


def needed_file_version(dbs: list[Any]) -> int:
    for db in dbs:
        for value in db.data.values():
            if type(value) is HashValue and value.expires:
                return TTL_HASH_VERSION
    return FILE_VERSION


def _aux(out: _Output, name: bytes, value: bytes) -> None:
    out.buf.append(OP_AUX)
    out.string(name)
    out.string(value)


def dump_file_bytes(
    dbs: list[Any],
    compress: bool = True,
    checksum: bool = True,
    used_memory: int = 0,
    aof_base: bool = False,
    functions: Iterable[bytes] = (),
    version: int | None = None,
    extra_aux: Iterable[tuple[bytes, bytes]] = (),
) -> bytes:
    """The whole RDB image of ``dbs`` (every key, including any past its deadline, as Valkey
    writes them; loaders drop those). ``extra_aux``: more AUX fields (replication's
    repl-stream-db, repl-id, repl-offset)."""
    from pyvalkey.server import VALKEY_VERSION

    if version is None:
        version = needed_file_version(dbs)
    out = _Output(compress)
    buf = out.buf
    buf += b"VALKEY%03d" % version if version >= 80 else b"REDIS%04d" % version
    _aux(out, b"valkey-ver", VALKEY_VERSION.encode())
    _aux(out, b"redis-bits", b"64")
    _aux(out, b"ctime", b"%d" % int(time.time()))
    _aux(out, b"used-mem", b"%d" % used_memory)
    _aux(out, b"aof-base", b"1" if aof_base else b"0")
    for name, value in extra_aux:
        _aux(out, name, value)
    for code in functions:
        buf.append(OP_FUNCTION2)
        out.string(code)
    for db in dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        buf.append(OP_SELECTDB)
        out.length(db.index)
        buf.append(OP_RESIZEDB)
        out.length(len(data))
        out.length(len(expires))
        for key, value in data.items():
            deadline = expires.get(key) if expires else None
            if deadline is not None:
                buf.append(OP_EXPIRETIME_MS)
                buf += _I64.pack(deadline)
            kind = value_rdb_type(value)
            buf.append(kind)
            out.string(key)
            _write_value(value, kind, out)
    buf.append(OP_EOF)
    buf += _U64.pack(crc64(buf) if checksum else 0)
    return bytes(buf)
