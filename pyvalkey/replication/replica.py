"""The replica side of replication: REPLICAOF, the link to the primary and the applied stream.

``ReplicaLink`` (``replica_link(server)``, also ``server.replication``) is an explicit state
machine driven by the event loop, one method per state, as Valkey's replica does it:

``CONNECT``      configured, no connection: the 1 s cron starts one (a bad host just retries)
``CONNECTING``   TCP connect (and name resolution) under way, off the loop thread's critical path
``RECEIVE_PONG`` PING sent; +PONG, -NOAUTH or -NOPERM let the handshake go on
``HANDSHAKE``    AUTH (primaryauth / primaryuser), REPLCONF listening-port, [ip-address],
                 capa eof capa psync2 and version sent together; their replies are read in order
``RECEIVE_PSYNC`` ``PSYNC <replid> <offset+1>`` with the cached history, or ``PSYNC ? -1``
``TRANSFER``     +FULLRESYNC: the RDB arrives as ``$<len>`` or diskless ``$EOF:<mark>``; then
                 the dataset is flushed and loaded in steps (clients get -LOADING meanwhile)
``CONNECTED``    the stream is applied by the primary's pseudo-client (flag M), REPLCONF ACK is
                 sent every second and on REPLCONF GETACK

Offsets: ``reploff`` counts the stream bytes applied (``slave_repl_offset``), ``read_reploff``
the bytes received. Applied bytes are proxied unchanged to our own replicas and backlog through
``ReplicationPrimary.proxy`` (pyvalkey/replication/primary.py), which keeps the server's replid
and ``master_repl_offset`` equal to the primary's. When the link drops, the history (replid,
reploff) is kept as the cached primary, so the next PSYNC can continue; a primary turned replica
caches its own history, so it can continue from a promoted former replica.

While a primary is configured, a dispatcher pre-check refuses writes from normal clients with
-READONLY (``replica-read-only``) and, with the link down and ``replica-serve-stale-data no``,
every command without the ``stale`` flag with -MASTERDOWN (EXEC: if any queued command lacks it).
The keyspace's ``is_replica`` stops active expiry and makes logically expired keys read as
missing without deleting them (the primary sends the DELs).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from pyvalkey.client import Client
from pyvalkey.errors import ErrorReply
from pyvalkey.propagation import encode_commands
from pyvalkey.replication.primary import primary

if TYPE_CHECKING:
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")

NONE = "none"
CONNECT = "connect"
CONNECTING = "connecting"
RECEIVE_PONG = "receive_pong"
HANDSHAKE = "handshake"
RECEIVE_PSYNC = "receive_psync"
TRANSFER = "transfer"
LOADING = "loading"
CONNECTED = "connected"

_HANDSHAKE_STATES = frozenset((RECEIVE_PONG, HANDSHAKE, RECEIVE_PSYNC))

READONLY_ERROR = b"READONLY You can't write against a read only replica."
MASTERDOWN_ERROR = b"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
FORCE_UNBLOCK_ERROR = (
    b"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)
_EOF_MARK_LEN = 40
_LOAD_SLICE = 0.05  # seconds of loading between two turns of the event loop

_Address = tuple[Any, Any, int, str, Any]  # one getaddrinfo() entry


def _numeric_address(host: str, port: int) -> _Address | None:
    """The address of a literal IP ``host`` without a resolver round trip; None for a name."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)[0]
    except (OSError, UnicodeError):
        return None


class _LinkProtocol(asyncio.Protocol):
    """Moves bytes between the socket and the link; nothing else."""

    def __init__(self, link: ReplicaLink, generation: int) -> None:
        self.link = link
        self.generation = generation
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.link.generation == self.generation:
            self.link.on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link.generation == self.generation:
            self.link.on_lost()


