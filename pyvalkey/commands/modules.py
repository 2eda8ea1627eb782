"""MODULE: the list of loaded modules and the refusals to load native ones.

Valkey 9 runs Lua scripting as a built-in module, which MODULE LIST (and HELLO) report. pyvalkey
cannot load native Valkey modules (shared libraries written against the C module API): LOAD and
LOADEX, where ``enable-module-command`` allows them, fail as Valkey's do for a library that will
not load, with the reason in the log. Our extensions (JSON, Bloom, search) are built in instead.
"""

from __future__ import annotations

import logging
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.connection import LOADED_MODULES
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import command
from pyvalkey.commands.server import protected_command_allowed
from pyvalkey.errors import ErrorReply

log = logging.getLogger("pyvalkey")

_NOT_ALLOWED = (
    b'ERR MODULE command not allowed. If the enable-module-command option is set to "local", you '
    b"can run it from a local connection, otherwise you need to set this option in the "
    b"configuration file, and then restart the server."
)
_LOAD_FAILED = b"ERR Error loading the extension. Please check the server logs."

_HELP: list[HelpEntry] = [
    ("LIST", "The modules loaded (Lua scripting is one)."),
    ("LOAD <path> [<arg> ...]", "Load the module library at <path> with the given arguments."),
    (
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "Load the module library at <path> with module configurations and arguments.",
    ),
    ("UNLOAD <name>", "Unload the module called <name>."),
]


def _allowed(client: Client) -> bool:
    return protected_command_allowed(client, client.server.config.enable_module_command)


@command("module|help")
def module_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("MODULE", _HELP)


@command("module|list")
def module_list(client: Client, argv: list[bytes]) -> Any:
    return LOADED_MODULES


def _refuse_native(client: Client, path: bytes) -> Any:
    if not _allowed(client):
        raise ErrorReply(_NOT_ALLOWED)
    log.warning(
        "Module %s failed to load: pyvalkey cannot load native Valkey modules",
        path.decode(errors="replace"),
    )
    raise ErrorReply(_LOAD_FAILED)


@command("module|load")
def module_load(client: Client, argv: list[bytes]) -> Any:
    return _refuse_native(client, argv[2])


@command("module|loadex")
def module_loadex(client: Client, argv: list[bytes]) -> Any:
    return _refuse_native(client, argv[2])


@command("module|unload")
def module_unload(client: Client, argv: list[bytes]) -> Any:
    if not _allowed(client):
        raise ErrorReply(_NOT_ALLOWED)
    if any(module[b"name"] == argv[2] for module in LOADED_MODULES):
        # Valkey can unload its Lua engine; here scripting is part of the server.
        raise ErrorReply(b"ERR Error unloading module: operation not possible.")
    raise ErrorReply(b"ERR Error unloading module: no such module with that name")
