"""Argument parsing shared by every command group, with Valkey's exact acceptance rules.

Valkey's integer parsing (string2ll) rejects leading '+', leading zeros, spaces and anything past
64 bits; its float parsing (strtold) accepts ``inf``/``-inf`` and exponents but no spaces and no
NaN. Python's ``int()``/``float()`` accept more (``" 1"``, ``"1_0"``, ``"nan"``), so handlers use
these helpers instead.
"""

from __future__ import annotations

import re
from typing import Optional

from pyvalkey.errors import ErrorReply, msg

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "ArgCursor",
    "parse_float",
    "parse_int",
    "parse_numkeys_side_count",
    "to_float",
    "to_int",
    "to_int_at_least",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_FLOAT_RE = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)\Z", re.IGNORECASE
)


def parse_int(data: bytes) -> Optional[int]:
    """string2ll: the value, or None if ``data`` is not a canonical signed 64-bit integer."""
    n = len(data)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = data[0]
        return c - 48 if 48 <= c <= 57 else None
    start = 1 if data[0] == 45 else 0  # '-'
    first = data[start] if start < n else 0
    if not 49 <= first <= 57 or not data[start:].isdigit():
        return None
    value = int(data)
    if value < INT64_MIN or value > INT64_MAX:
        return None
    return value


def to_int(data: bytes, error: bytes = msg.NOT_INTEGER) -> int:
    value = parse_int(data)
    if value is None:
        raise ErrorReply(error)
    return value


def to_int_at_least(data: bytes, low: int, error: bytes | None) -> int:
    """getRangeLongFromObjectOrReply up to INT64_MAX: ``error`` for both a non-integer and a
    value below ``low`` when given, else Valkey's generic texts for each."""
    value = parse_int(data)
    if value is None:
        raise ErrorReply(error or msg.NOT_INTEGER)
    if value < low:
        if error is not None:
            raise ErrorReply(error)
        raise ErrorReply(b"ERR value is out of range, value must between %d and %d" % (low, INT64_MAX))
    return value


_NUMKEYS_NOT_POSITIVE = b"ERR numkeys should be greater than 0"
_COUNT_NOT_POSITIVE = b"ERR count should be greater than 0"


def parse_numkeys_side_count(
    argv: list[bytes], numkeys_at: int, sides: tuple[bytes, bytes]
) -> tuple[list[bytes], int, int]:
    """The tail shared by LMPOP/BLMPOP and ZMPOP/BZMPOP: numkeys, the keys, one of the two
    upper-case words in ``sides``, then [COUNT n]. Returns (keys, index of the side word,
    count, 1 when absent)."""
    numkeys = to_int_at_least(argv[numkeys_at], 1, _NUMKEYS_NOT_POSITIVE)
    where_at = numkeys_at + numkeys + 1
    argc = len(argv)
    if where_at >= argc:
        raise ErrorReply(msg.SYNTAX)
    where = argv[where_at].upper()
    if where == sides[0]:
        side = 0
    elif where == sides[1]:
        side = 1
    else:
        raise ErrorReply(msg.SYNTAX)
    count = -1
    j = where_at + 1
    while j < argc:
        if count == -1 and argv[j].upper() == b"COUNT" and j + 1 < argc:
            count = to_int_at_least(argv[j + 1], 1, _COUNT_NOT_POSITIVE)
            j += 2
        else:
            raise ErrorReply(msg.SYNTAX)
    return argv[numkeys_at + 1 : where_at], side, 1 if count == -1 else count


def parse_float(data: bytes) -> Optional[float]:
    """strtold-style: finite or infinite doubles; None for NaN, spaces or trailing garbage."""
    if not data or not _FLOAT_RE.match(data):
        return None
    return float(data)


def to_float(data: bytes, error: bytes = msg.NOT_FLOAT) -> float:
    value = parse_float(data)
    if value is None:
        raise ErrorReply(error)
    return value


class ArgCursor:
    """Walks optional arguments: ``while cur: tok = cur.upper_next(); ...``."""

    __slots__ = ("argv", "pos")

    def __init__(self, argv: list[bytes], pos: int) -> None:
        self.argv = argv
        self.pos = pos

    def __bool__(self) -> bool:
        return self.pos < len(self.argv)

    def remaining(self) -> int:
        return len(self.argv) - self.pos

    def next(self) -> bytes:
        if self.pos >= len(self.argv):
            raise ErrorReply(msg.SYNTAX)
        value = self.argv[self.pos]
        self.pos += 1
        return value

    def upper_next(self) -> bytes:
        return self.next().upper()

    def next_int(self, error: bytes = msg.NOT_INTEGER) -> int:
        return to_int(self.next(), error)

    def next_float(self, error: bytes = msg.NOT_FLOAT) -> float:
        return to_float(self.next(), error)
