"""The compiled request lane (pyvalkey/_speedups/lane.pyx) against its Python twin.

The lane runs GET, SET key value, INCR and PING in C when nothing else needs to see them. Each
test runs the same input in-process through both implementations (``pyvalkey._speedups.use``)
and compares the reply bytes *and* what the commands leave behind: keys, TTLs, LRU clocks and
run starts, hit/miss/dirty counters, commandstats, latency histograms, the slow log and CLIENT
LIST's cmd=. The cases cover what makes the lane hand a request to Python (expired keys, other
types, odd numbers, MULTI, MONITOR, notifications, CLIENT REPLY, a paused server, an
unauthenticated client) and the request framings it must leave to the reader. A last test
compares both servers with real Valkey over TCP.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from inprocess import FakeTransport
from resp import encode_command
from servers import start_pyvalkey

from pyvalkey import _speedups
from pyvalkey.net.connection import Connection
from pyvalkey.server import Server

pytestmark = pytest.mark.skipif(_speedups.compiled_lane() is None, reason="the compiled lane is not built")

NATIVE = (b"get", b"set", b"incr", b"ping")
# Some of the commands the lane calls through its own path (Dispatcher.contained_commands).
OTHERS = (b"hset", b"hget", b"sadd", b"smembers", b"zadd", b"zrange", b"lpush", b"lrange", b"del", b"exists", b"ttl",
          b"type", b"rename", b"mget", b"mset", b"getdel", b"pexpire", b"append", b"scan", b"keys", b"sort")


def frame(*args: bytes) -> bytes:
    return encode_command(*args)


class Session:
    """A server and connected clients, all in-process, with one implementation chosen."""

    def __init__(self, implementation: str, config: dict[str, Any] | None = None, record: bool = False) -> None:
        self.implementation = implementation
        with self.chosen():
            self.server = Server()
        # With ``record``, a sink takes the write feed as the AOF and replicas would.
        self.fed: list[Any] = []
        if record:
            self.server.propagator.attach(_RecordingSink(self.fed))
        # Both implementations see the same frozen time: deadlines and clocks compare equal.
        self.server.clock.frozen_at_ns = 1_800_000_000_123_456_789
        self.server.keyspace.refresh_time()
        self.conns: list[tuple[Connection, FakeTransport]] = []
        self.connect()
        # Command objects are shared by every Server of the process: start their counters (and
        # the rest of INFO's) from zero. A first call slowed by an import must not reach the
        # slow log of one implementation only.
        self.send(frame(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"-1") + frame(b"CONFIG", b"RESETSTAT"))
        for name, value in (config or {}).items():
            assert self.send(frame(b"CONFIG", b"SET", name.encode(), value)) == b"+OK\r\n"

    @contextlib.contextmanager
    def chosen(self) -> Iterator[None]:
        """This session's implementation while connecting and serving (whatever the process's
        default is, e.g. under PYVALKEY_PURE_PYTHON=1)."""
        before = _speedups.IMPLEMENTATION
        _speedups.use(self.implementation)
        try:
            yield
        finally:
            _speedups.use(before)

    def connect(self) -> int:
        with self.chosen():
            conn = Connection(self.server)
            transport = FakeTransport()
            conn.connection_made(transport)  # type: ignore[arg-type]
        self.conns.append((conn, transport))
        return len(self.conns) - 1

    def send(self, data: bytes, conn: int = 0) -> bytes:
        connection, transport = self.conns[conn]
        start = len(transport.data)
        if not transport.closed:
            with self.chosen():
                connection.data_received(data)
        return bytes(transport.data[start:])

    def state(self) -> dict[str, Any]:
        """Everything a native command may change, with clocks relative to the LRU clock."""
        keyspace = self.server.keyspace
        lru = keyspace.lru_clock
        dbs = []
        for db in keyspace.dbs[:2]:
            dbs.append(
                (
                    {key: _comparable(value) for key, value in db.data.items()},
                    dict(db.expires),
                    {key: lru - clock for key, clock in dict.items(db.access)},
                    {key: lru - clock for key, clock in db.runs.items()},
                    db.implicit_access,
                )
            )
        commands = {}
        for name in NATIVE + OTHERS:
            cmd = self.server.dispatcher.by_name[name]
            commands[name] = (cmd.calls, cmd.failed_calls, cmd.rejected_calls, sum(cmd.latency_us.values()))
        clients = [(conn.client.last_command, conn.client.commands_processed) for conn, _ in self.conns]
        return {
            "dbs": dbs,
            "counters": (keyspace.hits, keyspace.misses, keyspace.dirty, keyspace.expired_keys),
            "commands": commands,
            "processed": self.server.stats.commands_processed,
            "errors": (self.server.stats.total_error_replies, dict(self.server.stats.errors)),
            "fed": [[(index, list(argv)) for index, argv in unit] for unit in self.fed],
            "clients": clients,
            # (arguments, client address, client name): ids and times differ between sessions
            "slowlog": [entry[3:] for entry in self.server.slowlog.entries],
        }


class _RecordingSink:
    """A write-feed sink (pyvalkey.propagation.Sink) that keeps every execution unit."""

    def __init__(self, units: list[Any]) -> None:
        self.units = units

    def feed(self, unit: Any) -> None:
        self.units.append(list(unit))


def _comparable(value: Any) -> Any:
    """Strings as they are; other values by type and length (their objects differ)."""
    if isinstance(value, (bytes, bytearray)):
        return type(value), bytes(value)
    return type(value).__name__, len(value)


Script = Callable[[Session], list[bytes]]


def both(script: Script, config: dict[str, Any] | None = None, record: bool = False) -> list[bytes]:
    """Run ``script`` against a fresh session of each implementation; the replies and the
    final states (with ``record``: the write feed too) must agree. Returns the replies."""
    results = []
    for implementation in ("python", "compiled"):
        session = Session(implementation, config, record)
        replies = script(session)
        results.append((replies, session.state()))
    (python_replies, python_state), (compiled_replies, compiled_state) = results
    assert compiled_replies == python_replies
    assert compiled_state == python_state
    return compiled_replies


def test_native_commands_and_their_bookkeeping() -> None:
    def script(s: Session) -> list[bytes]:
        return [
            s.send(
                frame(b"SET", b"a", b"1")
                + frame(b"GET", b"a")
                + frame(b"get", b"missing")
                + frame(b"INCR", b"a")
                + frame(b"incr", b"new")
                + frame(b"PING")
                + b"PING\r\n"
                + b"ping\r\n"
                + frame(b"SET", b"a", b"")
                + frame(b"GET", b"a")
                + frame(b"SET", b"b", b"x" * 300)
                + frame(b"GET", b"b")
            ),
            s.send(frame(b"INCR", b"a")),
        ]

    replies = both(script)
    assert replies[0].startswith(b"+OK\r\n$1\r\n1\r\n$-1\r\n:2\r\n:1\r\n+PONG\r\n+PONG\r\n+PONG\r\n+OK\r\n$0\r\n\r\n")
    assert replies[1] == b"-ERR value is not an integer or out of range\r\n"


@pytest.mark.parametrize(
    "value",
    [b"0", b"-1", b"-0", b"007", b"+5", b" 5", b"5 ", b"", b"-", b"999999999999999999", b"9999999999999999999",
     b"9223372036854775806", b"9223372036854775807", b"-9223372036854775808", b"12a", b"1.5"],
)
def test_incr_numbers(value: bytes) -> None:
    def script(s: Session) -> list[bytes]:
        return [s.send(frame(b"SET", b"n", value) + frame(b"INCR", b"n") + frame(b"GET", b"n"))]

    both(script)


def test_other_types_are_left_to_python() -> None:
    def script(s: Session) -> list[bytes]:
        return [s.send(frame(b"LPUSH", b"l", b"x") + frame(b"GET", b"l") + frame(b"INCR", b"l") + frame(b"SET", b"l", b"v")
                       + frame(b"GET", b"l") + frame(b"APPEND", b"raw", b"12") + frame(b"INCR", b"raw") + frame(b"GET", b"raw"))]

    replies = both(script)
    assert b"WRONGTYPE" in replies[0]


def test_keys_with_a_ttl() -> None:
    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"SET", b"k", b"v", b"PX", b"100") + frame(b"SET", b"c", b"5", b"PX", b"100")
                      + frame(b"SET", b"s", b"v", b"PX", b"100")
                      + frame(b"GET", b"k") + frame(b"INCR", b"c") + frame(b"PTTL", b"c") + frame(b"SET", b"s", b"w")
                      + frame(b"PTTL", b"s"))]
        s.server.clock.advance(0.2)  # past the deadlines: lazy expiry is Python's
        out.append(s.send(frame(b"GET", b"k") + frame(b"INCR", b"c") + frame(b"SET", b"x", b"1")))
        return out

    replies = both(script)
    assert replies[0].endswith(b"+OK\r\n:-1\r\n")
    assert replies[1] == b"$-1\r\n:1\r\n+OK\r\n"


def test_set_on_an_expired_key() -> None:
    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"SET", b"k", b"v", b"PX", b"50"))]
        s.server.clock.advance(0.1)
        out.append(s.send(frame(b"SET", b"k", b"w") + frame(b"PTTL", b"k") + frame(b"GET", b"k")))
        return out

    both(script)


def test_lru_clocks_runs_and_no_touch() -> None:
    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"SET", b"a", b"1") + frame(b"SET", b"b", b"2") + frame(b"SET", b"c", b"3"))]
        s.server.clock.advance(5)
        s.server.keyspace.refresh_time()
        out.append(s.send(frame(b"GET", b"b") + frame(b"SET", b"d", b"4") + frame(b"INCR", b"e") + frame(b"SET", b"a", b"9")))
        s.server.clock.advance(5)
        s.server.keyspace.refresh_time()
        out.append(s.send(frame(b"CLIENT", b"NO-TOUCH", b"ON") + frame(b"GET", b"c") + frame(b"OBJECT", b"IDLETIME", b"c")
                          + frame(b"CLIENT", b"NO-TOUCH", b"OFF") + frame(b"GET", b"c") + frame(b"OBJECT", b"IDLETIME", b"c")
                          + frame(b"OBJECT", b"IDLETIME", b"d")))
        return out

    replies = both(script)
    assert replies[2].endswith(b":10\r\n+OK\r\n$1\r\n3\r\n:0\r\n:5\r\n")


def test_resp3_and_select() -> None:
    def script(s: Session) -> list[bytes]:
        return [s.send(frame(b"HELLO", b"3") + frame(b"GET", b"nope") + frame(b"SET", b"k", b"0") + frame(b"SELECT", b"1")
                       + frame(b"GET", b"k") + frame(b"INCR", b"k") + frame(b"SELECT", b"0") + frame(b"GET", b"k"))]

    replies = both(script)
    assert replies[0].endswith(b"_\r\n+OK\r\n+OK\r\n_\r\n:1\r\n+OK\r\n$1\r\n0\r\n")


def test_multi_watch_and_exec() -> None:
    def script(s: Session) -> list[bytes]:
        other = s.connect()
        out = [s.send(frame(b"WATCH", b"w") + frame(b"MULTI") + frame(b"GET", b"w") + frame(b"SET", b"w", b"1"))]
        out.append(s.send(frame(b"SET", b"w", b"2") + frame(b"INCR", b"x"), other))
        out.append(s.send(frame(b"EXEC") + frame(b"GET", b"w")))
        out.append(s.send(frame(b"MULTI") + frame(b"INCR", b"x") + frame(b"PING") + frame(b"EXEC")))
        return out

    replies = both(script)
    assert replies[2] == b"*-1\r\n$1\r\n2\r\n"
    assert replies[3] == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:2\r\n+PONG\r\n"


def test_monitor_and_notifications_see_every_command() -> None:
    def script(s: Session) -> list[bytes]:
        monitor = s.connect()
        subscriber = s.connect()
        out = [s.send(frame(b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"))]
        out.append(s.send(frame(b"SUBSCRIBE", b"__keyevent@0__:set"), subscriber))
        out.append(s.send(frame(b"SET", b"k", b"v") + frame(b"INCR", b"n")))
        out.append(s.send(frame(b"MONITOR"), monitor))
        monitor_seen = len(s.conns[monitor][1].data)
        subscriber_seen = len(s.conns[subscriber][1].data)
        out.append(s.send(frame(b"GET", b"k") + frame(b"PING") + frame(b"SET", b"k", b"w")))
        # Monitor lines carry a timestamp and an address: keep only the commands.
        lines = bytes(s.conns[monitor][1].data[monitor_seen:])
        out.append(b"".join(line.split(b"]", 1)[-1] for line in lines.split(b"\r\n")))
        out.append(bytes(s.conns[subscriber][1].data[subscriber_seen:]))
        return out

    replies = both(script)
    assert b'"GET" "k"' in replies[-2] and b'"PING"' in replies[-2] and b'"SET" "k" "w"' in replies[-2]
    assert replies[-1] == b"*3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"


def test_client_reply_off_and_skip() -> None:
    def script(s: Session) -> list[bytes]:
        return [s.send(frame(b"CLIENT", b"REPLY", b"OFF") + frame(b"SET", b"k", b"v") + frame(b"GET", b"k")
                       + frame(b"CLIENT", b"REPLY", b"ON") + frame(b"GET", b"k") + frame(b"CLIENT", b"REPLY", b"SKIP")
                       + frame(b"GET", b"k") + frame(b"GET", b"k"))]

    replies = both(script)
    assert replies[0] == b"+OK\r\n$1\r\nv\r\n$1\r\nv\r\n"


def test_unauthenticated_client() -> None:
    def script(s: Session) -> list[bytes]:
        late = s.connect()  # connected after requirepass was set
        return [s.send(frame(b"GET", b"k") + frame(b"PING") + frame(b"AUTH", b"secret") + frame(b"SET", b"k", b"v")
                       + frame(b"GET", b"k"), late)]

    replies = both(script, {"requirepass": b"secret"})
    assert replies[0].startswith(b"-NOAUTH")
    assert replies[0].endswith(b"+OK\r\n+OK\r\n$1\r\nv\r\n")


def test_paused_writes_wait() -> None:
    def script(s: Session) -> list[bytes]:
        other = s.connect()
        out = [s.send(frame(b"CLIENT", b"PAUSE", b"100000", b"WRITE"), other)]
        out.append(s.send(frame(b"GET", b"k") + frame(b"SET", b"k", b"v") + frame(b"GET", b"k")))
        out.append(s.send(frame(b"CLIENT", b"UNPAUSE"), other))
        out.append(s.send(b""))
        return out

    both(script)


def test_slowlog_and_latency_histogram() -> None:
    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"))]
        out.append(s.send(frame(b"SET", b"k", b"v") + frame(b"GET", b"k") + frame(b"INCR", b"n") + b"PING\r\n"))
        log = s.send(frame(b"SLOWLOG", b"GET", b"10"))
        out.append(b"SET" in log and b"GET" in log and b"INCR" in log and b"PING" in log and b"k" in log and b"n" in log
                   and b"%d" % log.count(b"\r\n") or b"")
        out.append(s.send(frame(b"SLOWLOG", b"LEN")))
        return out

    replies = both(script)
    assert replies[3] == b":6\r\n"  # CONFIG SET, the four commands, SLOWLOG GET


def test_commandstats_and_client_list() -> None:
    def script(s: Session) -> list[bytes]:
        s.send(frame(b"SET", b"k", b"v") + frame(b"GET", b"k") * 3 + frame(b"INCR", b"n") * 2 + frame(b"PING"))
        info = s.send(frame(b"INFO", b"commandstats"))
        lines = [line for line in info.split(b"\r\n") if line.startswith(b"cmdstat_")]
        stats = [line.split(b"usec=")[0] + line.split(b"usec_per_call=")[1].split(b",", 1)[1] for line in lines]
        s.send(frame(b"GET", b"k"))
        client_list = s.send(frame(b"CLIENT", b"LIST"))
        return [b"\n".join(stats), b"cmd=get" if b"cmd=client|list" in client_list else client_list]

    replies = both(script)
    assert b"cmdstat_get:calls=3," in replies[0]


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 11])
def test_requests_split_anywhere(step: int) -> None:
    data = (frame(b"SET", b"key", b"x" * 40) + frame(b"GET", b"key") + b"PING\r\n" + frame(b"INCR", b"n")
            + frame(b"GET", b"key") + b"GET key\r\n" + frame(b"PING"))

    def script(s: Session) -> list[bytes]:
        return [s.send(data[i : i + step]) for i in range(0, len(data), step)]

    replies = both(script)
    assert b"".join(replies) == (b"+OK\r\n$40\r\n" + b"x" * 40 + b"\r\n+PONG\r\n:1\r\n$40\r\n" + b"x" * 40 + b"\r\n$40\r\n"
                                 + b"x" * 40 + b"\r\n+PONG\r\n")


@pytest.mark.parametrize(
    "bad",
    [
        b"*2\r\n$3\r\nGETxx$1\r\nk\r\n",
        b"*2\r\n$03\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$-3\r\nGET\r\n$1\r\nk\r\n",
        b"*02\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n:3\r\nGET\r\n$1\r\nk\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\n\r",
        b"*1\r\n$4294967296\r\n",
        b"*3000000000\r\n",
        b"*0\r\n" + frame(b"PING"),
        b"*-1\r\n" + frame(b"PING"),
        b"\r\n" + frame(b"PING"),
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
    ],
)
def test_malformed_requests_after_native_ones(bad: bytes) -> None:
    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"SET", b"k", b"v") + frame(b"GET", b"k") + bad + frame(b"GET", b"k"))]
        out.append(b"closed" if s.conns[0][1].closed else b"open")
        return out

    both(script)


def test_big_values_and_many_arguments() -> None:
    big = bytes(range(256)) * 400

    def script(s: Session) -> list[bytes]:
        out = [s.send(frame(b"SET", b"big", big) + frame(b"GET", b"big"))]
        request = frame(b"SET", b"big2", big) + frame(b"GET", b"big2")
        out.extend(s.send(request[i : i + 8192]) for i in range(0, len(request), 8192))
        out.append(s.send(frame(b"MSET", *[b"k%d" % i for i in range(200)]) + frame(b"GET", b"k0")))
        out.append(s.send(frame(b"SET", b"with\r\ninside", b"\r\n") + frame(b"GET", b"with\r\ninside")))
        return out

    both(script)


def test_renamed_or_missing_command_is_not_native() -> None:
    def script(s: Session) -> list[bytes]:
        dispatcher = s.server.dispatcher
        # As if GET were renamed away: the table has no "get", so neither may the lane.
        get = dispatcher.by_name.pop(b"get")
        dispatcher.by_name.pop(b"GET")
        dispatcher.fast_commands.pop(b"get")
        dispatcher.fast_commands.pop(b"GET")
        dispatcher.native_commands = (None, *dispatcher.native_commands[1:])
        try:
            return [s.send(frame(b"SET", b"k", b"v") + frame(b"GET", b"k"))]
        finally:
            dispatcher.by_name[b"get"] = dispatcher.by_name[b"GET"] = get
            dispatcher.refresh_names()

    replies = both(script)
    assert replies[0].startswith(b"+OK\r\n")


# -- over TCP, against Valkey ---------------------------------------------------------------------


def _exchange(port: int, data: bytes, expect_replies: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = bytearray()
        while received.count(b"\r\n") < expect_replies:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return bytes(received)


def test_tcp_pipeline_matches_valkey(oracle_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (frame(b"FLUSHALL") + frame(b"SET", b"a", b"10") + frame(b"GET", b"a") + frame(b"INCR", b"a") + b"PING\r\n"
            + frame(b"get", b"zz") + frame(b"INCR", b"a") * 20 + frame(b"GET", b"a") + frame(b"PING"))
    replies = 1 + 1 + 2 + 1 + 1 + 1 + 20 + 2 + 1
    expected = _exchange(oracle_server.port, data, replies)
    for pure in ("1", "0"):
        monkeypatch.setenv("PYVALKEY_PURE_PYTHON", pure)
        server = start_pyvalkey()
        try:
            assert _exchange(server.port, data, replies) == expected
        finally:
            server.stop()


@pytest.mark.parametrize("record", [False, True], ids=["no-feed", "write-feed"])
@pytest.mark.parametrize("config", [{}, {"maxmemory": b"1gb"}], ids=["plain", "with-a-pre-check"])
def test_the_lane_runs_them_natively(config: dict[str, bytes], record: bool) -> None:
    """The compiled session really takes the lane: with the Python handlers of the native
    commands made to fail, their plain forms still answer (and SET with an option does not),
    also while a dispatcher pre-check (here maxmemory's) is installed."""
    session = Session("compiled", config, record)
    assert type(session.conns[0][0].client.reader).__name__ == "PythonRequestReader"
    commands = [session.server.dispatcher.by_name[name] for name in NATIVE]
    saved = [cmd.handler for cmd in commands]

    def broken(client: Any, argv: list[bytes]) -> Any:
        raise AssertionError("the Python handler ran")

    try:
        for cmd in commands:
            cmd.handler = broken
        replies = session.send(frame(b"SET", b"k", b"1") + frame(b"GET", b"k") + frame(b"INCR", b"k") + b"PING\r\n"
                               + frame(b"SET", b"k", b"1", b"NX"))
    finally:
        for cmd, handler in zip(commands, saved):
            cmd.handler = handler
    assert replies == b"+OK\r\n$1\r\n1\r\n:2\r\n+PONG\r\n-ERR the Python handler ran\r\n"
    if record:  # the natively run writes reached the feed, the reads did not
        assert session.fed[-2:] == [[(0, [b"SET", b"k", b"1"])], [(0, [b"INCR", b"k"])]]


# -- random scripts ---------------------------------------------------------------------------------

_KEYS = [b"a", b"b", b"n", b"l", b"x" * 40]
_VALUES = [b"", b"0", b"1", b"-7", b"41", b"007", b"v", b"9223372036854775806", b"x" * 70, b"12345678901234567890"]


def _random_command(rng: Any) -> bytes:
    key = rng.choice(_KEYS)
    choice = rng.randrange(26)
    if choice < 4:
        return frame(rng.choice([b"GET", b"get", b"Get"]), key)
    if choice < 7:
        return frame(rng.choice([b"SET", b"set"]), key, rng.choice(_VALUES))
    if choice < 9:
        return frame(b"INCR", key)
    if choice == 9:
        return rng.choice([frame(b"PING"), b"PING\r\n", b"ping\r\n", b"PING  \r\n", frame(b"PING", b"hi")])
    if choice == 10:
        return frame(b"PEXPIRE", key, rng.choice([b"1", b"30", b"1000"]))
    if choice == 11:
        return frame(b"DEL", key)
    if choice == 12:
        return frame(b"LPUSH", key, b"e")
    if choice == 13:
        return frame(b"SET", key, rng.choice(_VALUES), b"PX", b"20")
    if choice == 14:
        return frame(b"APPEND", key, b"1")
    if choice == 15:
        return frame(rng.choice([b"OBJECT", b"object"]), b"IDLETIME", key)
    if choice == 16:
        return frame(b"SELECT", rng.choice([b"0", b"1"]))
    other = rng.choice(
        [
            frame(b"HSET", key, b"f", rng.choice(_VALUES)), frame(b"HGET", key, b"f"), frame(b"HSET", key),
            frame(b"SADD", key, b"m1", b"m2"), frame(b"smembers", key), frame(b"ZADD", key, b"1.5", b"z"),
            frame(b"ZADD", key, b"nan", b"z"), frame(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"),
            frame(b"LPUSH", key, b"a", b"b"), frame(b"LRANGE", key, b"0", b"-1"), frame(b"DEL", key, rng.choice(_KEYS)),
            frame(b"EXISTS", key, key), frame(b"TTL", key), frame(b"TYPE", key), frame(b"RENAME", key, rng.choice(_KEYS)),
            frame(b"MGET", key, rng.choice(_KEYS)), frame(b"MSET", key, b"1", rng.choice(_KEYS), b"2"),
            frame(b"GETDEL", key), frame(b"PEXPIRE", key, b"abc"), frame(b"SET", key, b"v", b"GET"),
            frame(b"SCAN", b"0", b"COUNT", b"100"), frame(b"KEYS", b"*"), frame(b"SORT", key, b"ALPHA"),
            frame(b"NOSUCH", key), frame(b"GETEX", key, b"PERSIST"), frame(b"INCRBYFLOAT", key, b"1.5"),
        ]
    )
    return other


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("seed", range(40))
def test_random_scripts(seed: int, protocol: int) -> None:
    import random

    def script(s: Session) -> list[bytes]:
        rng = random.Random(seed)
        out = [s.send(frame(b"HELLO", b"%d" % protocol))]
        for _ in range(8):
            data = b"".join(_random_command(rng) for _ in range(rng.randrange(1, 25)))
            cut = rng.randrange(len(data) + 1)
            out.append(s.send(data[:cut]) + s.send(data[cut:]))
            s.server.clock.advance(rng.choice([0, 0.01, 0.025, 1.5]))
            s.server.keyspace.refresh_time()
        return out

    both(script)


# -- with dispatcher pre-checks installed --------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(
    "config",
    [
        {"maxmemory": b"1gb"},  # the OOM check runs (and passes) before every command
        {"maxmemory": b"1", "maxmemory-policy": b"noeviction"},  # writes refused with -OOM
    ],
    ids=["maxmemory-roomy", "maxmemory-full"],
)
def test_random_scripts_under_maxmemory(seed: int, config: dict[str, bytes]) -> None:
    import random

    def script(s: Session) -> list[bytes]:
        rng = random.Random(seed)
        return [s.send(b"".join(_random_command(rng) for _ in range(rng.randrange(1, 25)))) for _ in range(6)]

    replies = both(script, config)
    if config["maxmemory"] == b"1":
        assert any(b"-OOM" in reply for reply in replies)


def test_another_client_in_multi_and_acl_users() -> None:
    """A client inside MULTI installs the queueing check for everyone; a restricted user the ACL
    check. Other clients' commands still run, checked once each."""

    def script(s: Session) -> list[bytes]:
        other = s.connect()
        limited = s.connect()
        out = [s.send(frame(b"MULTI") + frame(b"SET", b"q", b"1") + frame(b"GET", b"q"), other)]
        out.append(s.send(frame(b"SET", b"a", b"1") + frame(b"GET", b"a") + frame(b"INCR", b"a") + frame(b"LPUSH", b"l", b"x")))
        out.append(s.send(frame(b"ACL", b"SETUSER", b"u", b"on", b">p", b"~*", b"+get", b"+auth", b"+incr")))
        out.append(s.send(frame(b"AUTH", b"u", b"p") + frame(b"GET", b"a") + frame(b"SET", b"a", b"2") + frame(b"INCR", b"a")
                          + frame(b"LPUSH", b"l", b"y") + frame(b"GET", b"a"), limited))
        out.append(s.send(frame(b"GET", b"a") + frame(b"SET", b"a", b"5") + frame(b"GET", b"a")))
        out.append(s.send(frame(b"EXEC"), other))
        out.append(s.send(frame(b"ACL", b"LOG", b"RESET")))
        return out

    replies = both(script)
    assert replies[0] == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    assert replies[1] == b"+OK\r\n$1\r\n1\r\n:2\r\n:1\r\n"
    assert replies[3] == (
        b"+OK\r\n$1\r\n2\r\n-NOPERM User u has no permissions to run the 'set' command\r\n:3\r\n"
        b"-NOPERM User u has no permissions to run the 'lpush' command\r\n$1\r\n3\r\n"
    )
    assert replies[5] == b"*2\r\n+OK\r\n$1\r\n1\r\n"



@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("seed", range(20))
def test_random_scripts_with_a_write_feed(seed: int, protocol: int) -> None:
    """With an AOF or a replica listening, every write (native or not) is recorded as the
    Python path records it: same execution units, same rewritten commands, same order."""
    import random

    def script(s: Session) -> list[bytes]:
        rng = random.Random(seed)
        out = [s.send(frame(b"HELLO", b"%d" % protocol))]
        for _ in range(6):
            out.append(s.send(b"".join(_random_command(rng) for _ in range(rng.randrange(1, 25)))))
            s.server.clock.advance(rng.choice([0, 0.025, 1.5]))
            s.server.keyspace.refresh_time()
        return out

    both(script, record=True)
