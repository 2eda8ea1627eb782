"""Connection commands: PING, ECHO, SELECT, QUIT (HELLO, AUTH, CLIENT ... live here too)."""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK, PONG, Push

_PONG_PUSH_EMPTY = b""


@command("ping")
def ping(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise ErrorReply(msg.WRONG_ARITY % b"ping")
    if "subscriber" in client.flags and not client.resp3:
        return [b"pong", argv[1] if len(argv) == 2 else _PONG_PUSH_EMPTY]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo")
def echo(client: Client, argv: list[bytes]) -> Any:
    return argv[1]


@command("select")
def select(client: Client, argv: list[bytes]) -> Any:
    try:
        index = int(argv[1])
    except ValueError:
        raise ErrorReply(msg.NOT_INTEGER) from None
    if not 0 <= index < len(client.server.keyspace.dbs):
        raise ErrorReply(msg.DB_INDEX)
    client.select(index)
    return OK


@command("quit")
def quit_(client: Client, argv: list[bytes]) -> Any:
    client.close_after_reply = True
    return OK


_ = Push
