"""List commands against the oracle: replies, errors, RESP3 shapes, key removal and encodings."""

from __future__ import annotations

import random
import time

import pytest
from conftest import Differ
from resp import RawClient, encode_command


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request: pytest.FixtureRequest, diff: Differ) -> Differ:
    if request.param == 3:
        diff.resp3()
    return diff


def _wrongtype(d: Differ) -> None:
    d("SET", "s", "v")


# -- pushes ------------------------------------------------------------------------------------


def test_push_family(d: Differ) -> None:
    d("LPUSH", "l", "a", "b", "c")
    d("RPUSH", "l", "d", "1", "-5", "")
    d("LRANGE", "l", "0", "-1")
    d("LPUSHX", "missing", "a")
    d("RPUSHX", "missing", "a", "b")
    d("EXISTS", "missing")
    d("LPUSHX", "l", "x", "y")
    d("RPUSHX", "l", "z")
    d("LRANGE", "l", "0", "-1")
    d("LPUSH", "l")
    d("RPUSHX", "l")
    _wrongtype(d)
    for cmd in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        d(cmd, "s", "x")
    d("TYPE", "l")


def test_linsert(d: Differ) -> None:
    d("RPUSH", "l", "a", "b", "c", "b")
    d("LINSERT", "l", "BEFORE", "b", "x")
    d("LINSERT", "l", "after", "b", "y")
    d("LINSERT", "l", "AFTER", "c", "z")
    d("LINSERT", "l", "BEFORE", "nope", "z")
    d("LINSERT", "l", "MIDDLE", "b", "z")
    d("LINSERT", "missing", "BEFORE", "a", "z")
    d("LINSERT", "missing", "SIDEWAYS", "a", "z")
    d("LRANGE", "l", "0", "-1")
    _wrongtype(d)
    d("LINSERT", "s", "BEFORE", "a", "z")
    d("LINSERT", "s", "BAD", "a", "z")


# -- reads ---------------------------------------------------------------------------------------


def test_llen_lindex(d: Differ) -> None:
    d("LLEN", "missing")
    d("LINDEX", "missing", "0")
    d("LINDEX", "missing", "notanumber")
    d("RPUSH", "l", "a", "b", "12", "-3")
    d("LLEN", "l")
    for index in ("0", "1", "2", "3", "4", "-1", "-4", "-5", "100", "-100"):
        d("LINDEX", "l", index)
    d("LINDEX", "l", "1.5")
    d("LINDEX", "l", "99999999999999999999")
    d("LINDEX", "l", "+1")
    _wrongtype(d)
    d("LLEN", "s")
    d("LINDEX", "s", "0")
    d("LINDEX", "s", "x")


def test_lrange(d: Differ) -> None:
    d("LRANGE", "missing", "0", "-1")
    d("LRANGE", "missing", "a", "-1")
    d("RPUSH", "l", *[str(i) for i in range(10)])
    for start, stop in [
        (0, -1), (2, 4), (-3, -1), (-100, 100), (5, 2), (10, 20), (-1, -2), (0, 0), (9, 9), (-10, -10),
        (3, -100),
    ]:
        d("LRANGE", "l", str(start), str(stop))
    d("LRANGE", "l", "x", "1")
    d("LRANGE", "l", "0", "y")
    d("LRANGE", "l", "-9223372036854775808", "9223372036854775807")
    _wrongtype(d)
    d("LRANGE", "s", "0", "-1")
    d("LRANGE", "s", "x", "-1")


