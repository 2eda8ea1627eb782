"""Replication commands of the primary side: SYNC, PSYNC, REPLCONF.

The stream itself lives in pyvalkey/replication/primary.py. The replica side (REPLICAOF,
connecting to a primary) is not built yet.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply
from pyvalkey.protocol.replies import NO_REPLY, OK
from pyvalkey.replication.primary import primary

_ALREADY_REPLICA = b"ERR Replica already connected"


@command("sync")
def sync(client: Client, argv: list[bytes]) -> Any:
    if "replica" in client.flags:
        return NO_REPLY  # Valkey ignores SYNC from a client that already is a replica
    primary(client.server).full_sync(client, psync=False)
    return NO_REPLY


@command("psync")
def psync(client: Client, argv: list[bytes]) -> Any:
    if "replica" in client.flags:
        return NO_REPLY
    manager = primary(client.server)
    offset = parse_int(argv[2])
    if argv[1] != b"?" and offset is not None and manager.try_partial_sync(client, argv[1], offset):
        return NO_REPLY
    manager.full_sync(client, psync=True)
    return NO_REPLY


_REPLCONF_OPTIONS = {
    b"listening-port",
    b"ip-address",
    b"capa",
    b"rdb-only",
    b"rdb-filter-only",
    b"rdb-channel",
    b"main-ch-client-id",
    b"version",
    b"getack",
    b"ack",
    b"fack",
}


@command("replconf")
def replconf(client: Client, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise ErrorReply(b"ERR syntax error")
    for i in range(1, len(argv), 2):
        option = argv[i].lower()
        value = argv[i + 1]
        if option not in _REPLCONF_OPTIONS:
            raise ErrorReply(b"ERR Unrecognized REPLCONF option: %s" % argv[i])
        if option == b"listening-port":
            port = parse_int(value)
            if port is None:
                raise ErrorReply(b"ERR value is not an integer or out of range")
            client.extra["listening_port"] = port
        elif option == b"ack":
            # A replica reporting how far it got: no reply, as in Valkey.
            acked = parse_int(value)
            if acked is not None:
                client.extra["ack_offset"] = acked
            client.extra["ack_time"] = client.server.clock.seconds()
            return NO_REPLY
        elif option == b"fack" or option == b"getack":
            return NO_REPLY
    return OK
