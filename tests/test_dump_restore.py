"""DUMP and RESTORE against the oracle: payload bytes, interchange both ways, options, errors."""

from __future__ import annotations

import struct
import time

import pytest

from pyvalkey.persistence.crc64 import crc64


def bulk(reply: bytes) -> bytes:
    assert reply.startswith(b"$"), reply
    head, _, rest = reply.partition(b"\r\n")
    return rest[: int(head[1:])]


def fill(client: object) -> None:
    """One key of every type and encoding."""
    c = client
    c("SET", "str", "hello")
    c("SET", "int", "12345")
    c("SET", "bigint", "123456789012")
    c("SET", "neg", "-7")
    c("SET", "long", "abc" * 200)
    c("SET", "random", bytes(range(256)) * 3)
    c("RPUSH", "list", "a", "1", "-5000", "70000", "-9000000", "3000000000", "x" * 100, "01",
      "9223372036854775807", "-9223372036854775808", "y" * 5000)
    c("RPUSH", "biglist", *[str(i) for i in range(300)])
    c("RPUSH", "plainlist", *["z" * 9000 for _ in range(3)])
    c("SADD", "intset", "1", "2", "-70000")
    c("SADD", "lpset", "a", "b", "c")
    c("HSET", "hash", "f", "v", "n", "12")
    c("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c", "1e300", "d", "0.1", "e")
    c("ZADD", "bigzset", *[x for i in range(300) for x in (str(i * 1.5), f"m{i}")])
    c("SETRANGE", "raw", "0", "rawvalue")


DETERMINISTIC = ["str", "int", "bigint", "neg", "long", "random", "list", "biglist", "plainlist",
                 "intset", "lpset", "hash", "zset", "bigzset", "raw"]


def test_dump_bytes_match_valkey(diff: object) -> None:
    fill(diff.ours)
    fill(diff.theirs)
    for key in DETERMINISTIC:
        diff("DUMP", key)
    diff("DUMP", "missing")


def test_dump_without_compression(diff: object) -> None:
    try:
        diff("CONFIG", "SET", "rdbcompression", "no")
        diff("SET", "long", "abc" * 200)
        diff("DUMP", "long")
    finally:
        diff.both("CONFIG", "SET", "rdbcompression", "yes")


def _contents(client: object, key: str) -> tuple[bytes, object]:
    kind = client("TYPE", key)
    if kind == b"+string\r\n":
        return kind, client("GET", key)
    if kind == b"+list\r\n":
        return kind, client("LRANGE", key, "0", "-1")
    if kind == b"+set\r\n":
        return kind, sorted(client("SMEMBERS", key).split(b"\r\n"))
    if kind == b"+hash\r\n":
        return kind, sorted(client("HGETALL", key).split(b"\r\n"))
    if kind == b"+zset\r\n":
        return kind, client("ZRANGE", key, "0", "-1", "WITHSCORES")
    raise AssertionError(kind)


def test_interchange_both_ways(diff: object) -> None:
    """Payloads taken on one server restore on the other, including hashtable encodings."""
    ours, theirs = diff.ours, diff.theirs
    for client in (ours, theirs):
        fill(client)
        client("SADD", "htset", *[str(i) for i in range(600)], "x")
        client("HSET", "hthash", *[x for i in range(700) for x in (f"f{i}", f"v{i}")])
        client("HSET", "ttlhash", "a", "1", "b", "2", "c", "3")
        client("HPEXPIRE", "ttlhash", "100000", "FIELDS", "2", "a", "c")
    keys = DETERMINISTIC + ["htset", "hthash", "ttlhash"]
    for source, target in ((theirs, ours), (ours, theirs)):
        for key in keys:
            payload = bulk(source("DUMP", key))
            assert target("RESTORE", key + ":copy", "0", payload) == b"+OK\r\n", key
            assert _contents(target, key + ":copy") == _contents(source, key), key
            # Both servers give a restored value the same encoding.
            assert source("RESTORE", key + ":self", "0", payload) == b"+OK\r\n", key
            assert target("OBJECT", "ENCODING", key + ":copy") == source("OBJECT", "ENCODING", key + ":self"), key
            if key == "ttlhash":  # field TTLs travel with the payload
                ttls = target("HPTTL", "ttlhash:copy", "FIELDS", "3", "a", "b", "c").split(b"\r\n")
                assert ttls[2] == b":-1" and 90000 < int(ttls[1][1:]) <= 100000, ttls
        for client in (ours, theirs):
            client("DEL", *[key + suffix for key in keys for suffix in (":copy", ":self")])


