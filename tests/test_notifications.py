"""Keyspace notifications against the oracle: a subscriber on ``__keyspace@*`` and
``__keyevent@*`` receives, message for message, what Valkey sends for the same commands."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from servers import ServerProcess
from test_pubsub import Pair


@pytest.fixture
def connect(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> Iterator[Callable[[], Pair]]:
    made: list[Pair] = []

    def make() -> Pair:
        pair = Pair(pyvalkey_server.port, oracle_server.port)
        made.append(pair)
        return pair

    first = make()
    first.both("FLUSHALL")
    try:
        yield make
    finally:
        first.both("CONFIG", "SET", "notify-keyspace-events", "")
        for pair in made:
            pair.close()


def _subscriber(connect: Callable[[], Pair], proto: int = 2) -> Pair:
    sub = connect()
    if proto == 3:
        sub.both("HELLO", "3")
    sub.send("PSUBSCRIBE", "__keyspace@*", "__keyevent@*")
    sub.read()
    sub.read()
    return sub


# (command, ...) sequences; each runs with a subscriber listening and the messages compared.
_SCRIPTS = {
    "strings": [
        ("SET", "k", "v"),
        ("SET", "k", "v2", "NX"),
        ("SETNX", "k2", "x"),
        ("APPEND", "k", "x"),
        ("SETRANGE", "k", "1", "zz"),
        ("INCR", "n"),
        ("INCRBY", "n", "5"),
        ("DECR", "n"),
        ("INCRBYFLOAT", "f", "1.5"),
        ("MSET", "m1", "1", "m2", "2"),
        ("GETSET", "k", "v3"),
        ("GETDEL", "k2"),
        ("GETEX", "m1", "EX", "100"),
        ("GETEX", "m1", "PERSIST"),
        ("SET", "k", "v", "KEEPTTL", "GET"),
        ("INCR", "k"),
    ],
    "keys": [
        ("SET", "a", "1"),
        ("EXPIRE", "a", "100"),
        ("PEXPIRE", "a", "100000"),
        ("PERSIST", "a"),
        ("RENAME", "a", "b"),
        ("RENAME", "nokey", "c"),
        ("COPY", "b", "c"),
        ("MOVE", "c", "3"),
        ("DEL", "b", "nokey"),
        ("SET", "d", "1"),
        ("UNLINK", "d"),
        ("SET", "s", "1"),
        ("SELECT", "3"),
        ("SET", "indb3", "1"),
        ("SELECT", "0"),
        ("FLUSHALL",),
    ],
    "lists": [
        ("LPUSH", "l", "a", "b", "c"),
        ("RPUSH", "l", "d"),
        ("LPOP", "l"),
        ("RPOP", "l"),
        ("LSET", "l", "0", "z"),
        ("LINSERT", "l", "BEFORE", "z", "y"),
        ("LTRIM", "l", "0", "0"),
        ("LMOVE", "l", "l2", "LEFT", "RIGHT"),
        ("RPOPLPUSH", "l2", "l3"),
        ("LREM", "l3", "0", "y"),
    ],
    "sets_hashes_zsets": [
        ("SADD", "s", "a", "b"),
        ("SREM", "s", "a"),
        ("SMOVE", "s", "s2", "b"),
        ("SADD", "s3", "x"),
        ("SPOP", "s3"),
        ("HSET", "h", "f", "v", "g", "w"),
        ("HDEL", "h", "f"),
        ("HINCRBY", "h", "n", "1"),
        ("HDEL", "h", "g", "n"),
        ("ZADD", "z", "1", "a", "2", "b"),
        ("ZINCRBY", "z", "1", "a"),
        ("ZREM", "z", "a"),
        ("ZPOPMIN", "z"),
    ],
}


@pytest.mark.parametrize("script", sorted(_SCRIPTS))
def test_events_match_valkey(connect: Callable[[], Pair], script: str) -> None:
    control = connect()
    control("CONFIG", "SET", "notify-keyspace-events", "KEA")
    sub = _subscriber(connect)
    for args in _SCRIPTS[script]:
        mine, real = control.both(*args)
        if not mine.startswith(b"-ERR unknown command"):
            assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        sub.pending()


@pytest.mark.parametrize("flags", ["K$", "E$", "Kg", "Eg", "Kl", "AK", "AE", "KEg$", "KEA", "A"])
def test_event_classes(connect: Callable[[], Pair], flags: str) -> None:
    control = connect()
    control("CONFIG", "SET", "notify-keyspace-events", flags)
    sub = _subscriber(connect)
    for args in (("SET", "k", "v"), ("LPUSH", "l", "a"), ("DEL", "k", "l"), ("EXPIRE", "nokey", "10")):
        control(*args)
    sub.pending()


def test_keymiss_events(connect: Callable[[], Pair]) -> None:
    control = connect()
    control("CONFIG", "SET", "notify-keyspace-events", "KEm")
    sub = _subscriber(connect)
    control("GET", "missing")
    control("SET", "k", "v")
    control("GET", "k")
    control("MGET", "k", "missing2")
    sub.pending()


@pytest.mark.parametrize("proto", [2, 3])
def test_expired_events(connect: Callable[[], Pair], proto: int) -> None:
    control = connect()
    control("CONFIG", "SET", "notify-keyspace-events", "KEx")
    sub = _subscriber(connect, proto)
    control("SET", "e1", "v", "PX", "100")
    control("SET", "e2", "v", "PX", "100")
    time.sleep(0.4)  # active expiry (both run it several times a second)
    control("GET", "e1")
    sub.pending(ordered=False)
    # Lazy expiry by a lookup.
    control.both("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        control("SET", "e3", "v", "PX", "20")
        time.sleep(0.05)
        control("GET", "e3")
        sub.pending()
    finally:
        control.both("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_exact_channel_subscription_resp3_self(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("CONFIG", "SET", "notify-keyspace-events", "KEA")
    a.both("HELLO", "3")
    a.send("SUBSCRIBE", "__keyspace@0__:k", "__keyevent@0__:del")
    a.read()
    a.read()
    # The client's own events follow its reply, after EXEC for a transaction.
    a.send("SET", "k", "v")
    a.read()
    a.read()
    a("MULTI")
    a("SET", "k", "v2")
    a("DEL", "k")
    a.send("EXEC")
    for _ in range(4):
        a.read()
    a("PING")


@pytest.mark.parametrize("proto", [2, 3])
def test_new_key_events(connect: Callable[[], Pair], proto: int) -> None:
    """Class n: a key created by any command reports ``new`` before the command's own event;
    overwriting an existing key does not."""
    control = connect()
    control("CONFIG", "SET", "notify-keyspace-events", "KEAn")
    sub = _subscriber(connect, proto)
    for args in (
        ("SET", "foo", "bar"), ("SET", "foo", "baz"), ("LPUSH", "l", "a"), ("RENAME", "foo", "foo2"),
        ("COPY", "foo2", "foo3"), ("HSET", "h", "f", "v"), ("INCR", "n"), ("APPEND", "a", "x"),
        ("ZADD", "z", "1", "m"), ("MSET", "m1", "1", "m2", "2"), ("SUNIONSTORE", "su", "l"),
    ):
        control.both(*args)
    events = sub.pending()
    assert sum(b":new" in event for event in events) == 10
    # only the new-key class
    control("CONFIG", "SET", "notify-keyspace-events", "En")
    control.both("SET", "fresh", "1")
    control.both("SET", "fresh", "2")
    assert len(sub.pending()) == 1
