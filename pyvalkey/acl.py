"""ACL users: the user model, rule parsing, descriptions and permission checks (Valkey's acl.c).

A ``User`` has flags (on/off, nopass), SHA-256 password hashes and a list of selectors; the first
is the root selector (the rules written outside parentheses), the others come from ``(...)``
rules. A ``Selector`` grants commands, key patterns (with read/write permissions), channel
patterns and databases. A command runs when any one selector allows all of it.

Command permissions are a set of command full names (``"get"``, ``"config|get"``) plus the two
marks Valkey keeps in its bitmap: ``allcommands`` (every command allowed, a shortcut for the
check) and ``future`` (the rules started from ``+@all``, so ACL LIST shows ``+@all``). Besides the
set, each selector keeps its command rules in the order they were given, minus the rules that a
later rule for the same command overrode: that list is what ACL LIST and GETUSER print after
``+@all``/``-@all``, exactly as Valkey does.

The universe of commands and their categories is the full table from commands.json (also the
commands we do not serve), so ``+@write`` grants what it grants on Valkey. A category rule on a
container (``config``) also covers all of its subcommands, as in Valkey.

``Acl`` (one per server, ``acl_of(server)``) holds the users, the ACL log and the dispatcher
pre-check. The pre-check is installed only while some user has a restriction, so the default
configuration pays nothing per command.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.keyspec import KEY_ACCESS, KEY_DELETE, KEY_INSERT, KEY_UPDATE, has_keys, keys_and_flags
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import compact_table
from pyvalkey.protocol.replies import ErrorReply
from pyvalkey.storage.glob import glob_match

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

__all__ = [
    "CATEGORIES",
    "DENIED_AUTH",
    "DENIED_CHANNEL",
    "DENIED_CMD",
    "DENIED_DB",
    "DENIED_KEY",
    "Acl",
    "AclRuleError",
    "Selector",
    "User",
    "acl_of",
    "category_commands",
    "hash_password",
]

# Valkey's category order (ACL CAT, COMMAND INFO).
CATEGORIES = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
)
_CATEGORY_SET = frozenset(CATEGORIES)

# Denial reasons, ordered as Valkey ranks them when selectors disagree (the highest wins).
DENIED_CMD = 1
DENIED_KEY = 2
DENIED_AUTH = 3
DENIED_CHANNEL = 4
DENIED_DB = 5

# How selectors' denials compare (Valkey's ranking): a selector refusing the database counts
# least, then one refusing the command, then keys and channels.
_RANK = {0: 0, DENIED_DB: 5, DENIED_CMD: 10, DENIED_KEY: 20, DENIED_AUTH: 30, DENIED_CHANNEL: 40}

REASON_NAMES = {DENIED_CMD: b"command", DENIED_KEY: b"key", DENIED_AUTH: b"auth", DENIED_CHANNEL: b"channel",
                DENIED_DB: b"database"}

# Key pattern permissions.
PERM_READ = 1
PERM_WRITE = 2
PERM_ALL = 3

_MAX_DB = 2147483647

# Rule errors (ACLSetUserStringError).
ERR_SYNTAX = b"Syntax error"
ERR_UNKNOWN = b"Unknown command or category name in ACL"
ERR_KEYS_AFTER_ALL = (
    b"Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
    b"effect. Try 'resetkeys' to start with an empty list of patterns"
)
ERR_CHANNELS_AFTER_ALL = (
    b"Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any "
    b"effect. Try 'resetchannels' to start with an empty list of channels"
)
ERR_NO_SUCH_PASS = b"The password you are trying to remove from the user does not exist"
ERR_BAD_HASH = b"The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
ERR_SUBCOMMAND_FIRSTARG = b"Allowing first-arg of a subcommand is not supported"
ERR_DB_RANGE = b"The provided database ID is out of range"


class AclRuleError(Exception):
    """A rule could not be applied; ``text`` is Valkey's description of why."""

    def __init__(self, text: bytes) -> None:
        super().__init__(text)
        self.text = text


# -- the command universe --------------------------------------------------------------------------


