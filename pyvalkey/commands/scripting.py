"""Scripts and functions: EVAL/EVALSHA(_RO), SCRIPT, FUNCTION, FCALL(_RO) (Valkey's eval.c,
functions.c).

The Lua engine, sandbox and libraries are in ``pyvalkey.scripting``; the script cache and the
function libraries in ``pyvalkey.scripting.state``. A script's commands go through the normal
dispatcher (see ``Engine._call``), so keyspace notifications, WATCH and blocked-client wake-ups
follow from them. A script inside MULTI is queued like any command and runs at EXEC; MULTI inside
a script is refused (MULTI is flagged noscript).
"""

from __future__ import annotations

import struct
from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command, debug_subcommand
from pyvalkey.errors import ErrorReply, msg, subcommand_syntax_error
from pyvalkey.monitor import show_command
from pyvalkey.protocol.replies import OK, Map


def scripting(server: Any) -> Any:
    """The server's scripts and functions. The Lua runtime (lupa) and the engine load on first
    use, so a server that never runs a script does not pay for them at start-up."""
    from pyvalkey.scripting.state import scripting as state_of

    return state_of(server)


def _script_denyoom(name: str) -> Any:
    def denyoom(client: Client, argv: list[bytes]) -> bool:
        from pyvalkey.scripting.state import script_denyoom

        return script_denyoom(name, client, argv)

    return denyoom


def _register_denyoom() -> None:
    # EVAL/FCALL are denyoom when their script declares flags without allow-oom or no-writes
    # (maxmemory.py asks these hooks).
    from pyvalkey.maxmemory import DYNAMIC_DENYOOM

    for name in ("eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro"):
        DYNAMIC_DENYOOM[name] = _script_denyoom(name)


_register_denyoom()

_NOSCRIPT = b"NOSCRIPT No matching script."
_NOTBUSY = b"NOTBUSY No scripts in execution right now."
_UNKILLABLE = (
    b"UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
    b"wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
)
_OP_FUNCTION = 0xF5


