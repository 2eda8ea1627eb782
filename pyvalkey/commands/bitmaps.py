"""Bitmap commands on string values: Valkey's bitops.c group (SETBIT, GETBIT, BITCOUNT, BITPOS,
BITOP, BITFIELD, BITFIELD_RO).

Bit 0 is the most significant bit of the first byte; reading past the end of a string reads zeros.

Writers (SETBIT, BITFIELD with SET/INCRBY) turn the stored value into a private ``bytearray``
with the same unsharing rule as APPEND/SETRANGE (``strings._writable``), grow it with zero bytes
once, and then patch the few affected bytes in place, so setting bits of a large string never
copies it. BITOP builds a new value and stores it as a ``bytearray`` because Valkey stores the
result as a ``raw`` string whatever its length (OBJECT ENCODING reports ``raw``).

Whole-range work (counting, searching, BITOP) goes through Python's big integers, which do the
byte loops in C: ``int.from_bytes(...).bit_count()`` counts, a chunked ``bit_length`` finds the
first set (or, after inverting, clear) bit and stops at the first chunk holding it, and ``&``/
``|``/``^``/``~`` combine whole strings at once.

Valkey quirks kept on purpose, because clients can observe them:

* keywords are compared with ``strcasecmp``, so an argument is read up to its first NUL byte
  (``"bit\\0x"`` is BIT);
* a ``#N`` BITFIELD offset is multiplied by the width in 64-bit two's complement, so a huge N
  can wrap around to a small valid offset;
* bit offsets are checked against ``proto-max-bulk-len`` at their start, so a BITFIELD write at
  the last allowed offset may grow the string a few bytes past that limit;
* the BITFIELD overflow checks compute their limits in 64-bit arithmetic (a signed SET of
  INT64_MIN into i8 with OVERFLOW SAT saturates to the maximum, as in Valkey);
* a BITFIELD write whose every operation FAILs still creates or grows the key, without
  counting a change or notifying.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.parsing import parse_int, to_int
from pyvalkey.commands.registry import command
from pyvalkey.commands.strings import _writable
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_STRING, Database

__all__ = ["bit_search", "popcount"]

# Error texts of this group (full reply after '-').
BIT_OFFSET_ERROR = b"ERR bit offset is not an integer or out of range"
BIT_VALUE_ERROR = b"ERR bit is not an integer or out of range"
BITPOS_BIT_ERROR = b"ERR The bit argument must be 1 or 0."
BITOP_NOT_ARITY = b"ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE_ERROR = (
    b"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
)
BITFIELD_OVERFLOW_ERROR = b"ERR Invalid OVERFLOW type specified"
BITFIELD_RO_ERROR = b"ERR BITFIELD_RO only supports the GET subcommand"

_U64 = (1 << 64) - 1
_I64_SIGN = 1 << 63

# Large ranges are handled in slices, so a search can stop early and a count never holds a
# second copy of a huge string as one integer.
_CHUNK = 1 << 16
_COUNT_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)
_ONES = b"\xff" * _CHUNK


def _wrap64(value: int) -> int:
    """``value`` as C's int64 after unsigned wrap-around."""
    value &= _U64
    return value - (1 << 64) if value & _I64_SIGN else value


def _word(arg: bytes) -> bytes:
    """A keyword as strcasecmp sees it: up to the first NUL, lower-cased."""
    if b"\0" in arg:
        arg = arg[: arg.index(b"\0")]
    return arg.lower()


def _string_or_none(db: Database, key: bytes, for_write: bool = False) -> Any:
    value = db.lookup_write(key) if for_write else db.lookup_read(key)
    if value is None:
        return None
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return value
    raise ErrorReply(msg.WRONGTYPE)


def _bit_offset(client: Client, arg: bytes, bits: int = 0) -> int:
    """A bit offset argument; with ``bits`` (BITFIELD) ``#N`` means N * bits."""
    scaled = bits > 0 and arg[:1] == b"#"
    offset = parse_int(arg[1:] if scaled else arg)
    if offset is None:
        raise ErrorReply(BIT_OFFSET_ERROR)
    if scaled:
        offset = _wrap64(offset * bits)
    if offset < 0 or (offset >> 3) >= client.server.config.proto_max_bulk_len:
        raise ErrorReply(BIT_OFFSET_ERROR)
    return offset


def _grown_for_write(client: Client, key: bytes, max_bit: int) -> tuple[bytearray, bool, bool]:
    """The private bytearray at ``key`` holding at least ``max_bit`` (created or zero-padded):
    (buffer, whether the key was created, whether it was created or grown)."""
    db = client.db
    need = (max_bit >> 3) + 1
    value = _string_or_none(db, key, for_write=True)
    if value is None:
        buf = bytearray(need)
        db.add(key, buf)
        return buf, True, True
    buf = _writable(db, key, value)
    del value
    if len(buf) < need:
        buf += bytes(need - len(buf))
        return buf, False, True
    return buf, False, False