def test_restore_errors(diff: object) -> None:
    diff("SET", "k", "v")
    payload = bulk(diff.theirs("DUMP", "k"))
    diff("RESTORE", "k", "0", payload)  # BUSYKEY
    diff("RESTORE", "new", "-1", payload)
    diff("RESTORE", "new", "abc", payload)
    diff("RESTORE", "new", "0", payload[:-1] + bytes([payload[-1] ^ 1]))
    diff("RESTORE", "new", "0", b"short")
    diff("RESTORE", "new", "0", b"")
    # A newer RDB version than Valkey 9.1 knows, and a foreign (12..79) one.
    for version in (81, 12):
        body = payload[:-10] + struct.pack("<H", version)
        diff("RESTORE", "new", "0", body + struct.pack("<Q", crc64(body)))
    # Right footer, garbage body.
    body = b"\x00\xff\xff" + struct.pack("<H", 80)
    diff("RESTORE", "new", "0", body + struct.pack("<Q", crc64(body)))
    body = b"\x63abc" + struct.pack("<H", 80)
    diff("RESTORE", "new", "0", body + struct.pack("<Q", crc64(body)))
    diff("RESTORE", "new", "0", payload, "BOGUS")
    diff("RESTORE", "new", "0", payload, "IDLETIME")
    diff("RESTORE", "new", "0", payload, "IDLETIME", "-1")
    diff("RESTORE", "new", "0", payload, "IDLETIME", "x")
    diff("RESTORE", "new", "0", payload, "FREQ", "256")
    diff("RESTORE", "new", "0", payload, "FREQ", "-1")
    diff("RESTORE", "new", "0", payload, "IDLETIME", "10", "FREQ", "5")
    diff("RESTORE", "new", "0", payload, "FREQ", "5", "IDLETIME", "10")
    diff("EXISTS", "new")
    diff("DUMP")
    diff("RESTORE", "a", "0")


def test_restore_options(diff: object) -> None:
    diff("SET", "k", "v")
    payload = bulk(diff.theirs("DUMP", "k"))
    diff("RESTORE", "k", "0", payload, "REPLACE")
    diff("RESTORE", "t", "100000", payload)
    ttl_ours, ttl_theirs = diff.both("PTTL", "t")
    assert 99000 < int(ttl_ours[1:-2]) <= 100000 and 99000 < int(ttl_theirs[1:-2]) <= 100000
    future = str(int(time.time() * 1000) + 500000)
    diff("RESTORE", "abs", future, payload, "ABSTTL")
    diff("PEXPIRETIME", "abs")
    # A deadline in the past: OK, but nothing is stored; with REPLACE the old key goes away.
    diff("RESTORE", "past", "1", payload, "ABSTTL")
    diff("EXISTS", "past")
    diff("RESTORE", "k", "1", payload, "ABSTTL", "REPLACE")
    diff("EXISTS", "k")
    diff("RESTORE", "idle", "0", payload, "IDLETIME", "1000")
    diff("OBJECT", "IDLETIME", "idle")
    diff("RESTORE", "fr", "0", payload, "FREQ", "100", "replace", "absttl")
    diff("GET", "fr")


def test_restore_keyspace_events_and_dirty(diff: object) -> None:
    diff("SET", "k", "v")
    payload = bulk(diff.theirs("DUMP", "k"))
    ours_before, theirs_before = diff.both("INFO", "persistence")

    def changes(info: bytes) -> int:
        for line in info.split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError(info)

    diff("RESTORE", "k2", "0", payload)
    ours_after, theirs_after = diff.both("INFO", "persistence")
    assert changes(ours_after) - changes(ours_before) == changes(theirs_after) - changes(theirs_before)


@pytest.mark.parametrize("protocol", ["2", "3"])
def test_dump_resp3(diff: object, protocol: str) -> None:
    if protocol == "3":
        diff.resp3()
    diff("SET", "k", "value")
    diff("DUMP", "k")
    diff("DUMP", "nokey")


# -- streams -----------------------------------------------------------------------------------


