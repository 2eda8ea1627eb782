"""CONFIG SET ``port`` / ``bind`` at run time: move the TCP listeners.

As Valkey does, the old listening sockets are closed first and the new ones bound; when one
cannot be bound, the error goes back to CONFIG SET, which restores the old values and calls this
again, so the server listens where it did before. Connected clients are not affected. The unix
socket listener is left alone.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from pyvalkey.net.listeners import open_tcp_socket, parse_bind_address

if TYPE_CHECKING:
    from pyvalkey.server import Server

__all__ = ["restart_tcp_listeners"]


def _is_tcp(listener: Any) -> bool:
    sockets = getattr(listener, "sockets", None) or ()
    return any(sock.family in (socket.AF_INET, socket.AF_INET6) for sock in sockets)


def _bind(server: Server) -> list[socket.socket]:
    """Bound, listening sockets for every ``bind`` address on ``port``; OSError if a mandatory
    address cannot be bound (the ones already bound are closed)."""
    config = server.config
    port = config.port
    bound: list[socket.socket] = []
    if not port:
        return bound
    for address in config.bind:
        host, family, optional = parse_bind_address(address)
        try:
            sock = open_tcp_socket(host, family, port, config.tcp_backlog)
        except OSError:
            if optional:
                continue
            for other in bound:
                other.close()
            raise
        bound.append(sock)
    return bound


def restart_tcp_listeners(server: Server) -> None:
    loop = server.loop
    if loop is None or loop.is_closed():
        return  # not serving yet: start-up binds from the configuration
    for listener in server.listeners:
        if _is_tcp(listener):
            listener.close()
    server.listeners = [listener for listener in server.listeners if not _is_tcp(listener)]
    sockets = _bind(server)
    if sockets:
        server.tcp_port = sockets[0].getsockname()[1]
    from pyvalkey.net.connection import Connection

    def factory() -> Connection:
        return Connection(server)

    async def serve(sock: socket.socket) -> None:
        # The socket already listens: connections wait in its backlog until this runs.
        server.listeners.append(await loop.create_server(factory, sock=sock))

    for sock in sockets:
        loop.create_task(serve(sock))
