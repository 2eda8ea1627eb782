"""The directive registry: one table drives the config file, the command line, CONFIG GET / SET /
REWRITE and INFO.

Each ``Directive`` knows its type (how text becomes a value and back, as Valkey prints it), its
default, whether CONFIG SET may change it at run time, and an optional ``apply`` hook that pushes
a new value into the running server. Values live as attributes of ``Config`` named with
underscores (``proto-max-bulk-len`` -> ``config.proto_max_bulk_len``) so hot paths read them
without a lookup.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = ["Directive", "Config", "ConfigError", "DIRECTIVES", "parse_memory", "directive"]


class ConfigError(ValueError):
    """A bad value; the message is the reason Valkey gives (used in CONFIG SET and file errors)."""


_MEMORY_UNITS = {
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(text: str) -> int:
    """Valkey's memtoull: ``1k`` = 1000, ``1kb`` = 1024, case-insensitive; plain integers."""
    lowered = text.strip().lower()
    number = lowered
    multiplier = 1
    for unit in ("kb", "mb", "gb", "k", "m", "g", "b"):
        if lowered.endswith(unit):
            number = lowered[: -len(unit)]
            multiplier = _MEMORY_UNITS[unit]
            break
    if not number or not (number.isdigit() or (number[0] == "-" and number[1:].isdigit())):
        raise ConfigError("argument must be a memory value")
    return int(number) * multiplier


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


@dataclass(eq=False)
class Directive:
    name: str
    kind: str  # bool | int | memory | string | enum | flags | special
    default: Any
    mutable: bool = True
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    # special kinds: text -> value and value -> text
    parser: Optional[Callable[[str], Any]] = None
    formatter: Optional[Callable[[Any], str]] = None
    apply: Optional[Callable[[Any, Any], None]] = None  # (server, value)
    sensitive: bool = False
    attr: str = field(init=False)

    def __post_init__(self) -> None:
        self.attr = self.name.replace("-", "_")

    def parse(self, text: str) -> Any:
        if self.parser is not None:
            return self.parser(text)
        kind = self.kind
        if kind == "bool":
            return _parse_bool(text)
        if kind in ("int", "memory"):
            if kind == "memory":
                value = parse_memory(text)
            else:
                try:
                    value = int(text)
                except ValueError:
                    raise ConfigError("argument couldn't be parsed into an integer") from None
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise ConfigError(f"argument must be between {self.minimum} and {self.maximum} inclusive")
            return value
        if kind == "enum":
            lowered = text.lower()
            if lowered not in self.choices:
                raise ConfigError(f"argument(s) must be one of the following: {', '.join(self.choices)}")
            return lowered
        return text

    def format(self, value: Any) -> str:
        if self.formatter is not None:
            return self.formatter(value)
        if self.kind == "bool":
            return "yes" if value else "no"
        return str(value)


DIRECTIVES: dict[str, Directive] = {}


def directive(*args: Any, **kwargs: Any) -> Directive:
    item = Directive(*args, **kwargs)
    DIRECTIVES[item.name] = item
    for alias in item.aliases:
        DIRECTIVES[alias] = item
    return item


def _save_parse(text: str) -> list[tuple[int, int]]:
    parts = text.split()
    if len(parts) % 2:
        raise ConfigError("Invalid save parameters")
    points = []
    for seconds, changes in zip(parts[::2], parts[1::2]):
        try:
            points.append((int(seconds), int(changes)))
        except ValueError:
            raise ConfigError("Invalid save parameters") from None
    return points


def _save_format(points: list[tuple[int, int]]) -> str:
    return " ".join(f"{s} {c}" for s, c in points)


# The core set of directives; further groups register their own next to their code.
directive("port", "int", 6379, minimum=0, maximum=65535)
directive("bind", "special", ["*", "-::*"], parser=str.split, formatter=" ".join)
directive("unixsocket", "string", "", mutable=False)
directive("unixsocketperm", "int", 0, mutable=False, parser=lambda t: int(t, 8), formatter=lambda v: "%o" % v)
directive("tcp-backlog", "int", 511, mutable=False)
directive("tcp-keepalive", "int", 300, minimum=0)
directive("timeout", "int", 0, minimum=0)
directive("databases", "int", 16, mutable=False, minimum=1)
directive("maxclients", "int", 10000, minimum=1)
directive("requirepass", "string", "", sensitive=True)
directive("proto-max-bulk-len", "memory", 512 * 1024 * 1024, minimum=1024 * 1024)
directive("client-query-buffer-limit", "memory", 1024 * 1024 * 1024, minimum=1024 * 1024)
directive("hz", "int", 10, minimum=1, maximum=500)
directive("dir", "string", ".")
directive("dbfilename", "string", "dump.rdb")
directive("save", "special", [(3600, 1), (300, 100), (60, 10000)], parser=_save_parse, formatter=_save_format)
directive("appendonly", "bool", False)
directive("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning", "nothing"))
directive("logfile", "string", "", mutable=False)
directive("daemonize", "bool", False, mutable=False)
directive("pidfile", "string", "", mutable=False)
directive("slowlog-log-slower-than", "int", 10000)
directive("slowlog-max-len", "int", 128, minimum=0)
directive("enable-debug-command", "enum", "no", mutable=False, choices=("no", "yes", "local"))
directive("notify-keyspace-events", "string", "")
directive("maxmemory", "memory", 0)
directive(
    "maxmemory-policy",
    "enum",
    "noeviction",
    choices=(
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "noeviction",
    ),
)


class Config:
    """Current values, one attribute per directive; ``file`` is the config file path, if any."""

    def __init__(self) -> None:
        self.file: Optional[str] = None
        self.applied_from_file: dict[str, Any] = {}
        for item in set(DIRECTIVES.values()):
            value = item.default
            if isinstance(value, list):
                value = list(value)
            setattr(self, item.attr, value)

    def __getattr__(self, name: str) -> Any:
        # A directive registered after this Config was created (a later command group).
        item = DIRECTIVES.get(name.replace("_", "-"))
        if item is None:
            raise AttributeError(name)
        value = item.default
        setattr(self, name, value)
        return value

    def get(self, name: str) -> Any:
        item = DIRECTIVES[name.lower()]
        return getattr(self, item.attr)

    def set_text(self, name: str, text: str, server: Any = None) -> None:
        """Parse ``text`` for directive ``name`` and store it (running its apply hook)."""
        item = DIRECTIVES.get(name.lower())
        if item is None:
            raise KeyError(name)
        value = item.parse(text)
        setattr(self, item.attr, value)
        if item.apply is not None and server is not None:
            item.apply(server, value)

    def formatted(self, name: str) -> str:
        item = DIRECTIVES[name.lower()]
        return item.format(getattr(self, item.attr))

    def matching(self, pattern: str) -> list[tuple[str, str]]:
        """(name, text) for each directive whose name or alias matches the glob ``pattern``."""
        pattern = pattern.lower()
        result = []
        for name in sorted(DIRECTIVES):
            if fnmatch.fnmatchcase(name, pattern):
                result.append((name, self.formatted(name)))
        return result
