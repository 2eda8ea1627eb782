"""HyperLogLog: differential tests against the real Valkey (the stored bytes, counts, errors and
change counts must be identical), plus in-process checks of the encoder and its speed."""

from __future__ import annotations

import random
import time

import pytest

from pyvalkey.storage import hyperloglog as hll


def dirty(client) -> int:
    info = client("INFO", "persistence").decode()
    for line in info.split("\r\n"):
        if line.startswith("rdb_changes_since_last_save:"):
            return int(line.split(":", 1)[1])
    raise AssertionError(info)


def check_dirty(diff, *cmd):
    """One command's reply and its change to rdb_changes_since_last_save match the oracle."""
    before = (dirty(diff.ours), dirty(diff.theirs))
    reply = diff(*cmd)
    after = (dirty(diff.ours), dirty(diff.theirs))
    assert after[0] - before[0] == after[1] - before[1], f"{cmd!r}: dirty {before} -> {after}"
    return reply


def same_value(diff, key):
    diff("GET", key)
    diff("STRLEN", key)


@pytest.fixture
def max_bytes(diff):
    """Lets a test change hll-sparse-max-bytes on both servers; restores the default after."""

    def set_limit(value: int) -> None:
        diff("CONFIG", "SET", "hll-sparse-max-bytes", str(value))

    yield set_limit
    diff("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


# -- basics, both protocols --------------------------------------------------------------------


BASICS = [
    ("PFADD", "h", "a", "b", "c"),
    ("GET", "h"),
    ("PFADD", "h", "a"),
    ("PFADD", "h"),
    ("PFCOUNT", "h"),
    ("GET", "h"),
    ("PFCOUNT", "h"),
    ("PFDEBUG", "ENCODING", "h"),
    ("PFDEBUG", "DECODE", "h"),
    ("OBJECT", "ENCODING", "h"),
    ("TYPE", "h"),
    ("PFADD", "new"),
    ("GET", "new"),
    ("PFCOUNT", "new"),
    ("PFCOUNT", "missing"),
    ("PFCOUNT", "missing", "other"),
    ("PFCOUNT", "h", "missing", "new"),
    ("PFADD", "h", "", "x" * 100, "\x00\xff"),
    ("GET", "h"),
    ("PFMERGE", "m", "h", "new", "missing"),
    ("GET", "m"),
    ("PFCOUNT", "m"),
    ("PFMERGE", "h"),
    ("GET", "h"),
    ("PFMERGE", "fresh"),
    ("GET", "fresh"),
    ("PFDEBUG", "TODENSE", "m"),
    ("PFDEBUG", "TODENSE", "m"),
    ("PFDEBUG", "ENCODING", "m"),
    ("PFDEBUG", "DECODE", "m"),
    ("GET", "m"),
    ("PFCOUNT", "m"),
    ("PFDEBUG", "GETREG", "h"),
    ("PFDEBUG", "ENCODING", "h"),
    ("PFDEBUG", "GETREG", "h"),
    ("PFDEBUG", "getreg", "missing"),
    ("PFDEBUG", "nosuch", "missing"),
    ("PFDEBUG", "nosuch", "h"),
    ("PFDEBUG", "nosuch\r\nx", "h"),
    ("PFDEBUG", "SIMD", "on"),
    ("PFDEBUG", "SIMD", "off"),
    ("PFDEBUG", "SIMD", "ON"),
    ("PFDEBUG", "simd"),
    ("PFDEBUG", "decode", "h", "extra"),
    ("PFADD",),
    ("PFCOUNT",),
    ("PFMERGE",),
    ("PFSELFTEST", "x"),
    # wrong types
    ("LPUSH", "list", "a"),
    ("PFADD", "list", "a"),
    ("PFCOUNT", "list"),
    ("PFCOUNT", "h", "list"),
    ("PFMERGE", "h", "list"),
    ("PFMERGE", "list", "h"),
    ("PFDEBUG", "ENCODING", "list"),
    ("SET", "str", "hello world, not an HLL"),
    ("PFADD", "str", "a"),
    ("PFCOUNT", "str"),
    ("PFCOUNT", "h", "str"),
    ("PFMERGE", "h", "str"),
    ("PFDEBUG", "ENCODING", "str"),
    ("SET", "int", "12345"),
    ("PFADD", "int"),
    ("SET", "short", "HYLL"),
    ("PFADD", "short", "a"),
    ("SET", "emptyhll", "HYLL\x01" + "\x00" * 11),
    ("PFADD", "emptyhll", "a"),
    ("PFADD", "emptyhll"),
    ("PFCOUNT", "emptyhll"),
    ("PFDEBUG", "DECODE", "emptyhll"),
    ("GET", "emptyhll"),
]


@pytest.mark.parametrize("resp3", [False, True])
def test_basics(diff, resp3):
    if resp3:
        diff.resp3()
    for cmd in BASICS:
        diff(*cmd)


def test_simd_bad_argument_replies_twice(diff):
    mine, real = diff.raw(b"PFDEBUG SIMD maybe\r\n")
    assert mine == real == b"-ERR Argument must be ON or OFF\r\n"
    assert diff.ours.read_reply() == diff.theirs.read_reply()
    diff("PING")
    diff("PFDEBUG", "SIMD", "ON")


# -- the same sequences give the same bytes -------------------------------------------------


def _elements(rng: random.Random, count: int) -> list[str]:
    kinds = [
        lambda: str(rng.randrange(10**9)),
        lambda: f"e{rng.randrange(10**6)}",
        lambda: "".join(rng.choice("abcdefgh") for _ in range(rng.randrange(0, 30))),
    ]
    return [rng.choice(kinds)() for _ in range(count)]


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_same_bytes(diff, seed):
    rng = random.Random(seed)
    if seed % 2:
        diff.resp3()
    key = f"hll{seed}"
    total = rng.choice([40, 400, 2500, 6000, 20000])
    elements = _elements(rng, total)
    pos = 0
    while pos < len(elements):
        size = rng.choice([1, 3, 10, 100, 700]) if pos < 3000 else rng.choice([500, 3000])
        batch = elements[pos : pos + size]
        pos += size
        check_dirty(diff, "PFADD", key, *batch)
        if rng.random() < 0.5:
            check_dirty(diff, "PFCOUNT", key)
        if rng.random() < 0.3:
            diff("PFDEBUG", "ENCODING", key)
        same_value(diff, key)
    check_dirty(diff, "PFCOUNT", key)
    check_dirty(diff, "PFCOUNT", key)
    same_value(diff, key)


def test_promotion_boundary_step_by_step(diff):
    """Single-element PFADDs across the sparse -> dense switch at 3000 bytes."""
    rng = random.Random(99)
    elements = _elements(rng, 2600)
    for i in range(0, 1800, 300):
        diff("PFADD", "h", *elements[i : i + 300])
    for element in elements[1800:]:
        diff("PFADD", "h", element)
        if diff("STRLEN", "h") == b":12304\r\n":
            break
    else:
        raise AssertionError("never promoted")
    same_value(diff, "h")
    diff("PFCOUNT", "h")


@pytest.mark.parametrize("limit", [0, 18, 100, 500])
def test_sparse_max_bytes_config(diff, max_bytes, limit):
    max_bytes(limit)
    rng = random.Random(limit)
    elements = _elements(rng, 400)
    for i in range(0, 400, 7):
        diff("PFADD", "h", *elements[i : i + 7])
        diff("PFDEBUG", "ENCODING", "h")
        same_value(diff, "h")
    diff("PFCOUNT", "h")


def test_lower_limit_applies_to_existing_sparse_value(diff, max_bytes):
    elements = _elements(random.Random(5), 300)
    diff("PFADD", "h", *elements[:200])
    max_bytes(50)
    diff("PFADD", "h", *elements[200:200])  # nothing to add: stays sparse
    diff("PFDEBUG", "ENCODING", "h")
    for element in elements[200:]:
        diff("PFADD", "h", element)
    diff("PFDEBUG", "ENCODING", "h")
    same_value(diff, "h")


# -- values moved between servers ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 10, 1000, 20000])
def test_values_travel_both_ways(diff, size):
    rng = random.Random(size)
    elements = _elements(rng, size)
    theirs_key, ours_key = "from_oracle", "from_ours"
    for client, key in ((diff.theirs, theirs_key), (diff.ours, ours_key)):
        client("PFADD", key, *elements) if elements else client("PFADD", key)
    oracle_value = diff.theirs("GET", theirs_key)
    our_value = diff.ours("GET", ours_key)
    assert oracle_value == our_value
    payload = oracle_value.split(b"\r\n", 1)[1][:-2]
    # the oracle's bytes, stored into both with SET
    diff("SET", "moved", payload)
    diff("PFCOUNT", "moved")
    diff("PFCOUNT", "moved")
    diff("PFADD", "moved", *_elements(rng, 50))
    same_value(diff, "moved")
    diff("PFCOUNT", "moved", "moved")


# -- PFMERGE and PFCOUNT of several keys ---------------------------------------------------------


def test_merge_shapes(diff):
    rng = random.Random(7)
    small = [_elements(rng, n) for n in (5, 60, 200)]
    big = _elements(rng, 15000)
    for i, elements in enumerate(small):
        diff("PFADD", f"s{i}", *elements)
    diff("PFADD", "d", *big)
    # all sparse: result built register by register, stays sparse while it fits
    check_dirty(diff, "PFMERGE", "m1", "s0", "s1", "s2")
    same_value(diff, "m1")
    diff("PFDEBUG", "ENCODING", "m1")
    # destination is one of the sources
    check_dirty(diff, "PFMERGE", "s0", "s1")
    same_value(diff, "s0")
    # a dense source makes the result dense
    check_dirty(diff, "PFMERGE", "m2", "s2", "d")
    same_value(diff, "m2")
    check_dirty(diff, "PFMERGE", "s1", "d")
    same_value(diff, "s1")
    diff("PFCOUNT", "m2")
    diff("PFCOUNT", "s0", "s1", "s2", "d", "missing")
    diff("PFCOUNT", "s2", "s2")
    # many sparse sources whose union no longer fits the sparse form
    for i in range(6):
        diff("PFADD", f"p{i}", *_elements(rng, 500))
    check_dirty(diff, "PFMERGE", "big", *[f"p{i}" for i in range(6)])
    same_value(diff, "big")
    diff("PFDEBUG", "ENCODING", "big")
    diff("PFCOUNT", *[f"p{i}" for i in range(6)])


def test_merge_keeps_destination_header_and_ttl(diff):
    diff("PFADD", "dst", "a", "b")
    diff("PFCOUNT", "dst")
    diff("EXPIRE", "dst", "1000")
    diff("PFADD", "src", *_elements(random.Random(3), 5000))
    diff("PFMERGE", "dst", "src")
    same_value(diff, "dst")
    diff("TTL", "dst")


# -- cache and change counting -----------------------------------------------------------------


def test_count_cache_and_dirty(diff):
    check_dirty(diff, "PFADD", "h")
    check_dirty(diff, "PFADD", "h")
    check_dirty(diff, "PFADD", "h", "a", "b", "c", "a")
    check_dirty(diff, "PFCOUNT", "h")  # stale cache: written back
    same_value(diff, "h")
    check_dirty(diff, "PFCOUNT", "h")  # cached
    check_dirty(diff, "PFADD", "h", "a")
    check_dirty(diff, "PFCOUNT", "h")
    check_dirty(diff, "PFCOUNT", "h", "h")
    check_dirty(diff, "PFMERGE", "h")
    check_dirty(diff, "PFDEBUG", "TODENSE", "h")
    check_dirty(diff, "PFDEBUG", "TODENSE", "h")
    diff("PFADD", "g", "x")
    check_dirty(diff, "PFDEBUG", "GETREG", "g")
    check_dirty(diff, "PFDEBUG", "GETREG", "g")
    check_dirty(diff, "PFDEBUG", "DECODE", "g")
    # a value with a valid cached count in its header is trusted
    value = bytearray(diff.theirs("GET", "h").split(b"\r\n", 1)[1][:-2])
    value[8] = 77
    diff("SET", "forged", bytes(value))
    check_dirty(diff, "PFCOUNT", "forged")


def test_pfcount_write_is_seen_by_watch(diff):
    diff("PFADD", "h", "a")
    diff("WATCH", "h")
    diff("PFCOUNT", "h")
    diff("MULTI")
    diff("PING")
    diff("EXEC")


# -- corrupted values --------------------------------------------------------------------------


CORRUPTIONS = [
    ("magic", 0, b"0123"),
    ("encoding", 4, b"x"),
    ("dense_length", 4, b"\x00"),
]


@pytest.mark.parametrize("name,offset,data", CORRUPTIONS)
def test_broken_header(diff, name, offset, data):
    diff("PFADD", "h", "a", "b", "c")
    diff("SETRANGE", "h", str(offset), data)
    for cmd in (
        ("PFADD", "h", "d"),
        ("PFCOUNT", "h"),
        ("PFCOUNT", "h", "h"),
        ("PFMERGE", "x", "h"),
        ("PFDEBUG", "ENCODING", "h"),
    ):
        diff(*cmd)


def test_sparse_corruptions(diff):
    diff("PFADD", "h", "a", "b", "c")
    diff("APPEND", "h", "hello")  # registers past the 16384th
    for cmd in (
        ("PFCOUNT", "h"),
        ("PFCOUNT", "h", "x"),
        ("PFMERGE", "x", "h"),
        ("PFADD", "h", "d", "e", "f"),
        ("GET", "h"),
        ("PFDEBUG", "DECODE", "h"),
        ("PFDEBUG", "TODENSE", "h"),
        ("PFDEBUG", "GETREG", "h"),
    ):
        diff(*cmd)
    # too few registers covered
    header = "HYLL\x01" + "\x00" * 11
    diff("SET", "short", header + "\x7f\x00")
    for cmd in (
        ("PFCOUNT", "short"),
        ("PFADD", "short", "a", "b", "c", "d", "e"),
        ("GET", "short"),
        ("PFCOUNT", "short", "x"),
        ("PFMERGE", "short", "x"),
        ("PFDEBUG", "TODENSE", "short"),
    ):
        diff(*cmd)
    # an XZERO cut short at the end
    diff("SET", "cut", header + "\x7f")
    for cmd in (("PFCOUNT", "cut"), ("PFDEBUG", "DECODE", "cut"), ("PFCOUNT", "cut", "x")):
        diff(*cmd)
    # one register raised inside the cut XZERO: Valkey's rewrite loses the last byte
    diff("PFADD", "cut", "a")
    same_value(diff, "cut")
    diff("SET", "cut2", header + "\x80\x7f")
    diff("PFADD", "cut2", "c")
    same_value(diff, "cut2")


def test_sparse_fuzzing_detects_errors(diff):
    """Random byte corruption of sparse values: same replies and same bytes afterwards."""
    rng = random.Random(1234)
    for round_ in range(60):
        diff("DEL", "h")
        diff("PFADD", "h", *_elements(rng, rng.choice([5, 50, 300])))
        size = int(diff("STRLEN", "h")[1:-2])
        for _ in range(rng.randrange(1, 4)):
            offset = rng.randrange(16, size)
            diff("SETRANGE", "h", str(offset), bytes([rng.randrange(256)]))
        ops = [
            ("PFCOUNT", "h"),
            ("PFADD", "h", *_elements(rng, rng.choice([1, 20]))),
            ("PFCOUNT", "h", "h"),
            ("PFMERGE", f"m{round_}", "h"),
        ]
        rng.shuffle(ops)
        for cmd in ops:
            diff(*cmd)
        same_value(diff, "h")


def test_dense_values_with_any_register_bytes(diff):
    """Every 6-bit register value (even ones no hash can produce) counts and merges alike."""
    rng = random.Random(8)
    for _ in range(4):
        regs = bytes(rng.getrandbits(8) for _ in range(12288))
        value = b"HYLL\x00\x00\x00\x00" + b"\x00" * 7 + b"\x80" + regs
        diff("SET", "d", value)
        diff("PFCOUNT", "d")
        diff("PFCOUNT", "d", "nothing")
        diff("PFADD", "s", "a")
        diff("PFMERGE", "s", "d")
        same_value(diff, "s")
        diff("DEL", "s")
    # all registers at the top: sigma/tau edge cases
    diff("SET", "full", b"HYLL\x00" + b"\x00" * 10 + b"\x80" + b"\xff" * 12288)
    diff("PFCOUNT", "full")
    diff("SET", "zero", b"HYLL\x00" + b"\x00" * 10 + b"\x80" + b"\x00" * 12288)
    diff("PFCOUNT", "zero")


# -- notifications ------------------------------------------------------------------------------


def test_keyspace_notifications(diff, pyvalkey_server, oracle_server):
    from resp import RawClient

    diff("CONFIG", "SET", "notify-keyspace-events", "KEA")
    subs = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        for sub in subs:
            sub("PSUBSCRIBE", "__key*__:*")
            sub.send(b"SUBSCRIBE marker\r\n")
            sub.read_reply()
        for cmd in (
            ("PFADD", "h", "a"),
            ("PFADD", "h", "a"),
            ("PFCOUNT", "h"),
            ("PFMERGE", "h", "h"),
            ("PFMERGE", "new", "h"),
            ("PFDEBUG", "TODENSE", "h"),
        ):
            diff(*cmd)
        diff("PUBLISH", "marker", "end")
        received = []
        for sub in subs:
            messages = []
            while True:
                reply = sub.read_reply()
                messages.append(reply)
                if b"marker" in reply:
                    break
            received.append(messages)
        assert received[0] == received[1]
        assert any(b"pfadd" in m for m in received[0])
    finally:
        for sub in subs:
            sub.close()
        diff("CONFIG", "SET", "notify-keyspace-events", "")


# -- in-process ---------------------------------------------------------------------------------


def test_murmurhash_known_values():
    # register and run as the real Valkey reports them (PFDEBUG DECODE after PFADD)
    assert hll.pattern(b"a") == (12711, 2)
    assert hll.pattern(b"c") == (8436, 1)
    assert hll.pattern(b"b") == (15780, 1)
    for size in range(80):
        data = bytes(range(size))
        assert 0 <= hll.murmurhash64a(data) < 2**64


def test_dense_pack_roundtrip():
    rng = random.Random(1)
    raw = bytes(rng.getrandbits(6) for _ in range(hll.REGISTERS))
    dense = bytearray(hll.DENSE_SIZE)
    dense[:5] = b"HYLL\x00"
    dense[hll.HEADER_SIZE :] = hll.raw_to_dense(raw)
    assert hll.get_registers(dense) == list(raw)


def test_sparse_promotes_for_big_register_value():
    buf = hll.new_sparse()
    raised, ok = hll.add_pairs(buf, [(5, 3), (9000, 40), (10, 2)], 3000)
    assert (raised, ok) == (3, True)
    assert buf[4] == hll.DENSE
    regs = hll.get_registers(buf)
    assert (regs[5], regs[9000], regs[10]) == (3, 40, 2)
    assert sum(1 for v in regs if v) == 3


def test_pfadd_speed():
    elements = [b"speed:%d" % i for i in range(10000)]
    buf = hll.new_sparse()
    start = time.perf_counter()
    hll.add_elements(buf, elements, 3000)
    hll.count(buf)
    assert time.perf_counter() - start < 0.5


def test_selftest(r):
    assert r("PFSELFTEST") == b"+OK\r\n"


def _stat(client, name: str) -> int:
    for line in client("INFO", "stats").decode().split("\r\n"):
        if line.startswith(name + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError(name)


def test_keyspace_hits_and_misses(diff):
    diff("PFADD", "a", "x")
    diff("PFADD", "b", "y")
    for cmd in (
        ("PFADD", "a", "z"),
        ("PFADD", "fresh", "z"),
        ("PFCOUNT", "a"),
        ("PFCOUNT", "nokey"),
        ("PFCOUNT", "a", "b", "nokey"),
        ("PFMERGE", "dest", "a", "nokey"),
        ("PFMERGE", "a", "b"),
        ("PFDEBUG", "ENCODING", "a"),
        ("PFDEBUG", "ENCODING", "nokey"),
    ):
        before = [(_stat(c, "keyspace_hits"), _stat(c, "keyspace_misses")) for c in (diff.ours, diff.theirs)]
        diff(*cmd)
        after = [(_stat(c, "keyspace_hits"), _stat(c, "keyspace_misses")) for c in (diff.ours, diff.theirs)]
        ours = (after[0][0] - before[0][0], after[0][1] - before[0][1])
        theirs = (after[1][0] - before[1][0], after[1][1] - before[1][1])
        assert ours == theirs, f"{cmd!r}: hits/misses {ours} != {theirs}"


def test_object_encoding_of_values_set_by_client(diff):
    diff("PFADD", "src", "a", "b")
    value = diff.theirs("GET", "src").split(b"\r\n", 1)[1][:-2]
    for cmd in ("PFCOUNT", "PFADD", "PFDEBUG"):
        diff("SET", "k", value)
        diff("OBJECT", "ENCODING", "k")
        if cmd == "PFDEBUG":
            diff("PFDEBUG", "ENCODING", "k")
        else:
            diff(cmd, "k")
        diff("OBJECT", "ENCODING", "k")


# -- large PFADDs on sparse values (the bulk path) ------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_bulk_pfadd_on_sparse_values(diff, max_bytes, seed):
    """Batches of 64+ elements on sparse values, around and far past the conversion point,
    also with a value already larger than a lowered limit: the same bytes and change counts."""
    rng = random.Random(1000 + seed)
    limit = [300, 1200, 3000, 6000][seed]
    max_bytes(limit)
    for round_ in range(3):
        key = f"h{round_}"
        if round_ == 2:
            max_bytes(100000)
            check_dirty(diff, "PFADD", key, *_elements(rng, 900))
            max_bytes(limit // 2)  # the value is now larger than the limit
        for size in (rng.choice([64, 300, 900]), rng.choice([64, 1500, 2800]), 3000):
            batch = _elements(rng, size)
            batch += batch[: rng.randrange(0, 40)]  # repeated elements count once
            check_dirty(diff, "PFADD", key, *batch)
            diff("PFDEBUG", "ENCODING", key)
            same_value(diff, key)
        diff("PFCOUNT", key)


def test_bulk_pfadd_matches_step_by_step_updates():
    """In process: the shortcut for large batches leaves the same bytes and counts as
    replaying Valkey's sparse updates one element at a time."""
    rng = random.Random(7)
    for _ in range(15):
        limit = rng.choice([100, 500, 1000, 3000, 5000, 20000])
        before = [b"%r" % rng.random() for _ in range(rng.randrange(0, 500))]
        batch = [b"%r" % rng.random() for _ in range(rng.randrange(64, 3000))]
        step = hll.new_sparse()
        hll.add_elements(step, iter(before), 100000)
        bulk = bytearray(step)
        expected = hll._sparse_add(step, iter(batch), False, limit)
        assert hll.add_elements(bulk, batch, limit) == expected
        assert bulk == step