class _Universe:
    """Every command Valkey knows (from commands.json), with its subcommands and categories."""

    def __init__(self) -> None:
        table = compact_table()
        self.names: list[str] = list(table)
        self.all: frozenset[str] = frozenset(table)
        self.subs: dict[str, list[str]] = {}
        self.parent_of: dict[str, str] = {}
        for name in self.names:
            if "|" in name:
                parent = name.split("|", 1)[0]
                self.subs.setdefault(parent, []).append(name)
                self.parent_of[name] = parent
        self.categories: dict[str, tuple[str, ...]] = {name: tuple(entry[5]) for name, entry in table.items()}
        # What +@cat / -@cat change: commands of the category, and every subcommand of a
        # container that is in it.
        self.by_category: dict[str, frozenset[str]] = {}
        self.listing: dict[str, list[str]] = {}
        for category in CATEGORIES:
            members: set[str] = set()
            listing: list[str] = []
            for name in self.names:
                if "|" in name:
                    continue
                if category in self.categories[name]:
                    members.add(name)
                    members.update(self.subs.get(name, ()))
                    listing.append(name)
                for sub in self.subs.get(name, ()):
                    if category in self.categories[sub]:
                        members.add(sub)
                        listing.append(sub)
            self.by_category[category] = frozenset(members)
            self.listing[category] = listing
        self.flags: dict[str, tuple[str, ...]] = {name: tuple(entry[1]) for name, entry in table.items()}

    def lookup(self, name: bytes) -> str | None:
        """Valkey's strict lookup of ``cmd`` or ``container|sub`` (case-insensitive)."""
        parts = name.lower().split(b"|")
        if len(parts) > 2:
            return None
        base = parts[0].decode("latin-1")
        if base not in self.all or "|" in base:
            return None
        if len(parts) == 1:
            return base
        if base not in self.subs:
            return None
        full = base + "|" + parts[1].decode("latin-1")
        return full if full in self.all else None


_UNIVERSE: _Universe | None = None


def universe() -> _Universe:
    global _UNIVERSE
    if _UNIVERSE is None:
        _UNIVERSE = _Universe()
    return _UNIVERSE


def category_commands(category: str) -> list[str]:
    """The full names ACL CAT <category> lists."""
    return universe().listing[category]


