"""Differential tests for PING, ECHO, SELECT, QUIT, HELLO, AUTH and RESET (RESP2 and RESP3)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey

_ID_FIELD = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")


def mask_id(reply: bytes) -> bytes:
    """HELLO carries the connection id, which differs between the servers."""
    assert _ID_FIELD.search(reply), reply
    return _ID_FIELD.sub(b"$2\r\nid\r\n:ID\r\n", reply)


def hello_both(diff, *args: object) -> bytes:
    ours, theirs = diff.both("HELLO", *args)
    if theirs.startswith(b"-"):
        assert ours == theirs
        return theirs
    assert mask_id(ours) == mask_id(theirs)
    return theirs


@pytest.mark.parametrize("resp3", [False, True])
def test_ping_echo(diff, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    diff("PING")
    diff("PING", "hello")
    diff("PING", "")
    diff("PING", "a", "b")
    diff("ECHO", "x y")
    diff("ECHO", "")
    diff("ECHO")
    diff("ECHO", "a", "b")


def test_select(diff) -> None:
    for arg in ("0", "15", "16", "-1", "1.5", "+1", " 1", "abc", "99999999999999999999"):
        diff("SELECT", arg)
    diff("SELECT")
    diff("SET", "k", "v")
    diff("SELECT", "3")
    diff("GET", "k")
    diff("SELECT", "0")
    diff("GET", "k")


def test_hello_maps(diff) -> None:
    hello_both(diff)
    hello_both(diff, "3")
    diff("PING")  # now RESP3 on both
    hello_both(diff)  # keeps the protocol
    hello_both(diff, "2")
    hello_both(diff, "3", "SETNAME", "conn1")
    diff("CLIENT", "GETNAME")
    hello_both(diff, "2", "AUTH", "default", "anything")  # default user has no password


def test_hello_errors(diff) -> None:
    for args in (
        ("1",), ("4",), ("0",), ("-3",), ("abc",), ("2.0",), ("3", "AUTH", "default"), ("3", "SETNAME"),
        ("3", "FOO"), ("3", "SETNAME", "a b"), ("3", "SETNAME", "a\nb"), ("4", "AUTH", "a", "b"),
        ("3", "AUTH", "nobody", "pw"),
    ):
        hello_both(diff, *args)
    diff("PING")  # still RESP2: failed HELLOs changed nothing
    diff("CLIENT", "GETNAME")


def test_hello_setname_empty_clears(diff) -> None:
    diff("CLIENT", "SETNAME", "before")
    hello_both(diff, "2", "SETNAME", "")
    diff("CLIENT", "GETNAME")


def test_auth_without_password(diff) -> None:
    diff("AUTH", "x")
    diff("AUTH", "default", "x")
    diff("AUTH", "nobody", "x")
    diff("AUTH", "a", "b", "c")
    diff("AUTH")


@pytest.mark.parametrize("resp3", [False, True])
def test_reset(diff, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    diff("SELECT", "2")
    diff("CLIENT", "SETNAME", "n")
    diff("CLIENT", "SETINFO", "LIB-NAME", "lib")
    diff("CLIENT", "NO-TOUCH", "ON")
    diff("CLIENT", "NO-EVICT", "ON")
    diff("RESET")
    diff("RESET", "x")
    diff("CLIENT", "GETNAME")
    diff("PING")  # back to RESP2
    ours, theirs = diff.both("CLIENT", "INFO")
    for reply in (ours, theirs):
        text = reply.decode()
        assert " db=0 " in text and " flags=N " in text and " name= " in text and " lib-name=lib " in text


def test_reset_reply_mode(diff) -> None:
    diff.ours.send(b"CLIENT REPLY OFF\r\nRESET\r\nPING\r\n")
    diff.theirs.send(b"CLIENT REPLY OFF\r\nRESET\r\nPING\r\n")
    assert diff.ours.read_reply() == diff.theirs.read_reply() == b"+RESET\r\n"
    assert diff.ours.read_reply() == diff.theirs.read_reply() == b"+PONG\r\n"


def test_quit(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> None:
    for port in (pyvalkey_server.port, oracle_server.port):
        conn = RawClient(port)
        conn.send(b"QUIT\r\nPING\r\n")
        assert conn.read_reply() == b"+OK\r\n"
        assert conn.is_closed()
        conn.close()


@pytest.fixture(scope="module")
def secured() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    ours = start_pyvalkey("--requirepass", "s3cret")
    try:
        theirs = start_oracle("--requirepass", "s3cret")
    except Exception:
        ours.stop()
        raise
    yield ours, theirs
    ours.stop()
    theirs.stop()


class _Pair:
    def __init__(self, servers: tuple[ServerProcess, ServerProcess]) -> None:
        self.ours = RawClient(servers[0].port)
        self.theirs = RawClient(servers[1].port)

    def __call__(self, *args: object) -> bytes:
        mine, real = self.ours(*args), self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def hello(self, *args: object) -> bytes:
        mine, real = self.ours("HELLO", *args), self.theirs("HELLO", *args)
        if real.startswith(b"-"):
            assert mine == real
        else:
            assert mask_id(mine) == mask_id(real)
        return real

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


def test_auth_flow(secured) -> None:
    pair = _Pair(secured)
    try:
        pair("PING")
        pair("ECHO", "x")
        pair("CLIENT", "ID")
        pair.hello()
        pair.hello("3")
        pair.hello("3", "SETNAME", "x")
        pair("AUTH")
        pair("AUTH", "wrong")
        pair("AUTH", "default", "wrong")
        pair("AUTH", "nobody", "s3cret")
        pair("AUTH", "a", "b", "c")
        pair("PING")
        pair("AUTH", "s3cret")
        pair("PING")
        pair("AUTH", "wrong")  # a failed AUTH keeps the earlier login
        pair("PING")
        pair("AUTH", "default", "s3cret")
        pair("RESET")
        pair("PING")  # RESET logs out
        pair("QUIT")
    finally:
        pair.close()


def test_hello_auth(secured) -> None:
    pair = _Pair(secured)
    try:
        pair.hello("3", "AUTH", "default", "wrong")
        pair.hello("4", "AUTH", "default", "s3cret")
        pair.hello("3", "AUTH", "nobody", "s3cret")
        pair("PING")
        assert pair.hello("3", "AUTH", "default", "s3cret", "SETNAME", "n1").startswith(b"%7")
        pair("PING")
        pair("CLIENT", "GETNAME")
        pair.hello("2")
    finally:
        pair.close()
