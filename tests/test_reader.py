"""Request reader tests without sockets, run against both readers (pure Python and hiredis).

Expected values and error texts were checked against Valkey 9.1.2 (the oracle); the wire-level
twins of these cases live in test_protocol_wire.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvalkey.protocol.reader import (
    INLINE_MAX_SIZE,
    HiredisRequestReader,
    ProtocolError,
    PythonRequestReader,
    split_inline_args,
)

Reader = PythonRequestReader
READERS = [PythonRequestReader, HiredisRequestReader]


@pytest.fixture(params=READERS, ids=lambda cls: cls.__name__)
def make(request: pytest.FixtureRequest) -> Callable[..., PythonRequestReader]:
    return request.param  # type: ignore[no-any-return]


def mb(*args: bytes) -> bytes:
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def drain(reader: PythonRequestReader) -> list[list[bytes]]:
    commands = []
    while (command := reader.get_command()) is not None:
        commands.append(command)
    return commands


def parse(make: Callable[..., PythonRequestReader], data: bytes, **kw: object) -> list[list[bytes]]:
    reader = make()
    for key, value in kw.items():
        setattr(reader, key, value)
    reader.feed(data)
    return drain(reader)


def error_of(make: Callable[..., PythonRequestReader], data: bytes, authenticated: bool = True,
             max_bulk_len: int | None = None) -> tuple[bytes, list[list[bytes]]]:
    """Feed ``data``; return the protocol error and the commands parsed before it."""
    reader = make() if max_bulk_len is None else make(max_bulk_len)
    reader.authenticated = authenticated
    reader.feed(data)
    parsed: list[list[bytes]] = []
    with pytest.raises(ProtocolError) as info:
        while (command := reader.get_command()) is not None:
            parsed.append(command)
    return info.value.message, parsed


# -- multibulk ---------------------------------------------------------------------------------


def test_multibulk_basic(make: Callable[..., PythonRequestReader]) -> None:
    data = mb(b"SET", b"key", b"value") + mb(b"GET", b"key")
    assert parse(make, data) == [[b"SET", b"key", b"value"], [b"GET", b"key"]]


def test_multibulk_binary_and_empty_args(make: Callable[..., PythonRequestReader]) -> None:
    args = [b"ECHO", b"", b"\r\n", b"\x00\xff", b"$3\r\n*1\r\n", b"a" * 1000]
    assert parse(make, mb(*args)) == [args]


def test_empty_multibulks_are_skipped(make: Callable[..., PythonRequestReader]) -> None:
    data = b"*0\r\n*-1\r\n*-10\r\n" + mb(b"PING") + b"*0\r\n" + mb(b"PING")
    assert parse(make, data) == [[b"PING"], [b"PING"]]


def test_empty_multibulk_then_inline(make: Callable[..., PythonRequestReader]) -> None:
    assert parse(make, b"*0\r\nPING\r\n") == [[b"PING"]]


def test_incomplete_multibulk_waits(make: Callable[..., PythonRequestReader]) -> None:
    reader = make()
    for piece in (b"*2\r", b"\n$4", b"\r\nECHO\r", b"\n$2\r\nhi", b"\r"):
        reader.feed(piece)
        assert reader.get_command() is None
    reader.feed(b"\n")
    assert reader.get_command() == [b"ECHO", b"hi"]
    assert reader.get_command() is None
    assert reader.buffered() == 0


def test_buffered_counts_unparsed_bytes(make: Callable[..., PythonRequestReader]) -> None:
    reader = make()
    reader.feed(mb(b"PING") + b"*1\r\n$4\r\nPI")
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() is None
    # The Python reader has already consumed the headers (as Valkey's qb_pos does); the hiredis
    # reader counts from the start of the request.
    assert 2 <= reader.buffered() <= len(b"*1\r\n$4\r\nPI")
    reader.feed(b"NG\r\n")
    assert reader.get_command() == [b"PING"]
    assert reader.buffered() == 0


# -- inline ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"PING", [b"PING"]),
        (b"  SET  a   b  ", [b"SET", b"a", b"b"]),
        (b'SET "a b" c', [b"SET", b"a b", b"c"]),
        (b'ECHO "\\x41\\x4a\\x4\\xzz"', [b"ECHO", b"AJx4xzz"]),
        (b'ECHO "a\\nb\\r\\t\\b\\a\\q\\\\"', [b"ECHO", b"a\nb\r\t\b\aq\\"]),
        (b'ECHO "a\\""', [b"ECHO", b'a"']),
        (b"ECHO 'it\\'s'", [b"ECHO", b"it's"]),
        (b"ECHO 'a\\nb'", [b"ECHO", b"a\\nb"]),
        (b'ECHO ""', [b"ECHO", b""]),
        (b"ECHO ''", [b"ECHO", b""]),
        # Valkey 9 keeps going after a closing quote: the argument ends at the next separator.
        (b'ECHO "abc"def', [b"ECHO", b"abcdef"]),
        (b"ECHO 'abc'def", [b"ECHO", b"abcdef"]),
        (b'ECHO a"b"c', [b"ECHO", b"abc"]),
        (b"ECHO \"a\"'b'", [b"ECHO", b"ab"]),
        (b'set """tes"t-\'k\'e"y" "test"\'-\'value', [b"set", b"test-key", b"test-value"]),
        # Leading blanks are isspace(); inside an argument only space, tab, CR, LF separate.
        (b"\t \x0bECHO \x0bx\x0c ", [b"ECHO", b"x\x0c"]),
        (b'ECHO "a"\x0bb', [b"ECHO", b"a\x0bb"]),
        (b"ECHO a\tb", [b"ECHO", b"a", b"b"]),
        (b"ECHO a\\x41", [b"ECHO", b"a\\x41"]),
        (b"", []),
        (b"   ", []),
    ],
)
def test_split_inline_args(line: bytes, expected: list[bytes]) -> None:
    assert split_inline_args(line) == expected


