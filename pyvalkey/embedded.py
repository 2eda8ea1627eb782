"""The server embedded in another Python program: for test suites, notebooks and CI jobs.

``EmbeddedServer`` runs a complete pyvalkey ``Server`` on an event loop of its own in a daemon
thread of the calling process; ``AsyncEmbeddedServer`` runs it on the caller's running loop.
Both bind 127.0.0.1 on an ephemeral port by default (Valkey's ``port 0`` means "no TCP", so the
ephemeral port is bound here, not by ``start_listeners``), and both report start-up failures
(port in use, a bad directive) as exceptions in the caller, with nothing left bound or running.

Time travel (``advance_time``, ``freeze_time``, ``resume_time``) runs on the server's own loop,
so it never races a command.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import itertools
import os
import socket
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyvalkey.clock import Clock
from pyvalkey.config import Config, ConfigError
from pyvalkey.net.listeners import BindError

T = TypeVar("T")

__all__ = ["AsyncEmbeddedServer", "EmbeddedServer", "EmbeddedServerError", "build_config"]

_UNSET: Any = object()
_socket_names = itertools.count(1)


class EmbeddedServerError(RuntimeError):
    """The embedded server could not start, or its thread failed."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (it is what ``pyvalkey-server`` runs on)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


# -- configuration ----------------------------------------------------------------------------


def _words(value: Any) -> list[str]:
    if value is True:
        return ["yes"]
    if value is False:
        return ["no"]
    if value is None:
        return [""]
    if isinstance(value, (list, tuple)):
        return [str(part) for part in value]
    if isinstance(value, bytes):
        return [value.decode()]
    return [str(value)]


def apply_directive(config: Config, name: str, value: Any) -> None:
    """Set one directive with config-file rules; ``max_memory`` style names are accepted.

    Unlike a config file this never changes the process's working directory (``dir``): an
    embedded server shares the process with its host program.
    """
    directive_name = name.replace("_", "-").lower()
    words = _words(value)
    try:
        item, parsed = config.parse_args(directive_name, words)
    except KeyError:
        raise EmbeddedServerError(f"Bad directive or wrong number of arguments: '{name}'") from None
    except ConfigError as exc:
        raise EmbeddedServerError(f"Bad value for '{directive_name}' ({' '.join(words)!r}): {exc}") from None
    if not item.multi_arg and len(words) != 1:
        raise EmbeddedServerError(f"Bad directive or wrong number of arguments: '{name}'")
    if item.name == "hz":
        parsed = min(max(parsed, 1), 500)
    setattr(config, item.attr, parsed)
    config.explicit.add(item.name)


def build_config(
    config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    directives: Mapping[str, Any] | None = None,
) -> Config:
    """A ``Config`` from a ``Config``, a mapping of directives, or a valkey.conf path, plus
    keyword directives (which win). Snapshots are off unless ``save`` is given: a test server
    should not write ``dump.rdb`` into the working directory."""
    if isinstance(config, Config):
        result = config
    elif isinstance(config, (str, os.PathLike)):
        from pyvalkey.cli import FatalConfigError, Loader, OpenError

        result = Config()
        loader = Loader(result)
        cwd = os.getcwd()
        try:
            loader.load_file(os.fspath(config))
        except FatalConfigError as exc:
            raise EmbeddedServerError(exc.report().strip()) from None
        except OpenError as exc:
            raise EmbeddedServerError(str(exc)) from None
        finally:
            if os.getcwd() != cwd:
                os.chdir(cwd)  # a ``dir`` line must not move the host program
        result.file = os.path.abspath(os.fspath(config))
    else:
        result = Config()
        for name, value in (config or {}).items():
            apply_directive(result, name, value)
    for name, value in (directives or {}).items():
        apply_directive(result, name, value)
    if "save" not in result.explicit:
        result.save = []
    return result


def _bind(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket, bound before the server starts so errors reach the caller."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BindError(exc.errno, f"Could not create server TCP listening socket {host}:{port}: {exc}") from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise BindError(
            exc.errno, f"Could not create server TCP listening socket {host}:{port}: {exc.strerror}"
        ) from exc
    return sock


# -- the loop thread --------------------------------------------------------------------------


