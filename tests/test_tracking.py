"""Client-side caching against the oracle: CLIENT TRACKING/CACHING/GETREDIR/TRACKINGINFO, and the
invalidation messages (RESP3 pushes, RESP2 redirection to __redis__:invalidate) byte for byte."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from resp import RawClient, encode_command
from servers import ServerProcess


def _drain(client: RawClient, wait: float = 0.15) -> bytes:
    """Everything the server sent without being asked (push messages)."""
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


class Twin:
    """One connection to pyvalkey and one to the oracle, used in lockstep."""

    def __init__(self, ours: int, theirs: int) -> None:
        self.ours = RawClient(ours)
        self.theirs = RawClient(theirs)

    def __call__(self, *args: object) -> bytes:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def each(self, ours: tuple[object, ...], theirs: tuple[object, ...]) -> bytes:
        mine = self.ours(*ours)
        real = self.theirs(*theirs)
        assert mine == real, f"{ours!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def with_ids(self, ids: tuple[int, int], *args: object) -> bytes:
        """Run on both; each server's client id in the reply is replaced before comparing."""
        mine = self.ours(*args).replace(b":%d\r\n" % ids[0], b":ID\r\n")
        real = self.theirs(*args).replace(b":%d\r\n" % ids[1], b":ID\r\n")
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def ids(self) -> tuple[int, int]:
        return int(self.ours("CLIENT", "ID")[1:-2]), int(self.theirs("CLIENT", "ID")[1:-2])

    def pushes(self) -> bytes:
        mine = _drain(self.ours)
        real = _drain(self.theirs, 0.0)
        assert mine == real, f"pushes: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def twins(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> Iterator[list[Twin]]:
    made = [Twin(pyvalkey_server.port, oracle_server.port) for _ in range(3)]
    made[0]("FLUSHALL")
    made[0].pushes()
    yield made
    for twin in made:
        twin.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def proto(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _hello(twin: Twin, proto: int) -> None:
    if proto == 3:
        twin.ours("HELLO", "3")
        twin.theirs("HELLO", "3")


def test_options_and_errors(twins: list[Twin], proto: int) -> None:
    a = twins[0]
    _hello(a, proto)
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "GETREDIR")
    a("CLIENT", "CACHING", "YES")
    a("CLIENT", "TRACKING", "MAYBE")
    a("CLIENT", "TRACKING", "ON", "BADOPT")
    a("CLIENT", "TRACKING", "ON", "PREFIX", "a")
    a("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN")
    a("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT")
    a("CLIENT", "TRACKING", "ON", "REDIRECT", "x")
    a("CLIENT", "TRACKING", "ON", "REDIRECT", "999999")
    a("CLIENT", "TRACKING", "ON", "REDIRECT")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b", "PREFIX", "bc")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "ab", "NOLOOP")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x\x00y")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "abc")
    a("CLIENT", "TRACKING", "ON")
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "q")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "GETREDIR")
    a("CLIENT", "CACHING", "YES")
    a("CLIENT", "CACHING", "NO")
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKING", "ON", "OPTIN")
    a("CLIENT", "TRACKING", "ON", "OPTOUT")
    a("CLIENT", "CACHING", "NO")
    a("CLIENT", "CACHING", "MAYBE")
    a("CLIENT", "CACHING", "YES")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKINGINFO")
    a("PING")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")
    a("CLIENT", "CACHING", "NO")
    a("CLIENT", "TRACKINGINFO")
    a("CLIENT", "TRACKING", "ON", "BCAST")
    a.pushes()


def test_resp3_default_mode(twins: list[Twin]) -> None:
    a, b = twins[0], twins[1]
    _hello(a, 3)
    a("CLIENT", "TRACKING", "ON")
    a("GET", "k")
    a("MGET", "k2", "k3")
    a("HGET", "h", "f")
    b("SET", "k", "1")
    a.pushes()
    b("SET", "k", "2")  # the entry was consumed by the first change
    a.pushes()
    a("SET", "k2", "x")  # the client's own write
    a.pushes()
    b("MSET", "k3", "1", "h", "2")
    a.pushes()
    a("GET", "k")
    a("EXISTS", "k")
    b("DEL", "k")
    a.pushes()
    a("GET", "e")
    b("SET", "e", "1", "PX", "50")
    a.pushes()
    a("GET", "e")
    time.sleep(0.15)
    a("GET", "e")  # lazily expired: invalidation after the reply
    a.pushes()
    a("GET", "f1")
    a("MULTI")
    a("GET", "f2")
    a("SET", "f1", "v")
    a("EXEC")
    a.pushes()
    a("GET", "f3")
    b("FLUSHALL")
    a.pushes()
    a("FLUSHDB")
    a.pushes()
    a("CLIENT", "TRACKING", "OFF")
    a("GET", "z")
    b("SET", "z", "1")
    a.pushes()


