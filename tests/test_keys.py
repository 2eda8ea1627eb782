"""Generic keyspace commands, compared byte for byte with the oracle (RESP2 and RESP3)."""

from __future__ import annotations

import hiredis
import pytest


def parse(raw: bytes):
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request, diff):
    if request.param == 3:
        diff.resp3()
    return diff


def setup_types(d) -> None:
    d("SET", "str", "v")
    d("SET", "int", "123")
    d("SET", "app", "x")
    d("APPEND", "app", "y")


def test_del_unlink_exists(d):
    d("DEL", "a")
    d("MSET", "a", "1", "b", "2", "c", "3")
    d("EXISTS", "a", "a", "b", "nokey", "c")
    d("DEL", "a", "a", "nokey")
    d("EXISTS", "a")
    d("UNLINK", "b", "c", "b")
    d("DBSIZE")
    d("DEL")
    d("UNLINK")
    d("EXISTS")


def test_type(d):
    setup_types(d)
    for key in ("str", "int", "app", "nokey"):
        d("TYPE", key)
    d("TYPE")
    d("TYPE", "a", "b")


def test_rename(d):
    d("SET", "a", "1")
    d("RENAME", "a", "b")
    d("GET", "b")
    d("EXISTS", "a")
    d("RENAME", "nokey", "x")
    d("RENAME", "nokey", "nokey")
    d("RENAME", "b", "b")
    d("SET", "c", "3")
    d("RENAME", "b", "c")  # overwrites
    d("GET", "c")
    d("DBSIZE")
    d("PEXPIRE", "c", 100000)
    d("RENAME", "c", "d")
    d("TTL", "d")
    d("TTL", "c")
    d("RENAME", "a")


def test_renamenx(d):
    d("SET", "a", "1")
    d("SET", "b", "2")
    d("RENAMENX", "a", "b")
    d("RENAMENX", "a", "a")
    d("RENAMENX", "nokey", "nokey")
    d("RENAMENX", "nokey", "x")
    d("EXPIRE", "a", 1000)
    d("RENAMENX", "a", "c")
    d("TTL", "c")
    d("MGET", "a", "b", "c")


def test_copy(d):
    setup_types(d)
    d("COPY", "str", "str")
    d("COPY", "str", "str", "DB", "0")
    d("COPY", "str", "str", "db", "0", "replace")
    d("COPY", "str", "str2")
    d("GET", "str2")
    d("COPY", "str", "str2")
    d("SET", "str", "changed")
    d("COPY", "str", "str2", "REPLACE")
    d("GET", "str2")
    d("COPY", "str", "str", "DB", "1")
    d("SELECT", "1")
    d("GET", "str")
    d("SELECT", "0")
    d("COPY", "nokey", "x")
    d("COPY", "str", "x", "DB", "16")
    d("COPY", "str", "x", "DB", "-1")
    d("COPY", "str", "x", "DB", "x")
    d("COPY", "str", "x", "DB", "99999999999")
    d("COPY", "str", "x", "DB")
    d("COPY", "str", "x", "foo")
    d("COPY", "str", "x", "REPLACE", "REPLACE")
    d("COPY", "str")
    # A raw (in-place modified) string is deep-copied: changing one leaves the other alone.
    d("COPY", "app", "app2")
    d("APPEND", "app", "z")
    d("MGET", "app", "app2")
    d("OBJECT", "ENCODING", "app2")
    d("PEXPIRE", "int", 50000)
    d("COPY", "int", "int2")
    d("TTL", "int2")
    d("OBJECT", "ENCODING", "int2")


def test_move(d):
    d("SET", "a", "1")
    d("MOVE", "a", "0")
    d("MOVE", "nokey", "0")
    d("MOVE", "nokey", "1")
    d("MOVE", "a", "16")
    d("MOVE", "a", "-1")
    d("MOVE", "a", "x")
    d("EXPIRE", "a", 100)
    d("MOVE", "a", "1")
    d("EXISTS", "a")
    d("SELECT", "1")
    d("GET", "a")
    d("TTL", "a")
    d("SET", "b", "in1")
    d("SELECT", "0")
    d("SET", "b", "in0")
    d("MOVE", "b", "1")
    d("GET", "b")
    d("MOVE", "a")


def test_swapdb(d):
    d("SET", "a", "db0")
    d("SELECT", "1")
    d("SET", "a", "db1")
    d("SET", "b", "only1")
    d("SWAPDB", "0", "1")
    d("MGET", "a", "b")
    d("DBSIZE")
    d("SELECT", "0")
    d("MGET", "a", "b")
    d("SWAPDB", "0", "0")
    d("SWAPDB", "0", "x")
    d("SWAPDB", "x", "0")
    d("SWAPDB", "x", "y")
    d("SWAPDB", "0", "16")
    d("SWAPDB", "16", "0")
    d("SWAPDB", "-1", "0")
    d("SWAPDB", "0", "99999999999")
    d("SWAPDB", "0")
    d("SWAPDB", "1", "0")


