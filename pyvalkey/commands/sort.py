"""SORT and SORT_RO (Valkey's sort.c): sort a list, set or sorted set, optionally by external
weights (``BY`` patterns), fetching external values (``GET``), and optionally storing the
result as a list (``STORE``, SORT only).

Behaviour that clients can see and that is modelled here:

* Patterns are substituted at their first ``*``; ``key->field`` reads a hash field; ``#`` is
  the element itself. A pattern is handled as a C string for these searches (it ends at its
  first NUL byte), the substituted key keeps the full bytes.
* A ``BY`` pattern without ``*`` means "don't sort": lists and sorted sets keep their order
  (``DESC`` walks them from the end and ``LIMIT`` picks ranks), sets keep their iteration
  order unless the result is stored, in which case Valkey sorts them alphabetically so that
  replicas agree.
* Numeric weights are parsed as C strings with Valkey's double rules: no spaces, no hex, no
  NaN, and over/underflow (a non-zero number that rounds to 0 or infinity) is an error; a
  weight that is missing counts as 0. Ties are broken by comparing the elements as bytes.
* ``ALPHA`` compares with strcoll in the C locale (so bytes up to the first NUL) when the
  result is returned, and whole byte strings when it is stored. Elements that compare equal
  keep their original order: the oracle's C library sorts with a stable merge sort, and
  Python's sort is stable too, also in reverse.
* Sorting a sorted set converts it to the skiplist encoding (Valkey does so before reading it).
"""

from __future__ import annotations

import re
from typing import Any

from pyvalkey.acl import full_key_access
from pyvalkey.client import Client
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.commands.sorting import partial_quicksort
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.storage.database import NOTIFY_GENERIC, NOTIFY_LIST, Database
from pyvalkey.storage.hashes import HashValue
from pyvalkey.storage.lists import ListValue
from pyvalkey.storage.sets import SetValue
from pyvalkey.storage.zsets import ZSetValue

__all__: list[str] = []

SCORE_NOT_DOUBLE = b"ERR One or more scores can't be converted into double"

_NUMBER_RE = re.compile(rb"[+-]?(?:(\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(inf|infinity))\Z", re.IGNORECASE)
_NONZERO_DIGIT = re.compile(rb"[1-9]")


def _weight(data: bytes) -> float | None:
    """A numeric weight, or None when Valkey would report a conversion error."""
    nul = data.find(b"\0")
    if nul >= 0:
        data = data[:nul]
    match = _NUMBER_RE.match(data)
    if match is None:
        return None
    value = float(data)
    if match.group(2) is None:
        # Out of range: a finite literal that became infinite, or a non-zero one that became 0.
        if value in (float("inf"), float("-inf")):
            return None
        if value == 0.0 and _NONZERO_DIGIT.search(match.group(1)):
            return None
    return value


def _c_string(data: bytes) -> bytes:
    """The bytes C string functions see: up to the first NUL."""
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


class _Pattern:
    """A parsed BY/GET pattern: how to build the key and which hash field to read."""

    __slots__ = ("field", "is_self", "postfix", "prefix", "valid")

    def __init__(self, pattern: bytes) -> None:
        visible = _c_string(pattern)
        self.is_self = visible == b"#"
        star = visible.find(b"*")
        self.valid = star >= 0
        self.prefix = pattern[:star]
        self.field: bytes | None = None
        rest = pattern[star + 1 :]
        if self.valid:
            arrow = visible.find(b"->", star + 1)
            if arrow >= 0 and arrow + 2 < len(visible):
                self.field = pattern[arrow + 2 :]
                rest = pattern[star + 1 : arrow]
        self.postfix = rest

    def lookup(self, db: Database, element: bytes) -> bytes | None:
        """lookupKeyByPattern: the string (or hash field) the pattern names for ``element``."""
        if self.is_self:
            return element
        if not self.valid:
            return None
        value = db.lookup_read(self.prefix + element + self.postfix)
        if value is None:
            return None
        field = self.field
        if field is None:
            return bytes(value) if type(value) in (bytes, bytearray) else None
        if type(value) is not HashValue:
            return None
        found = value.data.get(field)
        if found is not None and value.expires:
            deadline = value.expires.get(field)
            if deadline is not None and deadline <= db.keyspace.now_ms:
                return None
        return found


