"""TIME, LASTSAVE, SLOWLOG, MEMORY, DEBUG, LOLWUT and SHUTDOWN against the oracle."""

from __future__ import annotations

import re
import socket
import time

import pytest
from resp import RawClient, encode_command
from servers import start_oracle, start_pyvalkey


def parse(reply: bytes) -> object:
    """A tiny RESP decoder for structural comparisons (bulk -> bytes, int -> int, arrays)."""

    def item(pos: int) -> tuple[object, int]:
        end = reply.index(b"\r\n", pos)
        kind, head = reply[pos : pos + 1], reply[pos + 1 : end]
        if kind in (b"$", b"="):
            n = int(head)
            if n < 0:
                return None, end + 2
            return reply[end + 2 : end + 2 + n], end + 4 + n
        if kind in (b"*", b"~", b">"):
            out = []
            pos = end + 2
            for _ in range(int(head)):
                value, pos = item(pos)
                out.append(value)
            return out, pos
        if kind == b"%":
            out = []
            pos = end + 2
            for _ in range(2 * int(head)):
                value, pos = item(pos)
                out.append(value)
            return out, pos
        if kind == b":":
            return int(head), end + 2
        return head, end + 2

    return item(0)[0]


# -- TIME / LASTSAVE ---------------------------------------------------------------------------


def test_time(r, diff) -> None:
    seconds, micros = parse(r("TIME"))  # type: ignore[misc]
    assert abs(int(seconds) - time.time()) < 5
    assert 0 <= int(micros) < 1_000_000
    diff("TIME", "x")


def test_lastsave(r, diff) -> None:
    value = parse(r("LASTSAVE"))
    assert isinstance(value, int) and abs(value - time.time()) < 3600
    diff("LASTSAVE", "x")


# -- SLOWLOG -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("HELP",),  # in our own words: checked for shape, not bytes (see test_help.py)
        ("GET", "x"),
        ("GET", "-2"),
        ("GET", "1", "2"),
        ("LEN", "x"),
        ("RESET", "x"),
        ("bogus",),
        ("GET", "0"),
    ],
)
def test_slowlog_errors_and_help(diff, args) -> None:
    if args == ("HELP",):
        from test_help import assert_help_shape

        assert_help_shape(diff.ours("SLOWLOG", *args), "SLOWLOG")
        return
    diff("SLOWLOG", *args)


@pytest.fixture
def slow(diff):
    diff("CONFIG", "SET", "slowlog-log-slower-than", "0")
    diff("SLOWLOG", "RESET")
    yield diff
    diff("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    diff("SLOWLOG", "RESET")


def entry_shape(entry: list) -> tuple:
    entry_id, timestamp, duration, args, addr, name = entry
    assert isinstance(entry_id, int) and isinstance(duration, int)
    assert abs(timestamp - time.time()) < 60
    assert re.fullmatch(rb"127\.0\.0\.1:\d+", addr)
    return tuple(args), name


@pytest.mark.parametrize("resp3", [False, True])
def test_slowlog_entries(slow, resp3) -> None:
    if resp3:
        slow.resp3()
    slow("CLIENT", "SETNAME", "tester")
    slow("SET", "k", "v")
    slow("GET", "x" * 200)
    slow("MSET", *(["a", "b"] * 20))
    slow("CONFIG", "SET", "requirepass", "")
    slow("AUTH", "nobody", "pw")
    ours, theirs = slow.both("SLOWLOG", "GET", "-1")
    mine = [entry_shape(e) for e in parse(ours)]  # type: ignore[union-attr]
    real = [entry_shape(e) for e in parse(theirs)]  # type: ignore[union-attr]
    assert mine == real
    assert parse(slow.ours("SLOWLOG", "LEN")) == parse(slow.theirs("SLOWLOG", "LEN"))
    ours, theirs = slow.both("SLOWLOG", "GET", "2")
    assert [entry_shape(e) for e in parse(ours)] == [entry_shape(e) for e in parse(theirs)]  # type: ignore[union-attr]


def test_slowlog_transactions_scripts_and_blocking(slow, pyvalkey_server, oracle_server) -> None:
    """EXEC is not logged (the commands it ran are); a script's commands are logged under the
    script's caller; a blocking command is logged once served, not when it blocks."""
    slow("CLIENT", "SETNAME", "tester")
    slow("MULTI")
    slow("SET", "k", "v")
    slow("GET", "k")
    slow("EXEC")
    slow("EVAL", "return server.call('ping')", "0")
    slow("DEL", "mylist")
    waiters = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        for waiter in waiters:
            waiter("CLIENT", "SETNAME", "waiter")
            waiter.send(encode_command("BLPOP", "mylist", "0"))
        time.sleep(0.2)
        ours, theirs = slow.both("SLOWLOG", "GET", "-1")
        assert [entry_shape(e) for e in parse(ours)] == [entry_shape(e) for e in parse(theirs)]  # type: ignore[union-attr]
        slow("LPUSH", "mylist", "1")
        for waiter in waiters:
            assert waiter.read_reply() == b"*2\r\n$6\r\nmylist\r\n$1\r\n1\r\n"
    finally:
        for waiter in waiters:
            waiter.close()
    ours, theirs = slow.both("SLOWLOG", "GET", "-1")
    assert [entry_shape(e) for e in parse(ours)] == [entry_shape(e) for e in parse(theirs)]  # type: ignore[union-attr]


def test_slowlog_ids_grow_and_reset(slow) -> None:
    r = slow.ours
    r("PING")
    r("PING")
    entries = parse(r("SLOWLOG", "GET"))
    ids = [e[0] for e in entries]  # type: ignore[union-attr]
    assert ids == sorted(ids, reverse=True)
    assert r("SLOWLOG", "RESET") == b"+OK\r\n"
    assert parse(r("SLOWLOG", "LEN")) == 1  # the RESET itself is logged


def test_slowlog_max_len(slow) -> None:
    slow("CONFIG", "SET", "slowlog-max-len", "3")
    for _ in range(6):
        slow("PING")
    slow("SLOWLOG", "LEN")
    slow("CONFIG", "SET", "slowlog-max-len", "128")


# -- MEMORY ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("HELP",),  # in our own words: checked for shape, not bytes (see test_help.py)
        ("USAGE", "nokey"),
        ("USAGE", "k", "SAMPLES"),
        ("USAGE", "k", "SAMPLES", "x"),
        ("USAGE", "k", "foo"),
        ("MALLOC-STATS",),
        ("PURGE",),
        ("bogus",),
        ("USAGE",),
    ],
)
def test_memory_fixed_replies(diff, args) -> None:
    diff("SET", "k", "v")
    if args == ("HELP",):
        from test_help import assert_help_shape

        assert_help_shape(diff.ours("MEMORY", *args), "MEMORY")
        return
    diff("MEMORY", *args)