def fill_streams(client: object) -> None:
    """Streams whose DUMP carries nothing time-dependent (no consumers, no tombstones)."""
    c = client
    c("XADD", "s:small", "1-1", "a", "1", "b", "2")
    c("XADD", "s:small", "1-2", "a", "3", "b", "4")
    c("XADD", "s:small", "2-0", "c", "-5000", "d", "x" * 70)
    # Several nodes (100 entries each by default), values that compress, odd IDs.
    for i in range(250):
        c("XADD", "s:big", f"{1000 + i * 3}-{i % 7}", "field", "v" * (i % 40), "n", str(i * 1000003 - 70000))
    c("XADD", "s:wide", "5-5", *[x for i in range(40) for x in (f"f{i}", f"value{i}")])
    c("XADD", "s:wide", "18446744073709551615-18446744073709551615", "f0", "last")
    # Emptied stream: the node goes, last ID and counters stay.
    c("XADD", "s:empty", "7-7", "k", "v")
    c("XDEL", "s:empty", "7-7")
    # Metadata set by XSETID, groups without consumers (one with an unknown entries_read).
    c("XADD", "s:meta", "10-1", "k", "v")
    c("XADD", "s:meta", "10-2", "k", "w")
    c("XSETID", "s:meta", "99-0", "ENTRIESADDED", "50", "MAXDELETEDID", "5-0")
    c("XGROUP", "CREATE", "s:meta", "g2", "0")
    c("XGROUP", "CREATE", "s:meta", "g1", "$", "ENTRIESREAD", "7")
    c("XGROUP", "CREATE", "s:meta", "g3", "10-1")
    # Approximate trimming drops whole nodes only.
    for i in range(300):
        c("XADD", "s:trim", f"{i + 1}-0", "i", str(i))
    c("XTRIM", "s:trim", "MAXLEN", "~", "120")


STREAMS = ["s:small", "s:big", "s:wide", "s:empty", "s:meta", "s:trim"]


def test_stream_dump_bytes_match_valkey(diff: object) -> None:
    fill_streams(diff.ours)
    fill_streams(diff.theirs)
    for key in STREAMS:
        diff("DUMP", key)
    diff("XLEN", "s:trim")
    diff("XINFO", "STREAM", "s:trim")
    # Restored here from the oracle's payload, the value dumps back to the same bytes.
    for key in STREAMS:
        payload = bulk(diff.theirs("DUMP", key))
        assert diff.ours("RESTORE", key + ":copy", "0", payload) == b"+OK\r\n"
        assert bulk(diff.ours("DUMP", key + ":copy")) == payload, key


