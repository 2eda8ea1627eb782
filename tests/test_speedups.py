"""The fused command loop (pyvalkey/_speedups/hotloop.py) and its optional compiled piece
(pyvalkey/_speedups/wire.py, built as ``_wire_c`` when Cython is available).

Every test runs against both implementations: the request-framing check directly, the loop
in-process through ``pyvalkey._speedups.use``, and over TCP with one pyvalkey forced to plain
Python (``PYVALKEY_PURE_PYTHON=1``) and one as installed, each compared with real Valkey.
Without a compiled build the "compiled" cases are skipped (nothing to test).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from inprocess import FakeTransport
from resp import encode_command
from servers import ServerProcess, start_pyvalkey

from pyvalkey import _speedups
from pyvalkey._speedups import wire as pure_wire
from pyvalkey.protocol.reader import ProtocolError

COMPILED = _speedups.compiled_wire()
needs_compiled = pytest.mark.skipif(COMPILED is None, reason="the compiled accelerator is not built")
IMPLEMENTATIONS = ["python", pytest.param("compiled", marks=needs_compiled)]


def _frame(*args: bytes) -> bytes:
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


# -- wire.end_of_request ------------------------------------------------------------------------


@pytest.fixture(params=IMPLEMENTATIONS)
def wire(request: pytest.FixtureRequest) -> ModuleType:
    return pure_wire if request.param == "python" else COMPILED  # type: ignore[return-value]


@pytest.mark.parametrize(
    "argv",
    [
        [b"PING"],
        [b"GET", b"k"],
        [b"SET", b"", b"123456789"],
        [b"SET", b"k" * 10, b"v" * 99],
        [b"SET", b"k" * 100, b"v" * 1000, b"x" * 12345],
        [b"MSET"] + [b"a", b"b"] * 10,
        [b"X"] * 100,
        [b"with\r\ninside", b"\r\n", b"\n"],
    ],
)
def test_end_of_request_finds_the_end(wire: ModuleType, argv: list[bytes]) -> None:
    data = _frame(*argv)
    for prefix in (b"", _frame(b"PING")):
        buf = bytearray(prefix + data + _frame(b"NEXT"))
        assert wire.end_of_request(list(argv), buf, len(prefix)) == len(prefix) + len(data)


@pytest.mark.parametrize("argv", [False, None, b"PING", 3, [], [b"GET", 5], [b"GET", [b"x"]], [[b"a"]], (b"GET",)])
def test_end_of_request_not_a_plain_request(wire: ModuleType, argv: Any) -> None:
    buf = bytearray(b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n")
    assert wire.end_of_request(argv, buf, 0) == -1


@pytest.mark.parametrize(
    "data",
    [
        b"*2\r\n$3\r\nGETxx$1\r\nk\r\n",  # after the first argument
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\rX",  # after the last argument (LF missing)
        b"*2\r\n$3\r\nGET\n\r$1\r\nk\r\n",  # swapped
    ],
)
def test_end_of_request_rejects_a_bad_crlf(wire: ModuleType, data: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        wire.end_of_request([b"GET", b"k"], bytearray(data), 0)
    assert info.value.message == b"ERR Protocol error: invalid CRLF in request"


def test_end_of_request_reports_the_first_problem(wire: ModuleType) -> None:
    # A bad CRLF after argument 1 comes before argument 2 not being a bulk string.
    with pytest.raises(ProtocolError):
        wire.end_of_request([b"GET", 7], bytearray(b"*2\r\n$3\r\nGETxx:7\r\n"), 0)


def test_accelerators_are_built_where_they_can_be() -> None:
    """Where a C compiler and Python's headers are present, the install must have built every
    extension: a failed compile falls back to Python silently (by design), and the tests of
    the compiled code would then be skipped rather than fail."""
    import shutil
    import sysconfig

    if os.environ.get("PYVALKEY_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("plain Python forced")
    if shutil.which("cc") is None or not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        pytest.skip("no C compiler or no Python headers here")
    assert _speedups.compiled_wire() is not None, "_wire_c missing or built from another wire.py"
    assert _speedups.compiled_lane() is not None, "_lane_c missing or built from another lane.pyx"
    assert _speedups.compiled_hll() is not None, "_hll_c missing or built from another hll.pyx"
    assert _speedups.compiled_keytable() is not None, "_keytable_c missing or built from another keytable.pyx"
    assert _speedups.IMPLEMENTATION == "compiled"


def test_switch() -> None:
    before = _speedups.IMPLEMENTATION
    try:
        _speedups.use("python")
        assert _speedups.describe() == "pure Python"
        with pytest.raises(ValueError):
            _speedups.use("fortran")
        if COMPILED is None:
            with pytest.raises(ValueError):
                _speedups.use("compiled")
        else:
            _speedups.use("compiled")
            assert _speedups.describe() == "compiled (Cython)"
            assert COMPILED.COMPILED and not pure_wire.COMPILED
    finally:
        _speedups.use(before)


# -- the loop, in-process -----------------------------------------------------------------------


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    before = _speedups.IMPLEMENTATION
    _speedups.use(request.param)
    try:
        yield request.param
    finally:
        _speedups.use(before)


def _serve(chunks: list[bytes], config: dict[str, Any] | None = None) -> tuple[bytes, bool, Any]:
    from pyvalkey.net.connection import Connection
    from pyvalkey.server import Server

    server = Server()
    for name, value in (config or {}).items():
        setattr(server.config, name, value)
    conn = Connection(server)
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    for chunk in chunks:
        if transport.closed:
            break
        conn.data_received(chunk)
    return bytes(transport.data), transport.closed, server


def _in_process_both(chunks: list[bytes]) -> tuple[bytes, bool]:
    """The loop's output with the current implementation, checked against execute() alone:
    the same input through Dispatcher.execute command by command must give the same bytes."""
    return _serve(chunks)[:2]


def test_loop_pipeline(implementation: str) -> None:
    data = (
        _frame(b"SET", b"k", b"v")
        + _frame(b"GET", b"k")
        + _frame(b"get", b"missing")
        + _frame(b"INCR", b"n")
        + _frame(b"INCR", b"k")
        + _frame(b"PING")
        + _frame(b"PING", b"hello")
        + b"PING\r\n"
        + _frame(b"GET")
        + _frame(b"NOSUCH", b"x")
        + _frame(b"gEt", b"k")
    )
    out, closed, _ = _serve([data])
    assert out == (
        b"+OK\r\n$1\r\nv\r\n$-1\r\n:1\r\n-ERR value is not an integer or out of range\r\n+PONG\r\n"
        b"$5\r\nhello\r\n+PONG\r\n-ERR wrong number of arguments for 'get' command\r\n"
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n$1\r\nv\r\n"
    )
    assert not closed


def test_loop_split_reads(implementation: str) -> None:
    data = _frame(b"SET", b"key", b"x" * 300) + _frame(b"GET", b"key") + _frame(b"PING")
    out, closed, _ = _serve([data[i : i + 7] for i in range(0, len(data), 7)])
    assert out == b"+OK\r\n$300\r\n" + b"x" * 300 + b"\r\n+PONG\r\n"
    assert not closed


def test_loop_bad_crlf_runs_what_came_before(implementation: str) -> None:
    data = _frame(b"SET", b"a", b"1") + b"*2\r\n$3\r\nGETxx$1\r\na\r\n" + _frame(b"PING")
    out, closed, server = _serve([data])
    assert out == b"+OK\r\n-ERR Protocol error: invalid CRLF in request\r\n"
    assert closed
    assert server.keyspace.dbs[0].data[b"a"] == b"1"


def test_loop_accounting(implementation: str) -> None:
    from pyvalkey.commands.registry import COMMANDS

    # Command objects (and their counters) are shared by every Server in this process.
    get, incr = COMMANDS[b"get"], COMMANDS[b"incr"]
    before = (get.calls, get.failed_calls, get.rejected_calls, incr.calls, incr.failed_calls, get.usec)
    data = _frame(b"SET", b"s", b"v") + _frame(b"GET", b"s") * 3 + _frame(b"INCR", b"s") + _frame(b"GET")
    _, _, server = _serve([data])
    after = (get.calls, get.failed_calls, get.rejected_calls, incr.calls, incr.failed_calls, get.usec)
    assert [b - a for a, b in zip(before[:5], after[:5])] == [3, 0, 1, 1, 1]
    assert after[5] >= before[5]
    assert server.stats.commands_processed == 5
    assert server.stats.errors == {b"ERR": 2}
    assert server.stats.total_error_replies == 2


def test_loop_slowlog_and_reply_modes(implementation: str) -> None:
    data = (
        _frame(b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0")
        + _frame(b"GET", b"x")
        + _frame(b"CLIENT", b"REPLY", b"SKIP")
        + _frame(b"GET", b"skipped")
        + _frame(b"PING")
        + _frame(b"CLIENT", b"REPLY", b"OFF")
        + _frame(b"SET", b"quiet", b"1")
        + _frame(b"CLIENT", b"REPLY", b"ON")
        + _frame(b"GET", b"quiet")
        + _frame(b"SLOWLOG", b"LEN")
    )
    out, _, server = _serve([data])
    # CONFIG SET itself is logged too: the threshold is checked after the command ran.
    assert out == b"+OK\r\n$-1\r\n+PONG\r\n+OK\r\n$1\r\n1\r\n:9\r\n"
    assert [entry[3][0] for entry in server.slowlog.entries][:4] == [b"SLOWLOG", b"GET", b"CLIENT", b"SET"]


def test_loop_multi_and_auth(implementation: str) -> None:
    data = (
        _frame(b"MULTI") + _frame(b"SET", b"t", b"1") + _frame(b"GET", b"t") + _frame(b"EXEC")
        + _frame(b"MULTI") + _frame(b"GET") + _frame(b"EXEC")
    )
    out, _, _ = _serve([data])
    assert out == (
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n1\r\n"
        b"+OK\r\n-ERR wrong number of arguments for 'get' command\r\n"
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    )
    out, _, _ = _serve([_frame(b"GET", b"k") + _frame(b"AUTH", b"secret") + _frame(b"GET", b"k")],
                       {"requirepass": b"secret"})
    assert out == b"-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n"


def test_loop_resp3(implementation: str) -> None:
    data = _frame(b"HELLO", b"3") + _frame(b"GET", b"nope") + _frame(b"INCR", b"c") + _frame(b"GET", b"c")
    out, _, _ = _serve([data])
    assert out.endswith(b"_\r\n:1\r\n$1\r\n1\r\n")


# -- over TCP, against Valkey -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pure_server() -> Iterator[ServerProcess]:
    saved = os.environ.get("PYVALKEY_PURE_PYTHON")
    os.environ["PYVALKEY_PURE_PYTHON"] = "1"
    try:
        server = start_pyvalkey()
    finally:
        if saved is None:
            del os.environ["PYVALKEY_PURE_PYTHON"]
        else:
            os.environ["PYVALKEY_PURE_PYTHON"] = saved
    yield server
    server.stop()


def _exchange(port: int, data: bytes) -> tuple[bytes, bool]:
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(0.3)
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    return received, True
                received += piece
        except TimeoutError:
            return received, False
        except ConnectionResetError:
            return received, True


TCP_CASES = {
    "pipeline": (
        encode_command("SET", "k", "v") + encode_command("GET", "k") + encode_command("INCR", "k")
        + encode_command("INCR", "n") + encode_command("GET") + encode_command("PING", "x")
        + encode_command("EXISTS", "k", "n", "zz") + encode_command("DEL", "k", "n")
    ),
    "crlf_mid_pipeline": encode_command("SET", "a", "1") + b"*2\r\n$3\r\nGET\r\n$1\r\naXY" + encode_command("PING"),
    "nested_multibulk": encode_command("PING") + b"*1\r\n*1\r\n$4\r\nPING\r\n",
    "integer_in_multibulk": b"*2\r\n$3\r\nGET\r\n:1\r\n",
    "inline_after_multibulk": encode_command("PING") + b"PING\n" + encode_command("ECHO", "x"),
    "empty_multibulk": b"*0\r\n" + encode_command("PING"),
    "long_args": encode_command("SET", "x" * 100, "y" * 20000) + encode_command("STRLEN", "x" * 100),
    "many_args": encode_command("MSET", *(f"k{i}" for i in range(200))) + encode_command("MGET", "k0", "k2"),
}


@pytest.mark.parametrize("case", sorted(TCP_CASES))
def test_tcp_same_as_valkey(case: str, pure_server: ServerProcess, pyvalkey_server: ServerProcess,
                            oracle_server: ServerProcess) -> None:
    data = TCP_CASES[case]
    for server in (pyvalkey_server, pure_server, oracle_server):
        _exchange(server.port, encode_command("FLUSHALL"))
    theirs = _exchange(oracle_server.port, data)
    assert _exchange(pure_server.port, data) == theirs
    assert _exchange(pyvalkey_server.port, data) == theirs


def _calls(port: int) -> dict[str, tuple[int, int, int]]:
    text, _ = _exchange(port, encode_command("INFO", "commandstats"))
    return {
        name: (int(calls), int(rejected), int(failed))
        for name, calls, rejected, failed in re.findall(
            rb"cmdstat_(\w+):calls=(\d+),.*?rejected_calls=(\d+),failed_calls=(\d+)", text
        )
    }


def test_tcp_commandstats_same_as_valkey(pure_server: ServerProcess, pyvalkey_server: ServerProcess,
                                         oracle_server: ServerProcess) -> None:
    data = (
        encode_command("SET", "s", "v") + encode_command("GET", "s") * 5 + encode_command("INCR", "s")
        + encode_command("GET") + encode_command("PING") * 3
    )
    results = []
    for server in (oracle_server, pure_server, pyvalkey_server):
        _exchange(server.port, encode_command("CONFIG", "RESETSTAT"))
        _exchange(server.port, data)
        stats = _calls(server.port)
        results.append({name: stats[name] for name in (b"set", b"get", b"incr", b"ping")})
    assert results[1] == results[0]
    assert results[2] == results[0]


def test_one_request_per_read_is_parsed_by_hiredis() -> None:
    from pyvalkey.protocol.reader import HiredisRequestReader

    reader = HiredisRequestReader()
    for _ in range(3):
        reader.feed(_frame(b"GET", b"k"))
        assert reader.get_command() == [b"GET", b"k"]
        assert reader._fast  # hiredis took the request, not the Python parser
        assert reader.get_command() is None
        assert reader.buffered() == 0
    reader.feed(b"PING\r\n" + _frame(b"ECHO", b"x"))  # inline: the Python parser; then hiredis again
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() == [b"ECHO", b"x"]
    assert reader._fast


# -- HyperLogLog hashing (hll.pyx) ----------------------------------------------------------------


@pytest.mark.skipif(_speedups.compiled_hll() is None, reason="the compiled accelerator is not built")
def test_hll_patterns_match_the_python_twin() -> None:
    """Every length class of MurmurHash64A (empty, tails of 1-7 bytes, whole blocks, 64 and more
    blocks, which the Python side reads differently), bytes and bytearray."""
    import random

    from pyvalkey.storage import hyperloglog

    rng = random.Random(7)
    elements: list[Any] = [b"", b"a", b"\xff" * 7, b"12345678", b"x" * 511, b"y" * 512, b"z" * 1000]
    elements += [bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(3000)]
    elements += [bytearray(b"abc"), bytearray(rng.randbytes(600))]
    compiled = _speedups.compiled_hll().pattern_list  # type: ignore[union-attr]
    assert compiled(elements) == hyperloglog.pattern_list(elements)
    assert compiled(iter(elements[:10])) == hyperloglog.pattern_list(elements[:10])


# -- the write feed's encoder (lane.append_command) ---------------------------------------------


@pytest.mark.skipif(_speedups.compiled_lane() is None, reason="the compiled accelerator is not built")
def test_append_command_matches_the_python_twin() -> None:
    """Plain and list-subclass argvs (PUBLISH is fed as ReplicationOnly), bytearray values (a
    string changed in place), other bytes-like arguments, empty and large ones; appended after
    what the buffer already holds."""
    from pyvalkey.propagation import ReplicationOnly, append_command, encode_commands

    compiled = _speedups.compiled_lane().append_command  # type: ignore[union-attr]
    cases: list[Any] = [
        [b"SET", b"k", b"v"],
        [],
        [b""],
        [b"SET", bytearray(b"k"), bytearray(b"\r\n" * 40)],
        [b"x" * 100_000, b"y"],
        [b"APPEND", memoryview(b"mv")],
        ReplicationOnly([b"PUBLISH", b"ch", b"msg"]),
    ]
    for argv in cases:
        expected = bytearray(b"before")
        append_command(expected, argv)
        assert bytes(expected) == b"before" + encode_commands([argv])
        out = bytearray(b"before")
        compiled(out, argv)
        assert out == expected
    with pytest.raises(TypeError):
        append_command(bytearray(), [1])
    with pytest.raises(TypeError):
        compiled(bytearray(), [1])
