"""The asyncio side of one client connection: bytes in, bytes out, nothing else.

``data_received`` feeds the request reader, runs every complete command the read delivered and
writes all their replies with one ``transport.write``. When the kernel buffer backs up
(``pause_writing``) reading stops until it drains, so a client that does not read its replies
cannot make the server buffer without bound. A client blocked by a command (BLPOP and friends)
stops the loop; ``resume`` picks the remaining buffered commands up when it is released.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

from pyvalkey._speedups import process_commands
from pyvalkey.errors import msg
from pyvalkey.protocol.reader import ProtocolError
from pyvalkey.protocol.writer import encode_error

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")
_time_ns = time.time_ns


def _format_peer(peer: Any, family: int) -> str:
    if family == socket.AF_UNIX:
        return "/unixsocket:0" if not peer else f"{peer}:0"
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = peer[0]
        if family == socket.AF_INET6 and host.startswith("::ffff:"):
            host = host[7:]
        return f"{host}:{peer[1]}"
    return "?:0"


class Connection(asyncio.Protocol):
    __slots__ = ("_closing", "_paused_writing", "_reading_paused", "client", "server", "transport")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.client: Client | None = None
        self.transport: asyncio.Transport | None = None
        self._paused_writing = False
        self._reading_paused = False
        self._closing = False

    # -- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        sock = transport.get_extra_info("socket")
        family = sock.family if sock is not None else socket.AF_INET
        if family in (socket.AF_INET, socket.AF_INET6) and sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                keepalive = server.config.tcp_keepalive
                if keepalive > 0:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    if hasattr(socket, "TCP_KEEPIDLE"):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(keepalive // 3, 1))
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
            except OSError:
                pass
        if len(server.clients) >= server.config.maxclients:
            server.stats.rejected_connections += 1
            transport.write(b"-%s\r\n" % msg.MAXCLIENTS)
            transport.close()
            self._closing = True
            return
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if family == socket.AF_UNIX:
            addr = f"{local or server.config.unixsocket}:0"
            laddr = addr
        else:
            addr = _format_peer(peer, family)
            laddr = _format_peer(local, family)
        client = server.new_client(self, addr, laddr)
        if sock is not None:
            client.fd = sock.fileno()
        if family == socket.AF_UNIX:
            client.flags.add("unix")
        self.client = client

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or self._closing:
            return
        server = self.server
        size = len(data)
        client.total_net_in += size
        server.stats.net_input_bytes += size
        reader = client.reader
        reader.feed(data)
        if reader.buffered() > server.config.client_query_buffer_limit:
            log.warning("Closing client that reached max query buffer length: %s", client.addr)
            self.close()
            return
        clock = server.clock
        frozen = clock.frozen_at_ns  # Clock.ms() inlined, as in Dispatcher.call: once per read
        client.last_interaction_ms = (_time_ns() + clock.offset_ns if frozen is None else frozen) // 1_000_000
        self.process()

    def process(self) -> None:
        """Run every complete buffered command, then write all replies at once."""
        client = self.client
        assert client is not None
        try:
            process_commands(client, self.server)
        except ProtocolError as error:
            encode_error(error.message, client.out)
            client.close_after_reply = True
            log.info("Protocol error (%s) from client: %s", error.message.decode(), client.addr)
        self.flush()
        if client.close_after_reply:
            self.close()

    def resume(self) -> None:
        """Continue with buffered commands after the client was unblocked or unpaused."""
        if self.client is not None and not self._closing:
            self.process()

    def flush(self) -> None:
        client = self.client
        if client is None:
            return
        barrier = self.server.write_barrier
        if barrier is not None:
            barrier()  # the AOF's buffered writes go first (pyvalkey/commands/aof.py)
        out = client.out
        if out and self.transport is not None and not self.transport.is_closing():
            data = bytes(out)
            out.clear()
            client.total_net_out += len(data)
            self.server.stats.net_output_bytes += len(data)
            self.transport.write(data)
        elif out:
            out.clear()

    def close(self) -> None:
        if not self._closing and self.transport is not None:
            self._closing = True
            self.flush()
            self.transport.close()

    def pending_output(self) -> int:
        """Bytes queued in the transport plus unflushed replies (CLIENT LIST ``omem``)."""
        size = len(self.client.out) if self.client is not None else 0
        if self.transport is not None:
            try:
                size += self.transport.get_write_buffer_size()
            except Exception:
                pass
        return size

    def pause_writing(self) -> None:
        self._paused_writing = True
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self.client is not None:
            self.server.remove_client(self.client)