def test_flush_and_dbsize(d):
    d("MSET", "a", "1", "b", "2")
    d("SELECT", "2")
    d("SET", "c", "3")
    d("DBSIZE")
    d("FLUSHDB")
    d("DBSIZE")
    d("SELECT", "0")
    d("DBSIZE")
    d("SET", "x", "1")
    d("FLUSHDB", "SYNC")
    d("DBSIZE")
    d("SET", "x", "1")
    d("FLUSHDB", "async")
    d("DBSIZE")
    d("FLUSHDB", "foo")
    d("FLUSHDB", "SYNC", "ASYNC")
    d("FLUSHALL", "foo")
    d("FLUSHALL", "async", "sync")
    d("SELECT", "3")
    d("SET", "y", "1")
    d("FLUSHALL", "SYNC")
    d("DBSIZE")
    d("FLUSHALL", "ASYNC")
    d("FLUSHALL")
    d("DBSIZE", "x")


def test_randomkey(d):
    d("RANDOMKEY")
    d("SET", "only", "1")
    d("RANDOMKEY")
    d("RANDOMKEY", "x")
    d("MSET", "a", "1", "b", "2", "c", "3")
    for _ in range(5):
        ours, _theirs = d.both("RANDOMKEY")
        assert parse(ours) in (b"only", b"a", b"b", b"c")


def test_randomkey_skips_expired(d):
    d("SET", "a", "1", "PX", "1")
    d("SET", "b", "2")
    import time

    time.sleep(0.01)
    for _ in range(5):
        d("RANDOMKEY")


def test_keys_basic(d):
    d("MSET", "foo", "1", "foobar", "2", "bar", "3", "f?o", "4", "", "5")
    for pattern in ("*", "foo*", "*bar", "f?o", "f\\?o", "[fb]*", "[^f]*", "nomatch", "**", "?"):
        ours, theirs = d.both("KEYS", pattern)
        assert sorted(parse(ours)) == sorted(parse(theirs)), pattern
    d("KEYS")
    d("KEYS", "a", "b")


def test_keys_hides_expired(d):
    d("SET", "live", "1")
    d("SET", "dead", "1", "PX", "1")
    import time

    time.sleep(0.01)
    d("KEYS", "*")
    d("KEYS", "d*")


def test_touch(d):
    d("MSET", "a", "1", "b", "2")
    d("TOUCH", "a", "b", "nokey", "a")
    d("TOUCH")


def test_object(d):
    setup_types(d)
    d("SET", "long", "x" * 200)
    for key in ("str", "int", "app", "long", "nokey"):
        d("OBJECT", "ENCODING", key)
        d("OBJECT", "REFCOUNT", key)
    # Idle time counts whole seconds of a clock that may tick between the two servers' replies.
    ours, theirs = d.both("OBJECT", "IDLETIME", "str")
    assert ours in (b":0\r\n", b":1\r\n") and theirs in (b":0\r\n", b":1\r\n")
    d("OBJECT", "IDLETIME", "nokey")
    d("OBJECT", "FREQ", "str")
    d("OBJECT", "FREQ", "nokey")
    # HELP is in our own words: check its shape (see test_help.py), not Valkey's bytes.
    from test_help import assert_help_shape

    assert_help_shape(d.ours("OBJECT", "HELP"), "OBJECT")
    assert_help_shape(d.ours("OBJECT", "help"), "OBJECT")
    d("OBJECT")
    d("OBJECT", "foo")
    d("OBJECT", "ENCODING")
    d("OBJECT", "ENCODING", "a", "b")
    d("OBJECT", "HELP", "x")