def popcount(data: Any, start: int = 0, end: int | None = None) -> int:
    """Number of set bits in ``data[start:end]`` (bytes-like)."""
    if end is None:
        end = len(data)
    if end - start <= _COUNT_CHUNK:
        return int.from_bytes(data[start:end], "big").bit_count()
    total = 0
    with memoryview(data) as view:
        for pos in range(start, end, _COUNT_CHUNK):
            total += int.from_bytes(view[pos : min(end, pos + _COUNT_CHUNK)], "big").bit_count()
    return total


def bit_search(data: Any, first: int, last: int, bit: int) -> int:
    """Position of the first bit equal to ``bit`` among bits ``first..last`` of ``data`` (both
    inside the data), or -1."""
    last_byte = last >> 3
    pos = first >> 3
    skip = _ZEROS if bit else _ONES
    with memoryview(data) as view:
        while pos <= last_byte:
            stop = min(last_byte + 1, pos + _CHUNK)
            if stop - pos == _CHUNK and data.startswith(skip, pos):
                # Nothing wanted in this whole chunk; a memcmp is far cheaper than converting.
                pos = stop
                continue
            width = (stop - pos) * 8
            word = int.from_bytes(view[pos:stop], "big")
            if not bit:
                word ^= (1 << width) - 1
            base = pos * 8  # position of the word's most significant bit
            lo = max(base, first)
            hi = min(base + width - 1, last)
            word >>= base + width - 1 - hi
            word &= (1 << (hi - lo + 1)) - 1
            if word:
                return hi - word.bit_length() + 1
            pos = stop
    return -1


# ---------------------------------------------------------------------------------------------
# SETBIT / GETBIT
# ---------------------------------------------------------------------------------------------


@command("setbit")
def setbit(client: Client, argv: list[bytes]) -> Any:
    offset = _bit_offset(client, argv[2])
    on = parse_int(argv[3])
    if on is None or on & ~1:
        raise ErrorReply(BIT_VALUE_ERROR)
    key = argv[1]
    buf, created, changed = _grown_for_write(client, key, offset)
    index = offset >> 3
    shift = 7 - (offset & 7)
    byte = buf[index]
    old = (byte >> shift) & 1
    if changed or old != on:
        buf[index] = (byte & ~(1 << shift)) | (on << shift)
        db = client.db
        if not created:
            db.signal_modified(key)
        db.notify(NOTIFY_STRING, b"setbit", key)
        db.keyspace.dirty += 1
    return old


@command("getbit")
def getbit(client: Client, argv: list[bytes]) -> Any:
    offset = _bit_offset(client, argv[2])
    value = _string_or_none(client.db, argv[1])
    if value is None:
        return 0
    index = offset >> 3
    if index >= len(value):
        return 0
    return (value[index] >> (7 - (offset & 7))) & 1


# ---------------------------------------------------------------------------------------------
# BITCOUNT / BITPOS
# ---------------------------------------------------------------------------------------------


def _unit_is_bit(arg: bytes) -> bool:
    unit = _word(arg)
    if unit == b"bit":
        return True
    if unit == b"byte":
        return False
    raise ErrorReply(msg.SYNTAX)


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Negative indexes count from ``total``; the result is clipped to ``0..total-1``."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    if end >= total:
        end = total - 1
    return start, end


