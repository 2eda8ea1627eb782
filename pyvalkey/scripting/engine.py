"""The Lua engine: one Lua 5.1 state (through lupa) with Valkey's sandbox and ``server.*`` API.

Two engines exist per server, as in Valkey: one for EVAL scripts and one for function libraries
(``mode`` "eval" or "function"); flushing replaces the whole state.

How a script runs (``Engine.run``): a ``RunContext`` describes the call (caller, pseudo-client,
read-only or not, start time); the compiled function runs under ``xpcall`` with an error handler
that records the user's source and line; the result is converted to a reply value for the caller.

``server.call`` goes through the normal dispatcher on a pseudo-client whose db and protocol are
the script's own: the command's reply is encoded into the pseudo-client's buffer exactly as a
client would receive it, then parsed back into Lua values (Valkey does the same), so every
conversion rule follows from the RESP bytes.

Long scripts: a Lua count hook calls back every 100000 instructions. Past
``busy-reply-threshold`` the hook serves other clients itself (``busy.serve_while_busy``): they get
``-BUSY`` for everything except the commands flagged allow-busy (SCRIPT KILL, FUNCTION KILL,
SHUTDOWN NOSAVE...), and a kill request makes the hook raise the kill error.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lupa_lua

from pyvalkey.protocol.replies import ErrorReply, Map, Raw, RespSet, SimpleString
from pyvalkey.protocol.writer import format_double
from pyvalkey.scripting import libs
from pyvalkey.scripting.prelude import PRELUDE

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")

__all__ = ["Engine", "RunContext", "ScriptError", "sha1hex"]

LuaError = lupa_lua.LuaError
_lua_type = lupa_lua.lua_type

# Valkey flags these may-replicate without COMMAND INFO showing it; read-only scripts refuse them
_MAY_REPLICATE = frozenset(("publish", "spublish", "pfcount"))
ERR_UNKNOWN_COMMAND = "Unknown command called from script"
ERR_ARITY = "Wrong number of args calling command from script"
ERR_NOSCRIPT = "This Valkey command is not allowed from script"
ERR_READONLY = "Write commands are not allowed from read-only scripts."
ERR_ARGS = "Command arguments must be strings or integers"
ERR_NO_ARGS = "Please specify at least one argument for this call"
ERR_OOM = "-OOM command not allowed when used memory > 'maxmemory'."
ERR_NOREPLICAS = "-NOREPLICAS Not enough good replicas to write."
ERR_STALE = "Can not execute the command on a stale replica"

# Deepest Lua table nesting converted into a reply (Valkey stops at its Lua stack limit).
_MAX_DEPTH = 200

_LLONG_MIN = -(2**63)


def running_stale(server: Server) -> bool:
    """A replica cut off from its primary with ``replica-serve-stale-data no``."""
    link = getattr(server, "replication", None)
    if link is None or getattr(link, "primary_host", None) is None:
        return False
    from pyvalkey.replication.replica import CONNECTED

    return link.state != CONNECTED and not server.config.replica_serve_stale_data


class _AnyWrite:
    """Stands for "a write command" when asking the persistence pre-check about writes."""

    is_write = True
    name = b""


def disk_write_error(server: Server, client: Client) -> bytes | None:
    """The MISCONF error writes get after a failed background save, if they get one now."""
    from pyvalkey.commands.persistence import state as rdb_state

    error = rdb_state(server).misconf_check(client, _AnyWrite, [])
    return None if error is None else error.message


def not_enough_good_replicas(server: Server) -> bool:
    """``min-replicas-to-write`` is set and fewer replicas than that are keeping up."""
    guard = getattr(server, "min_replicas_guard", None)
    return (
        guard is not None and guard.active
        and guard.good_replicas() < server.config.min_replicas_to_write
    )


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


class LuaRaise(Exception):
    """Raised by a Python function called from Lua: ``value`` becomes the Lua error value (an
    error table, or a message that gets the caller's position when ``positioned``)."""

    def __init__(self, value: Any, positioned: bool = False) -> None:
        super().__init__()
        self.value = value
        self.positioned = positioned


def unwrap_error(error: Any) -> Any:
    if isinstance(error, LuaRaise):
        return error.value, error.positioned
    return None


class ScriptError(Exception):
    """A script failed: ``reply`` is the error reply to send to the caller."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.message)
        self.reply = reply


class RunContext:
    """One running script or function."""

    __slots__ = (
        "argv",
        "busy",
        "caller",
        "client",
        "eval_mode",
        "killed",
        "name",
        "oom",
        "read_only",
        "start",
        "wrote",
    )

    def __init__(self, caller: Client, client: Client, eval_mode: bool, read_only: bool, name: bytes) -> None:
        self.argv: list[bytes] = []  # the EVAL/FCALL command line (FUNCTION STATS shows it)
        self.caller = caller
        self.client = client
        self.eval_mode = eval_mode
        self.read_only = read_only
        self.name = name
        self.start = time.monotonic()
        self.killed = False
        self.wrote = False
        self.busy = False
        # The server was over maxmemory when the script started and the script may not ignore
        # it: until it writes, the commands flagged denyoom it calls are refused (Valkey stops a
        # script only before its first write, never halfway through its changes).
        self.oom = False


def lua_number_to_arg(value: float) -> bytes:
    """A Lua number as a command argument: integers in full, other values in shortest form."""
    if isinstance(value, int):
        return b"%d" % value
    if not math.isnan(value) and abs(value) < 2**63 and value == int(value):
        return b"%d" % int(value)
    return format_double(value)


def lua_number_to_int(value: Any) -> int:
    """C's (long long) cast as x86 does it: out of range and NaN become LLONG_MIN."""
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return value
        return _LLONG_MIN
    if math.isnan(value) or math.isinf(value) or not -(2**63) <= value < 2**63:
        return _LLONG_MIN
    return int(value)


class Engine:
    """One Lua state and its sandbox."""

    def __init__(self, server: Server, mode: str) -> None:
        self.server = server
        self.mode = mode
        self.run_ctx: RunContext | None = None
        self.busy = None  # set by the busy module while serving other clients
        self.loading: Any = None  # library being registered (FUNCTION LOAD), see functions.py
        self.lua = lupa_lua.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False)
        lua = self.lua
        self.rand = libs.Rand48()
        from pyvalkey.server import VALKEY_VERSION

        major, minor, patch = (int(p) for p in VALKEY_VERSION.split("."))
        py = lua.table_from(
            {
                b"call": self.call_raising,
                b"pcall": self.call_protected,
                b"unwrap_error": unwrap_error,
                b"log": self._log,
                b"setresp": self._setresp,
                b"sha1hex": self._sha1hex,
                b"error_reply": self._error_reply,
                b"status_reply": self._status_reply,
                b"set_repl": self._set_repl,
                b"acl_check_cmd": self._acl_check_cmd,
                b"random": self._random,
                b"randomseed": self._randomseed,
                b"hook": self._hook,
                b"register_function": self._register_function,
                b"version_num": (major << 16) | (minor << 8) | patch,
                # REDIS_VERSION_NUM goes with REDIS_VERSION (the Redis version Valkey claims)
                b"redis_version_num": (7 << 16) | (2 << 8) | 4,
                b"version": VALKEY_VERSION.encode(),
                b"redis_version": b"7.2.4",
                b"libs": lua.table_from({name.encode(): lua.table_from(fns) for name, fns in libs.libraries(lua).items()}),
            }
        )
        # compiled under our own chunk name so that error positions can skip its frames
        chunk = lua.eval("loadstring")(PRELUDE.encode(), b"=pyvalkey")
        if isinstance(chunk, tuple):
            raise RuntimeError(f"Lua prelude does not compile: {chunk!r}")  # noqa: TRY004
        self.api = chunk(py, mode.encode())
        libs.bind(self.api, self)
        self._compile = self.api.compile
        self._compile_library = self.api.compile_library
        self._run_eval = self.api.run_eval
        self._run_function = self.api.run_function
        self._run_loader = self.api.run_loader
        self._start_hook = self.api.start_hook
        self._stop_hook = self.api.stop_hook
        self._table_from = lua.table_from
        self._new_table = self.api.new_table
        # Reply conversion reads tables raw, as Valkey does: a metatable's __index (even _G's
        # "nonexistent global" guard) must neither run nor change what is returned.
        self._rawget = self.api.rawget
        self._where_caller = self.api.where_caller
        self._script_client: Client | None = None
        self._nested_errors: list[ErrorReply] | None = None  # collected by to_reply, see run

    def close(self) -> None:
        """Forget the Lua state. The state holds our bound methods and we hold Lua objects: left
        to the cycle collector, lupa objects could outlive their closed state (a crash), so every
        reference to a Lua object is dropped here and the state is freed by reference counting."""
        libs.unbind(self)
        for name in (
            "api", "_compile", "_compile_library", "_run_eval", "_run_function", "_run_loader",
            "_start_hook", "_stop_hook", "_table_from", "_new_table", "_rawget", "_where_caller",
        ):
            setattr(self, name, None)
        self.lua = None  # type: ignore[assignment]

    # -- compiling -------------------------------------------------------------------------------

    def compile(self, body: bytes, chunk_name: bytes = b"@user_script") -> Any:
        """The compiled chunk, or raise ``ErrorReply`` with Valkey's compile error."""
        result = self._compile(body, chunk_name)
        if isinstance(result, tuple):
            raise ErrorReply(b"ERR Error compiling script (new function): " + _text(result[1]))
        return result

    def compile_library(self, body: bytes) -> Any:
        func, extra = self._compile_library(body)
        if func is None:
            raise ErrorReply(b"ERR Error compiling function: " + _text(extra))
        return func, extra

    # -- running ---------------------------------------------------------------------------------

    def script_client(self, caller: Client) -> Client:
        client = self._script_client
        if client is None:
            from pyvalkey.client import Client

            server = self.server
            # The pseudo-client must not use up a client id (clients' ids would differ from Valkey's).
            next_id = server._next_client_id
            client = Client(server)
            server._next_client_id = next_id
            client.id = 0
            client.kind = "lua"
            client.flags.add("script")  # commands that behave differently for scripts (SORT)
            client.deny_blocking = True
            client.addr = ""
            self._script_client = client
        client.db = caller.db
        client.resp3 = False
        client.authenticated = True
        client.user = caller.user
        client.out.clear()
        return client

    def run(self, ctx: RunContext, func: Any, keys: list[bytes], args: list[bytes]) -> Any:
        """Run ``func`` and return the caller's reply value (an ``ErrorReply`` on failure)."""
        if self.run_ctx is not None:
            # cannot happen through the dispatcher (EVAL is noscript), kept as a guard
            return ErrorReply(b"ERR Script is already running")
        self.run_ctx = ctx
        libs.current_where.append(self._where_caller)
        # Time stands still while a script runs, as in Valkey: every command it calls (TIME,
        # expiry checks, relative TTLs) sees the instant the script started.
        clock = self.server.clock
        frozen_before = clock.frozen_at_ns
        if frozen_before is None:
            clock.frozen_at_ns = clock.time_ns()
        table_from = self._table_from
        threshold = self.server.config.busy_reply_threshold
        hooked = threshold > 0
        try:
            if hooked:
                self._start_hook()
            keys_t = table_from(keys)
            args_t = table_from(args)
            if ctx.eval_mode:
                ok, result = self._run_eval(func, keys_t, args_t)
            else:
                ok, result = self._run_function(func, keys_t, args_t)
            if not ok:
                reply = self._error_from(result, with_position=True)
            else:
                self._nested_errors = None
                reply = self.to_reply(result, ctx.client.resp3, ctx.caller.resp3, 0)
                if self._nested_errors is not None:
                    self._count_nested_errors(ctx)
            if type(reply) is ErrorReply and getattr(reply, "counted", False):
                self._uncount(reply.message)
            return reply
        except LuaError as exc:
            return ErrorReply(b"ERR Error running script: " + str(exc).encode(errors="replace"))
        finally:
            self.run_ctx = None  # first: the hook must find nothing to kill while it is removed
            libs.current_where.pop()
            clock.frozen_at_ns = frozen_before
            if hooked:
                self._stop_hook()
            ctx.client.out.clear()
            if self.busy is not None:
                self.busy.script_finished(ctx)

    def _count_nested_errors(self, ctx: RunContext) -> None:
        """Errors inside an array the script returned: each counts as an error reply (unless it
        came from a command that already counted it) and the script's command as failed."""
        from pyvalkey.commands.registry import Command

        stats = self.server.stats
        for error in self._nested_errors or ():
            if not getattr(error, "counted", False):
                stats.count_error(error.message)
        self._nested_errors = None
        cmd = self.server.dispatcher.lookup(ctx.argv) if ctx.argv else None
        if type(cmd) is Command:
            cmd.failed_calls += 1

    def _uncount(self, message: bytes) -> None:
        """Take back one count of an error reply already counted when the script's command
        failed: the dispatcher counts the script's reply, and Valkey counts such an error once."""
        stats = self.server.stats
        code = message.split(b" ", 1)[0]
        if stats.errors.get(code):
            stats.errors[code] -= 1
            stats.total_error_replies -= 1

    def _error_from(self, err: Any, with_position: bool) -> ErrorReply:
        if _lua_type(err) != "table":
            reply = ErrorReply(b"ERR Error running script, " + _text(err)[:100])
            reply.counted = False  # type: ignore[attr-defined]
            return reply
        raw = self._rawget
        message = raw(err, b"err")
        if isinstance(message, (bytes, int, float)) and not isinstance(message, bool):
            text = _lua_tostring(message)
        else:
            text = b"ERR unknown error"
        if with_position:
            source = raw(err, b"source")
            line = raw(err, b"line")
            if source is not None and line is not None and _lua_type(source) is None:
                text += b" script: on %s:%s." % (_lua_tostring(source), _lua_tostring(line))
        reply = ErrorReply(text)
        reply.counted = raw(err, b"ignore_error_stats_update") is True  # type: ignore[attr-defined]
        return reply

    # -- Lua values to replies --------------------------------------------------------------------

    def to_reply(self, value: Any, script_resp3: bool, caller_resp3: bool, depth: int) -> Any:
        if isinstance(value, bytes):
            return value
        if isinstance(value, bool):
            if not script_resp3:
                return 1 if value else None
            return value
        if isinstance(value, (int, float)):
            return lua_number_to_int(value)
        if value is None or _lua_type(value) != "table":
            return None
        if depth >= _MAX_DEPTH:
            error = ErrorReply(b"ERR reached lua stack limit")
            if self._nested_errors is None:
                self._nested_errors = []
            self._nested_errors.append(error)
            return error
        raw = self._rawget

        def rawget(key: Any) -> Any:
            return raw(value, key)

        err = rawget(b"err")
        if isinstance(err, bytes):
            reply = self._error_from(value, with_position=False)
            if depth:
                if self._nested_errors is None:
                    self._nested_errors = []
                self._nested_errors.append(reply)
            return reply
        ok = rawget(b"ok")
        if isinstance(ok, bytes):
            return SimpleString(ok.replace(b"\r", b" ").replace(b"\n", b" "))
        double = rawget(b"double")
        if isinstance(double, (int, float)) and not isinstance(double, bool):
            return float(double)
        big = rawget(b"big_number")
        if isinstance(big, bytes):
            big = big.replace(b"\r", b" ").replace(b"\n", b" ")
            if caller_resp3:
                return Raw(b"(%s\r\n" % big)
            return Raw(b"$%d\r\n%s\r\n" % (len(big), big))
        verbatim = rawget(b"verbatim_string")
        if _lua_type(verbatim) == "table":
            fmt = raw(verbatim, b"format")
            text = raw(verbatim, b"string")
            if isinstance(fmt, bytes) and isinstance(text, bytes):
                if caller_resp3:
                    return Raw(b"=%d\r\n%s:%s\r\n" % (len(text) + 4, fmt[:3], text))
                return Raw(b"$%d\r\n%s\r\n" % (len(text), text))
        mapping = rawget(b"map")
        if _lua_type(mapping) == "table":
            return Map(
                (
                    self.to_reply(k, script_resp3, caller_resp3, depth + 1),
                    self.to_reply(v, script_resp3, caller_resp3, depth + 1),
                )
                for k, v in mapping.items()
            )
        members = rawget(b"set")
        if _lua_type(members) == "table":
            return RespSet(self.to_reply(k, script_resp3, caller_resp3, depth + 1) for k in members)
        items = []
        i = 1
        while True:
            item = rawget(i)
            if item is None:
                break
            items.append(self.to_reply(item, script_resp3, caller_resp3, depth + 1))
            i += 1
        return items

    # -- RESP replies to Lua values ---------------------------------------------------------------

    def error_table(self, message: bytes, from_reply: bool = False) -> Any:
        """Valkey's error table: ``{err='CODE message'}`` (a leading '-' gives the code)."""
        if message.startswith(b"-"):
            code, sep, rest = message[1:].partition(b" ")
            if not sep:
                code, rest = b"ERR", message[1:]
        else:
            code, rest = b"ERR", message
        rest = rest.strip(b"\r\n")
        table = self._new_table()
        table[b"err"] = code + b" " + rest
        if from_reply:
            table[b"ignore_error_stats_update"] = True
        return table

    def parse_reply(self, data: bytes | bytearray) -> Any:
        value, _ = self._parse(bytes(data), 0)
        return value

    def _parse(self, data: bytes, pos: int) -> tuple[Any, int]:
        kind = data[pos]
        end = data.index(b"\r\n", pos)
        line = data[pos + 1 : end]
        pos = end + 2
        if kind == 43:  # + status
            table = self._new_table()
            table[b"ok"] = line
            return table, pos
        if kind == 45:  # - error
            table = self.error_table(b"-" + line, from_reply=True)
            return table, pos
        if kind == 58:  # : integer
            return int(line), pos
        if kind == 36:  # $ bulk
            size = int(line)
            if size < 0:
                return False, pos
            return data[pos : pos + size], pos + size + 2
        if kind == 42:  # * array
            size = int(line)
            if size < 0:
                return False, pos
            table = self._new_table()
            for i in range(1, size + 1):
                item, pos = self._parse(data, pos)
                if item is not None:
                    table[i] = item
            return table, pos
        if kind == 37 or kind == 126:  # % map, ~ set
            size = int(line)
            inner = self._new_table()
            for _ in range(size):
                key, pos = self._parse(data, pos)
                if kind == 37:
                    item, pos = self._parse(data, pos)
                else:
                    item = True
                if key is not None:
                    inner[key] = item
            table = self._new_table()
            table[b"map" if kind == 37 else b"set"] = inner
            return table, pos
        if kind == 95:  # _ null
            return None, pos
        if kind == 35:  # # boolean
            return line == b"t", pos
        if kind == 44:  # , double
            table = self._new_table()
            table[b"double"] = _parse_double(line)
            return table, pos
        if kind == 40:  # ( big number
            table = self._new_table()
            table[b"big_number"] = line
            return table, pos
        if kind == 61:  # = verbatim
            size = int(line)
            text = data[pos : pos + size]
            inner = self._new_table()
            inner[b"string"] = text[4:]
            inner[b"format"] = text[:3]
            table = self._new_table()
            table[b"verbatim_string"] = inner
            return table, pos + size + 2
        if kind == 124:  # | attribute: scripts do not see attributes, only the reply after them
            for _ in range(2 * int(line)):
                _, pos = self._parse(data, pos)
            return self._parse(data, pos)
        if kind == 62:  # > push (not expected from a command reply): as an array
            size = int(line)
            table = self._new_table()
            for i in range(1, size + 1):
                item, pos = self._parse(data, pos)
                table[i] = item
            return table, pos
        raise ValueError(f"unexpected reply type {chr(kind)!r}")

    # -- the server.* API -------------------------------------------------------------------------

    def _args(self, values: tuple[Any, ...]) -> list[bytes] | None:
        argv = []
        for value in values:
            if isinstance(value, bytes):
                argv.append(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                argv.append(lua_number_to_arg(value))
            else:
                return None
        return argv

    def _call(self, raise_error: bool, *values: Any) -> Any:
        ctx = self.run_ctx
        if ctx is None:
            raise LuaRaise(self.error_table(b"-ERR server.call can only be used inside a script"))
        if not values:
            return self._fail(self.error_table(ERR_NO_ARGS.encode()), raise_error)
        argv = self._args(values)
        if argv is None:
            return self._fail(self.error_table(ERR_ARGS.encode()), raise_error)
        error = self.check_command(ctx, argv)
        if error is not None:
            # A refused command counts as that command's rejected call and as an error reply
            # now; the error table says so, so that returning it does not count it again.
            from pyvalkey.commands.registry import Command

            text = error.encode()
            self.server.stats.count_error(text[1:] if text.startswith(b"-") else b"ERR " + text)
            rejected = self.server.dispatcher.lookup(argv)
            rejected = rejected if type(rejected) is Command else getattr(rejected, "command", None)
            if rejected is not None:
                rejected.rejected_calls += 1
            return self._fail(self.error_table(error.encode(), from_reply=True), raise_error)
        cmd = self.server.dispatcher.lookup(argv)
        client = ctx.client
        if cmd.is_write:  # type: ignore[union-attr]
            ctx.wrote = True
        try:
            self.server.dispatcher.call(client, cmd, argv)  # type: ignore[arg-type]
            ctx.caller.commands_processed += 1  # CLIENT LIST tot-cmds counts a script's commands
            value = self.parse_reply(client.out)
        finally:
            client.out.clear()
        if raise_error and _lua_type(value) == "table" and isinstance(value[b"err"], bytes):
            raise LuaRaise(value)
        return value

    def call_raising(self, *values: Any) -> Any:
        return self._call(True, *values)

    def call_protected(self, *values: Any) -> Any:
        return self._call(False, *values)

    @staticmethod
    def _fail(table: Any, raise_error: bool) -> Any:
        if raise_error:
            raise LuaRaise(table)
        return table

    def check_command(self, ctx: RunContext, argv: list[bytes]) -> str | None:
        """Valkey's checks before a command runs from a script (scriptCall)."""
        from pyvalkey.commands.registry import Command

        cmd = self.server.dispatcher.lookup(argv)
        if type(cmd) is not Command:
            if getattr(cmd, "command", None) is not None:
                return ERR_ARITY
            return ERR_UNKNOWN_COMMAND
        # DEBUG SET-DISABLE-DENY-SCRIPTS lets scripts call noscript commands (Valkey's tests use it).
        if cmd.noscript and not getattr(self.server, "scripts_deny_disabled", False):
            return ERR_NOSCRIPT
        if not cmd.stale_ok and running_stale(self.server):
            return ERR_STALE
        acl = getattr(self.server, "acl", None)  # pyvalkey/acl.py, once users are in use
        if acl is not None and acl.installed:
            denied = acl.check_script_command(ctx.caller, cmd, argv)
            if denied is not None:
                return denied.decode("latin-1")
        if ctx.read_only and (cmd.is_write or cmd.may_replicate or cmd.fullname in _MAY_REPLICATE):
            return ERR_READONLY
        if cmd.is_write and not ctx.wrote:
            # Checks on the server's state, made only before the script's first write: once it
            # has changed data it cannot be stopped halfway.
            if getattr(self.server.keyspace, "is_replica", False):
                # A read-only replica (pyvalkey/replication/replica.py) refuses a script's
                # writes too, unless the script is run by its primary.
                link = getattr(self.server, "replication", None)
                if link is not None and link.refuses_writes_from(ctx.caller):
                    return "-READONLY You can't write against a read only replica."
            disk_error = disk_write_error(self.server, ctx.caller)
            if disk_error is not None:
                return "-" + disk_error.decode("latin-1")
            if not_enough_good_replicas(self.server):
                return ERR_NOREPLICAS
        if ctx.oom and cmd.denyoom and not ctx.wrote:
            return ERR_OOM
        return None

    def _acl_check_cmd(self, *values: Any) -> Any:
        from pyvalkey.commands.registry import Command

        if not values:
            raise LuaRaise(self.error_table(ERR_NO_ARGS.encode()))
        argv = self._args(values)
        if argv is None:
            raise LuaRaise(self.error_table(ERR_ARGS.encode()))
        cmd = self.server.dispatcher.lookup(argv)
        if type(cmd) is not Command and getattr(cmd, "command", None) is None:
            raise LuaRaise(self.error_table(b"Invalid command passed to server.acl_check_cmd()"))
        if type(cmd) is not Command:
            cmd = cmd.command  # type: ignore[union-attr]  # wrong arity: still a known command
        acl = getattr(self.server, "acl", None)
        ctx = self.run_ctx
        if acl is None or ctx is None:
            return True  # no ACL users yet: the default user may run every command
        return acl.allowed(ctx.caller.user, cmd, argv, ctx.caller.db.index)

    def _log(self, *values: Any) -> Any:
        if len(values) < 2:
            raise LuaRaise(self.error_table(b"server.log() requires two arguments or more."))
        level = values[0]
        if isinstance(level, bytes):
            try:
                level = float(level)
            except ValueError:
                level = None
        if not isinstance(level, (int, float)) or isinstance(level, bool):
            raise LuaRaise(self.error_table(b"First argument must be a number (log level)."))
        level = int(level)
        if level < 0 or level > 3:
            raise LuaRaise(self.error_table(b"Invalid log level."))
        parts = [_lua_tostring(v) for v in values[1:] if isinstance(v, (bytes, int, float)) and not isinstance(v, bool)]
        text = b" ".join(parts).decode(errors="replace")
        py_level = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)[level]
        log.log(py_level, "%s", text)
        return None

    def _setresp(self, *values: Any) -> Any:
        ctx = self.run_ctx
        if ctx is None:
            return None
        if len(values) != 1:
            raise LuaRaise(self.error_table(b"server.setresp() requires one argument."))
        resp = _lua_tonumber(values[0])
        if resp not in (2, 3):
            raise LuaRaise(self.error_table(b"RESP version must be 2 or 3."))
        ctx.client.resp3 = resp == 3
        return None

    def _sha1hex(self, *values: Any) -> Any:
        if len(values) != 1:
            raise LuaRaise(self.error_table(b"wrong number of arguments"))
        value = values[0]
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            data = _lua_tostring(value)
        else:
            data = b""
        return sha1hex(data)

    def _error_reply(self, *values: Any) -> Any:
        if len(values) != 1 or not isinstance(values[0], bytes):
            return self.error_table(b"wrong number or type of arguments")
        text = values[0]
        return self.error_table(text if text.startswith(b"-") else b"-" + text)

    def _status_reply(self, *values: Any) -> Any:
        if len(values) != 1 or not isinstance(values[0], bytes):
            return self.error_table(b"wrong number or type of arguments")
        table = self._new_table()
        table[b"ok"] = values[0]
        return table

    def _set_repl(self, *values: Any) -> Any:
        if len(values) != 1:
            raise LuaRaise(self.error_table(b"server.set_repl() requires one argument."))
        flags = int(_lua_tonumber(values[0]) or 0)
        if flags & ~3:
            raise LuaRaise(
                self.error_table(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
            )
        return None

    def _random(self, *values: Any) -> Any:
        r = self.rand.next_fraction()
        if not values:
            return r
        if len(values) == 1:
            upper = int(_lua_tonumber(values[0]) or 0)
            if upper < 1:
                raise LuaRaise(self.error_table(b"bad argument #1 to 'random' (interval is empty)"))
            return math.floor(r * upper) + 1
        if len(values) == 2:
            lower = int(_lua_tonumber(values[0]) or 0)
            upper = int(_lua_tonumber(values[1]) or 0)
            if lower > upper:
                raise LuaRaise(self.error_table(b"bad argument #2 to 'random' (interval is empty)"))
            return math.floor(r * (upper - lower + 1)) + lower
        raise LuaRaise(self.error_table(b"wrong number of arguments"))

    def _randomseed(self, *values: Any) -> Any:
        seed = int(_lua_tonumber(values[0]) or 0) if values else 0
        self.rand.seed(seed)
        return None

    def _register_function(self, *values: Any) -> Any:
        loading = self.loading
        if loading is None:
            raise LuaRaise(self.error_table(b"server.register_function can only be called on FUNCTION LOAD command"))
        error = loading.register(values)
        if error is not None:
            raise LuaRaise(self.error_table(error))
        return None

    # -- the count hook -------------------------------------------------------------------------

    def _hook(self) -> Any:
        ctx = self.run_ctx
        if ctx is None:
            loading = self.loading
            if loading is not None and time.monotonic() - loading.start > 0.5:
                return self.error_table(b"FUNCTION LOAD timeout")
            return None
        if not ctx.killed:
            threshold = self.server.config.busy_reply_threshold
            if threshold <= 0 or (time.monotonic() - ctx.start) * 1000 < threshold:
                return None
            from pyvalkey.scripting import busy

            busy.serve_while_busy(self, ctx)
        if ctx.killed:
            which = b"SCRIPT" if ctx.eval_mode else b"FUNCTION"
            log.info("Script killed by user with %s KILL.", which.decode())
            return self.error_table(b"Script killed by user with %s KILL." % which)
        return None


def _text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode(errors="replace")


def _lua_tostring(value: Any) -> bytes:
    """Lua 5.1's tostring for strings and numbers (numbers in ``%.14g``)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 10**15:
            return b"%d" % value
        return (b"%.14g" % value)
    if isinstance(value, float):
        if math.isnan(value):
            return b"nan" if math.copysign(1.0, value) > 0 else b"-nan"
        if math.isinf(value):
            return b"inf" if value > 0 else b"-inf"
        return b"%.14g" % value
    return str(value).encode()


def _lua_tonumber(value: Any) -> float | int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        try:
            text = value.strip()
            if text[:2].lower() == b"0x":
                return int(text, 16)
            number = float(text)
            return int(number) if number.is_integer() else number
        except ValueError:
            return None
    return None


def _parse_double(text: bytes) -> float:
    lowered = text.lower()
    if lowered == b"inf":
        return math.inf
    if lowered == b"-inf":
        return -math.inf
    if lowered in (b"nan", b"-nan"):
        return math.nan
    return float(text)
