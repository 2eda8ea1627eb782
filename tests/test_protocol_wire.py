"""Request protocol over real sockets, differential against Valkey: the behaviours that Valkey's
tests/unit/protocol.tcl checks, plus protocol-error close semantics and the query buffer limit.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from conftest import Differ
from resp import RawClient, encode_command
from servers import ServerProcess, start_oracle, start_pyvalkey

# The oracle answers in microseconds; a server that has not closed after this long never will.
CLOSE_WAIT = 5.0


def exchange(port: int, data: bytes | list[bytes]) -> tuple[bytes, bool]:
    """Send ``data`` on a fresh connection and read until the server closes it (or goes quiet).
    Returns everything received and whether the server closed the connection."""
    chunks = data if isinstance(data, list) else [data]
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=CLOSE_WAIT) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(0.3 if not isinstance(data, list) else CLOSE_WAIT)
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    return received, True
                received += piece
                if received.startswith(b"-"):
                    sock.settimeout(CLOSE_WAIT)
        except ConnectionResetError:
            return received, True
        except TimeoutError:
            return received, False


@pytest.fixture
def ports(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> tuple[int, int]:
    return pyvalkey_server.port, oracle_server.port


def same(ports: tuple[int, int], data: bytes | list[bytes]) -> tuple[bytes, bool]:
    ours = exchange(ports[0], data)
    theirs = exchange(ports[1], data)
    assert ours == theirs, f"{data!r:.120}: pyvalkey {ours!r:.200} != valkey {theirs!r:.200}"
    return theirs


# -- requests that are skipped -----------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [b"\r\n", b"\n", b"*-10\r\n", b"*-1\r\n", b"*0\r\n", b"\r\n\r\n\n", b"   \r\n", b"*0\r\nPING\r\n"],
)
def test_empty_requests_are_skipped(diff: Differ, prefix: bytes) -> None:
    """Handle an empty query / negative multibulk length / zero-length multibulk, alone and in
    a pipeline."""
    ours, theirs = diff.raw(prefix + encode_command("PING"))
    assert ours == theirs
    assert diff("PING") == b"+PONG\r\n"


def test_mixing_quoted_and_unquoted(diff: Differ) -> None:
    ours, theirs = diff.raw(b'set """tes"t-\'k\'e"y" "test"\'-\'value\r\n')
    assert ours == theirs == b"+OK\r\n"
    ours, theirs = diff.raw(b"get test'-'key\r\n")
    assert ours == theirs == b"$10\r\ntest-value\r\n"


@pytest.mark.parametrize(
    "line",
    [b'ECHO "\\x41\\x4a"', b"ECHO 'it\\'s'", b'ECHO "a\\nb"', b"ECHO a\x0bb", b'ECHO "abc"def', b"PING\rx",
     b"\t ECHO \x0bx\x0c ", b"ECHO \"\"", b"ping", b"PING x y z"],
)
def test_inline_quoting(diff: Differ, line: bytes) -> None:
    ours, theirs = diff.raw(line + b"\r\n")
    assert ours == theirs


def test_inline_with_lf_only(diff: Differ) -> None:
    ours, theirs = diff.raw(b"ECHO a\nECHO b\n")
    assert ours == theirs == b"$1\r\na\r\n"
    assert diff.ours.read_reply() == diff.theirs.read_reply() == b"$1\r\nb\r\n"


# -- protocol errors: reply, then close ---------------------------------------------------------

SET_KEY_VALUE = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"

ERRORS = [
    b"*3000000000\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
    b"*1\r\nfoo\r\n",
    b"*-x\r\n",
    b"*+1\r\n",
    b"*01\r\n",
    b"*1\r\n$01\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n\x00\r\n",
    b"set foo 'b'a'r\r\nping\r\n",
    b'set foo "b"a"r\r\nping\r\n',
    b'ECHO "abc\r\n',
    # "Check CRLF when parsing the querybuf"
    b"*3x\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\rx$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3xx$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3x\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3\rxSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3xxSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSET\rx$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSETx\n$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSETxx$3\r\nkey\r\n$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkeyx\n$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\rx$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkeyxx$5\r\nvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5x\nvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\rxvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5xxvalue\r\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvaluex\n",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\rx",
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvaluexx",
]


@pytest.mark.parametrize("data", ERRORS)
def test_protocol_error_replies_then_closes(ports: tuple[int, int], data: bytes) -> None:
    received, closed = same(ports, data)
    assert received.startswith(b"-ERR Protocol error: ")
    assert closed