def test_object_lfu_policy(diff):
    try:
        diff("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        diff("SET", "k", "v")
        diff("OBJECT", "FREQ", "nokey")
        diff("OBJECT", "IDLETIME", "k")
        ours, theirs = diff.both("OBJECT", "FREQ", "k")
        assert ours.startswith(b":") and theirs.startswith(b":")
    finally:
        diff("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_object_idletime_grows(r):
    r("SET", "k", "v")
    assert r("OBJECT", "IDLETIME", "k") == b":0\r\n"
    import time

    time.sleep(1.1)
    assert r("OBJECT", "IDLETIME", "k") in (b":1\r\n", b":2\r\n")
    r("GET", "k")
    assert r("OBJECT", "IDLETIME", "k") == b":0\r\n"


def test_keyspace_stats_counted(r):
    def hits_misses() -> tuple[int, int]:
        info = r("INFO", "stats").decode()
        values = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        return int(values["keyspace_hits"]), int(values["keyspace_misses"])

    r("SET", "k", "v")
    hits, misses = hits_misses()
    r("EXISTS", "k", "nokey")
    r("TYPE", "k")
    r("TTL", "nokey")
    assert hits_misses() == (hits + 2, misses + 2)


def test_keyspace_notifications_in_process():
    """Valkey's event names, per database, observed on the keyspace's notify listeners."""
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    keyspace = server.keyspace
    keyspace.notify_flags = (1 << 15) - 1
    events: list[tuple[int, bytes, bytes]] = []
    keyspace.notify_listeners.append(lambda db, kind, event, key: events.append((db.index, event, key)))
    for args in (
        [b"SET", b"a", b"1"],
        [b"RENAME", b"a", b"b"],
        [b"COPY", b"b", b"c"],
        [b"MOVE", b"c", b"1"],
        [b"EXPIRE", b"b", b"100"],
        [b"PERSIST", b"b"],
        [b"DEL", b"b", b"nokey"],
        [b"SET", b"x", b"1"],
        [b"EXPIRE", b"x", b"-1"],
        [b"COPY", b"nokey", b"y"],
    ):
        server.execute(client, args)
    generic = [event for event in events if event[1] not in (b"set", b"new")]
    assert generic == [
        (0, b"rename_from", b"a"),
        (0, b"rename_to", b"b"),
        (0, b"copy_to", b"c"),
        (0, b"move_from", b"c"),
        (1, b"move_to", b"c"),
        (0, b"expire", b"b"),
        (0, b"persist", b"b"),
        (0, b"del", b"b"),
        (0, b"del", b"x"),
    ] or generic[:2] == [(0, b"keymiss", b"nokey")] or _ordered_without_keymiss(generic)


def _ordered_without_keymiss(events):
    return [e for e in events if e[1] != b"keymiss"] == [
        (0, b"rename_from", b"a"),
        (0, b"rename_to", b"b"),
        (0, b"copy_to", b"c"),
        (0, b"move_from", b"c"),
        (1, b"move_to", b"c"),
        (0, b"expire", b"b"),
        (0, b"persist", b"b"),
        (0, b"del", b"b"),
        (0, b"del", b"x"),
    ]


def test_dirty_counter_in_process():
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    keyspace = server.keyspace

    def dirty_after(*args: bytes) -> int:
        before = keyspace.dirty
        server.execute(client, list(args))
        return keyspace.dirty - before

    server.execute(client, [b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"])
    assert dirty_after(b"DEL", b"a", b"b", b"nokey") == 2
    assert dirty_after(b"EXISTS", b"c") == 0
    assert dirty_after(b"EXPIRE", b"c", b"100") == 1
    assert dirty_after(b"EXPIRE", b"nokey", b"100") == 0
    assert dirty_after(b"PERSIST", b"c") == 1
    assert dirty_after(b"PERSIST", b"c") == 0
    assert dirty_after(b"RENAME", b"c", b"d") == 1
    assert dirty_after(b"COPY", b"d", b"e") == 1
    assert dirty_after(b"MOVE", b"e", b"2") == 1
    assert dirty_after(b"SWAPDB", b"0", b"2") == 1


def test_expire_rewrites_argv_for_propagation():
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    server.execute(client, [b"SET", b"k", b"v"])
    argv = [b"EXPIRE", b"k", b"100", b"NX"]
    server.execute(client, argv)
    now = server.keyspace.now_ms
    assert argv[0] == b"PEXPIREAT" and argv[3] == b"NX"
    assert abs(int(argv[2]) - (now + 100_000)) < 1000
    argv = [b"PEXPIREAT", b"k", b"1"]
    server.execute(client, argv)
    assert argv in ([b"UNLINK", b"k"], [b"DEL", b"k"])


def test_other_types_copy_rename_move(d):
    d("RPUSH", "list", "a", "b", "c")
    d("SADD", "set", "1", "2", "x")
    for key in ("list", "set"):
        d("TYPE", key)
        d("OBJECT", "ENCODING", key)
    d("COPY", "list", "list2")
    d("RPUSH", "list", "d")
    d("LRANGE", "list2", "0", "-1")
    d("LRANGE", "list", "0", "-1")
    d("COPY", "set", "set2", "DB", "3")
    d("SADD", "set", "y")
    d("SELECT", "3")
    d("SCARD", "set2")
    d("SELECT", "0")
    d("RENAME", "list2", "list3")
    d("TYPE", "list3")
    d("MOVE", "list3", "2")
    d("SELECT", "2")
    d("LRANGE", "list3", "0", "-1")
    d("SELECT", "0")
    d("SCAN", "0", "TYPE", "set")
    d("SCAN", "0", "TYPE", "list")
