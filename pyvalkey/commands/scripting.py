"""Functions and scripts (Valkey's function_*.c / eval.c group).

The Lua engine is not built yet, so no library can be loaded: the library table is always
empty and only the commands whose behaviour is fully defined on an empty table are served
(FUNCTION FLUSH, FUNCTION LIST). FUNCTION LOAD and friends arrive with the scripting engine.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, subcommand_syntax_error
from pyvalkey.protocol.replies import OK


class FunctionLibraries:
    """The loaded function libraries of a server: name -> library."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Any] = {}

    def flush(self) -> None:
        self.libraries.clear()


def _libraries(client: Client) -> FunctionLibraries:
    server = client.server
    libraries = getattr(server, "functions", None)
    if libraries is None:
        libraries = server.functions = FunctionLibraries()
    return libraries  # type: ignore[no-any-return]


@command("function|flush")
def function_flush(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC"):
        raise ErrorReply(b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    _libraries(client).flush()
    client.server.keyspace.dirty += 1
    return OK


@command("function|list")
def function_list(client: Client, argv: list[bytes]) -> Any:
    pattern = None
    with_code = False
    i = 2
    while i < len(argv):
        option = argv[i].upper()
        if option == b"WITHCODE" and not with_code:
            with_code = True
            i += 1
        elif option == b"LIBRARYNAME" and pattern is None:
            if i + 1 >= len(argv):
                raise ErrorReply(b"ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 2
        else:
            raise ErrorReply(b"ERR Unknown argument " + argv[i])
    return [library.describe(with_code) for library in _libraries(client).libraries.values()]


_FUNCTION_HELP: list[HelpEntry] = [
    ("FLUSH [ASYNC|SYNC]", "Remove every loaded function library."),
    (
        "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
        ["Describe the loaded libraries and their functions, optionally only the libraries",
         "whose name matches <pattern>, and with their source code."],
    ),
]


@command("function|help")
def function_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("FUNCTION", _FUNCTION_HELP)
