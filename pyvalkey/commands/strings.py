"""String commands: Valkey's t_string.c group (GET/SET family, counters, ranges, LCS, DELIFEQ).

Values are ``bytes`` until APPEND or SETRANGE modify them, after which they are ``bytearray``
and are mutated in place (Valkey's ``raw`` encoding, cheap repeated appends). Every reader here
accepts both; any other stored type is WRONGTYPE.

Before mutating a ``bytearray`` in place we check that nobody else holds it (a reply queued by
MULTI, a script value): the same idea as Valkey's refcount test in dbUnshareStringValue. If it
is shared, the key gets a private copy first.

INCRBYFLOAT works in x87 80-bit ``long double`` in Valkey. Python has no such type, so the
value is emulated exactly with integers: parse to an exact rational, round to a 64-bit
significand, add exactly, round again, then print like ``%.17Lf`` with trailing zeros removed.
This keeps results such as ``10.5 + 0.1 -> 10.6`` byte-identical.

Hot paths (plain GET, SET, INCR) avoid option parsing and bind attributes into locals.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.parsing import INT64_MAX, INT64_MIN, parse_int, to_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_STRING, Database

__all__ = ["format_long_double", "long_double_add", "parse_long_double", "string_encoding"]

# Error texts specific to this group (full reply after '-').
DECR_OVERFLOW = b"ERR decrement would overflow"
OFFSET_OUT_OF_RANGE = b"ERR offset is out of range"
LCS_NOT_STRINGS = b"ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = b"ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_LONG = b"ERR String too long for LCS"
LCS_TOO_MUCH_MEMORY = b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"

# ---------------------------------------------------------------------------------------------
# Encoding as OBJECT ENCODING reports it
# ---------------------------------------------------------------------------------------------


def string_encoding(value: Any, key: bytes = b"") -> bytes:
    """``int``, ``embstr`` or ``raw`` for a stored string, as Valkey 9 reports it.

    Valkey 9 embeds the key in the value object and keeps a string ``embstr`` while key and
    value fit one small allocation; measured on the oracle, the value may be up to
    113 - len(key) bytes for keys under 32 bytes (1-byte sds header) and 111 - len(key) bytes
    for longer keys (3-byte header). Pass the key for an exact answer.
    """
    if type(value) is bytearray:
        return b"raw"
    if len(value) <= 20 and parse_int(value) is not None:
        return b"int"
    klen = len(key)
    limit = 113 - klen if klen < 32 else 111 - klen
    return b"embstr" if len(value) <= limit else b"raw"


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _wrongtype() -> ErrorReply:
    return ErrorReply(msg.WRONGTYPE)


def _read_string(db: Database, key: bytes) -> Any:
    """GET semantics: the string at ``key`` or None; WRONGTYPE for other types."""
    value = db.lookup_read(key)
    if value is None:
        return None
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return value
    raise _wrongtype()


def _check_length(client: Client, size: int, extra: int) -> None:
    if size + extra > client.server.config.proto_max_bulk_len:
        raise ErrorReply(msg.STRING_TOO_LONG)


# References a stored value has while a handler holds it in one local: the dict slot, the
# local, and getrefcount's own argument. Measured once, so it follows the interpreter.
def _probe_refcount() -> int:
    store = {b"k": bytearray(b"x")}
    value = store.get(b"k")
    return sys.getrefcount(value)


_PRIVATE_REFS = _probe_refcount()


def _writable(db: Database, key: bytes, value: Any) -> bytearray:
    """A bytearray stored at ``key`` that nobody else references (Valkey's
    dbUnshareStringValue): converts bytes, copies a shared bytearray. TTL is kept."""
    if type(value) is bytearray and sys.getrefcount(value) <= _PRIVATE_REFS + 1:
        # +1: the caller's local plus our parameter both point at it.
        return value  # type: ignore[no-any-return]
    copy = bytearray(value)
    db.data[key] = copy
    return copy


def _now_ms(client: Client) -> int:
    return client.server.keyspace.now_ms  # type: ignore[no-any-return]


def _already_expired(client: Client, deadline: int) -> bool:
    """checkAlreadyExpired: a past deadline deletes the key, except on a replica or while
    loading, which wait for the primary's DEL."""
    server = client.server
    return (
        deadline <= server.keyspace.now_ms
        and not server.keyspace.is_replica
        and not getattr(server, "loading", False)
    )


