"""Socketless clients: valkey-py (and redis-py) connections wired straight into an in-process
server, with no socket, port or file descriptor.

The server side is pyvalkey's ordinary ``Connection`` protocol on an in-memory transport, so
requests go through the same reader, dispatcher, blocking and pub/sub code as over TCP. The
client side is the library's own ``Connection`` class with ``_connect`` returning an in-memory
socket (sync) or stream pair (asyncio), so its parsers, pipelines and pub/sub run unchanged.

Threads: the server's state is touched only on its own loop. A client in another thread hands
its bytes over with ``call_soon_threadsafe`` and waits for replies on a condition variable (sync)
or on its own loop (asyncio), so blocking commands (BLPOP ...) wait exactly as they would on a
socket. A client on the server's own thread (``AsyncEmbeddedServer``) runs commands directly.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = [
    "AsyncSocketlessConnection",
    "SocketlessConnection",
    "async_client",
    "client",
    "default_loop_thread",
    "redis_async_client",
    "redis_client",
]

_peer_ports = itertools.count(1024)
_CLOSED = "Connection closed by server."


def _resolve(server: Any) -> tuple[Any, asyncio.AbstractEventLoop, int]:
    """(pyvalkey Server, its loop, the id of the thread running that loop)."""
    inner = getattr(server, "server", None)
    if inner is None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "the pyvalkey server is not running")
    loop = getattr(server, "loop", None) or inner.loop
    thread_id = getattr(server, "loop_thread_id", 0)
    if loop is None or loop.is_closed() or inner.shutdown_requested is None or inner.shutdown_requested.done():
        raise ConnectionRefusedError(errno.ECONNREFUSED, "the pyvalkey server is not running")
    return inner, loop, thread_id


class _ServerTransport:
    """What pyvalkey's ``Connection`` protocol writes to: hands replies to the client side."""

    def __init__(self, pipe: Pipe, peer: tuple[str, int], local: tuple[str, int]) -> None:
        self._pipe = pipe
        self._closing = False
        self._extra = {"peername": peer, "sockname": local, "socket": None}

    def write(self, data: bytes) -> None:
        if not self._closing:
            self._pipe.deliver(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        pipe = self._pipe
        pipe.deliver_eof()
        # As a socket transport does: the protocol hears connection_lost on a later turn.
        pipe.loop.call_soon(pipe.protocol.connection_lost, None)

    abort = close

    def is_closing(self) -> bool:
        return self._closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


class Pipe:
    """One in-memory connection. Subclasses say how replies reach the client."""

    def __init__(self, server: Any) -> None:
        from pyvalkey.net.connection import Connection

        inner, loop, thread_id = _resolve(server)
        self.loop = loop
        self.server_thread_id = thread_id
        self.closed = False
        port = getattr(server, "port", 0) or 6379
        self.peer = ("127.0.0.1", next(_peer_ports) % 64511 + 1024)
        self.local = ("127.0.0.1", port)
        self.protocol = Connection(inner)
        self.transport = _ServerTransport(self, self.peer, self.local)
        # Enqueued before any data, and the loop runs callbacks in order.
        self._to_server(self.protocol.connection_made, self.transport)

    def on_server_thread(self) -> bool:
        return threading.get_ident() == self.server_thread_id

    def _to_server(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.on_server_thread():
            fn(*args)
            return
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the server is gone
            self.closed = True
            raise BrokenPipeError(errno.EPIPE, "the pyvalkey server has stopped") from None

    def send(self, data: bytes) -> None:
        if self.closed:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        self._to_server(self.protocol.data_received, data)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._to_server(self.transport.close)
        except BrokenPipeError:
            pass

    # called on the server's thread
    def deliver(self, data: bytes) -> None:
        raise NotImplementedError

    def deliver_eof(self) -> None:
        raise NotImplementedError


class SyncPipe(Pipe):
    """Replies land in a buffer guarded by a condition variable; ``recv`` waits on it."""

    def __init__(self, server: Any) -> None:
        self._buffer = bytearray()
        self._eof = False
        self._cond = threading.Condition(threading.Lock())
        super().__init__(server)

    def deliver(self, data: bytes) -> None:
        with self._cond:
            self._buffer += data
            self._cond.notify_all()

    def deliver_eof(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def pending(self) -> int:
        return len(self._buffer)

    def wait_readable(self, timeout: float | None) -> bool:
        """True once a reply (or EOF) is there; ``timeout`` None waits as long as it takes."""
        with self._cond:
            if self._buffer or self._eof:
                return True
            if timeout == 0:
                return False
            if self.on_server_thread():
                # The reply needs this thread's own event loop, which is waiting on us.
                raise ConnectionAbortedError(
                    errno.ECONNABORTED,
                    "a sync socketless client cannot wait for a reply on the server's own thread "
                    "(use the asyncio client with AsyncEmbeddedServer)",
                )
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._buffer and not self._eof:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def recv(self, size: int, timeout: float | None, peek: bool = False) -> bytes:
        if not self.wait_readable(timeout):
            if timeout == 0:
                raise BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable")
            raise TimeoutError("timed out")
        with self._cond:
            buffer = self._buffer
            if not buffer:
                return b""  # EOF
            data = bytes(buffer[:size])
            if not peek:
                del buffer[:size]
            return data


class SocketlessSocket:
    """Just enough of a socket for valkey-py's and redis-py's sync connections and parsers."""

    family = socket.AF_INET
    type = socket.SOCK_STREAM

    def __init__(self, pipe: SyncPipe, timeout: float | None = None) -> None:
        self.pipe = pipe
        self._timeout = timeout

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def setsockopt(self, *args: Any) -> None:
        pass

    def getpeername(self) -> tuple[str, int]:
        return self.pipe.local

    def getsockname(self) -> tuple[str, int]:
        return self.pipe.peer

    def fileno(self) -> int:
        return -1

    def sendall(self, data: Any) -> None:
        self.pipe.send(bytes(data))

    def send(self, data: Any) -> int:
        self.pipe.send(bytes(data))
        return len(data)

    def recv(self, size: int, flags: int = 0) -> bytes:
        return self.pipe.recv(size, self._timeout, peek=bool(flags & socket.MSG_PEEK))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        data = self.recv(nbytes or len(buffer), flags)
        buffer[: len(data)] = data
        return len(data)

    def shutdown(self, how: int) -> None:
        self.pipe.close()

    def close(self) -> None:
        self.pipe.close()


class AsyncPipe(Pipe):
    """Replies are fed to an ``asyncio.StreamReader`` on the client's loop."""

    def __init__(self, server: Any, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.client_loop = asyncio.get_running_loop()
        self.client_thread_id = threading.get_ident()
        super().__init__(server)

    def _to_client(self, fn: Callable[..., Any], *args: Any) -> None:
        if threading.get_ident() == self.client_thread_id:
            fn(*args)
            return
        try:
            self.client_loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            self.closed = True  # the client's loop is gone; nobody is reading

    def deliver(self, data: bytes) -> None:
        self._to_client(self.reader.feed_data, data)

    def deliver_eof(self) -> None:
        self._to_client(self.reader.feed_eof)


class _NoSocketTransport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False


class SocketlessWriter:
    """The ``StreamWriter`` side used by valkey-py's asyncio connection."""

    transport = _NoSocketTransport()

    def __init__(self, pipe: AsyncPipe) -> None:
        self.pipe = pipe

    def write(self, data: bytes) -> None:
        self.pipe.send(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.pipe.send(b"".join(chunks))

    async def drain(self) -> None:
        if self.pipe.closed:
            raise ConnectionResetError(errno.ECONNRESET, _CLOSED)

    def close(self) -> None:
        self.pipe.close()

    def is_closing(self) -> bool:
        return self.pipe.closed

    async def wait_closed(self) -> None:
        pass


# -- valkey-py / redis-py connection classes ---------------------------------------------------


def _sync_connection_class(base: type, resp2_parser: type) -> type:
    class SyncSocketless(base):  # type: ignore[misc, valid-type]
        """A sync connection whose ``socket`` is an in-memory pipe into the server."""

        def __init__(self, *, server: Any, **kwargs: Any) -> None:
            # The pure-Python parsers read through ``sock.recv``; the C parsers poll a real fd.
            kwargs["parser_class"] = resp2_parser
            super().__init__(**kwargs)
            self.pyvalkey_server = server

        def _connect(self) -> SocketlessSocket:
            return SocketlessSocket(SyncPipe(self.pyvalkey_server), self.socket_timeout)

        def _host_error(self) -> str:
            return "socketless pyvalkey server"

        def repr_pieces(self) -> list[tuple[str, Any]]:
            return [("server", self.pyvalkey_server), ("db", self.db)]

        def can_read(self, timeout: float | None = 0) -> bool:
            if self._sock is None:
                self.connect()
            buffer = getattr(self._parser, "_buffer", None)
            if buffer is not None and buffer.unread_bytes():
                return True
            try:
                return self._sock.pipe.wait_readable(timeout)  # type: ignore[union-attr]
            except OSError as exc:
                self.disconnect()
                raise self._connection_error(exc) from exc

        def _connection_error(self, exc: OSError) -> Exception:
            module = __import__(base.__module__.split(".")[0] + ".exceptions", fromlist=["ConnectionError"])
            return module.ConnectionError(f"Error while reading from {self._host_error()}: {exc}")

    return SyncSocketless


def _async_connection_class(base: type) -> type:
    class AsyncSocketless(base):  # type: ignore[misc, valid-type]
        """An asyncio connection whose streams are in-memory pipes into the server."""

        def __init__(self, *, server: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.pyvalkey_server = server

        async def _connect(self) -> None:
            reader = asyncio.StreamReader(limit=2**16)
            pipe = AsyncPipe(self.pyvalkey_server, reader)
            self._reader = reader
            self._writer = SocketlessWriter(pipe)

        def _host_error(self) -> str:
            return "socketless pyvalkey server"

        def repr_pieces(self) -> list[tuple[str, Any]]:
            return [("server", self.pyvalkey_server), ("db", self.db)]

    return AsyncSocketless


def _valkey_classes() -> tuple[type, type]:
    import valkey.asyncio.connection
    import valkey.connection
    from valkey._parsers import _RESP2Parser

    return (
        _sync_connection_class(valkey.connection.Connection, _RESP2Parser),
        _async_connection_class(valkey.asyncio.connection.Connection),
    )


try:
    SocketlessConnection, AsyncSocketlessConnection = _valkey_classes()
except ImportError:  # valkey-py is not installed
    SocketlessConnection = AsyncSocketlessConnection = None  # type: ignore[assignment, misc]

_redis_classes: tuple[type, type] | None = None


def redis_connection_classes() -> tuple[type, type]:
    """(sync, asyncio) socketless connection classes for redis-py (imported on first use)."""
    global _redis_classes
    if _redis_classes is None:
        import redis.asyncio.connection
        import redis.connection
        from redis._parsers import _RESP2Parser

        _redis_classes = (
            _sync_connection_class(redis.connection.Connection, _RESP2Parser),
            _async_connection_class(redis.asyncio.connection.Connection),
        )
    return _redis_classes


# -- ready-made clients ------------------------------------------------------------------------

_default_thread: Any = None
_default_lock = threading.Lock()


def default_loop_thread() -> Any:
    """The loop thread that hosts servers made by ``client()`` without a server (one per
    process, started on first use)."""
    global _default_thread
    from pyvalkey.embedded import LoopThread

    with _default_lock:
        if _default_thread is None or not _default_thread.alive:
            _default_thread = LoopThread("pyvalkey-socketless").start()
        return _default_thread


def new_server(**directives: Any) -> Any:
    """A started socketless-only ``EmbeddedServer`` on the shared loop thread."""
    from pyvalkey.embedded import EmbeddedServer

    return EmbeddedServer(port=None, loop_thread=default_loop_thread(), **directives).start()


def _own_server(client: Any, server: Any) -> None:
    # The server lives as long as the client object: a forgotten client frees its server.
    client.pyvalkey_server = server
    weakref.finalize(client, _stop_quietly, server)


def _stop_quietly(server: Any) -> None:
    try:
        server.stop(timeout=2.0)
    except Exception:  # noqa: BLE001, S110  (finalizers must not raise)
        pass


def _pool_kwargs(server: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.pop("single_connection_client", None)  # a client option, not a connection one
    password = getattr(server, "password", None)
    if password and "password" not in kwargs:
        kwargs["password"] = password
    kwargs["server"] = server
    return kwargs


def client(server: Any = None, **kwargs: Any) -> Any:
    """A ``valkey.Valkey`` talking to ``server`` (an ``EmbeddedServer``) without a socket.

    Without ``server`` a fresh, empty server is made for this client and stopped when the client
    is garbage collected (``client.pyvalkey_server`` is that server: time travel, ``stop()``).
    Keyword arguments go to the connection pool (``protocol=3``, ``decode_responses=True``,
    ``db=1`` ...).
    """
    import valkey

    single = bool(kwargs.get("single_connection_client", False))
    owned = server is None
    if owned:
        server = new_server()
    pool = valkey.ConnectionPool(connection_class=SocketlessConnection, **_pool_kwargs(server, kwargs))
    result = valkey.Valkey(connection_pool=pool, single_connection_client=single)
    if owned:
        _own_server(result, server)
    return result


def async_client(server: Any = None, **kwargs: Any) -> Any:
    """A ``valkey.asyncio.Valkey`` without a socket (see ``client``)."""
    import valkey.asyncio

    single = bool(kwargs.get("single_connection_client", False))
    owned = server is None
    if owned:
        server = new_server()
    pool = valkey.asyncio.ConnectionPool(
        connection_class=AsyncSocketlessConnection, **_pool_kwargs(server, kwargs)
    )
    result = valkey.asyncio.Valkey(connection_pool=pool, single_connection_client=single)
    if owned:
        _own_server(result, server)
    return result


def redis_client(server: Any = None, **kwargs: Any) -> Any:
    """A ``redis.Redis`` (redis-py) without a socket (see ``client``)."""
    import redis

    sync_class, _ = redis_connection_classes()
    single = bool(kwargs.get("single_connection_client", False))
    owned = server is None
    if owned:
        server = new_server()
    pool = redis.ConnectionPool(connection_class=sync_class, **_pool_kwargs(server, kwargs))
    result = redis.Redis(connection_pool=pool, single_connection_client=single)
    if owned:
        _own_server(result, server)
    return result


def redis_async_client(server: Any = None, **kwargs: Any) -> Any:
    """A ``redis.asyncio.Redis`` without a socket (see ``client``)."""
    import redis.asyncio

    _, async_class = redis_connection_classes()
    single = bool(kwargs.get("single_connection_client", False))
    owned = server is None
    if owned:
        server = new_server()
    pool = redis.asyncio.ConnectionPool(connection_class=async_class, **_pool_kwargs(server, kwargs))
    result = redis.asyncio.Redis(connection_pool=pool, single_connection_client=single)
    if owned:
        _own_server(result, server)
    return result
