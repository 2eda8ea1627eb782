"""Valkey's glob-style pattern matching (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET, ACL key patterns).

The rules are those of Valkey's ``stringmatchlen``, quirks included:

* ``*`` any run of bytes, ``?`` one byte, ``\\x`` the byte ``x`` literally (a trailing lone
  backslash is a literal backslash);
* ``[...]`` one byte from a set: ``^`` first negates it, ``\\x`` escapes, ``a-z`` is a range
  whose ends are swapped when reversed and compared as C *signed* chars (so a range crossing
  0x7f/0x80 wraps the "wrong" way, exactly as in Valkey); a ``]`` right after ``[`` (or ``[^``)
  closes an empty set, a ``-`` range may swallow a ``]`` as its end, and an unterminated ``[``
  takes every remaining pattern byte as set members;
* an empty subject string matches only the empty pattern (``*`` does not match ``""``: callers
  such as KEYS and SCAN special-case a lone ``*`` before matching, as Valkey does);
* patterns whose matching would need more than 1000 nested ``*`` groups never match.

Valkey's matcher backtracks with an early-out that keeps it polynomial. We compile each
pattern once into a Python regular expression of the same meaning whose segments between stars
sit in atomic groups ``(?>.*?segment)``: segments have a fixed length, so taking each one at its
earliest position is always right, and the atomic group forbids the exponential retrying that
``a*a*a*...b`` would otherwise trigger. Compiled patterns live in a small bounded cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["compile_glob", "glob_match"]

_MAX_STAR_NESTING = 1000
_CACHE_LIMIT = 512
_cache: dict[tuple[bytes, bool], Callable[[bytes], Any]] = {}

_ALL = frozenset(range(256))
_STAR = None  # token marker in the parsed pattern


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    # C-locale tolower: only ASCII capitals change (signed high bytes are left alone).
    return value + 32 if 65 <= value <= 90 else value


def _literal(byte: int, nocase: bool) -> frozenset[int]:
    if nocase:
        return frozenset(b for b in range(256) if _lower(b) == _lower(byte))
    return frozenset((byte,))


def _parse_class(pattern: bytes, i: int, nocase: bool) -> tuple[frozenset[int], int]:
    """Parse a ``[...]`` set whose ``[`` is at ``i - 1``; returns (matching bytes, next index)."""
    n = len(pattern)
    negate = i < n and pattern[i] == 94  # '^'
    if negate:
        i += 1
    members: set[int] = set()
    while True:
        if i < n and pattern[i] == 92 and n - i >= 2:  # '\' escapes the next byte, case-sensitively
            i += 1
            members.add(pattern[i])
        elif i < n and pattern[i] == 93:  # ']'
            break
        elif i >= n:
            # Unterminated: the set ends with the pattern.
            i -= 1
            break
        elif n - i >= 3 and pattern[i + 1] == 45:  # 'x-y' range, compared as signed chars
            start, end = _signed(pattern[i]), _signed(pattern[i + 2])
            if start > end:
                start, end = end, start
            if nocase:
                start, end = _lower(start), _lower(end)
                members.update(b for b in range(256) if start <= _lower(_signed(b)) <= end)
            else:
                members.update(b for b in range(256) if start <= _signed(b) <= end)
            i += 2
        else:
            members.update(_literal(pattern[i], nocase))
        i += 1
    chosen = frozenset(members)
    if negate:
        chosen = _ALL - chosen
    return chosen, i + 1


def _tokens(pattern: bytes, nocase: bool) -> list[frozenset[int] | None]:
    """The pattern as a list of one-byte sets, with ``None`` for each run of stars."""
    tokens: list[frozenset[int] | None] = []
    n = len(pattern)
    i = 0
    while i < n:
        c = pattern[i]
        if c == 42:  # '*'
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == 63:  # '?'
            tokens.append(_ALL)
            i += 1
        elif c == 91:  # '['
            members, i = _parse_class(pattern, i + 1, nocase)
            tokens.append(members)
        elif c == 92 and n - i >= 2:  # '\x'
            tokens.append(_literal(pattern[i + 1], nocase))
            i += 2
        else:
            tokens.append(_literal(c, nocase))
            i += 1
    return tokens


def _atom(members: frozenset[int]) -> bytes:
    if len(members) == 256:
        return rb"[\x00-\xff]"
    if not members:
        return rb"(?!)"
    if len(members) == 1:
        return re.escape(bytes(members))
    return b"[" + b"".join(b"\\x%02x" % b for b in sorted(members)) + b"]"


def _regex(tokens: list[frozenset[int] | None]) -> bytes:
    # Split into fixed-length segments separated by star runs.
    segments: list[bytes] = [b""]
    for token in tokens:
        if token is _STAR:
            segments.append(b"")
        else:
            segments[-1] += _atom(token)
    if len(segments) == 1:
        return segments[0]
    # A non-empty subject is required: Valkey never matches "" against a non-empty pattern.
    parts = [rb"(?=[\x00-\xff])", segments[0]]
    for middle in segments[1:-1]:
        parts.append(rb"(?>.*?" + middle + b")")
    parts.append(b".*" + segments[-1])
    return b"".join(parts)


def _never(subject: bytes) -> None:
    return None


def _compile(pattern: bytes, nocase: bool) -> Callable[[bytes], Any]:
    tokens = _tokens(pattern, nocase)
    stars = [index for index, token in enumerate(tokens) if token is _STAR]
    if len(stars) > _MAX_STAR_NESTING and stars[_MAX_STAR_NESTING] != len(tokens) - 1:
        # Valkey gives up past this nesting depth; the match fails.
        return _never
    if not tokens:
        return re.compile(b"").fullmatch
    return re.compile(_regex(tokens), re.DOTALL).fullmatch


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], Any]:
    """A function ``subject -> truthy`` that tells whether ``subject`` matches ``pattern``."""
    key = (pattern, nocase)
    matcher = _cache.get(key)
    if matcher is None:
        matcher = _compile(pattern, nocase)
        if len(_cache) >= _CACHE_LIMIT:
            del _cache[next(iter(_cache))]
        _cache[key] = matcher
    return matcher


def glob_match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    return compile_glob(pattern, nocase)(subject) is not None