def _delete_as_expired(client: Client, db: Database, key: bytes) -> None:
    db.delete(key)
    client.server.keyspace.dirty += 1
    db.notify(NOTIFY_GENERIC, b"del", key)
    propagator = client.server.propagator
    propagator.rewrite([propagator.lazy_expire_command, key])


# ---------------------------------------------------------------------------------------------
# SET family option parsing
# ---------------------------------------------------------------------------------------------

F_NX = 1 << 0
F_XX = 1 << 1
F_EX = 1 << 2
F_PX = 1 << 3
F_KEEPTTL = 1 << 4
F_GET = 1 << 5
F_EXAT = 1 << 6
F_PXAT = 1 << 7
F_PERSIST = 1 << 8
F_IFEQ = 1 << 9

_ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT
# For each option: the flags that must not already be set.
_SET_CONFLICTS = {
    b"NX": F_XX | F_IFEQ,
    b"XX": F_NX | F_IFEQ,
    b"GET": 0,
    b"KEEPTTL": F_PERSIST | _ANY_EXPIRE,
    b"IFEQ": F_NX | F_XX | F_IFEQ,
}
_EXPIRE_OPTIONS = {
    b"EX": (F_EX, F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT),
    b"PX": (F_PX, F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT),
    b"EXAT": (F_EXAT, F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT),
    b"PXAT": (F_PXAT, F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX),
}
_FLAG_OF = {b"NX": F_NX, b"XX": F_XX, b"GET": F_GET, b"KEEPTTL": F_KEEPTTL, b"IFEQ": F_IFEQ}


def _parse_options(
    argv: list[bytes], start: int, for_set: bool
) -> tuple[int, bytes | None, bytes | None]:
    """Valkey's extended SET/GETEX arguments: (flags, expire argument, IFEQ comparison)."""
    flags = 0
    expire: bytes | None = None
    comparison: bytes | None = None
    argc = len(argv)
    j = start
    while j < argc:
        opt = argv[j].upper()
        has_next = j + 1 < argc
        expire_opt = _EXPIRE_OPTIONS.get(opt)
        if expire_opt is not None:
            flag, conflicts = expire_opt
            if flags & conflicts or not has_next:
                raise ErrorReply(msg.SYNTAX)
            flags |= flag
            expire = argv[j + 1]
            j += 2
            continue
        if for_set:
            conflicts_set = _SET_CONFLICTS.get(opt)
            if conflicts_set is None or flags & conflicts_set:
                raise ErrorReply(msg.SYNTAX)
            if opt == b"IFEQ":
                if not has_next:
                    raise ErrorReply(msg.SYNTAX)
                comparison = argv[j + 1]
                j += 1
            flags |= _FLAG_OF[opt]
        else:
            if opt != b"PERSIST" or flags & (_ANY_EXPIRE | F_KEEPTTL):
                raise ErrorReply(msg.SYNTAX)
            flags |= F_PERSIST
        j += 1
    return flags, expire, comparison


