"""Differential tests of the bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
BITFIELD_RO) against the real Valkey, plus in-process checks of notifications and in-place
mutation."""

from __future__ import annotations

import random

import pytest

I64_MAX = str(2**63 - 1)
I64_MIN = str(-(2**63))


def run(diff, *commands):
    for cmd in commands:
        diff(*cmd)


def both_protocols(diff, commands):
    """Run the commands in RESP2, flush, then again in RESP3."""
    run(diff, *commands)
    diff("FLUSHALL")
    diff.resp3()
    run(diff, *commands)


def dirty(client) -> int:
    info = client("INFO", "persistence").decode()
    for line in info.split("\r\n"):
        if line.startswith("rdb_changes_since_last_save:"):
            return int(line.split(":", 1)[1])
    raise AssertionError(info)


def check_dirty(diff, *commands):
    """Each command's reply and its change to rdb_changes_since_last_save match the oracle."""
    for cmd in commands:
        before = (dirty(diff.ours), dirty(diff.theirs))
        diff(*cmd)
        after = (dirty(diff.ours), dirty(diff.theirs))
        assert after[0] - before[0] == after[1] - before[1], f"{cmd!r}: dirty {before} -> {after}"


def hits_misses(client) -> tuple[int, int]:
    info = client("INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def test_keyspace_hits_and_misses(diff):
    """Reads count hits and misses as Valkey's lookupKeyRead does; writes count nothing."""
    diff("SET", "s", "abc")
    for cmd in (
        ("GETBIT", "s", "1"),
        ("GETBIT", "nokey", "1"),
        ("SETBIT", "s", "1", "1"),
        ("SETBIT", "new", "1", "1"),
        ("BITCOUNT", "s"),
        ("BITCOUNT", "nokey", "0", "1"),
        ("BITPOS", "s", "1"),
        ("BITPOS", "nokey", "0", "0", "1", "BIT"),
        ("BITOP", "AND", "d", "s", "nokey", "new"),
        ("BITFIELD", "s", "GET", "u8", "0"),
        ("BITFIELD", "nokey", "GET", "u8", "0"),
        ("BITFIELD", "s", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "s", "GET", "u8", "0"),
        ("BITFIELD_RO", "nokey", "GET", "u8", "0"),
    ):
        before = (hits_misses(diff.ours), hits_misses(diff.theirs))
        diff(*cmd)
        after = (hits_misses(diff.ours), hits_misses(diff.theirs))
        ours = (after[0][0] - before[0][0], after[0][1] - before[0][1])
        theirs = (after[1][0] - before[1][0], after[1][1] - before[1][1])
        assert ours == theirs, f"{cmd!r}: hits/misses {ours} != {theirs}"


# -- SETBIT / GETBIT --------------------------------------------------------------------------


SETBIT_GETBIT = [
    ("SETBIT", "k", "7", "1"),
    ("GET", "k"),
    ("GETBIT", "k", "7"),
    ("GETBIT", "k", "6"),
    ("GETBIT", "k", "8"),
    ("GETBIT", "k", "1000000"),
    ("GETBIT", "nokey", "0"),
    ("SETBIT", "k", "7", "1"),
    ("SETBIT", "k", "7", "0"),
    ("SETBIT", "k", "100", "1"),
    ("STRLEN", "k"),
    ("GET", "k"),
    ("SETBIT", "k", "100", "0"),
    ("SETBIT", "z", "31", "0"),
    ("GET", "z"),
    ("OBJECT", "ENCODING", "z"),
    # values not yet raw: int, embstr, and after SET of a long value
    ("SET", "i", "12"),
    ("GETBIT", "i", "2"),
    ("GETBIT", "i", "3"),
    ("SETBIT", "i", "2", "1"),
    ("OBJECT", "ENCODING", "i"),
    ("GET", "i"),
    ("SET", "e", "abc"),
    ("SETBIT", "e", "0", "0"),
    ("OBJECT", "ENCODING", "e"),
    ("SET", "empty", ""),
    ("GETBIT", "empty", "0"),
    ("SETBIT", "empty", "0", "1"),
    ("GET", "empty"),
    # errors: offset first, then value, then type
    ("SETBIT", "k", "-1", "1"),
    ("SETBIT", "k", "x", "1"),
    ("SETBIT", "k", "4294967296", "1"),
    ("SETBIT", "k", "#1", "1"),
    ("SETBIT", "k", " 1", "1"),
    ("SETBIT", "k", "01", "1"),
    ("SETBIT", "k", "1", "2"),
    ("SETBIT", "k", "1", "-1"),
    ("SETBIT", "k", "1", "01"),
    ("SETBIT", "k", "1", "x"),
    ("SETBIT", "k", "1", ""),
    ("SETBIT", "k", "1", I64_MIN),
    ("GETBIT", "k", "-1"),
    ("GETBIT", "k", "4294967296"),
    ("GETBIT", "k", "4294967295"),
    ("GETBIT", "k", "99999999999999999999"),
    ("GETBIT", "k", ""),
    ("LPUSH", "list", "a"),
    ("SETBIT", "list", "0", "1"),
    ("GETBIT", "list", "0"),
    ("SETBIT", "list", "-1", "1"),
    ("GETBIT", "list", "x"),
    ("SETBIT", "k"),
    ("GETBIT", "k"),
    ("GETBIT", "k", "1", "2"),
]


def test_setbit_getbit(diff):
    both_protocols(diff, SETBIT_GETBIT)


def test_setbit_keeps_ttl_and_counts_changes(diff):
    check_dirty(
        diff,
        ("SETBIT", "k", "3", "1"),
        ("SETBIT", "k", "3", "1"),
        ("SETBIT", "k", "3", "0"),
        ("SETBIT", "k", "64", "0"),
        ("SETBIT", "k", "64", "0"),
        ("SETBIT", "new", "0", "0"),
        ("SET", "s", "abc"),
        ("SETBIT", "s", "1", "1"),
    )
    diff("EXPIRE", "k", "1000")
    diff("SETBIT", "k", "1", "1")
    diff("TTL", "k")


def test_setbit_matches_set_value_bit_by_bit(diff):
    rnd = random.Random(7)
    expected = bytearray()
    for _ in range(200):
        offset = rnd.randrange(320)
        bit = rnd.randrange(2)
        diff("SETBIT", "k", offset, bit)
        if len(expected) <= offset >> 3:
            expected += bytes((offset >> 3) + 1 - len(expected))
        if bit:
            expected[offset >> 3] |= 0x80 >> (offset & 7)
        else:
            expected[offset >> 3] &= ~(0x80 >> (offset & 7))
    assert diff("GET", "k") == b"$%d\r\n%s\r\n" % (len(expected), bytes(expected))
    for offset in range(0, 330, 3):
        diff("GETBIT", "k", offset)


# -- BITCOUNT -------------------------------------------------------------------------------


BITCOUNT = [
    ("SET", "k", "foobar"),
    ("BITCOUNT", "k"),
    ("BITCOUNT", "k", "0"),
    ("BITCOUNT", "k", "1"),
    ("BITCOUNT", "k", "-2"),
    ("BITCOUNT", "k", "0", "0"),
    ("BITCOUNT", "k", "1", "1"),
    ("BITCOUNT", "k", "1", "1", "BYTE"),
    ("BITCOUNT", "k", "5", "30", "BIT"),
    ("BITCOUNT", "k", "5", "30", "bit"),
    ("BITCOUNT", "k", "0", "-1", "BIT"),
    ("BITCOUNT", "k", "-1", "-2"),
    ("BITCOUNT", "k", "-2", "-1"),
    ("BITCOUNT", "k", "-100", "-1"),
    ("BITCOUNT", "k", "-100", "-100"),
    ("BITCOUNT", "k", "2", "1"),
    ("BITCOUNT", "k", "100", "200"),
    ("BITCOUNT", "k", I64_MIN, I64_MAX),
    ("BITCOUNT", "k", I64_MIN, I64_MAX, "BIT"),
    ("BITCOUNT", "k", "3", "3", "BIT"),
    ("BITCOUNT", "k", "9", "9", "BIT"),
    ("BITCOUNT", "k", "-3", "-1", "BIT"),
    ("BITCOUNT", "nokey"),
    ("BITCOUNT", "nokey", "0", "-1"),
    ("BITCOUNT", "nokey", "-1", "-2"),
    ("BITCOUNT", "nokey", "0", "x"),
    ("SET", "empty", ""),
    ("BITCOUNT", "empty"),
    ("BITCOUNT", "empty", "0", "-1"),
    ("BITCOUNT", "empty", "0", "-1", "BIT"),
    ("SET", "i", "123"),
    ("BITCOUNT", "i"),
    ("BITCOUNT", "i", "1", "1"),
    # errors, in Valkey's order: start, unit, end, type
    ("BITCOUNT", "k", "x"),
    ("BITCOUNT", "k", "x", "1"),
    ("BITCOUNT", "k", "0", "x"),
    ("BITCOUNT", "k", "x", "y", "foo"),
    ("BITCOUNT", "k", "0", "y", "foo"),
    ("BITCOUNT", "k", "0", "y", "BIT"),
    ("BITCOUNT", "k", "0", "1", "foo"),
    ("BITCOUNT", "k", "0", "1", "BIT", "extra"),
    ("BITCOUNT", "k", "0", "1", "bit\x00junk"),
    ("BITCOUNT", "k", "1.5"),
    ("LPUSH", "list", "a"),
    ("BITCOUNT", "list"),
    ("BITCOUNT", "list", "0", "1"),
    ("BITCOUNT", "list", "-1", "-2"),
    ("BITCOUNT", "list", "x"),
    ("BITCOUNT",),
]


def test_bitcount(diff):
    both_protocols(diff, BITCOUNT)


def test_bitcount_random_ranges(diff):
    rnd = random.Random(42)
    for _ in range(8):
        value = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
        diff("SET", "k", value)
        diff("BITCOUNT", "k")
        size = len(value)
        for _ in range(40):
            unit = rnd.choice([(), ("BYTE",), ("BIT",), ("bIt",)])
            scale = 8 if unit and unit[0].upper() == "BIT" else 1
            start = rnd.randint(-size * scale - 3, size * scale + 3)
            end = rnd.randint(-size * scale - 3, size * scale + 3)
            diff("BITCOUNT", "k", start, end, *unit)
            diff("BITCOUNT", "k", start)


def test_bitcount_large_string(diff):
    rnd = random.Random(3)
    value = rnd.randbytes(3 * 65536 + 17)
    diff("SET", "big", value)
    diff("BITCOUNT", "big")
    for start, end, unit in [(0, -1, "BYTE"), (5, 200000, "BYTE"), (13, 1500000, "BIT"), (-9, -1, "BIT"),
                             (65535, 131073, "BYTE"), (524287, 524289, "BIT")]:
        diff("BITCOUNT", "big", start, end, unit)


# -- BITPOS ---------------------------------------------------------------------------------


BITPOS = [
    ("SET", "k", b"\xff\xf0\x00"),
    ("BITPOS", "k", "0"),
    ("BITPOS", "k", "1"),
    ("BITPOS", "k", "0", "0"),
    ("BITPOS", "k", "0", "2"),
    ("BITPOS", "k", "1", "2"),
    ("BITPOS", "k", "1", "2", "-1"),
    ("BITPOS", "k", "0", "0", "0"),
    ("BITPOS", "k", "0", "0", "-1"),
    ("BITPOS", "k", "0", "7", "15", "BIT"),
    ("BITPOS", "k", "1", "7", "15", "BIT"),
    ("BITPOS", "k", "1", "12", "15", "BIT"),
    ("BITPOS", "k", "0", "12", "15", "BIT"),
    ("BITPOS", "k", "0", "12", "BIT"),
    ("BITPOS", "k", "0", "3", "6", "bit"),
    ("BITPOS", "k", "0", "-1", "-2"),
    ("BITPOS", "k", "1", "-100", "-50"),
    ("BITPOS", "k", "1", I64_MIN, I64_MAX, "BIT"),
    ("BITPOS", "k", "0", I64_MIN, I64_MAX),
    ("BITPOS", "k", "0", "100"),
    ("SET", "ones", b"\xff\xff\xff"),
    ("BITPOS", "ones", "0"),
    ("BITPOS", "ones", "0", "1"),
    ("BITPOS", "ones", "0", "1", "-1"),
    ("BITPOS", "ones", "0", "1", "BYTE"),
    ("BITPOS", "ones", "0", "3", "BIT"),
    ("BITPOS", "ones", "0", "3", "20", "BIT"),
    ("BITPOS", "ones", "0", "3", "-1", "BIT"),
    ("BITPOS", "ones", "1", "3", "20", "BIT"),
    ("SET", "zeros", b"\x00\x00\x00"),
    ("BITPOS", "zeros", "1"),
    ("BITPOS", "zeros", "0"),
    ("BITPOS", "zeros", "1", "1"),
    ("BITPOS", "zeros", "1", "1", "17", "BIT"),
    ("BITPOS", "zeros", "0", "17", "BIT"),
    ("BITPOS", "nokey", "0"),
    ("BITPOS", "nokey", "1"),
    ("BITPOS", "nokey", "0", "5", "10", "BIT"),
    ("SET", "empty", ""),
    ("BITPOS", "empty", "0"),
    ("BITPOS", "empty", "1"),
    ("BITPOS", "empty", "0", "0"),
    ("BITPOS", "empty", "0", "0", "-1"),
    ("SET", "i", "7"),
    ("BITPOS", "i", "1"),
    ("BITPOS", "i", "0", "0", "-1", "BIT"),
    # errors: bit, then range, then type
    ("BITPOS", "k", "2"),
    ("BITPOS", "k", "-1"),
    ("BITPOS", "k", "x"),
    ("BITPOS", "k", "x", "a", "b", "c", "d"),
    ("BITPOS", "k", "2", "a", "b", "c", "d"),
    ("BITPOS", "k", "1", "a", "b", "c", "d"),
    ("BITPOS", "k", "1", "x"),
    ("BITPOS", "k", "1", "0", "x"),
    ("BITPOS", "k", "1", "x", "y", "foo"),
    ("BITPOS", "k", "1", "0", "y", "foo"),
    ("BITPOS", "k", "1", "0", "1", "foo"),
    ("BITPOS", "k", "1", "0", "1", "BYTE\x00"),
    ("LPUSH", "list", "a"),
    ("BITPOS", "list", "1"),
    ("BITPOS", "list", "1", "0", "1", "BIT"),
    ("BITPOS", "list", "3"),
    ("BITPOS", "k"),
]


def test_bitpos(diff):
    both_protocols(diff, BITPOS)


def test_bitpos_random_ranges(diff):
    rnd = random.Random(99)
    palette = [0x00, 0xFF, 0x80, 0x01, 0x7F, 0xFE, 0x10]
    for _ in range(10):
        size = rnd.randrange(0, 24)
        value = bytes(rnd.choice(palette) if rnd.random() < 0.7 else rnd.randrange(256) for _ in range(size))
        diff("SET", "k", value)
        for bit in (0, 1):
            diff("BITPOS", "k", bit)
            for _ in range(25):
                unit = rnd.choice([(), ("BYTE",), ("BIT",)])
                scale = 8 if unit == ("BIT",) else 1
                start = rnd.randint(-size * scale - 2, size * scale + 2)
                end = rnd.randint(-size * scale - 2, size * scale + 2)
                diff("BITPOS", "k", bit, start, end, *unit)
                diff("BITPOS", "k", bit, start)


def test_bitpos_large_string(diff):
    size = 200_000
    value = bytearray(size)
    value[150_000] = 0x04
    diff("SET", "z", bytes(value))
    diff("BITPOS", "z", "1")
    diff("BITPOS", "z", "1", "150001")
    diff("BITPOS", "z", "1", "1200000", "-1", "BIT")
    diff("BITPOS", "z", "0", "0", "-1")
    ones = bytearray(b"\xff" * size)
    ones[70_000] = 0xFB
    diff("SET", "o", bytes(ones))
    diff("BITPOS", "o", "0")
    diff("BITPOS", "o", "0", "70001")
    diff("BITPOS", "o", "0", "70001", "-1")
    diff("BITPOS", "o", "0", "560006", "BIT")
    diff("BITPOS", "o", "0", "560005", "1599999", "BIT")


# -- BITOP ----------------------------------------------------------------------------------


BITOP = [
    ("SET", "a", "foobar"),
    ("SET", "b", "abcdef"),
    ("SET", "c", "xy"),
    ("BITOP", "AND", "d", "a", "b"),
    ("GET", "d"),
    ("BITOP", "OR", "d", "a", "b", "c"),
    ("GET", "d"),
    ("BITOP", "xor", "d", "a", "c"),
    ("GET", "d"),
    ("BITOP", "AND", "d", "a", "c"),
    ("GET", "d"),
    ("BITOP", "AND", "d", "a", "nokey"),
    ("GET", "d"),
    ("BITOP", "OR", "d", "nokey", "c"),
    ("GET", "d"),
    ("BITOP", "NOT", "d", "a"),
    ("GET", "d"),
    ("OBJECT", "ENCODING", "d"),
    ("BITOP", "NOT", "d", "d"),
    ("GET", "d"),
    ("BITOP", "And", "a", "a"),
    ("GET", "a"),
    ("BITOP", "OR", "d", "nokey", "nokey2"),
    ("EXISTS", "d"),
    ("BITOP", "OR", "d", "nokey"),
    ("SET", "empty", ""),
    ("SET", "d", "x"),
    ("BITOP", "XOR", "d", "empty"),
    ("EXISTS", "d"),
    ("SET", "i", "12345"),
    ("BITOP", "XOR", "d", "i", "a"),
    ("GET", "d"),
    ("OBJECT", "ENCODING", "d"),
    ("LPUSH", "list", "x"),
    ("BITOP", "OR", "list", "a"),
    ("TYPE", "list"),
    ("LPUSH", "list3", "x"),
    ("BITOP", "OR", "list3", "nokey"),
    ("EXISTS", "list3"),
    ("LPUSH", "list2", "x"),
    ("BITOP", "OR", "d", "a", "list2"),
    ("BITOP", "OR", "d", "nokey", "list2"),
    ("BITOP", "NOT", "d", "list2"),
    # errors
    ("BITOP", "NOT", "d", "a", "b"),
    ("BITOP", "NOT", "d", "list2", "b"),
    ("BITOP", "NAND", "d", "a"),
    ("BITOP", "DIFF", "d", "a", "b"),
    ("BITOP", "DIFF1", "d", "a", "b"),
    ("BITOP", "ANDOR", "d", "a", "b"),
    ("BITOP", "ONE", "d", "a", "b"),
    ("BITOP", "or\x00x", "d", "a", "b"),
    ("GET", "d"),
    ("BITOP", "AND", "d"),
    ("BITOP", "AND"),
]


def test_bitop(diff):
    both_protocols(diff, BITOP)


def test_bitop_dirty_ttl_and_random(diff):
    check_dirty(
        diff,
        ("SET", "a", "abc"),
        ("BITOP", "OR", "d", "a"),
        ("BITOP", "OR", "d", "nokey"),
        ("BITOP", "OR", "d", "nokey"),
        ("BITOP", "NOT", "d", "a"),
    )
    diff("SET", "d", "x", "EX", "1000")
    diff("BITOP", "OR", "d", "a")
    diff("TTL", "d")
    rnd = random.Random(5)
    for _ in range(40):
        keys = []
        for name in ("x", "y", "z"):
            if rnd.random() < 0.85:
                diff("SET", name, rnd.randbytes(rnd.randrange(0, 50)))
            else:
                diff("DEL", name)
            keys.append(name)
        op = rnd.choice(["AND", "OR", "XOR"])
        diff("BITOP", op, "dest", *keys[: rnd.randrange(1, 4)])
        diff("GET", "dest")
        diff("BITOP", "NOT", "dest", "x")
        diff("GET", "dest")


def test_bitop_large(diff):
    rnd = random.Random(11)
    a = rnd.randbytes(1 << 20)
    b = rnd.randbytes((1 << 20) - 12345)
    diff("SET", "a", a)
    diff("SET", "b", b)
    for op in ("AND", "OR", "XOR"):
        diff("BITOP", op, "d", "a", "b")
        diff("BITCOUNT", "d")
        diff("GETRANGE", "d", "1036000", "1036100")
    diff("BITOP", "NOT", "d", "b")
    diff("BITCOUNT", "d")


# -- BITFIELD -------------------------------------------------------------------------------


BITFIELD = [
    ("BITFIELD", "k", "SET", "i8", "0", "100"),
    ("BITFIELD", "k", "GET", "i8", "0", "GET", "u4", "0", "GET", "u4", "4", "GET", "i64", "0"),
    ("BITFIELD", "k", "SET", "u8", "#1", "255", "GET", "u8", "8", "GET", "i8", "#1", "GET", "u2", "7"),
    ("BITFIELD", "k", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "i8", "8", "-200"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "INCRBY", "u8", "0", "-300"),
    ("BITFIELD", "k", "overflow", "wrap", "incrby", "u8", "0", "300", "set", "i5", "3", "100"),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", I64_MIN, "GET", "i8", "0"),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0"),
    ("BITFIELD", "k", "OVERFLOW", "WRAP", "SET", "u8", "0", "-1", "GET", "u8", "0"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u8", "0", "-1", "GET", "u8", "0"),
    ("BITFIELD", "k", "SET", "i64", "0", "-1", "INCRBY", "i64", "0", I64_MIN),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "0", I64_MIN, "INCRBY", "i64", "0", I64_MAX),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "0", I64_MAX, "INCRBY", "i64", "0", "1"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", "-1"),
    ("BITFIELD", "k", "SET", "u63", "1", I64_MAX, "GET", "u63", "1", "INCRBY", "u63", "1", "1"),
    ("BITFIELD", "k", "SET", "i1", "0", "1", "GET", "i1", "0", "INCRBY", "i1", "0", "-1"),
    ("BITFIELD", "k", "SET", "u1", "0", "1", "GET", "u1", "0", "INCRBY", "u1", "0", "5"),
    ("BITFIELD", "k", "GET", "u8", "#2305843009213693953"),
    ("BITFIELD", "k", "GET", "i64", "1000000"),
    ("GET", "k"),
    ("BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u8", "100", "300"),
    ("STRLEN", "new"),
    ("BITFIELD", "new2", "GET", "u8", "0"),
    ("EXISTS", "new2"),
    ("BITFIELD", "k"),
    ("BITFIELD", "k", "OVERFLOW", "SAT"),
    ("BITFIELD", "nokey"),
    ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i3", "#3"),
    ("BITFIELD_RO", "nokey", "GET", "u8", "0"),
    ("BITFIELD_RO", "k"),
    ("SET", "i", "1234"),
    ("BITFIELD", "i", "GET", "u16", "0"),
    ("OBJECT", "ENCODING", "i"),
    ("BITFIELD", "i", "SET", "u16", "0", "0"),
    ("OBJECT", "ENCODING", "i"),
    # errors
    ("BITFIELD", "k", "GET", "u64", "0"),
    ("BITFIELD", "k", "GET", "i65", "0"),
    ("BITFIELD", "k", "GET", "u0", "0"),
    ("BITFIELD", "k", "GET", "I8", "0"),
    ("BITFIELD", "k", "GET", "8", "0"),
    ("BITFIELD", "k", "GET", "", "0"),
    ("BITFIELD", "k", "GET", "u", "0"),
    ("BITFIELD", "k", "GET", "u08", "0"),
    ("BITFIELD", "k", "GET", "u8\x00zz", "0"),
    ("BITFIELD", "k", "GET", "u-1", "0"),
    ("BITFIELD", "k", "GET", "u8", "-1"),
    ("BITFIELD", "k", "GET", "u8", "#-1"),
    ("BITFIELD", "k", "GET", "u8", "#"),
    ("BITFIELD", "k", "GET", "u8", "#x"),
    ("BITFIELD", "k", "GET", "u8", "x"),
    ("BITFIELD", "k", "GET", "u8", "4294967296"),
    ("BITFIELD", "k", "GET", "u8", "#536870912"),
    ("BITFIELD", "k", "GET", "u8", "#536870911"),
    ("BITFIELD", "k", "SET", "u8", "0", "x"),
    ("BITFIELD", "k", "SET", "u8", "0", "1.5"),
    ("BITFIELD", "k", "SET", "u8", "0"),
    ("BITFIELD", "k", "INCRBY", "u8", "0"),
    ("BITFIELD", "k", "GET", "u8"),
    ("BITFIELD", "k", "GET"),
    ("BITFIELD", "k", "FOO", "u8", "0"),
    ("BITFIELD", "k", "OVERFLOW"),
    ("BITFIELD", "k", "OVERFLOW", "FOO"),
    ("BITFIELD", "k", "OVERFLOW", "sat\x00x", "INCRBY", "u8", "0", "1000"),
    ("BITFIELD", "k", "get\x00x", "u8", "0"),
    ("BITFIELD", "k", "GET", "u8", "0", "SET", "u64", "0", "1"),
    ("BITFIELD", "k", "SET", "u8", "0", "1", "GET", "u64", "0"),
    ("BITFIELD_RO", "k", "SET", "u8", "0", "1"),
    ("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"),
    ("BITFIELD_RO", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
    ("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
    ("BITFIELD_RO", "k", "OVERFLOW", "FOO"),
    ("BITFIELD_RO", "k", "INCRBY", "u64", "0", "1"),
    ("LPUSH", "list", "a"),
    ("BITFIELD", "list", "GET", "u8", "0"),
    ("BITFIELD", "list", "SET", "u8", "0", "1"),
    ("BITFIELD", "list"),
    ("BITFIELD_RO", "list", "GET", "u8", "0"),
    ("BITFIELD_RO", "list", "SET", "u8", "0", "1"),
    ("BITFIELD", "list", "GET", "u64", "0"),
    ("BITFIELD",),
    ("BITFIELD_RO",),
]


def test_bitfield(diff):
    both_protocols(diff, BITFIELD)


def test_bitfield_dirty(diff):
    check_dirty(
        diff,
        ("BITFIELD", "k", "SET", "u8", "0", "1", "SET", "u8", "8", "0"),
        ("BITFIELD", "k", "SET", "u8", "0", "1", "SET", "u8", "8", "0", "INCRBY", "u4", "0", "1"),
        ("BITFIELD", "k", "SET", "u8", "100", "0", "SET", "u8", "0", "0"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "200", "1000"),
        ("BITFIELD", "k", "GET", "u8", "0"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"),
        ("EXISTS", "f"),
    )


def _random_type(rnd):
    if rnd.random() < 0.5:
        return f"i{rnd.randint(1, 64)}"
    return f"u{rnd.randint(1, 63)}"


def _random_number(rnd):
    return rnd.choice([
        str(rnd.randint(-300, 300)),
        str(rnd.randint(-(2**63), 2**63 - 1)),
        str(rnd.choice([2**63 - 1, -(2**63), 2**31, -(2**31), 255, 256, -129])),
    ])


def test_bitfield_random_sequences(diff):
    rnd = random.Random(2024)
    for round_ in range(60):
        args = []
        for _ in range(rnd.randint(1, 8)):
            choice = rnd.random()
            kind = _random_type(rnd)
            offset = str(rnd.randint(0, 120)) if rnd.random() < 0.8 else f"#{rnd.randint(0, 6)}"
            if choice < 0.15:
                args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
            elif choice < 0.4:
                args += ["GET", kind, offset]
            elif choice < 0.7:
                args += ["SET", kind, offset, _random_number(rnd)]
            else:
                args += ["INCRBY", kind, offset, _random_number(rnd)]
        diff("BITFIELD", "k", *args)
        if round_ % 5 == 0:
            diff("GET", "k")
            diff("BITFIELD_RO", "k", "GET", _random_type(rnd), rnd.randint(0, 130))
    diff("GET", "k")


def test_bitfield_resp3_nulls(diff):
    diff.resp3()
    run(
        diff,
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "GET", "u8", "0"),
        ("BITFIELD", "k", "SET", "i8", "0", "-5", "INCRBY", "i8", "0", "-200"),
        ("BITFIELD_RO", "k", "GET", "i8", "0"),
    )


# -- proto-max-bulk-len ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_bulk_diff():
    """A pyvalkey and an oracle started with proto-max-bulk-len at its 1mb minimum."""
    from conftest import Differ
    from resp import RawClient
    from servers import start_oracle, start_pyvalkey

    ours = start_pyvalkey("--proto-max-bulk-len", "1048576")
    theirs = start_oracle("--proto-max-bulk-len", "1048576")
    clients = [RawClient(ours.port), RawClient(theirs.port)]
    try:
        yield Differ(*clients)
    finally:
        for client in clients:
            client.close()
        ours.stop()
        theirs.stop()


def test_offsets_limited_by_proto_max_bulk_len(small_bulk_diff):
    run(
        small_bulk_diff,
        ("FLUSHALL",),
        ("SETBIT", "k", "8388608", "1"),
        ("GETBIT", "k", "8388608"),
        ("BITFIELD", "k", "GET", "u8", "8388608"),
        ("BITFIELD", "k", "SET", "u8", "#1048576", "1"),
        ("EXISTS", "k"),
        ("SETBIT", "k", "8388607", "1"),
        ("STRLEN", "k"),
        ("GETBIT", "k", "8388607"),
        ("BITFIELD", "k", "SET", "i64", "8388607", "-1"),
        ("STRLEN", "k"),
        ("BITCOUNT", "k"),
        ("BITPOS", "k", "1"),
        ("BITPOS", "k", "0", "1048570"),
    )


# -- in-process checks ----------------------------------------------------------------------


def _server():
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    events: list[tuple[bytes, bytes]] = []
    server.keyspace.notify_flags = (1 << 15) - 1
    server.keyspace.notify_listeners.append(lambda db, kind, event, key: events.append((event, key)))
    return server, client, events


def test_keyspace_events():
    server, client, events = _server()
    for args in (
        [b"SETBIT", b"a", b"3", b"1"],
        [b"SETBIT", b"a", b"3", b"1"],  # no change: no event
        [b"SETBIT", b"a", b"3", b"0"],
        [b"BITFIELD", b"a", b"SET", b"u8", b"0", b"0"],  # no change: no event
        [b"BITFIELD", b"a", b"SET", b"u8", b"0", b"7", b"INCRBY", b"u8", b"0", b"1"],
        [b"BITFIELD", b"a", b"OVERFLOW", b"FAIL", b"INCRBY", b"u8", b"0", b"1000"],
        [b"BITOP", b"OR", b"d", b"a"],
        [b"BITOP", b"OR", b"d", b"nokey"],
        [b"BITOP", b"OR", b"d", b"nokey"],
    ):
        server.execute(client, args)
    interesting = [e for e in events if e[0] not in (b"new", b"keymiss")]
    assert interesting == [
        (b"setbit", b"a"),
        (b"setbit", b"a"),
        (b"setbit", b"a"),
        (b"set", b"d"),
        (b"del", b"d"),
    ]


def test_setbit_mutates_in_place_and_unshares():
    server, client, _ = _server()
    server.execute(client, [b"SETBIT", b"k", b"100", b"1"])
    db = server.keyspace.dbs[0]
    assert type(db.data[b"k"]) is bytearray
    # Compare addresses without holding a reference (a held reference would force a copy). A
    # copy is made while the old buffer is alive, so it cannot reuse the old address.
    for args in ([b"SETBIT", b"k", b"5", b"1"], [b"BITFIELD", b"k", b"SET", b"u16", b"80", b"65535"]):
        before = id(db.data[b"k"])
        server.execute(client, args)
        assert id(db.data[b"k"]) == before  # no copy per write
    held = db.data[b"k"]  # another reference, like a queued reply: must not see the write
    snapshot = bytes(held)
    server.execute(client, [b"SETBIT", b"k", b"6", b"1"])
    assert bytes(held) == snapshot
    assert db.data[b"k"] is not held
    assert db.data[b"k"][0] == 0b00000110


def test_bit_search_and_popcount_helpers():
    from pyvalkey.commands.bitmaps import bit_search, popcount

    rnd = random.Random(1)
    for _ in range(200):
        data = bytes(rnd.choice([0, 255, rnd.randrange(256)]) for _ in range(rnd.randrange(1, 12)))
        bits = "".join(f"{byte:08b}" for byte in data)
        first = rnd.randrange(len(bits))
        last = rnd.randrange(first, len(bits))
        for bit in (0, 1):
            found = bits.find(str(bit), first, last + 1)
            assert bit_search(data, first, last, bit) == found
        assert popcount(data, first // 8, last // 8 + 1) == bits[first // 8 * 8 : (last // 8 + 1) * 8].count("1")
    big = bytes(200_000) + b"\x01" + bytes(10)
    assert bit_search(big, 0, len(big) * 8 - 1, 1) == 200_000 * 8 + 7
    assert popcount(big) == 1
    assert popcount(b"\xff" * 300_000, 1, 299_999) == 8 * 299_998


def test_queued_replies_keep_their_value(diff):
    """A value already read inside MULTI must not change when a later bit write mutates the key."""
    diff("SETBIT", "k", "100", "1")
    for cmd in (
        ("MULTI",),
        ("GET", "k"),
        ("SETBIT", "k", "0", "1"),
        ("GET", "k"),
        ("BITFIELD", "k", "SET", "u8", "8", "255"),
        ("GET", "k"),
        ("BITOP", "NOT", "k", "k"),
        ("GET", "k"),
        ("SETBIT", "k", "200", "1"),
        ("EXEC",),
    ):
        diff(*cmd)


def test_random_mixed_writes(diff):
    """Bit writes interleaved with APPEND/SETRANGE/SET on the same keys, read back every step."""
    rnd = random.Random(77)
    keys = ["a", "b", "c"]
    for _ in range(300):
        key = rnd.choice(keys)
        kind = rnd.randrange(7)
        if kind == 0:
            diff("SETBIT", key, rnd.randrange(200), rnd.randrange(2))
        elif kind == 1:
            diff("BITFIELD", key, "OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"]),
                 rnd.choice(["SET", "INCRBY"]), _random_type(rnd), rnd.randrange(150), _random_number(rnd))
        elif kind == 2:
            diff("APPEND", key, rnd.randbytes(rnd.randrange(5)))
        elif kind == 3:
            diff("SETRANGE", key, rnd.randrange(30), rnd.randbytes(rnd.randrange(1, 4)))
        elif kind == 4:
            diff("SET", key, rnd.choice(["", "1", "123", "abc", "x" * 50]))
        elif kind == 5:
            diff("BITOP", rnd.choice(["AND", "OR", "XOR"]), key, *rnd.sample(keys, rnd.randrange(1, 4)))
        else:
            diff("BITOP", "NOT", key, rnd.choice(keys))
        diff("GET", key)
        diff("BITCOUNT", key)
        diff("BITPOS", key, rnd.randrange(2))