class LoopThread:
    """An event loop running forever in a daemon thread; servers are started on it."""

    def __init__(self, name: str = "pyvalkey-embedded") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id = 0
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    def start(self) -> LoopThread:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise EmbeddedServerError("could not create the server's event loop") from self._failure
        return self

    def _run(self) -> None:
        try:
            loop = new_event_loop()
        except BaseException as exc:  # noqa: BLE001  (reported to the starting thread)
            self._failure = exc
            self._started.set()
            return
        asyncio.set_event_loop(loop)
        self.loop = loop
        self.thread_id = threading.get_ident()
        self._started.set()
        try:
            loop.run_forever()
        finally:
            try:
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def in_thread(self) -> bool:
        return threading.get_ident() == self.thread_id

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = 10.0) -> T:
        """Run ``fn(*args)`` on the loop and return its result (exceptions re-raised here)."""
        if self.in_thread():
            return fn(*args)
        loop = self.loop
        if loop is None or not self.alive:
            raise EmbeddedServerError("the server's event loop is not running")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001  (handed to the calling thread)
                future.set_exception(exc)

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:
            raise EmbeddedServerError("the server's event loop is not running") from None
        return future.result(timeout)

    def run(self, coro: Any, timeout: float | None = 10.0) -> Any:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:
                pass  # already closed
            if threading.get_ident() != self.thread_id:
                thread.join(timeout)
                if thread.is_alive():
                    raise EmbeddedServerError(f"the server thread did not stop within {timeout} s")


# -- the server core shared by the thread and asyncio forms -----------------------------------


