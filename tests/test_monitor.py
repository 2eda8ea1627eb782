"""MONITOR against the oracle: line format and escaping, redaction, hidden commands, the order
around transactions, what a monitoring client may still run. Timestamps and peer addresses are
normalised before comparing; everything else must match byte for byte."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from resp import RawClient
from servers import ServerProcess

_LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) 127\.0\.0\.1:\d+\] (.*)$")


def _drain(client: RawClient, wait: float = 0.2) -> bytes:
    time.sleep(wait)
    client.sock.settimeout(0.05)
    data = client.buf
    client.buf = b""
    try:
        while True:
            chunk = client.sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, OSError):
        pass
    client.sock.settimeout(10)
    return data


def _normalise(data: bytes) -> list[bytes]:
    lines = []
    for line in data.split(b"\r\n"):
        if not line:
            continue
        match = _LINE.match(line)
        assert match is not None, line
        assert abs(int(match.group(1)) - time.time()) < 60
        lines.append(b"[%s ADDR] %s" % (match.group(3), match.group(4)))
    return lines


@pytest.fixture
def pair(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> Iterator[list[tuple[RawClient, RawClient]]]:
    made = []
    for port in (pyvalkey_server.port, oracle_server.port):
        monitor, worker = RawClient(port), RawClient(port)
        worker("FLUSHALL")
        assert monitor("MONITOR") == b"+OK\r\n"
        made.append((monitor, worker))
    yield made
    for monitor, worker in made:
        monitor.close()
        worker.close()


def _both(pair: list[tuple[RawClient, RawClient]], *args: object, same: bool = True) -> None:
    replies = [worker(*args) for _, worker in pair]
    if same:
        assert replies[0] == replies[1], (args, replies)


def _compare(pair: list[tuple[RawClient, RawClient]]) -> list[bytes]:
    ours = _normalise(_drain(pair[0][0]))
    theirs = _normalise(_drain(pair[1][0], 0.0))
    assert ours == theirs
    return theirs


def test_lines_and_escaping(pair: list[tuple[RawClient, RawClient]]) -> None:
    _both(pair, "SET", "k", "a\x00b\"\\\n\r\t\x07\x08\x7f\xff é~ ")
    _both(pair, "GET", "k")
    _both(pair, "SELECT", "2")
    _both(pair, "GET", "12345")
    _both(pair, "SELECT", "0")
    _both(pair, "PING")
    _both(pair, "ECHO", "")
    lines = _compare(pair)
    assert len(lines) == 7


def test_hidden_and_redacted(pair: list[tuple[RawClient, RawClient]]) -> None:
    _both(pair, "AUTH", "x")
    _both(pair, "AUTH", "u", "p")
    _both(pair, "HELLO", "2", "AUTH", "u", "p")
    _both(pair, "HELLO", "2", same=False)  # the reply carries the client id
    _both(pair, "CONFIG", "GET", "maxmemory")
    _both(pair, "NOSUCH")
    _both(pair, "GET")
    _both(pair, "MONITOR")
    _both(pair, "INCR", "n")
    _compare(pair)


def test_transaction_order(pair: list[tuple[RawClient, RawClient]]) -> None:
    _both(pair, "MULTI")
    _both(pair, "SET", "x", "1")
    _both(pair, "GET", "x")
    _both(pair, "EXEC")
    _compare(pair)


def test_monitoring_client(pair: list[tuple[RawClient, RawClient]]) -> None:
    replies = []
    for monitor, _ in pair:
        replies.append((monitor("GET", "k"), monitor("SET", "k", "v"), monitor("PUBLISH", "c", "m"),
                        monitor("PING")))
    assert replies[0] == replies[1]
    _compare(pair)
    for monitor, _ in pair:
        assert monitor("RESET") == b"+RESET\r\n"
        assert monitor("GET", "k") == b"$-1\r\n"


_LUA_LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) lua\] (.*)$")


def _normalise_with_lua(data: bytes) -> list[bytes]:
    lines = []
    for line in data.split(b"\r\n"):
        if not line:
            continue
        lua = _LUA_LINE.match(line)
        if lua is not None:
            lines.append(b"[%s lua] %s" % (lua.group(3), lua.group(4)))
        else:
            lines.extend(_normalise(line))
    return lines


def test_scripts_and_functions(pair: list[tuple[RawClient, RawClient]]) -> None:
    """EVAL and FCALL show themselves (even when they fail) before their script's commands,
    which show as coming from ``lua``; inside MULTI they show at EXEC."""
    _both(pair, "EVAL", "redis.call('set','foo','bar') return 1", "0")
    _both(pair, "FUNCTION", "LOAD", "REPLACE", "#!lua name=mlib\nredis.register_function('mtest', function() return redis.call('set','x','1') end)")
    _both(pair, "FCALL", "mtest", "0")
    _both(pair, "EVAL", "return (", "0")
    _both(pair, "EVALSHA", "a" * 40, "0")
    _both(pair, "EVAL", "return redis.call('nosuch')", "0")
    _both(pair, "SELECT", "3")
    _both(pair, "MULTI")
    _both(pair, "EVAL_RO", "return redis.call('get','foo')", "0")
    _both(pair, "EXEC")
    _both(pair, "SELECT", "0")
    ours = _normalise_with_lua(_drain(pair[0][0]))
    theirs = _normalise_with_lua(_drain(pair[1][0], 0.0))
    assert ours == theirs
    assert b'[3 lua] "get" "foo"' in theirs
    _both(pair, "FUNCTION", "FLUSH")


def test_blocked_command_shown_once(pair: list[tuple[RawClient, RawClient]]) -> None:
    waiters = [RawClient(worker.sock.getpeername()[1]) for _, worker in pair]
    try:
        for waiter in waiters:
            waiter.send(b"*3\r\n$5\r\nBLPOP\r\n$6\r\nmylist\r\n$1\r\n0\r\n")
        time.sleep(0.1)
        _both(pair, "LPUSH", "mylist", "2")
        assert [waiter.read_reply() for waiter in waiters] == [b"*2\r\n$6\r\nmylist\r\n$1\r\n2\r\n"] * 2
        lines = _compare(pair)
        assert sum(b'"blpop"' in line.lower() for line in lines) == 1
    finally:
        for waiter in waiters:
            waiter.close()
