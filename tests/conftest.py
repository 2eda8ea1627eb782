"""Shared fixtures: one pyvalkey and one oracle per test session, and a differential helper."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from resp import RawClient, encode_command  # noqa: E402
from servers import ServerProcess, start_oracle, start_pyvalkey  # noqa: E402


@pytest.fixture(scope="session")
def pyvalkey_server() -> Iterator[ServerProcess]:
    server = start_pyvalkey()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oracle_server() -> Iterator[ServerProcess]:
    server = start_oracle()
    yield server
    server.stop()


@pytest.fixture
def r(pyvalkey_server: ServerProcess) -> Iterator[RawClient]:
    """A raw connection to pyvalkey with every database flushed."""
    client = RawClient(pyvalkey_server.port)
    client("FLUSHALL")
    yield client
    client.close()


class Differ:
    """Sends the same commands to pyvalkey and to the oracle and compares the raw replies."""

    def __init__(self, ours: RawClient, theirs: RawClient) -> None:
        self.ours = ours
        self.theirs = theirs

    def __call__(self, *args: object) -> bytes:
        """Run one command on both; assert identical bytes; return the reply."""
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def both(self, *args: object) -> tuple[bytes, bytes]:
        """Run on both without comparing (for non-deterministic replies)."""
        return self.ours(*args), self.theirs(*args)

    def raw(self, data: bytes) -> tuple[bytes, bytes]:
        self.ours.send(data)
        self.theirs.send(data)
        return self.ours.read_reply(), self.theirs.read_reply()

    def resp3(self) -> None:
        self.both("HELLO", "3")


@pytest.fixture
def diff(pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> Iterator[Differ]:
    ours = RawClient(pyvalkey_server.port)
    theirs = RawClient(oracle_server.port)
    for client in (ours, theirs):
        client("FLUSHALL")
    differ = Differ(ours, theirs)
    yield differ
    ours.close()
    theirs.close()


__all__ = ["encode_command"]