def test_noloop_optin_optout(twins: list[Twin]) -> None:
    a, b = twins[0], twins[1]
    _hello(a, 3)
    a("CLIENT", "TRACKING", "ON", "NOLOOP")
    a("GET", "k")
    a("SET", "k", "1")
    a.pushes()
    a("GET", "k")
    b("SET", "k", "2")
    a.pushes()
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "ON", "OPTIN")
    a("GET", "x")
    a("CLIENT", "CACHING", "YES")
    a("GET", "y")
    a("GET", "w")
    b("MSET", "x", "1", "y", "1", "w", "1")
    a.pushes()
    a("CLIENT", "CACHING", "YES")
    a("MULTI")
    a("GET", "m1")
    a("GET", "m2")
    a("EXEC")
    b("MSET", "m1", "1", "m2", "1")
    a.pushes()
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "ON", "OPTOUT")
    a("GET", "o1")
    a("CLIENT", "CACHING", "NO")
    a("GET", "o2")
    b("MSET", "o1", "1", "o2", "1")
    a.pushes()


def test_bcast(twins: list[Twin]) -> None:
    a, b = twins[0], twins[1]
    _hello(a, 3)
    a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:")
    b("MSET", "user:2", "x", "user:1", "y", "other", "z", "obj:9", "1")
    a.pushes()
    a("SET", "user:3", "1")  # own writes are reported too without NOLOOP
    a.pushes()
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")
    a("SET", "mine", "1")
    b("SET", "theirs", "1")
    a.pushes()
    b("FLUSHALL")
    a.pushes()


def test_redirect_resp2_pubsub(twins: list[Twin]) -> None:
    a, sub = twins[0], twins[1]
    ours_id, theirs_id = sub.ids()
    sub("SUBSCRIBE", "__redis__:invalidate")
    a.each(("CLIENT", "TRACKING", "ON", "REDIRECT", ours_id), ("CLIENT", "TRACKING", "ON", "REDIRECT", theirs_id))
    a("GET", "k")
    a("SET", "k", "1")
    sub.pushes()
    a.pushes()
    a("GET", "k")
    a("FLUSHDB")
    sub.pushes()
    sub.ours.close()
    sub.theirs.close()
    time.sleep(0.1)
    a("GET", "k")
    a("SET", "k", "2")
    a.with_ids((ours_id, theirs_id), "CLIENT", "TRACKINGINFO")
    a.with_ids((ours_id, theirs_id), "CLIENT", "GETREDIR")
    a.pushes()


def test_redirect_broken_resp3(twins: list[Twin]) -> None:
    a, target, c = twins
    _hello(a, 3)
    _hello(target, 3)
    ours_id, theirs_id = target.ids()
    a.each(("CLIENT", "TRACKING", "ON", "REDIRECT", ours_id), ("CLIENT", "TRACKING", "ON", "REDIRECT", theirs_id))
    a("GET", "k")
    c("SET", "k", "1")
    target.pushes()
    a.pushes()
    target.ours.close()
    target.theirs.close()
    time.sleep(0.1)
    a("GET", "k")
    c("SET", "k", "2")
    mine = _drain(a.ours).replace(b":%d\r\n" % ours_id, b":ID\r\n")
    real = _drain(a.theirs, 0).replace(b":%d\r\n" % theirs_id, b":ID\r\n")
    assert mine == real and b"tracking-redir-broken" in real
    a.with_ids((ours_id, theirs_id), "CLIENT", "TRACKINGINFO")


def test_info_fields(twins: list[Twin]) -> None:
    a, b = twins[0], twins[1]
    _hello(a, 3)

    def fields() -> None:
        for twin in (a,):
            mine = twin.ours("INFO", "everything")
            real = twin.theirs("INFO", "everything")
            for name in (b"tracking_clients", b"tracking_total_keys", b"tracking_total_items",
                         b"tracking_total_prefixes"):
                pick = [line for line in mine.split(b"\r\n") if line.startswith(name + b":")]
                want = [line for line in real.split(b"\r\n") if line.startswith(name + b":")]
                assert pick == want

    a("CLIENT", "TRACKING", "ON")
    b("CLIENT", "TRACKING", "ON")
    a("MGET", "a", "b", "c")
    b("GET", "a")
    fields()
    a("SET", "a", "1")
    a.pushes()
    fields()
    b("CLIENT", "TRACKING", "OFF")
    b("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p", "PREFIX", "q")
    fields()