@command("bitcount")
def bitcount(client: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    if argc > 5:
        raise ErrorReply(msg.SYNTAX)
    if argc == 2:
        value = _string_or_none(client.db, argv[1])
        return 0 if value is None else popcount(value)
    start = to_int(argv[2])
    is_bit = _unit_is_bit(argv[4]) if argc == 5 else False
    end = to_int(argv[3]) if argc >= 4 else -1
    value = _string_or_none(client.db, argv[1])
    if value is None:
        return 0
    size = len(value)
    if argc < 4:
        end = size - 1
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = _clamp(start, end, size * 8 if is_bit else size)
    if start > end:
        return 0
    if not is_bit:
        return popcount(value, start, end + 1)
    first, last = start >> 3, end >> 3
    count = popcount(value, first, last + 1)
    # Take away the bits of the edge bytes that lie outside the range.
    before = value[first] & (0xFF00 >> (start & 7)) & 0xFF
    after = value[last] & ((1 << (7 - (end & 7))) - 1)
    return count - before.bit_count() - after.bit_count()


@command("bitpos")
def bitpos(client: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    bit = to_int(argv[2])
    if bit != 0 and bit != 1:
        raise ErrorReply(BITPOS_BIT_ERROR)
    if argc > 6:
        raise ErrorReply(msg.SYNTAX)
    end_given = argc >= 5
    if argc == 3:
        start, end, is_bit = 0, -1, False
    else:
        start = to_int(argv[3])
        is_bit = _unit_is_bit(argv[5]) if argc == 6 else False
        end = to_int(argv[4]) if end_given else -1
    value = _string_or_none(client.db, argv[1])
    if value is None:
        # A missing key is an endless run of zeros.
        return -1 if bit else 0
    size = len(value)
    if argc == 3:
        end = size - 1
    else:
        if not end_given:
            end = size - 1
        start, end = _clamp(start, end, size * 8 if is_bit else size)
    if start > end:
        return -1
    if is_bit:
        first, last = start, end
    else:
        first, last = start * 8, end * 8 + 7
    found = bit_search(value, first, last, bit)
    if found >= 0 or bit or end_given:
        return found
    # Looking for a clear bit without an explicit end: the string is taken as zero-padded, so
    # the answer is the first bit after the last byte of the range.
    return ((last >> 3) + 1) * 8


# ---------------------------------------------------------------------------------------------
# BITOP
# ---------------------------------------------------------------------------------------------

_BITOPS = {b"and": 0, b"or": 1, b"xor": 2, b"not": 3}


_INVERT = bytes(range(255, -1, -1))


def _combine(op: int, sources: list[Any], size: int) -> bytearray:
    """AND (0), OR (1) or XOR (2) of the sources, each zero-padded on the right to ``size``
    bytes. Works slice by slice so a huge result never exists as several huge integers."""
    result = bytearray(size)
    for pos in range(0, size, _COUNT_CHUNK):
        stop = min(size, pos + _COUNT_CHUNK)
        width = stop - pos
        acc = 0
        for index, value in enumerate(sources):
            piece = value[pos:stop]
            # A short (or exhausted) source reads as zeros past its end.
            number = int.from_bytes(piece, "big") << (8 * (width - len(piece)))
            if index == 0:
                acc = number
            elif op == 0:
                acc &= number
            elif op == 1:
                acc |= number
            else:
                acc ^= number
        result[pos:stop] = acc.to_bytes(width, "big")
    return result


@command("bitop")
def bitop(client: Client, argv: list[bytes]) -> Any:
    op = _BITOPS.get(_word(argv[1]))
    if op is None:
        raise ErrorReply(msg.SYNTAX)
    if op == 3 and len(argv) != 4:
        raise ErrorReply(BITOP_NOT_ARITY)
    db = client.db
    sources = []
    for key in argv[3:]:
        value = _string_or_none(db, key)
        sources.append(b"" if value is None else value)
    size = max(len(value) for value in sources)
    dest = argv[2]
    if not size:
        if db.delete(dest):
            db.notify(NOTIFY_GENERIC, b"del", dest)
            db.keyspace.dirty += 1
        return 0
    if op == 3:
        inverted = sources[0].translate(_INVERT)
        result = inverted if type(inverted) is bytearray else bytearray(inverted)
    else:
        result = _combine(op, sources, size)
    db.set(dest, result)
    db.notify(NOTIFY_STRING, b"set", dest)
    db.keyspace.dirty += 1
    return size


# ---------------------------------------------------------------------------------------------
# BITFIELD / BITFIELD_RO
# ---------------------------------------------------------------------------------------------

_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2
_OPCODES = {b"get": (_GET, 2), b"set": (_SET, 3), b"incrby": (_INCRBY, 3)}
_OVERFLOWS = {b"wrap": _WRAP, b"sat": _SAT, b"fail": _FAIL}


def _bitfield_type(arg: bytes) -> tuple[bool, int]:
    """``i<bits>`` (1..64) or ``u<bits>`` (1..63): (signed, bits)."""
    kind = arg[:1]
    if kind != b"i" and kind != b"u":
        raise ErrorReply(BITFIELD_TYPE_ERROR)
    bits = parse_int(arg[1:])
    signed = kind == b"i"
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise ErrorReply(BITFIELD_TYPE_ERROR)
    return signed, bits


def _read_field(data: Any, offset: int, bits: int, signed: bool) -> int:
    """The integer stored in ``bits`` bits at bit ``offset``; zeros past the end of ``data``."""
    index = offset >> 3
    chunk = data[index : index + 9]
    word = int.from_bytes(chunk, "big") << (8 * (9 - len(chunk)))
    value = (word >> (72 - (offset & 7) - bits)) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _write_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    """Store the low ``bits`` bits of ``value`` at bit ``offset`` (inside ``buf``)."""
    first = offset >> 3
    stop = ((offset + bits - 1) >> 3) + 1
    width = (stop - first) * 8
    shift = width - (offset & 7) - bits
    field = (1 << bits) - 1
    word = int.from_bytes(buf[first:stop], "big")
    word = (word & ~(field << shift)) | ((value & field) << shift)
    buf[first:stop] = word.to_bytes(stop - first, "big")


def _unsigned_overflow(value: int, incr: int, bits: int, overflow: int) -> tuple[bool, int]:
    """(overflowed, replacement value) for an unsigned field, as Valkey decides it in 64-bit
    arithmetic: ``value`` is a uint64, ``incr`` an int64."""
    top = (1 << bits) - 1
    if value > top or (incr > 0 and incr > top - value):
        return True, ((value + incr) & top) if overflow == _WRAP else top
    if incr < 0 and incr < -value:
        return True, ((value + incr) & top) if overflow == _WRAP else 0
    return False, 0


def _signed_overflow(value: int, incr: int, bits: int, overflow: int) -> tuple[bool, int]:
    """(overflowed, replacement value) for a signed field; both arguments are int64 and the
    headroom is computed with 64-bit wrap-around, as Valkey does."""
    top = (1 << (bits - 1)) - 1
    bottom = -top - 1
    room_up = _wrap64(top - value)
    room_down = _wrap64(bottom - value)
    narrow = bits != 64
    if value > top or (narrow and incr > room_up) or (value >= 0 and incr > 0 and incr > room_up):
        limit = top
    elif value < bottom or (narrow and incr < room_down) or (value < 0 and incr < 0 and incr < room_down):
        limit = bottom
    else:
        return False, 0
    if overflow != _WRAP:
        return True, limit
    wrapped = (value + incr) & ((1 << bits) - 1)
    if wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(client: Client, argv: list[bytes], read_only: bool) -> Any:
    ops: list[tuple[int, bool, int, int, int, int]] = []
    overflow = _WRAP
    writes = False
    highest = 0
    argc = len(argv)
    j = 2
    while j < argc:
        remaining = argc - j - 1
        name = _word(argv[j])
        spec = _OPCODES.get(name)
        if spec is None or remaining < spec[1]:
            if name == b"overflow" and remaining >= 1:
                kind = _OVERFLOWS.get(_word(argv[j + 1]))
                if kind is None:
                    raise ErrorReply(BITFIELD_OVERFLOW_ERROR)
                overflow = kind
                j += 2
                continue
            raise ErrorReply(msg.SYNTAX)
        opcode = spec[0]
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bit_offset(client, argv[j + 2], bits)
        number = 0
        if opcode != _GET:
            writes = True
            highest = max(highest, offset + bits - 1)
            number = to_int(argv[j + 3])
        ops.append((opcode, signed, bits, offset, number, overflow))
        j += 1 + spec[1]

    key = argv[1]
    if not writes:
        value = _string_or_none(client.db, key)
        return [
            0 if value is None else _read_field(value, offset, bits, signed)
            for _, signed, bits, offset, _, _ in ops
        ]
    if read_only:
        raise ErrorReply(BITFIELD_RO_ERROR)

    buf, created, grown = _grown_for_write(client, key, highest)
    replies: list[Any] = []
    changes = 0
    for opcode, signed, bits, offset, number, kind in ops:
        if opcode == _GET:
            replies.append(_read_field(buf, offset, bits, signed))
            continue
        old = _read_field(buf, offset, bits, signed)
        if signed:
            if opcode == _INCRBY:
                hit, limit = _signed_overflow(old, number, bits, kind)
                new = limit if hit else old + number
                reply = new
            else:
                hit, limit = _signed_overflow(number, 0, bits, kind)
                new = limit if hit else number
                reply = old
        else:
            if opcode == _INCRBY:
                hit, limit = _unsigned_overflow(old, number, bits, kind)
                new = limit if hit else old + number
                reply = new
            else:
                new = number & _U64  # the C code stores the value in a uint64
                hit, limit = _unsigned_overflow(new, 0, bits, kind)
                if hit:
                    new = limit
                reply = old
        if hit and kind == _FAIL:
            replies.append(None)
            continue
        replies.append(reply)
        _write_field(buf, offset, bits, new)
        if grown or old != new:
            changes += 1
    if changes:
        db = client.db
        if not created:
            db.signal_modified(key)
        db.notify(NOTIFY_STRING, b"setbit", key)
        db.keyspace.dirty += changes
    return replies


@command("bitfield")
def bitfield(client: Client, argv: list[bytes]) -> Any:
    return _bitfield(client, argv, False)


@command("bitfield_ro")
def bitfield_ro(client: Client, argv: list[bytes]) -> Any:
    return _bitfield(client, argv, True)
