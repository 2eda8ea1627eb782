"""EmbeddedServer / AsyncEmbeddedServer: lifecycle, addresses, config, errors, clean shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest
import valkey

from pyvalkey.embedded import AsyncEmbeddedServer, EmbeddedServer, EmbeddedServerError
from pyvalkey.net.listeners import BindError


def _embedded_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pyvalkey-embedded")]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_context_manager_serves_and_frees_the_port() -> None:
    before = len(_embedded_threads())
    with EmbeddedServer() as server:
        assert server.running
        assert server.host == "127.0.0.1"
        assert server.port > 0
        port = server.port
        client = server.client()
        assert client.ping() is True
        assert client.set("k", "v") is True
        assert client.get("k") == b"v"
        assert client.config_get("port") == {"port": str(port)}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        client.close()
    assert not server.running
    assert server.port == 0
    assert _port_is_free(port)
    assert len(_embedded_threads()) == before


def test_start_stop_methods_and_repr() -> None:
    server = EmbeddedServer().start()
    try:
        assert f"127.0.0.1:{server.port}" in repr(server)
        assert "running" in repr(server)
        with pytest.raises(EmbeddedServerError, match="already started"):
            server.start()
    finally:
        server.stop()
    server.stop()  # a second stop is harmless
    assert "stopped" in repr(server)


def test_urls_and_connection_kwargs() -> None:
    with EmbeddedServer() as server:
        assert server.url == f"valkey://127.0.0.1:{server.port}/0"
        assert server.redis_url == f"redis://127.0.0.1:{server.port}/0"
        assert server.connection_kwargs == {"host": "127.0.0.1", "port": server.port}
        by_url = valkey.Valkey.from_url(server.url)
        by_kwargs = valkey.Valkey(**server.connection_kwargs)
        by_url.set("a", "1")
        assert by_kwargs.get("a") == b"1"
        by_url.close()
        by_kwargs.close()
        import redis

        redis_client = redis.Redis.from_url(server.redis_url)
        assert redis_client.get("a") == b"1"
        redis_client.close()


def test_password_goes_into_url_and_kwargs() -> None:
    with EmbeddedServer(requirepass="s3cret/x") as server:
        assert server.password == "s3cret/x"
        assert server.url == f"valkey://:s3cret%2Fx@127.0.0.1:{server.port}/0"
        assert server.connection_kwargs["password"] == "s3cret/x"
        client = server.client()
        assert client.ping() is True
        client.close()
        anonymous = valkey.Valkey(host=server.host, port=server.port)
        with pytest.raises(valkey.AuthenticationError):
            anonymous.get("x")
        anonymous.close()


def test_several_servers_at_once_are_isolated() -> None:
    servers = [EmbeddedServer().start() for _ in range(3)]
    try:
        assert len({s.port for s in servers}) == 3
        clients = [s.client() for s in servers]
        for index, client in enumerate(clients):
            client.set("who", index)
        assert [c.get("who") for c in clients] == [b"0", b"1", b"2"]
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.stop()
    assert all(not s.running for s in servers)


def test_port_in_use_raises_in_caller_and_leaves_nothing_running() -> None:
    before = len(_embedded_threads())
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        with pytest.raises(BindError, match=f"127.0.0.1:{port}.*(in use|Address)"):
            EmbeddedServer(port=port).start()
    assert len(_embedded_threads()) == before


def test_fixed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with EmbeddedServer(port=port) as server:
        assert server.port == port
        with valkey.Valkey(port=port) as client:
            assert client.ping() is True


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ({"no_such_directive": "1"}, "Bad directive"),
        ({"maxmemory_policy": "sometimes"}, "maxmemory-policy"),
        ({"databases": "many"}, "databases"),
        ({"port": "-3"}, "port"),
    ],
)
def test_bad_directive_raises_before_anything_starts(directives: dict, message: str) -> None:
    before = len(_embedded_threads())
    with pytest.raises(EmbeddedServerError, match=message):
        EmbeddedServer(**directives)
    assert len(_embedded_threads()) == before


def test_directives_mapping_and_config_file() -> None:
    with EmbeddedServer(config={"maxmemory-policy": "allkeys-lru"}, databases=4, appendonly=False) as server:
        client = server.client()
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert client.config_get("databases") == {"databases": "4"}
        assert client.config_get("save") == {"save": ""}  # no dump.rdb from a test server
        client.close()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "valkey.conf")
        with open(path, "w") as handle:
            handle.write("maxmemory 10mb\nhz 50\n")
        cwd = os.getcwd()
        with EmbeddedServer(config=path, dir=tmp) as server:
            client = server.client()
            assert client.config_get("maxmemory") == {"maxmemory": "10485760"}
            assert client.config_get("hz") == {"hz": "50"}
            client.close()
        assert os.getcwd() == cwd
        with open(path, "w") as handle:
            handle.write("nonsense-directive 1\n")
        with pytest.raises(EmbeddedServerError, match="Bad directive"):
            EmbeddedServer(config=path)


def test_unix_socket_only() -> None:
    with EmbeddedServer(port=None, unixsocket=True) as server:
        path = server.unixsocket
        assert path and os.path.exists(path)
        assert server.port == 0
        assert server.url == f"unix://{path}?db=0"
        assert server.connection_kwargs == {"unix_socket_path": path}
        client = server.client()
        assert client.ping() is True
        client.close()
        by_url = valkey.Valkey.from_url(server.url)
        assert by_url.ping() is True
        by_url.close()
    assert not os.path.exists(path)


def test_no_listener_at_all() -> None:
    with EmbeddedServer(port=None) as server:
        with pytest.raises(EmbeddedServerError, match="no listener"):
            _ = server.url
        client = server.socketless_client()
        assert client.ping() is True
        client.close()


def test_shutdown_command_stops_the_thread() -> None:
    server = EmbeddedServer().start()
    client = server.client()
    assert client.shutdown(nosave=True) is None  # valkey-py: the connection dropped, as it should
    deadline = time.monotonic() + 5
    while server.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not server.running
    server.stop()
    client.close()


def test_call_runs_on_the_server_loop() -> None:
    with EmbeddedServer() as server:
        assert server.call(threading.get_ident) == server.loop_thread_id != threading.get_ident()
        assert server.call(lambda: len(server.server.keyspace.dbs)) == 16
    with pytest.raises(EmbeddedServerError, match="not running"):
        server.call(lambda: None)


def test_forgotten_server_does_not_hang_exit() -> None:
    code = textwrap.dedent(
        """
        from pyvalkey.embedded import EmbeddedServer
        server = EmbeddedServer().start()
        client = server.client()
        client.set("k", "v")
        print(server.port)
        """
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().isdigit()
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_async_embedded_server_on_the_running_loop() -> None:
    async def main() -> None:
        async with AsyncEmbeddedServer() as server:
            assert server.loop is asyncio.get_running_loop()
            assert server.port > 0
            client = server.client()
            assert await client.ping() is True
            await client.set("k", "v", ex=100)
            server.advance_time(40)
            assert await client.ttl("k") == 60
            await client.aclose()
            port = server.port
        assert not server.running
        assert _port_is_free(port)

    asyncio.run(main())


def test_async_embedded_server_port_in_use() -> None:
    async def main() -> None:
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen(1)
            with pytest.raises(BindError):
                await AsyncEmbeddedServer(port=blocker.getsockname()[1]).start()

    asyncio.run(main())


def test_top_level_name_and_ipv6() -> None:
    import pyvalkey

    assert pyvalkey.EmbeddedServer is EmbeddedServer
    try:
        server = pyvalkey.EmbeddedServer(host="::1").start()
    except BindError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.url == f"valkey://[::1]:{server.port}/0"
        with server.client() as client:
            assert client.ping() is True
    finally:
        server.stop()


def test_unittest_example_from_the_docs() -> None:
    import unittest

    class CacheTests(unittest.TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            cls.server = EmbeddedServer().start()
            cls.addClassCleanup(cls.server.stop)

        def setUp(self) -> None:
            self.r = self.server.client()
            self.r.flushall()
            self.addCleanup(self.r.close)

        def test_expiry(self) -> None:
            self.r.set("k", "v", ex=10)
            self.server.advance_time(10)
            self.assertIsNone(self.r.get("k"))

    with open(os.devnull, "w") as sink:
        result = unittest.TextTestRunner(stream=sink, verbosity=0).run(
            unittest.defaultTestLoader.loadTestsFromTestCase(CacheTests)
        )
    assert result.wasSuccessful() and result.testsRun == 1
    assert not CacheTests.server.running
