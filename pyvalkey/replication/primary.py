"""The primary side of replication: full and partial synchronisation, the command stream, ACKs
and WAIT / WAITAOF.

A replica connects, sends ``PSYNC <replid> <offset>`` (or the old ``SYNC``) and gets either
``+CONTINUE`` plus the part of the backlog it missed, or ``+FULLRESYNC <replid> <offset>`` and an
RDB snapshot of the dataset taken at that offset, followed by every write as the propagator
(pyvalkey/propagation.py) emits it: RESP commands, with SELECT whenever the database changes.

The backlog keeps the last ``repl-backlog-size`` bytes of the stream, so a replica that lost its
link for a moment resumes without a new snapshot. ``offset`` (INFO's ``master_repl_offset``)
counts every byte ever sent to the stream.

The replication ID pair and the offset are shared with the replica role
(pyvalkey/replication/replica.py): while this server replicates from a primary, its own writes
are not streamed (``feed`` ignores them) and the bytes received from the primary are proxied
unchanged through ``proxy``, so sub-replicas and the backlog see the primary's stream with the
primary's replid and offsets, as Valkey's chained replicas do.

Per replica client, ``client.extra`` holds ``listening_port``, ``ack_offset`` / ``aof_offset``
(the last REPLCONF ACK / FACK) and ``ack_time``. Per writing client, ``extra["woff"]`` is the
stream offset just after its last write: WAIT waits until enough replicas acknowledged it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pyvalkey import _speedups
from pyvalkey.errors import ErrorReply
from pyvalkey.propagation import Unit, encode_commands
from pyvalkey.protocol.replies import NoReply

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

_NO_REPLID = "0" * 40
_GETACK = encode_commands([[b"REPLCONF", b"GETACK", b"*"]])


class WaitState:
    """``client.blocked`` while WAIT / WAITAOF waits for acknowledgements."""

    __slots__ = ("aof", "client", "fsync_mark", "manager", "numlocal", "numreplicas", "offset", "timer")

    unblockable = True

    def __init__(
        self, manager: ReplicationPrimary, client: Client, offset: int, numreplicas: int, numlocal: int, aof: bool
    ) -> None:
        self.manager = manager
        self.client = client
        self.offset = offset
        self.numreplicas = numreplicas
        self.numlocal = numlocal
        self.aof = aof  # WAITAOF (array reply) rather than WAIT
        self.timer: Any = None
        self.fsync_mark = 0.0

    def reply(self) -> Any:
        manager = self.manager
        if self.aof:
            return [int(manager.local_fsynced(self)), manager.count_aof_acks(self.offset)]
        return manager.count_acks(self.offset)

    def satisfied(self) -> bool:
        manager = self.manager
        if self.aof:
            if manager.count_aof_acks(self.offset) < self.numreplicas:
                return False
            return int(manager.local_fsynced(self)) >= self.numlocal
        return manager.count_acks(self.offset) >= self.numreplicas

    def unblock(self, with_error: bool) -> None:
        from pyvalkey.client import UNBLOCKED_ERROR

        self.manager.release(self, ErrorReply(UNBLOCKED_ERROR) if with_error else self.reply())


class ReplicationPrimary:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.offset = 0  # master_repl_offset
        self.second_offset = -1
        self.replicas: list[Client] = []
        self.backlog = bytearray()
        self.backlog_first_offset = 0  # stream offset (1-based) of backlog[0]
        self.backlog_active = False
        self.stream_db = -1  # database the stream last SELECTed
        self.last_ping_ms = 0
        self.attached = False
        # Set by the replica role (replica.py) while this server follows a primary.
        self.proxying = False
        self.waiters: list[WaitState] = []
        self.sync_full = 0  # INFO stats sync_full / sync_partial_ok / sync_partial_err
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self._getack_scheduled = False
        self._writer: Client | None = None  # the client whose command is running (woff)
        self._tracking_writers = False
        server.cron_jobs.append(self._cron)
        server.client_close_hooks.append(self._client_closed)

    # The ID pair lives on the server (INFO, DEBUG CHANGE-REPL-ID and the RDB use it there).
    @property
    def replid(self) -> str:
        from pyvalkey.info import repl_ids

        return repl_ids(self.server)[0]

    @replid.setter
    def replid(self, value: str) -> None:
        self.server.replid = value  # type: ignore[attr-defined]

    @property
    def replid2(self) -> str:
        from pyvalkey.info import repl_ids

        return repl_ids(self.server)[1]

    @replid2.setter
    def replid2(self, value: str) -> None:
        self.server.replid2 = value  # type: ignore[attr-defined]

    # -- the stream ----------------------------------------------------------------------------

    def feed(self, unit: Unit) -> None:
        """Propagator sink: append an execution unit to the stream and send it to replicas."""
        if self.proxying:
            return  # a replica streams its primary's bytes (``proxy``), not its own writes
        out = bytearray()
        for db_index, argv in unit:
            if db_index >= 0 and db_index != self.stream_db:
                out += encode_commands([[b"SELECT", b"%d" % db_index]])
                self.stream_db = db_index
            _speedups.append_command(out, argv)
        self._append(bytes(out))
        writer = self._writer
        if writer is not None:
            writer.extra["woff"] = self.offset

    def proxy(self, data: bytes) -> None:
        """Bytes of the stream received from our own primary, already applied here."""
        self._append(data)

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
        if not self.backlog_active:
            self.backlog_active = True
            self.backlog.clear()
            self.backlog_first_offset = self.offset + 1

    def reset_history(self, replid: str, offset: int) -> None:
        """A full sync from our primary: its history (ID and offset) replaces ours and the
        sub-replicas, whose data no longer matches, must sync again."""
        self.replid = replid
        self.replid2 = _NO_REPLID
        self.second_offset = -1
        self.offset = offset
        self.backlog.clear()
        self.backlog_first_offset = offset + 1
        self._ensure_attached()
        self.disconnect_replicas()

    def shift_replid(self) -> None:
        """Keep the current history as the secondary ID (valid up to offset + 1, the first byte
        a replica that has everything would ask for) and start a new one."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = os.urandom(20).hex()  # what secrets.token_hex(20) gives, without importing it

    def adopt_replid(self, replid: str) -> None:
        """+CONTINUE with a new ID: our primary was promoted; follow its new history."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = replid
        self.disconnect_replicas()

    def disconnect_replicas(self) -> None:
        for replica in list(self.replicas):
            transport = replica.transport
            if transport is not None:
                transport.close()
            self._client_closed(replica)

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
            extra_aux=self._sync_aux(),
        )

    def _sync_aux(self) -> list[tuple[bytes, bytes]]:
        """repl-stream-db tells the replica which database the stream continues in: a replica
        passing its primary's stream on cannot add a SELECT of its own."""
        stream_db = 0
        if self.proxying:
            link = getattr(self.server, "replication", None)
            client = getattr(link, "client", None)
            if client is not None:
                stream_db = client.db.index
        return [
            (b"repl-stream-db", b"%d" % stream_db),
            (b"repl-id", self.replid.encode()),
            (b"repl-offset", b"%d" % self.offset),
        ]

    def full_sync(self, client: Client, psync: bool) -> None:
        """Send a snapshot and make ``client`` a replica that gets the stream from now on."""
        self._ensure_attached()
        # A fresh replica needs a SELECT before its first command.
        if not self.proxying:
            self.stream_db = -1
        rdb = self.snapshot()
        self.sync_full += 1
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
        self.sync_partial_ok += 1
        client.out += b"+CONTINUE %s\r\n" % self.replid.encode()
        start = offset - self.backlog_first_offset
        client.out += bytes(self.backlog[start:])
        self._add_replica(client)
        return True

    def _add_replica(self, client: Client) -> None:
        client.kind = "replica"
        client.flags.add("replica")
        client.extra.setdefault("ack_offset", 0)
        client.extra.setdefault("aof_offset", 0)
        client.extra["ack_time"] = self.server.clock.seconds()
        if client not in self.replicas:
            if not self.replicas:
                # Valkey pings on its cron's period, not the moment a first replica attaches.
                self.last_ping_ms = self.server.clock.ms()
            self.replicas.append(client)
        self._track_writers(True)

    def _client_closed(self, client: Client) -> None:
        if client in self.replicas:
            self.replicas.remove(client)
            if not self.replicas:
                self._track_writers(False)
        state = client.blocked
        if isinstance(state, WaitState):
            self._forget(state)
        if self._writer is client:
            self._writer = None

    # -- the writing client (WAIT's offset) ----------------------------------------------------

    def _track_writers(self, on: bool) -> None:
        """While replicas are attached, note which client runs each command, so that ``feed``
        can record the offset of its writes. A dispatcher pre-check present only then."""
        if on == self._tracking_writers:
            return
        checks = self.server.dispatcher.pre_checks
        if on:
            checks.append(self._note_writer)
        else:
            try:
                checks.remove(self._note_writer)
            except ValueError:
                pass
            self._writer = None
        self._tracking_writers = on

    def _note_writer(self, client: Client, cmd: Command, argv: list[bytes]) -> None:
        self._writer = client

    # -- acknowledgements, WAIT ----------------------------------------------------------------

    def on_ack(self, client: Client, offset: int | None, aof_offset: int | None) -> None:
        extra = client.extra
        if offset is not None and offset > extra.get("ack_offset", 0):
            extra["ack_offset"] = offset
        if aof_offset is not None and aof_offset > extra.get("aof_offset", 0):
            extra["aof_offset"] = aof_offset
        extra["ack_time"] = self.server.clock.seconds()
        if self.waiters:
            self.check_waiters()

    def count_acks(self, offset: int) -> int:
        return sum(1 for replica in self.replicas if replica.extra.get("ack_offset", 0) >= offset)

    def count_aof_acks(self, offset: int) -> int:
        return sum(1 for replica in self.replicas if replica.extra.get("aof_offset", 0) >= offset)

    def local_fsynced(self, state: WaitState | None = None) -> bool:
        """Every write made so far is on disk (WAITAOF's numlocal): the AOF is on and has no
        fsync pending, or fsynced since ``state`` started waiting."""
        aof = getattr(self.server, "aof_state", None)
        if aof is None or aof.fd < 0:
            return False
        aof.flush_buffer()
        if not aof.fsync_pending:
            return True
        return state is not None and aof.last_fsync > state.fsync_mark

    def wait(self, client: Client, numreplicas: int, numlocal: int, deadline_ms: int, aof: bool) -> Any:
        """WAIT / WAITAOF: reply now when satisfied (or when blocking is not allowed), else
        block ``client`` until enough acknowledgements arrive or ``deadline_ms`` (0: never)."""
        offset = client.extra.get("woff", 0)
        state = WaitState(self, client, offset, numreplicas, numlocal, aof)
        aof_state = getattr(self.server, "aof_state", None)
        if aof_state is not None:
            state.fsync_mark = aof_state.last_fsync
        if state.satisfied() or client.deny_blocking:
            return state.reply()
        client.blocked = state
        self.waiters.append(state)
        loop = self.server.loop
        if deadline_ms and loop is not None:
            delay = max(deadline_ms - self.server.clock.ms(), 0) / 1000.0
            state.timer = loop.call_later(delay, self._timed_out, state)
        self.request_acks()
        return NoReply()

    def request_acks(self) -> None:
        """Ask every replica for an ACK once this event-loop turn is over (one GETACK for all
        the WAITs of the turn)."""
        if self._getack_scheduled or not self.replicas:
            return
        loop = self.server.loop
        if loop is None:
            return
        self._getack_scheduled = True
        loop.call_soon(self._send_getack)

    def _send_getack(self) -> None:
        self._getack_scheduled = False
        if self.replicas and not self.proxying:
            self._append(_GETACK)

    def _timed_out(self, state: WaitState) -> None:
        if state.client.blocked is state:
            self.release(state, state.reply())

    def check_waiters(self) -> None:
        for state in list(self.waiters):
            if state.client.blocked is state and state.satisfied():
                self.release(state, state.reply())

    def _forget(self, state: WaitState) -> None:
        if state.timer is not None:
            state.timer.cancel()
        if state in self.waiters:
            self.waiters.remove(state)
        if state.client.blocked is state:
            state.client.blocked = None

    def release(self, state: WaitState, reply: Any) -> None:
        client = state.client
        self._forget(state)
        server = self.server
        server.dispatcher.write_reply(client, reply)
        if isinstance(reply, ErrorReply):
            server.stats.count_error(reply.message)
        transport = client.transport
        if transport is None or client.closed:
            return
        transport.flush()
        loop = server.loop
        if loop is not None and hasattr(transport, "resume"):
            loop.call_soon(transport.resume)

    # -- cron ----------------------------------------------------------------------------------

    def _cron(self) -> None:
        if self.waiters:
            self.check_waiters()  # WAITAOF: the AOF may have been fsynced by its own cron
        if not self.replicas or self.proxying:
            return
        now = self.server.clock.ms()
        period = self.server.config.repl_ping_replica_period * 1000
        if now - self.last_ping_ms >= period:
            self.last_ping_ms = now
            # PING belongs to no database: no SELECT in front of it.
            self._append(encode_commands([[b"PING"]]))

    # -- INFO / ROLE ---------------------------------------------------------------------------

    def replica_address(self, replica: Client) -> tuple[str, int]:
        host = replica.extra.get("ip_address")
        if not host:
            host, _, _ = replica.addr.rpartition(":")
        return str(host), int(replica.extra.get("listening_port", 0))

    def info_fields(self) -> list[tuple[str, object]]:
        fields: list[tuple[str, object]] = [("connected_slaves", len(self.replicas))]
        now = int(self.server.clock.seconds())
        for index, replica in enumerate(self.replicas):
            host, port = self.replica_address(replica)
            acked = replica.extra.get("ack_offset", 0)
            lag = max(now - int(replica.extra.get("ack_time", now)), 0)
            fields.append(
                (f"slave{index}", f"ip={host},port={port},state=online,offset={acked},lag={lag},type=replica")
            )
        return fields


def primary(server: Server) -> ReplicationPrimary:
    existing: ReplicationPrimary | None = getattr(server, "replication_primary", None)
    if existing is None:
        existing = ReplicationPrimary(server)
        server.replication_primary = existing  # type: ignore[attr-defined]
    return existing
