"""The append-only file on disk, in Valkey's multi-part layout: the manifest, reading a file of
commands back, and writing a dataset out as commands.

``appenddirname`` holds one base file (``<appendfilename>.<seq>.base.rdb`` when it is an RDB
image, ``.base.aof`` when it is commands), the incremental files written since that base
(``<appendfilename>.<seq>.incr.aof``) and the manifest ``<appendfilename>.manifest`` that lists
them, one ``file <name> seq <n> type b|h|i`` line each (``h``: history, a file a rewrite made
obsolete that is about to be deleted). Nothing here knows about the running server: the
server side (commands/aof.py) decides when to write and how to execute what is read.

Any file may begin with an RDB image (an "RDB preamble", also the old single-file AOF layout)
followed by commands; lines starting with ``#`` are annotations (``#TS:<unix time>``) and are
skipped on load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pyvalkey.config import ConfigError, quote_arg, split_args

__all__ = [
    "TYPE_BASE",
    "TYPE_HIST",
    "TYPE_INCR",
    "AofFileError",
    "AofInfo",
    "Manifest",
    "ReplayResult",
    "dataset_commands",
    "replay",
]

TYPE_BASE = "b"
TYPE_HIST = "h"
TYPE_INCR = "i"

# Valkey rewrites collections in commands of at most this many items (AOF_REWRITE_ITEMS_PER_CMD).
ITEMS_PER_COMMAND = 64
_MAX_MANIFEST_LINE = 1024


class AofFileError(Exception):
    """A manifest or AOF that cannot be loaded (start-up stops with this message)."""


@dataclass
class AofInfo:
    name: str
    seq: int
    kind: str


@dataclass
class Manifest:
    base: AofInfo | None = None
    incrs: list[AofInfo] = field(default_factory=list)
    history: list[AofInfo] = field(default_factory=list)
    base_seq: int = 0  # highest base sequence number handed out
    incr_seq: int = 0  # highest incremental sequence number handed out

    # -- text ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: bytes) -> Manifest:
        manifest = cls()
        for raw in text.split(b"\n"):
            if len(raw) > _MAX_MANIFEST_LINE:
                raise AofFileError("The AOF manifest file contains too long line")
            line = raw.strip(b"\r").decode("utf-8", "surrogateescape").strip()
            if not line or line.startswith("#"):
                continue
            try:
                words = split_args(line)
            except ConfigError:
                raise AofFileError("Invalid AOF manifest file format") from None
            if len(words) % 2:
                raise AofFileError("Invalid AOF manifest file format")
            values = dict(zip(words[::2], words[1::2]))
            name, seq, kind = values.get("file"), values.get("seq"), values.get("type")
            if not name or seq is None or kind not in (TYPE_BASE, TYPE_HIST, TYPE_INCR):
                raise AofFileError("Invalid AOF manifest file format")
            if not seq.isdigit():
                raise AofFileError("Invalid AOF manifest file format")
            info = AofInfo(name, int(seq), kind)
            if kind == TYPE_BASE:
                if manifest.base is not None:
                    raise AofFileError("Found duplicate base file information")
                manifest.base = info
                manifest.base_seq = info.seq
            elif kind == TYPE_HIST:
                manifest.history.append(info)
            else:
                if info.seq <= manifest.incr_seq and manifest.incrs:
                    raise AofFileError("Found a non-monotonic sequence number")
                manifest.incrs.append(info)
                manifest.incr_seq = info.seq
        return manifest

    def render(self) -> bytes:
        lines = []
        for info in self.files(with_history=True):
            lines.append(f"file {quote_arg(info.name)} seq {info.seq} type {info.kind}\n")
        return "".join(lines).encode("utf-8", "surrogateescape")

    # -- contents ------------------------------------------------------------------------------

    def files(self, with_history: bool = False) -> list[AofInfo]:
        """Base first, then (optionally) history, then the incremental files in order."""
        listed = [self.base] if self.base is not None else []
        if with_history:
            listed.extend(self.history)
        listed.extend(self.incrs)
        return listed

    def copy(self) -> Manifest:
        return Manifest(
            AofInfo(**vars(self.base)) if self.base else None,
            [AofInfo(**vars(i)) for i in self.incrs],
            [AofInfo(**vars(i)) for i in self.history],
            self.base_seq,
            self.incr_seq,
        )

    def new_base(self, filename: str, rdb_preamble: bool) -> AofInfo:
        """A base for the next rewrite; the current one becomes history."""
        if self.base is not None:
            self.base.kind = TYPE_HIST
            self.history.append(self.base)
        self.base_seq += 1
        suffix = "rdb" if rdb_preamble else "aof"
        self.base = AofInfo(f"{filename}.{self.base_seq}.base.{suffix}", self.base_seq, TYPE_BASE)
        return self.base

    def new_incr(self, filename: str) -> AofInfo:
        self.incr_seq += 1
        info = AofInfo(f"{filename}.{self.incr_seq}.incr.aof", self.incr_seq, TYPE_INCR)
        self.incrs.append(info)
        return info

    def retire_incrs(self, keep_last: bool) -> None:
        """After a rewrite: the incremental files it covered become history."""
        keep = self.incrs[-1:] if keep_last else []
        for info in self.incrs[: len(self.incrs) - len(keep)]:
            info.kind = TYPE_HIST
            self.history.append(info)
        self.incrs = keep


def write_file_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, rename it over ``path``."""
    directory, name = os.path.split(path)
    temp = os.path.join(directory, "temp-" + name)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    fsync_dir(directory or ".")


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading -----------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    commands: int = 0
    empty: bool = False
    truncated_at: int = -1  # offset of the last complete command when the file ends mid-command
    rdb: Any = None  # rdb.LoadResult of a preamble


