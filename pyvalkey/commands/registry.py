"""The command table.

Each handler is a plain function ``handler(client, argv) -> reply`` registered by name:

    @command("get")
    def get(client: Client, argv: list[bytes]) -> Any: ...

    @command("config|get")          # a subcommand: container|sub
    def config_get(client, argv): ...

Metadata (arity, flags, key positions and key specs, ACL categories, tips, docs) is not typed by
hand: it is Valkey's own, read from the oracle by ``tools/gen_command_data.py`` into
``data/commands.json`` and checked against the live oracle by ``tests/test_command_table.py``.
Only commands that have a handler are in the table, so ``COMMAND`` lists what we serve. After
regenerating the JSON, regenerate ``_command_meta.py`` (``write_meta_module``), the compact copy
that start-up reads instead of the JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyvalkey.protocol.replies import Map, RespSet, SimpleString

__all__ = ["COMMANDS", "Command", "command", "load_metadata", "lookup_command"]

Handler = Callable[..., Any]

_DATA_FILE = Path(__file__).parent / "data" / "commands.json"
_METADATA: dict[str, Any] | None = None

# Start-up reads only what dispatch needs (arity, flags, key positions, ACL categories, key specs,
# group) from ``_command_meta``, a generated module pip compiles to bytecode: parsing the whole
# JSON and converting every entry took ~35 ms of each start. The full tagged entries (for COMMAND
# INFO/DOCS) are parsed the first time one is asked for. The generated module records the CRC of
# the JSON it came from; when they differ the JSON is used, so a stale module is only slower.
_COMPACT: dict[str, tuple[Any, ...]] | None = None
_META_MODULE = Path(__file__).parent / "_command_meta.py"


def load_metadata() -> dict[str, Any]:
    global _METADATA
    if _METADATA is None:
        import json

        _METADATA = json.loads(_DATA_FILE.read_bytes())
    return _METADATA


def _source_crc() -> int:
    import zlib

    return zlib.crc32(_DATA_FILE.read_bytes())


def compact_table() -> dict[str, tuple[Any, ...]]:
    """fullname -> (arity, flags, first_key, last_key, key_step, acl categories, key specs, group)
    for every command and subcommand in commands.json."""
    global _COMPACT
    if _COMPACT is None:
        try:
            from pyvalkey.commands import _command_meta
        except ImportError:
            _command_meta = None  # type: ignore[assignment]
        if _command_meta is not None and _command_meta.SOURCE_CRC == _source_crc():
            _COMPACT = _command_meta.TABLE
        else:
            _COMPACT = build_compact_table()
    return _COMPACT


def _compact_entry(info: list[Any], docs: Any) -> tuple[Any, ...]:
    plain_docs = _plain(docs) if docs else {}
    return (
        info[1],
        tuple(_plain(info[2])),
        info[3],
        info[4],
        info[5],
        tuple(c.lstrip("@") for c in _plain(info[6])),
        _plain(info[8]),
        plain_docs.get("group", ""),
    )


def build_compact_table() -> dict[str, tuple[Any, ...]]:
    """The compact table computed from commands.json (what ``_command_meta`` caches)."""
    table: dict[str, tuple[Any, ...]] = {}
    for name, entry in load_metadata().items():
        table[name] = _compact_entry(entry["info"], entry["docs"])
        for sub_info in entry["info"][9]:
            table[sub_info[0]] = _compact_entry(*_metadata_for(sub_info[0]))
    return table


def write_meta_module(path: Path = _META_MODULE) -> None:
    """Regenerate ``_command_meta.py`` from commands.json (run after tools/gen_command_data.py):
    ``python -c "from pyvalkey.commands.registry import write_meta_module; write_meta_module()"``."""
    lines = [
        '"""Generated from data/commands.json by registry.write_meta_module(): do not edit.',
        "",
        "fullname -> (arity, flags, first_key, last_key, key_step, acl categories, key specs, group).",
        '"""',
        "",
        f"SOURCE_CRC = {_source_crc()}",
        "TABLE = {",
    ]
    for name, entry in build_compact_table().items():
        lines.append(f"    {name!r}: {entry!r},")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def from_tagged(value: Any) -> Any:
    """Tagged JSON (see tools/gen_command_data.py) to reply values."""
    if isinstance(value, dict):
        if "+" in value:
            return SimpleString(value["+"].encode())
        if "~" in value:
            return RespSet(from_tagged(item) for item in value["~"])
        if "%" in value:
            return Map((from_tagged(k), from_tagged(v)) for k, v in value["%"])
    if isinstance(value, list):
        return [from_tagged(item) for item in value]
    if isinstance(value, str):
        return value.encode()
    return value


