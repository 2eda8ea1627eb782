"""Replication commands: SYNC, PSYNC, REPLCONF (primary side), REPLICAOF / SLAVEOF, ROLE, WAIT,
WAITAOF, and the INFO replication section.

The stream and the acknowledgements live in pyvalkey/replication/primary.py, the link to our
own primary in pyvalkey/replication/replica.py.
"""

from __future__ import annotations

from typing import Any

from pyvalkey import info as info_module
from pyvalkey.blocking import parse_timeout
from pyvalkey.client import Client
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply
from pyvalkey.protocol.replies import NO_REPLY, OK, Raw
from pyvalkey.replication.primary import primary
from pyvalkey.replication.replica import CONNECTED, is_replica, replica_link

_NOT_INTEGER = b"ERR value is not an integer or out of range"
_NOMASTERLINK = b"NOMASTERLINK Can't SYNC while not connected with my master"
_INVALID_PORT = b"ERR Invalid master port"
_REPLICA_CLIENT = b"ERR Command is not valid when client is a replica."
_ALREADY_CONNECTED = Raw(b"+OK Already connected to specified master\r\n")
_WAIT_ON_REPLICA = (
    b"ERR WAIT cannot be used with replica instances. Please also note that if a replica is configured to be "
    b"writable (which is not the default) writes to replicas are just local and are not propagated."
)
_WAITAOF_ON_REPLICA = (
    b"ERR WAITAOF cannot be used with replica instances. Please also note that writes to replicas are just "
    b"local and are not propagated."
)
_WAITAOF_NO_AOF = b"ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."
_NUMLOCAL_RANGE = b"ERR value is out of range, value must between 0 and 1"
_NOT_POSITIVE = b"ERR value is out of range, must be positive"


def _refuse_sync_when_stale(client: Client) -> None:
    server = client.server
    if is_replica(server) and replica_link(server).state != CONNECTED:
        raise ErrorReply(_NOMASTERLINK)


@command("sync")
def sync(client: Client, argv: list[bytes]) -> Any:
    if "replica" in client.flags:
        return NO_REPLY  # Valkey ignores SYNC from a client that already is a replica
    _refuse_sync_when_stale(client)
    primary(client.server).full_sync(client, psync=False)
    return NO_REPLY


@command("psync")
def psync(client: Client, argv: list[bytes]) -> Any:
    if "replica" in client.flags:
        return NO_REPLY
    _refuse_sync_when_stale(client)
    manager = primary(client.server)
    offset = parse_int(argv[2])
    if argv[1] != b"?":
        if offset is not None and manager.try_partial_sync(client, argv[1], offset):
            return NO_REPLY
        manager.sync_partial_err += 1
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
                raise ErrorReply(_NOT_INTEGER)
            client.extra["listening_port"] = port
        elif option == b"ip-address":
            if len(value) >= 46:  # NET_HOST_STR_LEN
                raise ErrorReply(
                    b"ERR REPLCONF ip-address provided by replica instance is too long: %d bytes" % len(value)
                )
            client.extra["ip_address"] = value.decode(errors="replace")
        elif option == b"ack":
            # A replica reporting how far it got (and, with FACK, how far its AOF is fsynced):
            # no reply, as in Valkey; ignored from a client that is not a replica.
            if "replica" not in client.flags:
                return NO_REPLY
            acked = parse_int(value)
            if acked is None:
                return NO_REPLY
            aof_acked = None
            if len(argv) > i + 3 and argv[i + 2].lower() == b"fack":
                aof_acked = parse_int(argv[i + 3])
            primary(client.server).on_ack(client, acked, aof_acked)
            return NO_REPLY
        elif option == b"getack":
            link = getattr(client.server, "replication", None)
            if link is not None and link.client is not None:
                link.send_ack()
            return NO_REPLY
        elif option == b"fack":
            return NO_REPLY
    return OK


# -- REPLICAOF -------------------------------------------------------------------------------------


