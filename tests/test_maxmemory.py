"""maxmemory refusals (-OOM) compared with the oracle. ``maxmemory 1`` puts both servers over the
limit at once, whatever their real memory use."""

from __future__ import annotations

import time

import pytest
from resp import RawClient
from servers import start_pyvalkey


@pytest.fixture
def over_limit(diff, pyvalkey_server, oracle_server):
    admins = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        yield diff, admins
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "maxmemory", "0")
            admin.close()


def limit(admins, value: str) -> None:
    for admin in admins:
        assert admin("CONFIG", "SET", "maxmemory", value) == b"+OK\r\n"


def test_denyoom_commands_are_refused(over_limit):
    diff, admins = over_limit
    diff("SET", "k", "v")
    limit(admins, "1")
    diff("SET", "k2", "v")
    diff("RPUSH", "l", "a")
    diff("GET", "k")  # reads go on
    diff("DEL", "k")  # deletions too: they free memory
    diff("INCR", "n")
    limit(admins, "0")
    diff("SET", "k2", "v")


def test_multi_when_out_of_memory(over_limit):
    diff, admins = over_limit
    limit(admins, "1")
    diff("MULTI")
    diff("GET", "k")  # anything queued is refused inside MULTI
    diff("EXEC")
    diff("MULTI")
    diff("DISCARD")
    limit(admins, "0")
    diff("MULTI")
    diff("SET", "k", "v")
    diff("GET", "k")
    limit(admins, "1")
    diff("EXEC")  # the queue holds a denyoom command: refused, transaction discarded
    diff("GET", "k")
    limit(admins, "0")
    diff("MULTI")
    diff("GET", "k")
    limit(admins, "1")
    diff("EXEC")  # only reads queued: runs


def test_min_replicas_to_write(diff, pyvalkey_server, oracle_server):
    admins = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        diff("SET", "xx", "1")
        diff("MULTI")
        diff("INCR", "xx")
        for admin in admins:
            assert admin("CONFIG", "SET", "min-replicas-to-write", "2") == b"+OK\r\n"
        diff("EXEC")
        diff("GET", "xx")
        diff("SET", "xx", "2")
        diff("GET", "xx")
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "min-replicas-to-write", "0")
            admin.close()
    diff("SET", "xx", "3")


# -- eviction -----------------------------------------------------------------------------------

POLICIES = [
    "allkeys-lru", "allkeys-lfu", "allkeys-random",
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
]


@pytest.fixture
def evicting(over_limit):
    diff, admins = over_limit
    try:
        yield diff, admins
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "maxmemory", "0")
            admin("CONFIG", "SET", "maxmemory-policy", "noeviction")
            admin("CONFIG", "SET", "notify-keyspace-events", "")


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_evict_the_keys_they_cover(evicting, policy):
    """``maxmemory 1`` is over the limit whatever the memory: every key the policy covers goes,
    keys it does not cover stay, and a write that cannot be made room for gets -OOM."""
    diff, admins = evicting
    for admin in admins:
        admin("CONFIG", "RESETSTAT")
        admin("CONFIG", "SET", "maxmemory-policy", policy)
    diff("SET", "persistent", "1")
    diff("SET", "volatile", "2", "EX", "1000")
    diff("HSET", "volatile-hash", "f", "v")
    diff("EXPIRE", "volatile-hash", "1000")
    limit(admins, "1")
    diff("EXISTS", "persistent")
    diff("EXISTS", "volatile", "volatile-hash")
    diff("SET", "new", "v")  # nothing (more) to evict: refused
    diff("GET", "persistent")  # reads go on
    diff("DBSIZE")
    ours, theirs = (admin("INFO", "stats") for admin in admins)
    assert _field(ours, "evicted_keys") == _field(theirs, "evicted_keys")
    limit(admins, "0")
    diff("SET", "new", "v")


def _field(info: bytes, name: str) -> bytes:
    for line in info.split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return line
    raise AssertionError(name)


def test_evicted_keyspace_event(evicting, pyvalkey_server, oracle_server):
    diff, admins = evicting
    for admin in admins:
        admin("CONFIG", "SET", "notify-keyspace-events", "Ee")
        admin("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    subscribers = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        for sub in subscribers:
            sub("PSUBSCRIBE", "*")
        diff("SET", "foo", "bar")
        limit(admins, "1")  # lowering the limit evicts at once
        ours, theirs = (sub.read_reply() for sub in subscribers)
        assert ours == theirs and b"evicted" in ours
    finally:
        for sub in subscribers:
            sub.close()


def test_tracking_invalidation_of_evicted_key(evicting, pyvalkey_server, oracle_server):
    diff, admins = evicting
    for admin in admins:
        admin("CONFIG", "SET", "maxmemory-policy", "volatile-random")
    diff.resp3()
    diff("CLIENT", "TRACKING", "ON")
    diff("SETEX", "volatile-key", "10000", "x")
    diff("GET", "volatile-key")
    limit(admins, "1")
    # The invalidation was pushed when the key went, before any later reply.
    diff.raw(b"*1\r\n$4\r\nPING\r\n")
    diff.raw(b"")  # the PONG after the push
    diff("CLIENT", "TRACKING", "OFF")


def test_evictions_are_propagated(evicting, pyvalkey_server, oracle_server):
    from test_replication_stream import StreamReader, normalise

    _diff, admins = evicting
    streams = []
    for server, admin in zip((pyvalkey_server, oracle_server), admins):
        admin("CONFIG", "SET", "repl-ping-replica-period", "3600")
        admin("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        reader = StreamReader(server.port)
        time.sleep(0.05)
        admin("SET", "only", "1")
        admin("CONFIG", "SET", "maxmemory", "1")
        streams.append(normalise(reader.commands(3)))
        reader.close()
    assert streams[0] == streams[1]
    assert streams[0][-1][1] == b"only"


def test_a_write_spends_the_room_an_eviction_made():
    """Under a realistic limit the server evicts about as much as it is sent: with the limit
    16 MB above the memory in use, 30 MB of writes all succeed, old keys make way for new ones
    and the process stays near its limit. (A fresh server: memory other tests left behind,
    such as a replication backlog, would count against the limit, as in Valkey.)"""
    server = start_pyvalkey("--maxmemory-policy", "allkeys-lru")
    try:
        ours = RawClient(server.port)
        used = int(_field(ours("INFO", "memory"), "used_memory").split(b":")[1])
        limit_bytes = used + 16 * 1024 * 1024
        ours("CONFIG", "SET", "maxmemory", str(limit_bytes))
        value = b"x" * 1000
        for batch in range(60):  # 30 MB of values: about twice the room
            keys = [b"k:%d:%d" % (batch, i) for i in range(500)]
            ours.send(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1000\r\n%s\r\n" % (len(k), k, value) for k in keys))
            assert [ours.read_reply() for _ in keys] == [b"+OK\r\n"] * len(keys)
        evicted = int(_field(ours("INFO", "stats"), "evicted_keys").split(b":")[1])
        count = int(ours("DBSIZE")[1:-2])
        # (DBSIZE is read after INFO, and any command may evict a few more keys first)
        assert evicted > 0 and 30_000 - 100 <= count + evicted <= 30_000
        assert count > 5_000  # old keys made way for new ones; the data was not wiped out
        assert ours("EXISTS", "k:59:499") == b":1\r\n" and ours("EXISTS", "k:0:0") == b":0\r\n"
        rss = int(_field(ours("INFO", "memory"), "used_memory").split(b":")[1])
        assert rss < limit_bytes + 8 * 1024 * 1024, (rss - limit_bytes, count, evicted)
        ours.close()
    finally:
        server.stop()
