"""MULTI/EXEC/DISCARD/WATCH/UNWATCH against the oracle, RESP2 and RESP3: queueing, EXECABORT,
errors inside EXEC, blocking commands inside EXEC, and every way a WATCH is invalidated."""

from __future__ import annotations

import re
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
    yield make
    for pair in made:
        pair.close()


def _proto(pair: Pair, proto: int) -> None:
    if proto == 3:
        pair.both("HELLO", "3")


@pytest.mark.parametrize("proto", [2, 3])
def test_basic_transaction(connect: Callable[[], Pair], proto: int) -> None:
    a = connect()
    _proto(a, proto)
    a("EXEC")
    a("DISCARD")
    a("MULTI")
    a("SET", "a", "1")
    a("INCR", "a")
    a("GET", "a")
    a("LPUSH", "a", "x")  # WRONGTYPE at run time: an element of the EXEC reply
    a("INCR", "nonint")
    a("HSET", "h", "f", "v")
    a("HGETALL", "h")
    a("BLPOP", "nolist", "0")  # does not block inside EXEC
    a("EXEC")
    a("EXEC")
    a("MULTI")
    a("EXEC")
    a("MULTI")
    a("SET", "b", "1")
    a("DISCARD")
    a("GET", "b")
    a("MULTI")
    a("SELECT", "2")
    a("SET", "indb2", "1")
    a("EXEC")
    a("GET", "indb2")
    a("SELECT", "0")
    a("GET", "indb2")


@pytest.mark.parametrize("proto", [2, 3])
def test_errors_while_queueing_abort_exec(connect: Callable[[], Pair], proto: int) -> None:
    a = connect()
    _proto(a, proto)
    for bad in (("FOO", "bar"), ("SET", "a"), ("MULTI",), ("WATCH", "x"), ("CLIENT", "REPLY", "OFF"), ("GET",)):
        a("MULTI")
        a("SET", "a", "1")
        a(*bad)
        a("SET", "b", "2")
        a("EXEC")
        a("GET", "a")
    a("MULTI")
    a("CONFIG", "NOSUCHSUB")
    a("EXEC")
    a("MULTI")
    a("DISCARD")
    a("EXEC")


