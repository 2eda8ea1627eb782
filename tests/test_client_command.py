"""Differential tests for the CLIENT command: identity, LIST/INFO format, filters, KILL, REPLY,
PAUSE/UNPAUSE, UNBLOCK, NO-EVICT/NO-TOUCH, CAPA and HELP."""

from __future__ import annotations

import re
import time

import pytest
from resp import RawClient, encode_command


def fields(line: bytes) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in line.decode().split(" ")]  # type: ignore[misc]


def body(reply: bytes) -> bytes:
    """The text of a CLIENT LIST/INFO reply (bulk in RESP2, verbatim txt in RESP3)."""
    head, _, rest = reply.partition(b"\r\n")
    text = rest[: -2]
    if head.startswith(b"="):
        assert text.startswith(b"txt:")
        text = text[4:]
    return text


# Values that are allowed to differ (addresses, ids, memory and byte counters).
_VOLATILE = {"id", "addr", "laddr", "fd", "age", "idle", "qbuf", "qbuf-free", "rbs", "rbp", "tot-mem",
             "tot-net-in", "tot-net-out", "omem", "obl", "argv-mem", "tot-cmds"}


def assert_same_line(ours: bytes, theirs: bytes) -> None:
    mine, real = fields(ours), fields(theirs)
    assert [k for k, _ in mine] == [k for k, _ in real]
    for (key, a), (_, b) in zip(mine, real):
        if key not in _VOLATILE:
            assert a == b, f"{key}: {a!r} != {b!r}"


