"""Generic keyspace commands (Valkey's db.c / expire.c group)."""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK


def _flush_mode(argv: list[bytes]) -> None:
    if len(argv) > 2:
        raise ErrorReply(msg.SYNTAX)
    if len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC"):
        raise ErrorReply(msg.SYNTAX)


@command("flushall")
def flushall(client: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    keyspace = client.server.keyspace
    removed = sum(db.clear() for db in keyspace.dbs)
    keyspace.dirty += removed + 1
    return OK


@command("flushdb")
def flushdb(client: Client, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    removed = client.db.clear()
    client.server.keyspace.dirty += removed + 1
    return OK


@command("dbsize")
def dbsize(client: Client, argv: list[bytes]) -> Any:
    return len(client.db.data)