def test_memory_usage_estimates(r) -> None:
    r("SET", "small", "v")
    r("SET", "big", "x" * 10000)
    small = parse(r("MEMORY", "USAGE", "small"))
    big = parse(r("MEMORY", "USAGE", "big", "SAMPLES", "0"))
    assert isinstance(small, int) and isinstance(big, int)
    assert 16 < small < 200
    assert 10000 < big < 11000


def test_memory_stats_keys(diff) -> None:
    diff("SET", "k", "v")
    ours, theirs = diff.both("MEMORY", "STATS")
    mine, real = parse(ours), parse(theirs)
    # Valkey lists a db.N entry for every database whose table was ever allocated, even when
    # emptied since; compare the entries of the databases that hold keys now.
    def names(reply: list) -> list:
        return [n for n in reply[0::2] if not (n.startswith(b"db.") and n != b"db.0")]

    assert names(mine) == names(real)  # type: ignore[arg-type]
    db0 = mine[mine.index(b"db.0") + 1]  # type: ignore[union-attr]
    assert db0[0::2] == real[real.index(b"db.0") + 1][0::2]  # type: ignore[union-attr,index]


def test_memory_doctor_is_text(r) -> None:
    assert r("MEMORY", "DOCTOR").startswith(b"$")


# -- DEBUG -------------------------------------------------------------------------------------


def test_debug_fixed_replies(diff) -> None:
    diff("DEBUG", "OBJECT", "nokey")
    diff("DEBUG", "object")
    diff("DEBUG", "bogus")
    diff("DEBUG", "SLEEP")
    diff("DEBUG", "SLEEP", "0")
    diff("DEBUG", "SLEEP", "x")
    diff("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    diff("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x")
    diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1k")
    diff("DEBUG", "ERROR", "FOO bar")
    diff("DEBUG", "LOG", "hello from the tests")
    diff("DEBUG", "CHANGE-REPL-ID")
    diff("DEBUG", "LISTPACK", "nokey")
    diff("SET", "s", "v")
    diff("DEBUG", "LISTPACK", "s")
    diff("DEBUG", "JMAP")
    diff("DEBUG", "PROTOCOL", "bogus")
    diff("DEBUG", "POPULATE", "-1")
    diff("DEBUG", "POPULATE", "x")


def test_debug_digest_matches_for_strings(diff) -> None:
    diff("DEBUG", "DIGEST")
    diff("DEBUG", "DIGEST-VALUE")
    diff("DEBUG", "DIGEST-VALUE", "nokey")
    diff("SET", "a", "1")
    diff("SET", "b", "hello")
    diff("SET", "c", "x" * 100, "EX", "100")
    diff("SELECT", "2")
    diff("SET", "a", "other db")
    diff("DEBUG", "DIGEST")
    diff("SELECT", "0")
    diff("DEBUG", "DIGEST-VALUE", "a", "b", "c", "nokey")
    diff("DEBUG", "POPULATE", "50")
    diff("DEBUG", "POPULATE", "10", "p", "20")
    diff("DEBUG", "POPULATE", "10", "q", "3")
    diff("DBSIZE")
    diff("GET", "p:3")
    diff("GET", "q:3")
    diff("DEBUG", "DIGEST")


@pytest.mark.parametrize("resp3", [False, True])
def test_debug_protocol(diff, resp3) -> None:
    if resp3:
        diff.resp3()
    for kind in ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "verbatim", "true", "false"]:
        diff("DEBUG", "PROTOCOL", kind)
    diff("DEBUG", "PROTOCOL", "push")
    if resp3:  # the push frame comes first, then the real reply
        assert diff.ours.read_reply() == diff.theirs.read_reply()


