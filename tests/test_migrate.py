"""MIGRATE from pyvalkey and from the oracle into the same target server: same replies, same
data moved, same keys left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resp import RawClient
from servers import ServerProcess, start_oracle


@pytest.fixture
def target() -> Iterator[ServerProcess]:
    server = start_oracle()
    yield server
    server.stop()


def _scenario(source: RawClient, target_port: int) -> list[bytes]:
    t = "127.0.0.1"
    out = []
    source("FLUSHALL")
    source("SET", "s", "value")
    source("SET", "ttl", "v", "EX", "1000")
    source("RPUSH", "l", "a", "b", "c")
    source("HSET", "h", "f", "v")
    source("ZADD", "z", "1", "m")
    source("SADD", "set", "x")
    for args in (
        ("MIGRATE", t, target_port, "s", 9, 5000),
        ("MIGRATE", t, target_port, "nokey", 9, 5000),
        ("MIGRATE", t, target_port, "ttl", 9, 5000, "COPY"),
        ("EXISTS", "ttl"),
        ("MIGRATE", t, target_port, "ttl", 9, 5000),  # BUSYKEY on the target
        ("EXISTS", "ttl"),
        ("MIGRATE", t, target_port, "ttl", 9, 5000, "REPLACE"),
        ("EXISTS", "ttl"),
        ("MIGRATE", t, target_port, "", 9, 5000, "KEYS", "l", "h", "missing", "z"),
        ("MIGRATE", t, target_port, "set", 9, 5000, "AUTH", "pw"),  # the target has no password
        ("MIGRATE", t, target_port, "set", 9, 5000, "AUTH2", "user", "pw"),
        ("MIGRATE", t, target_port, "set", 3, 5000),
        ("DBSIZE",),
    ):
        out.append(source(*args))
    target = RawClient(target_port)
    target("SELECT", 9)
    for key in ("s", "ttl", "l", "h", "z", "set"):
        out.append(target("DUMP", key))
        ttl = target("TTL", key)
        out.append(b"ttl-set" if ttl not in (b":-1\r\n", b":-2\r\n") else ttl)
    target("SELECT", 3)
    out.append(target("DUMP", "set"))
    target("FLUSHALL")
    target.close()
    return out


def test_migrate_matches_valkey(r, diff, target):
    ours = _scenario(diff.ours, target.port)
    theirs = _scenario(diff.theirs, target.port)
    assert ours == theirs


def test_migrate_argument_errors(diff):
    diff("SET", "a", "1")
    for args in (
        ("MIGRATE", "127.0.0.1", "1", "key", "9", "5000"),
        ("MIGRATE", "127.0.0.1", "1", "key", "9", "5000", "AUTH"),
        ("MIGRATE", "127.0.0.1", "1", "key", "9", "5000", "AUTH2", "user"),
        ("MIGRATE", "127.0.0.1", "1", "key", "9", "5000", "KEYS", "a"),
        ("MIGRATE", "127.0.0.1", "1", "", "9", "5000", "KEYS", "x", "y"),
        ("MIGRATE", "127.0.0.1", "1", "", "x", "5000", "KEYS", "a"),
        ("MIGRATE", "127.0.0.1", "1", "a", "9", "t"),
        ("MIGRATE", "127.0.0.1", "1", "a", "9", "5000", "foo"),
        ("MIGRATE", "127.0.0.1", "1", "a", "0", "100"),  # refused: reported when writing
        ("MIGRATE", "nosuchhost.invalid", "1", "a", "0", "100"),
        ("MIGRATE", "127.0.0.1", "1", "a"),
    ):
        diff(*args)
    diff("EXISTS", "a")


def test_migrate_propagates_as_del(pyvalkey_server, oracle_server, target):
    import time

    from test_replication_stream import StreamReader, assert_same_streams, normalise

    script = [
        ("SET", "k1", "1"),
        ("SET", "k2", "2"),
        ("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", "k1", "k2", "k3"),
        ("SET", "k3", "3"),
        ("MIGRATE", "127.0.0.1", target.port, "k3", 0, 5000, "COPY"),
        ("SET", "k4", "4"),
    ]
    streams = []
    for server in (pyvalkey_server, oracle_server):
        RawClient(target.port)("FLUSHALL")
        client = RawClient(server.port)
        client("FLUSHALL")
        client("CONFIG", "SET", "repl-ping-replica-period", "3600")
        reader = StreamReader(server.port)
        time.sleep(0.05)
        for args in script:
            client(*args)
        streams.append(normalise(reader.commands(6)))
        reader.close()
        client.close()
    assert_same_streams(*streams)


def test_monitor_redacts_migrate_passwords(pyvalkey_server, oracle_server):
    from test_monitor import _drain, _normalise

    feeds = []
    for server in (pyvalkey_server, oracle_server):
        monitor, worker = RawClient(server.port), RawClient(server.port)
        assert monitor("MONITOR") == b"+OK\r\n"
        port = server.port
        for args in (
            ("MIGRATE", "127.0.0.1", port, "key", 9, 5000),
            ("MIGRATE", "127.0.0.1", port, "key", 9, 5000, "AUTH", "user"),
            ("MIGRATE", "127.0.0.1", port, "key", 9, 5000, "AUTH2", "user", "password"),
            ("MIGRATE", "127.0.0.1", port, "", 9, 5000, "COPY", "AUTH", "pw", "KEYS", "auth", "x"),
            ("MIGRATE", "127.0.0.1", port, "key", 9, 5000, "AUTH"),
        ):
            worker(*args)
        feeds.append([line.replace(str(port).encode(), b"PORT") for line in _normalise(_drain(monitor))])
        monitor.close()
        worker.close()
    assert feeds[0] == feeds[1]
    assert len(feeds[0]) == 5
