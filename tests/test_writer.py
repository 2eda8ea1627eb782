"""Reply encoding: every reply shape in RESP2 and RESP3, and double formatting against the oracle."""

from __future__ import annotations

import math

import pytest
from resp import RawClient
from servers import ServerProcess

from pyvalkey.protocol.replies import (
    NO_REPLY,
    NULL_ARRAY,
    OK,
    PONG,
    BigNumber,
    ErrorReply,
    Map,
    Push,
    Raw,
    RespSet,
    SimpleString,
    Verbatim,
)
from pyvalkey.protocol.writer import encode, encode_error, format_double, to_bytes

CASES = [
    # value, RESP2, RESP3
    (b"abc", b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (b"a\r\nb", b"$4\r\na\r\nb\r\n", b"$4\r\na\r\nb\r\n"),
    (bytearray(b"raw"), b"$3\r\nraw\r\n", b"$3\r\nraw\r\n"),
    (memoryview(b"mv"), b"$2\r\nmv\r\n", b"$2\r\nmv\r\n"),
    ("text", b"$4\r\ntext\r\n", b"$4\r\ntext\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-42, b":-42\r\n", b":-42\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (3.0, b"$1\r\n3\r\n", b",3\r\n"),
    (math.inf, b"$3\r\ninf\r\n", b",inf\r\n"),
    (-math.inf, b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (math.nan, b"$3\r\nnan\r\n", b",nan\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ((b"t",), b"*1\r\n$1\r\nt\r\n", b"*1\r\n$1\r\nt\r\n"),
    ([[b"x", [1]], []], b"*2\r\n*2\r\n$1\r\nx\r\n*1\r\n:1\r\n*0\r\n", b"*2\r\n*2\r\n$1\r\nx\r\n*1\r\n:1\r\n*0\r\n"),
    ({b"k": 1, b"m": [b"v"]}, b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nm\r\n*1\r\n$1\r\nv\r\n",
     b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nm\r\n*1\r\n$1\r\nv\r\n"),
    ({}, b"*0\r\n", b"%0\r\n"),
    (Map([(b"k", 1), (b"k", 2.5)]), b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nk\r\n$3\r\n2.5\r\n",
     b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nk\r\n,2.5\r\n"),
    (RespSet([b"a", b"b"]), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n", b"~2\r\n$1\r\na\r\n$1\r\nb\r\n"),
    (RespSet(), b"*0\r\n", b"~0\r\n"),
    (Push([b"message", b"ch", b"hi"]), b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
     b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
    (Verbatim(b"line1\nline2"), b"$11\r\nline1\nline2\r\n", b"=15\r\ntxt:line1\nline2\r\n"),
    (BigNumber(1234567999999999999999999999999999999), b"$37\r\n1234567999999999999999999999999999999\r\n",
     b"(1234567999999999999999999999999999999\r\n"),
    (SimpleString(b"QUEUED"), b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (Raw(b":7\r\n"), b":7\r\n", b":7\r\n"),
    (ErrorReply(b"ERR syntax error"), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
    (ErrorReply("WRONGTYPE Operation"), b"-WRONGTYPE Operation\r\n", b"-WRONGTYPE Operation\r\n"),
    (ErrorReply(b"ERR a\r\nb\nc\rd"), b"-ERR a  b c d\r\n", b"-ERR a  b c d\r\n"),
    (NO_REPLY, b"", b""),
    ([NULL_ARRAY, True, 0.5, RespSet([1])], b"*4\r\n*-1\r\n:1\r\n$3\r\n0.5\r\n*1\r\n:1\r\n",
     b"*4\r\n_\r\n#t\r\n,0.5\r\n~1\r\n:1\r\n"),
    ([ErrorReply(b"ERR inner"), OK], b"*2\r\n-ERR inner\r\n+OK\r\n", b"*2\r\n-ERR inner\r\n+OK\r\n"),
]


@pytest.mark.parametrize(("value", "resp2", "resp3"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_encode(value: object, resp2: bytes, resp3: bytes) -> None:
    assert to_bytes(value, resp3=False) == resp2
    assert to_bytes(value, resp3=True) == resp3


def test_encode_appends_to_the_buffer() -> None:
    out = bytearray(b"+OK\r\n")
    encode(b"x", out)
    encode(NO_REPLY, out)
    encode(1, out, True)
    assert out == b"+OK\r\n$1\r\nx\r\n:1\r\n"


def test_subclasses_use_their_base_encoding() -> None:
    class Key(bytes):
        pass

    class Count(int):
        pass

    assert to_bytes([Key(b"k"), Count(3)]) == b"*2\r\n$1\r\nk\r\n:3\r\n"


def test_unknown_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        to_bytes(object())


def test_encode_error_sanitises_newlines() -> None:
    out = bytearray()
    encode_error(b"ERR bad\r\nthing", out)
    assert out == b"-ERR bad  thing\r\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, b"0"),
        (-0.0, b"-0"),  # d2string keeps the sign of zero (ZADD itself stores 0)
        (1.0, b"1"),
        (-3.0, b"-3"),
        (1e16, b"10000000000000000"),
        (4611686018427387904.0, b"4611686018427387904"),
        (1e19, b"1e+19"),
        (1e21, b"1e+21"),
        (1.5e-7, b"1.5e-7"),
        (2.5e-5, b"0.000025"),
        (123e-10, b"1.23e-8"),
        (1e300, b"1e+300"),
        (5e-324, b"5e-324"),
        (math.inf, b"inf"),
        (-math.inf, b"-inf"),
        (math.nan, b"nan"),
    ],
)
def test_format_double_known(value: float, text: bytes) -> None:
    assert format_double(value) == text


# Values whose text Valkey derives by different rules (integers, plain decimals, scientific
# notation, the switch-over points between them, extremes).
TRICKY = [
    "1e16", "1e15", "0.1", "1.5e-7", "123456789012345678", "3.0", "1e300", "5e-324", "1e17", "1e21",
    "1e22", "1e20", "1e19", "123456789.123", "0.0001", "0.00001", "2.5e-5", "-2.5e-5", "-1.5",
    "1e308", "-1e300", "1.7976931348623157e308", "2.2250738585072014e-308", "100",
    "12345678901234567890", "0.3", "1.1", "-1e16", "9007199254740993", "4.35", "123e-10",
    "1.23456789e-300", "1e-6", "1e-7", "-1.5e-7", "123456789012345.6", "0.000123", "1e-10",
    "4611686018427387903", "4611686018427387904", "-4611686018427387904", "1234567.5",
    "0.1234567", "3.14159e-4", "1e6", "1e7", "1.5e7", "inf", "-inf", "+inf", "0",
    "0.5", "1e-3", "1234.5678e10", "6.02214076e23", "-6.62607015e-34",
]


@pytest.fixture
def oracle(oracle_server: ServerProcess) -> RawClient:
    client = RawClient(oracle_server.port)
    client("SELECT", "9")
    client("DEL", "pyvalkey:test_writer:z")
    return client


def test_format_double_matches_the_oracle(oracle: RawClient) -> None:
    key = "pyvalkey:test_writer:z"
    mismatches = []
    for text in TRICKY:
        assert oracle("ZADD", key, text, "m") in (b":0\r\n", b":1\r\n")
        reply = oracle("ZSCORE", key, "m")
        theirs = reply.split(b"\r\n")[1]
        if format_double(float(text)) != theirs:
            mismatches.append((text, theirs, format_double(float(text))))
    oracle("HELLO", "3")
    for text in ("1.5e-7", "1e16", "0.000025", "-inf", "1e+21"):
        oracle("ZADD", key, text, "m")
        assert oracle("ZSCORE", key, "m") == b",%s\r\n" % format_double(float(text))
    oracle("DEL", key)
    oracle.close()
    assert mismatches == []
