"""COMMAND and its subcommands: the server describing its own command table.

Everything here reads the registry (commands we serve, with Valkey's metadata) and keyspec.py
(key extraction); nothing is typed by hand except the help text. Differences from Valkey that
are deliberate: ``COMMAND DOCS`` has no ``summary``/``history`` (that prose is Valkey's, not
ours), containers list only the subcommands we serve, and replies listing the whole table come
in registration order where Valkey uses its hash table's order (which clients cannot rely on).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.commands import keyspec
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import COMMANDS, Command, command
from pyvalkey.errors import msg
from pyvalkey.protocol.replies import ErrorReply, Map
from pyvalkey.storage.glob import compile_glob

if TYPE_CHECKING:
    from pyvalkey.client import Client

# Valkey's ACL categories; COMMAND LIST FILTERBY ACLCAT with any other name matches nothing.
ACL_CATEGORIES = frozenset(
    [
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ]
)

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_HELP_ENTRIES: list[HelpEntry] = [
    ("(no subcommand)", "The full description of every command served here."),
    ("COUNT", "How many commands this server serves."),
    ("LIST [FILTERBY (MODULE <name>|ACLCAT <category>|PATTERN <pattern>)]", [
        "The names of the served commands, optionally only those matching a filter.",
    ]),
    ("INFO [<command-name> ...]", [
        "The description of each named command (of all commands when none is named).",
    ]),
    ("DOCS [<command-name> ...]", [
        "The documented arguments and properties of each named command,",
        "or of all commands when none is named.",
    ]),
    ("GETKEYS <full-command>", "Which arguments of <full-command> are keys."),
    ("GETKEYSANDFLAGS <full-command>", "Like GETKEYS, with how each key is accessed."),
]


# ---------------------------------------------------------------------------------------------
# Lookups. Both take the table to search so tests can run them over the full Valkey table
# (keyspec.metadata_table()) and not only over the commands we serve.


def lookup_by_name(table: dict[bytes, Command], name: bytes) -> Command | None:
    """A command by its full name, ``get`` or ``config|get`` (any case), as COMMAND INFO/DOCS
    accept it; None for anything else, including ``a|b|c`` and a container's unknown child."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    cmd = table.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    return cmd.subcommands.get(parts[1])


def lookup_by_argv(table: dict[bytes, Command], argv: list[bytes]) -> Command | None:
    """The command ``argv`` would run: a subcommand when the first word is a container."""
    cmd = table.get(argv[0].lower())
    if cmd is None or len(argv) == 1 or not cmd.subcommands:
        return cmd
    return cmd.subcommands.get(argv[1].lower())


def getkeys_reply(cmd: Command | None, argv: list[bytes], with_flags: bool) -> list[Any]:
    """The reply of COMMAND GETKEYS / GETKEYSANDFLAGS for ``argv`` run as ``cmd``."""
    if cmd is None:
        raise ErrorReply(msg.GETKEYS_INVALID_COMMAND)
    if not keyspec.has_keys(cmd):
        raise ErrorReply(msg.GETKEYS_NO_KEYS)
    arity = cmd.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        raise ErrorReply(msg.GETKEYS_ARG_COUNT)
    found = keyspec.keys_and_flags(cmd, argv)
    if not found:
        if "no_mandatory_keys" in cmd.flags:
            return []
        raise ErrorReply(msg.GETKEYS_INVALID_ARGS)
    if with_flags:
        return [[argv[pos], keyspec.flag_names(flags)] for pos, flags in found]
    return [argv[pos] for pos, _ in found]


# ---------------------------------------------------------------------------------------------
# Handlers.


def _served() -> list[Command]:
    return list(COMMANDS.values())


@command("command")
def command_(client: Client, argv: list[bytes]) -> Any:
    return [cmd.info_reply() for cmd in _served()]


@command("command|count")
def command_count(client: Client, argv: list[bytes]) -> Any:
    return len(COMMANDS)


@command("command|info")
def command_info(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return [cmd.info_reply() for cmd in _served()]
    result = []
    for name in argv[2:]:
        cmd = lookup_by_name(COMMANDS, name)
        result.append(None if cmd is None else cmd.info_reply())
    return result


@command("command|docs")
def command_docs(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return Map((cmd.fullname.encode(), cmd.docs_reply()) for cmd in _served())
    docs = Map()
    for name in argv[2:]:
        cmd = lookup_by_name(COMMANDS, name)
        if cmd is not None:
            docs.append((cmd.fullname.encode(), cmd.docs_reply()))
    return docs


def _filter(kind: bytes, arg: bytes) -> Callable[[Command], bool]:
    if kind == b"module":
        return lambda cmd: False  # no module commands are loaded
    if kind == b"aclcat":
        category = arg.decode("latin-1").lower()
        if category not in ACL_CATEGORIES:
            return lambda cmd: False
        return lambda cmd: category in cmd.acl_categories
    match = compile_glob(arg, nocase=True)
    return lambda cmd: bool(match(cmd.fullname.encode()))


@command("command|list")
def command_list(client: Client, argv: list[bytes]) -> Any:
    keep: Callable[[Command], bool] | None = None
    i = 2
    while i < len(argv):
        if argv[i].lower() == b"filterby" and len(argv) - 1 - i == 2:
            kind = argv[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise ErrorReply(msg.SYNTAX)
            keep = _filter(kind, argv[i + 2])
            i += 3
        else:
            raise ErrorReply(msg.SYNTAX)
    names = []
    for cmd in _served():
        if keep is None or keep(cmd):
            names.append(cmd.fullname.encode())
        for sub in cmd.subcommands.values():
            if keep is None or keep(sub):
                names.append(sub.fullname.encode())
    return names


@command("command|getkeys")
def command_getkeys(client: Client, argv: list[bytes]) -> Any:
    target = argv[2:]
    return getkeys_reply(lookup_by_argv(COMMANDS, target), target, False)


@command("command|getkeysandflags")
def command_getkeysandflags(client: Client, argv: list[bytes]) -> Any:
    target = argv[2:]
    return getkeys_reply(lookup_by_argv(COMMANDS, target), target, True)


@command("command|help")
def command_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("COMMAND", _HELP_ENTRIES)
