"""Differential tests of the string command group against the real Valkey."""

from __future__ import annotations

import time

import pytest


def run(diff, *commands):
    for cmd in commands:
        diff(*cmd)


BIG_INT = "9223372036854775807"
SMALL_INT = "-9223372036854775808"


# -- GET / SET ------------------------------------------------------------------------------


def test_get_set_basic(diff):
    run(
        diff,
        ("GET", "k"),
        ("SET", "k", "v"),
        ("GET", "k"),
        ("SET", "k", ""),
        ("GET", "k"),
        ("SET", "k", b"\x00\xff\r\n"),
        ("GET", "k"),
        ("SET", "k"),
        ("GET", "k", "x"),
    )


@pytest.mark.parametrize(
    "options",
    [
        ["NX"],
        ["XX"],
        ["nx", "nx"],
        ["NX", "XX"],
        ["XX", "NX"],
        ["GET"],
        ["GET", "GET"],
        ["NX", "GET"],
        ["XX", "GET"],
        ["KEEPTTL"],
        ["KEEPTTL", "KEEPTTL"],
        ["KEEPTTL", "EX", "10"],
        ["EX", "10", "KEEPTTL"],
        ["EX", "10"],
        ["ex", "10", "ex", "20"],
        ["EX", "10", "PX", "10"],
        ["PX", "10", "EX", "10"],
        ["EX", "10", "EXAT", "10"],
        ["PXAT", "10", "EXAT", "10"],
        ["EXAT", "99999999999"],
        ["PXAT", "99999999999999"],
        ["EX"],
        ["PX"],
        ["EXAT"],
        ["PXAT"],
        ["EX", "abc"],
        ["EX", "1.5"],
        ["EX", "0"],
        ["EX", "-1"],
        ["PX", "0"],
        ["PXAT", "-5"],
        ["EX", "9223372036854775"],
        ["EX", "9223372036854776"],
        ["EXAT", "9223372036854775"],
        ["PX", BIG_INT],
        ["PXAT", BIG_INT],
        ["EX", "99999999999999999999"],
        ["PERSIST"],
        ["FOO"],
        ["IFEQ"],
        ["IFEQ", "v", "NX"],
        ["NX", "IFEQ", "v"],
        ["XX", "IFEQ", "v"],
        ["IFEQ", "v", "XX"],
        ["IFEQ", "a", "IFEQ", "b"],
        ["IFEQ", "old"],
        ["IFEQ", "other"],
        ["IFEQ", "old", "GET"],
        ["GET", "IFEQ", "other"],
        ["IFEQ", "old", "EX", "100"],
        ["IFEQ", "old", "KEEPTTL"],
        ["PXAT", "1"],
        ["EXAT", "1", "GET"],
        ["PXAT", "1", "NX"],
        ["EX", "0", "GET"],
    ],
)
@pytest.mark.parametrize("exists", [False, True])
def test_set_options(diff, options, exists):
    if exists:
        diff("SET", "k", "old")
    diff("SET", "k", "new", *options)
    diff("GET", "k")
    diff("DBSIZE")


def test_set_ifeq_int_and_binary_values(diff):
    run(
        diff,
        ("SET", "k", "123"),
        ("SET", "k", "x", "IFEQ", "0123"),
        ("SET", "k", "x", "IFEQ", "123"),
        ("GET", "k"),
        ("SET", "k", b"a\x00b"),
        ("SET", "k", "y", "IFEQ", "a"),
        ("SET", "k", "y", "IFEQ", b"a\x00b", "GET"),
        ("GET", "k"),
    )


