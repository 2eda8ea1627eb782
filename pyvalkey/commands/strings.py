"""String commands (placeholder set for the first end-to-end run; the full group follows)."""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK


@command("get")
def get(client: Client, argv: list[bytes]) -> Any:
    value = client.db.lookup_read(argv[1])
    if value is None or type(value) is bytes or type(value) is bytearray:
        return value
    raise ErrorReply(msg.WRONGTYPE)


@command("set")
def set_(client: Client, argv: list[bytes]) -> Any:
    client.db.set(argv[1], argv[2])
    client.server.keyspace.dirty += 1
    return OK
