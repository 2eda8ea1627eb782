"""Pub/Sub against the oracle: subscription replies, subscriber mode, delivery across clients,
PUBSUB introspection, RESP2 and RESP3, slow-subscriber disconnection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from resp import RawClient
from servers import ServerProcess

_PONGS = (b"+PONG\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


class Pair:
    """One connection to pyvalkey and one to the oracle, driven in lockstep."""

    def __init__(self, ours_port: int, theirs_port: int) -> None:
        self.ours = RawClient(ours_port)
        self.theirs = RawClient(theirs_port)

    def __call__(self, *args: object) -> bytes:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def both(self, *args: object) -> tuple[bytes, bytes]:
        return self.ours(*args), self.theirs(*args)

    def send(self, *args: object) -> None:
        from resp import encode_command

        data = encode_command(*args)
        self.ours.send(data)
        self.theirs.send(data)

    def read(self) -> bytes:
        mine = self.ours.read_reply()
        real = self.theirs.read_reply()
        assert mine == real, f"pyvalkey {mine!r} != valkey {real!r}"
        return real

    @staticmethod
    def _pending(client: RawClient) -> list[bytes]:
        from resp import encode_command

        client.send(encode_command("PING"))
        replies = []
        while True:
            reply = client.read_reply()
            if reply in _PONGS:
                return replies
            replies.append(reply)

    def pending(self, ordered: bool = True) -> list[bytes]:
        """Everything delivered so far (messages), found by sending PING and reading up to its
        answer; compared between the servers."""
        time.sleep(0.02)
        mine = self._pending(self.ours)
        real = self._pending(self.theirs)
        if ordered:
            assert mine == real, f"pyvalkey {mine!r} != valkey {real!r}"
        else:
            assert sorted(mine) == sorted(real), f"pyvalkey {mine!r} != valkey {real!r}"
        return real

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


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


@pytest.mark.parametrize("proto", [2, 3])
def test_subscription_replies(connect: Callable[[], Pair], proto: int) -> None:
    a = connect()
    if proto == 3:
        a.both("HELLO", "3")
    a("UNSUBSCRIBE")
    a("PUNSUBSCRIBE")
    a("SUNSUBSCRIBE")
    a.send("UNSUBSCRIBE", "x", "y")
    a.read()
    a.read()
    a.send("SUBSCRIBE", "a", "b", "a")
    for _ in range(3):
        a.read()
    a("PSUBSCRIBE", "h*")
    a("PSUBSCRIBE", "h*")
    a("SSUBSCRIBE", "s1")
    a("SUNSUBSCRIBE", "nope")
    a("UNSUBSCRIBE", "a")
    a("PUNSUBSCRIBE", "h*")
    a("PUNSUBSCRIBE")
    a("SUNSUBSCRIBE")
    a("UNSUBSCRIBE")
    a("UNSUBSCRIBE")
    a("SET", "x", "1")
    a("GET", "x")


def test_unsubscribe_all_lists_every_channel(connect: Callable[[], Pair]) -> None:
    a = connect()
    a.send("SUBSCRIBE", "c1", "c2", "c3")
    for _ in range(3):
        a.read()
    a.send("UNSUBSCRIBE")
    # Valkey walks a hash table: the order varies, the counts go down one by one.
    mine = sorted(a.ours.read_reply() for _ in range(3))
    real = sorted(a.theirs.read_reply() for _ in range(3))
    assert [m.split(b"\r\n")[4] for m in mine] == [r.split(b"\r\n")[4] for r in real]
    assert {m.split(b"\r\n")[5] for m in mine} == {r.split(b"\r\n")[5] for r in real} == {b":0", b":1", b":2"}
    a("PING")


def test_resp2_subscriber_context(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("SUBSCRIBE", "ch")
    for args in (
        ("GET", "x"),
        ("SET", "x", "1"),
        ("CONFIG", "GET", "maxmemory"),
        ("PUBLISH", "ch", "m"),
        ("PUBSUB", "NUMSUB"),
        ("MULTI",),
        ("CLIENT", "ID"),
        ("SELECT", "1"),
        ("PING",),
        ("PING", "hello"),
        ("PING", "a", "b"),
        ("FOO",),
        ("GET",),
        ("CONFIG", "GET"),
        ("HELLO", "2"),
    ):
        a(*args)
    a("PSUBSCRIBE", "p*")
    a("SSUBSCRIBE", "s")
    a("UNSUBSCRIBE", "ch")
    a("GET", "x")  # still subscribed to a pattern and a shard channel
    a("PUNSUBSCRIBE")
    a("GET", "x")  # the shard channel still counts
    a("SUNSUBSCRIBE")
    a("GET", "x")


def test_resp3_subscriber_runs_anything(connect: Callable[[], Pair]) -> None:
    a = connect()
    a.both("HELLO", "3")
    a("SUBSCRIBE", "ch")
    a("SET", "x", "1")
    a("GET", "x")
    a("PING")
    a("PING", "x")
    a.both("HELLO", "2")
    a("GET", "x")  # back in RESP2 while subscribed: the context check applies again
    a("PING")


def test_reset_and_quit_in_subscriber_mode(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    a("SUBSCRIBE", "ch")
    a("PSUBSCRIBE", "c*")
    a("RESET")
    a("GET", "x")
    b("PUBSUB", "NUMSUB", "ch")
    b("PUBSUB", "NUMPAT")
    a("SUBSCRIBE", "ch")
    a("QUIT")
    time.sleep(0.05)
    b("PUBSUB", "NUMSUB", "ch")
    b("PUBLISH", "ch", "m")


@pytest.mark.parametrize("proto", [2, 3])
def test_delivery_across_clients(connect: Callable[[], Pair], proto: int) -> None:
    sub = connect()
    pub = connect()
    if proto == 3:
        sub.both("HELLO", "3")
    sub("SUBSCRIBE", "news")
    sub.send("PSUBSCRIBE", "n*", "*s", "x[ab]?")
    for _ in range(3):
        sub.read()
    sub("SSUBSCRIBE", "news")
    pub("PUBLISH", "news", "hello")
    pub("PUBLISH", "nothing", "")
    pub("PUBLISH", "xaz", "binary\r\n\x00")
    pub("PUBLISH", "other", "dropped")
    pub("SPUBLISH", "news", "shard")
    pub("SPUBLISH", "n1", "nobody")
    pub("PUBLISH", "", "empty channel")
    # Valkey walks its pattern table in hash order: compare the deliveries as a multiset.
    sub.pending(ordered=False)
    sub.send("PUNSUBSCRIBE", "*s", "x[ab]?")
    sub.read()
    sub.read()
    # A pipeline of publishes arrives in order.
    for i in range(20):
        pub.send("PUBLISH", "news", str(i))
    for _ in range(20):
        pub.read()
    sub.pending()
    pub("PUBSUB", "NUMPAT")


def test_publisher_is_subscriber_resp3(connect: Callable[[], Pair]) -> None:
    a = connect()
    a.both("HELLO", "3")
    a("SUBSCRIBE", "me")
    a("PSUBSCRIBE", "m*")
    # The command's own reply comes first, then the pushes it caused.
    a.send("PUBLISH", "me", "hi")
    for _ in range(3):
        a.read()
    a("MULTI")
    a("PUBLISH", "me", "one")
    a("PUBLISH", "me", "two")
    a.send("EXEC")
    for _ in range(5):
        a.read()
    # Pipelined: each command's pushes follow that command's reply.
    a.send("PUBLISH", "me", "x")
    a.send("GET", "k")
    for _ in range(4):
        a.read()


def test_subscribe_inside_multi(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("MULTI")
    a("SUBSCRIBE", "c1")
    a("PUBLISH", "c1", "hi")
    a("PING")
    a.send("EXEC")
    a.read()
    a.read()  # the message to itself, after the EXEC array
    a("GET", "x")
    a("RESET")
    a.both("HELLO", "3")
    a("MULTI")
    a("SUBSCRIBE", "c1")
    a("PUBLISH", "c1", "hi")
    a("UNSUBSCRIBE")
    a.send("EXEC")
    a.read()
    a.read()


@pytest.mark.parametrize("proto", [2, 3])
def test_pubsub_introspection(connect: Callable[[], Pair], proto: int) -> None:
    a = connect()
    b = connect()
    c = connect()
    if proto == 3:
        c.both("HELLO", "3")
    c("PUBSUB", "CHANNELS")
    c("PUBSUB", "NUMSUB")
    c("PUBSUB", "NUMSUB", "a", "zz")
    c("PUBSUB", "NUMPAT")
    c("PUBSUB", "SHARDCHANNELS")
    c("PUBSUB", "SHARDNUMSUB")
    c("PUBSUB", "SHARDNUMSUB", "s1")
    a.send("SUBSCRIBE", "alpha", "beta")
    a.read()
    a.read()
    b("SUBSCRIBE", "alpha")
    b("PSUBSCRIBE", "a*")
    a("PSUBSCRIBE", "a*")
    b("SSUBSCRIBE", "s1")
    c("PUBSUB", "NUMSUB", "alpha", "beta", "gamma")
    c("PUBSUB", "NUMPAT")
    c("PUBSUB", "CHANNELS", "al*")
    c("PUBSUB", "CHANNELS", "zz*")
    c("PUBSUB", "SHARDCHANNELS")
    c("PUBSUB", "SHARDCHANNELS", "s?")
    c("PUBSUB", "SHARDNUMSUB", "s1", "s2")
    mine, real = c.both("PUBSUB", "CHANNELS")
    assert sorted(mine.split(b"\r\n")[1:]) == sorted(real.split(b"\r\n")[1:])
    assert mine.split(b"\r\n")[0] == real.split(b"\r\n")[0]
    # HELP is in our own words (commands/helptext.py): same shape, not Valkey's prose.
    mine, real = c.both("PUBSUB", "HELP")
    assert mine.startswith(b"*") and mine.split(b"\r\n")[1].startswith(b"+PUBSUB <subcommand> [<arg> ")
    assert b"+NUMSUB [<channel> ...]\r\n" in mine and b"+SHARDCHANNELS [<pattern>]\r\n" in mine
    c("PUBSUB", "NUMPAT", "x")
    c("PUBSUB", "CHANNELS", "a", "b")
    c("PUBSUB", "SHARDCHANNELS", "a", "b")
    c("PUBSUB", "HELP", "x")
    c("PUBSUB", "FOO")
    c("PUBSUB")
    c("PUBLISH", "alpha")
    c("SPUBLISH", "s1")
    c("SUBSCRIBE")
    c("PSUBSCRIBE")
    c("SSUBSCRIBE")


def test_client_list_fields(connect: Callable[[], Pair]) -> None:
    a = connect()
    a("SUBSCRIBE", "x")
    a("PSUBSCRIBE", "y*")
    a("SSUBSCRIBE", "z")
    b = connect()
    mine, real = b.both("CLIENT", "LIST", "TYPE", "pubsub")
    for field in (b" flags=P ", b" sub=1 ", b" psub=1 ", b" ssub=1 "):
        assert field in mine and field in real


def test_slow_subscriber_is_disconnected(connect: Callable[[], Pair]) -> None:
    control = connect()
    control("CONFIG", "SET", "client-output-buffer-limit", "pubsub 100000 0 0")
    try:
        sub = connect()
        sub("SUBSCRIBE", "flood")
        sub.ours.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
        payload = "x" * 100_000
        for _ in range(120):
            control.send("PUBLISH", "flood", payload)
        for _ in range(120):
            control.ours.read_reply()
            control.theirs.read_reply()
        time.sleep(0.2)
        mine, real = control.both("PUBSUB", "NUMSUB", "flood")
        assert mine == real == b"*2\r\n$5\r\nflood\r\n:0\r\n"
        for client in (sub.ours, sub.theirs):
            client.sock.settimeout(5)
            with pytest.raises((ConnectionError, OSError)):
                while True:
                    client.read_reply()
    finally:
        control("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


def test_closed_subscriber_is_forgotten(connect: Callable[[], Pair]) -> None:
    a = connect()
    b = connect()
    a("SUBSCRIBE", "gone")
    a("PSUBSCRIBE", "go*")
    a.close()
    time.sleep(0.1)
    b("PUBSUB", "NUMSUB", "gone")
    b("PUBSUB", "NUMPAT")
    b("PUBLISH", "gone", "x")