class _Truncated(Exception):
    pass


def _read_commands(handle: IO[bytes], offset: int) -> Iterator[tuple[list[bytes] | None, int]]:
    """(argv, offset after it) for each command from ``offset``; argv None for an annotation.
    Raises ``_Truncated`` when the file ends inside a command, ``AofFileError`` on bad bytes."""
    readline = handle.readline
    read = handle.read
    while True:
        line = readline(1024 * 64)
        if not line:
            return
        if line[:1] == b"#":
            if not line.endswith(b"\n"):
                # An annotation cut short: it carries no data, but the file still ends inside it.
                raise _Truncated
            offset += len(line)
            yield None, offset
            continue
        if line[:1] != b"*":
            raise AofFileError("Bad file format reading the append only file")
        if not line.endswith(b"\n"):
            raise _Truncated
        try:
            argc = int(line[1:].strip())
        except ValueError:
            raise AofFileError("Bad file format reading the append only file") from None
        if argc < 1:
            raise AofFileError("Bad file format reading the append only file")
        consumed = len(line)
        argv = []
        for _ in range(argc):
            header = readline(1024 * 64)
            if not header or not header.endswith(b"\n"):
                raise _Truncated
            if header[:1] != b"$":
                raise AofFileError("Bad file format reading the append only file")
            try:
                size = int(header[1:].strip())
            except ValueError:
                raise AofFileError("Bad file format reading the append only file") from None
            if size < 0:
                raise AofFileError("Bad file format reading the append only file")
            payload = read(size + 2)
            if len(payload) < size + 2:
                raise _Truncated
            argv.append(payload[:size])
            consumed += len(header) + size + 2
        offset += consumed
        yield argv, offset


def replay(
    path: str,
    execute: Callable[[list[bytes]], None],
    load_rdb: Callable[[bytes], Any],
) -> ReplayResult:
    """Load one AOF file: an RDB preamble through ``load_rdb(data)`` (returns rdb.LoadResult),
    then every command through ``execute``. MULTI/EXEC blocks are applied only once complete:
    a file ending inside one is truncated before its MULTI."""
    result = ReplayResult()
    with open(path, "rb") as handle:
        head = handle.read(9)
        if not head:
            result.empty = True
            return result
        offset = 0
        if head.startswith((b"REDIS", b"VALKEY")):
            handle.seek(0)
            data = handle.read()
            result.rdb = load_rdb(data)
            offset = result.rdb.end
            del data
        handle.seek(offset)
        valid = offset  # end of the last command applied
        pending: list[list[bytes]] | None = None  # commands of an open MULTI
        try:
            for argv, end in _read_commands(handle, offset):
                if argv is None:
                    if pending is None:
                        valid = end
                    continue
                name = argv[0].lower()
                if name == b"multi":
                    pending = []
                    continue
                if pending is not None:
                    if name == b"exec":
                        for queued in pending:
                            execute(queued)
                            result.commands += 1
                        pending = None
                        valid = end
                    else:
                        pending.append(argv)
                    continue
                execute(argv)
                result.commands += 1
                valid = end
        except _Truncated:
            result.truncated_at = valid
            return result
        if pending is not None:
            # The file ended (cleanly) inside a transaction: it never completed.
            result.truncated_at = valid
    return result


# -- writing a dataset as commands -------------------------------------------------------------


def _batches(name: bytes, key: bytes, items: Iterable[bytes], per_item: int) -> Iterator[list[bytes]]:
    argv = [name, key]
    count = 0
    for item in items:
        argv.append(item)
        count += 1
        if count == ITEMS_PER_COMMAND * per_item:
            yield argv
            argv = [name, key]
            count = 0
    if count:
        yield argv


def value_commands(key: bytes, value: Any) -> Iterator[list[bytes]]:
    """Commands that rebuild ``value`` at ``key`` (no expiry)."""
    from pyvalkey.persistence import rdb

    if isinstance(value, (bytes, bytearray)):
        yield [b"SET", key, bytes(value)]
        return
    kind = getattr(value, "TYPE_NAME", None)
    if kind == b"list":
        yield from _batches(b"RPUSH", key, value.items, 1)
    elif kind == b"set":
        yield from _batches(b"SADD", key, value.ordered(), 1)
    elif kind == b"zset":
        flat = (x for score, member in value.sl for x in (rdb._score_text(score), member))
        yield from _batches(b"ZADD", key, flat, 2)
    elif kind == b"hash" and not value.expires:
        flat = (x for pair in value.data.items() for x in pair)
        yield from _batches(b"HMSET", key, flat, 2)
    else:
        # Streams (with their groups and PELs) and hashes with field TTLs: the serialized value
        # says everything at once, and both Valkey and we accept RESTORE in an AOF.
        yield [b"RESTORE", key, b"0", rdb.create_dump_payload(value, True)]


def dataset_commands(dbs: list[Any], functions: Iterable[bytes] = ()) -> Iterator[list[bytes]]:
    """The whole dataset as commands (a base file when aof-use-rdb-preamble is off)."""
    for code in functions:
        yield [b"FUNCTION", b"LOAD", code]
    for db in dbs:
        if not db.data:
            continue
        yield [b"SELECT", b"%d" % db.index]
        expires = db.expires
        for key, value in db.data.items():
            yield from value_commands(key, value)
            deadline = expires.get(key) if expires else None
            if deadline is not None:
                yield [b"PEXPIREAT", key, b"%d" % deadline]