class _Core:
    """Configuration, addresses and start/close of one server, whatever loop it runs on."""

    def __init__(
        self,
        port: int | None = _UNSET,
        *,
        host: str = "127.0.0.1",
        unixsocket: str | os.PathLike[str] | bool | None = None,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        **directives: Any,
    ) -> None:
        self.config = build_config(config, directives)
        if port is _UNSET:
            port = self.config.port if "port" in self.config.explicit else 0
        self._tcp = port is not None
        try:
            self._requested_port = int(port or 0)
        except (TypeError, ValueError):
            raise EmbeddedServerError(f"port must be a number from 0 to 65535 or None, not {port!r}") from None
        if not 0 <= self._requested_port <= 65535:
            raise EmbeddedServerError(f"port must be a number from 0 to 65535 or None, not {port!r}")
        self._host = host
        if unixsocket is True:
            unixsocket = os.path.join(tempfile.gettempdir(), f"pyvalkey-{os.getpid()}-{next(_socket_names)}.sock")
        if unixsocket:
            self.config.unixsocket = os.fspath(unixsocket)
        self.clock = clock or Clock()
        self.server: Any = None  # the pyvalkey Server once started
        self._serve_task: asyncio.Task[None] | None = None
        self._port = 0

    # -- addresses ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The TCP port (0 when the server has no TCP listener)."""
        return self._port

    @property
    def unixsocket(self) -> str | None:
        return self.config.unixsocket or None

    unix_socket_path = unixsocket

    @property
    def password(self) -> str | None:
        return self.config.requirepass or None

    def _url(self, scheme: str, db: int = 0) -> str:
        from urllib.parse import quote

        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        if self._port:
            host = f"[{self._host}]" if ":" in self._host else self._host
            return f"{scheme}://{auth}{host}:{self._port}/{db}"
        if self.unixsocket:
            return f"unix://{auth}{self.unixsocket}?db={db}"
        raise EmbeddedServerError("the server has no listener (started with port=None and no unixsocket)")

    @property
    def url(self) -> str:
        """``valkey://127.0.0.1:<port>/0`` (``unix://...`` when only a Unix socket listens)."""
        return self._url("valkey")

    @property
    def redis_url(self) -> str:
        return self._url("redis")

    @property
    def connection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``valkey.Valkey(...)`` / ``redis.Redis(...)``."""
        if self._port:
            kwargs: dict[str, Any] = {"host": self._host, "port": self._port}
        elif self.unixsocket:
            kwargs = {"unix_socket_path": self.unixsocket}
        else:
            raise EmbeddedServerError("the server has no listener (started with port=None and no unixsocket)")
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    # -- on the server loop ------------------------------------------------------------------

    async def _start_on_loop(self) -> None:
        from pyvalkey.net.connection import Connection
        from pyvalkey.server import Server

        config = self.config
        sock = None
        if self._tcp:
            sock = _bind(self._host, self._requested_port, config.tcp_backlog)
        server = Server(config, self.clock)
        server.owns_cwd = False  # files go to ``dir`` without moving the host's working directory
        server.keyspace.notify_flags = config.notify_keyspace_events
        server.stats.slowlog_threshold_us = config.slowlog_log_slower_than
        port = sock.getsockname()[1] if sock is not None else 0
        config.bind = [self._host]
        # The TCP listener is ours (Valkey's port 0 would mean none): start() binds only the
        # Unix socket, then the port shows as the real one in CONFIG GET and INFO.
        config.port = 0
        try:
            await server.start()
            if sock is not None:
                loop = asyncio.get_running_loop()
                listener = await loop.create_server(lambda: Connection(server), sock=sock)
                server.listeners.append(listener)
                server.tcp_port = port
        except BaseException:
            if sock is not None:
                sock.close()
            await server.close()
            raise
        config.port = port
        self._port = port
        self.server = server
        self._serve_task = asyncio.get_running_loop().create_task(self._serve(server))

    async def _serve(self, server: Any) -> None:
        try:
            await server.shutdown_requested
        finally:
            await server.close()
            # Let the transports' connection_lost callbacks run before the loop goes away.
            for _ in range(3):
                await asyncio.sleep(0)
            self._port = 0
            self._on_stopped()

    def _on_stopped(self) -> None:
        pass

    def _request_shutdown(self) -> None:
        if self.server is not None:
            self.server.request_shutdown()

    # -- time travel (run on the server loop) -----------------------------------------------

    def _advance(self, seconds: float) -> None:
        from pyvalkey.commands.timetravel import advance_time

        advance_time(self.server, seconds)

    def _freeze(self) -> None:
        from pyvalkey.commands.timetravel import freeze_time

        freeze_time(self.server)

    def _resume(self) -> None:
        from pyvalkey.commands.timetravel import resume_time

        resume_time(self.server)

    def __repr__(self) -> str:
        where = f"{self._host}:{self._port}" if self._port else (self.unixsocket or "socketless")
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {where} {state}>"

    @property
    def running(self) -> bool:
        task = self._serve_task
        return task is not None and not task.done()


_live: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()


class EmbeddedServer(_Core):
    """A pyvalkey server in a background thread of this process.

    ``EmbeddedServer()`` listens on 127.0.0.1 on an ephemeral port; ``port=None`` gives no TCP
    listener (socketless clients and/or ``unixsocket`` only); ``unixsocket=True`` picks a path in
    the temp directory. Keyword directives use Valkey's names with ``_`` for ``-``
    (``maxmemory_policy="allkeys-lru"``); ``config`` may be a ``Config``, a mapping or a path to
    a valkey.conf.

        with EmbeddedServer() as server:
            client = server.client()
    """

    def __init__(
        self,
        port: int | None = _UNSET,
        *,
        host: str = "127.0.0.1",
        unixsocket: str | os.PathLike[str] | bool | None = None,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        start_timeout: float = 10.0,
        loop_thread: LoopThread | None = None,
        **directives: Any,
    ) -> None:
        super().__init__(port, host=host, unixsocket=unixsocket, config=config, clock=clock, **directives)
        self.start_timeout = start_timeout
        self._loop_thread = loop_thread
        self._owns_thread = loop_thread is None
        self._stopped = threading.Event()
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EmbeddedServer:
        if self._started:
            raise EmbeddedServerError("this server was already started (create a new one)")
        self._started = True
        thread = self._loop_thread
        if thread is None:
            thread = self._loop_thread = LoopThread(f"pyvalkey-embedded-{id(self):x}").start()
        try:
            thread.run(self._start_on_loop(), self.start_timeout)
        except BaseException as exc:
            if self._owns_thread:
                thread.stop()
            if isinstance(exc, concurrent.futures.TimeoutError):
                raise EmbeddedServerError(f"the server did not start within {self.start_timeout} s") from None
            raise
        _live.add(self)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and listener, free the port, and join the thread."""
        thread = self._loop_thread
        if thread is None or self.server is None:
            return
        _live.discard(self)
        if not self._stopped.is_set() and thread.alive:
            try:
                thread.loop.call_soon_threadsafe(self._request_shutdown)  # type: ignore[union-attr]
            except RuntimeError:
                pass
            if not thread.in_thread():
                self._stopped.wait(timeout)
        if self._owns_thread:
            thread.stop(timeout)
        if not self._stopped.is_set() and not thread.in_thread():
            raise EmbeddedServerError(f"the server did not stop within {timeout} s")

    close = stop

    def _on_stopped(self) -> None:
        self._stopped.set()

    def __enter__(self) -> EmbeddedServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._started and not self._stopped.is_set() and self._loop_thread is not None and self._loop_thread.alive

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop_thread.loop if self._loop_thread is not None else None

    @property
    def loop_thread_id(self) -> int:
        return self._loop_thread.thread_id if self._loop_thread is not None else 0

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = 10.0) -> T:
        """Run ``fn(*args)`` on the server's loop (the only thread that may touch its state)."""
        if not self.running or self._loop_thread is None:
            raise EmbeddedServerError("the server is not running")
        return self._loop_thread.call(fn, *args, timeout=timeout)

    # -- time travel -------------------------------------------------------------------------

    def advance_time(self, seconds: float) -> None:
        """Move the server's clock forward: TTLs, expiry, blocking timeouts and idle times
        all see the new time at once."""
        self.call(self._advance, seconds)

    def freeze_time(self) -> None:
        """Stop the server's clock (commands still run; their time stands still)."""
        self.call(self._freeze)

    def resume_time(self) -> None:
        """Let a frozen clock run again from where it stood."""
        self.call(self._resume)

    # -- clients -----------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> Any:
        """A ``valkey.Valkey`` connected over TCP (or the Unix socket)."""
        import valkey

        return valkey.Valkey(**{**self.connection_kwargs, **kwargs})

    def async_client(self, **kwargs: Any) -> Any:
        """A ``valkey.asyncio.Valkey`` for this server."""
        import valkey.asyncio

        return valkey.asyncio.Valkey(**{**self.connection_kwargs, **kwargs})

    def socketless_client(self, **kwargs: Any) -> Any:
        """A ``valkey.Valkey`` wired straight into this server, without a socket."""
        from pyvalkey.testing.socketless import client

        return client(self, **kwargs)