def test_commands_that_run_inside_multi(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("MULTI")
    a("SET", "k", "v")
    a("QUIT")
    b = connect()
    b("GET", "k")  # QUIT ran at once and dropped the transaction with the connection
    b("MULTI")
    b("SET", "k", "v")
    b("RESET")
    b("EXEC")
    b("GET", "k")


def test_blocking_commands_inside_exec(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("MULTI")
    a("BLPOP", "l", "0")
    a("BRPOP", "l", "1")
    a("BLMOVE", "l", "m", "LEFT", "RIGHT", "0")
    a("BZPOPMIN", "z", "0")
    a("RPUSH", "l", "x")
    a("BLPOP", "l", "0")
    a("EXEC")


@pytest.mark.parametrize("proto", [2, 3])
def test_watch_touched_by_other_client(connect: Callable[[], Pair], proto: int) -> None:
    a = connect()
    b = connect()
    _proto(a, proto)
    a("SET", "k", "1")
    a("WATCH", "k")
    b("SET", "k", "2")
    a("MULTI")
    a("GET", "k")
    a("EXEC")  # null array
    # WATCH does not outlive EXEC: the next transaction runs.
    a("MULTI")
    a("GET", "k")
    a("EXEC")
    # Several keys, one of them touched.
    a("WATCH", "x", "y", "k")
    b("LPUSH", "y", "1")
    a("MULTI")
    a("PING")
    a("EXEC")
    # Untouched keys: EXEC runs.
    a("WATCH", "x", "k")
    b("SET", "other", "1")
    b("GET", "k")
    b("DEL", "x")  # deleting a missing key is no change
    b("EXPIRE", "x", "100")
    a("MULTI")
    a("PING")
    a("EXEC")


def test_watch_own_writes(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("WATCH", "k")
    a("SET", "k", "1")  # the watching client's own write before MULTI counts
    a("MULTI")
    a("PING")
    a("EXEC")
    a("WATCH", "k")
    a("MULTI")
    a("SET", "k", "2")  # a write inside the transaction does not
    a("EXEC")
    a("MULTI")
    a("GET", "k")
    a("EXEC")


def test_watch_reset_by_unwatch_discard_reset(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    a("WATCH", "q")
    a("UNWATCH")
    b("SET", "q", "1")
    a("MULTI")
    a("PING")
    a("EXEC")
    a("WATCH", "q")
    b("SET", "q", "2")
    a("UNWATCH")  # also forgets that a watched key changed
    a("MULTI")
    a("PING")
    a("EXEC")
    a("WATCH", "q")
    a("MULTI")
    a("DISCARD")
    b("SET", "q", "3")
    a("MULTI")
    a("PING")
    a("EXEC")
    a("WATCH", "q")
    b("SET", "q", "4")
    a("RESET")
    a("MULTI")
    a("PING")
    a("EXEC")
    # A dirty client's later WATCH changes nothing: EXEC still fails.
    a("WATCH", "q")
    b("SET", "q", "5")
    a("WATCH", "r")
    a("MULTI")
    a("PING")
    a("EXEC")


def test_watch_is_per_database(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    a("SELECT", "2")
    a("WATCH", "k")
    b("SET", "k", "1")  # db 0
    a("MULTI")
    a("PING")
    a("EXEC")
    a("WATCH", "k")
    b("SELECT", "2")
    b("SET", "k", "1")
    a("MULTI")
    a("PING")
    a("EXEC")


def test_watch_and_flush_swapdb(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    cases = [
        (("SET", "x", "1"), ("FLUSHDB",)),  # key existed: touched
        (("DEL", "x"), ("FLUSHDB",)),  # key missing: not touched
        (("DEL", "x"), ("FLUSHALL",)),
        (("SET", "x", "1"), ("FLUSHALL",)),
        (("DEL", "x"), ("SWAPDB", "0", "1")),  # missing in both: not touched
    ]
    for setup, flush in cases:
        b(*setup)
        a("WATCH", "x")
        b(*flush)
        a("MULTI")
        a("PING")
        a("EXEC")
    # A key that exists only in the other database of a SWAPDB counts.
    b("FLUSHALL")
    b("SELECT", "1")
    b("SET", "w", "1")
    a("WATCH", "w")
    b("SWAPDB", "0", "1")
    a("MULTI")
    a("PING")
    a("EXEC")
    # ... and so does one that exists in the watched database.
    a("WATCH", "w")
    b("SWAPDB", "0", "1")
    a("MULTI")
    a("PING")
    a("EXEC")


def test_swapdb_and_stale_watched_keys(connect: Callable[[], Pair]) -> None:
    """SWAPDB and keys past their deadline but not yet removed: a missing key replaced by a
    stale one, or a stale one by another stale one, is no change; a live one is."""
    a = connect()
    b = connect()
    a.both("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        cases = [
            # (db 0 gets, db 1 gets, the watcher's db)
            (("SET", "x", "foo", "PX", "1"), None, "1"),  # missing replaced by stale
            (None, ("SET", "x", "foo", "PX", "1"), "1"),  # stale replaced by missing
            (("SET", "x", "foo", "PX", "1"), ("SET", "x", "bar", "PX", "1"), "1"),  # stale by stale
            (("SET", "x", "foo"), ("SET", "x", "bar", "PX", "1"), "1"),  # stale by live
            (("SET", "x", "foo", "PX", "1"), ("SET", "x", "bar"), "1"),  # live by stale
        ]
        for in_db0, in_db1, watcher_db in cases:
            b("FLUSHALL")
            for index, setup in (("0", in_db0), ("1", in_db1)):
                if setup is not None:
                    b("SELECT", index)
                    b(*setup)
            time.sleep(0.01)
            a("SELECT", watcher_db)
            a("WATCH", "x")
            b("SWAPDB", "0", "1")
            a("MULTI")
            a("PING")
            a("EXEC")
    finally:
        a.both("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        b.both("SELECT", "0")
        a.both("SELECT", "0")


def test_denyoom_command_queued_over_maxmemory(connect: Callable[[], Pair]) -> None:
    """Memory is checked before a command is queued: a refused one dooms the EXEC even if the
    limit is lifted before EXEC."""
    a = connect()
    admin = connect()
    a("DEL", "foo1", "foo2")
    a("MULTI")
    a("SET", "foo1", "bar1")
    admin("CONFIG", "SET", "maxmemory", "1")
    try:
        a("LPUSH", "mylist", "myvalue")
    finally:
        admin("CONFIG", "SET", "maxmemory", "0")
    a("SET", "foo2", "bar2")
    a("EXEC")
    a("EXISTS", "foo1", "foo2")


def test_watch_and_expiry(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    # A watched key that expires before EXEC counts as modified.
    a("SET", "e", "1", "PX", "50")
    a("WATCH", "e")
    time.sleep(0.15)
    a("MULTI")
    a("PING")
    a("EXEC")
    # Keys already expired (not yet removed) when watched do not count when they go away.
    a.both("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        for other in (("DEL", "s"), ("GET", "s"), ("EXISTS", "s"), ("FLUSHDB",), ("SET", "s", "2")):
            a("SET", "s", "1", "PX", "1")
            time.sleep(0.01)
            a("WATCH", "s")
            b(*other)
            a("MULTI")
            a("PING")
            a("EXEC")
        # Live when watched, expired (not removed) at EXEC: fails.
        a("SET", "t", "1", "PX", "30")
        a("WATCH", "t")
        time.sleep(0.06)
        a("MULTI")
        a("PING")
        a("EXEC")
    finally:
        a.both("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_client_list_multi_and_watch_fields(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    ids = [int(reply[1:-2]) for reply in a.both("CLIENT", "ID")]
    a("WATCH", "k1", "k2", "k1")
    a("MULTI")
    a("SET", "k", "v")
    a("GET", "k")
    for client, client_id in zip((b.ours, b.theirs), ids):
        line = client("CLIENT", "LIST", "ID", str(client_id))
        found = re.search(rb" flags=(\S+) .* multi=(\S+) watch=(\S+) ", line)
        assert found is not None and found.groups() == (b"x", b"2", b"2"), line
    a("DISCARD")


def test_exec_waits_for_client_pause_write(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    a("MULTI")
    a("SET", "p", "1")
    b.both("CLIENT", "PAUSE", "300", "WRITE")
    start = time.monotonic()
    a("EXEC")  # held until the pause ends: the queue holds a write
    assert time.monotonic() - start >= 0.2
    a("MULTI")
    a("GET", "p")
    b.both("CLIENT", "PAUSE", "300", "WRITE")
    start = time.monotonic()
    a("EXEC")  # read-only queue: not held
    assert time.monotonic() - start < 0.25
    b.both("CLIENT", "UNPAUSE")


@pytest.mark.parametrize("queue_during_busy", [False, True])
def test_exec_during_busy_script_aborts(pyvalkey_server, oracle_server, queue_during_busy) -> None:  # type: ignore[no-untyped-def]
    """EXEC refused by a busy script ends the transaction with EXECABORT naming the BUSY error;
    MULTI itself is allowed while busy and a refused command inside it dooms the EXEC."""
    import socket
    import time

    from resp import RawClient, encode_command

    results = []
    for port in (pyvalkey_server.port, oracle_server.port):
        r, r2 = RawClient(port), RawClient(port)
        runner = socket.create_connection(("127.0.0.1", port))
        try:
            r("CONFIG", "SET", "busy-reply-threshold", "10")
            r("SET", "xx", "1")
            out = [r2("MULTI"), r2("INCR", "xx")]
            runner.sendall(encode_command("EVAL", "while true do end", "0"))
            time.sleep(0.2)
            if queue_during_busy:
                out.append(r2("INCR", "xx"))
            out.append(r2("EXEC"))
            out.append(r("SCRIPT", "KILL"))
            runner.settimeout(5)
            runner.recv(1000)
            # after the script: MULTI while busy, a refused command, then EXEC -> previous errors
            runner.sendall(encode_command("EVAL", "while true do end", "0"))
            time.sleep(0.2)
            out += [r2("MULTI"), r2("INCR", "xx"), r("SCRIPT", "KILL")]
            runner.recv(1000)
            out += [r2("INCR", "xx"), r2("EXEC"), r("GET", "xx"), r2("PING", "asdf")]
            results.append(out)
        finally:
            r("CONFIG", "SET", "busy-reply-threshold", "5000")
            for c in (r, r2):
                c.close()
            runner.close()
    assert results[0] == results[1]
    assert results[1][-2] == b"$1\r\n1\r\n"