def test_set_expiry_takes_effect(diff):
    run(
        diff,
        ("SET", "a", "1", "PX", "60"),
        ("SET", "b", "1", "PX", "60"),
        ("SET", "b", "2", "KEEPTTL"),
        ("SET", "c", "1", "PX", "60"),
        ("SET", "c", "2"),
        ("SET", "d", "1", "PX", "60"),
        ("GETSET", "d", "2"),
        ("SET", "e", "1", "PX", "60"),
        ("INCR", "e"),
        ("APPEND", "e", "0"),
        ("SETRANGE", "e", "0", "5"),
        ("SET", "f", "1", "PXAT", str(int(time.time() * 1000) + 60)),
        ("SETEX", "g", "1", "x"),
        ("PSETEX", "h", "60", "x"),
        ("SET", "i", "1", "PX", "60"),
        ("GETEX", "i", "PERSIST"),
        ("SET", "j", "1"),
        ("GETEX", "j", "PX", "60"),
        ("MGET", "a", "b", "c", "d", "e", "f", "h", "i", "j"),
    )
    time.sleep(0.15)
    run(diff, ("MGET", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), ("DBSIZE",))


# -- SETNX / SETEX / PSETEX -----------------------------------------------------------------


def test_setnx_setex_psetex(diff):
    run(
        diff,
        ("SETNX", "k", "1"),
        ("SETNX", "k", "2"),
        ("GET", "k"),
        ("SETEX", "s", "100", "v"),
        ("GET", "s"),
        ("SETEX", "s", "0", "v"),
        ("SETEX", "s", "-1", "v"),
        ("SETEX", "s", "x", "v"),
        ("SETEX", "s", "9223372036854775", "v"),
        ("PSETEX", "p", "100000", "v"),
        ("GET", "p"),
        ("PSETEX", "p", "0", "v"),
        ("PSETEX", "p", BIG_INT, "v"),
        ("PSETEX", "p", "1.5", "v"),
        ("SETEX", "s", "100"),
        ("SETNX", "k"),
    )


# -- GETEX / GETDEL / GETSET ----------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["PERSIST"],
        ["persist", "PERSIST"],
        ["EX", "100"],
        ["PX", "100000"],
        ["EXAT", "99999999999"],
        ["PXAT", "99999999999999"],
        ["EXAT", "1"],
        ["PXAT", "1"],
        ["EX", "0"],
        ["EX", "-1"],
        ["EX", "abc"],
        ["EX"],
        ["EX", "100", "PERSIST"],
        ["PERSIST", "EX", "100"],
        ["EX", "100", "EX", "200"],
        ["EX", "100", "PX", "100"],
        ["KEEPTTL"],
        ["NX"],
        ["GET"],
        ["IFEQ", "v"],
        ["EX", "9223372036854776"],
        ["FOO"],
    ],
)
@pytest.mark.parametrize("exists", [False, True])
def test_getex(diff, options, exists):
    if exists:
        diff("SET", "k", "v", "EX", "1000")
    diff("GETEX", "k", *options)
    diff("GET", "k")
    diff("DBSIZE")


def test_getex_resp3(diff):
    diff.resp3()
    run(
        diff,
        ("GETEX", "nokey"),
        ("GETEX", "nokey", "PERSIST"),
        ("SET", "k", "v"),
        ("GETEX", "k", "PX", "1000"),
        ("GETDEL", "nokey"),
        ("GETSET", "nokey", "1"),
        ("GET", "missing"),
        ("SET", "k", "v", "NX"),
        ("SET", "k2", "v", "XX", "GET"),
        ("MGET", "k", "nokey", "missing"),
    )


def test_getdel_getset(diff):
    run(
        diff,
        ("GETDEL", "k"),
        ("SET", "k", "v"),
        ("GETDEL", "k"),
        ("GET", "k"),
        ("GETDEL", "k"),
        ("GETSET", "k", "1"),
        ("GETSET", "k", "2"),
        ("GET", "k"),
        ("GETSET", "k"),
        ("GETDEL", "k", "x"),
        ("DBSIZE",),
    )


# -- DELIFEQ --------------------------------------------------------------------------------


def test_delifeq(diff):
    run(
        diff,
        ("DELIFEQ", "k", "v"),
        ("SET", "k", "v"),
        ("DELIFEQ", "k", "x"),
        ("DELIFEQ", "k", "V"),
        ("GET", "k"),
        ("DELIFEQ", "k", "v"),
        ("GET", "k"),
        ("SET", "n", "42"),
        ("DELIFEQ", "n", "042"),
        ("DELIFEQ", "n", "42"),
        ("SET", "r", "ab"),
        ("APPEND", "r", "c"),
        ("DELIFEQ", "r", "abc"),
        ("DBSIZE",),
        ("DELIFEQ", "k"),
        ("DELIFEQ", "k", "v", "x"),
    )