def _keys_and_args(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = parse_int(argv[2])
    if numkeys is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if numkeys < 0:
        raise ErrorReply(b"ERR Number of keys can't be negative")
    if numkeys > len(argv) - 3:
        raise ErrorReply(b"ERR Number of keys can't be greater than number of args")
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def _eval(client: Client, argv: list[bytes], ro: bool) -> Any:
    show_command(client, argv)  # MONITOR shows the call before the script's commands
    keys, args = _keys_and_args(argv)
    state = scripting(client.server)
    _, script = state.load_script(argv[1])
    return state.run_script(client, script, keys, args, ro, argv)


def _evalsha(client: Client, argv: list[bytes], ro: bool) -> Any:
    show_command(client, argv)  # MONITOR shows the call before the script's commands
    keys, args = _keys_and_args(argv)
    state = scripting(client.server)
    script = state.scripts.get(argv[1].lower()) if len(argv[1]) == 40 else None
    if script is None:
        raise ErrorReply(_NOSCRIPT)
    return state.run_script(client, script, keys, args, ro, argv)


@command("eval")
def eval_command(client: Client, argv: list[bytes]) -> Any:
    return _eval(client, argv, False)


@command("eval_ro")
def eval_ro_command(client: Client, argv: list[bytes]) -> Any:
    return _eval(client, argv, True)


@command("evalsha")
def evalsha_command(client: Client, argv: list[bytes]) -> Any:
    return _evalsha(client, argv, False)


@command("evalsha_ro")
def evalsha_ro_command(client: Client, argv: list[bytes]) -> Any:
    return _evalsha(client, argv, True)


# -- SCRIPT --------------------------------------------------------------------------------------


@command("script|load")
def script_load(client: Client, argv: list[bytes]) -> Any:
    sha, _ = scripting(client.server).load_script(argv[2])
    return sha


@command("script|exists")
def script_exists(client: Client, argv: list[bytes]) -> Any:
    scripts = scripting(client.server).scripts
    return [1 if sha.lower() in scripts else 0 for sha in argv[2:]]


@command("script|show")
def script_show(client: Client, argv: list[bytes]) -> Any:
    script = scripting(client.server).scripts.get(argv[2].lower())
    if script is None:
        raise ErrorReply(_NOSCRIPT)
    return script.body


@command("script|flush")
def script_flush(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC")):
        raise ErrorReply(b"ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    scripting(client.server).flush_scripts()
    return OK


def _kill(client: Client, eval_kill: bool) -> Any:
    ctx = scripting(client.server).running()
    if ctx is None:
        raise ErrorReply(_NOTBUSY)
    if ctx.wrote:
        raise ErrorReply(_UNKILLABLE)
    from pyvalkey.scripting.busy import BUSY_EVAL, BUSY_FUNCTION

    if eval_kill and not ctx.eval_mode:
        raise ErrorReply(BUSY_FUNCTION)
    if not eval_kill and ctx.eval_mode:
        raise ErrorReply(BUSY_EVAL)
    ctx.killed = True
    return OK


@command("script|kill")
def script_kill(client: Client, argv: list[bytes]) -> Any:
    return _kill(client, True)


_SCRIPT_HELP: list[HelpEntry] = [
    ("EXISTS <sha1> [<sha1> ...]", "For each SHA1 digest, 1 if that script is in the script cache, else 0."),
    ("FLUSH [ASYNC|SYNC]", "Empty the script cache."),
    ("KILL", "Stop the script that is running now, if it has not written anything yet."),
    ("LOAD <script>", "Put a script in the script cache without running it; replies with its SHA1 digest."),
    ("SHOW <sha1>", "The source of a cached script."),
]


@command("script|help")
def script_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("SCRIPT", _SCRIPT_HELP)


# -- FCALL -----------------------------------------------------------------------------------------


def _fcall(client: Client, argv: list[bytes], ro: bool) -> Any:
    show_command(client, argv)  # MONITOR shows the call before the script's commands
    if parse_int(argv[2]) is None:
        raise ErrorReply(b"ERR Bad number of keys provided")
    keys, args = _keys_and_args(argv)
    return scripting(client.server).call_function(client, argv[1], keys, args, ro, argv)


@command("fcall")
def fcall_command(client: Client, argv: list[bytes]) -> Any:
    return _fcall(client, argv, False)


@command("fcall_ro")
def fcall_ro_command(client: Client, argv: list[bytes]) -> Any:
    return _fcall(client, argv, True)


# -- FUNCTION --------------------------------------------------------------------------------------


@command("function|load")
def function_load(client: Client, argv: list[bytes]) -> Any:
    replace = False
    i = 2
    while i < len(argv) - 1:
        if argv[i].upper() == b"REPLACE":
            replace = True
            i += 1
        else:
            raise ErrorReply(b"ERR Unknown option given: " + argv[i])
    if i != len(argv) - 1:
        raise ErrorReply(b"ERR Function code is missing")
    name = scripting(client.server).load_library(argv[-1], replace)
    client.server.keyspace.dirty += 1
    return name


@command("function|delete")
def function_delete(client: Client, argv: list[bytes]) -> Any:
    if not scripting(client.server).delete_library(argv[2]):
        raise ErrorReply(b"ERR Library not found")
    client.server.keyspace.dirty += 1
    return OK


@command("function|flush")
def function_flush(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].upper() not in (b"SYNC", b"ASYNC"):
        raise ErrorReply(b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    scripting(client.server).flush_functions()
    client.server.keyspace.dirty += 1
    return OK


@command("function|list")
def function_list(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.storage.glob import glob_match

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
    return [
        library.describe(with_code)
        for library in scripting(client.server).libraries.values()
        if pattern is None or glob_match(pattern, library.name)
    ]


@command("function|stats")
def function_stats(client: Client, argv: list[bytes]) -> Any:
    state = scripting(client.server)
    ctx = state.running()
    running: Any = None
    if ctx is not None:
        import time

        running = Map(
            [
                (b"name", ctx.name),
                (b"command", list(ctx.argv)),
                (b"duration_ms", int((time.monotonic() - ctx.start) * 1000)),
            ]
        )
    engines = Map(
        [
            (
                b"LUA",
                Map([(b"libraries_count", len(state.libraries)), (b"functions_count", len(state.functions))]),
            )
        ]
    )
    return Map([(b"running_script", running), (b"engines", engines)])


@command("function|kill")
def function_kill(client: Client, argv: list[bytes]) -> Any:
    return _kill(client, False)


@command("function|dump")
def function_dump(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.persistence.crc64 import crc64
    from pyvalkey.persistence.rdb import DUMP_VERSION, _Output

    out = _Output(True)
    for library in scripting(client.server).libraries.values():
        out.buf.append(_OP_FUNCTION)
        out.string(library.code)
    payload = out.buf
    payload += struct.pack("<H", DUMP_VERSION)
    payload += struct.pack("<Q", crc64(bytes(payload)))
    return bytes(payload)


@command("function|restore")
def function_restore(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.persistence.rdb import RdbError, _Input, verify_dump_payload

    policy = b"APPEND"
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    if len(argv) == 4:
        policy = argv[3].upper()
        if policy not in (b"FLUSH", b"APPEND", b"REPLACE"):
            raise ErrorReply(b"ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    payload = argv[2]
    if not verify_dump_payload(payload):
        raise ErrorReply(b"ERR DUMP payload version or checksum are wrong")
    src = _Input(payload[:-10])
    codes = []
    try:
        while src.pos < len(src.data):
            opcode = src.byte()
            if opcode != _OP_FUNCTION:
                raise ErrorReply(b"ERR given type is not a function")
            codes.append(src.string())
    except (RdbError, IndexError, ValueError):
        raise ErrorReply(b"ERR payload version or checksum are wrong") from None
    scripting(client.server).restore_libraries(codes, policy)
    client.server.keyspace.dirty += 1
    return OK


_FUNCTION_HELP: list[HelpEntry] = [
    ("LOAD [REPLACE] <FUNCTION CODE>", ["Load a library of functions; REPLACE lets it take the place of a",
                                        "library with the same name."]),
    ("DELETE <LIBRARY NAME>", "Remove a library and all its functions."),
    ("KILL", "Stop the function that is running now, if it has not written anything yet."),
    ("FLUSH [ASYNC|SYNC]", "Remove every loaded function library."),
    (
        "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
        ["Describe the loaded libraries and their functions, optionally only the libraries",
         "whose name matches <pattern>, and with their source code."],
    ),
    ("STATS", "The function running now, if any, and how many libraries and functions are loaded."),
    ("DUMP", "A serialized payload of every library, for FUNCTION RESTORE."),
    ("RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]", ["Load the libraries of a FUNCTION DUMP payload. APPEND (the default)",
                                                  "fails on a name already in use, REPLACE takes its place, FLUSH",
                                                  "removes every library first."]),
]


@command("function|help")
def function_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("FUNCTION", _FUNCTION_HELP)


@debug_subcommand(
    "set-disable-deny-scripts",
    lambda n: n == 3,
    "SET-DISABLE-DENY-SCRIPTS <0|1>",
    "    Let scripts call commands that are normally refused inside scripts (for testing).",
)
def debug_set_disable_deny_scripts(client: Client, argv: list[bytes]) -> Any:
    """Valkey's testing switch: scripts may then call commands flagged noscript."""
    client.server.scripts_deny_disabled = parse_int(argv[2]) not in (None, 0)  # type: ignore[attr-defined]
    return OK
