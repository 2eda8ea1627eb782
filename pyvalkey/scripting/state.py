"""Server-wide scripting state: the EVAL script cache, the function libraries, the two engines.

``scripting(server)`` returns it (created on first use). Script flags follow Valkey: a script
with a ``#!lua`` shebang declares its flags (``flags=no-writes,allow-oom,...``); a script without
one runs in the compatible mode that may write.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pyvalkey.protocol.replies import ErrorReply
from pyvalkey.scripting.engine import Engine, RunContext, running_stale, sha1hex

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

__all__ = ["FLAG_NAMES", "Library", "Script", "ScriptingState", "scripting"]

FLAG_NAMES = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys")
_NAME_RE = re.compile(rb"^[A-Za-z0-9_]+$")

ERR_RO_WRITE_FLAG = b"ERR Can not execute a script with write flag using *_ro command."
ERR_MASTERDOWN = b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
ERR_OOM_FLAG = b"OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"


class Script:
    __slots__ = ("body", "flags", "func", "shebang")

    def __init__(self, body: bytes, func: Any, flags: set[bytes], shebang: bool) -> None:
        self.body = body
        self.func = func
        self.flags = flags
        self.shebang = shebang


class Function:
    __slots__ = ("callback", "description", "flags", "library", "name")

    def __init__(self, name: bytes, callback: Any, flags: list[bytes], description: bytes | None, library: Library) -> None:
        self.name = name
        self.callback = callback
        self.flags = flags
        self.description = description
        self.library = library


class Library:
    __slots__ = ("code", "functions", "name")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: dict[bytes, Function] = {}

    def describe(self, with_code: bool) -> dict[bytes, Any]:
        from pyvalkey.protocol.replies import RespSet, SimpleString

        functions = [
            {
                b"name": f.name,
                b"description": f.description,
                b"flags": RespSet(SimpleString(flag) for flag in f.flags),
            }
            for f in self.functions.values()
        ]
        entry: dict[bytes, Any] = {b"library_name": self.name, b"engine": b"LUA", b"functions": functions}
        if with_code:
            entry[b"library_code"] = self.code
        return entry


class _Registration:
    """What ``server.register_function`` collects while a library body runs."""

    def __init__(self, engine: Engine, library: Library) -> None:
        self.engine = engine
        self.library = library
        self.start = time.monotonic()
        self.fatal: bytes | None = None  # an error reported as is (not "Error registering ...")

    def register(self, values: tuple[Any, ...]) -> bytes | None:
        from lupa.lua51 import lua_type

        flags: list[bytes] = []
        description = None
        if len(values) == 1:
            spec = values[0]
            if lua_type(spec) != "table":
                return (
                    b"calling server.register_function with a single argument is only applicable to "
                    b"Lua table (representing named arguments)."
                )
            name = callback = None
            for key, value in spec.items():
                if key == b"function_name":
                    if not isinstance(value, (bytes, int, float)) or isinstance(value, bool):
                        return b"function_name argument given to server.register_function must be a string"
                    name = value
                elif key == b"callback":
                    if lua_type(value) != "function":
                        return b"callback argument given to server.register_function must be a function"
                    callback = value
                elif key == b"flags":
                    if lua_type(value) != "table":
                        return b"flags argument to server.register_function must be a table representing function flags"
                    for flag in value.values():
                        if flag not in FLAG_NAMES:
                            return b"unknown flag given"
                        flags.append(flag)
                elif key == b"description":
                    if not isinstance(value, (bytes, int, float)) or isinstance(value, bool):
                        return b"description argument given to server.register_function must be a string"
                    description = value if isinstance(value, bytes) else _number_text(value)
                else:
                    return b"unknown argument given to server.register_function"
            if name is None:
                return b"server.register_function must get a function name argument"
            if callback is None:
                return b"server.register_function must get a callback argument"
        elif len(values) == 2:
            name, callback = values
        else:
            return b"wrong number of arguments to server.register_function"
        if isinstance(name, (int, float)) and not isinstance(name, bool):
            from pyvalkey.scripting.engine import _lua_tostring

            name = _lua_tostring(name)
        if not isinstance(name, bytes):
            return b"first argument to server.register_function must be a string"
        if lua_type(callback) != "function":
            return b"second argument to server.register_function must be a function"
        if not _NAME_RE.match(name):
            self.fatal = (
                b"ERR Function names can only contain letters, numbers, or underscores(_) and must be at "
                b"least one character long"
            )
            return b"function name error"
        if name in self.library.functions:
            self.fatal = b"ERR Function already exists in the library"
            return b"function name error"
        self.library.functions[name] = Function(name, callback, flags, description, self.library)
        return None


def _number_text(value: float) -> bytes:
    from pyvalkey.scripting.engine import _lua_tostring

    return _lua_tostring(value)


class ScriptingState:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._eval_engine: Engine | None = None
        self._function_engine: Engine | None = None
        self.scripts: dict[bytes, Script] = {}
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}

    # -- engines -------------------------------------------------------------------------------

    @property
    def eval_engine(self) -> Engine:
        if self._eval_engine is None:
            self._eval_engine = Engine(self.server, "eval")
        return self._eval_engine

    @property
    def function_engine(self) -> Engine:
        if self._function_engine is None:
            self._function_engine = Engine(self.server, "function")
        return self._function_engine

    def _over_maxmemory(self) -> bool:
        """Whether the server is over ``maxmemory`` as a script starts (the memory guard has
        already tried to evict before this command ran)."""
        server = self.server
        limit = server.config.maxmemory
        guard = getattr(server, "memory_guard", None)
        return limit > 0 and guard is not None and guard.active and guard.used > limit

    def running(self) -> RunContext | None:
        for engine in (self._eval_engine, self._function_engine):
            if engine is not None and engine.run_ctx is not None:
                return engine.run_ctx
        return None

    # -- EVAL scripts ----------------------------------------------------------------------------

    def load_script(self, body: bytes) -> tuple[bytes, Script]:
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is None:
            flags, shebang, source = parse_shebang(body)
            func = self.eval_engine.compile(source)
            script = Script(body, func, flags, shebang)
            self.scripts[sha] = script
        return sha, script

    def flush_scripts(self) -> None:
        self.scripts.clear()
        if self._eval_engine is not None and self._eval_engine.run_ctx is None:
            self._eval_engine.close()
            self._eval_engine = None

    def run_script(
        self, client: Client, script: Script, keys: list[bytes], args: list[bytes], ro: bool,
        argv: list[bytes] | None = None,
    ) -> Any:
        flags = script.flags
        if running_stale(self.server) and not (script.shebang and b"allow-stale" in flags):
            raise ErrorReply(ERR_MASTERDOWN)
        if script.shebang and b"no-writes" not in flags:
            _check_may_write(self.server, client, ro)
        oom = self._over_maxmemory()
        if oom and script.shebang:
            _refuse_oom(flags)
        read_only = ro or b"no-writes" in flags
        engine = self.eval_engine
        ctx = RunContext(client, engine.script_client(client), True, read_only, b"")
        ctx.oom = oom and not (script.shebang and b"allow-oom" in flags)
        if argv is not None:
            ctx.argv = argv
        return engine.run(ctx, script.func, keys, args)

    # -- functions -------------------------------------------------------------------------------

    def load_library(self, code: bytes, replace: bool) -> bytes:
        name = parse_library_metadata(code)
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise ErrorReply(b"ERR Library '%s' already exists" % name)
        library = self._build_library(name, code)
        for fname in library.functions:
            owner = self.functions.get(fname.lower())
            if owner is not None and owner.library.name != name:
                raise ErrorReply(b"ERR Function %s already exists" % fname)
        self._install(library)
        return name

    def _build_library(self, name: bytes, code: bytes) -> Library:
        engine = self.function_engine
        newline = code.find(b"\n")
        func, lib_env = engine.compile_library(code[newline:] if newline >= 0 else b"")
        library = Library(name, code)
        registration = _Registration(engine, library)
        engine.loading = registration
        engine._start_hook()
        try:
            result = engine._run_loader(func)
        finally:
            engine._stop_hook()
            engine.loading = None
        ok, error = result if isinstance(result, tuple) else (result, None)
        if registration.fatal is not None:
            raise ErrorReply(registration.fatal)
        if not ok:
            message = engine._error_from(error, with_position=False).message
            raise ErrorReply(b"ERR Error registering functions: " + message)
        if not library.functions:
            raise ErrorReply(b"ERR No functions registered")
        engine.api.finish_library(lib_env)
        return library

    def _install(self, library: Library) -> None:
        self.delete_library(library.name)
        self.libraries[library.name] = library
        for fname, function in library.functions.items():
            self.functions[fname.lower()] = function  # function names are case-insensitive

    def delete_library(self, name: bytes) -> bool:
        library = self.libraries.pop(name, None)
        if library is None:
            return False
        for fname in library.functions:
            key = fname.lower()
            if self.functions.get(key) is not None and self.functions[key].library is library:
                del self.functions[key]
        return True

    def flush_functions(self) -> None:
        self.libraries.clear()
        self.functions.clear()
        if self._function_engine is not None and self._function_engine.run_ctx is None:
            self._function_engine.close()
            self._function_engine = None

    def restore_libraries(self, codes: list[bytes], policy: bytes) -> None:
        """FUNCTION RESTORE: build every library first, then apply the policy."""
        saved_libraries = dict(self.libraries)
        saved_functions = dict(self.functions)
        if policy == b"FLUSH":
            self.libraries.clear()
            self.functions.clear()
        try:
            for code in codes:
                name = parse_library_metadata(code)
                if name in self.libraries and policy != b"REPLACE":
                    raise ErrorReply(b"ERR Library %s already exists" % name)
                library = self._build_library(name, code)
                for fname in library.functions:
                    owner = self.functions.get(fname.lower())
                    if owner is not None and owner.library.name != name:
                        raise ErrorReply(b"ERR Function %s already exists" % fname)
                self._install(library)
        except ErrorReply:
            self.libraries = saved_libraries
            self.functions = saved_functions
            raise

    def call_function(
        self, client: Client, name: bytes, keys: list[bytes], args: list[bytes], ro: bool,
        argv: list[bytes] | None = None,
    ) -> Any:
        function = self.functions.get(name.lower())
        if function is None:
            raise ErrorReply(b"ERR Function not found")
        no_writes = b"no-writes" in function.flags
        if b"allow-stale" not in function.flags and running_stale(self.server):
            raise ErrorReply(ERR_MASTERDOWN)
        if not no_writes:
            _check_may_write(self.server, client, ro)
        oom = self._over_maxmemory()
        if oom:
            _refuse_oom(function.flags)
        engine = self.function_engine
        ctx = RunContext(client, engine.script_client(client), False, ro or no_writes, name)
        ctx.oom = oom and b"allow-oom" not in function.flags
        if argv is not None:
            ctx.argv = argv
        return engine.run(ctx, function.callback, keys, args)


def _check_may_write(server: Server, client: Client, ro: bool) -> None:
    """A script or function that may write (it declares flags, without no-writes) is refused
    before it starts without enough good replicas, or by an *_RO command."""
    from pyvalkey.scripting.engine import disk_write_error, not_enough_good_replicas

    # Valkey refuses such a script for its write flag before the command runs, so these come
    # before the *_RO check.
    disk_error = disk_write_error(server, client)
    if disk_error is not None:
        raise ErrorReply(disk_error)
    if not_enough_good_replicas(server):
        raise ErrorReply(b"NOREPLICAS Not enough good replicas to write.")
    if ro:
        raise ErrorReply(ERR_RO_WRITE_FLAG)


def _refuse_oom(flags: Any) -> None:
    """A script that declares its flags runs over ``maxmemory`` only with allow-oom or no-writes
    (Valkey refuses it before it starts; no-writes implies allow-oom)."""
    if b"allow-oom" not in flags and b"no-writes" not in flags:
        raise ErrorReply(ERR_OOM_FLAG)


def parse_shebang(body: bytes) -> tuple[set[bytes], bool, bytes]:
    """(flags, has shebang, source to compile) of an EVAL script.

    The shebang line is split as Valkey splits arguments (quotes allowed); its options are
    checked before the engine name (which is matched without regard to case)."""
    if not body.startswith(b"#!"):
        return set(), False, body
    end = body.find(b"\n")
    if end < 0:
        raise ErrorReply(b"ERR Invalid script shebang")
    from pyvalkey.config import split_args

    split = split_args(body[:end].decode("latin-1"))
    if not split:
        raise ErrorReply(b"ERR Invalid engine in script shebang")
    parts = [part.encode("latin-1") for part in split]
    flags: set[bytes] = set()
    for part in parts[1:]:
        if part.startswith(b"flags="):
            if len(part) == 6:
                continue
            for flag in part[6:].split(b","):
                if flag not in FLAG_NAMES:
                    raise ErrorReply(b"ERR Unexpected flag in script shebang: " + flag)
                flags.add(flag)
        else:
            raise ErrorReply(b"ERR Unknown lua shebang option: " + part)
    engine = parts[0][2:]
    if engine.lower() != b"lua":
        raise ErrorReply(b"ERR Could not find scripting engine '%s'" % engine)
    # the shebang line stays a (blank) line so that line numbers are the user's
    return flags, True, body[end:]


def parse_library_metadata(code: bytes) -> bytes:
    if not code.startswith(b"#!"):
        raise ErrorReply(b"ERR Missing library metadata")
    from pyvalkey.config import split_args

    end = code.find(b"\n")
    line = code[:end] if end >= 0 else code
    # the metadata line is split as Valkey splits it (quotes allowed), the engine follows "#!"
    split = split_args(line.decode("latin-1"))
    if not split:
        raise ErrorReply(b"ERR Invalid library metadata")
    parts = [part.encode("latin-1") for part in split]
    engine = parts[0][2:]
    if engine.upper() != b"LUA":
        raise ErrorReply(b"ERR Engine '%s' not found" % engine)
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise ErrorReply(b"ERR Invalid metadata value, name argument was given multiple times")
            name = part[5:]
        else:
            raise ErrorReply(b"ERR Invalid metadata value given: " + part)
    if name is None:
        raise ErrorReply(b"ERR Library name was not given")
    if not _NAME_RE.match(name):
        raise ErrorReply(
            b"ERR Library names can only contain letters, numbers, or underscores(_) and must be at least "
            b"one character long"
        )
    return name


def _flags_deny_oom(flags: Any) -> bool:
    # Declared flags without allow-oom or no-writes make the call denyoom (no-writes implies
    # allow-oom), as Valkey's scriptFlagsToCmdFlags.
    return b"allow-oom" not in flags and b"no-writes" not in flags


def declared_flags(server: Server, name: str, argv: list[bytes]) -> tuple[Any, bool] | None:
    """What the script or function called by ``argv`` (EVAL, EVALSHA, FCALL and their _RO forms,
    ``name`` being the command's name) declares: ``(flags, declared)``, ``declared`` False for a
    script without a shebang (checked command by command as it runs). None when the script or
    function is unknown or its shebang is invalid (errors the call itself reports)."""
    if len(argv) < 2:
        return None
    state = getattr(server, "scripting", None)
    kind = name.removesuffix("_ro")
    if kind == "fcall":
        function = state.functions.get(argv[1].lower()) if state is not None else None
        return None if function is None else (function.flags, True)
    if kind == "evalsha":
        script = state.scripts.get(argv[1].lower()) if state is not None and len(argv[1]) == 40 else None
        return None if script is None else (script.flags, script.shebang)
    script = state.scripts.get(sha1hex(argv[1])) if state is not None else None
    if script is not None:
        return script.flags, script.shebang
    try:
        flags, shebang, _ = parse_shebang(argv[1])
    except ErrorReply:
        return None
    return flags, shebang


def script_denyoom(name: str, client: Client, argv: list[bytes]) -> bool:
    """Whether calling ``argv`` is denyoom: its script or function declares flags without
    allow-oom or no-writes, as Valkey's scriptFlagsToCmdFlags."""
    declared = declared_flags(client.server, name, argv)
    return declared is not None and declared[1] and _flags_deny_oom(declared[0])


def scripting(server: Server) -> ScriptingState:
    state: ScriptingState | None = getattr(server, "scripting", None)
    if state is None:
        state = ScriptingState(server)
        server.scripting = state  # type: ignore[attr-defined]
    return state
