"""The ACL command: users (SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI), categories (CAT),
passwords (GENPASS), permission tests (DRYRUN), the ACL log and the ACL file (LOAD, SAVE).

The user model and the permission checks live in pyvalkey/acl.py; this module parses arguments
and shapes replies as Valkey does.
"""

from __future__ import annotations

import os
from typing import Any

from pyvalkey.acl import CATEGORIES, REASON_NAMES, Acl, acl_of, aclfile_path, category_commands, denial_text
from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import Command, command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK, Map, RespSet

_NO_ACLFILE = (
    b"ERR This instance is not configured to use an ACL file. You may want to specify users via the "
    b"ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a configuration file "
    b"set) in order to store users in the configuration."
)
_SAVE_FAILED = b"ERR There was an error trying to save the ACLs. Please check the server logs for more information"
_SUBCOMMAND_SYNTAX = b"ERR unknown subcommand or wrong number of arguments for '%s'. Try ACL HELP."
_BAD_USERNAME = b"ERR Usernames can't contain spaces or null characters"
_GENPASS_RANGE = (
    b"ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
)

_HELP: list[HelpEntry] = [
    ("CAT [<category>]", "Without a category, the categories; with one, the commands in it."),
    ("DELUSER <username> [<username> ...]", "Remove users (their connections are closed)."),
    ("DRYRUN <username> <command> [<arg> ...]", "Tell whether the user could run this command, without running it."),
    ("GETUSER <username>", "A user's flags, passwords and permissions."),
    ("GENPASS [<bits>]", ["A random password in hex, 256 bits unless <bits> says otherwise."]),
    ("LIST", "Every user, as a rule line of the ACL file."),
    ("LOAD", "Replace the users with those of the ACL file."),
    ("LOG [<count> | RESET]", "The latest denied commands and failed logins, or clear them."),
    ("SAVE", "Write the users to the ACL file."),
    ("SETUSER <username> <attribute> [<attribute> ...]", "Create a user or change its rules."),
    ("USERS", "The user names."),
    ("WHOAMI", "The user this connection is authenticated as."),
]


def _acl(client: Client) -> Acl:
    return acl_of(client.server)


def _has_spaces(value: bytes) -> bool:
    return any(byte in b" \t\n\v\f\r\x00" for byte in value)


@command("acl|setuser")
def acl_setuser(client: Client, argv: list[bytes]) -> Any:
    name = argv[2]
    if _has_spaces(name):
        raise ErrorReply(_BAD_USERNAME)
    error = _acl(client).set_user(name, argv[3:])
    if error is not None:
        raise ErrorReply(b"ERR " + error.replace(b"\r", b" ").replace(b"\n", b" "))
    return OK


@command("acl|deluser")
def acl_deluser(client: Client, argv: list[bytes]) -> Any:
    names = argv[2:]
    if b"default" in names:
        raise ErrorReply(b"ERR The 'default' user cannot be removed")
    acl = _acl(client)
    return sum(1 for name in names if acl.delete_user(name, client))


def _selector_fields(selector: Any) -> list[tuple[bytes, Any]]:
    return [
        (b"commands", selector.command_rules()),
        (b"keys", selector.keys_text()),
        (b"channels", selector.channels_text()),
        (b"databases", selector.dbs_text()),
    ]


@command("acl|getuser")
def acl_getuser(client: Client, argv: list[bytes]) -> Any:
    user = _acl(client).users.get(argv[2])
    if user is None:
        return None
    fields: list[tuple[bytes, Any]] = [
        (b"flags", RespSet(user.flag_names())),
        (b"passwords", list(user.passwords)),
    ]
    fields.extend(_selector_fields(user.selectors[0]))
    fields.append((b"selectors", [Map(_selector_fields(s)) for s in user.selectors[1:]]))
    return Map(fields)


@command("acl|users")
def acl_users(client: Client, argv: list[bytes]) -> Any:
    return sorted(_acl(client).users)


@command("acl|list")
def acl_list(client: Client, argv: list[bytes]) -> Any:
    users = _acl(client).users
    return [b"user " + name + b" " + users[name].describe() for name in sorted(users)]


@command("acl|whoami")
def acl_whoami(client: Client, argv: list[bytes]) -> Any:
    return client.user


def _aclfile(client: Client) -> str:
    if not client.server.config.aclfile:
        raise ErrorReply(_NO_ACLFILE)
    return aclfile_path(client.server)


@command("acl|load")
def acl_load(client: Client, argv: list[bytes]) -> Any:
    path = _aclfile(client)
    errors = _acl(client).load_file(path)
    if errors is not None:
        raise ErrorReply(b"ERR " + errors)
    return OK


@command("acl|save")
def acl_save(client: Client, argv: list[bytes]) -> Any:
    path = _aclfile(client)
    if not _acl(client).save_file(path):
        raise ErrorReply(_SAVE_FAILED)
    return OK


@command("acl|cat")
def acl_cat(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        return [name.encode() for name in CATEGORIES]
    if len(argv) > 3:
        raise ErrorReply(_SUBCOMMAND_SYNTAX % argv[1])
    category = argv[2].lower().split(b"\x00", 1)[0].decode("latin-1")
    if category not in CATEGORIES:
        raise ErrorReply(b"ERR Unknown category '%s'" % argv[2][:128])
    return [name.encode() for name in category_commands(category)]


@command("acl|genpass")
def acl_genpass(client: Client, argv: list[bytes]) -> Any:
    bits = 256
    if len(argv) > 3:
        raise ErrorReply(_SUBCOMMAND_SYNTAX % argv[1])
    if len(argv) == 3:
        parsed = parse_int(argv[2])
        if parsed is None:
            raise ErrorReply(msg.NOT_INTEGER)
        bits = parsed
    if bits <= 0 or bits > 4096:
        raise ErrorReply(_GENPASS_RANGE)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log")
def acl_log(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise ErrorReply(_SUBCOMMAND_SYNTAX % argv[1])
    acl = _acl(client)
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            del acl.log[:]
            return OK
        parsed = parse_int(argv[2])
        if parsed is None:
            raise ErrorReply(msg.NOT_INTEGER)
        count = max(parsed, 0)
    now = client.server.keyspace.now_ms
    reply = []
    for entry in acl.log[:count]:
        reply.append({
            b"count": entry.count,
            b"reason": REASON_NAMES[entry.reason],
            b"context": entry.context,
            b"object": entry.object,
            b"username": entry.username,
            b"age-seconds": (now - entry.updated) / 1000,
            b"client-info": entry.cinfo,
            b"entry-id": entry.entry_id,
            b"timestamp-created": entry.created,
            b"timestamp-last-updated": entry.updated,
        })
    return reply


@command("acl|dryrun")
def acl_dryrun(client: Client, argv: list[bytes]) -> Any:
    acl = _acl(client)
    user = acl.users.get(argv[2])
    if user is None:
        raise ErrorReply(b"ERR User '%s' not found" % argv[2])
    args = argv[3:]
    cmd = client.server.dispatcher.lookup(args)
    if type(cmd) is not Command:
        if cmd.message.startswith(b"ERR wrong number"):  # type: ignore[union-attr]
            raise ErrorReply(cmd.message)  # type: ignore[union-attr]
        raise ErrorReply(b"ERR Command '%s' not found" % args[0])
    reason, pos = user.check(cmd, args, client.db.index)
    if reason:
        return denial_text(reason, user.name, cmd, args, pos, True)
    return OK


@command("acl|help")
def acl_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("ACL", _HELP)