@pytest.mark.parametrize("data", ERRORS[:3] + ERRORS[-3:])
def test_protocol_error_after_a_good_command(ports: tuple[int, int], data: bytes) -> None:
    """Commands before the error in the same packet run and are answered first."""
    received, closed = same(ports, encode_command("PING") + b"PING\r\n" + data)
    assert received.startswith(b"+PONG\r\n+PONG\r\n-ERR Protocol error")
    assert closed


def test_commands_before_the_error_were_executed(diff: Differ, ports: tuple[int, int]) -> None:
    diff("DEL", "pw:before")
    received, closed = same(ports, encode_command("SET", "pw:before", "1") + b"*1\r\n$4\r\nPINGxx")
    assert received == b"+OK\r\n-ERR Protocol error: invalid CRLF in request\r\n"
    assert closed
    assert diff("GET", "pw:before") == b"$1\r\n1\r\n"


def test_error_on_an_established_connection(ports: tuple[int, int]) -> None:
    for port in ports:
        client = RawClient(port)
        assert client("PING") == b"+PONG\r\n"
        client.send(b"*1\r\n$-5\r\n")
        assert client.read_reply() == b"-ERR Protocol error: invalid bulk length\r\n"
        assert client.is_closed()
        client.close()


@pytest.mark.parametrize("sequence", [b"\x00", b"*\x00", b"$\x00", b"*1\r\n$\x00"])
def test_protocol_desync_regression(ports: tuple[int, int], sequence: bytes) -> None:
    """A header line that never ends is refused once it passes 64 KB."""
    chunks = [sequence] + [b"A" * 1024] * 66
    received, closed = same(ports, chunks)
    assert received.startswith(b"-ERR Protocol error: too big")
    assert closed


def test_incomplete_requests_wait(ports: tuple[int, int]) -> None:
    for data in (b"*1\r", b"*1\r\n$4\r\nPING\r", b"PI\x00NG\r\n", b"*2147483647\r\n", b"*1\r\n$536870912\r\n"):
        assert same(ports, data) == (b"", False)


# -- scale -------------------------------------------------------------------------------------


def test_big_pipeline(diff: Differ) -> None:
    n = 10_000
    data = b"".join(encode_command("SET", f"pw:pipe:{i}", f"v{i}") for i in range(n))
    data += b"".join(encode_command("GET", f"pw:pipe:{i}") for i in range(0, n, 7))
    data += b"".join(b"ECHO %d\r\n" % i for i in range(1000))
    expected = n + len(range(0, n, 7)) + 1000
    for client in (diff.ours, diff.theirs):
        client.send(data)
    for _ in range(expected):
        assert diff.ours.read_reply() == diff.theirs.read_reply()
    assert diff("DBSIZE") == b":%d\r\n" % n


def test_large_number_of_args(diff: Differ) -> None:
    args: list[object] = ["MSET"]
    for i in range(10000):
        args += [f"{{k}}{i}", "v"]
    args += ["{k}2", "v2"]
    assert diff(*args) == b"+OK\r\n"
    assert diff("GET", "{k}2") == b"$2\r\nv2\r\n"


def test_large_value_in_pieces(diff: Differ) -> None:
    value = b"x" * (3 * 1024 * 1024)
    data = encode_command("SET", "pw:big", value)
    for client in (diff.ours, diff.theirs):
        for pos in range(0, len(data), 100_000):
            client.send(data[pos : pos + 100_000])
    assert diff.ours.read_reply() == diff.theirs.read_reply() == b"+OK\r\n"
    assert diff("STRLEN", "pw:big") == b":%d\r\n" % len(value)


# -- query buffer limit ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[tuple[int, int]]:
    ours = start_pyvalkey("--client-query-buffer-limit", "1mb")
    try:
        theirs = start_oracle("--client-query-buffer-limit", "1mb")
    except Exception:
        ours.stop()
        raise
    yield ours.port, theirs.port
    ours.stop()
    theirs.stop()


def test_query_buffer_limit_closes_the_connection(limited: tuple[int, int]) -> None:
    header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n"
    chunks = [header] + [b"x" * 65536] * 40
    received, closed = same(limited, chunks)
    assert received == b""
    assert closed


def test_query_buffer_limit_inline(limited: tuple[int, int]) -> None:
    # An inline line is refused at 64 KB, long before the 1 MB limit.
    received, closed = same(limited, [b"A" * 65536] * 20)
    assert received == b"-ERR Protocol error: too big inline request\r\n"
    assert closed


def test_under_the_query_buffer_limit(limited: tuple[int, int]) -> None:
    value = b"y" * 900_000
    for port in limited:
        client = RawClient(port)
        assert client("SET", "k", value) == b"+OK\r\n"
        assert client("STRLEN", "k") == b":900000\r\n"
        client.close()