class _PrimaryTransport:
    """The primary pseudo-client's transport: its replies are dropped (a replica answers its
    primary only with REPLCONF ACK, which the link writes itself)."""

    def __init__(self, link: ReplicaLink) -> None:
        self.link = link

    def flush(self) -> None:
        client = self.link.client
        if client is not None:
            client.out.clear()

    def close(self) -> None:
        self.link.drop_connection()

    def resume(self) -> None:
        self.link.apply_buffered()

    def pending_output(self) -> int:
        return 0


class ReplicaLink:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.primary_host: str | None = None
        self.primary_port = 0
        self.state = NONE
        self.generation = 0  # bumps on every new connection; stale callbacks are ignored
        self.transport: asyncio.Transport | None = None
        self.connect_task: asyncio.Task[Any] | None = None
        self.pending_socket: socket.socket | None = None  # a connect the loop is watching
        self.buf = bytearray()
        self.expected: list[str] = []  # handshake replies still to read, in order
        self.client: Client | None = None  # the primary's pseudo-client once connected
        self.reploff = 0
        self.read_reploff = 0
        self.cached: tuple[str, int] | None = None  # (replid, reploff) for PSYNC
        self.cached_db = 0  # the database the stream was in when the link dropped
        self.down_since = 0  # unix seconds the link went down (0: never up)
        self.last_io = 0.0
        self.last_cron = 0.0
        self.fsynced_off = -1
        # full sync in progress
        self.sync_replid = ""
        self.sync_offset = 0
        self.transfer_size = -1  # -1: diskless EOF-marked payload
        self.transfer_read = 0
        self.eof_mark = b""
        self.payload = bytearray()
        self.applying = False
        self.queued = 0  # bytes at the buffer's front run inside a still open MULTI
        self.shutting_down = False
        server.cron_jobs.append(self._cron)
        server.shutdown_hooks.append(self._on_shutdown)

    # -- role changes (REPLICAOF) --------------------------------------------------------------

    def set_primary(self, host: str, port: int) -> None:
        server = self.server
        manager = primary(server)
        was_primary = self.primary_host is None
        self.drop_connection(reconnect=False)
        self._disconnect_blocked()
        self.primary_host = host
        self.primary_port = port
        server.config.replicaof = (host, port)  # CONFIG GET / REWRITE show the current primary
        if was_primary:
            # Our own history is what a promoted replica of ours may continue from.
            self.cached = (manager.replid, manager.offset)
            self.cached_db = 0
            manager.proxying = True
            server.keyspace.is_replica = True
            checks = server.dispatcher.pre_checks
            if self.check not in checks:
                checks.insert(0, self.check)
        self.state = CONNECT
        log.info("Connecting to PRIMARY %s:%d", host, port)
        self.start_connect()

    def _disconnect_blocked(self) -> None:
        """Clients blocked in the primary we were (or under the old primary) wait for writes
        that will not come from them: release them with an error and close them."""
        from pyvalkey.blocking import BlockedOnKeys
        from pyvalkey.replication.primary import WaitState

        server = self.server
        error = ErrorReply(FORCE_UNBLOCK_ERROR)
        for client in list(server.clients.values()):
            state = client.blocked
            if isinstance(state, BlockedOnKeys):
                server.blocking.release(client, error)
            elif isinstance(state, WaitState):
                primary(server).release(state, error)
            else:
                continue
            client.close_after_reply = True
            if client.transport is not None:
                client.transport.close()

    def unset_primary(self) -> None:
        if self.primary_host is None:
            return
        server = self.server
        manager = primary(server)
        self.primary_host = None
        server.config.replicaof = None
        self.drop_connection(reconnect=False)
        self.cached = None
        self.state = NONE
        self.down_since = 0
        manager.proxying = False
        manager.shift_replid()
        manager.disconnect_replicas()
        manager.stream_db = -1  # the new history starts with a SELECT
        server.keyspace.is_replica = False
        try:
            server.dispatcher.pre_checks.remove(self.check)
        except ValueError:
            pass
        log.info("PRIMARY MODE enabled")

    # -- connection ----------------------------------------------------------------------------

    def _on_shutdown(self) -> None:
        self.shutting_down = True
        self.drop_connection(reconnect=False)

    def start_connect(self) -> None:
        loop = self.server.loop
        if loop is None or self.primary_host is None or self.shutting_down:
            return
        self.generation += 1
        self.state = CONNECTING
        self.last_io = time.monotonic()
        address = _numeric_address(self.primary_host, self.primary_port)
        if address is None:
            self.connect_task = loop.create_task(self._resolve_then_connect(self.generation))
        else:
            self._connect_socket(address, self.generation)

    async def _resolve_then_connect(self, generation: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.primary_host, self.primary_port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            self._connect_failed(generation, exc)
            return
        if generation == self.generation:
            self._connect_socket(infos[0], generation)

    def _connect_socket(self, address: _Address, generation: int) -> None:
        """A non-blocking connect watched by the loop: the result (a refusal included) is
        known in the loop iteration that reports the socket, as with Valkey's event loop, so
        ROLE and INFO do not show "connecting" for longer than Valkey would."""
        family, kind, proto, _, sockaddr = address
        try:
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
        except OSError as exc:
            self._connect_failed(generation, exc)
            return
        code = sock.connect_ex(sockaddr)
        if code == errno.EINPROGRESS:
            # A refusal on loopback is already recorded on the socket: Valkey's next loop
            # iteration would report it before any client's command, so take it now.
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) or errno.EINPROGRESS
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self._connect_failed(generation, OSError(code, os.strerror(code)))
            return
        self.pending_socket = sock
        self.server.loop.add_writer(sock.fileno(), self._on_connect_result, sock, generation)  # type: ignore[union-attr]

    def _on_connect_result(self, sock: socket.socket, generation: int) -> None:
        self._forget_pending_socket(close=False)
        if generation != self.generation:
            sock.close()
            return
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            sock.close()
            self._connect_failed(generation, OSError(code, os.strerror(code)))
            return
        self.connect_task = self.server.loop.create_task(self._adopt(sock, generation))  # type: ignore[union-attr]

    def _forget_pending_socket(self, close: bool) -> None:
        sock = self.pending_socket
        if sock is None:
            return
        self.pending_socket = None
        loop = self.server.loop
        if loop is not None and sock.fileno() >= 0:
            loop.remove_writer(sock.fileno())
        if close:
            sock.close()

    def _connect_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self.generation:
            log.warning("Error condition on socket for SYNC: %s", exc)
            self.state = CONNECT  # the cron retries every second

    async def _adopt(self, sock: socket.socket, generation: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_connection(lambda: _LinkProtocol(self, generation), sock=sock)
        except OSError as exc:
            sock.close()
            self._connect_failed(generation, exc)
            return
        except asyncio.CancelledError:  # the link was dropped meanwhile
            sock.close()
            raise
        if generation != self.generation:
            transport.close()
            return
        self.transport = transport  # type: ignore[assignment]
        self.buf = bytearray()
        self.last_io = time.monotonic()
        self.state = RECEIVE_PONG
        self._send([b"PING"])

    def _send(self, *commands: list[bytes]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_commands(list(commands)))

    def drop_connection(self, reconnect: bool = True) -> None:
        """Close the link. With ``reconnect`` (an unexpected loss) keep the history and try
        again at once, as Valkey does to avoid losing the backlog."""
        self.generation += 1
        task = self.connect_task
        if task is not None and not task.done():
            task.cancel()
        self.connect_task = None
        self._forget_pending_socket(close=True)
        transport = self.transport
        self.transport = None
        if transport is not None:
            transport.close()
        was_connected = self.client is not None
        if was_connected:
            self.cached = (primary(self.server).replid, self.reploff)
            self.cached_db = self.client.db.index  # type: ignore[union-attr]
            self.down_since = int(time.time())
            self._free_client()
        if self.state in (TRANSFER, LOADING):
            self._end_loading_guard()
        self.payload = bytearray()
        self.buf = bytearray()
        self.queued = 0
        self.expected = []
        if self.primary_host is not None:
            self.state = CONNECT
            if reconnect and was_connected:
                self.start_connect()

    def on_lost(self) -> None:
        self.transport = None
        self.drop_connection()

    def _free_client(self) -> None:
        client = self.client
        self.client = None
        if client is not None:
            client.transport = None
            self.server.remove_client(client)

    # -- incoming bytes ------------------------------------------------------------------------

    def on_data(self, data: bytes) -> None:
        self.last_io = time.monotonic()
        state = self.state
        if state == CONNECTED or state == LOADING:
            self.read_reploff += len(data)
            self.buf += data
            client = self.client
            if state == CONNECTED and client is not None:
                client.last_interaction_ms = self.server.clock.ms()
                client.total_net_in += len(data)
                self.apply_buffered()
            return
        self.buf += data
        try:
            while self.transport is not None and self.buf:
                if self.state in _HANDSHAKE_STATES:
                    line = self._line()
                    if line is None:
                        return
                    if not line:
                        continue  # a bare newline: the primary's keep-alive
                    getattr(self, "_on_" + self.state)(line)
                elif self.state == TRANSFER:
                    if not self._on_transfer():
                        return
                else:
                    return
        except (ValueError, ErrorReply) as exc:
            log.warning("Replication link error: %s", exc)
            self.drop_connection(reconnect=False)

    def _line(self) -> bytes | None:
        end = self.buf.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.buf[:end]).rstrip(b"\r")
        del self.buf[: end + 1]
        return line

    def _on_receive_pong(self, line: bytes) -> None:
        if not (line.startswith((b"+", b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted"))):
            raise ValueError("Error reply to PING from primary: " + line.decode(errors="replace"))
        config = self.server.config
        commands: list[list[bytes]] = []
        self.expected = []
        if config.primaryauth:
            auth = [b"AUTH"]
            if config.primaryuser:
                auth.append(config.primaryuser.encode())
            auth.append(config.primaryauth.encode())
            commands.append(auth)
            self.expected.append("auth")
        port = config.replica_announce_port or self.server.tcp_port or config.port
        commands.append([b"REPLCONF", b"listening-port", b"%d" % port])
        self.expected.append("port")
        if config.replica_announce_ip:
            commands.append([b"REPLCONF", b"ip-address", config.replica_announce_ip.encode()])
            self.expected.append("ip")
        commands.append([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        self.expected.append("capa")
        commands.append([b"REPLCONF", b"version", self.server_version()])
        self.expected.append("version")
        self._send(*commands)
        self.state = HANDSHAKE

    def server_version(self) -> bytes:
        from pyvalkey.server import VALKEY_VERSION

        return VALKEY_VERSION.encode()

    def _on_handshake(self, line: bytes) -> None:
        step = self.expected.pop(0)
        if step == "auth" and line.startswith(b"-"):
            raise ValueError("Unable to AUTH to PRIMARY: " + line.decode(errors="replace"))
        # Errors to REPLCONF are not critical: older primaries do not know every option.
        if not self.expected:
            self._send_psync()

    def _send_psync(self) -> None:
        if self.cached is not None:
            replid, offset = self.cached
            self._send([b"PSYNC", replid.encode(), b"%d" % (offset + 1)])
        else:
            self._send([b"PSYNC", b"?", b"-1"])
        self.state = RECEIVE_PSYNC

    def _on_receive_psync(self, line: bytes) -> None:
        manager = primary(self.server)
        if line.startswith(b"+FULLRESYNC"):
            parts = line.split()
            if len(parts) < 3:
                raise ValueError("bad FULLRESYNC reply")
            self.sync_replid = parts[1].decode()
            self.sync_offset = int(parts[2])
            self.cached = None
            self.state = TRANSFER
            self.transfer_size = -2  # header not read yet
            self.transfer_read = 0
            self.payload = bytearray()
            return
        if line.startswith(b"+CONTINUE"):
            parts = line.split()
            if self.cached is None:
                raise ValueError("+CONTINUE without a history to continue")
            _replid, offset = self.cached
            if len(parts) > 1 and parts[1].decode() != manager.replid:
                manager.adopt_replid(parts[1].decode())
            self.cached = None
            self.reploff = self.read_reploff = offset
            self._become_connected(self.cached_db)
            log.info("PRIMARY <-> REPLICA sync: Primary accepted a Partial Resynchronization.")
            return
        # -NOMASTERLINK, -LOADING or an error: try again later.
        raise ValueError("Unexpected reply to PSYNC from primary: " + line.decode(errors="replace"))

    def _on_transfer(self) -> bool:
        """Read the RDB payload; True when there may be more to parse."""
        if self.transfer_size == -2:
            line = self._line()
            if line is None:
                return False
            if not line:
                return True  # keep-alive newline while the primary prepares the snapshot
            if line.startswith(b"-"):
                raise ValueError("Primary aborted replication: " + line.decode(errors="replace"))
            if not line.startswith(b"$"):
                raise ValueError("Bad protocol from PRIMARY, the first byte is not '$'")
            if line.startswith(b"$EOF:"):
                self.eof_mark = line[5:]
                if len(self.eof_mark) != _EOF_MARK_LEN:
                    raise ValueError("bad EOF mark")
                self.transfer_size = -1
            else:
                self.transfer_size = int(line[1:])
            return True
        buf = self.buf
        if self.transfer_size >= 0:
            need = self.transfer_size - len(self.payload)
            self.payload += buf[:need]
            del buf[:need]
            self.transfer_read = len(self.payload)
            if len(self.payload) < self.transfer_size:
                return False
            data = bytes(self.payload)
        else:
            self.payload += buf
            buf.clear()
            self.transfer_read = len(self.payload)
            if bytes(self.payload[-_EOF_MARK_LEN:]) != self.eof_mark:
                return False
            data = bytes(self.payload[:-_EOF_MARK_LEN])
        self.payload = bytearray()
        self._start_loading(data)
        return False

    # -- loading the snapshot ------------------------------------------------------------------

    def _start_loading(self, data: bytes) -> None:
        from pyvalkey.commands import persistence

        server = self.server
        self.state = LOADING
        rdb_state = persistence.state(server)
        rdb_state.loading = True
        rdb_state.loading_start_time = int(time.time())
        rdb_state.loading_total_bytes = len(data)
        rdb_state.loading_loaded_bytes = 0
        checks = server.dispatcher.pre_checks
        if rdb_state.loading_check not in checks:
            checks.insert(0, rdb_state.loading_check)
        # The sub-replicas' data is about to be replaced: they must sync again.
        manager = primary(server)
        manager.disconnect_replicas()
        assert server.loop is not None
        server.loop.create_task(self._load(data, self.generation))

    def _end_loading_guard(self) -> None:
        from pyvalkey.commands import persistence

        rdb_state = persistence.state(self.server)
        rdb_state.loading = False
        try:
            self.server.dispatcher.pre_checks.remove(rdb_state.loading_check)
        except ValueError:
            pass

    async def _load(self, data: bytes, generation: int) -> None:
        from pyvalkey.commands import persistence
        from pyvalkey.commands.keys import _flush
        from pyvalkey.persistence import rdb

        server = self.server
        keyspace = server.keyspace
        try:
            for db in keyspace.dbs:
                _flush(db)
            persistence.flush_libraries(server)
            keyspace.refresh_time()

            def on_function(code: bytes) -> None:
                persistence.load_libraries(server, [code], True)

            steps = rdb.iter_load_file_bytes(
                data, keyspace.dbs, rdb.Limits(server.config), keyspace.now_ms, False, on_function=on_function
            )
            rdb_state = persistence.state(server)
            result = await rdb_state.run_load_steps(steps, lambda: generation == self.generation, _LOAD_SLICE)
            if result is None:
                return  # the link went away (or REPLICAOF changed) meanwhile
        except Exception as exc:  # noqa: BLE001  (any bad payload: drop the link, keep serving)
            log.warning("Failed trying to load the PRIMARY synchronization DB from socket: %s", exc)
            if generation == self.generation:
                self._end_loading_guard()
                self.drop_connection(reconnect=False)
            return
        if generation != self.generation:
            return
        self._end_loading_guard()
        rdb_state._loaded(result)
        keyspace.dirty += 1
        primary(server).reset_history(self.sync_replid, self.sync_offset)
        self.reploff = self.read_reploff = self.sync_offset
        self.read_reploff += len(self.buf)
        log.info("PRIMARY <-> REPLICA sync: Finished with success")
        self._become_connected(_stream_db(result.aux, len(keyspace.dbs)))
        self._restart_aof()

    def _restart_aof(self) -> None:
        """The AOF must describe the new dataset: rewrite it, as Valkey restarts it after a sync."""
        aof = getattr(self.server, "aof_state", None)
        if aof is None or aof.fd < 0:
            return
        try:
            rewrite = getattr(aof, "rewrite", None) or getattr(aof, "start_rewrite", None)
            if rewrite is not None:
                rewrite()
        except Exception:
            log.exception("AOF rewrite after the sync failed")

    # -- connected: applying the stream --------------------------------------------------------

    def _become_connected(self, stream_db: int = 0) -> None:
        server = self.server
        addr, laddr, fd = f"{self.primary_host}:{self.primary_port}", "", -1
        transport = self.transport
        if transport is not None:
            peer = transport.get_extra_info("peername")
            local = transport.get_extra_info("sockname")
            if isinstance(peer, tuple):
                addr = f"{peer[0]}:{peer[1]}"
            if isinstance(local, tuple):
                laddr = f"{local[0]}:{local[1]}"
            sock = transport.get_extra_info("socket")
            fd = sock.fileno() if sock is not None else -1
        client = server.new_client(_PrimaryTransport(self), addr, laddr)
        client.fd = fd
        server.stats.connections_received -= 1  # Valkey does not count its primary's link
        client.kind = "master"
        client.flags.add("master")
        client.set_authenticated(True)
        client.select(stream_db)
        self.client = client
        self.queued = 0
        self.state = CONNECTED
        self.down_since = 0
        self.send_ack()  # puts us online at a primary that waits for it (diskless sync)
        if self.buf:
            self.apply_buffered()

    def apply_buffered(self) -> None:
        """Run every complete command of the buffer as the primary's client; advance the
        offset by each command's bytes and pass those bytes on to our own replicas.

        Inside a transaction nothing counts as applied until EXEC (Valkey's reploff does not
        move while the primary client is in MULTI): the queued commands' bytes stay at the
        front of the buffer (``self.queued`` of them, already parsed), so a link lost in the
        middle of a transaction resumes from before its MULTI."""
        client = self.client
        if client is None or self.applying or client.blocked is not None:
            return
        self.applying = True
        buf = self.buf
        execute = self.server.execute
        keyspace = self.server.keyspace
        pos = self.queued
        applied = 0
        # While the primary's commands run, a key past its deadline is expired as on a primary
        # (its DEL or UNLINK, which usually follows, must not leave it behind). Valkey instead
        # treats such keys as live for the primary client; the two agree unless the clocks differ.
        keyspace.is_replica = False
        try:
            while self.client is client and client.blocked is None:
                parsed = _next_command(buf, pos)
                if parsed is None:
                    break
                argv, end = parsed
                if argv:
                    execute(client, argv)
                    client.out.clear()
                pos = end
                if client.multi is None:
                    self.reploff += pos - applied
                    applied = pos
        except ValueError as exc:
            log.warning("Protocol error from PRIMARY: %s", exc)
            self.applying = False
            self.drop_connection()
            return
        finally:
            keyspace.is_replica = self.primary_host is not None
        self.applying = False
        if self.client is not client:
            return
        self.queued = pos - applied
        if applied:
            data = bytes(buf[:applied])
            del buf[:applied]
            primary(self.server).proxy(data)

    def send_ack(self) -> None:
        if self.client is None:
            return
        ack = [b"REPLCONF", b"ACK", b"%d" % self.reploff]
        if self.fsynced_off >= 0:
            ack += [b"FACK", b"%d" % self.fsynced_off]
        self._send(ack)

    # -- cron ----------------------------------------------------------------------------------

    def _cron(self) -> None:
        if self.primary_host is None:
            return
        now = time.monotonic()
        if now - self.last_cron < 1.0:
            return
        self.last_cron = now
        aof = getattr(self.server, "aof_state", None)
        if aof is not None and aof.fd >= 0:
            aof.flush_buffer()
            if not aof.fsync_pending:
                self.fsynced_off = self.reploff
        else:
            self.fsynced_off = -1
        state = self.state
        if state == CONNECT:
            self.start_connect()
        elif state == CONNECTED:
            self.send_ack()
        timeout = self.server.config.repl_timeout
        if state not in (CONNECT, NONE, LOADING) and now - self.last_io > timeout:
            log.warning("Timeout connecting to / receiving from the PRIMARY")
            self.drop_connection()

    # -- the replica pre-check -----------------------------------------------------------------

    def refuses_writes_from(self, client: Client) -> bool:
        """For scripts: a write called by ``client`` gets -READONLY here."""
        return (
            self.primary_host is not None and client is not self.client and bool(self.server.config.replica_read_only)
        )

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        if client is self.client:
            return None  # the primary's commands are obeyed
        config = self.server.config
        multi = client.multi
        is_exec = multi is not None and cmd.name == b"exec"
        if config.replica_read_only:
            writes = cmd.is_write
            if not writes:
                if is_exec:
                    writes = any(
                        queued.is_write or _script_writes(client, queued, queued_argv)
                        for queued, queued_argv in multi.commands
                    )
                elif cmd.fullname in _SCRIPT_CALLS:
                    writes = _script_writes(client, cmd, argv)
            if writes:
                return ErrorReply(READONLY_ERROR)
        if self.state != CONNECTED and not config.replica_serve_stale_data:
            stale = cmd.stale_ok
            if is_exec and stale:
                stale = all(queued.stale_ok for queued, _ in multi.commands)
            if not stale:
                return ErrorReply(MASTERDOWN_ERROR)
        return None

    # -- ROLE / INFO ---------------------------------------------------------------------------

    def role_state(self) -> bytes:
        state = self.state
        if state in _HANDSHAKE_STATES:
            return b"handshake"
        if state in (TRANSFER, LOADING):
            return b"sync"
        return state.encode()

    def offsets(self) -> tuple[int, int]:
        """(slave_read_repl_offset, slave_repl_offset): the connected or cached primary's."""
        if self.client is not None:
            return self.read_reploff, self.reploff
        if self.cached is not None:
            return self.cached[1], self.cached[1]
        return 1, 1

    def info_fields(self) -> list[tuple[str, object]]:
        config = self.server.config
        read_off, off = self.offsets()
        last_io = -1
        if self.client is not None:
            last_io = int(time.monotonic() - self.last_io)
        fields: list[tuple[str, object]] = [
            ("master_host", self.primary_host),
            ("master_port", self.primary_port),
            ("master_link_status", "up" if self.state == CONNECTED else "down"),
            ("master_last_io_seconds_ago", last_io),
            ("master_sync_in_progress", int(self.state in (TRANSFER, LOADING))),
            ("slave_read_repl_offset", read_off),
            ("slave_repl_offset", off),
            ("replicas_repl_buffer_size", 0),
            ("replicas_repl_buffer_peak", 0),
        ]
        if self.state in (TRANSFER, LOADING):
            total = self.transfer_size if self.transfer_size >= 0 else -1
            read = self.transfer_read
            perc = read / total * 100 if total > 0 else 0.0
            fields += [
                ("master_sync_total_bytes", total),
                ("master_sync_read_bytes", read),
                ("master_sync_left_bytes", total - read),
                ("master_sync_perc", f"{perc:.2f}"),
                ("master_sync_last_io_seconds_ago", int(time.monotonic() - self.last_io)),
            ]
        if self.state != CONNECTED:
            down = int(time.time()) - self.down_since if self.down_since else -1
            fields.append(("master_link_down_since_seconds", down))
        fields += [
            ("slave_priority", config.replica_priority),
            ("slave_read_only", int(bool(config.replica_read_only))),
            ("replica_announced", int(bool(config.replica_announced))),
        ]
        return fields


_SCRIPT_CALLS = frozenset(("eval", "evalsha", "fcall"))


def _script_writes(client: Client, cmd: Command, argv: list[bytes]) -> bool:
    """A script that declares its flags (shebang, or a function) without ``no-writes`` is a
    write command for the read-only check, as in Valkey; a script without a shebang is checked
    command by command while it runs."""
    name = cmd.fullname
    if name not in _SCRIPT_CALLS or len(argv) < 2:
        return False
    from pyvalkey.scripting.state import declared_flags

    declared = declared_flags(client.server, name, argv)
    if declared is None:
        return False
    flags, shebang = declared
    return bool(shebang) and b"no-writes" not in flags


def _next_command(buf: bytearray, pos: int) -> tuple[list[bytes], int] | None:
    """The command starting at ``pos`` and the position after it, or None if incomplete.
    A primary sends canonical multibulk requests; a bare newline is an empty command."""
    size = len(buf)
    if pos >= size:
        return None
    if buf[pos] != 0x2A:  # not '*': an inline line (only keep-alive newlines in practice)
        end = buf.find(b"\n", pos)
        if end < 0:
            return None
        return bytes(buf[pos:end]).split(), end + 1
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    count = int(buf[pos + 1 : end])
    cursor = end + 2
    argv = []
    for _ in range(count):
        end = buf.find(b"\r\n", cursor)
        if end < 0:
            return None
        if buf[cursor] != 0x24:  # '$'
            raise ValueError("expected '$'")
        start = end + 2
        stop = start + int(buf[cursor + 1 : end])
        if stop + 2 > size:
            return None
        argv.append(bytes(buf[start:stop]))
        cursor = stop + 2
    return argv, cursor


def _stream_db(aux: dict[bytes, bytes], databases: int) -> int:
    """The database the primary's stream continues in (AUX repl-stream-db), default 0."""
    try:
        index = int(aux.get(b"repl-stream-db", b"0"))
    except ValueError:
        return 0
    return index if 0 <= index < databases else 0


def replica_link(server: Server) -> ReplicaLink:
    existing: ReplicaLink | None = getattr(server, "replication", None)
    if existing is None:
        existing = ReplicaLink(server)
        server.replication = existing  # type: ignore[attr-defined]
    return existing


def is_replica(server: Server) -> bool:
    link: ReplicaLink | None = getattr(server, "replication", None)
    return link is not None and link.primary_host is not None


def on_server_start(server: Server) -> None:
    """``replicaof`` from the configuration: start following that primary."""
    configured = server.config.replicaof
    if configured:
        host, port = configured[0], int(configured[1])
        link = replica_link(server)
        link.set_primary(str(host), port)
        link.cached = None  # a replica configured at start-up has no history to continue
