"""Reply encoding: handler values to RESP2 or RESP3 bytes.

``encode(value, out, resp3)`` appends to a bytearray; the connection writes that buffer once per
batch. Dispatch on ``type(value)`` through a dict keeps the common cases (bulk, integer, OK) to one
lookup and one append.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pyvalkey.protocol.replies import (
    BigNumber,
    ErrorReply,
    Map,
    NoReply,
    NullArray,
    Push,
    Raw,
    RespSet,
    SimpleString,
    Verbatim,
)

__all__ = ["encode", "encode_error", "format_double"]

_NULL2 = b"$-1\r\n"
_NULL3 = b"_\r\n"
_NULL_ARRAY2 = b"*-1\r\n"


_LL_HALF = 4611686018427387903.0  # LLONG_MAX / 2: integral doubles up to here print as integers


def format_double(value: float) -> bytes:
    """Valkey's text for a double (d2string): ``nan``, ``inf``, ``-0``, integers without a
    fraction (``10000000000000000``), otherwise the shortest round-trip digits laid out as
    Valkey's fpconv does: plain up to seven places around the point (``0.000025``,
    ``12345678901234567000``), scientific beyond with an unpadded exponent (``1.5e-7``,
    ``1e+21``).

    The digits come from Python's shortest repr; Valkey's Grisu2 picks a different (equally
    round-tripping) last digit for a few values, e.g. 1234567890123456.7."""
    if math.isnan(value):
        return b"nan"
    if value == math.inf:
        return b"inf"
    if value == -math.inf:
        return b"-inf"
    if value == 0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    if -_LL_HALF <= value <= _LL_HALF and value == int(value):
        return b"%d" % int(value)
    text = repr(value)
    negative = text[0] == "-"
    if negative:
        text = text[1:]
    mantissa, _, exp_text = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    # value = digits * 10**k with no leading or trailing zeros in digits
    digits = (whole + fraction).lstrip("0")
    k = (int(exp_text) if exp_text else 0) - len(fraction)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    n = len(digits)
    exponent = k + n - 1
    if k >= 0 and abs(exponent) < n + 7:
        out = digits + "0" * k
    elif k < 0 and (k > -7 or abs(exponent) < 4):
        point = n + k
        out = digits[:point] + "." + digits[point:] if point > 0 else "0." + "0" * -point + digits
    else:
        out = digits[0] + ("." + digits[1:] if n > 1 else "") + ("e-" if exponent < 0 else "e+")
        out += str(abs(exponent))
    return ("-" + out if negative else out).encode()


def encode_error(message: bytes, out: bytearray) -> None:
    # A reply line cannot carry newlines: Valkey replaces them with spaces. (find, not ``in``:
    # ``bytes in bytes`` first tries its operand as an integer, which costs a TypeError.)
    if message.find(b"\n") >= 0 or message.find(b"\r") >= 0:
        message = message.replace(b"\r", b" ").replace(b"\n", b" ")
    out += b"-%s\r\n" % message


def _bulk(value: Any, out: bytearray, resp3: bool) -> None:
    out += b"$%d\r\n%s\r\n" % (len(value), value)


def _int(value: int, out: bytearray, resp3: bool) -> None:
    out += b":%d\r\n" % value


def _bool(value: bool, out: bytearray, resp3: bool) -> None:
    if resp3:
        out += b"#t\r\n" if value else b"#f\r\n"
    else:
        out += b":1\r\n" if value else b":0\r\n"


def _double(value: float, out: bytearray, resp3: bool) -> None:
    text = format_double(value)
    if resp3:
        out += b",%s\r\n" % text
    else:
        out += b"$%d\r\n%s\r\n" % (len(text), text)


def _none(value: None, out: bytearray, resp3: bool) -> None:
    out += _NULL3 if resp3 else _NULL2


def _null_array(value: NullArray, out: bytearray, resp3: bool) -> None:
    out += _NULL3 if resp3 else _NULL_ARRAY2


def _raw(value: Raw, out: bytearray, resp3: bool) -> None:
    out += value


def _simple(value: SimpleString, out: bytearray, resp3: bool) -> None:
    out += b"+%s\r\n" % value


def _error(value: ErrorReply, out: bytearray, resp3: bool) -> None:
    encode_error(value.message, out)


def _array(value: Any, out: bytearray, resp3: bool) -> None:
    out += b"*%d\r\n" % len(value)
    for item in value:
        encoder = _ENCODERS.get(type(item))
        if encoder is None:
            _encode_other(item, out, resp3)
        else:
            encoder(item, out, resp3)


def _aggregate(prefix3: bytes) -> Callable[[Any, bytearray, bool], None]:
    def encode_aggregate(value: Any, out: bytearray, resp3: bool) -> None:
        out += b"%s%d\r\n" % (prefix3 if resp3 else b"*", len(value))
        for item in value:
            encoder = _ENCODERS.get(type(item))
            if encoder is None:
                _encode_other(item, out, resp3)
            else:
                encoder(item, out, resp3)

    return encode_aggregate


def _dict(value: dict[Any, Any], out: bytearray, resp3: bool) -> None:
    if resp3:
        out += b"%%%d\r\n" % len(value)
    else:
        out += b"*%d\r\n" % (2 * len(value))
    for key, item in value.items():
        encode(key, out, resp3)
        encode(item, out, resp3)


def _map(value: Map, out: bytearray, resp3: bool) -> None:
    if resp3:
        out += b"%%%d\r\n" % len(value)
    else:
        out += b"*%d\r\n" % (2 * len(value))
    for key, item in value:
        encode(key, out, resp3)
        encode(item, out, resp3)


def _verbatim(value: Verbatim, out: bytearray, resp3: bool) -> None:
    if resp3:
        out += b"=%d\r\ntxt:%s\r\n" % (len(value) + 4, value)
    else:
        out += b"$%d\r\n%s\r\n" % (len(value), value)


def _bignum(value: BigNumber, out: bytearray, resp3: bool) -> None:
    if resp3:
        out += b"(%d\r\n" % value
    else:
        text = b"%d" % value
        out += b"$%d\r\n%s\r\n" % (len(text), text)


def _str(value: str, out: bytearray, resp3: bool) -> None:
    data = value.encode()
    out += b"$%d\r\n%s\r\n" % (len(data), data)


_ENCODERS: dict[type, Callable[[Any, bytearray, bool], None]] = {
    bytes: _bulk,
    bytearray: _bulk,
    memoryview: _bulk,
    int: _int,
    bool: _bool,
    float: _double,
    type(None): _none,
    NullArray: _null_array,
    Raw: _raw,
    NoReply: lambda value, out, resp3: None,
    SimpleString: _simple,
    ErrorReply: _error,
    list: _array,
    tuple: _array,
    RespSet: _aggregate(b"~"),
    Push: _aggregate(b">"),
    dict: _dict,
    Map: _map,
    Verbatim: _verbatim,
    BigNumber: _bignum,
    str: _str,
}


def _encode_other(value: Any, out: bytearray, resp3: bool) -> None:
    for kind, encoder in _ENCODERS.items():
        if isinstance(value, kind):
            encoder(value, out, resp3)
            return
    raise TypeError(f"cannot encode reply of type {type(value).__name__}")


def encode(value: Any, out: bytearray, resp3: bool = False) -> None:
    """Append the RESP encoding of ``value`` to ``out``."""
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        _encode_other(value, out, resp3)
    else:
        encoder(value, out, resp3)


def to_bytes(value: Any, resp3: bool = False) -> bytes:
    out = bytearray()
    encode(value, out, resp3)
    return bytes(out)