# -- MGET / MSET / MSETNX -------------------------------------------------------------------


def test_mget_mset_msetnx(diff):
    run(
        diff,
        ("MGET", "a", "b", "c"),
        ("MSET", "a", "1", "b", "2"),
        ("MGET", "a", "b", "c", "a"),
        ("MSET", "a"),
        ("MSET", "a", "1", "b"),
        ("MSET",),
        ("MSET", "x", "1", "x", "2"),
        ("GET", "x"),
        ("MSETNX", "a", "9", "c", "3"),
        ("MGET", "a", "c"),
        ("MSETNX", "c", "3", "d", "4"),
        ("MGET", "c", "d"),
        ("MSETNX", "e", "1", "e", "2"),
        ("GET", "e"),
        ("MSETNX", "f"),
        ("MSETNX", "f", "1", "g"),
        ("MGET",),
        ("DBSIZE",),
    )


# -- APPEND / STRLEN / GETRANGE / SETRANGE --------------------------------------------------


def test_append_strlen(diff):
    run(
        diff,
        ("STRLEN", "k"),
        ("APPEND", "k", "hello"),
        ("APPEND", "k", " world"),
        ("APPEND", "k", ""),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("APPEND", "e", ""),
        ("GET", "e"),
        ("STRLEN", "e"),
        ("SET", "n", "12"),
        ("APPEND", "n", "34"),
        ("INCR", "n"),
        ("GET", "n"),
        ("APPEND", "n", "x"),
        ("INCR", "n"),
        ("STRLEN", "n"),
        ("STRLEN", "k", "x"),
        ("APPEND", "k"),
    )


def test_append_many_times_stays_correct(diff):
    for i in range(50):
        diff("APPEND", "k", str(i))
    diff("GET", "k")
    diff("STRLEN", "k")


@pytest.mark.parametrize(
    "start,end",
    [
        ("0", "-1"),
        ("0", "0"),
        ("1", "3"),
        ("-3", "-1"),
        ("-1", "-3"),
        ("-100", "-200"),
        ("-100", "100"),
        ("5", "2"),
        ("100", "200"),
        ("0", BIG_INT),
        (SMALL_INT, BIG_INT),
        ("-1", "-1"),
        ("a", "1"),
        ("1", "b"),
        ("1.5", "2"),
    ],
)
def test_getrange_substr(diff, start, end):
    run(
        diff,
        ("GETRANGE", "missing", start, end),
        ("SET", "s", "Hello, World"),
        ("GETRANGE", "s", start, end),
        ("SUBSTR", "s", start, end),
        ("SET", "n", "1234567"),
        ("GETRANGE", "n", start, end),
        ("SET", "e", ""),
        ("GETRANGE", "e", start, end),
    )


def test_getrange_arity(diff):
    run(diff, ("GETRANGE", "k", "0"), ("SUBSTR", "k", "0", "1", "2"))


def test_setrange(diff):
    run(
        diff,
        ("SETRANGE", "k", "0", ""),
        ("SETRANGE", "k", "5", ""),
        ("DBSIZE",),
        ("SETRANGE", "k", "5", "abc"),
        ("GET", "k"),
        ("SETRANGE", "k", "0", "XY"),
        ("GET", "k"),
        ("SETRANGE", "k", "7", "12345"),
        ("GET", "k"),
        ("SETRANGE", "k", "3", ""),
        ("SET", "s", "hello"),
        ("SETRANGE", "s", "1", "ipp"),
        ("GET", "s"),
        ("SET", "n", "12345"),
        ("SETRANGE", "n", "0", "9"),
        ("INCR", "n"),
        ("GET", "n"),
        ("SETRANGE", "k", "-1", "x"),
        ("SETRANGE", "k", "abc", "x"),
        ("SETRANGE", "k", "1.5", "x"),
        ("SETRANGE", "k", "536870912", "x"),
        ("SETRANGE", "k", "536870911", "xy"),
        ("SETRANGE", "nokey", "536870912", "x"),
        ("SETRANGE", "nokey", "536870912", ""),
        ("SETRANGE", "k", BIG_INT, "x"),
        ("SETRANGE", "k", "99999999999999999999", "x"),
        ("SETRANGE", "k", "-1", ""),
        ("GET", "k"),
        ("SETRANGE", "k", "1"),
    )


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