@pytest.mark.parametrize("line", [b'ECHO "abc', b"ECHO 'abc", b'ECHO "a\\', b"set foo 'b'a'r", b'set foo "b"a"r'])
def test_split_inline_args_unbalanced(line: bytes) -> None:
    assert split_inline_args(line) is None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40) | st.lists(st.sampled_from([b"a", b"\\", b" ", b"\t", b"\r", b"\n", b"\v", b"\f", b"\0", b"\x1c", b"\xff", b"x"])).map(b"".join))
def test_split_inline_args_fast_path_is_the_general_case(line: bytes) -> None:
    # split_inline_args answers lines without quotes, \v and \f with bytes.split(); the general
    # parser must agree on every such line.
    from pyvalkey.protocol.reader import _split_quoted_inline_args

    assert split_inline_args(line) == _split_quoted_inline_args(line)


def test_inline_commands(make: Callable[..., PythonRequestReader]) -> None:
    data = b'SET k "a b"\r\nGET k\r\n'
    assert parse(make, data) == [[b"SET", b"k", b"a b"], [b"GET", b"k"]]


def test_inline_lf_only_and_empty_lines(make: Callable[..., PythonRequestReader]) -> None:
    assert parse(make, b"\r\n\n\r\nPING\n\nECHO x\n   \r\n") == [[b"PING"], [b"ECHO", b"x"]]


def test_inline_unbalanced_quotes_error(make: Callable[..., PythonRequestReader]) -> None:
    message, before = error_of(make, b"PING\r\nset foo 'b'a'r\r\nPING\r\n")
    assert message == b"ERR Protocol error: unbalanced quotes in request"
    assert before == [[b"PING"]]


def test_inline_nul_before_newline_waits(make: Callable[..., PythonRequestReader]) -> None:
    # Valkey finds the end of an inline line with strchr, which stops at NUL.
    reader = make()
    reader.feed(b"PI\x00NG\r\n")
    assert reader.get_command() is None
    reader.feed(b"x" * INLINE_MAX_SIZE)
    with pytest.raises(ProtocolError) as info:
        reader.get_command()
    assert info.value.message == b"ERR Protocol error: too big inline request"


def test_mixed_inline_and_multibulk(make: Callable[..., PythonRequestReader]) -> None:
    data = b"PING\r\n" + mb(b"ECHO", b"a") + b"ECHO b\r\n\r\n" + mb(b"ECHO", b"c") + b"*0\r\nPING\n"
    expected = [[b"PING"], [b"ECHO", b"a"], [b"ECHO", b"b"], [b"ECHO", b"c"], [b"PING"]]
    assert parse(make, data) == expected
    reader = make()
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        expected_so_far = drain(reader)
        for command in expected_so_far:
            assert command == expected.pop(0)
    assert expected == []


