"""CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the directive registry in ``pyvalkey.config``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import all_commands, command
from pyvalkey.config import DIRECTIVES, ConfigError, Directive, notify_flags_to_text, quote_arg
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK
from pyvalkey.storage.glob import glob_match

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.config import Config

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_HELP_ENTRIES: list[HelpEntry] = [
    ("GET <pattern> [<pattern> ...]", "Each parameter whose name matches a glob <pattern>, with its value."),
    ("SET <directive> <value> [<directive> <value> ...]", [
        "Change parameters while the server runs; if any value is refused,",
        "none of them changes.",
    ]),
    ("RESETSTAT", "Zero the counters that INFO reports."),
    ("REWRITE", "Write the running configuration back to the config file."),
]

_GLOB_CHARS = frozenset(b"*?[")
_HIDDEN = frozenset({"rdb-key-save-delay", "key-load-delay"})


@command("config|help")
def config_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("CONFIG", _HELP_ENTRIES)


@command("config|get")
def config_get(client: Client, argv: list[bytes]) -> Any:
    config = client.server.config
    found: dict[str, tuple[bytes, bytes]] = {}
    names = sorted(DIRECTIVES)
    for pattern in argv[2:]:
        if not _GLOB_CHARS.intersection(pattern):
            # A plain name is looked up directly and answered under the spelling asked.
            text = pattern.decode("utf-8", "surrogateescape")
            lowered = text.lower()
            if lowered in DIRECTIVES and lowered not in found:
                found[lowered] = (pattern, config.formatted(lowered).encode("utf-8", "surrogateescape"))
            continue
        for name in names:
            if name in found or name in _HIDDEN:
                continue
            if glob_match(pattern, name.encode(), nocase=True):
                found[name] = (name.encode(), config.formatted(name).encode("utf-8", "surrogateescape"))
    pairs = sorted(found.values())
    if client.resp3:
        return {k: v for k, v in pairs}
    flat: list[bytes] = []
    for key, value in pairs:
        flat.append(key)
        flat.append(value)
    return flat


def _err_set(name: str, reason: str) -> ErrorReply:
    return ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}".encode())


def _protected_allowed(client: Client) -> bool:
    setting = client.server.config.enable_protected_configs
    if setting == "yes":
        return True
    if setting == "local":
        addr = getattr(client, "addr", "") or ""
        return addr.startswith(("127.", "[::1]", "::1")) or not addr
    return False


@command("config|set")
def config_set(client: Client, argv: list[bytes]) -> Any:
    if len(argv) & 1:
        raise ErrorReply(msg.SYNTAX)
    server = client.server
    config = server.config
    chosen: list[tuple[str, Directive, str]] = []
    seen: set[str] = set()
    unknown: str | None = None
    failure: ErrorReply | None = None
    for i in range(2, len(argv), 2):
        asked = argv[i].decode("utf-8", "surrogateescape")
        item = DIRECTIVES.get(asked.lower())
        if item is None:
            if failure is None and unknown is None:
                unknown = asked
            continue
        if unknown is not None or failure is not None:
            continue
        if not item.mutable:
            failure = _err_set(asked, "can't set immutable config")
            continue
        if item.protected and not _protected_allowed(client):
            failure = _err_set(asked, "can't set protected config")
            continue
        if asked.lower() in seen:
            failure = _err_set(asked, "duplicate parameter")
            continue
        seen.add(asked.lower())
        chosen.append((asked, item, argv[i + 1].decode("utf-8", "surrogateescape")))
    if unknown is not None:
        raise ErrorReply(f"ERR Unknown option or number of arguments for CONFIG SET - '{unknown}'".encode())
    if failure is not None:
        raise failure
    # Validate everything before changing anything: CONFIG SET is all or nothing.
    old: list[tuple[Directive, Any]] = []
    new: list[tuple[Directive, Any]] = []
    for asked, item, text in chosen:
        try:
            _, value = config.parse(item.name, text)
        except ConfigError as exc:
            # Valkey names the table entry: an alias by its own name, in lower case.
            raise _err_set(asked.lower(), str(exc)) from None
        old.append((item, getattr(config, item.attr)))
        new.append((item, value))
    for item, value in new:
        setattr(config, item.attr, value)
    applied: list[Callable[[Any, Any], None]] = []
    for (asked, _, _), (item, _value) in zip(chosen, new):
        if item.apply is None or item.apply in applied:
            continue
        applied.append(item.apply)
        try:
            item.apply(server, getattr(config, item.attr))
        except ConfigError as exc:
            _restore(server, config, old)
            raise _err_set(asked.lower(), str(exc)) from None
        except Exception as exc:  # noqa: BLE001  (an apply hook must never take the server down)
            _restore(server, config, old)
            raise _err_set(asked.lower(), str(exc) or type(exc).__name__) from None
    return OK


def _restore(server: Any, config: Config, old: list[tuple[Directive, Any]]) -> None:
    for item, value in old:
        setattr(config, item.attr, value)
    done: list[Any] = []
    for item, value in old:
        if item.apply is not None and item.apply not in done:
            done.append(item.apply)
            try:
                item.apply(server, value)
            except Exception:  # noqa: BLE001, S110  (best effort: the old value applied before)
                pass


@command("config|resetstat")
def config_resetstat(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    threshold = server.stats.slowlog_threshold_us
    server.stats.reset()
    server.stats.slowlog_threshold_us = threshold
    for cmd in all_commands():
        cmd.reset_stats()
    keyspace = server.keyspace
    keyspace.hits = 0
    keyspace.misses = 0
    keyspace.expired_keys = 0
    keyspace.evicted_keys = 0
    lazy = getattr(server, "lazyfree", None)
    if lazy is not None:
        with lazy.lock:
            lazy.freed = 0
    # Valkey also forgets the instantaneous_* samples (they are deltas of the counters just reset).
    metrics = getattr(server, "instantaneous_metrics", None)
    if metrics is not None:
        reset = getattr(metrics, "reset", None)
        if reset is not None:
            reset()
        else:
            metrics.__init__(server)
    for hook in getattr(server, "resetstat_hooks", ()):
        hook()
    return OK


# -- CONFIG REWRITE -------------------------------------------------------------------------------

SIGNATURE = "# Generated by CONFIG REWRITE"
# Lines the config file may hold that are not directives of the table; kept as they are.
_FILE_ONLY = {"include", "rename-command", "user", "loadmodule", "sentinel"}

# Extra rewriters registered by other groups (ACL users, modules): each returns
# (option, [lines]) pairs to merge into the file like directives.
REWRITE_HOOKS: list[Callable[[Any], list[tuple[str, list[str]]]]] = []


def format_memory(value: int) -> str:
    """Bytes as Valkey writes them in a config file: the largest exact gb/mb/kb unit."""
    for unit, size in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def _repr(text: str) -> str:
    # Valkey always quotes string values in a rewritten file.
    quoted = quote_arg(text)
    return quoted if quoted.startswith('"') else f'"{quoted}"'


def directive_lines(config: Config, item: Directive) -> tuple[list[str], bool]:
    """The lines for one directive and whether they must be written even if absent."""
    name = item.name
    value = getattr(config, item.attr)
    default = item.default
    kind = item.kind
    if name == "save":
        if not value:
            return ['save ""'], True
        return [name + "".join(f" {s} {c}" for s, c in value)], True
    if name == "dir":
        try:
            return [f"dir {_repr(os.getcwd())}"], True
        except OSError:
            return [], False
    if name == "replicaof":
        if value is None:
            return [], False
        return [f"replicaof {value[0]} {value[1]}"], True
    if name in ("bind", "rdma-bind"):
        if value == default:
            return [], False
        return [f"{name} {' '.join(value) if value else chr(34) * 2}"], True
    if name == "latency-tracking-info-percentiles":
        # Always written, an empty list as "" so the defaults do not come back.
        text = item.format(value)
        return [f"{name} {text if text else chr(34) * 2}"], True
    if name == "notify-keyspace-events":
        return [f"{name} {_repr(notify_flags_to_text(value))}"], value != 0
    if name == "client-output-buffer-limit":
        lines = []
        force = False
        for klass, (hard, soft, secs) in value.items():
            force = force or (hard, soft, secs) != default[klass]
            shown = "replica" if klass == "slave" else klass
            lines.append(f"{name} {shown} {format_memory(hard)} {format_memory(soft)} {secs}")
        return lines, force
    if name == "unixsocketperm":
        return [f"{name} {value:o}"], value != default
    if kind == "special":
        text = item.format(value)
        return [f"{name} {text if text else chr(34) * 2}"], value != default
    if kind == "memory":
        return [f"{name} {format_memory(value)}"], value != default
    if kind == "string":
        return [f"{name} {_repr(value)}"], value != default
    return [f"{name} {item.format(value)}"], value != default


def rewrite_config(server: Any, path: str) -> None:
    """Rewrite ``path`` in place: keep comments and unknown lines, update what changed."""
    config: Config = server.config
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            old = handle.read()
    except FileNotFoundError:
        old = ""
    from pyvalkey.config import split_args

    lines: list[str] = []
    where: dict[str, list[int]] = {}
    needs_signature = True
    for raw in old.split("\n") if old else []:
        line = raw.strip("\r\n\t ")
        if not line or line.startswith("#"):
            if line == SIGNATURE:
                needs_signature = False
            lines.append(line)
            continue
        words = split_args(line)
        head = words[0].lower() if words else ""
        if not words or (head not in DIRECTIVES and head not in _FILE_ONLY):
            lines.append("# ??? " + line)
            continue
        lines.append(line)
        option = DIRECTIVES[head].name if head in DIRECTIVES else head
        where.setdefault(option, []).append(len(lines) - 1)
    processed: set[str] = set()

    def put(option: str, new_lines: list[str], force: bool) -> None:
        nonlocal needs_signature
        processed.add(option)
        for text in new_lines:
            slots = where.get(option)
            if slots:
                lines[slots.pop(0)] = text
            elif force:
                if needs_signature:
                    lines.append(SIGNATURE)
                    needs_signature = False
                lines.append(text)

    for item in sorted(set(DIRECTIVES.values()), key=lambda d: d.name):
        if item.name in _HIDDEN:
            continue
        if item.name == "client-output-buffer-limit":
            # One line per client class, each written only if that class differs from its default.
            value = getattr(config, item.attr)
            for klass, limits in value.items():
                hard, soft, secs = limits
                shown = "replica" if klass == "slave" else klass
                line = f"{item.name} {shown} {format_memory(hard)} {format_memory(soft)} {secs}"
                put(item.name, [line], limits != item.default[klass])
            continue
        new_lines, force = directive_lines(config, item)
        put(item.name, new_lines, force)
    for hook in REWRITE_HOOKS:
        for option, new_lines in hook(server):
            put(option, new_lines, True)
    for option, slots in where.items():
        if option in processed:
            for index in slots:
                lines[index] = ""
    out: list[str] = []
    was_empty = False
    for line in lines:
        if not line:
            if was_empty:
                continue
            was_empty = True
        else:
            was_empty = False
        out.append(line + "\n")
    directory = os.path.dirname(os.path.abspath(path))
    # Imported here: tempfile brings shutil, random, bz2 and lzma (about 0.7 MB), which every
    # first CONFIG GET/SET would otherwise load and count against maxmemory.
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="temp-", suffix=".conf", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write("".join(out))
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@command("config|rewrite")
def config_rewrite(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    path = server.config.file
    if not path:
        raise ErrorReply(b"ERR The server is running without a config file")
    try:
        rewrite_config(server, path)
    except OSError as exc:
        raise ErrorReply(f"ERR Rewriting config file: {exc.strerror or exc}".encode()) from None
    return OK
