"""SORT and SORT_RO against the oracle: orders, patterns, LIMIT, STORE, errors, RESP2 and RESP3."""

from __future__ import annotations

import random

import pytest
from conftest import Differ


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request: pytest.FixtureRequest, diff: Differ) -> Differ:
    if request.param == 3:
        diff.resp3()
    return diff


def _weights(d: Differ) -> None:
    d("RPUSH", "l", "3", "1", "2", "10", "-5")
    for element, weight in (("3", "30"), ("1", "10"), ("2", "5"), ("10", "-1")):
        d("SET", f"w_{element}", weight)
        d("SET", f"name_{element}", f"n{element}")
        d("HSET", f"h_{element}", "f", f"hv{element}", "w", str(100 - int(weight)))


def test_numeric_and_alpha(d: Differ) -> None:
    d("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "+7", "inf", "-inf", "0", "-0", ".5")
    d("SORT", "l")
    d("SORT", "l", "DESC")
    d("SORT", "l", "ALPHA")
    d("SORT", "l", "alpha", "desc")
    d("SORT_RO", "l")
    d("SORT_RO", "l", "ALPHA", "DESC", "ASC")
    d("SORT", "missing")
    d("SORT_RO", "missing", "ALPHA", "LIMIT", "0", "10")
    d("RPUSH", "words", "banana", "apple", "Cherry", "apple", "", "b\x00z", "b\x00a", "b")
    d("SORT", "words", "ALPHA")
    d("SORT", "words", "ALPHA", "DESC")
    d("SORT", "words")  # not numbers
    d("SORT", "words", "ALPHA", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")


@pytest.mark.parametrize(
    "weight",
    [" 5", "5 ", "", "+5", ".5", "5.", "1e5", "1E+5", "-0", "\t7", "0x10", "1e", "Infinity", "-INF", "nAn",
     "-nan", "1e-310", "4.9e-324", "2e-324", "1e-324", "3e-324", "1e400", "1.7976931348623158e308",
     "1.7976931348623159e308", "0e-500", "-.e1", "00012", "5\x00x", "1_0", "infinit"],
)
def test_weight_parsing(diff: Differ, weight: str) -> None:
    diff("RPUSH", "x", weight, "2")
    diff("SORT", "x")
    diff("SET", "w_a", weight)
    diff("RPUSH", "y", "a", "b")
    diff("SET", "w_b", "1")
    diff("SORT", "y", "BY", "w_*")


def test_by_patterns(d: Differ) -> None:
    _weights(d)
    d("SORT", "l", "BY", "w_*")
    d("SORT", "l", "BY", "w_*", "DESC")
    d("SORT", "l", "BY", "w_*", "ALPHA")
    d("SORT", "l", "BY", "w_*", "ALPHA", "DESC")
    d("SORT", "l", "BY", "h_*->w")
    d("SORT", "l", "BY", "h_*->f", "ALPHA")
    d("SORT", "l", "BY", "h_*->missing")
    d("SORT", "l", "BY", "h_*->")  # no field: the whole "h_3->" key
    d("SORT", "l", "BY", "nosort")
    d("SORT", "l", "BY", "nosort", "DESC")
    d("SORT", "l", "BY", "nosort", "LIMIT", "1", "2")
    d("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2")
    d("SORT", "l", "BY", "nosort", "BY", "w_*")  # a constant BY sticks
    d("SORT", "l", "BY", "w_*", "BY", "nosort")
    d("SORT", "l", "BY", "l")  # a BY key that is the list itself: constant
    d("SET", "w_-5", "abc")
    d("SORT", "l", "BY", "w_*")
    d("SORT", "l", "BY", "w_*", "ALPHA")
    d("RPUSH", "w_3", "x")  # wrong type for a weight is a missing weight
    d("DEL", "w_3")
    d("RPUSH", "w_3", "x")
    d("DEL", "w_-5")
    d("SORT", "l", "BY", "w_*")


def test_get_patterns(d: Differ) -> None:
    _weights(d)
    d("SORT", "l", "GET", "name_*")
    d("SORT", "l", "GET", "#")
    d("SORT", "l", "GET", "#", "GET", "name_*", "GET", "h_*->f", "GET", "h_*->nope", "GET", "nostar")
    d("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*")
    d("SORT", "l", "BY", "nosort", "GET", "h_*->f", "DESC", "LIMIT", "0", "3")
    d("SORT", "l", "GET", "h_*")  # a hash is not a string
    d("SORT", "l", "GET", "#\x00junk")
    d("SORT", "l", "GET", "name_*->")
    d("SORT_RO", "l", "GET", "name_*", "LIMIT", "1", "1")
    d("SORT", "l", "GET", "#", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")
    d("SORT", "l", "GET", "name_*", "GET", "nothing_*", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")


def test_limit(d: Differ) -> None:
    d("RPUSH", "l", *[str(i) for i in range(20, 0, -1)])
    d("SADD", "s", *[str(i) for i in range(15)])
    d("ZADD", "z", *[x for i in range(12) for x in (str(i % 5), f"m{i}")])
    for key in ("l", "s", "z", "missing"):
        for start, count in (("0", "5"), ("3", "4"), ("-2", "3"), ("18", "10"), ("0", "-1"), ("5", "0"),
                             ("100", "1"), ("-100", "-100"), ("2", "-5"), ("9223372036854775807", "1")):
            d("SORT", key, "LIMIT", start, count, "ALPHA")
            d("SORT", key, "LIMIT", start, count, "BY", "nosort")
            d("SORT", key, "LIMIT", start, count, "BY", "nosort", "DESC")
            d("SORT", key, "LIMIT", start, count, "DESC", "ALPHA", "GET", "#")
    d("SORT", "l", "LIMIT", "1", "x")
    d("SORT", "l", "LIMIT", "x", "1")
    d("SORT", "l", "LIMIT", "1")
    d("SORT", "l", "LIMIT")
    d("SORT", "l", "LIMIT", "9223372036854775808", "1")


def test_sets_and_zsets(d: Differ) -> None:
    d("SADD", "ints", "5", "3", "-1", "10")
    d("SORT", "ints")
    d("SORT", "ints", "BY", "nosort")
    d("SORT", "ints", "BY", "nosort", "DESC", "LIMIT", "1", "2")
    d("SADD", "lp", "c", "a", "b", "a2")
    d("SORT", "lp", "ALPHA")
    d("SORT", "lp", "BY", "nosort")
    d("SORT", "lp", "BY", "nosort", "DESC")
    d("SORT", "lp", "BY", "nosort", "STORE", "dst")  # stored set results are sorted
    d("LRANGE", "dst", "0", "-1")
    d("SORT", "lp", "BY", "nosort", "DESC", "LIMIT", "1", "2", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")
    d("ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb", "-1", "z")
    d("OBJECT", "ENCODING", "z")
    d("SORT", "z", "BY", "nosort")
    d("OBJECT", "ENCODING", "z")  # SORT converted it
    d("SORT", "z", "BY", "nosort", "DESC")
    d("SORT", "z", "BY", "nosort", "LIMIT", "1", "3")
    d("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "3")
    d("SORT", "z", "ALPHA", "DESC")
    d("SORT", "z")
    d("ZADD", "zn", "1", "10", "2", "9", "3", "8")
    d("SORT_RO", "zn")
    d("OBJECT", "ENCODING", "zn")
    d("SORT", "zn", "BY", "nosort", "GET", "#", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")


def test_store(d: Differ) -> None:
    d("CONFIG", "SET", "notify-keyspace-events", "")
    d("RPUSH", "l", "3", "1", "2")
    d("SORT", "l", "STORE", "dst")
    d("LRANGE", "dst", "0", "-1")
    d("OBJECT", "ENCODING", "dst")
    d("SET", "dst", "string")
    d("EXPIRE", "dst", "100")
    d("SORT", "l", "DESC", "STORE", "dst")
    d("TTL", "dst")
    d("TYPE", "dst")
    d("SORT", "l", "STORE", "l")  # store over the source
    d("LRANGE", "l", "0", "-1")
    d("SORT", "missing", "STORE", "dst")  # empty result deletes the destination
    d("EXISTS", "dst")
    d("SORT", "missing", "STORE", "dst")
    d("SORT", "l", "LIMIT", "5", "5", "STORE", "dst")
    d("RPUSH", "big", *[str(i) * 10 for i in range(200)])
    d("SORT", "big", "STORE", "dst")
    d("OBJECT", "ENCODING", "dst")
    d("LLEN", "dst")
    d("SORT", "big", "LIMIT", "0", "10", "STORE", "dst")
    d("OBJECT", "ENCODING", "dst")
    d("RPUSH", "huge", "x" * 9000)
    d("SORT", "huge", "ALPHA", "STORE", "dst")
    d("OBJECT", "ENCODING", "dst")
    d("SORT_RO", "l", "STORE", "dst")  # SORT_RO has no STORE
    d("SORT", "l", "STORE")


def test_errors(d: Differ) -> None:
    d("SET", "s", "x")
    d("SORT", "s")
    d("SORT_RO", "s")
    d("SORT", "s", "BADOPT")  # the syntax error wins
    d("HSET", "h", "f", "v")
    d("SORT", "h", "LIMIT", "0", "1")
    d("SORT")
    d("SORT_RO")
    d("RPUSH", "l", "a", "1")
    d("SORT", "l")
    d("SORT", "l", "BY")
    d("SORT", "l", "GET")
    d("SORT", "l", "foo")
    d("SORT", "l", "ALPHA", "BY", "w_*", "GET")
    d("SORT", "l", "STORE", "dst")
    d("EXISTS", "dst")


def test_dirty_and_stats(diff: Differ) -> None:
    diff("RPUSH", "l", "3", "1", "2")
    diff("SET", "w_1", "9")
    diff("CONFIG", "RESETSTAT")
    diff("SORT", "l", "BY", "w_*", "GET", "w_*", "GET", "#")
    ours = diff.ours("INFO", "stats")
    theirs = diff.theirs("INFO", "stats")

    def field(info: bytes, name: bytes) -> bytes:
        return next(line for line in info.split(b"\r\n") if line.startswith(name + b":"))

    for name in (b"keyspace_hits", b"keyspace_misses"):
        assert field(ours, name) == field(theirs, name)


def test_random_lists(d: Differ) -> None:
    rng = random.Random(7)
    for trial in range(5):
        values = [str(rng.choice([rng.randint(-50, 50), rng.random() * 100])) for _ in range(40)]
        d("DEL", "r")
        d("RPUSH", "r", *values)
        for i, value in enumerate(values[:20]):
            d("SET", f"rw_{value}", str(rng.randint(0, 5)))
        d("SORT", "r")
        d("SORT", "r", "DESC", "LIMIT", str(trial), "7")
        d("SORT", "r", "ALPHA")
        d("SORT", "r", "BY", "rw_*")
        d("SORT", "r", "BY", "rw_*", "DESC", "GET", "#", "GET", "rw_*")
        d("SORT", "r", "BY", "rw_*", "ALPHA")
        d("SORT", "r", "BY", "rw_*", "ALPHA", "DESC", "STORE", "out")
        d("LRANGE", "out", "0", "-1")


def test_partial_sort_ties(d: Differ) -> None:
    """BY + LIMIT runs Valkey's partial quicksort, whose order for equal weights is not stable."""
    rng = random.Random(3)
    for trial in range(12):
        values = [str(i) for i in range(rng.choice([5, 8, 30, 60, 120]))]
        d("DEL", "r")
        d("RPUSH", "r", *values)
        for value in values:
            d("SET", f"rw_{value}", rng.choice(["a", "b", "c", "1", "2"]))
        start = str(rng.randint(0, len(values)))
        d("SORT", "r", "BY", "rw_*", "ALPHA", "LIMIT", start, "9")
        d("SORT", "r", "BY", "rw_*", "ALPHA", "DESC", "LIMIT", "0", start)
        d("SORT", "r", "BY", "nosuch_*", "ALPHA", "LIMIT", start, "20")
        d("SORT", "r", "BY", "rw_*", "LIMIT", start, "9")
        d("SORT", "r", "BY", "rw_*", "ALPHA", "LIMIT", "1", "-1", "STORE", "out")
        d("LRANGE", "out", "0", "-1")


def _quicklist_details(reply: bytes) -> bytes:
    """DEBUG OBJECT's encoding and quicklist figures (addresses and serialized sizes differ)."""
    words = reply.split()
    return b" ".join(w for w in words if w.startswith((b"encoding:", b"ql_")))


def test_sort_store_quicklist_keeps_the_configured_options(diff) -> None:
    try:
        diff("CONFIG", "SET", "list-max-listpack-size", "-1")
        diff("CONFIG", "SET", "list-compress-depth", "12")
        diff("LPUSH", "lst", *("1" * 6000))
        diff("SORT", "lst", "STORE", "dst")
        for args in (("DEBUG", "OBJECT", "dst"), ("DEBUG", "OBJECT", "dst", "fast")):
            ours, theirs = diff.both(*args)
            assert _quicklist_details(ours) == _quicklist_details(theirs)
            assert b"ql_listpack_max:-1 ql_compressed:1" in ours
        diff("CONFIG", "SET", "list-max-listpack-size", "3")
        diff("CONFIG", "SET", "list-compress-depth", "0")
        diff("RPUSH", "q", *map(str, range(13)))
        diff("SORT", "q", "STORE", "q2")
        for key in ("q", "q2"):
            ours, theirs = diff.both("DEBUG", "OBJECT", key)
            assert _quicklist_details(ours) == _quicklist_details(theirs)
            assert b"ql_nodes:5 ql_avg_node:2.60 ql_listpack_max:3 ql_compressed:0" in ours
    finally:
        diff("CONFIG", "SET", "list-max-listpack-size", "-2")
        diff("CONFIG", "SET", "list-compress-depth", "0")