# -- errors and limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*3000000000\r\n", b"invalid multibulk length"),
        (b"*2147483648\r\n", b"invalid multibulk length"),
        (b"*-x\r\n", b"invalid multibulk length"),
        (b"*+1\r\n", b"invalid multibulk length"),
        (b"*01\r\n", b"invalid multibulk length"),
        (b"*-0\r\n", b"invalid multibulk length"),
        (b"*\r\n", b"invalid multibulk length"),
        (b"*1 \r\n", b"invalid multibulk length"),
        (b"*1\x00\r\n$4\r\nPING\r\n", b"invalid multibulk length"),
        (b"*3x\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", b"invalid multibulk length"),
        (b"*1\r\n$-1\r\n", b"invalid bulk length"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", b"invalid bulk length"),
        (b"*1\r\n$3000000000\r\n", b"invalid bulk length"),
        (b"*1\r\n$536870913\r\n", b"invalid bulk length"),
        (b"*1\r\n$01\r\n", b"invalid bulk length"),
        (b"*1\r\n$+1\r\n", b"invalid bulk length"),
        (b"*1\r\n$blabla\r\n", b"invalid bulk length"),
        (b"*3\r\n$3x\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", b"invalid bulk length"),
        (b"*1\r\nfoo\r\n", b"expected '$', got 'f'"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", b"expected '$', got 'f'"),
        (b"*1\r\n\x00\r\n", b"expected '$', got '\x00'"),
        (b"*1\r\nx3\rx", b"expected '$', got 'x'"),
        (b"*3\rx$3\r\nSET\r\n", b"invalid CRLF in request"),
        (b"*abc\rx", b"invalid CRLF in request"),
        (b"*0\rx", b"invalid CRLF in request"),
        (b"*1\r\n$abc\rx", b"invalid CRLF in request"),
        (b"*1\r\n$4\rxPING\r\n", b"invalid CRLF in request"),
        (b"*1\r\n$4\r\nPINGxx", b"invalid CRLF in request"),
        (b"*1\r\n$4\r\nPING\rx", b"invalid CRLF in request"),
        (b"*1\r\n$4\r\nPINGx\n", b"invalid CRLF in request"),
        (b"*1\r\n$4\r\nPING\n\n", b"invalid CRLF in request"),
        (b"*2\r\n$4\r\nECHO\r\n$1\r\na\rx*1\r\n$4\r\nPING\r\n", b"invalid CRLF in request"),
        (b"*2\r\n$4\r\nPING\rx$1\r\na\r\n", b"invalid CRLF in request"),
    ],
)
def test_protocol_errors(make: Callable[..., PythonRequestReader], data: bytes, message: bytes) -> None:
    error, before = error_of(make, data)
    assert error == b"ERR Protocol error: " + message
    assert before == []


def test_commands_before_an_error_are_returned(make: Callable[..., PythonRequestReader]) -> None:
    data = mb(b"SET", b"a", b"1") + b"PING\r\n" + mb(b"GET", b"a") + b"*1\r\n$4\r\nPINGxx" + mb(b"PING")
    error, before = error_of(make, data)
    assert error == b"ERR Protocol error: invalid CRLF in request"
    assert before == [[b"SET", b"a", b"1"], [b"PING"], [b"GET", b"a"]]


def test_proto_max_bulk_len_is_honoured(make: Callable[..., PythonRequestReader]) -> None:
    assert parse(make, mb(b"x" * 100)) == [[b"x" * 100]]
    error, _ = error_of(make, b"*1\r\n$101\r\n", max_bulk_len=100)
    assert error == b"ERR Protocol error: invalid bulk length"
    reader = make(100)
    reader.feed(mb(b"x" * 100))
    assert reader.get_command() == [b"x" * 100]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*11\r\n", b"unauthenticated multibulk length"),
        (b"*1\r\n$16385\r\n", b"unauthenticated bulk length"),
        # The generic checks come first.
        (b"*01\r\n", b"invalid multibulk length"),
        (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    ],
)
def test_unauthenticated_limits(make: Callable[..., PythonRequestReader], data: bytes, message: bytes) -> None:
    error, _ = error_of(make, data, authenticated=False)
    assert error == b"ERR Protocol error: " + message


