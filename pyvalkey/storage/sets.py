"""The set value, with a model of Valkey's three set encodings, and snapshot cursors for
SSCAN/HSCAN over big collections.

Valkey keeps a set as an ``intset`` (sorted array of integers), a ``listpack`` (members in
insertion order) or a ``hashtable``; OBJECT ENCODING and, for the two small encodings, the
order in which SMEMBERS/SUNION/... list members, are visible to clients. So ``SetValue``
keeps the encoding Valkey would have chosen for the same history and iterates like it:

* ``members`` is a dict; for the small encodings its insertion order *is* the listpack order
  and the intset order is the members sorted numerically (computed on demand, cached until
  the next write);
* for ``hashtable`` the dict maps each member to its slot in ``arr``, a list used for O(1)
  random picks (SPOP, SRANDMEMBER); removal swaps the last slot into the hole. The order of
  a hashtable set is Valkey's hash order there and ours here: clients cannot rely on it.

Conversions follow t_set.c: intset -> listpack when a non-integer arrives and everything
fits, intset/listpack -> hashtable when a limit is crossed; never back (except for the result
sets that SINTERSTORE builds, which Valkey turns into an intset when all are integers).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["HASHTABLE", "INTSET", "LISTPACK", "ScanSnapshots", "SetLimits", "SetValue"]

INTSET = 0
LISTPACK = 1
HASHTABLE = 2
_ENCODING_NAMES = (b"intset", b"listpack", b"hashtable")
_INTSET_HARD_LIMIT = 1 << 30  # intset internals cap it there, whatever the config says

# (set-max-intset-entries, set-max-listpack-entries, set-max-listpack-value)
SetLimits = tuple[int, int, int]


def _is_int(member: bytes) -> bool:
    """Valkey's string2ll acceptance: a canonical signed 64-bit decimal."""
    n = len(member)
    if n == 0 or n > 20:
        return False
    if n == 1:
        return 48 <= member[0] <= 57
    start = 1 if member[0] == 45 else 0
    if start >= n or not 49 <= member[start] <= 57 or not member[start:].isdigit():
        return False
    return -(2**63) <= int(member) <= 2**63 - 1