def test_append_and_setrange_too_long(small_bulk_diff):
    big = "x" * 700000
    run(
        small_bulk_diff,
        ("SET", "k", big),
        ("APPEND", "k", big),
        ("STRLEN", "k"),
        ("SETRANGE", "k", "700000", big),
        ("SETRANGE", "k", "348576", big),
        ("SETRANGE", "k", "348577", big),
        ("STRLEN", "k"),
        ("SETRANGE", "new", "1048575", "x"),
        ("SETRANGE", "new2", "1048576", "x"),
        ("STRLEN", "new"),
        ("SET", "a", "x" * 300),
        ("SET", "b", "y" * 1000),
        ("LCS", "a", "b", "LEN"),
        ("SET", "b", "y" * 300),
        ("LCS", "a", "b", "LEN"),
    )


# -- counters -------------------------------------------------------------------------------


def test_incr_decr(diff):
    run(
        diff,
        ("INCR", "k"),
        ("INCR", "k"),
        ("DECR", "k"),
        ("DECR", "k"),
        ("DECR", "k"),
        ("INCRBY", "k", "100"),
        ("INCRBY", "k", "-50"),
        ("DECRBY", "k", "10"),
        ("DECRBY", "k", "-10"),
        ("GET", "k"),
        ("INCRBY", "k", "x"),
        ("INCRBY", "k", "1.5"),
        ("INCRBY", "k", " 1"),
        ("INCRBY", "k", "+1"),
        ("INCRBY", "k", "01"),
        ("INCRBY", "k", "99999999999999999999"),
        ("DECRBY", "k", SMALL_INT),
        ("DECRBY", "k", BIG_INT),
        ("SET", "m", BIG_INT),
        ("INCR", "m"),
        ("INCRBY", "m", "0"),
        ("DECRBY", "m", "-1"),
        ("SET", "m", SMALL_INT),
        ("DECR", "m"),
        ("INCRBY", "m", SMALL_INT),
        ("INCR", "m"),
        ("SET", "s", "abc"),
        ("INCR", "s"),
        ("SET", "s", " 1"),
        ("INCR", "s"),
        ("SET", "s", "1 "),
        ("INCR", "s"),
        ("SET", "s", "-0"),
        ("INCR", "s"),
        ("SET", "s", "007"),
        ("DECR", "s"),
        ("SET", "s", ""),
        ("INCR", "s"),
        ("SET", "s", "12345678901234567890"),
        ("INCR", "s"),
        ("SET", "s", "-1"),
        ("INCR", "s"),
        ("INCR", "s"),
        ("GET", "s"),
        ("INCR",),
        ("INCRBY", "k"),
        ("DECRBY", "k", "1", "2"),
    )