def _fill_groups(client: object) -> None:
    c = client
    for i in range(1, 8):
        c("XADD", "sg", f"{i}-0", "f", str(i), "other" if i % 3 == 0 else "g", "x")
    c("XGROUP", "CREATE", "sg", "grp", "0")
    c("XGROUP", "CREATE", "sg", "idle", "$")
    c("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "3", "STREAMS", "sg", ">")
    c("XREADGROUP", "GROUP", "grp", "bob", "COUNT", "2", "STREAMS", "sg", ">")
    c("XGROUP", "CREATECONSUMER", "sg", "grp", "carol")
    c("XCLAIM", "sg", "grp", "carol", "0", "2-0")
    c("XACK", "sg", "grp", "1-0")
    c("XDEL", "sg", "4-0")  # a tombstone in the middle of the node


def test_stream_groups_interchange(diff: object) -> None:
    """Consumer groups, PELs, consumers and tombstones cross in both directions intact."""
    ours, theirs = diff.ours, diff.theirs
    _fill_groups(theirs)
    payload = bulk(theirs("DUMP", "sg"))
    assert payload[0] == 21  # RDB_TYPE_STREAM_LISTPACKS_3, as Valkey 9 writes
    assert ours("RESTORE", "sg", "0", payload) == b"+OK\r\n"
    full = ("XINFO", "STREAM", "sg", "FULL")
    diff(*full)
    diff("XINFO", "GROUPS", "sg")
    diff("XPENDING", "sg", "grp")
    diff("XRANGE", "sg", "-", "+")
    # Back to the oracle from our payload, under a new name.
    assert theirs("RESTORE", "back", "0", bulk(ours("DUMP", "sg"))) == b"+OK\r\n"
    assert ours("RESTORE", "back", "0", bulk(ours("DUMP", "sg"))) == b"+OK\r\n"
    diff("XINFO", "STREAM", "back", "FULL")
    diff("XPENDING", "back", "grp")
    # The restored streams keep working the same way.
    diff("XADD", "back", "9-0", "f", "9")
    diff("XREADGROUP", "GROUP", "grp", "alice", "STREAMS", "back", ">")
    diff("XINFO", "STREAM", "back")


def test_stream_restore_bad_payloads(diff: object) -> None:
    diff("XADD", "s", "1-1", "a", "1")
    diff("XGROUP", "CREATE", "s", "g", "0")
    payload = bulk(diff.theirs("DUMP", "s"))
    body = payload[:-10]

    def framed(raw: bytes) -> bytes:
        raw += struct.pack("<H", 80)
        return raw + struct.pack("<Q", crc64(raw))

    for cut in range(1, len(body)):
        diff("RESTORE", "bad", "0", framed(body[:cut]))
    diff("EXISTS", "bad")
    # A stream length that disagrees with the entries: Valkey without deep sanitization keeps
    # the wrong count (XLEN 0 with entries inside); we refuse the payload instead.
    index = body.index(b"\xff\x01") + 2  # after the listpack's terminator: the length
    bad = framed(body[:index] + b"\x00" + body[index + 1 :])
    assert diff.ours("RESTORE", "bad", "0", bad) == b"-ERR Bad data format\r\n"


def test_stream_old_types_load() -> None:
    """Types 15 and 19 (Redis 5 / 7.0) lack some fields; they are filled in as Valkey does."""
    from pyvalkey.persistence import rdb
    from pyvalkey.storage.streams import StreamValue

    stream = StreamValue()
    for i in range(1, 4):
        stream.append((i, 0), [b"f", b"%d" % i], 4096, 100)
    kind, body = rdb.encode_value(stream)
    assert kind == rdb.T_STREAM_LISTPACKS_3
    nodes_end = body.index(b"\xff\x03") + 1  # listpack end, then the length 3
    meta = body[nodes_end:]
    # v3 layout: length, last id (2), first id (2), max deleted (2), entries added, groups.
    v1 = body[:nodes_end] + meta[:3] + meta[8:]
    loaded = rdb.decode_value(rdb.T_STREAM_LISTPACKS, rdb._Input(v1), rdb.Limits())
    assert loaded.first_id == (1, 0) and loaded.entries_added == 3 and loaded.max_deleted_id == (0, 0)
    assert list(loaded.entries) == [(1, 0), (2, 0), (3, 0)]


def test_restore_freq_sets_lfu_counter(diff: object) -> None:
    diff("SET", "foo", "bar")
    payload = bulk(diff.theirs("DUMP", "foo"))
    try:
        diff("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        diff("RESTORE", "lfu", "0", payload, "FREQ", "100")
        diff("OBJECT", "FREQ", "lfu")
        diff("RESTORE", "lfu", "0", payload, "FREQ", "0", "REPLACE")
        diff("OBJECT", "FREQ", "lfu")
        diff("RESTORE", "plain", "0", payload, "IDLETIME", "1000")  # ignored under LFU
        diff("OBJECT", "FREQ", "plain")
    finally:
        diff.both("CONFIG", "SET", "maxmemory-policy", "noeviction")
    diff("RESTORE", "nofreq", "0", payload, "FREQ", "100")  # ignored without LFU
    diff("OBJECT", "IDLETIME", "nofreq")


def _replicated(port: int, script: list[tuple[str, ...]]) -> list[list[bytes]]:
    from resp import RawClient
    from test_replication_stream import StreamReader

    admin = RawClient(port)
    reader = StreamReader(port)
    time.sleep(0.05)
    for args in script:
        admin(*args)
    admin("SET", "end-marker", "1")
    commands = []
    while (argv := reader.command()) != [b"SET", b"end-marker", b"1"]:
        if argv[0].upper() not in (b"PING", b"SELECT"):
            commands.append(argv)
    reader.close()
    admin.close()
    return commands


def test_restore_of_expired_key_propagates_deletion(pyvalkey_server: object, oracle_server: object) -> None:
    from resp import RawClient

    feeds = []
    for server in (pyvalkey_server, oracle_server):
        client = RawClient(server.port)  # type: ignore[attr-defined]
        client("FLUSHALL")
        client("SET", "src", "value")
        payload = bulk(client("DUMP", "src"))
        client.close()
        past = str(int(time.time() * 1000) - 5000)
        feeds.append(_replicated(server.port, [  # type: ignore[attr-defined]
            ("SET", "k1", "a"), ("RPUSH", "k2", "x"),
            ("CONFIG", "SET", "lazyfree-lazy-server-del", "no"),
            ("RESTORE", "k1", past, payload, "REPLACE", "ABSTTL"),
            ("CONFIG", "SET", "lazyfree-lazy-server-del", "yes"),
            ("RESTORE", "k2", past, payload, "REPLACE", "ABSTTL"),
            ("RESTORE", "k3", past, payload, "ABSTTL"),  # nothing stored, nothing sent
            ("CONFIG", "SET", "lazyfree-lazy-server-del", "no"),
        ]))
    assert feeds[0] == feeds[1]
    assert feeds[0][-2:] == [[b"DEL", b"k1"], [b"UNLINK", b"k2"]]
