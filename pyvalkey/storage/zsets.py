"""The sorted set value: a ``dict`` member -> score plus a ``SortedList`` of (score, member).

The dict answers ZSCORE and membership in O(1); the sorted list keeps Valkey's order (score,
then member bytes compared as memcmp does, which is how Python compares ``bytes``) and gives
ranks, rank lookups and range bounds in O(log n), as Valkey's skiplist does.

Encoding: Valkey stores small sorted sets as a listpack and converts to a skiplist when a
limit (``zset-max-listpack-entries`` / ``zset-max-listpack-value``) would be crossed; a sorted
set never goes back, except the results that ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE/ZRANGESTORE
build, which start with the encoding that fits them. Only the flag ``listpack`` models this:
both encodings share one data structure. Two visible differences remain and are modelled:

* a listpack keeps scores as text/integers, so a score of ``-0`` reads back as ``0``; a
  skiplist keeps the sign of zero (``ZSCORE`` prints ``-0``);
* Valkey walks a listpack linearly for lexicographic ranges but descends the skiplist as if
  members were sorted; for sets whose members all share one score (the documented use) both
  give the same answer, and so do ours. Range replies with a negative LIMIT offset also
  differ between the two encodings (a skiplist quirk), see ``ZSetValue.window``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from typing import Any

from sortedcontainers import SortedList

__all__ = ["MAX_STRING", "MIN_STRING", "LexRange", "ScoreRange", "ZSetValue"]


class _Top:
    """Compares above every ``bytes`` value: the upper sentinel of a (score, member) probe."""

    __slots__ = ()

    def __lt__(self, other: Any) -> bool:
        return False

    def __gt__(self, other: Any) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 1


class _Bottom:
    __slots__ = ()

    def __lt__(self, other: Any) -> bool:
        return True

    def __gt__(self, other: Any) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0


_TOP = _Top()
_BOTTOM = _Bottom()

# Lexicographic range ends "-" and "+": below and above every member.
MIN_STRING: Any = _BOTTOM
MAX_STRING: Any = _TOP


class ScoreRange:
    """A parsed score interval; ``minex``/``maxex`` mark open ends (``(1.5``)."""

    __slots__ = ("max", "maxex", "min", "minex")

    def __init__(self, low: float, high: float, minex: bool, maxex: bool) -> None:
        self.min = low
        self.max = high
        self.minex = minex
        self.maxex = maxex

    def empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def gte_min(self, score: float) -> bool:
        return score > self.min if self.minex else score >= self.min

    def lte_max(self, score: float) -> bool:
        return score < self.max if self.maxex else score <= self.max


class LexRange:
    """A parsed member interval; the ends are bytes or MIN_STRING / MAX_STRING."""

    __slots__ = ("max", "maxex", "min", "minex")

    def __init__(self, low: Any, high: Any, minex: bool, maxex: bool) -> None:
        self.min = low
        self.max = high
        self.minex = minex
        self.maxex = maxex

    def empty(self) -> bool:
        low, high = self.min, self.max
        if low is high:
            return bool(self.minex or self.maxex)
        if low is MAX_STRING or high is MIN_STRING:
            return True
        if low is MIN_STRING or high is MAX_STRING:
            return False
        return low > high or (low == high and (self.minex or self.maxex))  # type: ignore[no-any-return]

    def gte_min(self, member: bytes) -> bool:
        low = self.min
        if low is MIN_STRING:
            return True
        if low is MAX_STRING:
            return False
        return member > low if self.minex else member >= low  # type: ignore[no-any-return]

    def lte_max(self, member: bytes) -> bool:
        high = self.max
        if high is MAX_STRING:
            return True
        if high is MIN_STRING:
            return False
        return member < high if self.maxex else member <= high  # type: ignore[no-any-return]


class ZSetValue:
    """A sorted set key's value."""

    TYPE_NAME = b"zset"
    __slots__ = ("listpack", "scans", "scores", "sl")

    def __init__(self, listpack: bool = True) -> None:
        self.scores: dict[bytes, float] = {}
        self.sl: Any = SortedList()
        self.listpack = listpack
        self.scans: Any = None  # ScanSnapshots for ZSCAN, created on demand

    @classmethod
    def create(cls, size_hint: int, value_len_hint: int, entries: int, value_limit: int) -> ZSetValue:
        """zsetTypeCreate: listpack when the hints fit the limits."""
        return cls(size_hint <= entries and value_len_hint <= value_limit)

    # -- introspection -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.scores)

    def encoding(self) -> bytes:
        return b"listpack" if self.listpack else b"skiplist"

    def copy(self) -> ZSetValue:
        twin = ZSetValue(self.listpack)
        twin.scores = self.scores.copy()
        twin.sl = SortedList(self.sl)
        return twin

    def __repr__(self) -> str:
        return f"ZSetValue({self.encoding().decode()}, {list(self.sl)!r})"

    def load(self, scores: dict[bytes, float]) -> None:
        """Take ``scores`` (member -> score) as the whole content (results of set operations)."""
        self.scores = scores
        self.sl = SortedList([(score, member) for member, score in scores.items()])

    def maybe_convert(self, size_hint: int, value_len_hint: int, entries: int, value_limit: int) -> None:
        """zsetTypeMaybeConvert: a listpack about to receive this much becomes a skiplist."""
        if self.listpack and (size_hint > entries or value_len_hint > value_limit):
            self.listpack = False

    def fit_encoding(self, entries: int, value_limit: int) -> None:
        """For freshly built results: listpack when everything fits (zsetConvertToListpackIfNeeded)."""
        if len(self.scores) <= entries and (not self.scores or max(map(len, self.scores)) <= value_limit):
            self.listpack = True
            self._normalise_zeros()
        else:
            self.listpack = False

    def _normalise_zeros(self) -> None:
        # A listpack holds scores as text; "-0" reads back as integer 0.
        for member, score in self.scores.items():
            if score == 0 and math.copysign(1.0, score) < 0:
                self.sl.remove((score, member))
                self.sl.add((0.0, member))
                self.scores[member] = 0.0

    # -- single members ------------------------------------------------------------------------

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def insert(self, member: bytes, score: float, entries: int, value_limit: int) -> None:
        """Add a member known to be absent, converting first if the listpack would overflow."""
        if self.listpack:
            if len(self.scores) + 1 > entries or len(member) > value_limit:
                self.listpack = False
            elif score == 0:
                score = 0.0
        self.scores[member] = score
        self.sl.add((score, member))

    def update(self, member: bytes, old: float, new: float) -> None:
        if self.listpack and new == 0:
            new = 0.0
        self.sl.remove((old, member))
        self.sl.add((new, member))
        self.scores[member] = new

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.sl.remove((score, member))
        return True

    def rank(self, member: bytes, reverse: bool) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        rank: int = self.sl.bisect_left((score, member))
        return len(self.scores) - 1 - rank if reverse else rank

    # -- positions -----------------------------------------------------------------------------

    def items(self, start: int, stop: int, reverse: bool = False) -> list[tuple[float, bytes]]:
        """Entries with ascending positions ``start <= i < stop``; descending with ``reverse``."""
        return list(self.sl.islice(start, stop, reverse=reverse))

    def at(self, index: int) -> tuple[float, bytes]:
        return self.sl[index]  # type: ignore[no-any-return]

    def delete_positions(self, start: int, stop: int) -> list[tuple[float, bytes]]:
        """Remove the entries at positions ``start <= i < stop``; returns them."""
        sl = self.sl
        if start == 0 and stop >= len(sl):
            gone = list(sl)
            sl.clear()
            self.scores.clear()
            return gone
        gone = list(sl.islice(start, stop))
        del sl[start:stop]
        scores = self.scores
        for _, member in gone:
            del scores[member]
        return gone

    def pop(self, count: int, from_max: bool) -> list[tuple[float, bytes]]:
        """Remove up to ``count`` entries from one end, in the order popped."""
        size = len(self.sl)
        count = min(count, size)
        if from_max:
            gone = self.delete_positions(size - count, size)
            gone.reverse()
            return gone
        return self.delete_positions(0, count)

    def random_entry(self) -> tuple[float, bytes]:
        return self.sl[random.randrange(len(self.sl))]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        return iter(self.sl)

    # -- ranges --------------------------------------------------------------------------------

    def score_span(self, spec: ScoreRange) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the entries whose score is in ``spec``."""
        if spec.empty() or not self.sl:
            return 0, 0
        sl = self.sl
        lo = sl.bisect_right((spec.min, _TOP)) if spec.minex else sl.bisect_left((spec.min, _BOTTOM))
        hi = sl.bisect_left((spec.max, _BOTTOM)) if spec.maxex else sl.bisect_right((spec.max, _TOP))
        return (lo, hi) if lo < hi else (0, 0)

    def lex_span(self, spec: LexRange, reverse: bool = False) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the members in ``spec``, found as Valkey finds them: a
        linear walk over a listpack (from the head, or from the tail with ``reverse``), a
        descent that assumes members sorted over a skiplist."""
        sl = self.sl
        size = len(sl)
        if spec.empty() or not size:
            return 0, 0
        gte, lte = spec.gte_min, spec.lte_max
        if not gte(sl[-1][1]) or not lte(sl[0][1]):
            return 0, 0
        if self.listpack:
            members = [member for _, member in sl]
            if not reverse:
                lo = next((i for i, m in enumerate(members) if gte(m)), size)
                if lo == size or not lte(members[lo]):
                    return 0, 0
                hi = lo
                while hi < size and lte(members[hi]):
                    hi += 1
                return lo, hi
            last = next((i for i in range(size - 1, -1, -1) if lte(members[i])), -1)
            if last < 0 or not gte(members[last]):
                return 0, 0
            lo = last
            while lo > 0 and gte(members[lo - 1]):
                lo -= 1
            return lo, last + 1
        lo = _first_true(size, lambda i: gte(sl[i][1]))
        hi = _first_true(size, lambda i: not lte(sl[i][1]))
        return (lo, hi) if lo < hi else (0, 0)

    def lex_walk(self, spec: LexRange, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
        """A listpack's BYLEX range with LIMIT, walked as Valkey walks it: from the first (or
        last) member in range, ``offset`` steps without checks, then on while the far end of
        the range holds. Only the far end is checked, which matters when scores differ."""
        members = [member for _, member in self.sl]
        size = len(members)
        if spec.empty() or not size or offset < 0:
            return 0, 0
        gte, lte = spec.gte_min, spec.lte_max
        if not gte(members[-1]) or not lte(members[0]):
            return 0, 0
        if not reverse:
            first = next((i for i, m in enumerate(members) if gte(m)), size)
            if first == size or not lte(members[first]):
                return 0, 0
            start = stop = first + offset
            while stop < size and stop - start != limit and lte(members[stop]):
                stop += 1
            return (start, stop) if start < stop else (0, 0)
        last = next((i for i in range(size - 1, -1, -1) if lte(members[i])), -1)
        if last < 0 or not gte(members[last]):
            return 0, 0
        top = low = last - offset
        while low >= 0 and top - low != limit and gte(members[low]):
            low -= 1
        return (low + 1, top + 1) if low < top else (0, 0)

    def window(self, lo: int, hi: int, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
        """Apply ``LIMIT offset count`` to the span ``[lo, hi)``; returns positions
        ``[a, b)`` to emit (in reverse order when ``reverse``). A negative count means all.

        A negative offset finds nothing in a listpack (the walk runs off the end), but in a
        skiplist it counts from the other end of the range: Valkey's zslNthInRange."""
        if lo >= hi:
            return 0, 0
        if offset < 0:
            if self.listpack:
                return 0, 0
            if not reverse:
                start = hi + offset
                if start < lo:
                    return 0, 0
                stop = hi if limit < 0 else min(hi, start + limit)
                return start, stop
            first = lo - offset - 1
            if first >= hi:
                return 0, 0
            stop = first + 1
            start = lo if limit < 0 else max(lo, stop - limit)
            return start, stop
        if not reverse:
            start = lo + offset
            if start >= hi:
                return 0, 0
            stop = hi if limit < 0 else min(hi, start + limit)
            return start, stop
        stop = hi - offset
        if stop <= lo:
            return 0, 0
        start = lo if limit < 0 else max(lo, stop - limit)
        return start, stop


def _first_true(size: int, pred: Callable[[int], bool]) -> int:
    """Smallest index in [0, size) where the monotonic ``pred`` holds, else ``size``."""
    lo, hi = 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