@pytest.mark.parametrize(
    "start,incr",
    [
        ("10.5", "0.1"),
        ("10.5", "3.0e3"),
        ("10.5", "1.5e300"),
        ("10.5", "1e400"),
        ("10.5", "1e4932"),
        ("10.5", "1e4933"),
        ("10.5", "-5"),
        ("10.5", "-10.5"),
        ("10.5", "0x10"),
        ("10.5", "0x1p-2"),
        ("10.5", "0X1.8P1"),
        ("10.5", "0x"),
        ("10.5", " 1"),
        ("10.5", "1 "),
        ("10.5", "inf"),
        ("10.5", "-Infinity"),
        ("10.5", "nan"),
        ("10.5", "1e-5000"),
        ("10.5", "1e-4940"),
        ("10.5", ".5"),
        ("10.5", "5."),
        ("10.5", "."),
        ("10.5", "+1"),
        ("10.5", "-0"),
        ("10.5", "1e"),
        ("10.5", "1e+"),
        ("10.5", "abc"),
        ("10.5", ""),
        ("0", "1e-20"),
        ("1", "1e-17"),
        ("3", "0.1"),
        ("1e300", "0"),
        ("inf", "0"),
        ("inf", "x"),
        ("-1e-20", "0"),
        ("-0", "-0"),
        ("5", "-5"),
        ("0x1p3", "1"),
        ("1.1", "2.2"),
        ("0.1", "0.2"),
        ("-3.7", "1.2"),
        ("123456789012345678", "0.5"),
        ("1e-10", "1e-10"),
        ("0.000000000000000005", "0"),
        ("0.000000000000000015", "0"),
        ("3.814697265625e-06", "0"),
        ("1e19", "1"),
        ("18446744073709551615", "1"),
        ("1.7976931348623157e308", "1.7976931348623157e308"),
        ("abc", "1"),
        (" 1", "1"),
    ],
)
def test_incrbyfloat(diff, start, incr):
    diff("SET", "f", start)
    diff("INCRBYFLOAT", "f", incr)
    diff("GET", "f")
    diff("INCRBYFLOAT", "f", "1.25")


def test_incrbyfloat_missing_key_and_chain(diff):
    run(
        diff,
        ("INCRBYFLOAT", "f", "-0"),
        ("INCRBYFLOAT", "g", "2.5"),
        ("INCRBYFLOAT", "g", "2.5"),
        ("INCRBYFLOAT", "g", "-5"),
        ("GET", "g"),
        ("APPEND", "g", ".5"),
        ("INCRBYFLOAT", "g", "0.25"),
        ("INCRBYFLOAT", "g"),
    )
    for _ in range(20):
        diff("INCRBYFLOAT", "h", "0.1")


def test_incrbyfloat_too_long_value(diff):
    run(
        diff,
        ("SET", "f", "0." + "0" * 5200 + "1"),
        ("INCRBYFLOAT", "f", "1"),
        ("SET", "f", "1"),
        ("INCRBYFLOAT", "f", "0." + "0" * 5117 + "1"),
        ("INCRBYFLOAT", "f", "0." + "0" * 5116 + "1"),
    )


# -- LCS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["LEN"],
        ["len"],
        ["IDX"],
        ["IDX", "WITHMATCHLEN"],
        ["IDX", "MINMATCHLEN", "4"],
        ["IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        ["IDX", "MINMATCHLEN", "-5"],
        ["MINMATCHLEN", "2"],
        ["WITHMATCHLEN"],
        ["LEN", "IDX"],
        ["LEN", "WITHMATCHLEN"],
        ["MINMATCHLEN"],
        ["MINMATCHLEN", "x"],
        ["MINMATCHLEN", "x", "LEN", "IDX"],
        ["FOO"],
        ["IDX", "FOO"],
    ],
)
@pytest.mark.parametrize(
    "a,b",
    [
        ("ohmytext", "mynewtext"),
        ("", ""),
        ("abc", ""),
        ("abcdef", "abcdef"),
        ("abc", "xyz"),
        ("ACCGGTCGAGTGCGCGGAAGCCGGCCGAA", "GTCGTTCGGAATGCCGTTGCTCTGTAAA"),
        ("123", "1234"),
        ("aaaa", "aa"),
        ("abxcd", "abycd"),
    ],
)
def test_lcs(diff, a, b, options):
    if a:
        diff("SET", "a", a)
    if b:
        diff("SET", "b", b)
    diff("LCS", "a", "b", *options)
    diff.resp3()
    diff("LCS", "a", "b", *options)