def _replicaof(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    if server.config.cluster_enabled:
        raise ErrorReply(b"ERR REPLICAOF not allowed in cluster mode.")
    host, port_arg = argv[1], argv[2]
    link = replica_link(server)
    if host.lower() == b"no" and port_arg.lower() == b"one":
        link.unset_primary()
        return OK
    if "replica" in client.flags:
        raise ErrorReply(_REPLICA_CLIENT)
    port = parse_int(port_arg)
    if port is None or port < 0 or port > 65535:
        raise ErrorReply(_INVALID_PORT)
    name = host.decode(errors="replace")
    if link.primary_host is not None and link.primary_host.lower() == name.lower() and link.primary_port == port:
        return _ALREADY_CONNECTED
    link.set_primary(name, port)
    return OK


@command("replicaof")
def replicaof(client: Client, argv: list[bytes]) -> Any:
    return _replicaof(client, argv)


@command("slaveof")
def slaveof(client: Client, argv: list[bytes]) -> Any:
    return _replicaof(client, argv)


# -- ROLE ------------------------------------------------------------------------------------------


@command("role")
def role(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    if is_replica(server):
        link = replica_link(server)
        return [
            b"slave",
            (link.primary_host or "").encode(),
            link.primary_port,
            link.role_state(),
            link.reploff if link.client is not None else -1,
        ]
    manager = primary(server)
    replicas = []
    for replica in manager.replicas:
        host, port = manager.replica_address(replica)
        replicas.append([host.encode(), b"%d" % port, b"%d" % replica.extra.get("ack_offset", 0)])
    return [b"master", manager.offset, replicas]


# -- WAIT / WAITAOF --------------------------------------------------------------------------------


@command("wait")
def wait(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    if is_replica(server):
        raise ErrorReply(_WAIT_ON_REPLICA)
    numreplicas = parse_int(argv[1])
    if numreplicas is None:
        raise ErrorReply(_NOT_INTEGER)
    deadline = parse_timeout(argv[2], client, unit_ms=1)
    return primary(server).wait(client, numreplicas, 0, deadline, aof=False)


@command("waitaof")
def waitaof(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    numlocal = parse_int(argv[1])
    if numlocal is None:
        raise ErrorReply(_NOT_INTEGER)
    if numlocal < 0 or numlocal > 1:
        raise ErrorReply(_NUMLOCAL_RANGE)
    numreplicas = parse_int(argv[2])
    if numreplicas is None or numreplicas < 0:
        raise ErrorReply(_NOT_POSITIVE)
    deadline = parse_timeout(argv[3], client, unit_ms=1)
    if is_replica(server):
        raise ErrorReply(_WAITAOF_ON_REPLICA)
    if numlocal and not server.config.appendonly:
        raise ErrorReply(_WAITAOF_NO_AOF)
    return primary(server).wait(client, numreplicas, numlocal, deadline, aof=True)


# -- INFO replication ------------------------------------------------------------------------------


def _info_replication(server: Any) -> list[tuple[str, Any]]:
    manager = primary(server)
    replid, replid2 = info_module.repl_ids(server)
    fields: list[tuple[str, Any]] = []
    if is_replica(server):
        fields.append(("role", "slave"))
        fields += replica_link(server).info_fields()
    else:
        fields.append(("role", "master"))
    fields += manager.info_fields()
    # min_slaves_good_slaves only while min-replicas-to-write is in force (Valkey's order).
    config = server.config
    if config.min_replicas_to_write and config.min_replicas_max_lag:
        fields.insert(len(fields) - len(manager.replicas), ("min_slaves_good_slaves", _good_replicas(server)))
    backlog = manager.backlog_active
    fields += [
        ("replicas_waiting_psync", 0),
        ("master_failover_state", "no-failover"),
        ("master_replid", replid),
        ("master_replid2", replid2),
        ("master_repl_offset", manager.offset),
        ("second_repl_offset", manager.second_offset),
        ("repl_backlog_active", int(backlog)),
        ("repl_backlog_size", config.repl_backlog_size),
        ("repl_backlog_first_byte_offset", manager.backlog_first_offset if backlog else 0),
        ("repl_backlog_histlen", len(manager.backlog) if backlog else 0),
    ]
    return fields


def _good_replicas(server: Any) -> int:
    guard = getattr(server, "min_replicas_guard", None)
    return guard.good_replicas() if guard is not None else 0


def _info_stats(server: Any) -> dict[str, Any]:
    manager = getattr(server, "replication_primary", None)
    if manager is None:
        return {}
    return {
        "sync_full": manager.sync_full,
        "sync_partial_ok": manager.sync_partial_ok,
        "sync_partial_err": manager.sync_partial_err,
    }


info_module.register_lines("replication", _info_replication)
info_module.register_values("stats", _info_stats)
