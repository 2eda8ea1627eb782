"""Hypothesis state machine: random string/key/expiry command sequences sent to pyvalkey and to the
oracle, replies compared byte for byte.

Expiry uses absolute future deadlines (EXPIREAT/PEXPIREAT far ahead) and reads them back with
EXPIRETIME/PEXPIRETIME, so the comparison does not depend on when each server ran the command.
"""

from __future__ import annotations

import os
import time

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from resp import RawClient

KEYS = st.sampled_from([b"k1", b"k2", b"k3", b"{t}a", b"n\x00l", b"x" * 50])
VALUES = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"3.5", b"1e3", b"abc", b"9223372036854775807",
                     b"-9223372036854775808", b"007", b" 1", b"inf"]),
    st.binary(max_size=60),
)
SMALL_INTS = st.integers(min_value=-(2**64), max_value=2**64)
FUTURE = int(time.time()) + 10_000_000


@pytest.fixture(scope="module")
def clients(pyvalkey_server, oracle_server):
    ours = RawClient(pyvalkey_server.port)
    theirs = RawClient(oracle_server.port)
    yield ours, theirs
    ours.close()
    theirs.close()


class StringsAndKeys(RuleBasedStateMachine):
    ours: RawClient
    theirs: RawClient

    @initialize()
    def flush(self) -> None:
        self.ours("FLUSHALL")
        self.theirs("FLUSHALL")

    def same(self, *args: object) -> None:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"

    @rule(key=KEYS, value=VALUES, mode=st.sampled_from([(), ("NX",), ("XX",), ("GET",), ("XX", "GET"),
                                                        ("KEEPTTL",), ("NX", "GET")]))
    def set(self, key: bytes, value: bytes, mode: tuple[str, ...]) -> None:
        self.same("SET", key, value, *mode)

    @rule(key=KEYS, value=VALUES, at=st.integers(min_value=1, max_value=10**6))
    def set_exat(self, key: bytes, value: bytes, at: int) -> None:
        self.same("SET", key, value, "EXAT", FUTURE + at)

    @rule(key=KEYS, command=st.sampled_from(["GET", "GETDEL", "STRLEN", "INCR", "DECR", "TYPE", "EXISTS",
                                             "DEL", "UNLINK", "PERSIST", "EXPIRETIME", "PEXPIRETIME",
                                             "OBJECT ENCODING", "TOUCH"]))
    def single_key(self, key: bytes, command: str) -> None:
        self.same(*command.split(), key)

    @rule(key=KEYS, value=VALUES)
    def append_getset(self, key: bytes, value: bytes) -> None:
        self.same("APPEND", key, value)
        self.same("GETSET", key, value)

    @rule(key=KEYS, amount=SMALL_INTS)
    def incrby(self, key: bytes, amount: int) -> None:
        self.same("INCRBY", key, amount)
        self.same("DECRBY", key, amount)

    @rule(key=KEYS, amount=st.sampled_from(["0.1", "-1.5", "1e2", "3", "abc", "inf", "1e308"]))
    def incrbyfloat(self, key: bytes, amount: str) -> None:
        self.same("INCRBYFLOAT", key, amount)

    @rule(key=KEYS, start=st.integers(-20, 20), end=st.integers(-20, 20))
    def getrange(self, key: bytes, start: int, end: int) -> None:
        self.same("GETRANGE", key, start, end)

    @rule(key=KEYS, offset=st.integers(-1, 70), value=VALUES)
    def setrange(self, key: bytes, offset: int, value: bytes) -> None:
        self.same("SETRANGE", key, offset, value)

    @rule(pairs=st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=4), nx=st.booleans())
    def mset(self, pairs: list[tuple[bytes, bytes]], nx: bool) -> None:
        flat = [item for pair in pairs for item in pair]
        self.same("MSETNX" if nx else "MSET", *flat)

    @rule(keys=st.lists(KEYS, min_size=1, max_size=5))
    def multi_key(self, keys: list[bytes]) -> None:
        self.same("MGET", *keys)
        self.same("EXISTS", *keys)

    @rule(src=KEYS, dst=KEYS, command=st.sampled_from(["RENAME", "RENAMENX", "COPY"]))
    def two_keys(self, src: bytes, dst: bytes, command: str) -> None:
        self.same(command, src, dst)

    @rule(key=KEYS, at=st.integers(min_value=1, max_value=10**6),
          flag=st.sampled_from([(), ("NX",), ("XX",), ("GT",), ("LT",)]),
          millis=st.booleans())
    def expireat(self, key: bytes, at: int, flag: tuple[str, ...], millis: bool) -> None:
        if millis:
            self.same("PEXPIREAT", key, (FUTURE + at) * 1000, *flag)
        else:
            self.same("EXPIREAT", key, FUTURE + at, *flag)

    @rule(a=KEYS, b=KEYS)
    def lcs(self, a: bytes, b: bytes) -> None:
        self.same("LCS", a, b)
        self.same("LCS", a, b, "LEN")

    @rule()
    def dbsize(self) -> None:
        self.same("DBSIZE")


def test_strings_and_keys_state_machine(clients) -> None:
    ours, theirs = clients
    StringsAndKeys.ours = ours
    StringsAndKeys.theirs = theirs
    machine = StringsAndKeys.TestCase
    machine.settings = settings(
        max_examples=int(os.environ.get("PYVALKEY_EXAMPLES", "40")),
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not bool(os.environ.get("PYVALKEY_EXPLORE")),
    )
    machine().runTest()
