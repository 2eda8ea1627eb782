"""Which arguments of a command are keys, and how the command uses each of them.

This is the single place that turns ``argv`` into key positions: dispatch, ``COMMAND GETKEYS``,
ACL key permissions and cluster slot routing all call it, so they can never disagree.

The rules are Valkey's (``getKeysFromCommandWithSpecs``):

* A command's key specs come from ``commands.json`` (the oracle's ``COMMAND INFO``). Each spec
  says where to start looking (``begin_search``: a fixed ``index``, or the argument after a
  ``keyword`` found by scanning from ``startfrom``) and how many keys follow (``find_keys``: a
  ``range`` up to ``lastkey`` with ``keystep`` and ``limit``, or ``keynum``: a count argument at
  ``keynumidx`` followed by keys from ``firstkey``).
* Specs are trusted when at least one of them names real keys (not ``not_key``) and none has
  ``variable_flags``. If a spec cannot be applied (``unknown`` type, a bad count, keys past the
  end, or an ``incomplete`` spec) the whole answer falls back to the command's own key parser.
* About thirty commands have such a parser (SORT, MIGRATE, EVAL, XREAD, GEORADIUS, SET ...):
  they are the ``_PROCS`` table at the bottom, each mimicking the parser the real server runs,
  including its leniency (``atoi`` for counts, C-string comparisons that stop at a NUL byte).

Every function takes a ``Command`` (registry.py) or anything with the same metadata attributes;
``metadata_command(name)`` builds one for commands we do not serve, so tests can compare our
extraction with the oracle's for the whole command table. The compiled form of a command's specs
is cached per command object, so the hot path does no parsing of metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.parsing import parse_int
from pyvalkey.protocol.replies import RespSet, SimpleString

if TYPE_CHECKING:
    from pyvalkey.commands.registry import Command

__all__ = [
    "KEY_ACCESS",
    "KEY_DELETE",
    "KEY_INCOMPLETE",
    "KEY_INSERT",
    "KEY_NOT_KEY",
    "KEY_OW",
    "KEY_RM",
    "KEY_RO",
    "KEY_RW",
    "KEY_UPDATE",
    "KEY_VARIABLE_FLAGS",
    "KeyTable",
    "flag_names",
    "has_keys",
    "key_names",
    "key_positions",
    "key_table",
    "keys_and_flags",
    "keys_from_specs",
    "legacy_key_positions",
    "metadata_command",
    "metadata_table",
]

# Key spec flags as a bit mask. The order of this table is the order Valkey lists them in.
KEY_RO = 1 << 0
KEY_RW = 1 << 1
KEY_OW = 1 << 2
KEY_RM = 1 << 3
KEY_ACCESS = 1 << 4
KEY_UPDATE = 1 << 5
KEY_INSERT = 1 << 6
KEY_DELETE = 1 << 7
KEY_NOT_KEY = 1 << 8
KEY_INCOMPLETE = 1 << 9
KEY_VARIABLE_FLAGS = 1 << 10

_FLAG_TABLE: tuple[tuple[int, str], ...] = (
    (KEY_RO, "RO"),
    (KEY_RW, "RW"),
    (KEY_OW, "OW"),
    (KEY_RM, "RM"),
    (KEY_ACCESS, "access"),
    (KEY_UPDATE, "update"),
    (KEY_INSERT, "insert"),
    (KEY_DELETE, "delete"),
    (KEY_NOT_KEY, "not_key"),
    (KEY_INCOMPLETE, "incomplete"),
    (KEY_VARIABLE_FLAGS, "variable_flags"),
)
_FLAG_BITS = {name: bit for bit, name in _FLAG_TABLE}
_FLAG_REPLY = tuple((bit, SimpleString(name.encode())) for bit, name in _FLAG_TABLE)

# begin_search / find_keys kinds.
_UNKNOWN, _INDEX, _KEYWORD = 0, 1, 2
_RANGE, _KEYNUM = 1, 2

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def flag_names(mask: int) -> RespSet:
    """The reply for a key's flags: a set of status strings, in Valkey's order."""
    return RespSet(name for bit, name in _FLAG_REPLY if mask & bit)


def _c_int(value: int) -> int:
    """``value`` cast to a 32-bit C int (two's complement wrap), as ``(int)`` does in C."""
    return ((value - _INT_MIN) & 0xFFFFFFFF) + _INT_MIN


def _c_str(arg: bytes) -> bytes:
    """The argument as C string functions see it: everything before the first NUL."""
    nul = arg.find(b"\0")
    return arg if nul < 0 else arg[:nul]


def _c_eq(arg: bytes, word: bytes) -> bool:
    """strcasecmp(arg, word) == 0; ``word`` is lowercase."""
    return len(arg) >= len(word) and _c_str(arg).lower() == word


def _atoi(arg: bytes) -> int:
    """C ``atoi``: leading blanks, optional sign, digits up to the first non-digit; 0 if none.

    glibc computes it as ``(int)strtol(...)``: saturate at 64 bits, then wrap to 32.
    """
    text = _c_str(arg)
    i, n = 0, len(text)
    while i < n and text[i] in b" \t\n\v\f\r":
        i += 1
    negative = False
    if i < n and text[i] in b"+-":
        negative = text[i] == 45
        i += 1
    start = i
    while i < n and 48 <= text[i] <= 57:
        i += 1
    if i == start:
        return 0
    value = int(text[start:i])
    if negative:
        value = -value
    value = max(-(2**63), min(2**63 - 1, value))
    return _c_int(value)


class _Spec:
    """One key spec, decoded once from the JSON metadata."""

    __slots__ = (
        "bs",
        "firstkey",
        "fk",
        "flags",
        "index",
        "keynumidx",
        "keystep",
        "keyword",
        "lastkey",
        "limit",
        "startfrom",
    )

    def __init__(self, spec: dict[str, Any]) -> None:
        mask = 0
        for name in spec.get("flags", ()):
            mask |= _FLAG_BITS[name]
        self.flags = mask
        begin = spec.get("begin_search", {})
        bs_args = begin.get("spec", {})
        self.index = self.startfrom = 0
        self.keyword = b""
        kind = begin.get("type")
        if kind == "index":
            self.bs = _INDEX
            self.index = bs_args["index"]
        elif kind == "keyword":
            self.bs = _KEYWORD
            self.keyword = bs_args["keyword"].lower().encode()
            self.startfrom = bs_args["startfrom"]
        else:
            self.bs = _UNKNOWN
        find = spec.get("find_keys", {})
        fk_args = find.get("spec", {})
        self.lastkey = self.keystep = self.limit = self.keynumidx = self.firstkey = 0
        kind = find.get("type")
        if kind == "range":
            self.fk = _RANGE
            self.lastkey = fk_args["lastkey"]
            self.keystep = fk_args["keystep"]
            self.limit = fk_args["limit"]
        elif kind == "keynum":
            self.fk = _KEYNUM
            self.keynumidx = fk_args["keynumidx"]
            self.firstkey = fk_args["firstkey"]
            self.keystep = fk_args["keystep"]
        else:
            self.fk = _UNKNOWN


KeyProc = Callable[[list[bytes]], list[tuple[int, int]]]


class KeyTable:
    """A command's compiled key metadata: everything the extraction needs, nothing else."""

    __slots__ = (
        "arity",
        "has_keyspec",
        "has_varflags",
        "legacy",
        "no_mandatory_keys",
        "proc",
        "simple",
        "simple_min_argc",
        "specs",
    )

    def __init__(self, cmd: Any) -> None:
        self.specs = [_Spec(spec) for spec in cmd.key_specs]
        self.has_keyspec = any(not spec.flags & KEY_NOT_KEY for spec in self.specs)
        self.has_varflags = any(spec.flags & KEY_VARIABLE_FLAGS for spec in self.specs)
        self.proc: KeyProc | None = _PROCS.get(cmd.fullname)
        self.arity: int = cmd.arity
        self.no_mandatory_keys = "no_mandatory_keys" in cmd.flags
        self.legacy = (cmd.first_key, cmd.last_key, cmd.key_step)
        # The common shape (GET k, HSET k f v, LMOVE a b ...): only fixed positions, so the
        # answer is a constant list once argv is long enough (arity guarantees it is).
        self.simple: list[tuple[int, int]] | None = None
        self.simple_min_argc = 0
        if (
            self.has_keyspec
            and not self.has_varflags
            and all(
                spec.bs == _INDEX
                and spec.fk == _RANGE
                and spec.lastkey >= 0
                and not spec.flags & (KEY_INCOMPLETE | KEY_NOT_KEY)
                for spec in self.specs
            )
        ):
            self.simple = [
                (pos, spec.flags)
                for spec in self.specs
                for pos in range(spec.index, spec.index + spec.lastkey + 1, spec.keystep)
            ]
            self.simple_min_argc = max(spec.index + spec.lastkey for spec in self.specs) + 1


_TABLES: dict[Any, KeyTable] = {}


def key_table(cmd: Any) -> KeyTable:
    table = _TABLES.get(cmd)
    if table is None:
        table = _TABLES[cmd] = KeyTable(cmd)
    return table


def has_keys(cmd: Any) -> bool:
    """Whether the command can take keys at all (``doesCommandHaveKeys``)."""
    table = key_table(cmd)
    return table.proc is not None or table.has_keyspec


def keys_from_specs(
    cmd: Any, argv: list[bytes], include_not_keys: bool = False, partial: bool = False
) -> list[tuple[int, int]] | None:
    """(position, flags) for each key the specs alone find, or None if a spec cannot be applied.

    ``include_not_keys`` also returns arguments of ``not_key`` specs (channels of SPUBLISH...);
    ``partial`` skips specs that cannot be applied instead of giving up.
    """
    return _from_specs(key_table(cmd).specs, argv, include_not_keys, partial)


def _from_specs(
    specs: list[_Spec], argv: list[bytes], include_not_keys: bool, partial: bool
) -> list[tuple[int, int]] | None:
    argc = len(argv)
    result: list[tuple[int, int]] = []
    for spec in specs:
        if spec.flags & KEY_NOT_KEY and not include_not_keys:
            continue
        if spec.bs == _INDEX:
            first = spec.index
        elif spec.bs == _KEYWORD:
            first = _find_keyword(spec, argv)
            if not first:
                continue  # keyword absent: this spec names no keys
        else:
            if partial:
                continue
            return None
        if spec.fk == _RANGE:
            if spec.lastkey >= 0:
                last = first + spec.lastkey
            elif not spec.limit:
                last = argc + spec.lastkey
            else:
                # lastkey -1 with a limit: keys take 1/limit of the remaining arguments.
                last = first + ((argc - first) // spec.limit + spec.lastkey)
        elif spec.fk == _KEYNUM:
            count_pos = first + spec.keynumidx
            numkeys = parse_int(argv[count_pos]) if spec.keynumidx < argc and count_pos < argc else None
            if numkeys is None or numkeys < 0:
                if partial:
                    continue
                return None
            first += spec.firstkey
            # Python ints do not wrap: a count past the arguments is simply out of bounds.
            last = first + (numkeys - 1) * spec.keystep
        else:
            if partial:
                continue
            return None
        if last >= argc or last < first or first >= argc:
            if partial:
                continue
            return None
        flags = spec.flags
        result.extend((pos, flags) for pos in range(first, last + 1, spec.keystep))
        if flags & KEY_INCOMPLETE and not partial:
            return None
    return result


def _find_keyword(spec: _Spec, argv: list[bytes]) -> int:
    """The position after ``spec.keyword``, scanning as Valkey does; 0 if not found."""
    argc = len(argv)
    startfrom = spec.startfrom
    if startfrom > 0:
        start, end = startfrom, argc - 1
    else:
        start, end = argc + startfrom, 1
    step = 1 if start <= end else -1
    word = spec.keyword
    i = start
    while i != end:
        if i >= argc or i < 1:
            break
        if _c_eq(argv[i], word):
            return i + 1
        i += step
    return 0


def keys_and_flags(cmd: Any, argv: list[bytes]) -> list[tuple[int, int]]:
    """(position, flags) of every key in ``argv``, as ``COMMAND GETKEYSANDFLAGS`` reports them.

    ``argv`` must satisfy the command's arity. An empty list means no keys (or arguments too
    malformed to find them; the command itself will report the error). The list may be shared
    between calls: do not modify it.
    """
    table = _TABLES.get(cmd) or key_table(cmd)
    simple = table.simple
    if simple is not None and len(argv) >= table.simple_min_argc:
        return simple
    if table.has_keyspec and not table.has_varflags:
        found = _from_specs(table.specs, argv, False, False)
        if found is not None:
            return found
    if table.proc is not None:
        return table.proc(argv)
    return []


def key_positions(cmd: Any, argv: list[bytes]) -> list[int]:
    """Positions of the keys in ``argv``."""
    return [pos for pos, _ in keys_and_flags(cmd, argv)]


def key_names(cmd: Any, argv: list[bytes]) -> list[bytes]:
    """The keys themselves."""
    return [argv[pos] for pos, _ in keys_and_flags(cmd, argv)]


def legacy_key_positions(cmd: Any, argv: list[bytes]) -> list[int]:
    """Keys by the old (first, last, step) triple of ``COMMAND INFO``, no specs, no parsers.

    Valkey still reports this triple and some old clients route by it; it is not used to find
    keys for execution.
    """
    first, last, step = key_table(cmd).legacy
    if first == 0:
        return []
    argc = len(argv)
    if last < 0:
        last = argc + last
    positions = []
    for pos in range(first, last + 1, step):
        if pos >= argc:
            return []  # too few arguments: the command reports the error
        positions.append(pos)
    return positions


def metadata_command(fullname: str) -> Command:
    """A Command carrying Valkey's metadata for ``fullname`` ("get", "xinfo|stream") but no
    handler and not registered: for extracting keys of commands we do not serve (tests)."""
    from pyvalkey.commands.registry import Command, _metadata_for

    info, docs = _metadata_for(fullname)
    return Command(fullname, None, info, docs)


_METADATA_TABLE: dict[bytes, Command] = {}


def metadata_table() -> dict[bytes, Command]:
    """Every command in commands.json (served or not) as handler-less Commands, containers with
    all their subcommands: a stand-in for Valkey's full command table, for tests."""
    if not _METADATA_TABLE:
        from pyvalkey.commands.registry import load_metadata

        for name, entry in load_metadata().items():
            cmd = metadata_command(name)
            for sub_info in entry["info"][9]:
                sub = metadata_command(sub_info[0])
                sub.parent = cmd
                cmd.subcommands[sub.name] = sub
            _METADATA_TABLE[name.encode()] = cmd
    return _METADATA_TABLE


# ---------------------------------------------------------------------------------------------
# The commands that parse their own keys. Each returns (position, flags) pairs; flags are only
# meaningful where Valkey's parser sets them (SET, BITFIELD, SORT, MIGRATE), elsewhere 0, exactly
# as the real server reports them.


def _counted(store: int, count_at: int, first: int) -> KeyProc:
    """Keys preceded by a count (ZUNIONSTORE dst 2 a b, EVAL s 2 a b, LMPOP 2 a b LEFT)."""

    def proc(argv: list[bytes]) -> list[tuple[int, int]]:
        num = _atoi(argv[count_at])
        available = len(argv) - first
        if num < 1 or num > available:
            return []
        keys = [(first + i, 0) for i in range(num)]
        if store:
            keys.append((store, 0))
        return keys

    return proc


def _sort_ro_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    return [(1, KEY_RO | KEY_ACCESS)]


_SORT_SKIP = ((b"limit", 2), (b"get", 1), (b"by", 1))


def _sort_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    keys = [(1, KEY_RO | KEY_ACCESS)]
    store = 0
    argc = len(argv)
    i = 2
    while i < argc:
        arg = argv[i]
        # Valkey's loop tests each skip word in turn and STORE between them, so STORE is
        # recognised at the first comparison that fails, which is always the first one.
        for word, skip in _SORT_SKIP:
            if _c_eq(arg, word):
                i += skip
                break
            if _c_eq(arg, b"store") and i + 1 < argc:
                store = i + 1  # the last STORE wins, as in SORT itself
                break
        i += 1
    if store:
        keys.append((store, KEY_OW | KEY_UPDATE))
    return keys


_MIGRATE_SKIP = ((b"copy", 0), (b"replace", 0), (b"auth", 1), (b"auth2", 2))


def _migrate_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    argc = len(argv)
    first, num = 3, 1
    if argc > 6:
        i = 6
        while i < argc:
            arg = argv[i]
            if _c_eq(arg, b"keys"):
                if _c_str(argv[3]):
                    num = 0  # a key and KEYS together: MIGRATE reports the syntax error
                else:
                    first = i + 1
                    num = argc - first
                break
            for word, skip in _MIGRATE_SKIP:
                if _c_eq(arg, word):
                    i += skip
                    break
            i += 1
    flags = KEY_RW | KEY_ACCESS | KEY_DELETE
    return [(first + i, flags) for i in range(num)]


def _georadius_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    argc = len(argv)
    stored = -1
    i = 5
    while i < argc:
        arg = argv[i]
        if (_c_eq(arg, b"store") or _c_eq(arg, b"storedist")) and i + 1 < argc:
            stored = i + 1  # the later of STORE / STOREDIST wins
            i += 1
        i += 1
    keys = [(1, KEY_RO | KEY_ACCESS)]
    if stored != -1:
        keys.append((stored, KEY_OW | KEY_UPDATE))
    return keys


def _xread_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    argc = len(argv)
    streams = -1
    i = 1
    while i < argc:
        arg = argv[i]
        if _c_eq(arg, b"block") or _c_eq(arg, b"count"):
            i += 1
        elif _c_eq(arg, b"group"):
            i += 2
        elif _c_eq(arg, b"noack"):
            pass
        elif _c_eq(arg, b"streams"):
            streams = i
            break
        else:
            break
        i += 1
    if streams == -1:
        return []
    num = argc - streams - 1
    if num == 0 or num % 2:
        return []
    return [(pos, 0) for pos in range(streams + 1, streams + 1 + num // 2)]


def _set_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    for arg in argv[3:]:
        if _c_eq(arg, b"get"):
            return [(1, KEY_RW | KEY_ACCESS | KEY_UPDATE)]
    return [(1, KEY_OW | KEY_UPDATE)]


def _bitfield_keys(argv: list[bytes]) -> list[tuple[int, int]]:
    argc = len(argv)
    readonly = True
    i = 2
    while i < argc:
        remaining = argc - i - 1
        arg = argv[i]
        if _c_eq(arg, b"get") and remaining >= 2:
            i += 2
        elif (_c_eq(arg, b"set") or _c_eq(arg, b"incrby")) and remaining >= 3:
            readonly = False
            break
        elif _c_eq(arg, b"overflow") and remaining >= 1:
            i += 1
        else:
            readonly = False  # malformed: assume it writes
            break
        i += 1
    if readonly:
        return [(1, KEY_RO | KEY_ACCESS)]
    return [(1, KEY_RW | KEY_ACCESS | KEY_UPDATE)]


_PROCS: dict[str, KeyProc] = {
    "bitfield": _bitfield_keys,
    "blmpop": _counted(0, 2, 3),
    "bzmpop": _counted(0, 2, 3),
    "eval": _counted(0, 2, 3),
    "eval_ro": _counted(0, 2, 3),
    "evalsha": _counted(0, 2, 3),
    "evalsha_ro": _counted(0, 2, 3),
    "fcall": _counted(0, 2, 3),
    "fcall_ro": _counted(0, 2, 3),
    "georadius": _georadius_keys,
    "georadiusbymember": _georadius_keys,
    "lmpop": _counted(0, 1, 2),
    "migrate": _migrate_keys,
    "set": _set_keys,
    "sintercard": _counted(0, 1, 2),
    "sort": _sort_keys,
    "sort_ro": _sort_ro_keys,
    "xread": _xread_keys,
    "xreadgroup": _xread_keys,
    "zdiff": _counted(0, 1, 2),
    "zdiffstore": _counted(1, 2, 3),
    "zinter": _counted(0, 1, 2),
    "zintercard": _counted(0, 1, 2),
    "zinterstore": _counted(1, 2, 3),
    "zmpop": _counted(0, 1, 2),
    "zunion": _counted(0, 1, 2),
    "zunionstore": _counted(1, 2, 3),
}
