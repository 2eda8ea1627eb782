"""Differential tests of the hash command group (t_hash.c, with Valkey 9 field expiry) against
the real Valkey.

Fields of hashtable-encoded hashes come back in each server's own order, so those replies are
compared as multisets; listpack-encoded hashes are compared byte for byte. TTL tests use
short expiries and bounded waits.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest


def run(diff, *commands):
    for cmd in commands:
        diff(*cmd)


def bulks(reply: bytes) -> list[bytes]:
    """The bulk strings of a (possibly nested) aggregate reply, in order."""
    lines = reply.split(b"\r\n")
    out = []
    i = 0
    while i < len(lines) - 1:
        if lines[i][:1] == b"$" and lines[i] != b"$-1":
            out.append(lines[i + 1])
            i += 2
        else:
            i += 1
    return out


def diff_unordered(diff, *args) -> bytes:
    mine, real = diff.both(*args)
    assert mine.split(b"\r\n", 1)[0] == real.split(b"\r\n", 1)[0], (args, mine, real)
    if args[0].upper() in ("HGETALL",):
        pairs = lambda r: sorted(zip(bulks(r)[::2], bulks(r)[1::2]))
        assert pairs(mine) == pairs(real), (args, mine, real)
    else:
        assert sorted(bulks(mine)) == sorted(bulks(real)), (args, mine, real)
    return real


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


@pytest.mark.parametrize("resp3", [False, True])
def test_basic(diff, resp3):
    if resp3:
        diff.resp3()
    run(
        diff,
        ("HSET", "h", "b", "2", "a", "1", "c", "x"),
        ("HSET", "h", "a", "10", "d", "4"),
        ("HGET", "h", "a"),
        ("HGET", "h", "nope"),
        ("HGET", "nokey", "a"),
        ("HMGET", "h", "a", "nope", "d"),
        ("HMGET", "nokey", "a", "b"),
        ("HLEN", "h"),
        ("HLEN", "nokey"),
        ("HSTRLEN", "h", "c"),
        ("HSTRLEN", "h", "a"),
        ("HSTRLEN", "h", "nope"),
        ("HSTRLEN", "nokey", "a"),
        ("HEXISTS", "h", "a"),
        ("HEXISTS", "h", "nope"),
        ("HEXISTS", "nokey", "a"),
        ("HKEYS", "h"),
        ("HVALS", "h"),
        ("HGETALL", "h"),
        ("HKEYS", "nokey"),
        ("HVALS", "nokey"),
        ("HGETALL", "nokey"),
        ("OBJECT", "ENCODING", "h"),
        ("HSETNX", "h", "a", "99"),
        ("HSETNX", "h", "e", "5"),
        ("HSETNX", "new", "f", "v"),
        ("HGETALL", "new"),
        ("HMSET", "h", "f", "6", "g", "7"),
        ("HGETALL", "h"),
        ("HDEL", "h", "a", "nope", "b"),
        ("HDEL", "nokey", "a"),
        ("HGETALL", "h"),
        ("HDEL", "h", "c", "d", "e", "f", "g", "x"),
        ("EXISTS", "h"),
        ("HSET", "h", "a"),
        ("HSET", "h", "a", "1", "b"),
        ("HMSET", "h", "a"),
        ("HSET", "h"),
        ("HGETDEL", "nokey", "FIELDS", "2", "a", "b"),
        ("HSET", "g", "a", "1", "b", "2", "c", "3"),
        ("HGETDEL", "g", "FIELDS", "2", "a", "zz"),
        ("HGETALL", "g"),
        ("HGETDEL", "g", "fields", "3", "b", "c", "b"),
        ("EXISTS", "g"),
        ("HGETDEL", "g", "FIELDS", "0"),
        ("HGETDEL", "g", "FIELDS", "-1", "a"),
        ("HGETDEL", "g", "FIELDS", "2", "a"),
        ("HGETDEL", "g", "FIELDS", "x", "a"),
        ("HGETDEL", "g", "FOO", "1", "a"),
        ("HGETDEL", "g", "FOO", "x", "a"),
    )


def test_wrongtype(diff):
    diff("SET", "str", "v")
    for cmd in (
        ("HSET", "str", "a", "1"),
        ("HMSET", "str", "a", "1"),
        ("HSETNX", "str", "a", "1"),
        ("HGET", "str", "a"),
        ("HMGET", "str", "a"),
        ("HDEL", "str", "a"),
        ("HLEN", "str"),
        ("HSTRLEN", "str", "a"),
        ("HEXISTS", "str", "a"),
        ("HKEYS", "str"),
        ("HVALS", "str"),
        ("HGETALL", "str"),
        ("HINCRBY", "str", "a", "1"),
        ("HINCRBYFLOAT", "str", "a", "1"),
        ("HRANDFIELD", "str"),
        ("HRANDFIELD", "str", "2"),
        ("HRANDFIELD", "str", "2", "WITHVALUES"),
        ("HSCAN", "str", "0"),
        ("HGETDEL", "str", "FIELDS", "1", "a"),
        ("HEXPIRE", "str", "10", "FIELDS", "1", "a"),
        ("HEXPIRE", "str", "0", "FIELDS", "1", "a"),
        ("HPERSIST", "str", "FIELDS", "1", "a"),
        ("HTTL", "str", "FIELDS", "1", "a"),
        ("HPEXPIRETIME", "str", "FIELDS", "1", "a"),
        ("HGETEX", "str", "EX", "-1", "FIELDS", "1", "a"),
        ("HSETEX", "str", "EX", "-1", "FIELDS", "1", "a", "b"),
        ("HSETEX", "str", "NX", "FIELDS", "1", "a", "b"),
    ):
        diff(*cmd)


def test_encodings(diff):
    with config(diff, hash_max_listpack_entries=4, hash_max_listpack_value=8):
        run(
            diff,
            ("HSET", "a", "f1", "1", "f2", "2", "f3", "3", "f4", "4"),
            ("OBJECT", "ENCODING", "a"),
            ("HSET", "a", "f5", "5"),
            ("OBJECT", "ENCODING", "a"),
            ("HDEL", "a", "f1", "f2", "f3", "f4"),
            ("OBJECT", "ENCODING", "a"),
            # Argument count converts even when the pairs repeat a field.
            ("HSET", "b", "x", "1", "x", "1", "x", "1", "x", "1", "x", "1"),
            ("OBJECT", "ENCODING", "b"),
            ("HSET", "c", "x", "123456789"),
            ("OBJECT", "ENCODING", "c"),
            ("HSET", "d", "123456789", "x"),
            ("OBJECT", "ENCODING", "d"),
            ("HSETNX", "e", "x", "123456789"),
            ("OBJECT", "ENCODING", "e"),
            ("HSET", "f", "x", "1"),
            ("HINCRBYFLOAT", "f", "x", "0.0001"),
            ("OBJECT", "ENCODING", "f"),
            ("HINCRBY", "f", "longfieldname", "1"),
            ("OBJECT", "ENCODING", "f"),
            ("HSET", "g", "a", "1", "b", "2", "c", "3", "d", "4"),
            ("HINCRBY", "g", "e", "1"),
            ("OBJECT", "ENCODING", "g"),
            ("HGETALL", "c"),
        )


def test_hincrby(diff):
    run(
        diff,
        ("HINCRBY", "h", "a", "5"),
        ("HINCRBY", "h", "a", "-10"),
        ("HINCRBY", "h", "a", "x"),
        ("HINCRBY", "h", "a", "1.5"),
        ("HINCRBY", "h", "a", "9223372036854775808"),
        ("HSET", "h", "big", "9223372036854775807", "s", "abc", "sp", " 1", "z", "0", "neg", "-9223372036854775808"),
        ("HINCRBY", "h", "big", "1"),
        ("HINCRBY", "h", "big", "0"),
        ("HINCRBY", "h", "neg", "-1"),
        ("HINCRBY", "h", "s", "1"),
        ("HINCRBY", "h", "sp", "1"),
        ("HINCRBY", "h", "z", "-9223372036854775808"),
        ("HGETALL", "h"),
        ("HINCRBY", "nokey", "f", "x"),
        ("EXISTS", "nokey"),
    )


def test_hincrbyfloat(diff):
    run(
        diff,
        ("HINCRBYFLOAT", "h", "a", "10.5"),
        ("HINCRBYFLOAT", "h", "a", "0.1"),
        ("HINCRBYFLOAT", "h", "a", "-5e3"),
        ("HINCRBYFLOAT", "h", "a", "1e-20"),
        ("HINCRBYFLOAT", "h", "b", "3.0"),
        ("HINCRBYFLOAT", "h", "c", "0x10"),
        ("HINCRBYFLOAT", "h", "a", "x"),
        ("HINCRBYFLOAT", "h", "a", "inf"),
        ("HINCRBYFLOAT", "h", "a", "-inf"),
        ("HINCRBYFLOAT", "h", "a", "nan"),
        ("HINCRBYFLOAT", "h", "a", "1e5000"),
        ("HINCRBYFLOAT", "h", "a", " 1"),
        ("HSET", "h", "s", "abc", "i", "inf", "n", "17"),
        ("HINCRBYFLOAT", "h", "s", "1"),
        ("HINCRBYFLOAT", "h", "i", "1"),
        ("HINCRBYFLOAT", "h", "n", "0.5"),
        ("HINCRBYFLOAT", "h", "n", "-17.5"),
        ("HSET", "h", "m", "1.7976931348623157e308"),
        ("HINCRBYFLOAT", "h", "m", "1.7976931348623157e308"),
        ("OBJECT", "ENCODING", "h"),
        ("HINCRBYFLOAT", "nokey", "f", "inf"),
        ("EXISTS", "nokey"),
    )
    diff_unordered(diff, "HGETALL", "h")


@pytest.mark.parametrize("resp3", [False, True])
def test_hrandfield_shapes(diff, resp3):
    if resp3:
        diff.resp3()
    run(
        diff,
        ("HRANDFIELD", "nokey"),
        ("HRANDFIELD", "nokey", "0"),
        ("HRANDFIELD", "nokey", "5"),
        ("HRANDFIELD", "nokey", "-5", "WITHVALUES"),
        ("HRANDFIELD", "nokey", "1", "foo"),
        ("HRANDFIELD", "h", "x"),
        ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"),
        ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "9223372036854775808"),
        ("HSET", "one", "f", "v"),
        ("HRANDFIELD", "one"),
        ("HRANDFIELD", "one", "1"),
        ("HRANDFIELD", "one", "1", "withvalues"),
        ("HRANDFIELD", "one", "-3", "WITHVALUES"),
        ("HRANDFIELD", "one", "0", "WITHVALUES"),
        ("HSET", "h", "b", "2", "a", "1", "c", "3"),
        ("HRANDFIELD", "h", "3"),
        ("HRANDFIELD", "h", "10", "WITHVALUES"),
    )


@pytest.mark.parametrize("size", [10, 300])
def test_hrandfield_random(diff, size):
    fields = {f"f{i}".encode(): f"v{i}".encode() for i in range(size)}
    args = [x for kv in fields.items() for x in kv]
    diff("HSET", "h", *args)
    for count in (2, 5, size - 1):
        for withvalues in (False, True):
            extra = ["WITHVALUES"] if withvalues else []
            mine, real = diff.both("HRANDFIELD", "h", count, *extra)
            assert mine.split(b"\r\n", 1)[0] == real.split(b"\r\n", 1)[0]
            got = bulks(mine)
            names = got[::2] if withvalues else got
            assert len(set(names)) == count and set(names) <= set(fields)
            if withvalues:
                assert all(fields[f] == v for f, v in zip(got[::2], got[1::2]))
    counts: dict[bytes, int] = {}
    for name in bulks(diff.ours("HRANDFIELD", "h", -20 * size)):
        counts[name] = counts.get(name, 0) + 1
    assert set(counts) == set(fields) and min(counts.values()) > 2
    assert bulks(diff.ours("HRANDFIELD", "h"))[0] in fields


def test_hscan(diff):
    run(
        diff,
        ("HSCAN", "nokey", "0"),
        ("HSCAN", "nokey", "x"),
        ("HSET", "h", "b", "2", "a", "1", "ab", "3"),
        ("HSCAN", "h", "0"),
        ("HSCAN", "h", "0", "NOVALUES"),
        ("HSCAN", "h", "0", "MATCH", "a*"),
        ("HSCAN", "h", "0", "MATCH", "a*", "NOVALUES", "COUNT", "1"),
        ("HSCAN", "h", "77"),
        ("HSCAN", "h", "0", "NOSCORES"),
        ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "TYPE", "hash"),
    )
    diff.resp3()
    diff("HSCAN", "h", "0")
    # Big hash: a full iteration returns every field with its value.
    fields = {f"field:{i}".encode(): str(i).encode() for i in range(600)}
    diff("HSET", "big", *[x for kv in fields.items() for x in kv])
    for novalues in (False, True):
        cursor = b"0"
        seen: dict[bytes, bytes | None] = {}
        while True:
            args = ["HSCAN", "big", cursor, "COUNT", "50"] + (["NOVALUES"] if novalues else [])
            lines = diff.ours(*args).split(b"\r\n")
            cursor = lines[2]
            items = bulks(b"\r\n".join(lines[3:]))
            if novalues:
                seen.update(dict.fromkeys(items))
            else:
                seen.update(zip(items[::2], items[1::2]))
            if cursor == b"0":
                break
        assert set(seen) == set(fields)
        if not novalues:
            assert seen == fields


def test_expire_commands(diff):
    run(
        diff,
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"),
        ("OBJECT", "ENCODING", "h"),
        ("HEXPIRE", "h", "100", "XX", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "GT", "FIELDS", "1", "a"),
        ("OBJECT", "ENCODING", "h"),
        ("HPERSIST", "h", "FIELDS", "2", "a", "zz"),
        ("HTTL", "h", "FIELDS", "2", "a", "zz"),
        ("HEXPIRE", "h", "100", "FIELDS", "2", "a", "zz"),
        ("OBJECT", "ENCODING", "h"),
        ("HTTL", "h", "FIELDS", "3", "a", "b", "zz"),
        ("HEXPIRE", "h", "100", "NX", "FIELDS", "2", "a", "b"),
        ("HEXPIRE", "h", "200", "XX", "FIELDS", "2", "a", "b"),
        ("HEXPIRE", "h", "100", "GT", "FIELDS", "2", "a", "c"),
        ("HEXPIRE", "h", "300", "GT", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "400", "LT", "FIELDS", "2", "a", "c"),
        ("HEXPIRE", "h", "50", "lt", "FIELDS", "2", "a", "c"),
        ("HTTL", "h", "FIELDS", "3", "a", "b", "c"),
        ("HEXPIREAT", "h", "4102444800", "FIELDS", "1", "d"),
        ("HEXPIRETIME", "h", "FIELDS", "2", "d", "b"),
        ("HPEXPIRETIME", "h", "FIELDS", "1", "d"),
        ("HPEXPIREAT", "h", "4102444800123", "FIELDS", "1", "d"),
        ("HPEXPIRETIME", "h", "FIELDS", "1", "d"),
        ("HEXPIRETIME", "h", "FIELDS", "1", "d"),
        ("HPEXPIRE", "h", "100000", "FIELDS", "1", "b"),
        ("HTTL", "h", "FIELDS", "1", "b"),
        ("HPERSIST", "h", "FIELDS", "3", "a", "b", "zz"),
        ("HTTL", "h", "FIELDS", "2", "a", "b"),
        ("HPTTL", "h", "FIELDS", "2", "a", "zz"),
        ("HPTTL", "nokey", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "0", "FIELDS", "2", "a", "zz"),
        ("HEXPIREAT", "h", "1", "FIELDS", "1", "b"),
        ("HPEXPIREAT", "h", "1", "FIELDS", "1", "b"),
        ("HGETALL", "h"),
        ("HEXPIRE", "h", "0", "FIELDS", "2", "c", "d"),
        ("EXISTS", "h"),
        ("HEXPIRE", "nokey", "10", "FIELDS", "1", "a"),
        ("HEXPIRE", "nokey", "0", "FIELDS", "1", "a"),
        ("HPERSIST", "nokey", "FIELDS", "1", "a"),
        ("HTTL", "nokey", "FIELDS", "1", "a"),
        ("HSET", "lp", "a", "1"),
        ("HEXPIRE", "lp", "0", "FIELDS", "1", "zz"),
        ("HPEXPIRE", "lp", "100000", "FIELDS", "1", "zz"),
        ("HGETEX", "lp", "EX", "100", "FIELDS", "1", "zz"),
        ("HGETEX", "lp", "PERSIST", "FIELDS", "1", "a"),
        ("OBJECT", "ENCODING", "lp"),
        ("HEXPIRE", "lp", "100", "LT", "FIELDS", "1", "a"),
        ("OBJECT", "ENCODING", "lp"),
        ("HPERSIST", "lp", "FIELDS", "1", "a"),
        ("OBJECT", "ENCODING", "lp"),
    )


def test_expire_errors(diff):
    diff("HSET", "h", "a", "1", "b", "2")
    run(
        diff,
        ("HEXPIRE", "h", "100", "nx", "xx", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "NX", "GT", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "NX", "LT", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "GT", "LT", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "Foo", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "nx", "nx", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "abc", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "-1", "FIELDS", "1", "a"),
        ("HEXPIREAT", "h", "-1", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "100", "FIELDS", "2", "a"),
        ("HEXPIRE", "h", "100", "FIELDS", "0"),
        ("HEXPIRE", "h", "100", "FIELDS", "0", "a"),
        ("HEXPIRE", "h", "100", "FIELDS", "x", "a"),
        ("HEXPIRE", "h", "100", "FIELDS", "-1", "a"),
        ("HEXPIRE", "h", "100", "a", "b"),
        ("HEXPIRE", "h", "100", "nx", "a", "b", "c"),
        ("HEXPIRE", "h", "9223372036854775807", "FIELDS", "1", "a"),
        ("HPEXPIRE", "h", "9223372036854775807", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "9223372036854775", "FIELDS", "1", "a"),
        ("HEXPIREAT", "h", "9223372036854775", "FIELDS", "1", "a"),
        ("HPEXPIREAT", "h", "9223372036854775807", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "abc", "FIELDS", "2", "a"),
        ("HEXPIRE", "h", "100", "FIELDS", "1", "FIELDS"),
        ("HEXPIRE", "h", "100", "fields", "2", "fields", "a"),
        ("HPERSIST", "h", "FOO", "1", "a"),
        ("HPERSIST", "h", "FOO", "x", "a"),
        ("HPERSIST", "h", "FIELDS", "x", "a"),
        ("HPERSIST", "h", "FIELDS", "0", "a"),
        ("HPERSIST", "h", "FIELDS", "2", "a"),
        ("HTTL", "h", "FIELDS", "2", "a"),
        ("HTTL", "h", "FIELDS", "0", "a"),
        ("HTTL", "h", "FIELDS", "x", "a"),
        ("HTTL", "h", "foo", "1", "a"),
        ("HPTTL", "h", "foo", "x", "a"),
        ("HEXPIRETIME", "h", "FIELDS", "-1", "a"),
    )


def test_hgetex(diff):
    diff("HSET", "h", "a", "1", "b", "2", "c", "3")
    run(
        diff,
        ("HGETEX", "h", "FIELDS", "2", "a", "zz"),
        ("HGETEX", "h", "EX", "100", "FIELDS", "2", "a", "zz"),
        ("OBJECT", "ENCODING", "h"),
        ("HTTL", "h", "FIELDS", "2", "a", "b"),
        ("HGETEX", "h", "PX", "50000", "FIELDS", "1", "b"),
        ("HTTL", "h", "FIELDS", "1", "b"),
        ("HGETEX", "h", "EXAT", "4102444800", "FIELDS", "1", "c"),
        ("HEXPIRETIME", "h", "FIELDS", "1", "c"),
        ("HGETEX", "h", "PXAT", "4102444800001", "FIELDS", "1", "c"),
        ("HPEXPIRETIME", "h", "FIELDS", "1", "c"),
        ("HGETEX", "h", "PERSIST", "FIELDS", "3", "a", "b", "zz"),
        ("HTTL", "h", "FIELDS", "2", "a", "b"),
        ("HGETEX", "h", "EX", "10", "EX", "20", "FIELDS", "1", "a"),
        ("HTTL", "h", "FIELDS", "1", "a"),
        ("HGETEX", "h", "EX", "0", "FIELDS", "1", "a"),
        ("HGETEX", "h", "PXAT", "1", "FIELDS", "1", "zz"),
        ("HGETALL", "h"),
        ("HGETEX", "h", "EX", "-1", "FIELDS", "1", "b"),
        ("HGETEX", "h", "PX", "100", "EX", "100", "FIELDS", "1", "b"),
        ("HGETEX", "h", "PERSIST", "EX", "10", "FIELDS", "1", "b"),
        ("HGETEX", "h", "EX", "10", "PERSIST", "FIELDS", "1", "b"),
        ("HGETEX", "h", "KEEPTTL", "FIELDS", "1", "b"),
        ("HGETEX", "h", "NX", "FIELDS", "1", "b"),
        ("HGETEX", "h", "FOO", "FIELDS", "1", "b"),
        ("HGETEX", "h", "EX", "FIELDS", "1", "b"),
        ("HGETEX", "h", "EX", "abc", "FIELDS", "1", "b"),
        ("HGETEX", "h", "EX", "9223372036854775807", "FIELDS", "1", "b"),
        ("HGETEX", "h", "FIELDS", "2", "b"),
        ("HGETEX", "h", "FIELDS", "0", "b"),
        ("HGETEX", "h", "FIELDS", "x", "b"),
        ("HGETEX", "h", "b", "c"),
        ("HGETEX", "h", "EX", "10", "b", "c"),
        ("HGETEX", "nokey", "EX", "10", "FIELDS", "1", "a"),
        ("HGETEX", "fields", "FIELDS", "1", "a"),
        ("HGETEX", "h", "EXAT", "1", "FIELDS", "2", "b", "c"),
        ("EXISTS", "h"),
    )


def test_hsetex(diff):
    run(
        diff,
        ("HSETEX", "h", "FIELDS", "2", "a", "1", "b", "2"),
        ("OBJECT", "ENCODING", "h"),
        ("HSETEX", "h", "KEEPTTL", "FIELDS", "1", "a", "v"),
        ("OBJECT", "ENCODING", "h"),
        ("HSETEX", "h", "EX", "100", "FIELDS", "1", "a", "v2"),
        ("OBJECT", "ENCODING", "h"),
        ("HTTL", "h", "FIELDS", "2", "a", "b"),
        ("HSETEX", "h", "KEEPTTL", "FIELDS", "2", "a", "v3", "c", "3"),
        ("HTTL", "h", "FIELDS", "2", "a", "c"),
        ("HSETEX", "h", "FIELDS", "1", "a", "v4"),
        ("HTTL", "h", "FIELDS", "1", "a"),
        ("HSET", "h", "a", "v5"),
        ("HSETEX", "h", "PX", "100000", "FIELDS", "1", "a", "v6"),
        ("HSET", "h", "a", "v7"),
        ("HTTL", "h", "FIELDS", "1", "a"),
        ("HSETEX", "h", "EXAT", "4102444800", "FIELDS", "1", "b", "x"),
        ("HEXPIRETIME", "h", "FIELDS", "1", "b"),
        ("HSETEX", "h", "PXAT", "4102444800123", "FIELDS", "1", "b", "x"),
        ("HPEXPIRETIME", "h", "FIELDS", "1", "b"),
        ("HSETEX", "h", "FNX", "FIELDS", "2", "new", "1", "a", "2"),
        ("HSETEX", "h", "FNX", "FIELDS", "1", "new", "1"),
        ("HSETEX", "h", "FXX", "FIELDS", "2", "new", "1", "zz", "2"),
        ("HSETEX", "h", "FXX", "EX", "50", "FIELDS", "2", "new", "11", "a", "22"),
        ("HTTL", "h", "FIELDS", "2", "new", "a"),
        ("HSETEX", "h", "NX", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "XX", "FIELDS", "1", "a", "1"),
        ("HSETEX", "nokey", "XX", "FIELDS", "1", "a", "1"),
        ("HSETEX", "nokey", "FXX", "FIELDS", "1", "a", "1"),
        ("EXISTS", "nokey"),
        ("HSETEX", "nk", "NX", "FNX", "FIELDS", "2", "a", "1", "a", "2"),
        ("HGETALL", "nk"),
        ("HSETEX", "h", "NX", "EX", "-1", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "EX", "-1", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "EX", "x", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "FNX", "FXX", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "NX", "XX", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "PERSIST", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "KEEPTTL", "EX", "10", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "EX", "10", "KEEPTTL", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "EX", "10", "PX", "10", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "GET", "FIELDS", "1", "a", "1"),
        ("HSETEX", "h", "FIELDS", "2", "a", "1"),
        ("HSETEX", "h", "FIELDS", "1", "a", "1", "b"),
        ("HSETEX", "h", "FIELDS", "0", "a", "1"),
        ("HSETEX", "h", "FIELDS", "-1", "a", "1"),
        ("HSETEX", "h", "FIELDS", "x", "a", "1"),
        ("HSETEX", "h", "a", "1", "b", "2"),
        ("HSETEX", "h", "EXAT", "1", "FIELDS", "2", "zz", "1", "a", "2"),
        ("HEXISTS", "h", "a"),
        ("HSETEX", "gone", "EXAT", "1", "FIELDS", "1", "a", "v"),
        ("HSETEX", "gone", "FNX", "EX", "0", "FIELDS", "1", "a", "v"),
        ("EXISTS", "gone"),
        ("HSET", "one", "f", "v"),
        ("HSETEX", "one", "FXX", "PXAT", "1", "FIELDS", "1", "f", "v"),
        ("EXISTS", "one"),
    )
    diff_unordered(diff, "HGETALL", "h")


def test_field_expiry_over_time(diff):
    run(
        diff,
        ("HSET", "h", "keep", "1", "soon", "2", "later", "3"),
        ("HPEXPIRE", "h", "100", "FIELDS", "1", "soon"),
        ("HPEXPIRE", "h", "250", "FIELDS", "1", "later"),
        ("HSET", "all", "a", "1", "b", "2"),
        ("HPEXPIRE", "all", "100", "FIELDS", "2", "a", "b"),
        ("HSET", "active", "a", "1"),
        ("HPEXPIRE", "active", "100", "FIELDS", "1", "a"),
        ("HSETEX", "sx", "PX", "100", "FIELDS", "1", "f", "v"),
        ("HSET", "gx", "f", "v", "g", "w"),
        ("HGETEX", "gx", "PX", "100", "FIELDS", "1", "f"),
        ("HSET", "persisted", "f", "v"),
        ("HPEXPIRE", "persisted", "100", "FIELDS", "1", "f"),
        ("HPERSIST", "persisted", "FIELDS", "1", "f"),
    )
    time.sleep(0.4)
    run(
        diff,
        ("HGET", "h", "soon"),
        ("HEXISTS", "h", "soon"),
        ("HTTL", "h", "FIELDS", "2", "soon", "keep"),
        ("HGETALL", "h"),
        ("HLEN", "h"),
        ("HGETALL", "all"),
        ("EXISTS", "all"),
        ("HGETALL", "sx"),
        ("EXISTS", "sx"),
        ("HGETALL", "gx"),
        ("HGETALL", "persisted"),
    )
    # Nobody touched "active": the cron removed it (bounded wait for both servers).
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        mine, real = diff.both("EXISTS", "active")
        if mine == real == b":0\r\n":
            break
        time.sleep(0.05)
    diff("EXISTS", "active")
    diff("DBSIZE")


def test_hincr_keeps_field_ttl(diff):
    run(
        diff,
        ("HSET", "h", "n", "1", "f", "1.5"),
        ("HEXPIRE", "h", "100", "FIELDS", "2", "n", "f"),
        ("HINCRBY", "h", "n", "1"),
        ("HINCRBYFLOAT", "h", "f", "1"),
        ("HTTL", "h", "FIELDS", "2", "n", "f"),
        ("HSETNX", "h", "n", "5"),
        ("HDEL", "h", "n"),
        ("HSET", "h", "n", "7"),
        ("HTTL", "h", "FIELDS", "1", "n"),
        ("HTTL", "h", "FIELDS", "1", "n"),
    )


def test_copy_and_type(diff):
    run(
        diff,
        ("HSET", "h", "a", "1", "b", "2"),
        ("HEXPIRE", "h", "100", "FIELDS", "1", "a"),
        ("COPY", "h", "h2"),
        ("TYPE", "h2"),
        ("OBJECT", "ENCODING", "h2"),
        ("HTTL", "h2", "FIELDS", "2", "a", "b"),
        ("HSET", "l", "a", "1"),
        ("COPY", "l", "l2"),
        ("OBJECT", "ENCODING", "l2"),
        ("HGETALL", "l2"),
    )


# -- propagation (what replicas see) -----------------------------------------------------------


def _stream(server, run) -> list[list[bytes]]:
    """Attach a raw replica, let ``run(client)`` work, return the commands streamed (keep-alive
    PINGs left out, absolute millisecond deadlines masked)."""
    from resp import RawClient
    from test_replication_stream import StreamReader

    client = RawClient(server.port)
    client("FLUSHALL")
    client("CONFIG", "SET", "repl-ping-replica-period", "3600")
    reader = StreamReader(server.port)
    try:
        run(client)
        client("SET", "__end__", "1")
        out = []
        while True:
            argv = reader.command()
            if argv == [b"SET", b"__end__", b"1"]:
                return out
            if argv[0].upper() != b"PING":
                out.append([b"<ms>" if a.isdigit() and len(a) == 13 else a for a in argv])
    finally:
        reader.close()
        client.close()


def test_field_expiry_and_incrbyfloat_propagation(pyvalkey_server, oracle_server):
    def run(c):
        c("HSET", "h", "f", "1")
        c("HINCRBYFLOAT", "h", "f", "1.5")
        c("HINCRBYFLOAT", "h", "g", "2")
        c("HSET", "h5", "a", "1", "b", "2", "c", "3", "d", "4")
        c("HEXPIRE", "h5", "100", "FIELDS", "3", "a", "nofield", "b")  # HPEXPIREAT, argv kept
        c("hpexpire", "h5", "100000", "nx", "fields", "3", "a", "c", "b")
        c("HEXPIREAT", "h5", "4000000000", "XX", "FIELDS", "2", "a", "c")
        c("HPEXPIREAT", "h5", "4000000000000", "GT", "FIELDS", "1", "a")  # no change: nothing
        c("HEXPIRE", "h5", "100", "FIELDS", "1", "nofield")  # nothing
        c("HPERSIST", "h5", "FIELDS", "2", "a", "nofield")
        c("HEXPIRE", "h5", "0", "NX", "FIELDS", "2", "b", "d")  # past: HDEL of what went (d)
        c("HGETEX", "h5", "EX", "100", "FIELDS", "3", "nofield", "b", "c")  # the changed ones
        c("HGETEX", "h5", "PERSIST", "FIELDS", "3", "nofield", "b", "c")
        c("HGETEX", "h5", "PERSIST", "FIELDS", "1", "b")  # nothing
        c("HGETEX", "h5", "EXAT", "1", "FIELDS", "2", "b", "nofield")  # HDEL
        c("HGETEX", "h5", "FIELDS", "1", "c")  # a read
        c("HSETEX", "h7", "EX", "100", "FIELDS", "2", "x", "1", "y", "2")  # PXAT
        c("HSETEX", "h7", "FNX", "KEEPTTL", "FIELDS", "1", "z", "3")  # conditions dropped
        c("hsetex", "h7", "fxx", "px", "100000", "fields", "1", "z", "4")
        c("HSETEX", "h7", "FIELDS", "1", "w", "5")
        c("HSETEX", "h7", "PXAT", "1", "FIELDS", "2", "x", "1", "new", "2")  # HDEL x
        c("HSETEX", "h8", "EXAT", "1", "FIELDS", "1", "a", "1")  # nothing
        c("HEXPIRE", "h7", "0", "FIELDS", "3", "y", "z", "w")  # HDEL, the key goes with them

    assert _stream(pyvalkey_server, run) == _stream(oracle_server, run)


def test_active_field_expiry_propagates_hdel(pyvalkey_server, oracle_server):
    def run(c):
        c("HSET", "h", "a", "1", "b", "2")
        c("HPEXPIRE", "h", "1", "FIELDS", "1", "a")
        time.sleep(0.3)
        c("HSET", "gone", "x", "1")
        c("HPEXPIRE", "gone", "1", "FIELDS", "1", "x")
        time.sleep(0.3)  # the last field: HDEL and the key's UNLINK in one MULTI/EXEC
        c("EXISTS", "gone")

    assert _stream(pyvalkey_server, run) == _stream(oracle_server, run)


def test_expire_conditions_hold_for_past_deadlines(diff):
    run(
        diff,
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"),
        ("HEXPIRE", "h", "100", "FIELDS", "1", "a"),
        ("HEXPIRE", "h", "0", "NX", "FIELDS", "2", "a", "b"),
        ("HEXPIRE", "h", "0", "XX", "FIELDS", "2", "c", "d"),
        ("HEXPIRE", "h", "100", "FIELDS", "1", "c"),
        ("HEXPIRE", "h", "0", "GT", "FIELDS", "2", "c", "d"),
        ("HEXPIRE", "h", "0", "LT", "FIELDS", "3", "c", "d", "nofield"),
        ("HGETALL", "h"),
        ("HSET", "lp", "a", "1"),  # listpack: no field has a TTL
        ("HPEXPIREAT", "lp", "1", "XX", "FIELDS", "1", "a"),
        ("HPEXPIREAT", "lp", "1", "GT", "FIELDS", "1", "a"),
        ("HGETALL", "lp"),
        ("HPEXPIREAT", "lp", "1", "LT", "FIELDS", "1", "a"),
        ("EXISTS", "lp"),
    )