def _plain(value: Any) -> Any:
    """Tagged JSON to plain Python (sets to lists, maps to dicts, simple strings to str)."""
    if isinstance(value, dict):
        if "+" in value:
            return value["+"]
        if "~" in value:
            return [_plain(item) for item in value["~"]]
        if "%" in value:
            return {k: _plain(v) for k, v in value["%"]}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


_UNLOADED: Any = object()


class Command:
    """One entry of the command table (a top-level command or a subcommand)."""

    __slots__ = (
        "_docs_raw",
        "_info_raw",
        "acl_categories",
        "admin",
        "allow_busy",
        "arity",
        "blocking",
        "calls",
        "denyoom",
        "failed_calls",
        "first_key",
        "flags",
        "fullname",
        "group",
        "handler",
        "is_readonly",
        "is_write",
        "key_specs",
        "key_step",
        "last_key",
        "latency_us",
        "loading_ok",
        "may_replicate",
        "name",
        "no_auth",
        "no_multi",
        "noscript",
        "parent",
        "pubsub_ok",
        "rejected_calls",
        "stale_ok",
        "subcommands",
        "usec",
    )

    def __init__(
        self,
        fullname: str,
        handler: Handler | None,
        info: list[Any] | None = None,
        docs: Any = None,
        compact: tuple[Any, ...] | None = None,
    ) -> None:
        self.fullname = fullname
        self.name = fullname.rsplit("|", 1)[-1].encode()
        self.handler = handler
        if compact is None:
            if info is None:
                info, docs = _metadata_for(fullname)
            compact = _compact_entry(info, docs)
            self._info_raw = info
            self._docs_raw = docs
        else:
            # The tagged entries are read from the JSON on first use (COMMAND INFO/DOCS).
            self._info_raw = _UNLOADED
            self._docs_raw = _UNLOADED
        arity, flags, first_key, last_key, key_step, acl, key_specs, group = compact
        self.arity: int = arity
        self.flags = frozenset(flags)
        self.first_key: int = first_key
        self.last_key: int = last_key
        self.key_step: int = key_step
        self.acl_categories = frozenset(acl)
        self.key_specs: list[dict[str, Any]] = key_specs
        self.subcommands: dict[bytes, Command] = {}
        self.parent: Command | None = None
        self.group: str = group
        flags = self.flags
        self.is_write = "write" in flags
        self.is_readonly = "readonly" in flags
        self.denyoom = "denyoom" in flags
        self.noscript = "noscript" in flags
        self.loading_ok = "loading" in flags
        self.stale_ok = "stale" in flags
        self.no_auth = "no_auth" in flags
        self.no_multi = "no_multi" in flags
        self.allow_busy = "allow_busy" in flags
        self.pubsub_ok = "pubsub" in flags
        self.admin = "admin" in flags
        self.may_replicate = "may_replicate" in flags
        self.blocking = "blocking" in flags
        self.reset_stats()

    def _load_raw(self) -> None:
        self._info_raw, self._docs_raw = _metadata_for(self.fullname)

    @property
    def info_raw(self) -> list[Any]:
        """Valkey's tagged COMMAND INFO entry for this command."""
        if self._info_raw is _UNLOADED:
            self._load_raw()
        return self._info_raw  # type: ignore[no-any-return]

    @property
    def docs_raw(self) -> Any:
        """Valkey's tagged COMMAND DOCS entry for this command (None when it has none)."""
        if self._docs_raw is _UNLOADED:
            self._load_raw()
        return self._docs_raw

    def reset_stats(self) -> None:
        self.calls = 0
        self.usec = 0
        # {call duration in µs: calls} while latency-tracking is on (pyvalkey/latency.py)
        self.latency_us: dict[int, int] = {}
        self.rejected_calls = 0
        self.failed_calls = 0

    def info_reply(self) -> list[Any]:
        """This command's ``COMMAND INFO`` entry, listing only the subcommands we serve."""
        entry = from_tagged(self.info_raw[:9])
        entry.append([sub.info_reply() for sub in self.subcommands.values()])
        return entry  # type: ignore[no-any-return]

    def docs_reply(self) -> Any:
        docs = from_tagged(self.docs_raw) if self.docs_raw else Map()
        if self.subcommands:
            docs = Map(pair for pair in docs if pair[0] != b"subcommands")
            docs.append(
                (b"subcommands", Map((sub.fullname.encode(), sub.docs_reply()) for sub in self.subcommands.values()))
            )
        return docs

    def __repr__(self) -> str:
        return f"<Command {self.fullname}>"