class AsyncEmbeddedServer(_Core):
    """A pyvalkey server on the caller's running event loop.

        async with AsyncEmbeddedServer() as server:
            client = server.client()
    """

    async def start(self) -> AsyncEmbeddedServer:
        if self.server is not None:
            raise EmbeddedServerError("this server was already started (create a new one)")
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        await self._start_on_loop()
        return self

    async def stop(self) -> None:
        task = self._serve_task
        if task is None:
            return
        self._request_shutdown()
        await asyncio.shield(task)

    close = stop

    async def __aenter__(self) -> AsyncEmbeddedServer:  # noqa: PYI034
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return getattr(self, "_loop", None)

    @property
    def loop_thread_id(self) -> int:
        return getattr(self, "_thread_id", 0)

    def advance_time(self, seconds: float) -> None:
        self._advance(seconds)

    def freeze_time(self) -> None:
        self._freeze()

    def resume_time(self) -> None:
        self._resume()

    def client(self, **kwargs: Any) -> Any:
        """A ``valkey.asyncio.Valkey`` connected over TCP (or the Unix socket)."""
        import valkey.asyncio

        return valkey.asyncio.Valkey(**{**self.connection_kwargs, **kwargs})

    def socketless_client(self, **kwargs: Any) -> Any:
        """A ``valkey.asyncio.Valkey`` wired straight into this server on this loop."""
        from pyvalkey.testing.socketless import async_client

        return async_client(self, **kwargs)


@atexit.register
def _stop_forgotten_servers() -> None:
    # A test that forgot stop() must not leave a loop thread mid-callback at interpreter exit.
    for server in list(_live):
        try:
            server.stop(timeout=2.0)
        except Exception:  # noqa: BLE001, S110  (best effort at exit)
            pass