def test_lcs_appended_values_and_arity(diff):
    run(
        diff,
        ("SET", "a", "hello"),
        ("APPEND", "a", "world"),
        ("SETRANGE", "b", "2", "lowo"),
        ("LCS", "a", "b"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
        ("LCS", "a"),
    )


# -- general --------------------------------------------------------------------------------


def test_wrong_arity(diff):
    run(
        diff,
        ("GET",),
        ("SETNX", "k"),
        ("SETEX", "k", "1"),
        ("PSETEX", "k", "1"),
        ("GETEX",),
        ("GETDEL",),
        ("GETSET", "k"),
        ("STRLEN",),
        ("APPEND", "k"),
        ("INCR", "k", "1"),
        ("DECR",),
        ("INCRBYFLOAT", "k"),
        ("SETRANGE", "k", "0"),
        ("LCS",),
        ("DELIFEQ",),
    )


def test_resp3_replies(diff):
    diff.resp3()
    run(
        diff,
        ("SET", "k", "v"),
        ("SET", "k", "v", "GET"),
        ("SETNX", "k", "v"),
        ("INCRBYFLOAT", "f", "1.5"),
        ("INCR", "i"),
        ("STRLEN", "k"),
        ("GETRANGE", "k", "0", "-1"),
        ("GETRANGE", "nokey", "0", "-1"),
        ("SET", "k", "v", "IFEQ", "x"),
        ("DELIFEQ", "k", "v"),
        ("MSETNX", "a", "1"),
    )


# -- randomized checks ----------------------------------------------------------------------


def _random_number(rnd):
    kind = rnd.random()
    if kind < 0.3:
        return str(rnd.uniform(-1e6, 1e6))
    if kind < 0.5:
        return f"{rnd.randint(-999, 999)}e{rnd.randint(-30, 30)}"
    if kind < 0.7:
        return repr(rnd.random() * 10 ** rnd.randint(-25, 25))
    if kind < 0.8:
        return str(rnd.randint(-(10**19), 10**19))
    if kind < 0.9:
        return "0." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 30)))
    return f"{rnd.uniform(-10, 10):.3f}e{rnd.randint(-4950, 4940)}"


def test_incrbyfloat_random_against_oracle(diff):
    import random

    rnd = random.Random(1234)
    for _ in range(300):
        diff("SET", "f", _random_number(rnd))
        diff("INCRBYFLOAT", "f", _random_number(rnd))


def test_string_encoding_matches_object_encoding(diff):
    """string_encoding (used by OBJECT ENCODING) against the oracle's answer, including
    Valkey 9's key-length-dependent embstr limit."""
    import random

    from pyvalkey.commands.strings import string_encoding

    rnd = random.Random(99)
    oracle = diff.theirs
    for i in range(200):
        klen = rnd.choice([1, 5, 20, 31, 32, 33, 60, 100, 127, 200, 300])
        key = (b"k%d-" % i).ljust(klen, b"x")
        vlen = rnd.randint(0, 130)
        value = rnd.choice(
            [b"a" * vlen, str(rnd.randint(-(10**19), 10**19)).encode(), b"0" + b"1" * (vlen % 20)]
        )
        oracle("SET", key, value)
        expected = string_encoding(value, key)
        assert oracle("OBJECT", "ENCODING", key) == b"$%d\r\n%s\r\n" % (len(expected), expected)
    oracle("APPEND", "k", "x")
    oracle("APPEND", "k", "y")
    assert oracle("OBJECT", "ENCODING", "k") == b"$3\r\nraw\r\n"
    assert string_encoding(bytearray(b"xy"), b"k") == b"raw"


def test_lcs_random_against_oracle(diff):
    import random

    rnd = random.Random(5)
    for i in range(120):
        alphabet = ("ab", "abcd", "abcdefghij")[i % 3]
        a = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        b = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        diff("SET", "a", a)
        diff("SET", "b", b)
        diff("LCS", "a", "b")
        diff("LCS", "a", "b", "IDX", "WITHMATCHLEN")
        diff("LCS", "a", "b", "IDX", "MINMATCHLEN", "2")


def test_lcs_large(diff):
    import random

    rnd = random.Random(6)
    diff("SET", "a", "".join(rnd.choice("acgt") for _ in range(2000)))
    diff("SET", "b", "".join(rnd.choice("acgt") for _ in range(2000)))
    diff("LCS", "a", "b", "LEN")
    diff("LCS", "a", "b", "IDX", "MINMATCHLEN", "5", "WITHMATCHLEN")