# name (lowercase bytes) -> Command, for every command with a handler.
COMMANDS: dict[bytes, Command] = {}


def _metadata_for(fullname: str) -> tuple[list[Any], Any]:
    table = load_metadata()
    container, _, sub = fullname.partition("|")
    entry = table.get(container)
    if entry is None:
        raise KeyError(f"no Valkey metadata for command {fullname!r}")
    if not sub:
        return entry["info"], entry["docs"]
    for sub_info in entry["info"][9]:
        if sub_info[0] == fullname:
            sub_docs = None
            if entry["docs"]:
                for key, value in entry["docs"]["%"]:
                    if key == "subcommands":
                        for sub_name, doc in value["%"]:
                            if sub_name == fullname:
                                sub_docs = doc
            return sub_info, sub_docs
    raise KeyError(f"no Valkey metadata for subcommand {fullname!r}")


def _compact_for(fullname: str) -> tuple[Any, ...]:
    entry = compact_table().get(fullname)
    if entry is None:
        kind = "subcommand" if "|" in fullname else "command"
        raise KeyError(f"no Valkey metadata for {kind} {fullname!r}")
    return entry


def _container(name: str) -> Command:
    key = name.encode()
    existing = COMMANDS.get(key)
    if existing is not None:
        return existing
    container = Command(name, None, compact=_compact_for(name))
    COMMANDS[key] = container
    return container


def command(fullname: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``fullname`` (``"get"`` or ``"config|get"``)."""

    def register(handler: Handler) -> Handler:
        cmd = Command(fullname, handler, compact=_compact_for(fullname))
        if "|" in fullname:
            parent = _container(fullname.split("|", 1)[0])
            cmd.parent = parent
            parent.subcommands[cmd.name] = cmd
        else:
            existing = COMMANDS.get(fullname.encode())
            if existing is not None:
                cmd.subcommands = existing.subcommands
                for sub in cmd.subcommands.values():
                    sub.parent = cmd
            COMMANDS[fullname.encode()] = cmd
        return handler

    return register


def lookup_command(argv: list[bytes]) -> Command | None:
    """The command (or subcommand) ``argv`` names, or None."""
    cmd = COMMANDS.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(argv[1].lower())
    return cmd


def all_commands() -> list[Command]:
    result = []
    for cmd in COMMANDS.values():
        result.append(cmd)
        result.extend(cmd.subcommands.values())
    return result