def hash_password(password: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(password).hexdigest().encode()


def _valid_hash(value: bytes) -> bool:
    return len(value) == 64 and all(48 <= c <= 57 or 97 <= c <= 102 for c in value)


def _has_spaces(value: bytes) -> bool:
    """Valkey refuses whitespace and NUL bytes in user names and patterns."""
    for byte in value:
        if byte in b" \t\n\v\f\r\x00":
            return True
    return False


def _c_eq(op: bytes, word: bytes) -> bool:
    """strcasecmp on C strings: the comparison stops at a NUL byte."""
    nul = op.find(b"\x00")
    if nul >= 0:
        op = op[:nul]
    return op.lower() == word


# -- selectors ---------------------------------------------------------------------------------


class Selector:
    __slots__ = (
        "allchannels",
        "allcommands",
        "alldbs",
        "allkeys",
        "allowed",
        "channels",
        "dbs",
        "firstargs",
        "future",
        "patterns",
        "root",
        "rules",
    )

    def __init__(self, root: bool, allchannels: bool = False) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels
        self.alldbs = True
        self.allcommands = False
        self.future = False
        self.patterns: list[list[Any]] = []  # [pattern, PERM_* flags]
        self.channels: list[bytes] = []
        self.dbs: set[int] = set()
        self.allowed: set[str] = set()
        self.firstargs: dict[str, list[bytes]] = {}
        self.rules: list[bytes] = []

    def copy(self) -> Selector:
        other = Selector(self.root, self.allchannels)
        other.allkeys = self.allkeys
        other.alldbs = self.alldbs
        other.allcommands = self.allcommands
        other.future = self.future
        other.patterns = [list(p) for p in self.patterns]
        other.channels = list(self.channels)
        other.dbs = set(self.dbs)
        other.allowed = set(self.allowed)
        other.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        other.rules = list(self.rules)
        return other

    @property
    def unrestricted(self) -> bool:
        return self.allcommands and self.allkeys and self.allchannels and self.alldbs

    # -- rules ---------------------------------------------------------------------------------

    def _note_rule(self, body: bytes, allow: bool) -> None:
        """Keep the command rules in order: a rule replaces earlier ones for the same command
        (and, for a whole command, those for its subcommands)."""
        body = body.lower()
        n = len(body)
        kept = []
        for rule in self.rules:
            old = rule[1:]
            if old == body or (len(old) > n and old.startswith(body) and old[n] == 124):  # '|'
                continue
            kept.append(rule)
        kept.append((b"+" if allow else b"-") + body)
        self.rules = kept

    def _change(self, name: str, allow: bool) -> None:
        names = [name, *universe().subs.get(name, ())]
        if allow:
            self.allowed.update(names)
        else:
            self.allowed.difference_update(names)
            self.allcommands = False
        self.firstargs.pop(name, None)

    def _category(self, category: str, allow: bool) -> None:
        members = universe().by_category[category]
        if allow:
            self.allowed |= members
        else:
            self.allowed -= members
            if members:
                self.allcommands = False
        firstargs = self.firstargs
        if firstargs:
            for name in list(firstargs):
                if name in members:
                    del firstargs[name]

    def apply(self, op: bytes) -> None:
        """One selector rule (ACLSetSelector); raises AclRuleError."""
        if _c_eq(op, b"allkeys") or _c_eq(op, b"~*"):
            self.allkeys = True
            self.patterns = []
        elif _c_eq(op, b"resetkeys"):
            self.allkeys = False
            self.patterns = []
        elif _c_eq(op, b"allchannels") or _c_eq(op, b"&*"):
            self.allchannels = True
            self.channels = []
        elif _c_eq(op, b"resetchannels"):
            self.allchannels = False
            self.channels = []
        elif _c_eq(op, b"allcommands") or _c_eq(op, b"+@all"):
            self.allowed = set(universe().all)
            self.allcommands = True
            self.future = True
            self.rules = []
            self.firstargs = {}
        elif _c_eq(op, b"nocommands") or _c_eq(op, b"-@all"):
            self.allowed = set()
            self.allcommands = False
            self.future = False
            self.rules = []
            self.firstargs = {}
        elif _c_eq(op, b"alldbs"):
            self.alldbs = True
            self.dbs = set()
        elif _c_eq(op, b"resetdbs"):
            self.alldbs = False
            self.dbs = set()
        elif op[:3].lower() == b"db=":
            self.dbs = _parse_dbs(op[3:])
            self.alldbs = False
        elif op[:1] in (b"~", b"%"):
            self._key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise AclRuleError(ERR_CHANNELS_AFTER_ALL)
            pattern = op[1:]
            if _has_spaces(pattern):
                raise AclRuleError(ERR_SYNTAX)
            if pattern not in self.channels:
                self.channels.append(pattern)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow_command(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            name = universe().lookup(op[1:])
            if name is None:
                raise AclRuleError(ERR_UNKNOWN)
            self._change(name, False)
            self._note_rule(name.encode(), False)
        elif op[:2] in (b"+@", b"-@"):
            category = op[2:].lower().decode("latin-1")
            nul = category.find("\x00")
            if nul >= 0:
                category = category[:nul]
            if category not in _CATEGORY_SET:
                raise AclRuleError(ERR_UNKNOWN)
            allow = op[:1] == b"+"
            self._note_rule(op[1:], allow)
            self._category(category, allow)
        else:
            raise AclRuleError(ERR_SYNTAX)

    def _key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise AclRuleError(ERR_KEYS_AFTER_ALL)
        flags = 0
        offset = 1
        if op[:1] == b"%":
            size = len(op)
            while offset < size:
                char = op[offset : offset + 1]
                upper = char.upper()
                if upper == b"R" and not flags & PERM_READ:
                    flags |= PERM_READ
                elif upper == b"W" and not flags & PERM_WRITE:
                    flags |= PERM_WRITE
                elif char == b"~" and flags:
                    offset += 1
                    break
                else:
                    raise AclRuleError(ERR_SYNTAX)
                offset += 1
        else:
            flags = PERM_ALL
        pattern = op[offset:]
        if _has_spaces(pattern):
            raise AclRuleError(ERR_SYNTAX)
        for entry in self.patterns:
            if entry[0] == pattern:
                entry[1] |= flags
                break
        else:
            self.patterns.append([pattern, flags])
        self.allkeys = False

    def _allow_command(self, spec: bytes) -> None:
        u = universe()
        bar = spec.rfind(b"|")
        if bar < 0:
            name = u.lookup(spec)
            if name is None:
                raise AclRuleError(ERR_UNKNOWN)
            self._change(name, True)
            self._note_rule(name.encode(), True)
            return
        base = u.lookup(spec[:bar])
        if base is None:
            raise AclRuleError(ERR_UNKNOWN)
        if "|" in base:
            raise AclRuleError(ERR_SUBCOMMAND_FIRSTARG)
        first = spec[bar + 1 :]
        if not first:
            raise AclRuleError(ERR_SYNTAX)
        if base in u.subs:
            name = u.lookup(spec)
            if name is None:
                raise AclRuleError(ERR_UNKNOWN)
            self._change(name, True)
        else:
            # An otherwise denied command allowed with one first argument (SELECT|0).
            allowed = self.firstargs.setdefault(base, [])
            if first.lower() not in allowed:
                allowed.append(first.lower())
        self._note_rule(spec, True)

    # -- descriptions --------------------------------------------------------------------------

    def command_rules(self) -> bytes:
        head = b"+@all" if self.future else b"-@all"
        if self.rules:
            return head + b" " + b" ".join(self.rules)
        return head

    def keys_text(self) -> bytes:
        if self.allkeys:
            return b"~*"
        return b" ".join(_pattern_text(p) for p in self.patterns)

    def channels_text(self) -> bytes:
        if self.allchannels:
            return b"&*"
        return b" ".join(b"&" + c for c in self.channels)

    def dbs_text(self) -> bytes:
        if self.alldbs:
            return b"alldbs"
        return _dbs_rule(self.dbs)

    def describe(self) -> bytes:
        parts = []
        if self.allkeys:
            parts.append(b"~*")
        else:
            parts.extend(_pattern_text(p) for p in self.patterns)
        if self.allchannels:
            parts.append(b"&*")
        else:
            parts.append(b"resetchannels")
            parts.extend(b"&" + c for c in self.channels)
        if not self.alldbs:
            parts.append(_dbs_rule(self.dbs) if self.dbs else b"resetdbs")
        parts.append(self.command_rules())
        return b" ".join(parts)

    # -- checks --------------------------------------------------------------------------------

    def check(self, cmd: Command, argv: list[bytes], db_index: int, cache: list[Any]) -> tuple[int, int]:
        """(0, 0) when allowed, else (reason, argument position or -1 for the command name)."""
        name = cmd.fullname
        # Databases first: Valkey reports a database denial even for a command the selector lacks.
        if not self.alldbs:
            denied = self._check_dbs(cmd, argv, db_index)
            if denied is not None:
                return DENIED_DB, denied
        if not self.allcommands and name not in self.allowed and not cmd.no_auth:
            allowed_first = self.firstargs.get(name)
            if allowed_first is None or len(argv) < 2 or argv[1].lower() not in allowed_first:
                return DENIED_CMD, 0
        if not self.allkeys and has_keys(cmd):
            keys = cache[0]
            if keys is None:
                keys = cache[0] = keys_and_flags(cmd, argv)
            for pos, flags in keys:
                if not self._key_ok(argv[pos], flags):
                    return DENIED_KEY, pos
        if not self.allchannels:
            spec = _CHANNEL_COMMANDS.get(name)
            if spec is not None:
                is_pattern = spec == 2
                stop = 2 if spec == 0 else len(argv)
                for pos in range(1, stop):
                    if not self.channel_ok(argv[pos], is_pattern):
                        return DENIED_CHANNEL, pos
        return 0, 0

    def _key_ok(self, key: bytes, spec_flags: int) -> bool:
        need = 0
        if spec_flags & KEY_ACCESS:
            need |= PERM_READ
        if spec_flags & (KEY_INSERT | KEY_DELETE | KEY_UPDATE):
            need |= PERM_WRITE
        for pattern, flags in self.patterns:
            if flags & need != need:
                continue
            if glob_match(pattern, key):
                return True
        return False

    def key_ok(self, key: bytes, spec_flags: int) -> bool:
        return self.allkeys or self._key_ok(key, spec_flags)

    def channel_ok(self, channel: bytes, is_pattern: bool) -> bool:
        if self.allchannels:
            return True
        for pattern in self.channels:
            if is_pattern:
                if pattern == channel:
                    return True
            elif glob_match(pattern, channel):
                return True
        return False

    def _check_dbs(self, cmd: Command, argv: list[bytes], db_index: int) -> int | None:
        """The position of a database this selector may not use (-1: the command name)."""
        dbs = self.dbs
        name = cmd.fullname
        special = _DB_ARGS.get(name)
        if special is not None:
            positions = special(argv)
            indexes = [parse_int(argv[pos]) for pos in positions]
            if None not in indexes:  # a malformed index: the command itself refuses it
                for pos, index in zip(positions, indexes):
                    if 0 <= index <= _MAX_DB and index not in dbs:  # type: ignore[operator]
                        return pos
            if name != "move" and name != "copy":
                return None
        if name in _ALL_DBS:
            return -1
        if db_index in dbs:
            return None
        if has_keys(cmd) or _touches_keyspace(name):
            return -1
        return None


# Commands that act on every database: only a selector with alldbs may run them.
_ALL_DBS = frozenset(("flushall", "cluster|cancelslotmigrations", "cluster|migrateslots", "cluster|flushslot"))


def _touches_keyspace(name: str) -> bool:
    categories = universe().categories.get(name, ())
    return "keyspace" in categories or "read" in categories or "write" in categories


def _copy_db_args(argv: list[bytes]) -> list[int]:
    found = []
    pos = 3
    while pos < len(argv):
        if argv[pos].lower() == b"db" and pos + 1 < len(argv):
            found.append(pos + 1)
            pos += 2
        else:
            pos += 1
    return found


_DB_ARGS: dict[str, Any] = {
    "select": lambda argv: [1],
    "swapdb": lambda argv: [1, 2],
    "move": lambda argv: [2],
    "copy": _copy_db_args,
}

# Commands naming channels: 0 publish (one channel), 1 subscribe (all arguments), 2 pattern.
_CHANNEL_COMMANDS = {"publish": 0, "spublish": 0, "subscribe": 1, "ssubscribe": 1, "psubscribe": 2}


def _pattern_text(entry: list[Any]) -> bytes:
    pattern, flags = entry
    if flags == PERM_ALL:
        return b"~" + pattern
    if flags == PERM_READ:
        return b"%R~" + pattern
    return b"%W~" + pattern


def _dbs_rule(dbs: set[int]) -> bytes:
    return b"db=" + b",".join(b"%d" % d for d in sorted(dbs))


def _parse_dbs(text: bytes) -> set[int]:
    dbs: set[int] = set()
    for part in text.split(b","):
        body = part[1:] if part[:1] in (b"+", b"-") else part
        if not body or not body.isdigit():
            raise AclRuleError(ERR_SYNTAX)
        value = int(part)
        if value < 0 or value > _MAX_DB:
            raise AclRuleError(ERR_DB_RANGE)
        dbs.add(value)
    return dbs


# -- users -------------------------------------------------------------------------------------


class User:
    __slots__ = ("enabled", "name", "nopass", "passwords", "selectors")

    def __init__(self, name: bytes, allchannels: bool = False) -> None:
        self.name = name
        self.enabled = False
        self.nopass = False
        self.passwords: list[bytes] = []
        self.selectors: list[Selector] = [Selector(True, allchannels)]

    def copy(self, name: bytes | None = None) -> User:
        other = User(self.name if name is None else name)
        other.enabled = self.enabled
        other.nopass = self.nopass
        other.passwords = list(self.passwords)
        other.selectors = [s.copy() for s in self.selectors]
        return other

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    @property
    def unrestricted(self) -> bool:
        return self.selectors[0].unrestricted

    def apply(self, op: bytes, pubsub_default_all: bool) -> None:
        """One rule (ACLSetUser); raises AclRuleError."""
        if not op:
            return
        if _c_eq(op, b"on"):
            self.enabled = True
        elif _c_eq(op, b"off"):
            self.enabled = False
        elif _c_eq(op, b"skip-sanitize-payload") or _c_eq(op, b"sanitize-payload"):
            pass  # RESTORE payloads are always checked here
        elif _c_eq(op, b"nopass"):
            self.nopass = True
            self.passwords = []
        elif _c_eq(op, b"resetpass"):
            self.nopass = False
            self.passwords = []
        elif op[:1] in (b">", b"#"):
            if op[:1] == b">":
                digest = hash_password(op[1:])
            else:
                digest = op[1:]
                if not _valid_hash(digest):
                    raise AclRuleError(ERR_BAD_HASH)
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.nopass = False
        elif op[:1] in (b"<", b"!"):
            if op[:1] == b"<":
                digest = hash_password(op[1:])
            else:
                digest = op[1:]
                if not _valid_hash(digest):
                    raise AclRuleError(ERR_BAD_HASH)
            if digest not in self.passwords:
                raise AclRuleError(ERR_NO_SUCH_PASS)
            self.passwords.remove(digest)
        elif op[:1] == b"(" and op[-1:] == b")":
            selector = Selector(False, pubsub_default_all)
            for part in _split_args(op[1:-1]):
                selector.apply(part)
            self.selectors.append(selector)
        elif _c_eq(op, b"clearselectors"):
            del self.selectors[1:]
        elif _c_eq(op, b"reset"):
            self.nopass = False
            self.passwords = []
            root = self.selectors[0]
            root.apply(b"resetkeys")
            root.apply(b"resetchannels")
            if pubsub_default_all:
                root.apply(b"allchannels")
            root.apply(b"alldbs")
            self.enabled = False
            del self.selectors[1:]
            root.apply(b"-@all")
        else:
            self.selectors[0].apply(op)

    def describe(self) -> bytes:
        parts = [b"on" if self.enabled else b"off"]
        if self.nopass:
            parts.append(b"nopass")
        parts.extend(b"#" + p for p in self.passwords)
        parts.append(self.selectors[0].describe())
        text = b" ".join(parts)
        for selector in self.selectors[1:]:
            text += b" (" + selector.describe() + b")"
        return text

    def flag_names(self) -> list[bytes]:
        flags = [b"on" if self.enabled else b"off"]
        if self.nopass:
            flags.append(b"nopass")
        return flags

    def check_password(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        import hmac

        digest = hash_password(password)
        return any(hmac.compare_digest(digest, p) for p in self.passwords)

    def check(self, cmd: Command, argv: list[bytes], db_index: int) -> tuple[int, int]:
        """(0, 0) when some selector allows the command; otherwise the denial Valkey reports:
        a command denial only if no selector allows the command, else the highest reason (the
        latest argument among equal ones)."""
        cache: list[Any] = [None]
        reason = 0
        where = 0
        for selector in self.selectors:
            result, pos = selector.check(cmd, argv, db_index, cache)
            if not result:
                return 0, 0
            if _RANK[result] > _RANK[reason] or (result == reason and pos > where):
                reason, where = result, pos
        return reason, where

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        return any(s.channel_ok(channel, is_pattern) for s in self.selectors)


def _split_args(text: bytes) -> list[bytes]:
    """sdssplitargs for the inside of a selector: whitespace separated, quotes understood."""
    import shlex

    try:
        return [part.encode("latin-1") for part in shlex.split(text.decode("latin-1"))]
    except ValueError:
        raise AclRuleError(ERR_SYNTAX) from None


def merge_selector_args(args: list[bytes]) -> tuple[list[bytes] | None, int]:
    """Join a selector written across several arguments ("(~x*", "+get)"); (None, index) when a
    parenthesis is never closed."""
    merged: list[bytes] = []
    start = -1
    current = b""
    for index, op in enumerate(args):
        if start < 0 and op[:1] == b"(" and op[-1:] != b")":
            current = op
            start = index
            continue
        if start >= 0:
            current += b" " + op
            if op[-1:] == b")":
                start = -1
                merged.append(current)
            continue
        merged.append(op)
    if start >= 0:
        return None, start
    return merged, 0


# -- the server's ACL state --------------------------------------------------------------------


_EXEC_DENIED = (
    b"NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
    b"This command is no longer allowed for the following reason: "
)
_EXEC_REASONS = {
    DENIED_CMD: b"no permission to execute the command or subcommand",
    DENIED_KEY: b"no permission to touch the specified keys",
    DENIED_CHANNEL: b"no permission to access one of the channels used as arguments",
}


class LogEntry:
    __slots__ = ("cinfo", "context", "count", "created", "entry_id", "object", "reason", "updated", "username")

    def __init__(self, reason: int, context: bytes, obj: bytes, username: bytes, now: int, entry_id: int) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.updated = now
        self.created = now
        self.entry_id = entry_id
        self.cinfo = b""


class Acl:
    """The users of one server, the ACL log and the dispatcher check."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.users: dict[bytes, User] = {}
        default = User(b"default")
        for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            default.apply(op, False)
        self.users[b"default"] = default
        self.log: list[LogEntry] = []
        self.log_count = 0
        self.installed = False
        password = server.config.requirepass
        if password:
            self.set_default_password(password.encode() if isinstance(password, str) else password)
        # CONFIG SET requirepass sets the default user's password (config.py calls this).
        server.on_requirepass_change = self._requirepass_changed  # type: ignore[attr-defined]
        stats = server.stats
        for name in ("acl_denied_auth", "acl_denied_cmd", "acl_denied_key", "acl_denied_channel",
                     "acl_denied_db"):
            if not hasattr(stats, name):
                setattr(stats, name, 0)

    # -- users ---------------------------------------------------------------------------------

    @property
    def pubsub_default_all(self) -> bool:
        value = getattr(self.server.config, "acl_pubsub_default", "resetchannels")
        return value in ("allchannels", b"allchannels")

    def new_user(self, name: bytes) -> User:
        return User(name, self.pubsub_default_all)

    def default_open(self) -> bool:
        """New connections start authenticated (the default user is on and needs no password)."""
        default = self.users[b"default"]
        return default.nopass and default.enabled

    def user_exists(self, name: bytes) -> bool:
        return name in self.users

    def authenticate(self, username: bytes, password: bytes) -> bool:
        user = self.users.get(username)
        return user is not None and user.check_password(password)

    def _requirepass_changed(self, value: Any) -> None:
        self.set_default_password(value.encode() if isinstance(value, str) else (value or b""))

    def set_default_password(self, password: bytes) -> None:
        default = self.users[b"default"]
        default.apply(b"resetpass", False)
        default.apply(b">" + password if password else b"nopass", False)
        self.refresh()

    def set_user(self, name: bytes, ops: list[bytes]) -> bytes | None:
        """ACL SETUSER: all rules apply or none; the error text otherwise."""
        merged, bad = merge_selector_args(ops)
        if merged is None:
            return b"Unmatched parenthesis in acl selector starting at '%s'." % ops[bad]
        existing = self.users.get(name)
        staged = existing.copy() if existing is not None else self.new_user(name)
        all_channels = self.pubsub_default_all
        for op in merged:
            try:
                staged.apply(op, all_channels)
            except AclRuleError as error:
                return b"Error in ACL SETUSER modifier '%s': %s" % (op, error.text)
        if existing is not None:
            self._drop_pubsub_clients(existing, staged)
        self.users[name] = staged
        self.refresh()
        return None

    def delete_user(self, name: bytes, current: Client | None) -> bool:
        if self.users.pop(name, None) is None:
            return False
        for client in list(self.server.clients.values()):
            if client.user == name:
                # The connection goes away; until then it is nobody.
                client.user = b"default"
                client.set_authenticated(False)
                if client is current:
                    client.close_after_reply = True
                else:
                    client.server.disconnect(client)
        self.refresh()
        return True

    def _drop_pubsub_clients(self, old: User, new: User) -> None:
        """Subscribers of ``old`` lose their connection when ``new`` no longer grants one of their
        channels (Valkey's ACLKillPubsubClientsIfNeeded)."""
        if any(s.allchannels for s in new.selectors):
            return
        granted = [c for s in new.selectors for c in s.channels]
        if not any(s.allchannels for s in old.selectors) and all(
            c in granted for s in old.selectors for c in s.channels
        ):
            return
        upcoming = Selector(False)
        upcoming.channels = granted
        for client in list(self.server.clients.values()):
            if client.user != old.name or not _subscribed(client):
                continue
            if self._violates(client, upcoming):
                client.server.disconnect(client)

    @staticmethod
    def _violates(client: Client, upcoming: Selector) -> bool:
        for pattern in client.pubsub_patterns or ():
            if not upcoming.channel_ok(pattern, True):
                return True
        for channels in (client.pubsub_channels, client.pubsub_shard_channels):
            for channel in channels or ():
                if not upcoming.channel_ok(channel, False):
                    return True
        return False

    # -- the dispatcher check ------------------------------------------------------------------

    def refresh(self) -> None:
        """Install the pre-check while some user has a restriction; remove it otherwise."""
        wanted = any(not user.unrestricted or len(user.selectors) > 1 for user in self.users.values())
        checks = self.server.dispatcher.pre_checks
        if wanted and not self.installed:
            # First: Valkey checks ACLs before the other state checks (and before queueing).
            checks.insert(0, self.pre_check)
            self.installed = True
        elif not wanted and self.installed:
            try:
                checks.remove(self.pre_check)
            except ValueError:
                pass
            self.installed = False
        if self.default_open():
            # Valkey asks for AUTH only while the default user needs a password.
            for client in self.server.clients.values():
                if not client.authenticated and client.user == b"default":
                    client.set_authenticated(True)

    def pre_check(self, client: Client, cmd: Command, argv: list[bytes]) -> ErrorReply | None:
        user = self.users.get(client.user)
        if user is None or (len(user.selectors) == 1 and user.selectors[0].unrestricted):
            return None
        if client.multi is not None and cmd.no_multi:
            return None  # refused by the MULTI check, which Valkey runs first
        reason, pos = user.check(cmd, argv, client.db.index)
        if not reason:
            return None
        self.record(client, reason, b"multi" if client.multi is not None else b"toplevel", cmd, argv, pos)
        return ErrorReply(b"NOPERM " + denial_text(reason, user.name, cmd, argv, pos, False))

    def exec_check(self, client: Client, cmd: Command, argv: list[bytes]) -> ErrorReply | None:
        """EXEC checks each queued command again: the rules may have changed since it was queued."""
        user = self.users.get(client.user)
        if user is None:
            return None
        reason, pos = user.check(cmd, argv, client.db.index)
        if not reason:
            return None
        self.record(client, reason, b"multi", cmd, argv, pos)
        return ErrorReply(_EXEC_DENIED + _EXEC_REASONS.get(reason, b"no permission"))

    def check_script_command(self, client: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
        """The error text for a command a script may not run for its caller (None: allowed)."""
        user = self.users.get(client.user)
        if user is None:
            return None
        reason, pos = user.check(cmd, argv, client.db.index)
        if not reason:
            return None
        self.record(client, reason, b"lua", cmd, argv, pos)
        return b"ACL failure in script: " + denial_text(reason, user.name, cmd, argv, pos, False)

    def allowed(self, username: bytes, cmd: Command, argv: list[bytes], db_index: int) -> bool:
        user = self.users.get(username)
        return user is None or not user.check(cmd, argv, db_index)[0]

    # -- the log ---------------------------------------------------------------------------------

    def count(self, reason: int) -> None:
        stats = self.server.stats
        name = {DENIED_AUTH: "acl_denied_auth", DENIED_CMD: "acl_denied_cmd", DENIED_KEY: "acl_denied_key",
                DENIED_CHANNEL: "acl_denied_channel", DENIED_DB: "acl_denied_db"}[reason]
        setattr(stats, name, getattr(stats, name, 0) + 1)

    def record(
        self, client: Client, reason: int, context: bytes, cmd: Command | None, argv: list[bytes], pos: int,
        username: bytes | None = None,
    ) -> None:
        self.count(reason)
        max_len = self.server.config.acllog_max_len
        if max_len == 0:
            del self.log[:]
            return
        if reason == DENIED_CMD and cmd is not None:
            obj = cmd.fullname.encode()
        elif reason == DENIED_AUTH or pos < 0:
            obj = argv[0]
        else:
            obj = argv[pos]
        now = self.server.clock.ms()
        user = client.user if username is None else username
        from pyvalkey.commands.client import info_line

        cinfo = info_line(client)
        for index, entry in enumerate(self.log[:10]):
            if (
                entry.reason == reason and entry.context == context and abs(now - entry.updated) <= 60000
                and entry.object == obj and entry.username == user
            ):
                del self.log[index]
                self.log.insert(0, entry)
                entry.count += 1
                entry.updated = now
                entry.cinfo = cinfo
                return
        entry = LogEntry(reason, context, obj, user, now, self.log_count)
        entry.cinfo = cinfo
        self.log_count += 1
        self.log.insert(0, entry)
        del self.log[max_len:]

    # -- ACL file ------------------------------------------------------------------------------

    def file_text(self) -> bytes:
        return b"".join(b"user " + name + b" " + self.users[name].describe() + b"\n" for name in sorted(self.users))

    def load_file(self, path: str) -> bytes | None:
        """ACL LOAD: replace every user with the file's, or nothing when any line is wrong."""
        shown = self.server.config.aclfile
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            return b"Error loading ACLs, opening file '%s': %s" % (path.encode(), os.strerror(error.errno or 0).encode())
        errors = b""
        users: dict[bytes, User] = {}
        all_channels = self.pubsub_default_all
        for number, line in enumerate(data.split(b"\n"), 1):
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            argv = line.split(b" ")  # as Valkey: two spaces make an empty argument
            if argv[0] != b"user" or len(argv) < 2:
                errors += b"%s:%d should start with user keyword followed by the username. " % (
                    shown.encode(), number)
                continue
            name = argv[1]
            if _has_spaces(name):
                errors += b"'%s:%d: username '%s' contains invalid characters. " % (shown.encode(), number, name)
                continue
            if name in users:
                errors += b"WARNING: Duplicate user '%s' found on line %d. " % (name, number)
                continue
            user = users[name] = User(name, all_channels)
            merged, _ = merge_selector_args(argv[2:])
            if merged is None:
                errors += b"%s:%d: Unmatched parenthesis in selector definition." % (shown.encode(), number)
                merged = []
            syntax_error = False
            for op in merged:
                op = op.strip(b"\t\r\n")
                try:
                    user.apply(op, all_channels)
                except AclRuleError as error:
                    if error.text == ERR_UNKNOWN:
                        errors += b"%s:%d: Error in applying operation '%s': %s. " % (
                            shown.encode(), number, op, error.text)
                    elif not syntax_error:
                        errors += b"%s:%d: %s. " % (shown.encode(), number, error.text)
                        syntax_error = True
        if errors:
            return errors + b"WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        if b"default" not in users:
            default = User(b"default")
            for op in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
                default.apply(op, False)
            users[b"default"] = default
        old = self.users
        self.users = users
        for client in list(self.server.clients.values()):
            new = users.get(client.user)
            if new is None:
                client.server.disconnect(client)
                continue
            previous = old.get(client.user)
            if previous is not None and _subscribed(client):
                self.users = old
                self._drop_pubsub_clients(previous, new)
                self.users = users
        self.refresh()
        return None

    def save_file(self, path: str) -> bool:
        temp = f"{path}.tmp-{os.getpid()}-{self.server.clock.ms()}"
        try:
            with open(temp, "wb") as handle:
                handle.write(self.file_text())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError:
            try:
                os.unlink(temp)
            except OSError:
                pass
            return False
        return True


def denial_text(reason: int, username: bytes, cmd: Command, argv: list[bytes], pos: int, verbose: bool) -> bytes:
    """Valkey's getAclErrorMessage (``verbose`` for ACL DRYRUN)."""
    if reason == DENIED_CMD:
        return b"User %s has no permissions to run the '%s' command" % (username, cmd.fullname.encode())
    if reason == DENIED_KEY:
        if verbose:
            return b"User %s has no permissions to access the '%s' key" % (username, argv[pos])
        return b"No permissions to access a key"
    if reason == DENIED_CHANNEL:
        if verbose:
            return b"User %s has no permissions to access the '%s' channel" % (username, argv[pos])
        return b"No permissions to access a channel"
    if verbose:
        return b"User %s has no permissions to access database %s" % (username, argv[max(pos, 0)])
    return b"No permissions to access database"


def _subscribed(client: Client) -> bool:
    return bool(client.pubsub_channels or client.pubsub_patterns or client.pubsub_shard_channels)


def acl_of(server: Server) -> Acl:
    """The server's ACL state, created on first use (until then only requirepass matters)."""
    acl = getattr(server, "acl", None)
    if acl is None:
        acl = Acl(server)
        server.acl = acl  # type: ignore[attr-defined]
    return acl


def aclfile_path(server: Server) -> str:
    path = server.config.aclfile
    path = path if isinstance(path, str) else path.decode()
    return path if os.path.isabs(path) else server.data_path(path)


def load_at_startup(server: Server) -> None:
    """Load ``aclfile`` before serving; like Valkey, refuse to start when it cannot be used."""
    errors = acl_of(server).load_file(aclfile_path(server))
    if errors is not None:
        import logging

        logging.getLogger("pyvalkey").warning(
            "Aborting Valkey startup because of ACL errors: %s", errors.decode("latin-1"))
        raise SystemExit(1)


def full_key_access(client: Client, argv: list[bytes]) -> bool:
    """Whether the client's user may run this command with read access to every key (SORT's BY
    and GET patterns read keys nobody named; Valkey's ACLUserCheckCmdWithUnrestrictedKeyAccess)."""
    acl = getattr(client.server, "acl", None)
    if acl is None or not acl.installed:
        return True
    user = acl.users.get(client.user)
    if user is None:
        return True
    from pyvalkey.commands.registry import COMMANDS

    cmd = COMMANDS.get(argv[0].lower())
    if cmd is None:
        return True
    cache: list[Any] = [None]
    for selector in user.selectors:
        if selector.check(cmd, argv, client.db.index, cache)[0]:
            continue
        if selector.allkeys or any(p == b"*" and flags & PERM_READ for p, flags in selector.patterns):
            return True
    return False
