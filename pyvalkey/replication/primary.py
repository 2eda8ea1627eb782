"""The primary side of replication: full and partial synchronisation and the command stream.

A replica connects, sends ``PSYNC <replid> <offset>`` (or the old ``SYNC``) and gets either
``+CONTINUE`` plus the part of the backlog it missed, or ``+FULLRESYNC <replid> <offset>`` and an
RDB snapshot of the dataset taken at that offset, followed by every write as the propagator
(pyvalkey/propagation.py) emits it: RESP commands, with SELECT whenever the database changes.

The backlog keeps the last ``repl-backlog-size`` bytes of the stream, so a replica that lost its
link for a moment resumes without a new snapshot. ``master_repl_offset`` counts every byte ever
sent to the stream.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Optional

from pyvalkey.propagation import Unit, encode_commands

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server


class ReplicationPrimary:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.replid = secrets.token_hex(20)
        self.replid2 = "0" * 40
        self.offset = 0  # master_repl_offset
        self.second_offset = -1
        self.replicas: list[Client] = []
        self.backlog = bytearray()
        self.backlog_first_offset = 0  # stream offset (1-based) of backlog[0]
        self.backlog_active = False
        self.stream_db = -1  # database the stream last SELECTed
        self.last_ping_ms = 0
        self.attached = False
        server.cron_jobs.append(self._cron)
        server.client_close_hooks.append(self._client_closed)

    # -- the stream ----------------------------------------------------------------------------

    def feed(self, unit: Unit) -> None:
        """Propagator sink: append an execution unit to the stream and send it to replicas."""
        out = bytearray()
        for db_index, argv in unit:
            if db_index >= 0 and db_index != self.stream_db:
                out += encode_commands([[b"SELECT", b"%d" % db_index]])
                self.stream_db = db_index
            out += encode_commands([argv])
        self._append(bytes(out))

    def _append(self, data: bytes) -> None:
        self.offset += len(data)
        backlog = self.backlog
        backlog += data
        limit = max(self.server.config.repl_backlog_size, 16 * 1024)
        if len(backlog) > limit:
            drop = len(backlog) - limit
            del backlog[:drop]
        self.backlog_first_offset = self.offset - len(backlog) + 1
        for replica in self.replicas:
            transport = replica.transport
            if transport is not None and not replica.closed:
                replica.out += data
                transport.flush()

    # -- synchronisation -----------------------------------------------------------------------

    def _ensure_attached(self) -> None:
        if not self.attached:
            self.server.propagator.attach(self)
            self.attached = True
            self.backlog_active = True
            self.backlog_first_offset = self.offset + 1

    def snapshot(self) -> bytes:
        from pyvalkey.commands.persistence import library_codes
        from pyvalkey.persistence.rdb import dump_file_bytes

        server = self.server
        config = server.config
        return dump_file_bytes(
            server.keyspace.dbs,
            compress=bool(config.rdbcompression),
            checksum=bool(config.rdbchecksum),
            functions=library_codes(server),
        )

    def full_sync(self, client: Client, psync: bool) -> None:
        """Send a snapshot and make ``client`` a replica that gets the stream from now on."""
        self._ensure_attached()
        # A fresh replica needs a SELECT before its first command.
        self.stream_db = -1
        rdb = self.snapshot()
        if psync:
            client.out += b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset)
        client.out += b"$%d\r\n" % len(rdb)
        client.out += rdb
        self._add_replica(client)

    def try_partial_sync(self, client: Client, replid: bytes, offset: int) -> bool:
        """``PSYNC replid offset``: continue from the backlog when it still holds ``offset``."""
        if not self.backlog_active:
            return False
        ours = replid.decode(errors="replace")
        if ours != self.replid and not (ours == self.replid2 and offset <= self.second_offset):
            return False
        if offset < self.backlog_first_offset or offset > self.offset + 1:
            return False
        client.out += b"+CONTINUE %s\r\n" % self.replid.encode()
        start = offset - self.backlog_first_offset
        client.out += bytes(self.backlog[start:])
        self._add_replica(client)
        return True

    def _add_replica(self, client: Client) -> None:
        client.kind = "replica"
        client.flags.add("replica")
        if client not in self.replicas:
            self.replicas.append(client)

    def _client_closed(self, client: Client) -> None:
        if client in self.replicas:
            self.replicas.remove(client)

    # -- cron ----------------------------------------------------------------------------------

    def _cron(self) -> None:
        if not self.replicas:
            return
        now = self.server.clock.ms()
        period = self.server.config.repl_ping_replica_period * 1000
        if now - self.last_ping_ms >= period:
            self.last_ping_ms = now
            # PING belongs to no database: no SELECT in front of it.
            self._append(encode_commands([[b"PING"]]))

    def info_fields(self) -> list[tuple[str, object]]:
        fields: list[tuple[str, object]] = [("connected_slaves", len(self.replicas))]
        for index, replica in enumerate(self.replicas):
            host, _, port = replica.addr.rpartition(":")
            listening = replica.extra.get("listening_port", port)
            acked = replica.extra.get("ack_offset", 0)
            fields.append(
                (f"slave{index}", f"ip={host},port={listening},state=online,offset={acked},lag=0,type=replica")
            )
        return fields


def primary(server: Server) -> ReplicationPrimary:
    existing: Optional[ReplicationPrimary] = getattr(server, "replication_primary", None)
    if existing is None:
        existing = ReplicationPrimary(server)
        server.replication_primary = existing  # type: ignore[attr-defined]
    return existing
