"""Listening sockets: every address of ``bind`` on ``port`` (0 = no TCP), plus ``unixsocket``.

A bind address prefixed with ``-`` is optional: failing to bind it is not an error (Valkey's
default ``* -::*`` binds IPv6 only where available).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING, Any

from pyvalkey.net.connection import Connection

if TYPE_CHECKING:
    from pyvalkey.server import Server


class BindError(OSError):
    pass


def parse_bind_address(address: str) -> tuple[str, socket.AddressFamily, bool]:
    """One ``bind`` entry as (host, address family, optional): ``*`` is every IPv4 address,
    ``::*`` every IPv6 one, and a leading ``-`` (as in the default ``-::*``) means "bind only
    where available"."""
    optional = address.startswith("-")
    host = address.lstrip("-")
    family = socket.AF_INET
    if host == "*":
        host = "0.0.0.0"
    elif host == "::*":
        host, family = "::", socket.AF_INET6
    elif ":" in host:
        family = socket.AF_INET6
    return host, family, optional


def open_tcp_socket(host: str, family: socket.AddressFamily, port: int, backlog: int) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port`` (IPv6 sockets take IPv6 only, so
    ``*`` and ``::*`` can both be bound); OSError when it cannot be bound."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def start_listeners(server: Server) -> list[Any]:
    loop = asyncio.get_running_loop()
    config = server.config
    listeners: list[Any] = []

    def factory() -> Connection:
        return Connection(server)

    port = config.port
    if port:
        for address in config.bind:
            host, family, optional = parse_bind_address(address)
            try:
                sock = open_tcp_socket(host, family, port, config.tcp_backlog)
            except OSError as exc:
                if optional:
                    continue
                for listener in listeners:
                    listener.close()
                raise BindError(exc.errno, f"Could not create server TCP listening socket {address}:{port}: {exc.strerror}") from exc
            listeners.append(await loop.create_server(factory, sock=sock))
            if port:
                server.tcp_port = sock.getsockname()[1]
    if config.unixsocket:
        path = config.unixsocket
        if os.path.exists(path):
            os.unlink(path)
        listener = await loop.create_unix_server(factory, path=path, backlog=config.tcp_backlog)
        if config.unixsocketperm:
            os.chmod(path, config.unixsocketperm)
        listeners.append(listener)
    return listeners
