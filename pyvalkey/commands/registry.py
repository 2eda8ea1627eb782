"""The command table.

Each handler is a plain function ``handler(client, argv) -> reply`` registered by name:

    @command("get")
    def get(client: Client, argv: list[bytes]) -> Any: ...

    @command("config|get")          # a subcommand: container|sub
    def config_get(client, argv): ...

Metadata (arity, flags, key positions and key specs, ACL categories, tips, docs) is not typed by
hand: it is Valkey's own, read from the oracle by ``tools/gen_command_data.py`` into
``data/commands.json`` and checked against the live oracle by ``tests/test_command_table.py``.
Only commands that have a handler are in the table, so ``COMMAND`` lists what we serve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional

from pyvalkey.protocol.replies import Map, RespSet, SimpleString

__all__ = ["Command", "command", "COMMANDS", "lookup_command", "load_metadata"]

Handler = Callable[..., Any]

_DATA_FILE = Path(__file__).parent / "data" / "commands.json"
_METADATA: Optional[dict[str, Any]] = None


def load_metadata() -> dict[str, Any]:
    global _METADATA
    if _METADATA is None:
        _METADATA = json.loads(_DATA_FILE.read_text())
    return _METADATA


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


class Command:
    """One entry of the command table (a top-level command or a subcommand)."""

    __slots__ = (
        "name",
        "fullname",
        "handler",
        "arity",
        "flags",
        "first_key",
        "last_key",
        "key_step",
        "acl_categories",
        "key_specs",
        "subcommands",
        "parent",
        "info_raw",
        "docs_raw",
        "group",
        "calls",
        "usec",
        "rejected_calls",
        "failed_calls",
        "is_write",
        "is_readonly",
        "denyoom",
        "noscript",
        "loading_ok",
        "stale_ok",
        "no_auth",
        "no_multi",
        "allow_busy",
        "pubsub_ok",
        "admin",
        "may_replicate",
        "blocking",
    )

    def __init__(self, fullname: str, handler: Optional[Handler], info: list[Any], docs: Any) -> None:
        self.fullname = fullname
        self.name = fullname.rsplit("|", 1)[-1].encode()
        self.handler = handler
        self.info_raw = info
        self.docs_raw = docs
        self.arity: int = info[1]
        self.flags = frozenset(_plain(info[2]))
        self.first_key: int = info[3]
        self.last_key: int = info[4]
        self.key_step: int = info[5]
        self.acl_categories = frozenset(c.lstrip("@") for c in _plain(info[6]))
        self.key_specs: list[dict[str, Any]] = _plain(info[8])
        self.subcommands: dict[bytes, Command] = {}
        self.parent: Optional[Command] = None
        plain_docs = _plain(docs) if docs else {}
        self.group: str = plain_docs.get("group", "")
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

    def reset_stats(self) -> None:
        self.calls = 0
        self.usec = 0
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


def _container(name: str) -> Command:
    key = name.encode()
    existing = COMMANDS.get(key)
    if existing is not None:
        return existing
    info, docs = _metadata_for(name)
    container = Command(name, None, info, docs)
    COMMANDS[key] = container
    return container


def command(fullname: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``fullname`` (``"get"`` or ``"config|get"``)."""

    def register(handler: Handler) -> Handler:
        info, docs = _metadata_for(fullname)
        cmd = Command(fullname, handler, info, docs)
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


def lookup_command(argv: list[bytes]) -> Optional[Command]:
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