def _expire_deadline(client: Client, arg: bytes, flags: int, name: bytes) -> int:
    """The absolute deadline (ms) for an EX/PX/EXAT/PXAT argument, or Valkey's error."""
    value = to_int(arg)
    seconds = flags & (F_EX | F_EXAT)
    if value <= 0 or (seconds and value > INT64_MAX // 1000):
        raise ErrorReply(msg.INVALID_EXPIRE % name)
    if seconds:
        value *= 1000
    if flags & (F_EX | F_PX):
        value += _now_ms(client)
        if value > INT64_MAX:  # Valkey sees the signed overflow as a non-positive time
            raise ErrorReply(msg.INVALID_EXPIRE % name)
    return value


def _set_generic(
    client: Client,
    flags: int,
    key: bytes,
    value: bytes,
    expire: bytes | None,
    comparison: bytes | None,
    name: bytes,
    ok_reply: Any = OK,
    abort_reply: Any = None,
) -> Any:
    deadline = 0
    if expire is not None:
        deadline = _expire_deadline(client, expire, flags, name)
    db = client.db
    want_old = flags & F_GET
    old = _read_string(db, key) if want_old else None
    existing = db.lookup_write(key)
    found = existing is not None

    if flags & F_IFEQ:
        if not found:
            return old if want_old else abort_reply
        if not want_old:
            kind = type(existing)
            if kind is not bytes and kind is not bytearray:
                raise _wrongtype()
        if existing != comparison:
            return old if want_old else abort_reply
    if (flags & F_NX and found) or (flags & F_XX and not found):
        return old if want_old else abort_reply

    if expire is not None and _already_expired(client, deadline):
        if found:
            _delete_as_expired(client, db, key)
        return old if want_old else OK

    db.set(key, value, keep_ttl=bool(flags & F_KEEPTTL) or expire is not None)
    keyspace = db.keyspace
    keyspace.dirty += 1
    if keyspace.notify_flags & NOTIFY_STRING:
        keyspace.notify(db, NOTIFY_STRING, b"set", key)
    if expire is not None:
        db.set_expire(key, deadline)
        db.notify(NOTIFY_GENERIC, b"expire", key)
        if not flags & F_PXAT:
            # Replicas and the AOF get the absolute deadline, never a relative one.
            client.server.propagator.rewrite([b"SET", key, value, b"PXAT", b"%d" % deadline])
    return old if want_old else ok_reply


# ---------------------------------------------------------------------------------------------
# GET / SET and variants
# ---------------------------------------------------------------------------------------------


@command("get")
def get(client: Client, argv: list[bytes]) -> Any:
    value = client.db.lookup_read(argv[1])
    if value is None:
        return None
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return value
    raise _wrongtype()


@command("set")
def set_(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        db = client.db
        key = argv[1]
        expires = db.expires
        if expires and key in expires:
            db.lookup(key)  # an expired old value goes away as expired first, like Valkey
        db.set(key, argv[2])
        keyspace = db.keyspace
        keyspace.dirty += 1
        if keyspace.notify_flags & NOTIFY_STRING:
            keyspace.notify(db, NOTIFY_STRING, b"set", key)
        return OK
    flags, expire, comparison = _parse_options(argv, 3, True)
    return _set_generic(client, flags, argv[1], argv[2], expire, comparison, b"set")


@command("setnx")
def setnx(client: Client, argv: list[bytes]) -> Any:
    return _set_generic(client, F_NX, argv[1], argv[2], None, None, b"setnx", 1, 0)


@command("setex")
def setex(client: Client, argv: list[bytes]) -> Any:
    return _set_generic(client, F_EX, argv[1], argv[3], argv[2], None, b"setex")


@command("psetex")
def psetex(client: Client, argv: list[bytes]) -> Any:
    return _set_generic(client, F_PX, argv[1], argv[3], argv[2], None, b"psetex")


@command("getex")
def getex(client: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    db = client.db
    if len(argv) == 2:
        return _read_string(db, key)
    flags, expire, _ = _parse_options(argv, 2, False)
    deadline = 0
    if expire is not None:
        deadline = _expire_deadline(client, expire, flags, b"getex")
    value = _read_string(db, key)
    if value is None:
        return None
    keyspace = db.keyspace
    if flags & (F_EXAT | F_PXAT) and _already_expired(client, deadline):
        _delete_as_expired(client, db, key)
    elif expire is not None:
        db.set_expire(key, deadline)
        db.signal_modified(key)
        db.notify(NOTIFY_GENERIC, b"expire", key)
        keyspace.dirty += 1
        client.server.propagator.rewrite([b"PEXPIREAT", key, b"%d" % deadline])
    elif flags & F_PERSIST and db.persist(key):
        db.signal_modified(key)
        db.notify(NOTIFY_GENERIC, b"persist", key)
        keyspace.dirty += 1
        client.server.propagator.rewrite([b"PERSIST", key])
    return value


@command("getdel")
def getdel(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = _read_string(db, key)
    if value is not None and db.delete(key):
        db.notify(NOTIFY_GENERIC, b"del", key)
        db.keyspace.dirty += 1
        client.server.propagator.rewrite([b"DEL", key])
    return value


@command("getset")
def getset(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    old = _read_string(db, key)
    db.set(key, argv[2])
    db.notify(NOTIFY_STRING, b"set", key)
    db.keyspace.dirty += 1
    return old


@command("delifeq")
def delifeq(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = db.lookup_write(key)
    if value is None:
        return 0
    kind = type(value)
    if kind is not bytes and kind is not bytearray:
        raise _wrongtype()
    if value != argv[2]:
        return 0
    db.delete(key)
    db.notify(NOTIFY_GENERIC, b"del", key)
    db.keyspace.dirty += 1
    return 1


@command("mget")
def mget(client: Client, argv: list[bytes]) -> Any:
    lookup = client.db.lookup_read
    out = []
    for key in argv[1:]:
        value = lookup(key)
        kind = type(value)
        out.append(value if kind is bytes or kind is bytearray else None)
    return out


def _mset(client: Client, argv: list[bytes], nx: bool) -> bool:
    """MSET / MSETNX; False when MSETNX finds an existing key and sets nothing."""
    if len(argv) % 2 == 0:
        raise ErrorReply(msg.WRONG_ARITY % argv[0].lower())
    db = client.db
    if nx:
        for i in range(1, len(argv), 2):
            if db.lookup_write(argv[i]) is not None:
                return False
    keyspace = db.keyspace
    notify = keyspace.notify_flags & NOTIFY_STRING
    for i in range(1, len(argv), 2):
        key = argv[i]
        db.set(key, argv[i + 1])
        if notify:
            keyspace.notify(db, NOTIFY_STRING, b"set", key)
    keyspace.dirty += (len(argv) - 1) // 2
    return True


@command("mset")
def mset(client: Client, argv: list[bytes]) -> Any:
    _mset(client, argv, False)
    return OK


@command("msetnx")
def msetnx(client: Client, argv: list[bytes]) -> Any:
    return 1 if _mset(client, argv, True) else 0


# ---------------------------------------------------------------------------------------------
# Lengths, ranges, in-place edits
# ---------------------------------------------------------------------------------------------


@command("strlen")
def strlen(client: Client, argv: list[bytes]) -> Any:
    value = _read_string(client.db, argv[1])
    return 0 if value is None else len(value)


@command("append")
def append(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    extra = argv[2]
    value = db.lookup_write(key)
    if value is None:
        db.add(key, extra)
        total = len(extra)
    else:
        kind = type(value)
        if kind is not bytes and kind is not bytearray:
            raise _wrongtype()
        _check_length(client, len(value), len(extra))
        buf = _writable(db, key, value)
        del value
        buf += extra
        total = len(buf)
        db.signal_modified(key)
    db.notify(NOTIFY_STRING, b"append", key)
    db.keyspace.dirty += 1
    return total


def _getrange(client: Client, argv: list[bytes]) -> Any:
    start = to_int(argv[2])
    end = to_int(argv[3])
    value = db_value = client.db.lookup_read(argv[1])
    if db_value is None:
        return b""
    kind = type(value)
    if kind is not bytes and kind is not bytearray:
        raise _wrongtype()
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    end = max(end, 0)
    if end >= size:
        end = size - 1
    if start > end or size == 0:
        return b""
    return bytes(value[start : end + 1])


@command("getrange")
def getrange(client: Client, argv: list[bytes]) -> Any:
    return _getrange(client, argv)


@command("substr")
def substr(client: Client, argv: list[bytes]) -> Any:
    return _getrange(client, argv)


@command("setrange")
def setrange(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    offset = to_int(argv[2])
    if offset < 0:
        raise ErrorReply(OFFSET_OUT_OF_RANGE)
    patch = argv[3]
    value = db.lookup_write(key)
    if value is None:
        if not patch:
            return 0
        _check_length(client, offset, len(patch))
        buf = bytearray(offset)
        buf += patch
        db.add(key, buf)
    else:
        kind = type(value)
        if kind is not bytes and kind is not bytearray:
            raise _wrongtype()
        if not patch:
            return len(value)
        _check_length(client, offset, len(patch))
        buf = _writable(db, key, value)
        del value
        end = offset + len(patch)
        if end > len(buf):
            buf.extend(bytes(end - len(buf)))
        buf[offset:end] = patch
        db.signal_modified(key)
    db.notify(NOTIFY_STRING, b"setrange", key)
    db.keyspace.dirty += 1
    return len(buf)


# ---------------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------------


def _incr_by(client: Client, key: bytes, delta: int) -> int:
    db = client.db
    value = db.lookup_write(key)
    if value is None:
        current = 0
    else:
        kind = type(value)
        if kind is not bytes and kind is not bytearray:
            raise _wrongtype()
        current = parse_int(value)  # type: ignore[assignment]
        if current is None:
            raise ErrorReply(msg.NOT_INTEGER)
    result = current + delta
    if result > INT64_MAX or result < INT64_MIN:
        raise ErrorReply(msg.OVERFLOW)
    if value is None:
        db.add(key, b"%d" % result)
    else:
        db.set(key, b"%d" % result, keep_ttl=True)
    keyspace = db.keyspace
    keyspace.dirty += 1
    if keyspace.notify_flags & NOTIFY_STRING:
        keyspace.notify(db, NOTIFY_STRING, b"incrby", key)
    return result


@command("incr")
def incr(client: Client, argv: list[bytes]) -> Any:
    return _incr_by(client, argv[1], 1)


@command("decr")
def decr(client: Client, argv: list[bytes]) -> Any:
    return _incr_by(client, argv[1], -1)


@command("incrby")
def incrby(client: Client, argv: list[bytes]) -> Any:
    return _incr_by(client, argv[1], to_int(argv[2]))


@command("decrby")
def decrby(client: Client, argv: list[bytes]) -> Any:
    delta = to_int(argv[2])
    if delta == INT64_MIN:
        raise ErrorReply(DECR_OVERFLOW)
    return _incr_by(client, argv[1], -delta)


@command("incrbyfloat")
def incrbyfloat(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[1]
    value = db.lookup_write(key)
    if value is not None:
        kind = type(value)
        if kind is not bytes and kind is not bytearray:
            raise _wrongtype()
    result = long_double_add(value if value is not None else b"0", argv[2])
    if value is None:
        db.add(key, result)
    else:
        db.set(key, result, keep_ttl=True)
    db.notify(NOTIFY_STRING, b"incrbyfloat", key)
    db.keyspace.dirty += 1
    # Replicas and the AOF get the result, not the increment: float addition must not be
    # redone elsewhere (another platform could round differently). KEEPTTL keeps the TTL.
    client.server.propagator.rewrite([b"SET", key, result, b"KEEPTTL"])
    return result


# ---------------------------------------------------------------------------------------------
# x87 long double emulation for INCRBYFLOAT (and HINCRBYFLOAT)
# ---------------------------------------------------------------------------------------------

_LD_BITS = 64  # significand bits, explicit integer bit included
_LD_MIN_EXP = -16445  # exponent of the smallest subnormal: 2**-16445
_LD_MAX_BITS = 16384  # finite values are below 2**16384
_MAX_LD_CHARS = 5 * 1024  # Valkey's MAX_LONG_DOUBLE_CHARS: longer inputs are rejected

_DEC_RE = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\Z")
_HEX_RE = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?\Z")
_INF_RE = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)

# Python refuses int <-> decimal string conversions past 4300 digits by default; long doubles
# reach 4933 digits, so convert in chunks instead of changing the process-wide limit.
_CHUNK = 4000
_CHUNK_POW = 10**_CHUNK


def _digits_to_int(digits: bytes) -> int:
    if len(digits) <= _CHUNK:
        return int(digits)
    result = 0
    for i in range(0, len(digits), _CHUNK):
        part = digits[i : i + _CHUNK]
        result = result * 10 ** len(part) + int(part)
    return result


def _int_to_digits(number: int) -> str:
    if number < _CHUNK_POW:
        return str(number)
    high, low = divmod(number, _CHUNK_POW)
    return _int_to_digits(high) + str(low).zfill(_CHUNK)


class _NotFloat(Exception):
    pass


class _Infinite(Exception):
    pass


def _round_ld(num: int, den: int) -> tuple[int, int]:
    """Round the positive rational num/den to a long double: (significand, exponent).
    Raises _Infinite on overflow; a result of (0, e) means it underflowed to zero."""
    exp = num.bit_length() - den.bit_length() - _LD_BITS
    while True:
        if exp < _LD_MIN_EXP:
            exp = _LD_MIN_EXP
            n, d = (num << -exp, den) if exp < 0 else (num, den << exp)
            break
        n, d = (num << -exp, den) if exp < 0 else (num, den << exp)
        if n >= d << _LD_BITS:
            exp += 1
        elif n < d << (_LD_BITS - 1):
            exp -= 1
        else:
            break
    mant, rem = divmod(n, d)
    twice = rem << 1
    if twice > d or (twice == d and mant & 1):
        mant += 1
    if mant >> _LD_BITS:
        mant >>= 1
        exp += 1
    if mant and mant.bit_length() + exp > _LD_MAX_BITS:
        raise _Infinite
    return mant, exp


def parse_long_double(data: bytes) -> tuple[bool, int, int]:
    """Valkey's string2ld: (negative, significand, exponent) of the long double ``data``
    denotes. Raises _NotFloat for what Valkey rejects (spaces, garbage, NaN, overflow to
    infinity, underflow to zero) and _Infinite for a literal infinity."""
    if not data or len(data) >= _MAX_LD_CHARS:
        raise _NotFloat
    m = _DEC_RE.match(data)
    if m is not None:
        sign, whole, frac, exp_text = m.groups()
        frac = frac or b""
        if not whole and not frac:
            raise _NotFloat
        digits = (whole + frac).lstrip(b"0")
        negative = sign == b"-"
        if not digits:
            return negative, 0, 0
        exp10 = (int(exp_text) if exp_text else 0) - len(frac)
        magnitude = len(digits) - 1 + exp10  # value is in [10**magnitude, 10**(magnitude+1))
        if magnitude > 4933:
            raise _NotFloat
        if magnitude < -4952:
            raise _NotFloat
        mant_int = _digits_to_int(digits)
        if exp10 >= 0:
            num, den = mant_int * 10**exp10, 1
        else:
            num, den = mant_int, 10**-exp10
    else:
        m = _HEX_RE.match(data)
        if m is None:
            if _INF_RE.match(data):
                raise _Infinite
            raise _NotFloat
        sign, whole, frac, exp_text = m.groups()
        frac = frac or b""
        if not whole and not frac:
            raise _NotFloat
        negative = sign == b"-"
        mant_int = int(whole + frac, 16) if whole + frac else 0
        if not mant_int:
            return negative, 0, 0
        exp2 = (int(exp_text) if exp_text else 0) - 4 * len(frac)
        top = mant_int.bit_length() + exp2
        if top > _LD_MAX_BITS + 1:
            raise _NotFloat
        if top < _LD_MIN_EXP - 2:
            raise _NotFloat
        num, den = (mant_int << exp2, 1) if exp2 >= 0 else (mant_int, 1 << -exp2)
    try:
        mant, exp = _round_ld(num, den)
    except _Infinite:
        raise _NotFloat from None
    if not mant:
        raise _NotFloat
    return negative, mant, exp


def format_long_double(negative: bool, mant: int, exp: int) -> bytes:
    """``%.17Lf`` with trailing zeros (and a bare '.') removed; ``-0`` prints as ``0``."""
    if exp >= 0:
        whole, frac = mant << exp, 0
    else:
        scaled, rem = divmod(mant * 10**17, 1 << -exp)
        twice = rem << 1
        half = 1 << -exp
        if twice > half or (twice == half and scaled & 1):
            scaled += 1
        whole, frac = divmod(scaled, 10**17)
    text = _int_to_digits(whole)
    if frac:
        text += "." + f"{frac:017d}".rstrip("0")
    if negative and (whole or frac):
        text = "-" + text
    return text.encode()


def long_double_add(current: Any, increment: bytes) -> bytes:
    """INCRBYFLOAT's arithmetic: the formatted sum, or Valkey's error."""
    try:
        neg_a, mant_a, exp_a = parse_long_double(bytes(current))
        neg_b, mant_b, exp_b = parse_long_double(increment)
    except _NotFloat:
        raise ErrorReply(msg.NOT_FLOAT) from None
    except _Infinite:
        # Both operands must still parse: a later invalid increment wins over infinity.
        for operand in (current, increment):
            try:
                parse_long_double(bytes(operand))
            except _NotFloat:
                raise ErrorReply(msg.NOT_FLOAT) from None
            except _Infinite:
                pass
        raise ErrorReply(msg.INCR_NAN) from None
    low = min(exp_a, exp_b)
    total = (-mant_a if neg_a else mant_a) << (exp_a - low)
    total += (-mant_b if neg_b else mant_b) << (exp_b - low)
    if total == 0:
        return b"0"
    negative = total < 0
    magnitude = -total if negative else total
    try:
        if low >= 0:
            mant, exp = _round_ld(magnitude << low, 1)
        else:
            mant, exp = _round_ld(magnitude, 1 << -low)
    except _Infinite:
        raise ErrorReply(msg.INCR_NAN) from None
    return format_long_double(negative, mant, exp)


# ---------------------------------------------------------------------------------------------
# LCS
# ---------------------------------------------------------------------------------------------


@command("lcs")
def lcs(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    a = db.lookup_read(argv[1])
    b = db.lookup_read(argv[2])
    for value in (a, b):
        if value is not None and type(value) is not bytes and type(value) is not bytearray:
            raise ErrorReply(LCS_NOT_STRINGS)
    a = bytes(a) if a is not None else b""
    b = bytes(b) if b is not None else b""

    get_len = get_idx = with_match_len = False
    min_match_len = 0
    j = 3
    argc = len(argv)
    while j < argc:
        opt = argv[j].upper()
        if opt == b"IDX":
            get_idx = True
        elif opt == b"LEN":
            get_len = True
        elif opt == b"WITHMATCHLEN":
            with_match_len = True
        elif opt == b"MINMATCHLEN" and j + 1 < argc:
            min_match_len = max(to_int(argv[j + 1]), 0)
            j += 1
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    if get_len and get_idx:
        raise ErrorReply(LCS_LEN_AND_IDX)
    alen, blen = len(a), len(b)
    if alen >= 2**32 - 2 or blen >= 2**32 - 2:
        raise ErrorReply(LCS_TOO_LONG)
    if (alen + 1) * (blen + 1) * 4 > client.server.config.proto_max_bulk_len:
        raise ErrorReply(LCS_TOO_MUCH_MEMORY)

    # Bit-parallel LCS (Hyyro): row i is a blen-bit integer whose bit j-1 is 0 exactly when
    # LCS(a[:i], b[:j]) exceeds LCS(a[:i], b[:j-1]), so LCS(i, j) is j minus the ones below
    # bit j. Python's big integers do a whole row per operation, which keeps the large inputs
    # Valkey accepts (up to proto-max-bulk-len of table) fast.
    full = (1 << blen) - 1
    char_masks: dict[int, int] = {}
    for pos, ch in enumerate(b):
        char_masks[ch] = char_masks.get(ch, 0) | (1 << pos)
    rows = [full]
    row = full
    for ch in a:
        match = row & char_masks.get(ch, 0)
        row = ((row + match) | (row - match)) & full
        rows.append(row)
    total = blen - row.bit_count()

    if get_len and not get_idx:
        return total

    # Walk back from the end, collecting the common subsequence and, for IDX, the matching
    # ranges in the same order and with the same tie-breaking as Valkey.
    result = bytearray(total)
    idx = total
    matches: list[list[Any]] = []
    a_start = alen  # alen means "no range open"
    a_end = b_start = b_end = 0
    i, jj = alen, blen
    while i > 0 and jj > 0:
        emit = False
        if a[i - 1] == b[jj - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = jj - 1
            elif a_start == i and b_start == jj:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            jj -= 1
        else:
            low = (1 << jj) - 1
            up = jj - (rows[i - 1] & low).bit_count()
            left = jj - 1 - (rows[i] & (low >> 1)).bit_count()
            if up > left:
                i -= 1
            else:
                jj -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if get_idx and (min_match_len == 0 or match_len >= min_match_len):
                entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    entry.append(match_len)
                matches.append(entry)
            a_start = alen

    if get_idx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
