"""pyvalkey as a replica (and as the primary of one), against real Valkey in every position.

Each test starts its own servers (the session-wide ones must stay primaries): an oracle primary
feeding a pyvalkey replica, pyvalkey feeding pyvalkey and an oracle sub-replica, link drops with
PSYNC continuation, promotion with REPLICAOF NO ONE, and the replica-only errors and INFO / ROLE
replies compared with an oracle in the same role.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey

pytestmark = pytest.mark.timeout(60)


# -- helpers -------------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def info(client: RawClient, section: str = "replication") -> list[tuple[str, str]]:
    raw = client("INFO", section)
    body = raw.split(b"\r\n", 1)[1].decode()
    fields = []
    for line in body.split("\r\n"):
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields.append((name, value))
    return fields


def field(client: RawClient, name: str) -> str:
    return dict(info(client))[name]


def linked(client: RawClient) -> bool:
    return field(client, "master_link_status") == "up"


def in_sync(primary: RawClient, *replicas: RawClient) -> bool:
    target = field(primary, "master_repl_offset")
    return all(field(replica, "slave_repl_offset") == target for replica in replicas)


def digest(client: RawClient) -> bytes:
    return client("DEBUG", "DIGEST")


@pytest.fixture
def servers() -> Iterator[Callable[..., ServerProcess]]:
    """Start servers on demand; all of them are stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(kind: str, *extra: str) -> ServerProcess:
        if kind == "oracle":
            server = start_oracle("--repl-diskless-sync-delay", "0", *extra)
        else:
            server = start_pyvalkey(*extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def connect(server: ServerProcess) -> RawClient:
    return RawClient(server.port)


def fill(primary: RawClient) -> None:
    primary("MSET", "a", "1", "b", "2")
    primary("HSET", "h", "f1", "v1", "f2", "v2")
    primary("RPUSH", "l", "x", "y", "z")
    primary("ZADD", "z", "1", "one", "2", "two")
    primary("SADD", "s", "m1", "m2")
    primary("SET", "big", "x" * 200_000)
    primary("SET", "ttl", "v", "EX", "1000")
    primary("SELECT", "3")
    primary("SET", "in3", "three")
    primary("SELECT", "0")


def live_writes(primary: RawClient) -> None:
    primary("INCR", "counter")
    primary("MULTI")
    primary("INCR", "counter")
    primary("SELECT", "5")
    primary("SET", "in5", "five")
    primary("LPUSH", "l5", "a", "b")
    primary("EXEC")
    primary("SELECT", "0")
    # A relative TTL reaches replicas as an absolute one. Long enough not to expire while the
    # digests are compared: a key expiring in between reaches each server at its own moment.
    primary("SET", "short", "gone later", "PX", "60000")
    primary("EXPIRE", "a", "500")
    primary("SET", "huge", "y" * 1_500_000)
    primary("APPEND", "huge", "tail")
    primary("DEL", "b")


# -- oracle primary -> pyvalkey replica ------------------------------------------------------------


def test_oracle_primary_to_pyvalkey_replica(servers: Callable[..., ServerProcess]) -> None:
    primary_server = servers("oracle")
    replica_server = servers("pyvalkey")
    primary, replica = connect(primary_server), connect(replica_server)
    fill(primary)
    assert replica("REPLICAOF", "127.0.0.1", primary_server.port) == b"+OK\r\n"
    wait_for(lambda: linked(replica), what="link up")
    wait_for(lambda: in_sync(primary, replica), what="offsets")
    assert digest(replica) == digest(primary)
    assert replica("GET", "big") == primary("GET", "big")
    replica("SELECT", "3")
    assert replica("GET", "in3") == b"$5\r\nthree\r\n"
    replica("SELECT", "0")

    live_writes(primary)
    wait_for(lambda: in_sync(primary, replica), what="offsets after writes")
    assert digest(replica) == digest(primary)
    replica("SELECT", "5")
    assert replica("LRANGE", "l5", "0", "-1") == b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    replica("SELECT", "0")
    assert replica("GET", "counter") == b"$1\r\n2\r\n"
    assert replica("STRLEN", "huge") == b":1500004\r\n"
    # The primary's replid and offset are ours too (a sub-replica can continue from either).
    assert field(replica, "master_replid") == field(primary, "master_replid")
    assert field(replica, "master_repl_offset") == field(primary, "master_repl_offset")
    # The primary sees us online, with our ACKed offset and listening port.
    wait_for(lambda: f"offset={field(primary, 'master_repl_offset')}," in field(primary, "slave0"))
    assert field(primary, "slave0").startswith(f"ip=127.0.0.1,port={replica_server.port},state=online,")

    # A logically expired key reads as missing on the replica but stays until the primary's
    # DEL arrives: a replica expires nothing itself.
    primary("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    primary("SET", "short2", "v", "PX", "100")
    wait_for(lambda: in_sync(primary, replica))
    time.sleep(0.3)
    assert replica("GET", "short2") == b"$-1\r\n"
    assert replica("EXISTS", "short2") == b":0\r\n"
    time.sleep(0.2)  # a few of the replica's cron cycles
    size = int(replica("DBSIZE")[1:-2])
    assert replica("DBSIZE") == primary("DBSIZE")
    primary("GET", "short2")  # the primary expires it and streams the deletion
    wait_for(lambda: in_sync(primary, replica))
    assert replica("DBSIZE") == primary("DBSIZE") == b":%d\r\n" % (size - 1)
    primary("DEBUG", "SET-ACTIVE-EXPIRE", "1")

    # The primary's pseudo-client is listed as the master (flag M).
    assert b"flags=M" in replica("CLIENT", "LIST", "TYPE", "master")


def test_pyvalkey_primary_chain_with_oracle_subreplica(servers: Callable[..., ServerProcess]) -> None:
    """pyvalkey -> pyvalkey -> Valkey: the middle one passes the stream on unchanged."""
    primary_server = servers("pyvalkey")
    middle_server = servers("pyvalkey")
    leaf_server = servers("oracle")
    primary, middle, leaf = connect(primary_server), connect(middle_server), connect(leaf_server)
    fill(primary)
    middle("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: linked(middle), what="middle link")
    leaf("REPLICAOF", "127.0.0.1", middle_server.port)
    wait_for(lambda: linked(leaf), what="leaf link")
    live_writes(primary)
    wait_for(lambda: in_sync(primary, middle, leaf), what="chain offsets")
    assert digest(middle) == digest(primary) == digest(leaf)
    assert field(leaf, "master_replid") == field(middle, "master_replid") == field(primary, "master_replid")
    # The primary lists the middle replica; the middle one lists the leaf.
    assert field(primary, "connected_slaves") == "1"
    assert field(middle, "connected_slaves") == "1"
    assert field(middle, "slave0").startswith(f"ip=127.0.0.1,port={leaf_server.port},state=online,")


def test_pyvalkey_primary_full_sync_of_pyvalkey_replica_in_a_later_database(
    servers: Callable[..., ServerProcess],
) -> None:
    """A replica that syncs while the stream is in database 7 must apply the next writes there
    (the snapshot's repl-stream-db), also when it syncs from a replica."""
    primary_server = servers("pyvalkey")
    middle_server = servers("pyvalkey")
    leaf_server = servers("pyvalkey")
    primary, middle, leaf = connect(primary_server), connect(middle_server), connect(leaf_server)
    middle("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: linked(middle))
    primary("SELECT", "7")
    primary("SET", "k", "1")
    wait_for(lambda: in_sync(primary, middle))
    leaf("REPLICAOF", "127.0.0.1", middle_server.port)
    wait_for(lambda: linked(leaf))
    primary("SET", "k2", "2")
    wait_for(lambda: in_sync(primary, middle, leaf))
    leaf("SELECT", "7")
    assert leaf("MGET", "k", "k2") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"


def test_link_drop_then_partial_resync(servers: Callable[..., ServerProcess]) -> None:
    primary_server = servers("oracle")
    replica_server = servers("pyvalkey")
    primary, replica = connect(primary_server), connect(replica_server)
    primary("SET", "before", "1")
    replica("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: linked(replica))
    wait_for(lambda: in_sync(primary, replica))
    full_before = int(field_in(primary, "stats", "sync_full"))
    assert primary("CLIENT", "KILL", "TYPE", "replica") == b":1\r\n"
    primary("SET", "during", "2")
    wait_for(lambda: linked(replica) and in_sync(primary, replica), what="relink")
    assert field_in(primary, "stats", "sync_partial_ok") == "1"
    assert int(field_in(primary, "stats", "sync_full")) == full_before
    assert replica("MGET", "before", "during") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    assert digest(replica) == digest(primary)


def field_in(client: RawClient, section: str, name: str) -> str:
    return dict(info(client, section))[name]


def test_promotion_lets_another_replica_continue(servers: Callable[..., ServerProcess]) -> None:
    """Failover by hand: replica B of A is promoted, replica C of A moves to B with PSYNC."""
    a_server = servers("oracle")
    b_server = servers("pyvalkey")
    c_server = servers("oracle")
    a, b, c = connect(a_server), connect(b_server), connect(c_server)
    fill(a)
    b("REPLICAOF", "127.0.0.1", a_server.port)
    c("REPLICAOF", "127.0.0.1", a_server.port)
    wait_for(lambda: linked(b) and linked(c))
    live_writes(a)
    wait_for(lambda: in_sync(a, b, c))
    old_replid = field(b, "master_replid")
    offset = int(field(b, "master_repl_offset"))

    assert b("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
    fields = dict(info(b))
    assert fields["role"] == "master"
    assert fields["master_replid2"] == old_replid
    assert fields["second_repl_offset"] == str(offset + 1)
    assert fields["master_replid"] != old_replid
    assert b("SET", "after-promotion", "1") == b"+OK\r\n"

    c("REPLICAOF", "127.0.0.1", b_server.port)
    wait_for(lambda: linked(c) and in_sync(b, c), what="C follows B")
    assert c("GET", "after-promotion") == b"$1\r\n1\r\n"
    assert field_in(b, "stats", "sync_partial_ok") == "1"
    assert field_in(b, "stats", "sync_full") == "0"
    assert digest(c) == digest(b)

    # And the former primary can follow the new one too (a full sync: its history diverged).
    a("REPLICAOF", "127.0.0.1", b_server.port)
    wait_for(lambda: linked(a) and in_sync(b, a), what="A follows B")
    assert digest(a) == digest(b)


def test_pyvalkey_replica_of_promoted_pyvalkey_continues(servers: Callable[..., ServerProcess]) -> None:
    """The same failover with pyvalkey on every side, including a pyvalkey replica that was a
    primary itself: it continues from its own history, as Valkey's cached-myself does."""
    a_server = servers("pyvalkey")
    b_server = servers("pyvalkey")
    a, b = connect(a_server), connect(b_server)
    b("REPLICAOF", "127.0.0.1", a_server.port)
    wait_for(lambda: linked(b))
    a("SET", "k", "v")
    wait_for(lambda: in_sync(a, b))
    b("REPLICAOF", "NO", "ONE")
    a("REPLICAOF", "127.0.0.1", b_server.port)
    wait_for(lambda: linked(a) and in_sync(b, a), what="old primary follows")
    assert field_in(b, "stats", "sync_partial_ok") == "1"
    b("SET", "k2", "v2")
    wait_for(lambda: in_sync(b, a))
    assert a("GET", "k2") == b"$2\r\nv2\r\n"


# -- the replica's own behaviour, against an oracle replica --------------------------------------


@pytest.fixture
def stale_pair(servers: Callable[..., ServerProcess]) -> Iterator[tuple[RawClient, RawClient]]:
    """pyvalkey and Valkey, both replicas of a port nobody listens on (link down)."""
    ours, theirs = connect(servers("pyvalkey")), connect(servers("oracle"))
    for client in (ours, theirs):
        client("SET", "k", "v")
        assert client("REPLICAOF", "127.0.0.1", "1") == b"+OK\r\n"
    yield ours, theirs


def same(pair: tuple[RawClient, RawClient], *args: object) -> bytes:
    ours, theirs = pair
    mine, real = ours(*args), theirs(*args)
    assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
    return real


def test_readonly_and_masterdown(stale_pair: tuple[RawClient, RawClient]) -> None:
    assert same(stale_pair, "SET", "k", "x").startswith(b"-READONLY")
    same(stale_pair, "GET", "k")
    same(stale_pair, "DEL", "k")
    # Scripts: a declared writer is refused up front, an undeclared one at its first write.
    same(stale_pair, "EVAL", "return redis.call('set','x','1')", "0")
    same(stale_pair, "EVAL", "return redis.pcall('set','x','1')", "0")
    same(stale_pair, "EVAL", "#!lua\nreturn redis.call('set','x','1')", "0")
    same(stale_pair, "EVAL", "#!lua flags=no-writes\nreturn redis.call('get','k')", "0")
    same(stale_pair, "MULTI")
    same(stale_pair, "EVAL", "#!lua\nreturn 1", "0")
    same(stale_pair, "EXEC")
    same(stale_pair, "MULTI")
    same(stale_pair, "SET", "k", "x")
    same(stale_pair, "GET", "k")
    assert same(stale_pair, "EXEC").startswith(b"-EXECABORT")
    same(stale_pair, "CONFIG", "SET", "replica-serve-stale-data", "no")
    assert same(stale_pair, "GET", "k").startswith(b"-MASTERDOWN")
    same(stale_pair, "PING")
    same(stale_pair, "SET", "k", "x")  # READONLY wins over MASTERDOWN
    same(stale_pair, "ECHO", "x")
    same(stale_pair, "CONFIG", "GET", "replica-serve-stale-data")
    same(stale_pair, "MULTI")
    same(stale_pair, "GET", "k")
    same(stale_pair, "EXEC")
    # Queued while the link was fine (here: while a primary), run after it went stale.
    same(stale_pair, "REPLICAOF", "NO", "ONE")
    same(stale_pair, "MULTI")
    same(stale_pair, "GET", "k")
    for client in stale_pair:
        other = RawClient(int(client.sock.getpeername()[1]))
        assert other("REPLICAOF", "localhsot", "0") == b"+OK\r\n"
        other.close()
    assert same(stale_pair, "EXEC").startswith(b"-EXECABORT Transaction discarded because of: MASTERDOWN")
    same(stale_pair, "CONFIG", "SET", "replica-read-only", "no")
    same(stale_pair, "CONFIG", "SET", "replica-serve-stale-data", "yes")
    same(stale_pair, "SET", "k", "local")
    same(stale_pair, "GET", "k")
    same(stale_pair, "CONFIG", "SET", "replica-read-only", "yes")


def test_replicaof_replies_and_errors(stale_pair: tuple[RawClient, RawClient]) -> None:
    same(stale_pair, "REPLICAOF", "127.0.0.1", "1")  # +OK Already connected to specified master
    same(stale_pair, "CONFIG", "GET", "replicaof")
    same(stale_pair, "SLAVEOF", "127.0.0.1", "1")
    same(stale_pair, "REPLICAOF", "127.0.0.1", "abc")
    same(stale_pair, "REPLICAOF", "127.0.0.1", "-1")
    same(stale_pair, "REPLICAOF", "127.0.0.1", "65536")
    same(stale_pair, "REPLICAOF", "no", "two")
    same(stale_pair, "REPLICAOF", "127.0.0.1")
    same(stale_pair, "WAIT", "0", "0")
    same(stale_pair, "WAITAOF", "0", "0", "0")
    same(stale_pair, "ROLE")
    same(stale_pair, "PSYNC", "?", "-1")  # -NOMASTERLINK: nothing to give a sub-replica yet
    same(stale_pair, "SYNC")
    same(stale_pair, "REPLICAOF", "localhsot", "0")
    time.sleep(1.2)  # a bad host name just retries every second
    same(stale_pair, "ROLE")
    same(stale_pair, "PING")
    same(stale_pair, "CONFIG", "GET", "slaveof")
    same(stale_pair, "SLAVEOF", "NO", "ONE")
    same(stale_pair, "SLAVEOF", "NO", "ONE")
    same(stale_pair, "CONFIG", "GET", "replicaof")
    same(stale_pair, "SET", "k", "writable again")


def test_replicaof_inside_multi(servers: Callable[..., ServerProcess]) -> None:
    """Valkey's "MULTI / EXEC with REPLICAOF": the transaction is not streamed to the replicas
    it had, and later writes are refused."""
    from test_replication_stream import StreamReader

    pair = (connect(servers("pyvalkey")), connect(servers("oracle")))
    streams = [StreamReader(int(client.sock.getpeername()[1])) for client in pair]
    same(pair, "SET", "foo", "bar")
    same(pair, "MULTI")
    same(pair, "SET", "foo2", "bar")
    same(pair, "REPLICAOF", "localhost", "9999")
    same(pair, "SET", "foo3", "bar")
    same(pair, "EXEC")
    same(pair, "SET", "foo4", "bar")
    for stream in streams:
        assert stream.commands(2) == [[b"SELECT", b"0"], [b"SET", b"foo", b"bar"]]
        stream.sock.settimeout(0.3)
        with pytest.raises((TimeoutError, OSError, ConnectionError)):
            stream.commands(1)
        stream.close()
    same(pair, "REPLICAOF", "NO", "ONE")


def _names(fields: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in fields]


def test_info_and_role_as_stale_replica(stale_pair: tuple[RawClient, RawClient]) -> None:
    ours, theirs = (info(client) for client in stale_pair)
    assert _names(ours) == _names(theirs)
    skip = {"master_replid", "master_replid2", "master_repl_offset", "second_repl_offset",
            "slave_read_repl_offset", "slave_repl_offset", "repl_backlog_first_byte_offset",
            "repl_backlog_histlen", "repl_backlog_active"}
    assert [f for f in ours if f[0] not in skip] == [f for f in theirs if f[0] not in skip]
    same(stale_pair, "ROLE")
    for client in stale_pair:
        client("HELLO", "3")
    same(stale_pair, "ROLE")
    same(stale_pair, "WAIT", "0", "0")


def test_info_and_role_as_connected_replica(servers: Callable[..., ServerProcess]) -> None:
    primary_server = servers("oracle")
    primary = connect(primary_server)
    primary("SET", "k", "v")
    pair = (connect(servers("pyvalkey")), connect(servers("oracle")))
    for client in pair:
        client("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: all(linked(client) for client in pair))
    wait_for(lambda: in_sync(primary, *pair))
    ours, theirs = (info(client) for client in pair)
    assert _names(ours) == _names(theirs)
    skip = {"master_last_io_seconds_ago", "repl_backlog_first_byte_offset", "repl_backlog_histlen"}
    assert [f for f in ours if f[0] not in skip] == [f for f in theirs if f[0] not in skip]
    same(pair, "ROLE")
    # The primary's view: both replicas online, each with its listening port and ACKed offset.
    wait_for(lambda: field(primary, "slave1").count(f"offset={field(primary, 'master_repl_offset')},") == 1)
    role = primary("ROLE")
    for server_port in (int(client.sock.getpeername()[1]) for client in pair):
        assert b"$%d\r\n%d\r\n" % (len(str(server_port)), server_port) in role


def test_info_and_role_of_a_primary_with_a_replica(servers: Callable[..., ServerProcess]) -> None:
    """pyvalkey and Valkey as primaries, each with one Valkey replica: same fields, same ROLE."""
    primaries = (connect(servers("pyvalkey")), connect(servers("oracle")))
    replicas = [connect(servers("oracle")) for _ in primaries]
    for primary, replica in zip(primaries, replicas):
        primary("SET", "k", "v")
        replica("REPLICAOF", "127.0.0.1", int(primary.sock.getpeername()[1]))
    wait_for(lambda: all(linked(replica) for replica in replicas))
    for primary, replica in zip(primaries, replicas):
        wait_for(lambda p=primary, r=replica: in_sync(p, r))  # type: ignore[misc]
        wait_for(lambda p=primary: f"offset={field(p, 'master_repl_offset')}," in field(p, "slave0"))  # type: ignore[misc]
    ours, theirs = (info(primary) for primary in primaries)
    assert _names(ours) == _names(theirs)
    for primary, replica in zip(primaries, replicas):
        role = primary("ROLE")
        port = str(int(replica.sock.getpeername()[1])).encode()
        offset = field(primary, "master_repl_offset").encode()
        assert role == (
            b"*3\r\n$6\r\nmaster\r\n:%s\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
            % (offset, len(port), port, len(offset), offset)
        )


def test_replica_serves_loading_then_data(servers: Callable[..., ServerProcess]) -> None:
    """A bigger dataset: the replica answers (LOADING or data) while it syncs and ends equal."""
    primary_server = servers("oracle")
    primary = connect(primary_server)
    primary("DEBUG", "POPULATE", "20000", "key", "100")
    replica_server = servers("pyvalkey")
    replica = connect(replica_server)
    replica("REPLICAOF", "127.0.0.1", primary_server.port)
    seen = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reply = replica("DBSIZE")
        seen.add(reply[:8])
        if reply == b":20000\r\n" and linked(replica):
            break
        time.sleep(0.005)
    assert replica("DBSIZE") == b":20000\r\n"
    assert seen <= {b":0\r\n", b":20000\r\n", b"-LOADING"}
    assert digest(replica) == digest(primary)


@pytest.mark.parametrize("user", [None, "repl"])
def test_primaryauth_and_disk_based_transfer(servers: Callable[..., ServerProcess], user: str | None) -> None:
    """A primary with a password (and an ACL user), sending its snapshot as ``$<len>`` from
    disk rather than the diskless EOF form; our own requirepass does not stop its commands."""
    primary_server = servers("oracle", "--requirepass", "secret", "--repl-diskless-sync", "no")
    primary = connect(primary_server)
    assert primary("AUTH", "secret") == b"+OK\r\n"
    if user:
        primary("ACL", "SETUSER", user, "on", ">userpass", "+@all", "~*", "&*")
    fill(primary)
    replica_server = servers("pyvalkey", "--requirepass", "mine")
    replica = connect(replica_server)
    replica("AUTH", "mine")
    replica("CONFIG", "SET", "masterauth", "userpass" if user else "secret")
    if user:
        replica("CONFIG", "SET", "masteruser", user)
    replica("REPLICAOF", "127.0.0.1", primary_server.port)
    wait_for(lambda: linked(replica), what="authenticated link")
    live_writes(primary)
    wait_for(lambda: in_sync(primary, replica))
    assert digest(replica) == digest(primary)


def test_wrong_primaryauth_keeps_retrying(servers: Callable[..., ServerProcess]) -> None:
    primary_server = servers("oracle", "--requirepass", "secret")
    replica = connect(servers("pyvalkey"))
    replica("CONFIG", "SET", "masterauth", "wrong")
    replica("REPLICAOF", "127.0.0.1", primary_server.port)
    time.sleep(1.5)
    assert field(replica, "master_link_status") == "down"
    assert replica("ROLE").split(b"\r\n")[7] in (b"connect", b"connecting", b"handshake")
    replica("CONFIG", "SET", "masterauth", "secret")
    wait_for(lambda: linked(replica), what="link after fixing the password")


# -- a scripted primary: the exact handshake, ACK offsets and an interrupted transaction -------


class FakePrimary:
    """A listening socket that plays the primary's side by hand (one connection at a time)."""

    def __init__(self) -> None:
        import socket

        import hiredis

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.sock: socket.socket | None = None
        self.reader = hiredis.Reader()

    def accept(self) -> None:
        import hiredis

        self.sock, _ = self.listener.accept()
        self.sock.settimeout(10)
        self.reader = hiredis.Reader()

    def command(self) -> list[bytes]:
        assert self.sock is not None
        while True:
            item = self.reader.gets()
            if item is not False:
                return list(item)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("replica closed the link")
            self.reader.feed(chunk)

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def handshake(self) -> list[list[bytes]]:
        seen = [self.command()]
        self.send(b"+PONG\r\n")
        while True:
            argv = self.command()
            seen.append(argv)
            if argv[0].upper() == b"PSYNC":
                return seen
            self.send(b"+OK\r\n")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.listener.close()


def _resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def test_handshake_acks_and_interrupted_transaction(servers: Callable[..., ServerProcess]) -> None:
    from pyvalkey.persistence.rdb import dump_file_bytes

    fake = FakePrimary()
    try:
        replica_server = servers("pyvalkey")
        replica = connect(replica_server)
        own_replid = field(replica, "master_replid").encode()
        replica("REPLICAOF", "127.0.0.1", fake.port)
        fake.accept()
        seen = fake.handshake()
        port = str(replica_server.port).encode()
        assert seen[0] == [b"PING"]
        assert seen[1:] == [
            [b"REPLCONF", b"listening-port", port],
            [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
            [b"REPLCONF", b"version", b"9.1.2"],
            [b"PSYNC", own_replid, b"1"],  # a former primary offers its own history
        ]
        replid = b"a" * 40
        mark = b"m" * 40
        fake.send(b"+FULLRESYNC %s 100\r\n\n\n$EOF:%s\r\n" % (replid, mark) + dump_file_bytes([]) + mark)
        assert fake.command() == [b"REPLCONF", b"ACK", b"100"]  # online at once (diskless)
        applied = _resp(b"SET", b"k", b"v")
        getack = _resp(b"REPLCONF", b"GETACK", b"*")
        fake.send(applied + getack)
        # The ACK counts what was applied before the GETACK itself. The once-a-second ACK
        # may come first, from before these bytes arrived (as Valkey's replicationCron may).
        while (ack := fake.command()) == [b"REPLCONF", b"ACK", b"100"]:
            pass
        assert ack == [b"REPLCONF", b"ACK", b"%d" % (100 + len(applied))]
        offset = 100 + len(applied) + len(getack)
        # A transaction cut by the link: nothing of it counts as applied.
        fake.send(_resp(b"MULTI") + _resp(b"SET", b"k2", b"v2"))
        wait_for(lambda: field(replica, "slave_read_repl_offset") != str(offset))
        assert field(replica, "slave_repl_offset") == str(offset)
        fake.sock.close()  # type: ignore[union-attr]
        fake.accept()
        seen = fake.handshake()
        assert seen[-1] == [b"PSYNC", replid, b"%d" % (offset + 1)]
        fake.send(b"+CONTINUE\r\n")
        fake.send(_resp(b"MULTI") + _resp(b"SET", b"k2", b"v2") + _resp(b"EXEC") + getack)
        transaction = len(_resp(b"MULTI") + _resp(b"SET", b"k2", b"v2") + _resp(b"EXEC"))
        while True:  # the first ACK may be the one sent on reconnecting
            ack = fake.command()
            if ack == [b"REPLCONF", b"ACK", b"%d" % (offset + transaction)]:
                break
            assert ack == [b"REPLCONF", b"ACK", b"%d" % offset]
        assert replica("MGET", "k", "k2") == b"*2\r\n$1\r\nv\r\n$2\r\nv2\r\n"
        assert field(replica, "master_replid") == replid.decode()
        # A CONTINUE with a new ID: the old one becomes replid2, valid to the next byte.
        fake.sock.close()  # type: ignore[union-attr]
        fake.accept()
        seen = fake.handshake()
        new_offset = offset + transaction + len(getack)
        assert seen[-1] == [b"PSYNC", replid, b"%d" % (new_offset + 1)]
        fake.send(b"+CONTINUE %s\r\n" % (b"b" * 40))
        wait_for(lambda: linked(replica))
        fields = dict(info(replica))
        assert fields["master_replid"] == "b" * 40
        assert fields["master_replid2"] == replid.decode()
        assert fields["second_repl_offset"] == str(new_offset + 1)
    finally:
        fake.close()


def test_refused_link_reads_connect_across_retries(servers: Callable[..., ServerProcess]) -> None:
    """A refused loopback connect is known as soon as it is tried (as in Valkey, whose loop
    reports it before any client's next command): ROLE never catches "connecting" in between,
    including across the cron's retries."""
    client = connect(servers("pyvalkey"))
    assert client("REPLICAOF", "127.0.0.1", "1") == b"+OK\r\n"
    states = set()
    deadline = time.monotonic() + 2.5  # at least two retries of the 1 s cron
    while time.monotonic() < deadline:
        states.add(client("ROLE").split(b"\r\n")[7])
    assert states == {b"connect"}
