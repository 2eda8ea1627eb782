"""WAIT and WAITAOF: argument errors and immediate replies compared with the oracle, blocking
until replicas acknowledge (pyvalkey and Valkey replicas), timeouts, scripts and MULTI (which
never block) and CLIENT UNBLOCK."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey
from test_replication_replica import in_sync, linked, wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def servers() -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(kind: str, *extra: str) -> ServerProcess:
        if kind == "oracle":
            server = start_oracle("--repl-diskless-sync-delay", "0", *extra)
        else:
            server = start_pyvalkey(*extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_argument_errors(diff) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("WAIT", "a", "0"),
        ("WAIT", "1", "a"),
        ("WAIT", "1", "-1"),
        ("WAIT", "1", "1.5"),
        ("WAIT", "1", "99999999999999999999"),
        ("WAIT", "0", "0"),
        ("WAIT", "-1", "0"),
        ("WAIT", "0"),
        ("WAITAOF", "2", "0", "0"),
        ("WAITAOF", "-1", "0", "0"),
        ("WAITAOF", "a", "0", "0"),
        ("WAITAOF", "0", "-1", "0"),
        ("WAITAOF", "0", "a", "0"),
        ("WAITAOF", "0", "0", "-1"),
        ("WAITAOF", "0", "0", "x"),
        ("WAITAOF", "1", "0", "0"),
        ("WAITAOF", "0", "0", "0"),
        ("WAITAOF", "0", "0"),
    ):
        diff(*args)


def test_wait_times_out_without_replicas(diff) -> None:  # type: ignore[no-untyped-def]
    diff("SET", "k", "v")
    for client in (diff.ours, diff.theirs):
        start = time.monotonic()
        assert client("WAIT", "1", "150") == b":0\r\n"
        assert time.monotonic() - start >= 0.14
        start = time.monotonic()
        assert client("WAITAOF", "0", "1", "150") == b"*2\r\n:0\r\n:0\r\n"
        assert time.monotonic() - start >= 0.14


def test_scripts_and_multi_do_not_block(diff) -> None:  # type: ignore[no-untyped-def]
    diff("SET", "k", "v")
    diff("EVAL", "return redis.pcall('wait','1','0')", "0")
    diff("EVAL", "return redis.pcall('waitaof','0','1','0')", "0")
    diff("MULTI")
    diff("WAIT", "1", "0")
    diff("WAITAOF", "0", "1", "0")
    diff("EXEC")
    diff.resp3()
    diff("EVAL", "return redis.pcall('waitaof','0','1','0')", "0")
    diff("WAIT", "0", "0")


def _unblock_when_blocked(client: RawClient, waiter_id: int, *extra: str) -> None:
    wait_for(lambda: client("CLIENT", "UNBLOCK", str(waiter_id), *extra) == b":1\r\n", what="a blocked client")


def test_client_unblock_releases_wait(diff) -> None:  # type: ignore[no-untyped-def]
    for client in (diff.ours, diff.theirs):
        port = int(client.sock.getpeername()[1])
        waiter = RawClient(port)
        waiter_id = int(waiter("CLIENT", "ID")[1:-2])
        waiter.send(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n")
        _unblock_when_blocked(client, waiter_id)
        assert waiter.read_reply() == b":0\r\n"
        waiter.send(b"*4\r\n$7\r\nWAITAOF\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n0\r\n")
        _unblock_when_blocked(client, waiter_id, "ERROR")
        assert waiter.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        assert waiter("PING") == b"+PONG\r\n"
        waiter.close()


@pytest.mark.parametrize("primary_kind", ["pyvalkey", "oracle"])
def test_wait_for_replicas(servers: Callable[..., ServerProcess], primary_kind: str) -> None:
    """One pyvalkey and one Valkey replica: WAIT returns as soon as both acknowledged."""
    primary_server = servers(primary_kind)
    primary = RawClient(primary_server.port)
    replicas = [RawClient(servers(kind).port) for kind in ("pyvalkey", "oracle")]
    for replica in replicas:
        replica("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: all(linked(replica) for replica in replicas))
    primary("SET", "k", "v")
    start = time.monotonic()
    assert primary("WAIT", "2", "5000") == b":2\r\n"
    assert time.monotonic() - start < 2.0  # answered by the GETACK round trip, not the timeout
    assert primary("WAIT", "3", "200") == b":2\r\n"
    for replica in replicas:
        assert replica("GET", "k") == b"$1\r\nv\r\n"
    # A client that wrote nothing is satisfied at once.
    fresh = RawClient(primary_server.port)
    assert fresh("WAIT", "2", "0") == b":2\r\n"
    fresh.close()


@pytest.mark.parametrize("kind", ["pyvalkey", "oracle"])
def test_waitaof_local_and_replicas(servers: Callable[..., ServerProcess], kind: str) -> None:
    primary_server = servers(kind, "--appendonly", "yes")
    replica_server = servers(kind, "--appendonly", "yes")
    primary, replica = RawClient(primary_server.port), RawClient(replica_server.port)
    replica("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: linked(replica))
    primary("SET", "k", "v")
    assert primary("WAITAOF", "1", "0", "3000") == b"*2\r\n:1\r\n:0\r\n"
    assert primary("WAITAOF", "1", "1", "5000") == b"*2\r\n:1\r\n:1\r\n"
    wait_for(lambda: in_sync(primary, replica))
    assert replica("WAITAOF", "0", "0", "0").startswith(b"-ERR WAITAOF cannot be used with replica instances")
