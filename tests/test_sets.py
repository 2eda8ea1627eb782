"""Differential tests of the set command group (t_set.c) against the real Valkey.

Members of hashtable-encoded sets come back in each server's own hash order, so those replies
are compared sorted; intset (sorted integers) and listpack (insertion order) replies are
compared byte for byte. Random commands are checked for shape and statistics.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest


def run(diff, *commands):
    for cmd in commands:
        diff(*cmd)


def members(reply: bytes) -> list[bytes]:
    """Elements of a flat array/set reply of bulk strings."""
    lines = reply.split(b"\r\n")
    assert lines[0][:1] in (b"*", b"~"), reply
    out = []
    i = 1
    while i < len(lines) - 1:
        assert lines[i][:1] == b"$", reply
        out.append(lines[i + 1])
        i += 2
    return out


def diff_sorted(diff, *args) -> list[bytes]:
    """Run on both and compare the reply as a multiset plus its header (type and length)."""
    mine, real = diff.both(*args)
    assert mine.split(b"\r\n", 1)[0] == real.split(b"\r\n", 1)[0], (args, mine, real)
    assert sorted(members(mine)) == sorted(members(real)), (args, mine, real)
    return members(real)


@contextlib.contextmanager
def config(diff, **values) -> Iterator[None]:
    old = {}
    for name, value in values.items():
        name = name.replace("_", "-")
        old[name] = diff.theirs("CONFIG", "GET", name).split(b"\r\n")[4]
        diff("CONFIG", "SET", name, str(value))
    try:
        yield
    finally:
        for name, value in old.items():
            diff.both("CONFIG", "SET", name, value)


def test_sadd_srem_scard_sismember(diff):
    run(
        diff,
        ("SADD", "s", "3", "1", "2", "1"),
        ("SCARD", "s"),
        ("SMEMBERS", "s"),
        ("OBJECT", "ENCODING", "s"),
        ("SISMEMBER", "s", "1"),
        ("SISMEMBER", "s", "01"),
        ("SISMEMBER", "s", "x"),
        ("SISMEMBER", "nokey", "x"),
        ("SMISMEMBER", "s", "1", "x", "3"),
        ("SMISMEMBER", "nokey", "1", "x"),
        ("SADD", "s", "a", "-5"),
        ("OBJECT", "ENCODING", "s"),
        ("SMEMBERS", "s"),
        ("SREM", "s", "1", "nothere", "a"),
        ("SMEMBERS", "s"),
        ("SREM", "nokey", "x"),
        ("SREM", "s", "2", "3", "-5", "extra"),
        ("EXISTS", "s"),
        ("SCARD", "s"),
        ("SMEMBERS", "nokey"),
        ("SADD", "s"),
        ("SREM", "s"),
        ("SISMEMBER", "s"),
        ("SMISMEMBER", "s"),
    )


def test_wrongtype(diff):
    diff("SET", "str", "v")
    diff("SADD", "s", "a")
    for cmd in (
        ("SADD", "str", "a"),
        ("SREM", "str", "a"),
        ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"),
        ("SCARD", "str"),
        ("SMEMBERS", "str"),
        ("SPOP", "str"),
        ("SPOP", "str", "2"),
        ("SRANDMEMBER", "str"),
        ("SRANDMEMBER", "str", "2"),
        ("SMOVE", "str", "s", "a"),
        ("SMOVE", "s", "str", "a"),
        ("SMOVE", "nokey", "str", "a"),
        ("SINTER", "s", "str"),
        ("SINTER", "nokey", "str"),
        ("SINTERCARD", "2", "s", "str"),
        ("SINTERSTORE", "d", "s", "str"),
        ("SUNION", "s", "str"),
        ("SUNIONSTORE", "d", "str"),
        ("SDIFF", "s", "str"),
        ("SDIFF", "nokey", "str"),
        ("SDIFFSTORE", "d", "s", "str"),
        ("SSCAN", "str", "0"),
        ("SSCAN", "str", "0", "BADOPT"),
    ):
        diff(*cmd)
    diff("EXISTS", "d")


@pytest.mark.parametrize("resp3", [False, True])
def test_encodings_and_order(diff, resp3):
    if resp3:
        diff.resp3()
    run(
        diff,
        ("SADD", "i", "10", "-3", "7", "0", "9223372036854775807", "-9223372036854775808"),
        ("OBJECT", "ENCODING", "i"),
        ("SMEMBERS", "i"),
        ("SADD", "i", "x"),
        ("OBJECT", "ENCODING", "i"),
        ("SMEMBERS", "i"),
        ("SADD", "l", "b", "a", "3", "1", "c"),
        ("OBJECT", "ENCODING", "l"),
        ("SMEMBERS", "l"),
        ("SREM", "l", "a"),
        ("SADD", "l", "a"),
        ("SMEMBERS", "l"),
        ("SADD", "l", "x" * 65),
        ("OBJECT", "ENCODING", "l"),
        ("SADD", "n", "1", "01"),
        ("OBJECT", "ENCODING", "n"),
        ("SMEMBERS", "n"),
        ("SADD", "w", "1", "-12345678901234567890123456789012345678901234567890123456789012345"),
        ("OBJECT", "ENCODING", "w"),
    )
    diff_sorted(diff, "SMEMBERS", "l")
    diff_sorted(diff, "SMEMBERS", "w")


def test_encoding_limits(diff):
    with config(diff, set_max_intset_entries=4, set_max_listpack_entries=4, set_max_listpack_value=5):
        run(
            diff,
            ("SADD", "a", "1", "2", "3", "4"),
            ("OBJECT", "ENCODING", "a"),
            ("SADD", "a", "5"),
            ("OBJECT", "ENCODING", "a"),
            ("SREM", "a", "1", "2", "3", "4"),
            ("OBJECT", "ENCODING", "a"),
            # Five arguments convert at once even if they are duplicates.
            ("SADD", "b", "1", "1", "1", "1", "1"),
            ("OBJECT", "ENCODING", "b"),
            ("SADD", "c", "x", "y", "z", "w", "v"),
            ("OBJECT", "ENCODING", "c"),
            ("SADD", "d", "1", "2", "3"),
            ("SADD", "d", "abcde"),
            ("OBJECT", "ENCODING", "d"),
            ("SMEMBERS", "d"),
            ("SADD", "e", "1", "2", "3", "4"),
            ("SADD", "e", "x"),
            ("OBJECT", "ENCODING", "e"),
            ("SADD", "f", "123456", "1"),
            ("SADD", "f", "x"),
            ("OBJECT", "ENCODING", "f"),
            ("SADD", "g", "1"),
            ("SADD", "g", "abcdef"),
            ("OBJECT", "ENCODING", "g"),
            ("SADD", "h", "x", "y"),
            ("SADD", "h", "1", "2", "3", "4", "5"),
            ("OBJECT", "ENCODING", "h"),
            ("SADD", "k", "x", "y", "z", "w"),
            ("SADD", "k", "v"),
            ("OBJECT", "ENCODING", "k"),
        )


def test_smove(diff):
    run(
        diff,
        ("SADD", "a", "1", "2", "x"),
        ("SADD", "b", "3"),
        ("SMOVE", "a", "b", "1"),
        ("SMOVE", "a", "b", "nothere"),
        ("SMEMBERS", "a"),
        ("SMEMBERS", "b"),
        ("SMOVE", "a", "b", "x"),
        ("OBJECT", "ENCODING", "b"),
        ("SMEMBERS", "b"),
        ("SMOVE", "a", "a", "2"),
        ("SMOVE", "a", "a", "9"),
        ("SMOVE", "a", "c", "2"),
        ("EXISTS", "a"),
        ("SMEMBERS", "c"),
        ("OBJECT", "ENCODING", "c"),
        ("SMOVE", "nokey", "c", "2"),
        ("SADD", "d", "z"),
        ("SMOVE", "d", "e", "z"),
        ("OBJECT", "ENCODING", "e"),
        ("SMOVE", "b", "c", "3"),
        ("SMEMBERS", "c"),
    )


def test_algebra_small(diff):
    run(
        diff,
        ("SADD", "i1", "5", "1", "3", "2"),
        ("SADD", "i2", "3", "2", "9"),
        ("SADD", "l1", "b", "3", "a", "2", "1"),
        ("SADD", "l2", "a", "z", "2"),
    )
    for keys in (
        ["i1", "i2"],
        ["i2", "i1"],
        ["i1", "l1"],
        ["l1", "i1"],
        ["l1", "l2"],
        ["l2", "l1", "i1"],
        ["i1"],
        ["l1"],
        ["i1", "nokey"],
        ["nokey", "i1"],
        ["l1", "l1"],
        ["i1", "i1", "l1"],
    ):
        for cmd in ("SINTER", "SUNION", "SDIFF"):
            diff(cmd, *keys)
            diff(cmd + "STORE", "dst", *keys)
            diff("OBJECT", "ENCODING", "dst")
            diff("SMEMBERS", "dst")
        diff("SINTERCARD", len(keys), *keys)
        diff("SINTERCARD", len(keys), *keys, "LIMIT", "1")
        diff("SINTERCARD", len(keys), *keys, "limit", "0")
    run(
        diff,
        ("SET", "dst", "string"),
        ("EXPIRE", "dst", "100"),
        ("SUNIONSTORE", "dst", "i1"),
        ("TTL", "dst"),
        ("TYPE", "dst"),
        ("SINTERSTORE", "dst", "i1", "nokey"),
        ("EXISTS", "dst"),
        ("SDIFFSTORE", "dst", "nokey", "i1"),
        ("SUNIONSTORE", "dst", "nokey"),
        ("SDIFF", "nokey"),
        ("SUNION", "nokey", "nokey2"),
        ("SINTER", "nokey"),
        ("SINTERSTORE", "i1", "i1", "i2"),
        ("SMEMBERS", "i1"),
    )


@pytest.mark.parametrize("resp3", [False, True])
def test_algebra_reply_types(diff, resp3):
    if resp3:
        diff.resp3()
    run(
        diff,
        ("SADD", "a", "1", "x"),
        ("SADD", "b", "x"),
        ("SINTER", "a", "b"),
        ("SINTER", "a", "nokey"),
        ("SUNION", "a", "b"),
        ("SDIFF", "a", "b"),
        ("SDIFF", "b", "a"),
        ("SMEMBERS", "a"),
        ("SMEMBERS", "nokey"),
        ("SINTERCARD", "2", "a", "b"),
    )


def test_sdiff_algorithms_and_encodings(diff):
    # Algorithm 2 (add all, then remove) leaves a listpack where algorithm 1 gives an intset.
    run(
        diff,
        ("SADD", "big", *[str(i) for i in range(1, 20)], "a"),
        ("SADD", "s1", "a"),
        ("SADD", "s2", "b"),
        ("SDIFFSTORE", "d1", "big", "s1"),
        ("OBJECT", "ENCODING", "d1"),
        ("SMEMBERS", "d1"),
        ("SADD", "o1", "1", "2", "a"),
        ("SADD", "o2", *[str(i) for i in range(3, 40)], "a"),
        ("SDIFFSTORE", "d2", "o1", "o2"),
        ("OBJECT", "ENCODING", "d2"),
        ("SMEMBERS", "d2"),
        ("SDIFFSTORE", "d3", "o1", "o2", "o2"),
        ("OBJECT", "ENCODING", "d3"),
        ("SDIFFSTORE", "d4", "o1", "nokey", "o2"),
        ("OBJECT", "ENCODING", "d4"),
    )


def test_algebra_hashtable(diff):
    diff("SADD", "h1", *[f"m{i}" for i in range(300)])
    diff("SADD", "h2", *[f"m{i}" for i in range(0, 600, 2)])
    diff("SADD", "h3", *[str(i) for i in range(1000)])
    diff("SADD", "h4", *[str(i) for i in range(0, 2000, 3)], "m2", "m4")
    for keys in (["h1", "h2"], ["h2", "h1"], ["h3", "h4"], ["h1", "h4"], ["h4", "h1", "h2"]):
        for cmd in ("SINTER", "SUNION", "SDIFF"):
            diff_sorted(diff, cmd, *keys)
            diff(cmd + "STORE", "dst", *keys)
            diff("OBJECT", "ENCODING", "dst")
            diff("SCARD", "dst")
            diff_sorted(diff, "SMEMBERS", "dst")
        diff("SINTERCARD", len(keys), *keys)
        diff("SINTERCARD", len(keys), *keys, "LIMIT", "7")
    diff("SADD", "small", "5", "7", "m2")
    diff("SINTERSTORE", "dst", "h3", "small")
    diff("OBJECT", "ENCODING", "dst")
    diff("SMEMBERS", "dst")
    diff("SINTERSTORE", "dst", "h4", "h3")
    diff("OBJECT", "ENCODING", "dst")
    diff("SINTERSTORE", "dst", "h1", "h2")
    diff("OBJECT", "ENCODING", "dst")


def test_sintercard_errors(diff):
    diff("SADD", "s", "1")
    run(
        diff,
        ("SINTERCARD", "0", "s"),
        ("SINTERCARD", "-1", "s"),
        ("SINTERCARD", "abc", "s"),
        ("SINTERCARD", "2", "s"),
        ("SINTERCARD", "1", "s", "LIMIT"),
        ("SINTERCARD", "1", "s", "LIMIT", "-1"),
        ("SINTERCARD", "1", "s", "LIMIT", "x"),
        ("SINTERCARD", "1", "s", "LIMIT", "1", "LIMIT", "2"),
        ("SINTERCARD", "1", "s", "FOO", "1"),
        ("SINTERCARD", "1"),
        ("SINTERCARD", "9223372036854775808", "s"),
    )


@pytest.mark.parametrize("resp3", [False, True])
def test_spop_srandmember_shapes(diff, resp3):
    if resp3:
        diff.resp3()
    run(
        diff,
        ("SPOP", "nokey"),
        ("SPOP", "nokey", "0"),
        ("SPOP", "nokey", "3"),
        ("SRANDMEMBER", "nokey"),
        ("SRANDMEMBER", "nokey", "0"),
        ("SRANDMEMBER", "nokey", "3"),
        ("SRANDMEMBER", "nokey", "-3"),
        ("SPOP", "k", "-1"),
        ("SPOP", "k", "x"),
        ("SPOP", "k", "1", "2"),
        ("SRANDMEMBER", "k", "1", "2"),
        ("SRANDMEMBER", "k", "x"),
        ("SRANDMEMBER", "k", "-9223372036854775808"),
        ("SRANDMEMBER", "k", "9223372036854775808"),
        ("SADD", "one", "only"),
        ("SRANDMEMBER", "one"),
        ("SRANDMEMBER", "one", "1"),
        ("SRANDMEMBER", "one", "-3"),
        ("SRANDMEMBER", "one", "0"),
        ("SPOP", "one", "0"),
        # Whole-set answers are deterministic: the set's order (or the union's for SPOP).
        ("SADD", "i", "3", "1", "2"),
        ("SRANDMEMBER", "i", "3"),
        ("SRANDMEMBER", "i", "100"),
        ("SADD", "l", "z", "3", "a", "1"),
        ("SRANDMEMBER", "l", "10"),
        ("SPOP", "l", "10"),
        ("EXISTS", "l"),
        ("SPOP", "i", "3"),
        ("EXISTS", "i"),
        ("SADD", "p", "5"),
        ("SPOP", "p"),
        ("EXISTS", "p"),
    )


def _sample_checks(diff, key: str, population: set[bytes], encoding: bytes) -> None:
    assert diff("OBJECT", "ENCODING", key) == b"$%d\r\n%s\r\n" % (len(encoding), encoding)
    for count in (1, 3, len(population) - 1):
        mine, real = diff.both("SRANDMEMBER", key, count)
        for reply in (mine, real):
            got = members(reply)
            assert len(got) == count and len(set(got)) == count and set(got) <= population
    mine, real = diff.both("SRANDMEMBER", key, -50)
    for reply in (mine, real):
        got = members(reply)
        assert len(got) == 50 and set(got) <= population
    mine, real = diff.both("SRANDMEMBER", key)
    assert mine[:1] == b"$"


@pytest.mark.parametrize(
    "encoding,population",
    [
        (b"intset", [str(i) for i in range(20)]),
        (b"listpack", [f"m{i}" for i in range(20)]),
        (b"hashtable", [f"m{i}" for i in range(300)]),
    ],
)
def test_random_members(diff, encoding, population):
    pop = {p.encode() for p in population}
    diff("SADD", "s", *population)
    _sample_checks(diff, "s", pop, encoding)
    # SRANDMEMBER with a negative count is roughly uniform.
    counts: dict[bytes, int] = {}
    for member in members(diff.ours("SRANDMEMBER", "s", -20 * len(pop))):
        counts[member] = counts.get(member, 0) + 1
    assert set(counts) == pop
    assert min(counts.values()) > 2
    # SPOP with small and large counts (both of Valkey's strategies) keeps the set consistent.
    left = set(pop)
    for count in (1, 2, len(pop) // 2, len(pop) // 2 - 5):
        mine, real = diff.both("SPOP", "s", count)
        assert mine.split(b"\r\n", 1)[0] == real.split(b"\r\n", 1)[0]
        got = set(members(mine))
        assert len(got) == count and got <= left
        left -= got
        assert set(members(diff.ours("SMEMBERS", "s"))) == left
        diff("SCARD", "s")
        diff("OBJECT", "ENCODING", "s")
    got = diff.ours("SPOP", "s")
    assert got.split(b"\r\n")[1] in left
    diff.theirs("SPOP", "s")


def test_spop_survivors_encoding(diff):
    # Popping most of a hashtable set rebuilds the survivors as a listpack, as Valkey does.
    diff("SADD", "h", *[f"m{i}" for i in range(200)])
    diff.both("SPOP", "h", 195)
    diff("OBJECT", "ENCODING", "h")
    diff("SCARD", "h")
    diff("SADD", "n", *[str(i) for i in range(200)])
    diff.both("SPOP", "n", 195)
    diff("OBJECT", "ENCODING", "n")
    diff("SADD", "t", *[str(i) for i in range(400)])
    diff.both("SPOP", "t", 390)
    diff("OBJECT", "ENCODING", "t")


def test_sscan(diff):
    run(
        diff,
        ("SSCAN", "nokey", "0"),
        ("SSCAN", "nokey", "0", "COUNT", "0"),
        ("SSCAN", "nokey", "x"),
        ("SADD", "i", "3", "1", "22"),
        ("SSCAN", "i", "0"),
        ("SSCAN", "i", "0", "MATCH", "2*"),
        ("SSCAN", "i", "123", "COUNT", "1"),
        ("SSCAN", "i", "0", "COUNT", "0"),
        ("SSCAN", "i", "0", "COUNT", "x"),
        ("SSCAN", "i", "0", "NOVALUES"),
        ("SSCAN", "i", "0", "NOSCORES"),
        ("SSCAN", "i", "0", "TYPE", "set"),
        ("SSCAN", "i", "0", "MATCH"),
        ("SSCAN", "i", "-1"),
        ("SSCAN", "i", "18446744073709551616"),
        ("SADD", "l", "b", "a", "ab"),
        ("SSCAN", "l", "0", "MATCH", "a*", "COUNT", "1"),
    )
    diff.resp3()
    diff("SSCAN", "l", "0")
    diff("SSCAN", "nokey", "0")


def test_sscan_hashtable_full_iteration(diff):
    population = {f"member:{i}".encode() for i in range(1000)}
    diff("SADD", "h", *sorted(population))
    for match, count in ((None, 10), ("member:1*", 50), (None, 1000)):
        cursor = b"0"
        seen: list[bytes] = []
        calls = 0
        while True:
            args = ["SSCAN", "h", cursor]
            if match:
                args += ["MATCH", match]
            args += ["COUNT", str(count)]
            reply = diff.ours(*args)
            lines = reply.split(b"\r\n")
            cursor = lines[2]
            seen.extend(members(b"\r\n".join(lines[3:])))
            calls += 1
            if cursor == b"0":
                break
            diff("SREM", "h", "member:999")  # removed mid-scan: may or may not be returned
        expected = {m for m in population if match is None or m.startswith(b"member:1")}
        expected.discard(b"member:999")
        assert expected <= set(seen)
        assert calls >= len(expected) // count
        diff("SADD", "h", "member:999")


# -- propagation (what replicas see) -----------------------------------------------------------


def _stream(server, run):
    """Attach a raw replica, let ``run(client)`` work, return the commands streamed (without the
    keep-alive PINGs)."""
    from resp import RawClient
    from test_replication_stream import StreamReader

    client = RawClient(server.port)
    client("FLUSHALL")
    client("CONFIG", "SET", "repl-ping-replica-period", "3600")
    reader = StreamReader(server.port)
    try:
        popped = run(client)
        client("SET", "__end__", "1")
        out = []
        while True:
            argv = reader.command()
            if argv == [b"SET", b"__end__", b"1"]:
                return out, popped
            if argv[0].upper() != b"PING":
                out.append(argv)
    finally:
        reader.close()
        client.close()


def test_spop_propagates_as_srem_del_or_unlink(pyvalkey_server, oracle_server):
    def run(c):
        popped = []
        c("SADD", "whole1", "a", "b", "c")
        c("SADD", "whole2", "1", "2", "3")
        c("CONFIG", "SET", "lazyfree-lazy-server-del", "no")
        c("SPOP", "whole1", "5")  # the whole set: DEL
        c("CONFIG", "SET", "lazyfree-lazy-server-del", "yes")
        c("SPOP", "whole2", "3")  # ... or UNLINK
        c("SADD", "few", *"abcdefghijklmnopqrstuvwxyz")
        popped.append(members(c("SPOP", "few", "3")))  # a few of many: SREM of those
        popped.append(members(c("SPOP", "few", "20")))  # most of them (the other strategy)
        popped.append([c("SPOP", "few")[4:-2]])  # one: SREM
        c("SADD", "ints", *range(2000))
        popped.append(members(c("SPOP", "ints", "1500")))  # SREMs of 1024 at most, in MULTI
        c("SPOP", "nokey", "3")
        c("SPOP", "few", "0")
        c("SRANDMEMBER", "few", "3")  # never propagated
        return popped

    streams = []
    for server in (pyvalkey_server, oracle_server):
        stream, popped = _stream(server, run)
        srems = [argv for argv in stream if argv[0] == b"SREM"]
        # each SREM names exactly what the pop it stands for returned
        assert [argv[2:] for argv in srems[:3]] == popped[:3]
        assert [m for argv in srems[3:] for m in argv[2:]] == popped[3]
        assert [len(argv) - 2 for argv in srems[3:]] == [1024, 476]
        shape = [argv if argv[0] != b"SREM" else argv[:2] + [b"%d" % (len(argv) - 2)] for argv in stream]
        streams.append(shape)
    assert streams[0] == streams[1]
    assert [b"DEL", b"whole1"] in streams[0] and [b"UNLINK", b"whole2"] in streams[0]