@pytest.mark.parametrize("resp3", [False, True])
def test_client_info_format(diff, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    diff("CLIENT", "SETNAME", "me")
    diff("CLIENT", "SETINFO", "LIB-NAME", "mylib")
    diff("CLIENT", "SETINFO", "lib-ver", "1.2.3")
    diff("SELECT", "3")
    ours, theirs = diff.both("CLIENT", "INFO")
    assert ours[:1] == theirs[:1]
    assert_same_line(body(ours).rstrip(b"\n"), body(theirs).rstrip(b"\n"))
    ours, theirs = diff.both("CLIENT", "LIST", "ID", diff.ours("CLIENT", "ID")[1:-2], "SKIPME", "no")
    theirs2 = diff.theirs("CLIENT", "LIST", "ID", diff.theirs("CLIENT", "ID")[1:-2])
    assert_same_line(body(ours).rstrip(b"\n"), body(theirs2).rstrip(b"\n"))


def test_client_list_other_client(diff, pyvalkey_server, oracle_server) -> None:
    extra = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        for conn in extra:
            conn("GET", "x")
            conn("CLIENT", "NO-EVICT", "on")
            conn("CLIENT", "CAPA", "redirect", "other")
        ids = [int(conn("CLIENT", "ID")[1:-2]) for conn in extra]
        lines = [body(c("CLIENT", "LIST", "ID", i)).rstrip(b"\n") for c, i in zip((diff.ours, diff.theirs), ids)]
        assert_same_line(*lines)
        assert b" flags=e capa=r " in lines[0] and b" cmd=client|id " in lines[0]
        assert lines[0].endswith(b" tot-cmds=4") and lines[1].endswith(b" tot-cmds=4")
    finally:
        for conn in extra:
            conn.close()


def test_identity_errors(diff) -> None:
    diff("CLIENT", "GETNAME")
    for name in ("a b", "a\nb", "\x01", "\xc3\xa9"):
        diff("CLIENT", "SETNAME", name)
    diff("CLIENT", "SETNAME", "ok-name")
    diff("CLIENT", "GETNAME")
    diff("CLIENT", "SETNAME", "")
    diff("CLIENT", "GETNAME")
    diff("CLIENT", "SETNAME")
    diff("CLIENT", "SETNAME", "a", "b")
    diff("CLIENT", "GETNAME", "x")
    diff("CLIENT", "ID", "x")
    diff("CLIENT", "INFO", "x")
    diff("CLIENT", "SETINFO", "lib-name", "a b")
    diff("CLIENT", "SETINFO", "LIB-VER", "a b")
    diff("CLIENT", "SETINFO", "foo", "bar")
    diff("CLIENT", "SETINFO", "lib-name")
    diff("CLIENT", "SETINFO", "lib-name", "")
    diff("CLIENT")
    diff("CLIENT", "FOO")
    # HELP is in our own words: check its shape (see test_help.py), not Valkey's bytes.
    from test_help import assert_help_shape

    assert_help_shape(diff.ours("CLIENT", "HELP"), "CLIENT")
    diff("CLIENT", "HELP", "x")
    diff("CLIENT", "CAPA")
    diff("CLIENT", "CAPA", "foo")
    for sub in ("NO-EVICT", "NO-TOUCH"):
        for arg in ("on", "OFF", "x"):
            diff("CLIENT", sub, arg)
        diff("CLIENT", sub)
        diff("CLIENT", sub, "on", "x")
    diff("CLIENT", "IMPORT-SOURCE", "on")


def test_client_id(diff) -> None:
    ours, theirs = diff.both("CLIENT", "ID")
    assert ours[:1] == theirs[:1] == b":"


@pytest.mark.parametrize("resp3", [False, True])
def test_list_filter_errors(diff, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    cases = [
        ("TYPE", "foo"), ("TYPE",), ("ID",), ("ID", "abc"), ("ID", "0"), ("ID", "-1"), ("ID", "1", "2", "abc"),
        ("ID", "9223372036854775808"), ("foo",), ("SKIPME", "foo"), ("IDLE", "0"), ("IDLE", "-1"), ("IDLE", "x"),
        ("MAXAGE", "0"), ("MAXAGE", "x"), ("DB", "x"), ("DB", "99"), ("DB", "-1"), ("DB", "+1"), ("DB", "16"),
        ("NOT-DB", "x"), ("NOT-DB", "77"), ("CAPA", "x"), ("NOT-CAPA", "x"), ("FLAGS", "Z"), ("FLAGS", "n"),
        ("NOT-FLAGS", "Q"), ("FLAGS",), ("USER", "nobody"), ("NOT-USER", "nobody"), ("NOT-TYPE", "foo"),
        ("NOT-MAXAGE", "1"), ("NOT-IDLE", "1"), ("NOT-SKIPME", "no"), ("ID", "1", "NAME"),
    ]
    for args in cases:
        diff("CLIENT", "LIST", *args)


def test_list_filters_match(diff) -> None:
    # Filters that select nothing give the same empty reply on both servers.
    for args in (("ID", "999999"), ("NAME", "nobody-has-this"), ("LIB-NAME", "x"), ("LIB-VER", "x"),
                 ("ADDR", "1.2.3.4:5"), ("LADDR", "1.2.3.4:5"), ("IP", "10.9.9.9"), ("TYPE", "master"),
                 ("TYPE", "primary"), ("TYPE", "replica"), ("TYPE", "slave"), ("CAPA", "r"), ("IDLE", "100000"),
                 ("MAXAGE", "100000"), ("SKIPME", "yes", "NAME", "x"), ("DB", "15"), ("FLAGS", "M"),
                 ("NOT-FLAGS", "N", "NAME", "me2"), ("ID", "999999", "TYPE", "normal")):
        diff("CLIENT", "LIST", *args)
    diff("CLIENT", "SETNAME", "me2")
    diff("SELECT", "1")
    for args in (("NAME", "me2"), ("NAME", "me2", "TYPE", "normal"), ("NAME", "me2", "FLAGS", "NN"),
                 ("NAME", "me2", "DB", "1"), ("NAME", "me2", "NOT-DB", "0"), ("NAME", "me2", "USER", "default"),
                 ("NAME", "me2", "IP", "127.0.0.1"), ("NAME", "me2", "NOT-ID", "999999"),
                 ("NAME", "me2", "CAPA", ""), ("NAME", "me2", "SKIPME", "no"), ("NAME", "me2", "NOT-NAME", "x")):
        ours, theirs = diff.both("CLIENT", "LIST", *args)
        assert_same_line(body(ours).rstrip(b"\n"), body(theirs).rstrip(b"\n"))
    for args in (("NAME", "me2", "SKIPME", "yes"), ("NAME", "me2", "NOT-IP", "127.0.0.1"),
                 ("NAME", "me2", "TYPE", "pubsub"), ("NAME", "me2", "NOT-NAME", "me2")):
        diff("CLIENT", "LIST", *args)


def test_kill_errors(diff) -> None:
    for args in (("x",), ("ID",), ("1.2.3.4:5",), ("ID", "999999"), ("ID", "0"), ("ID", "x"), ("ID", "-1"),
                 ("ID", "99999999999999999999"), ("MAXAGE", "0"), ("MAXAGE", "-5"), ("MAXAGE", "x"),
                 ("IDLE", "0"), ("IDLE", "x"), ("TYPE", "foo"), ("USER", "nobody"), ("SKIPME", "x"),
                 ("foo", "bar"), ("ID", "999998", "999999"), ("DB", "99"), ("NAME", "zz"), ("FLAGS", "Q"),
                 ("CAPA", "foo"), ("TYPE", "master"), ("ADDR", "1.2.3.4:5"), ("ID", "1", "TYPE")):
        diff("CLIENT", "KILL", *args)
    diff("CLIENT", "KILL")


def _victims(pyvalkey_server, oracle_server) -> list[RawClient]:
    return [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]


def _addr(conn: RawClient) -> bytes:
    info = body(conn("CLIENT", "INFO")).decode()
    return re.search(r" addr=(\S+) ", info).group(1).encode()  # type: ignore[union-attr]


def test_kill_by_id_and_addr(diff, pyvalkey_server, oracle_server) -> None:
    victims = _victims(pyvalkey_server, oracle_server)
    ids = [conn("CLIENT", "ID")[1:-2] for conn in victims]
    assert diff.ours("CLIENT", "KILL", "ID", ids[0]) == diff.theirs("CLIENT", "KILL", "ID", ids[1]) == b":1\r\n"
    assert all(conn.is_closed() for conn in victims)
    # Gone from CLIENT LIST at once.
    assert diff.ours("CLIENT", "LIST", "ID", ids[0]) == diff.theirs("CLIENT", "LIST", "ID", ids[1])
    victims = _victims(pyvalkey_server, oracle_server)
    addrs = [_addr(conn) for conn in victims]
    assert diff.ours("CLIENT", "KILL", addrs[0]) == diff.theirs("CLIENT", "KILL", addrs[1]) == b"+OK\r\n"
    assert all(conn.is_closed() for conn in victims)
    victims = _victims(pyvalkey_server, oracle_server)
    addrs = [_addr(conn) for conn in victims]
    replies = [me("CLIENT", "KILL", "ADDR", a, "SKIPME", "yes") for me, a in zip((diff.ours, diff.theirs), addrs)]
    assert replies[0] == replies[1] == b":1\r\n"
    for conn in victims:
        conn.close()


def test_kill_by_name_and_maxage(diff, pyvalkey_server, oracle_server) -> None:
    victims = _victims(pyvalkey_server, oracle_server)
    for conn in victims:
        conn("CLIENT", "SETNAME", "kill-me")
    diff("CLIENT", "KILL", "NAME", "kill-me", "MAXAGE", "100000")
    diff("CLIENT", "KILL", "NAME", "kill-me", "LIB-NAME", "nolib")
    diff("CLIENT", "KILL", "NAME", "kill-me", "TYPE", "normal", "USER", "default")
    assert all(conn.is_closed() for conn in victims)
    for conn in victims:
        conn.close()


def test_kill_self(pyvalkey_server, oracle_server) -> None:
    for port in (pyvalkey_server.port, oracle_server.port):
        conn = RawClient(port)
        conn("CLIENT", "SETNAME", "suicide")
        cid = conn("CLIENT", "ID")[1:-2]
        assert conn("CLIENT", "KILL", "ID", cid) == b":0\r\n"  # SKIPME yes by default
        conn.send(encode_command("CLIENT", "KILL", "ID", cid, "SKIPME", "no") + b"PING\r\n")
        assert conn.read_reply() == b":1\r\n"
        assert conn.is_closed()
        conn.close()
        conn = RawClient(port)
        addr = _addr(conn)
        assert conn("CLIENT", "KILL", addr) == b"+OK\r\n"
        assert conn.is_closed()
        conn.close()


def _pipeline(conn: RawClient, *commands: tuple[str, ...]) -> bytes:
    conn.send(b"".join(encode_command(*c) for c in commands) + encode_command("PING", "end"))
    out = b""
    while not out.endswith(b"$3\r\nend\r\n"):
        out += conn.read_reply()
    return out


@pytest.mark.parametrize(
    "commands",
    [
        [("CLIENT", "REPLY", "SKIP"), ("PING", "a"), ("PING", "b")],
        [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING", "c")],
        [("CLIENT", "REPLY", "OFF"), ("PING", "d"), ("CLIENT", "REPLY", "SKIP"), ("PING", "e"),
         ("CLIENT", "REPLY", "ON"), ("PING", "f")],
        [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("PING", "g"), ("CLIENT", "REPLY", "ON")],
        [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING", "i"), ("PING", "j")],
        [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "FOO"), ("PING", "k")],
        [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "FOO"), ("SET", "x", "1"), ("CLIENT", "REPLY", "ON")],
        [("CLIENT", "REPLY", "FOO")],
        [("CLIENT", "REPLY")],
        [("CLIENT", "REPLY", "ON", "x")],
    ],
)
def test_reply_modes(diff, commands) -> None:
    assert _pipeline(diff.ours, *commands) == _pipeline(diff.theirs, *commands)


def test_unblock(diff) -> None:
    for args in (("x",), ("1", "foo"), ("x", "foo"), ("999999",), ("999999", "error"), ("999999", "TIMEOUT")):
        diff("CLIENT", "UNBLOCK", *args)
    diff("CLIENT", "UNBLOCK")
    diff("CLIENT", "UNBLOCK", "1", "error", "x")
    ours, theirs = diff.both("CLIENT", "ID")
    assert diff.ours("CLIENT", "UNBLOCK", ours[1:-2]) == diff.theirs("CLIENT", "UNBLOCK", theirs[1:-2]) == b":0\r\n"


def test_pause_errors(diff) -> None:
    try:
        for args in (("x",), ("-1",), ("10", "foo"), ("x", "foo"), ("9223372036854775807",), ("10", "write"),
                     ("10", "ALL"), ("0",)):
            diff("CLIENT", "PAUSE", *args)
        diff("CLIENT", "PAUSE")
        diff("CLIENT", "PAUSE", "1", "all", "x")
        diff("CLIENT", "UNPAUSE", "x")
    finally:
        diff("CLIENT", "UNPAUSE")


def _read_with_timeout(conn: RawClient, timeout: float) -> bytes | None:
    conn.sock.settimeout(timeout)
    try:
        return conn.read_reply()
    except OSError:
        return None
    finally:
        conn.sock.settimeout(10)


def test_pause_write_holds_set_serves_get(diff, pyvalkey_server, oracle_server) -> None:
    for me, port in ((diff.ours, pyvalkey_server.port), (diff.theirs, oracle_server.port)):
        me("SET", "k", "old")
        other = RawClient(port)
        other_id = other("CLIENT", "ID")[1:-2]
        try:
            assert me("CLIENT", "PAUSE", "60000", "WRITE") == b"+OK\r\n"
            other.send(encode_command("SET", "k", "new") + encode_command("GET", "k"))
            assert _read_with_timeout(other, 0.3) is None  # SET held, GET waits behind it
            assert me("GET", "k") == b"$3\r\nold\r\n"  # reads are served
            assert me("SET") == b"-ERR wrong number of arguments for 'set' command\r\n"  # errors at once
            assert b" flags=b " in body(me("CLIENT", "LIST", "ID", other_id))  # shown as blocked
            assert me("CLIENT", "UNPAUSE") == b"+OK\r\n"
            assert other.read_reply() == b"+OK\r\n"
            assert other.read_reply() == b"$3\r\nnew\r\n"
        finally:
            me("CLIENT", "UNPAUSE")
            other.close()


def test_pause_deadline_and_all(diff, pyvalkey_server, oracle_server) -> None:
    for me, port in ((diff.ours, pyvalkey_server.port), (diff.theirs, oracle_server.port)):
        other = RawClient(port)
        try:
            start = time.monotonic()
            assert me("CLIENT", "PAUSE", "300", "ALL") == b"+OK\r\n"
            assert me("CLIENT", "PAUSE", "10", "WRITE") == b"+OK\r\n"  # ALL and the later deadline win
            other.send(encode_command("GET", "k") + encode_command("NOSUCHCMD"))
            reply = other.read_reply()
            assert reply.startswith(b"$")
            assert time.monotonic() - start >= 0.25
            assert other.read_reply().startswith(b"-ERR unknown command")
        finally:
            me("CLIENT", "UNPAUSE")
            other.close()


def test_pause_queue_order(diff, pyvalkey_server, oracle_server) -> None:
    for me, port in ((diff.ours, pyvalkey_server.port), (diff.theirs, oracle_server.port)):
        key = f"seq{time.time_ns()}"
        clients = [RawClient(port) for _ in range(3)]
        try:
            me("CLIENT", "PAUSE", "60000", "WRITE")
            for i, conn in enumerate(clients):
                conn.send(encode_command("SET", key, str(i)) + encode_command("PING", str(i)))
                time.sleep(0.05)
            assert me("GET", key) == b"$-1\r\n"
            me("CLIENT", "UNPAUSE")
            for i, conn in enumerate(clients):
                assert conn.read_reply() == b"+OK\r\n"
                assert conn.read_reply() == b"$1\r\n%d\r\n" % i
            assert me("GET", key) == b"$1\r\n2\r\n"  # held writes ran in arrival order
        finally:
            me("CLIENT", "UNPAUSE")
            for conn in clients:
                conn.close()


def test_multi_field_after_first_transaction(diff) -> None:  # type: ignore[no-untyped-def]
    """multi=-1 until the client first used MULTI or WATCH, 0 afterwards (outside MULTI)."""
    import re

    def multi_fields() -> tuple[bytes, bytes]:
        mine, real = diff.both("CLIENT", "INFO")
        return re.search(rb"multi=-?\d+", mine).group(0), re.search(rb"multi=-?\d+", real).group(0)  # type: ignore[union-attr]

    first = multi_fields()
    assert first[0] == first[1] == b"multi=-1"
    diff("MULTI")
    diff("PING")
    diff("DISCARD")
    after = multi_fields()
    assert after[0] == after[1] == b"multi=0"
    diff("RESET")
    assert multi_fields() == (b"multi=0", b"multi=0")


def test_tot_cmds_counts_script_commands(diff) -> None:  # type: ignore[no-untyped-def]
    import re

    diff("EVAL", "server.call('ping') server.call('ping')", "0")
    diff("EVAL", "server.pcall('nosuch')", "0")
    mine, real = diff.both("CLIENT", "INFO")
    ours = re.search(rb"tot-cmds=\d+", mine).group(0)  # type: ignore[union-attr]
    theirs = re.search(rb"tot-cmds=\d+", real).group(0)  # type: ignore[union-attr]
    assert ours == theirs


def test_pause_write_holds_writing_scripts_and_hidden_may_replicate(pyvalkey_server, oracle_server) -> None:  # type: ignore[no-untyped-def]
    """CLIENT PAUSE WRITE holds EVAL/FCALL unless the script is declared no-writes, and the
    commands Valkey flags may-replicate without showing it (PUBLISH, PFCOUNT); EXEC of a queue
    holding such a script is held too."""
    import socket
    import time

    from resp import RawClient, encode_command

    held_cases = [
        ("EVAL", "return 1", "0"),
        ("EVAL", "#!lua\nreturn 1", "0"),
        ("FCALL", "pw", "0"),
        ("PFCOUNT", "hll"),
        ("PUBLISH", "ch", "m"),
    ]
    free_cases = [
        ("EVAL", "#!lua flags=no-writes\nreturn 2", "0"),
        ("EVAL_RO", "return 3", "0"),
        ("FCALL", "pr", "0"),
        ("GET", "x"),
    ]
    for port in (pyvalkey_server.port, oracle_server.port):
        admin = RawClient(port)
        admin("FUNCTION", "LOAD", "REPLACE", "#!lua name=pauselib\nserver.register_function('pw', function() return 1 end)\n"
              "server.register_function{function_name='pr', callback=function() return 2 end, flags={'no-writes'}}")
        multi = socket.create_connection(("127.0.0.1", port))
        multi.sendall(encode_command("MULTI") + encode_command("EVAL", "#!lua\nreturn 12", "0"))
        time.sleep(0.1)
        assert multi.recv(100) == b"+OK\r\n+QUEUED\r\n"
        admin("CLIENT", "PAUSE", "60000", "WRITE")
        try:
            conns = []
            for args in held_cases + free_cases:
                conn = socket.create_connection(("127.0.0.1", port))
                conn.sendall(encode_command(*args))
                conns.append(conn)
            multi.sendall(encode_command("EXEC"))
            time.sleep(0.3)
            blocked = admin("INFO", "clients")
            assert b"blocked_clients:%d\r\n" % (len(held_cases) + 1) in blocked, (port, blocked)
            for conn in conns[len(held_cases):]:
                conn.settimeout(2)
                assert conn.recv(100)  # answered while paused
        finally:
            admin("CLIENT", "UNPAUSE")
        for conn in conns[: len(held_cases)] + [multi]:
            conn.settimeout(2)
            assert conn.recv(100)
            conn.close()
        for conn in conns[len(held_cases):]:
            conn.close()
        admin("FUNCTION", "DELETE", "pauselib")
        admin.close()