def test_lpos(d: Differ) -> None:
    d("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    d("LPOS", "l", "c")
    d("LPOS", "l", "zz")
    d("LPOS", "l", "c", "RANK", "2")
    d("LPOS", "l", "c", "RANK", "-1")
    d("LPOS", "l", "c", "RANK", "-2")
    d("LPOS", "l", "c", "RANK", "9")
    d("LPOS", "l", "c", "COUNT", "0")
    d("LPOS", "l", "c", "COUNT", "2")
    d("LPOS", "l", "c", "COUNT", "2", "RANK", "2")
    d("LPOS", "l", "c", "COUNT", "0", "RANK", "-1")
    d("LPOS", "l", "zz", "COUNT", "0")
    d("LPOS", "l", "c", "MAXLEN", "3")
    d("LPOS", "l", "c", "MAXLEN", "3", "COUNT", "0")
    d("LPOS", "l", "c", "MAXLEN", "1", "RANK", "-1")
    d("LPOS", "l", "c", "MAXLEN", "0", "COUNT", "1")
    d("LPOS", "l", "1")
    d("LPOS", "missing", "c")
    d("LPOS", "missing", "c", "COUNT", "1")
    # errors
    d("LPOS", "l", "c", "RANK", "0")
    d("LPOS", "l", "c", "RANK", "-9223372036854775808")
    d("LPOS", "l", "c", "RANK", "-9223372036854775807")
    d("LPOS", "l", "c", "RANK", "x")
    d("LPOS", "l", "c", "COUNT", "-1")
    d("LPOS", "l", "c", "COUNT", "x")
    d("LPOS", "l", "c", "MAXLEN", "-1")
    d("LPOS", "l", "c", "MAXLEN", "x")
    d("LPOS", "l", "c", "RANK")
    d("LPOS", "l", "c", "BOGUS", "1")
    d("LPOS", "missing", "c", "RANK", "0")
    _wrongtype(d)
    d("LPOS", "s", "c")
    d("LPOS", "s", "c", "RANK", "0")


# -- in-place changes ------------------------------------------------------------------------


def test_lset(d: Differ) -> None:
    d("LSET", "missing", "0", "x")
    d("LSET", "missing", "x", "x")
    d("RPUSH", "l", "a", "b", "c")
    d("LSET", "l", "0", "x")
    d("LSET", "l", "-1", "y")
    d("LSET", "l", "3", "z")
    d("LSET", "l", "-4", "z")
    d("LSET", "l", "abc", "z")
    d("LRANGE", "l", "0", "-1")
    _wrongtype(d)
    d("LSET", "s", "0", "x")


def test_ltrim(d: Differ) -> None:
    d("LTRIM", "missing", "0", "1")
    d("LTRIM", "missing", "x", "1")
    d("RPUSH", "l", *[str(i) for i in range(10)])
    d("LTRIM", "l", "1", "-2")
    d("LRANGE", "l", "0", "-1")
    d("LTRIM", "l", "-3", "100")
    d("LRANGE", "l", "0", "-1")
    d("LTRIM", "l", "0", "x")
    d("LTRIM", "l", "2", "1")
    d("EXISTS", "l")
    d("RPUSH", "l", "a", "b")
    d("LTRIM", "l", "5", "10")
    d("EXISTS", "l")
    _wrongtype(d)
    d("LTRIM", "s", "0", "1")
    d("LTRIM", "s", "a", "1")


def test_lrem(d: Differ) -> None:
    d("LREM", "missing", "0", "a")
    d("RPUSH", "l", "a", "b", "a", "c", "a", "b", "1", "01")
    d("LREM", "l", "1", "a")
    d("LRANGE", "l", "0", "-1")
    d("LREM", "l", "-1", "b")
    d("LRANGE", "l", "0", "-1")
    d("LREM", "l", "0", "a")
    d("LREM", "l", "0", "1")
    d("LREM", "l", "5", "zz")
    d("LRANGE", "l", "0", "-1")
    d("LREM", "l", "x", "a")
    d("LREM", "l", "-9223372036854775808", "a")
    d("LREM", "l", "-9223372036854775807", "b")
    d("LREM", "l", "0", "01")
    d("EXISTS", "l")
    d("LREM", "l", "0", "c")
    d("EXISTS", "l")
    _wrongtype(d)
    d("LREM", "s", "0", "a")
    d("LREM", "s", "x", "a")


# -- pops and moves ------------------------------------------------------------------------------


def test_pop_shapes(d: Differ) -> None:
    for cmd in ("LPOP", "RPOP"):
        d(cmd, "missing")
        d(cmd, "missing", "0")
        d(cmd, "missing", "3")
        d(cmd, "missing", "-1")
        d(cmd, "missing", "x")
        d(cmd, "missing", "1", "2")
        d("RPUSH", "l", "a", "b", "c", "d", "e")
        d(cmd, "l")
        d(cmd, "l", "0")
        d(cmd, "l", "2")
        d(cmd, "l", "-1")
        d(cmd, "l", "x")
        d(cmd, "l", "1", "2")
        d(cmd, "l", "100")
        d("EXISTS", "l")
        d("RPUSH", "l", "only")
        d(cmd, "l")
        d("EXISTS", "l")
    _wrongtype(d)
    for cmd in ("LPOP", "RPOP"):
        d(cmd, "s")
        d(cmd, "s", "0")
        d(cmd, "s", "-1")


def test_lmove_rpoplpush(d: Differ) -> None:
    d("RPUSH", "src", "a", "b", "c")
    for wherefrom in ("LEFT", "RIGHT", "left"):
        for whereto in ("LEFT", "RIGHT", "right"):
            d("LMOVE", "src", "dst", wherefrom, whereto)
    d("LRANGE", "dst", "0", "-1")
    d("EXISTS", "src")
    d("LMOVE", "src", "dst", "LEFT", "RIGHT")
    d("LMOVE", "dst", "dst", "UP", "LEFT")
    d("LMOVE", "dst", "dst", "LEFT", "DOWN")
    d("LMOVE", "missing", "dst", "LEFT", "DOWN")
    # rotation on the same key
    d("RPUSH", "r", "1", "2", "3")
    d("LMOVE", "r", "r", "LEFT", "RIGHT")
    d("RPOPLPUSH", "r", "r")
    d("RPOPLPUSH", "r", "r")
    d("LRANGE", "r", "0", "-1")
    d("RPUSH", "one", "x")
    d("RPOPLPUSH", "one", "one")
    d("LMOVE", "one", "one", "LEFT", "LEFT")
    d("LRANGE", "one", "0", "-1")
    d("RPOPLPUSH", "one", "other")
    d("EXISTS", "one")
    d("RPOPLPUSH", "missing", "other")
    d("LRANGE", "other", "0", "-1")
    _wrongtype(d)
    d("RPOPLPUSH", "s", "other")
    d("RPOPLPUSH", "other", "s")
    d("RPOPLPUSH", "missing", "s")
    d("LMOVE", "other", "s", "LEFT", "LEFT")
    d("LRANGE", "other", "0", "-1")


def test_lmpop(d: Differ) -> None:
    d("LMPOP", "2", "a", "b", "LEFT")
    d("RPUSH", "b", "1", "2", "3", "4")
    d("LMPOP", "2", "a", "b", "LEFT")
    d("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2")
    d("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10")
    d("EXISTS", "b")
    # errors
    d("LMPOP", "0", "a", "LEFT")
    d("LMPOP", "-1", "a", "LEFT")
    d("LMPOP", "x", "a", "LEFT")
    d("LMPOP", "3", "a", "LEFT")
    d("LMPOP", "1", "a", "MIDDLE")
    d("LMPOP", "1", "a", "LEFT", "COUNT", "0")
    d("LMPOP", "1", "a", "LEFT", "COUNT", "-1")
    d("LMPOP", "1", "a", "LEFT", "COUNT", "x")
    d("LMPOP", "1", "a", "LEFT", "COUNT")
    d("LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1")
    d("LMPOP", "1", "a", "LEFT", "BOGUS")
    d("LMPOP", "9223372036854775807", "a", "LEFT")
    _wrongtype(d)
    d("RPUSH", "c", "x")
    d("LMPOP", "2", "s", "c", "LEFT")
    d("LMPOP", "2", "c", "s", "LEFT")
    d("LMPOP", "2", "missing", "s", "LEFT")


# -- encodings -----------------------------------------------------------------------------------


def _encodings(d: Differ, *keys: str) -> None:
    for key in keys:
        d("OBJECT", "ENCODING", key)


def test_encoding_size_limit_and_back(diff: Differ) -> None:
    d = diff
    d("RPUSH", "l", *["x" * 60] * 100)
    _encodings(d, "l")
    d("RPUSH", "l", *["y" * 60] * 40)  # past 8 KB
    _encodings(d, "l")
    for _ in range(100):
        d("RPOP", "l")
        _encodings(d, "l")
    # Long elements get plain nodes; big integers count as integers.
    d("RPUSH", "big", "z" * 10000)
    _encodings(d, "big")
    d("RPUSH", "ints", *[str(10**15 + i) for i in range(900)])
    _encodings(d, "ints")
    d("LPOP", "ints", "500")
    _encodings(d, "ints")


def test_encoding_follows_config(diff: Differ) -> None:
    d = diff
    try:
        for fill in ("4", "-1", "1", "0", "-5"):
            d("CONFIG", "SET", "list-max-listpack-size", fill)
            d("DEL", "l")
            for i in range(12):
                d("RPUSH", "l", f"e{i}")
                _encodings(d, "l")
            d("LTRIM", "l", "0", "1")
            _encodings(d, "l")
            d("LINSERT", "l", "AFTER", "e0", "n")
            d("LSET", "l", "0", "s" * 5000)
            _encodings(d, "l")
            d("LREM", "l", "0", "s" * 5000)
            _encodings(d, "l")
    finally:
        d("CONFIG", "SET", "list-max-listpack-size", "-2")


def test_encoding_random_history(diff: Differ) -> None:
    """Random edits on lists near the node limits: every reply and encoding must agree."""
    d = diff
    rnd = random.Random(1234)

    def value() -> str:
        k = rnd.random()
        if k < 0.3:
            return str(rnd.randint(-70000, 70000))
        if k < 0.85:
            return "x" * rnd.choice([1, 30, 63, 64, 200, 1000])
        if k < 0.97:
            return "y" * rnd.choice([2000, 4095, 4096, 5000])
        return "z" * rnd.choice([8193, 9000])

    def length(key: str) -> int:
        return int(d.ours("LLEN", key)[1:-2])

    try:
        for fill in ("-2", "-1", "4"):
            d("CONFIG", "SET", "list-max-listpack-size", fill)
            for _ in range(150):
                key = rnd.choice(["k1", "k2"])
                n = length(key)
                op = rnd.random()
                if op < 0.3:
                    d(rnd.choice(["LPUSH", "RPUSH"]), key, *[value() for _ in range(rnd.randint(1, 6))])
                elif op < 0.4:
                    d(rnd.choice(["LPOP", "RPOP"]), key, str(rnd.randint(1, 6)))
                elif op < 0.55 and n:
                    pivot = d("LINDEX", key, str(rnd.randrange(n))).split(b"\r\n")[1].decode()
                    d("LINSERT", key, rnd.choice(["BEFORE", "AFTER"]), pivot, value())
                elif op < 0.7 and n:
                    d("LSET", key, str(rnd.randrange(-n, n)), value())
                elif op < 0.78:
                    d("LTRIM", key, str(rnd.randint(0, 3)), str(rnd.randint(-4, -1)))
                elif op < 0.88 and n:
                    pivot = d("LINDEX", key, str(rnd.randrange(n))).split(b"\r\n")[1].decode()
                    d("LREM", key, str(rnd.randint(-2, 2)), pivot)
                else:
                    d("LMOVE", key, rnd.choice(["k1", "k2"]), rnd.choice(["LEFT", "RIGHT"]),
                      rnd.choice(["LEFT", "RIGHT"]))
                _encodings(d, "k1", "k2")
            d("LRANGE", "k1", "0", "-1")
            d("LRANGE", "k2", "0", "-1")
    finally:
        d("CONFIG", "SET", "list-max-listpack-size", "-2")


def test_copy_keeps_list(diff: Differ) -> None:
    d = diff
    d("RPUSH", "l", *["v" * 100] * 100)
    d("COPY", "l", "c")
    d("RPOP", "l", "99")
    _encodings(d, "l", "c")
    d("LRANGE", "c", "0", "2")
    d("LLEN", "c")


# -- large lists ---------------------------------------------------------------------------------


def test_large_list_stays_linear(r) -> None:  # type: ignore[no-untyped-def]
    n = 200_000
    batch = [str(i) for i in range(10_000)]
    for _ in range(n // len(batch)):
        r("RPUSH", "big", *batch)
    assert r("LLEN", "big") == b":%d\r\n" % n
    assert r("OBJECT", "ENCODING", "big") == b"$9\r\nquicklist\r\n"
    started = time.monotonic()
    reply = r("LRANGE", "big", "0", "-1")
    assert reply.startswith(b"*%d\r\n" % n)
    reply = r("LRANGE", "big", "-100000", "-99990")
    assert reply == b"*11\r\n" + b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(11))
    assert r("LINDEX", "big", "100000") == b"$1\r\n0\r\n"
    assert r("LTRIM", "big", "1000", "-1000") == b"+OK\r\n"
    assert r("LLEN", "big") == b":%d\r\n" % (n - 1999)
    assert r("LPOP", "big", "50000").startswith(b"*50000\r\n")
    assert r("LTRIM", "big", "10", "10") == b"+OK\r\n"
    assert r("OBJECT", "ENCODING", "big") == b"$8\r\nlistpack\r\n"
    assert time.monotonic() - started < 5


# -- blocking forms ------------------------------------------------------------------------------


class Pair:
    """Extra connections, one to each server, driven in lockstep."""

    def __init__(self, d: Differ, ours_port: int, theirs_port: int, resp3: bool) -> None:
        self.ours = RawClient(ours_port)
        self.theirs = RawClient(theirs_port)
        if resp3:
            self.ours("HELLO", "3")
            self.theirs("HELLO", "3")

    def send(self, *args: object) -> None:
        data = encode_command(*args)  # type: ignore[arg-type]
        self.ours.send(data)
        self.theirs.send(data)

    def read(self) -> bytes:
        mine, real = self.ours.read_reply(), self.theirs.read_reply()
        assert mine == real, f"pyvalkey {mine!r} != valkey {real!r}"
        return real

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def blocked(request: pytest.FixtureRequest, d: Differ, pyvalkey_server, oracle_server):  # type: ignore[no-untyped-def]
    """A factory of extra connection pairs in the same protocol as ``d``."""
    resp3 = request.node.callspec.params.get("d") == 3
    pairs: list[Pair] = []

    def make() -> Pair:
        pair = Pair(d, pyvalkey_server.port, oracle_server.port, resp3)
        pairs.append(pair)
        return pair

    yield make
    for pair in pairs:
        pair.close()


def _settle() -> None:
    time.sleep(0.05)  # let both servers park the blocked client before the next write


def test_blocking_immediate(d: Differ) -> None:
    d("RPUSH", "a", "1", "2", "3")
    d("BLPOP", "missing", "a", "0")
    d("BRPOP", "missing", "a", "0")
    d("BLMPOP", "0", "2", "missing", "a", "LEFT", "COUNT", "5")
    d("EXISTS", "a")
    d("RPUSH", "a", "x", "y")
    d("BLMOVE", "a", "b", "RIGHT", "LEFT", "0")
    d("BRPOPLPUSH", "a", "b", "0")
    d("LRANGE", "b", "0", "-1")
    d("EXISTS", "a")
    # errors: timeout, directions, numkeys, count; WRONGTYPE
    d("BLPOP", "a", "-1")
    d("BLPOP", "a", "x")
    d("BLPOP", "a", "inf")
    d("BLPOP", "a", "1e400")
    d("BRPOP", "a", "9223372036854775807")
    d("BLMOVE", "a", "b", "UP", "LEFT", "x")
    d("BLMOVE", "a", "b", "LEFT", "LEFT", "x")
    d("BRPOPLPUSH", "a", "b", "-1")
    d("BLMPOP", "x", "1", "a", "LEFT")
    d("BLMPOP", "0", "0", "a", "LEFT")
    d("BLMPOP", "0", "x", "a", "LEFT")
    d("BLMPOP", "-1", "1", "a", "LEFT")
    d("BLMPOP", "0", "1", "a", "LEFT", "COUNT", "0")
    d("BLMPOP", "0", "2", "a", "LEFT")
    _wrongtype(d)
    d("BLPOP", "s", "0")
    d("BLPOP", "missing", "s", "0")
    d("BLMOVE", "s", "b", "LEFT", "LEFT", "0")
    d("BLMOVE", "b", "s", "LEFT", "LEFT", "0")
    d("BLMPOP", "0", "1", "s", "LEFT")


def test_blocking_timeouts_and_multi(d: Differ) -> None:
    d("BLPOP", "missing", "0.01")
    d("BRPOP", "missing", "other", "0.01")
    d("BLMOVE", "missing", "b", "LEFT", "LEFT", "0.01")
    d("BRPOPLPUSH", "missing", "b", "0.01")
    d("BLMPOP", "0.01", "1", "missing", "LEFT")


def _needs_multi(d: Differ) -> None:
    # MULTI belongs to the transactions group; these checks start running once it exists.
    if d.ours("COMMAND", "INFO", "MULTI") in (b"*1\r\n$-1\r\n", b"*1\r\n*-1\r\n", b"*1\r\n_\r\n"):
        pytest.skip("MULTI is not implemented yet")


def test_blocking_in_multi(d: Differ, blocked) -> None:  # type: ignore[no-untyped-def]
    _needs_multi(d)
    d("MULTI")
    d("BLPOP", "missing", "0")
    d("BRPOP", "missing", "0")
    d("BLMOVE", "missing", "b", "LEFT", "LEFT", "0")
    d("BRPOPLPUSH", "missing", "b", "0")
    d("BLMPOP", "0", "1", "missing", "LEFT", "COUNT", "2")
    d("EXEC")
    first = blocked()
    # A waiter woken by a MULTI/EXEC push sees the final state.
    first.send("BLPOP", "tx", "0")
    _settle()
    d("MULTI")
    d("RPUSH", "tx", "1")
    d("LPOP", "tx")
    d("RPUSH", "tx", "2")
    d("EXEC")
    first.read()
    d("EXISTS", "tx")


def test_blocking_wakeups(d: Differ, blocked) -> None:  # type: ignore[no-untyped-def]
    first, second = blocked(), blocked()
    # FIFO: the client that blocked first is served first.
    first.send("BLPOP", "q1", "q2", "0")
    _settle()
    second.send("BRPOP", "q2", "0")
    _settle()
    d("RPUSH", "q2", "a", "b", "c")
    first.read()
    second.read()
    d("LRANGE", "q2", "0", "-1")
    # BLMPOP with COUNT wakes with up to COUNT elements.
    first.send("BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "2")
    _settle()
    d("RPUSH", "m2", "1", "2", "3")
    first.read()
    d("LRANGE", "m2", "0", "-1")
    # BLMOVE chain: a push wakes a mover, whose push wakes a popper of the destination.
    first.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    _settle()
    second.send("BLPOP", "dst", "0")
    _settle()
    d("LPUSH", "src", "moved")
    first.read()
    second.read()
    d("EXISTS", "src", "dst")
    second.send("BRPOPLPUSH", "src2", "dst2", "0")
    _settle()
    d("RPUSH", "src2", "x", "y")
    second.read()
    d("LRANGE", "dst2", "0", "-1")
    # A timeout while waiting.
    first.send("BLPOP", "never", "0.05")
    first.read()


# -- propagation (what replicas see) -----------------------------------------------------------


def _stream(server, run) -> list[list[bytes]]:
    """Attach a raw replica, let ``run(port, client)`` work, return the commands streamed (keep-alive
    PINGs left out, absolute millisecond deadlines masked)."""
    from test_replication_stream import StreamReader

    client = RawClient(server.port)
    client("FLUSHALL")
    client("CONFIG", "SET", "repl-ping-replica-period", "3600")
    reader = StreamReader(server.port)
    try:
        run(server.port, client)
        client("SET", "__end__", "1")
        out = []
        while True:
            argv = reader.command()
            if argv == [b"SET", b"__end__", b"1"]:
                return out
            if argv[0].upper() != b"PING":
                out.append([b"<ms>" if a.isdigit() and len(a) == 13 else a for a in argv])
    finally:
        reader.close()
        client.close()


def test_pops_propagate_as_plain_pops(pyvalkey_server, oracle_server) -> None:
    def run(port: int, c: RawClient) -> None:
        c("RPUSH", "l", "a", "b", "c", "d", "e", "f", "g")
        c("LMPOP", "1", "l", "LEFT", "COUNT", "2")
        c("LMPOP", "2", "nol", "l", "RIGHT")
        c("LMPOP", "1", "l", "left", "COUNT", "50")
        c("RPUSH", "l", "a", "b", "c", "d")
        c("BLPOP", "nol", "l", "0")
        c("BRPOP", "l", "0")
        c("BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "9")
        c("RPUSH", "l", "a", "b", "c")
        c("BLMOVE", "l", "l2", "left", "RIGHT", "0")
        c("BRPOPLPUSH", "l", "l2", "0")
        c("LMPOP", "1", "nol", "LEFT")  # nothing popped: nothing propagated
        # served after blocking
        waiters = [RawClient(port) for _ in range(4)]
        waiters[0].send(encode_command("BLPOP", "w1", "0"))
        waiters[1].send(encode_command("BLMOVE", "w2", "dst", "RIGHT", "left", "0"))
        waiters[2].send(encode_command("BRPOPLPUSH", "w3", "dst", "0"))
        waiters[3].send(encode_command("BLMPOP", "0", "2", "x", "w4", "LEFT", "COUNT", "2"))
        time.sleep(0.1)
        for key in ("w1", "w2", "w3", "w4"):
            c("RPUSH", key, "p", "q", "r")
        for waiter in waiters:
            waiter.read_reply()
            waiter.close()

    assert _stream(pyvalkey_server, run) == _stream(oracle_server, run)


def test_blocked_move_chain_order_in_stream(pyvalkey_server, oracle_server) -> None:
    # A served BLMOVE pushes to a key another client waits on: both are streamed as LMOVEs, in
    # the order they ran, after the command that woke them.
    def run(port: int, c: RawClient) -> None:
        first, second = RawClient(port), RawClient(port)
        first.send(encode_command("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"))
        second.send(encode_command("BLMOVE", "dst", "src", "RIGHT", "LEFT", "0"))
        time.sleep(0.1)
        c("SET", "k1", "v")
        c("LPUSH", "src", "dummy")
        first.read_reply()
        second.read_reply()
        c("SET", "k2", "v")
        first.close()
        second.close()

    assert _stream(pyvalkey_server, run) == _stream(oracle_server, run)


@pytest.mark.parametrize("fill", ["-2", "1"])
def test_plain_nodes_with_packed_threshold(diff: Differ, fill: str) -> None:
    diff("CONFIG", "SET", "list-max-listpack-size", fill)
    try:
        diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b")
        diff("LPUSH", "lst", "9", "xxxxxxxxxx", "xxxxxxxxxx")
        diff("OBJECT", "ENCODING", "lst")
        diff("RPOP", "lst")
        diff("LINSERT", "lst", "BEFORE", "xxxxxxxxxx", "yyyyyyyyyyy")
        diff("LSET", "lst", "0", "z" * 20)
        diff("LRANGE", "lst", "0", "-1")
        diff("LREM", "lst", "-2", "xxxxxxxxxx")
        diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10b")
        diff("DEL", "lst")
        diff("LPUSH", "lst", "aa", "bb")
        diff("OBJECT", "ENCODING", "lst")
        diff("LSET", "lst", "-2", "x" * 10)
        diff("RPOP", "lst")
        diff("LRANGE", "lst", "0", "-1")
        diff("OBJECT", "ENCODING", "lst")
        diff("LPOS", "lst", "x" * 10)
        for bad in ("-1", "abc", "4gb", "1tb"):
            diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", bad)
    finally:
        diff("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")
        diff("CONFIG", "SET", "list-max-listpack-size", "-2")