def test_debug_object_format(r) -> None:
    r("SET", "s", "hello")
    r("SET", "n", "12345")
    r("SET", "raw", "a")
    r("APPEND", "raw", "b")
    pattern = rb"\+Value at:0x[0-9a-f]+ refcount:1 encoding:(\w+) serializedlength:(\d+) lru:\d+ lru_seconds_idle:\d+\r\n"
    match = re.fullmatch(pattern, r("DEBUG", "OBJECT", "s"))
    assert match and match.group(1) == b"embstr" and match.group(2) == b"6"
    match = re.fullmatch(pattern, r("DEBUG", "OBJECT", "n"))
    assert match and match.group(1) == b"int" and match.group(2) == b"3"
    fast = r("DEBUG", "OBJECT", "s", "fast")
    assert b"serializedlength" not in fast and b"encoding:embstr lru:" in fast


def test_debug_change_repl_id(r) -> None:
    def replid() -> bytes:
        return re.search(rb"master_replid:([0-9a-f]{40})", r("INFO", "replication")).group(1)  # type: ignore[union-attr]

    before = replid()
    assert r("DEBUG", "CHANGE-REPL-ID") == b"+OK\r\n"
    assert replid() != before


def test_debug_set_active_expire(r) -> None:
    r("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r("SET", "k", "v", "PX", "1")
        time.sleep(0.3)
        assert r("DBSIZE") == b":1\r\n"  # still stored: nobody expired it
        assert r("GET", "k") == b"$-1\r\n"
    finally:
        r("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_debug_sleep_blocks_server(r, pyvalkey_server) -> None:
    other = RawClient(pyvalkey_server.port)
    try:
        other.send(b"*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.3\r\n")
        time.sleep(0.05)
        start = time.monotonic()
        assert r("PING") == b"+PONG\r\n"
        assert time.monotonic() - start > 0.15
        assert other.read_reply() == b"+OK\r\n"
    finally:
        other.close()


def test_debug_refused_when_disabled() -> None:
    ours = start_pyvalkey("--enable-debug-command", "no")
    theirs = start_oracle("--enable-debug-command", "no")
    try:
        a, b = RawClient(ours.port), RawClient(theirs.port)
        for args in (("DEBUG", "OBJECT", "x"), ("DEBUG", "HELP"), ("DEBUG",)):
            assert a(*args) == b(*args), args
        assert a("DEBUG", "HELP").startswith(b"-ERR DEBUG command not allowed.")
        a.close()
        b.close()
    finally:
        ours.stop()
        theirs.stop()


# -- LOLWUT ------------------------------------------------------------------------------------


def test_lolwut(r, diff) -> None:
    diff("LOLWUT", "VERSION", "x")
    diff("LOLWUT", "foo")
    diff("LOLWUT", "VERSION")
    art = r("LOLWUT")
    assert art.startswith(b"$") and b"ver. 9.1.2" in art
    assert r("LOLWUT", "VERSION", "5", "10", "5").startswith(b"$")
    assert r("LOLWUT", "30", "10").startswith(b"$")


# -- SHUTDOWN ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("bogus",), ("NOSAVE", "SAVE"), ("SAVE", "NOSAVE"), ("ABORT",), ("ABORT", "NOW"), ("NOW", "bogus")],
)
def test_shutdown_option_errors(diff, args) -> None:
    diff("SHUTDOWN", *args)


def test_shutdown_stops_the_process() -> None:
    server = start_pyvalkey()
    try:
        client = RawClient(server.port)
        client.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        client.sock.settimeout(5)
        assert client.sock.recv(100) == b""  # closed without a reply
        server.proc.wait(timeout=10)
        assert server.proc.returncode == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    finally:
        server.stop()


def test_shutdown_hook_can_veto(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # SHUTDOWN SAVE really writes dump.rdb (persistence's hook)
    from pyvalkey.commands import server as server_commands
    from pyvalkey.protocol.replies import ErrorReply
    from pyvalkey.server import Server

    calls = []

    def failing_save(server, options):  # type: ignore[no-untyped-def]
        calls.append((options.save, options.nosave, options.force))
        return b"disk full"

    server = Server()
    client = server.new_client()
    server_commands.SHUTDOWN_HOOKS.append(failing_save)
    try:
        with pytest.raises(ErrorReply) as error:
            server_commands.shutdown_command(client, [b"SHUTDOWN", b"SAVE"])
        assert error.value.message == b"ERR Errors trying to SHUTDOWN. Check logs."
        server_commands.shutdown_command(client, [b"SHUTDOWN", b"FORCE"])
        assert calls == [(True, False, False), (False, False, True)]
    finally:
        server_commands.SHUTDOWN_HOOKS.remove(failing_save)