def test_unauthenticated_within_limits(make: Callable[..., PythonRequestReader]) -> None:
    reader = make()
    reader.authenticated = False
    command = [b"AUTH"] + [b"x"] * 9
    reader.feed(mb(*command) + mb(b"AUTH", b"p" * 16384))
    assert drain(reader) == [command, [b"AUTH", b"p" * 16384]]


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (b"", b"too big inline request"),
        (b"*", b"too big mbulk count string"),
        (b"*1\r\n$", b"too big bulk count string"),
        (b"*2\r\n$4\r\nECHO\r\n", b"too big bulk count string"),
    ],
)
def test_too_big_lines(make: Callable[..., PythonRequestReader], prefix: bytes, message: bytes) -> None:
    reader = make()
    reader.feed(prefix)
    assert reader.get_command() is None
    filler = b"1" if prefix.endswith((b"*", b"$")) else b"A"
    # Exactly the limit is still waiting; one byte more is an error.
    header = prefix.rfind(b"\n") + 1
    reader.feed(filler * (INLINE_MAX_SIZE - (len(prefix) - header)))
    assert reader.get_command() is None
    reader.feed(filler)
    with pytest.raises(ProtocolError) as info:
        reader.get_command()
    assert info.value.message == b"ERR Protocol error: " + message


@pytest.mark.parametrize(
    ("header", "message", "authenticated"),
    [
        (b"*3000000000\r\n", b"invalid multibulk length", True),
        (b"*1\r\n$3000000000\r\n", b"invalid bulk length", True),
        (b"*2\r\n$4\r\nECHO\r\n$600000000\r\n", b"invalid bulk length", True),
        (b"*100\r\n", b"unauthenticated multibulk length", False),
        (b"*2\r\n$4\r\nAUTH\r\n$100000\r\n", b"unauthenticated bulk length", False),
    ],
)
def test_limits_fire_on_the_header(
    make: Callable[..., PythonRequestReader], header: bytes, message: bytes, authenticated: bool
) -> None:
    """The error comes as soon as the header line is complete, before any of the body."""
    reader = make()
    reader.authenticated = authenticated
    # Start with a normal command so the hiredis reader is in its fast path.
    reader.feed(mb(b"PING"))
    assert reader.get_command() == [b"PING"]
    for i in range(len(header) - 1):
        reader.feed(header[i : i + 1])
        assert reader.get_command() is None
    reader.feed(header[-1:])
    with pytest.raises(ProtocolError) as info:
        reader.get_command()
    assert info.value.message == b"ERR Protocol error: " + message


def test_bad_terminator_detected_before_the_next_command(make: Callable[..., PythonRequestReader]) -> None:
    reader = make()
    reader.feed(mb(b"PING") + b"*1\r\n$4\r\nPING")
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() is None
    reader.feed(b"\r")
    assert reader.get_command() is None
    reader.feed(b"x")
    with pytest.raises(ProtocolError) as info:
        reader.get_command()
    assert info.value.message == b"ERR Protocol error: invalid CRLF in request"


# -- partial input, property based -------------------------------------------------------------

arguments = st.lists(st.binary(max_size=40), min_size=1, max_size=6)
commands = st.lists(arguments, min_size=1, max_size=8)


def chunked(data: bytes, rng: random.Random, max_chunk: int) -> list[bytes]:
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.randint(1, max_chunk)
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


@pytest.mark.parametrize("cls", READERS, ids=lambda cls: cls.__name__)
@settings(max_examples=100, deadline=None)
@given(argvs=commands, seed=st.integers(0, 2**32), max_chunk=st.sampled_from([1, 2, 3, 7, 64, 1000]))
def test_random_chunking_round_trips(
    cls: type[PythonRequestReader], argvs: list[list[bytes]], seed: int, max_chunk: int
) -> None:
    data = b"".join(mb(*argv) for argv in argvs)
    reader = cls()
    parsed: list[list[bytes]] = []
    for chunk in chunked(data, random.Random(seed), max_chunk):
        reader.feed(chunk)
        parsed.extend(drain(reader))
    assert parsed == argvs
    assert reader.buffered() == 0