def _until(client: RawClient, *args: object) -> tuple[bytes, list[bytes]]:
    """Send a command; return its reply and the push messages that arrived before it."""
    client.send(encode_command(*args))
    pushes = []
    while True:
        reply = client.read_reply()
        if not reply.startswith(b">"):
            return reply, pushes
        pushes.append(reply)


def test_table_limit(twins: list[Twin]) -> None:
    a = twins[0]
    _hello(a, 3)
    a("CONFIG", "SET", "tracking-table-max-keys", "5")
    try:
        a("CLIENT", "TRACKING", "ON")
        a("MGET", *[f"k{i}" for i in range(20)])
        results = []
        for client in (a.ours, a.theirs):
            reply, pushes = _until(client, "PING")
            # The victims are random: compare how many keys were invalidated, and what is left.
            info, more = _until(client, "INFO", "stats")
            left = [line for line in info.split(b"\r\n") if line.startswith(b"tracking_total_")]
            results.append((reply, len(pushes) + len(more), left))
        assert results[0] == results[1]
        assert results[0][1] == 15
    finally:
        a("CONFIG", "SET", "tracking-table-max-keys", "1000000")


@pytest.mark.parametrize("optin", [False, True])
def test_scripts_track_their_reads_for_the_caller(pyvalkey_server: ServerProcess, oracle_server: ServerProcess, optin: bool) -> None:
    """Keys a script reads are tracked for the client that ran it (writes and untouched KEYS are
    not); with OPTIN, CLIENT CACHING YES covers the whole script."""
    streams = []
    for port in (pyvalkey_server.port, oracle_server.port):
        r, writer = RawClient(port), RawClient(port)
        try:
            writer("FLUSHALL")
            r("HELLO", "3")
            r("CLIENT", "TRACKING", "on", *(["OPTIN"] if optin else []))
            writer("MSET", "key1{t}", "1", "key2{t}", "1", "key4{t}", "1")
            if optin:
                r("CLIENT", "CACHING", "yes")
            r("EVAL", "redis.call('set', 'key3{t}', 'bar') redis.call('get', 'key4{t}') "
              "return redis.call('get', 'key2{t}')", "2", "key1{t}", "key2{t}")
            r("EVAL_RO", "return redis.call('get', 'key1{t}')", "0")
            r("EVAL_RO", "return redis.call('ping')", "1", "key3{t}")  # KEYS alone are not tracked
            writer("MSET", "key1{t}", "2", "key2{t}", "2", "key3{t}", "2", "key4{t}", "2")
            r.send(encode_command("PING"))
            streams.append(_drain(r))
        finally:
            r.close()
            writer.close()
    assert streams[0] == streams[1]
    assert b"key2{t}" in streams[1]