def _sort(client: Client, argv: list[bytes], readonly: bool) -> Any:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby: _Pattern | None = None
    storekey: bytes | None = None
    gets: list[_Pattern] = []
    argc = len(argv)
    j = 2
    while j < argc:
        left = argc - j - 1
        option = argv[j].lower()
        if option == b"asc":
            desc = False
        elif option == b"desc":
            desc = True
        elif option == b"alpha":
            alpha = True
        elif option == b"limit" and left >= 2:
            start_arg = parse_int(argv[j + 1])
            count_arg = parse_int(argv[j + 2])
            if start_arg is None or count_arg is None:
                raise ErrorReply(msg.NOT_INTEGER)
            limit_start, limit_count = start_arg, count_arg
            j += 2
        elif not readonly and option == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif option == b"by" and left >= 1:
            sortby = _Pattern(argv[j + 1])
            if not sortby.valid:
                # A constant weight: nothing to sort (and this sticks, as in Valkey).
                dontsort = True
            elif not full_key_access(client, argv):  # the pattern reads keys ACLs may forbid
                raise ErrorReply(b"ERR BY option of SORT denied due to insufficient ACL permissions.")
            j += 1
        elif option == b"get" and left >= 1:
            if not full_key_access(client, argv):
                raise ErrorReply(b"ERR GET option of SORT denied due to insufficient ACL permissions.")
            gets.append(_Pattern(argv[j + 1]))
            j += 1
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1

    db = client.db
    value = db.lookup_read(argv[1])
    kind = type(value)
    if value is not None and kind is not ListValue and kind is not SetValue and kind is not ZSetValue:
        raise ErrorReply(msg.WRONGTYPE)

    if dontsort and kind is SetValue and (storekey is not None or "script" in client.flags):
        # A set's order is not deterministic: stored (and replicated) results get sorted.
        dontsort = False
        alpha = True
        sortby = None

    if kind is ZSetValue:
        value.listpack = False  # Valkey converts the sorted set before reading it
    size = 0 if value is None else len(value)

    start = min(max(limit_start, 0), size)
    limit_count = min(max(limit_count, -1), size)
    end = size - 1 if limit_count < 0 else start + limit_count - 1
    if start >= size:
        start = size - 1
        end = size - 2
    if end >= size:
        end = size - 1

    elements: list[bytes]
    if value is None:
        elements = []
    elif dontsort and kind is ListValue:
        elements = []
        if end >= start:
            if desc:
                elements = value.range(size - 1 - end, size - 1 - start)
                elements.reverse()
            else:
                elements = value.range(start, end)
            end -= start
            start = 0
    elif dontsort and kind is ZSetValue:
        elements = []
        if end >= start:
            if desc:
                entries = value.items(size - 1 - end, size - start, reverse=True)
            else:
                entries = value.items(start, end + 1)
            elements = [member for _, member in entries]
            end -= start
            start = 0
    elif kind is ListValue:
        elements = list(value.items)
    elif kind is SetValue:
        elements = list(value.ordered())
    else:
        elements = list(value.scores)

    if not dontsort and elements:
        partial = sortby is not None and (start != 0 or end != len(elements) - 1)
        window = (start, end) if partial else None
        elements = _sorted(db, elements, sortby, alpha, desc, storekey is not None, window)

    count = end - start + 1
    picked = elements[start : end + 1] if count > 0 else []
    if storekey is None:
        if not gets:
            return picked
        reply: list[Any] = []
        for element in picked:
            for pattern in gets:
                reply.append(pattern.lookup(db, element))
        return reply

    if gets:
        stored: list[bytes] = []
        for element in picked:
            for pattern in gets:
                found = pattern.lookup(db, element)
                stored.append(b"" if found is None else found)
    else:
        stored = picked
    outputlen = len(stored)
    keyspace = db.keyspace
    if outputlen:
        db.set(
            storekey,
            ListValue.from_values(
                stored, client.server.config.list_max_listpack_size, client.server.config.list_compress_depth
            ),
        )
        db.notify(NOTIFY_LIST, b"sortstore", storekey)
        keyspace.dirty += outputlen
    elif db.delete(storekey):
        db.notify(NOTIFY_GENERIC, b"del", storekey)
        keyspace.dirty += 1
    return outputlen


def _sorted(
    db: Database,
    elements: list[bytes],
    sortby: _Pattern | None,
    alpha: bool,
    desc: bool,
    store: bool,
    window: tuple[int, int] | None,
) -> list[bytes]:
    """The elements in SORT's order; raises Valkey's error when a numeric weight is invalid.

    ``window`` (start, end) asks for a partial sort: Valkey then uses its own quicksort, which
    only orders the part that covers the window and is not stable, so ties come out in that
    algorithm's order; we run the same algorithm to give the same answer."""
    if alpha and sortby is None:
        if store:
            return sorted(elements, reverse=desc)
        return sorted(elements, key=_c_string, reverse=desc)
    keys: list[Any] = []
    if alpha:
        for element in elements:
            weight = sortby.lookup(db, element)  # type: ignore[union-attr]
            if weight is None:
                keys.append((0,))
            else:
                keys.append((1, weight if store else _c_string(weight)))
    else:
        bad = False
        for element in elements:
            if sortby is not None:
                raw = sortby.lookup(db, element)
                if raw is None:
                    keys.append((0.0, element))
                    continue
            else:
                raw = element
            weight = _weight(raw)
            if weight is None:
                bad = True
                weight = 0.0
            keys.append((weight, element))
        if bad:
            raise ErrorReply(SCORE_NOT_DOUBLE)
    if window is not None:
        pairs = list(zip(keys, elements))
        partial_quicksort(pairs, window[0], window[1], desc)
        return [element for _, element in pairs]
    order = sorted(range(len(elements)), key=keys.__getitem__, reverse=desc)
    return [elements[i] for i in order]


@command("sort")
def sort(client: Client, argv: list[bytes]) -> Any:
    return _sort(client, argv, False)


@command("sort_ro")
def sort_ro(client: Client, argv: list[bytes]) -> Any:
    return _sort(client, argv, True)