class SetValue:
    TYPE_NAME = b"set"
    __slots__ = ("_sorted", "arr", "enc", "members", "scans")

    def __init__(self, enc: int = INTSET) -> None:
        self.enc = enc
        self.members: dict[bytes, Any] = {}
        self.arr: list[bytes] = []  # hashtable only
        self._sorted: list[bytes] | None = None  # intset order cache
        self.scans: ScanSnapshots | None = None

    @classmethod
    def create(cls, first: bytes, size_hint: int, limits: SetLimits) -> SetValue:
        """setTypeCreate: the encoding a new set starts in, from its first member and the
        number of members about to be added."""
        if size_hint <= limits[0] and _is_int(first):
            return cls(INTSET)
        if size_hint <= limits[1]:
            return cls(LISTPACK)
        return cls(HASHTABLE)

    # -- introspection -------------------------------------------------------------------------

    def encoding(self) -> bytes:
        return _ENCODING_NAMES[self.enc]

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member: bytes) -> bool:
        return member in self.members

    def ordered(self) -> Sequence[bytes]:
        """Members in Valkey's iteration order (for the small encodings). Do not mutate the
        set while holding the result."""
        enc = self.enc
        if enc == HASHTABLE:
            return self.arr
        if enc == LISTPACK:
            return list(self.members)
        cached = self._sorted
        if cached is None:
            cached = self._sorted = sorted(self.members, key=int)
        return cached

    def random_member(self) -> bytes:
        if self.enc == HASHTABLE:
            arr = self.arr
            return arr[random.randrange(len(arr))]
        items = self.ordered()
        return items[random.randrange(len(items))]

    def sample(self, count: int) -> list[bytes]:
        """``count`` distinct random members (count < len)."""
        if self.enc == HASHTABLE:
            return random.sample(self.arr, count)
        return random.sample(list(self.ordered()), count)

    # -- writes --------------------------------------------------------------------------------

    def add(self, member: bytes, limits: SetLimits) -> bool:
        members = self.members
        if member in members:
            return False
        enc = self.enc
        if enc == HASHTABLE:
            members[member] = len(self.arr)
            self.arr.append(member)
            return True
        if enc == LISTPACK:
            if len(members) < limits[1] and len(member) <= limits[2]:
                members[member] = None
            else:
                self._to_hashtable()
                self.add(member, limits)
            return True
        # intset
        if _is_int(member):
            members[member] = None
            self._sorted = None
            if len(members) > min(limits[0], _INTSET_HARD_LIMIT):
                self._to_hashtable()
            return True
        widest = 0
        if members:
            ordered = self.ordered()
            widest = max(len(ordered[0]), len(ordered[-1]))
        if len(members) < limits[1] and len(member) <= limits[2] and widest <= limits[2]:
            self._to_listpack()
        else:
            self._to_hashtable()
        self.add(member, limits)
        return True

    def remove(self, member: bytes) -> bool:
        members = self.members
        if member not in members:
            return False
        if self.enc == HASHTABLE:
            slot = members.pop(member)
            arr = self.arr
            last = arr.pop()
            if slot < len(arr):
                arr[slot] = last
                members[last] = slot
        else:
            del members[member]
            self._sorted = None
        return True

    def maybe_convert(self, size_hint: int, limits: SetLimits) -> None:
        """setTypeMaybeConvert: about to add ``size_hint`` members to an existing set."""
        enc = self.enc
        if (enc == LISTPACK and size_hint > limits[1]) or (enc == INTSET and size_hint > limits[0]):
            self._to_hashtable()

    def maybe_to_intset(self, intset_max: int) -> None:
        """For result sets known to hold only integers (SINTERSTORE)."""
        if self.enc == INTSET or len(self.members) > min(intset_max, _INTSET_HARD_LIMIT):
            return
        self.members = dict.fromkeys(self.ordered())
        self.arr = []
        self.enc = INTSET
        self._sorted = None

    def _to_hashtable(self) -> None:
        items = list(self.ordered())
        self.arr = items
        self.members = {member: slot for slot, member in enumerate(items)}
        self.enc = HASHTABLE
        self._sorted = None

    def _to_listpack(self) -> None:
        self.members = dict.fromkeys(self.ordered())
        self.enc = LISTPACK
        self._sorted = None

    def replace_with(self, members: Iterable[bytes], enc: int, limits: SetLimits) -> None:
        """Rebuild in place as a fresh set of encoding ``enc`` holding ``members`` (SPOP's
        "keep the survivors" strategy)."""
        self.members = {}
        self.arr = []
        self._sorted = None
        self.enc = enc
        self.scans = None
        for member in members:
            self.add(member, limits)

    def copy(self) -> SetValue:
        other = SetValue(self.enc)
        other.members = dict(self.members)
        other.arr = list(self.arr)
        other._sorted = self._sorted
        return other

    def __repr__(self) -> str:
        return f"SetValue({self.encoding().decode()}, {list(self.ordered())!r})"


# ---------------------------------------------------------------------------------------------
# Cursors for SSCAN / HSCAN over hashtable-encoded collections
# ---------------------------------------------------------------------------------------------

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_ID_LIMIT = 1 << 30
_MAX_SNAPSHOTS = 8


class ScanSnapshots:
    """A collection's live scans. Valkey's cursor is a position in its hash table; ours names
    a snapshot of the element list taken by the first call (O(n) once per scan), so every
    element present for the whole scan is returned, as SSCAN/HSCAN guarantee. A cursor we do
    not know restarts from a fresh snapshot (repeats are allowed, misses are not). At most a
    few snapshots are kept per collection, oldest dropped first."""

    __slots__ = ("next_id", "table")

    def __init__(self) -> None:
        self.table: dict[int, list[Any]] = {}
        self.next_id = 1

    def step(self, cursor: int, count: int, elements: Sequence[Any]) -> tuple[int, list[Any]]:
        """(next cursor, the candidates to examine in this call)."""
        snapshot = None
        position = 0
        snapshot_id = cursor >> _POSITION_BITS
        if cursor:
            position = cursor & _POSITION_MASK
            snapshot = self.table.get(snapshot_id)
            if snapshot is None or position > len(snapshot):
                snapshot = None
                position = 0
        if snapshot is None:
            snapshot = list(elements)
            snapshot_id = self.next_id
            self.next_id = snapshot_id + 1 if snapshot_id + 1 < _ID_LIMIT else 1
            self.table[snapshot_id] = snapshot
            while len(self.table) > _MAX_SNAPSHOTS:
                del self.table[next(iter(self.table))]
        end = position + count
        candidates = snapshot[position:end]
        if end >= len(snapshot):
            self.table.pop(snapshot_id, None)
            return 0, candidates
        return snapshot_id << _POSITION_BITS | end, candidates