def test_bcast_noloop_hears_expiry_of_own_key(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> None:
    """A key the NOLOOP client set, then expired in the same round, is still announced."""
    got = []
    for port in (pyvalkey_server.port, oracle_server.port):
        r, rd = RawClient(port), RawClient(port)
        try:
            rid = rd("CLIENT", "ID").split(b"\r\n")[0][1:].decode()
            rd("SUBSCRIBE", "__redis__:invalidate")
            r("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", rid, "NOLOOP")
            for args in (("MULTI",), ("SET", "mykey{t}", "v", "PX", "1"), ("SET", "other{t}", "v"),
                         ("DEBUG", "SLEEP", "0.1"), ("GET", "mykey{t}"), ("EXEC",)):
                r(*args)
            rd.sock.settimeout(2)
            got.append(rd.read_reply())
        finally:
            r("CLIENT", "TRACKING", "off")
            r.close()
            rd.close()
    assert got[0] == got[1] == b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$8\r\nmykey{t}\r\n"


def test_switch_to_bcast_broadcast_precedes_next_reply(twins: list[Twin]) -> None:
    """Keys read before switching to BCAST get no message of their own; the broadcast for a
    write by another client reaches the client before the reply to its next command, even when
    both commands arrive together."""
    a, b = twins[0], twins[1]
    _hello(a, 3)
    a("CLIENT", "TRACKING", "ON")
    b("SET", "key1", "1")
    a("GET", "key1")
    a("CLIENT", "TRACKING", "OFF")
    a("CLIENT", "TRACKING", "ON", "BCAST")
    b("INCR", "key1")
    a("PING")  # the broadcast came first: it is read as the reply
    a.pushes()
    # Both commands ready in the same loop round (they arrive while the server sleeps), the
    # write first: Valkey sends the broadcast once the round is done, so its order depends on
    # timing there; we send it before serving the next client, the order Valkey gives whenever
    # it reads the write first, and the one its Tcl suite expects.
    sleeper = twins[2].ours
    writer, reader = b.ours, a.ours
    sleeper.send(encode_command("DEBUG", "SLEEP", "0.2"))
    time.sleep(0.05)
    writer.send(encode_command("INCR", "key1"))
    time.sleep(0.02)
    reader.send(encode_command("PING"))
    first, second = reader.read_reply(), reader.read_reply()
    assert (first, second) == (b">2\r\n$10\r\ninvalidate\r\n*1\r\n$4\r\nkey1\r\n", b"+PONG\r\n")
    assert writer.read_reply() == b":3\r\n"
    assert sleeper.read_reply() == b"+OK\r\n"
    b.theirs("INCR", "key1")
    _drain(a.theirs)
    # pipelined writes of one client are broadcast together
    for side in ("ours", "theirs"):
        getattr(b, side).send(encode_command("SET", "k2", "1") + encode_command("SET", "k3", "1"))
        assert getattr(b, side).read_reply() == b"+OK\r\n"
        assert getattr(b, side).read_reply() == b"+OK\r\n"
    a.pushes()


def test_eviction_invalidation_precedes_the_reply(oracle_server: ServerProcess) -> None:
    """Keys evicted before a command runs are announced before that command's reply. Our used
    memory is the process RSS: a fresh server, whose growth is not hidden by memory freed
    earlier, makes it predictable."""
    from servers import start_pyvalkey

    fresh = start_pyvalkey()
    try:
        for port in (fresh.port, oracle_server.port):
            client = RawClient(port)
            client("HELLO", "3")
            client("CLIENT", "TRACKING", "ON")
            memory = dict(
                line.split(":", 1) for line in client("INFO", "memory").decode().split("\r\n") if ":" in line
            )
            used = int(memory["used_memory"]) - int(memory["mem_not_counted_for_evict"])
            try:
                client("CONFIG", "SET", "maxmemory-policy", "volatile-random")
                client("CONFIG", "SET", "maxmemory", used + 200 * 1024)
                assert client("SETEX", "volatile-key", "10000", "x") == b"+OK\r\n"
                assert client("GET", "volatile-key") == b"$1\r\nx\r\n"
                assert client("SETBIT", "big-key", 8 * 1024 * 1024, 0) == b":0\r\n"  # 1 MB
                reply = client("GETBIT", "big-key", 0)
                assert reply == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$12\r\nvolatile-key\r\n", port
                assert client.read_reply() == b":0\r\n"
            finally:
                client("CONFIG", "SET", "maxmemory", "0")
                client("CONFIG", "SET", "maxmemory-policy", "noeviction")
                client("DEL", "big-key")
                client.close()
    finally:
        fresh.stop()


def test_table_limit_applies_before_a_queued_command(twins: list[Twin]) -> None:
    """Valkey's #11715: with the cron paused, the next command (queued in MULTI) shrinks the
    table, and the invalidation reaches the client before QUEUED."""
    a, admin = twins[0], twins[1]
    _hello(a, 3)
    admin("CONFIG", "SET", "tracking-table-max-keys", "2")
    admin("DEBUG", "PAUSE-CRON", "1")
    try:
        a("CLIENT", "TRACKING", "ON")
        a("MGET", "1{tag}", "2{tag}")
        a("MULTI")
        admin("CONFIG", "SET", "tracking-table-max-keys", "1")
        for side in ("ours", "theirs"):
            client = getattr(a, side)
            client.send(encode_command("PING"))
            push = client.read_reply()
            assert push.startswith(b">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\n") and push.endswith(b"{tag}\r\n"), side
            assert client.read_reply() == b"+QUEUED\r\n"
        a("EXEC")
    finally:
        admin("DEBUG", "PAUSE-CRON", "0")
        admin("CONFIG", "SET", "tracking-table-max-keys", "1000000")