inline_word = st.binary(min_size=1, max_size=12).filter(
    # No separators, quotes or NUL, and no leading '*' (that would make it a multibulk).
    lambda w: not any(c in w for c in b" \t\r\n\x0b\x0c\"'\x00") and w[:1] != b"*"
)


@pytest.mark.parametrize("cls", READERS, ids=lambda cls: cls.__name__)
@settings(max_examples=100, deadline=None)
@given(
    argvs=st.lists(
        st.one_of(arguments.map(lambda a: ("mb", a)), st.lists(inline_word, min_size=1, max_size=5).map(
            lambda a: ("inline", a))),
        min_size=1,
        max_size=8,
    ),
    seed=st.integers(0, 2**32),
)
def test_random_mixed_inline_and_multibulk(
    cls: type[PythonRequestReader], argvs: list[tuple[str, list[bytes]]], seed: int
) -> None:
    rng = random.Random(seed)
    data = b""
    for kind, argv in argvs:
        if kind == "mb":
            data += mb(*argv)
        else:
            data += b" ".join(argv) + rng.choice([b"\r\n", b"\n"])
    reader = cls()
    parsed: list[list[bytes]] = []
    for chunk in chunked(data, rng, 9):
        reader.feed(chunk)
        parsed.extend(drain(reader))
    assert parsed == [argv for _, argv in argvs]


def test_byte_by_byte(make: Callable[..., PythonRequestReader]) -> None:
    argvs = [[b"SET", b"k" * 20, b"v\r\n" * 30], [b"GET", b"k"], [b"MSET"] + [b"x"] * 20]
    data = b"".join(mb(*argv) for argv in argvs)
    reader = make()
    parsed = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        parsed.extend(drain(reader))
    assert parsed == argvs


# -- scale ------------------------------------------------------------------------------------
# Bounded by pytest-timeout rather than timing assertions: each takes well under a second with a
# linear reader, and a quadratic one would run for minutes.


@pytest.mark.timeout(30)
def test_large_argument_in_socket_sized_chunks(make: Callable[..., PythonRequestReader]) -> None:
    value = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    data = mb(b"SET", b"big", value) + mb(b"PING")
    reader = make()
    parsed: list[list[bytes]] = []
    for pos in range(0, len(data), 65536):
        reader.feed(data[pos : pos + 65536])
        parsed.extend(drain(reader))
    assert parsed == [[b"SET", b"big", value], [b"PING"]]


@pytest.mark.timeout(30)
def test_big_pipeline(make: Callable[..., PythonRequestReader]) -> None:
    one = mb(b"SET", b"key:000000", b"value")
    data = one * 100_000
    reader = make()
    count = 0
    for pos in range(0, len(data), 65536):
        reader.feed(data[pos : pos + 65536])
        while reader.get_command() is not None:
            count += 1
    assert count == 100_000


@pytest.mark.timeout(30)
def test_big_pipeline_in_one_feed(make: Callable[..., PythonRequestReader]) -> None:
    data = mb(b"GET", b"key") * 100_000
    reader = make()
    reader.feed(data)
    count = len(drain(reader))
    assert count == 100_000
    assert reader.buffered() == 0


@pytest.mark.timeout(10)
@pytest.mark.parametrize("split", [1, 5, 12, 13, 14])
def test_huge_multibulk_header_then_garbage_fails_fast(make, split: int) -> None:
    """hiredis walks every slot of a declared array when it abandons a request; a lying header
    must not reach it (this once stalled the server for seconds)."""
    data = b"*2147483647\r\nECHO x\r\n"
    reader = make()
    started = time.monotonic()
    with pytest.raises(ProtocolError):
        for chunk in (data[:split], data[split:]):
            reader.feed(chunk)
            while reader.get_command() is not None:
                pass
    assert time.monotonic() - started < 2


@pytest.mark.timeout(10)
def test_huge_multibulk_header_inside_a_pipeline(make) -> None:
    reader = make()
    reader.feed(b"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n*3000000\r\n$1\r\na\r\n")
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() == [b"PING"]
    assert reader.get_command() is None  # waits for the remaining 2999999 arguments
    reader.feed(b"PING\r\n")
    with pytest.raises(ProtocolError):
        reader.get_command()
