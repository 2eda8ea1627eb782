"""The write feed seen by a replica (SYNC / PSYNC), compared with the oracle's.

Timestamps (PXAT / PEXPIREAT deadlines) differ between the two servers by the time between the
commands, so they are compared with a tolerance; everything else must be identical.
"""

from __future__ import annotations

import socket
import time

import pytest
from resp import RawClient

pytestmark = pytest.mark.timeout(60)


class StreamReader:
    """A raw replica: SYNC (or PSYNC), skip the snapshot, then parse commands off the stream."""

    def __init__(self, port: int, psync: bool = False) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.sock.sendall(b"PSYNC ? -1\r\n" if psync else b"SYNC\r\n")
        if psync:
            self.fullresync = self._line()
        # a primary sends bare newlines as keep-alives while it prepares the snapshot
        header = self._line().lstrip(b"\n")
        assert header.startswith(b"$"), header
        self._take(int(header[1:]))

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("stream closed")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def command(self) -> list[bytes]:
        header = self._line()
        assert header.startswith(b"*"), header
        argv = []
        for _ in range(int(header[1:])):
            length = int(self._line()[1:])
            argv.append(self._take(length + 2)[:-2])
        return argv

    def commands(self, n: int) -> list[list[bytes]]:
        """The next ``n`` commands, leaving out the keep-alive PINGs (their timing is the cron's)."""
        result: list[list[bytes]] = []
        while len(result) < n:
            argv = self.command()
            if [a.upper() for a in argv] != [b"PING"]:
                result.append(argv)
        return result

    def close(self) -> None:
        self.sock.close()


def normalise(commands: list[list[bytes]]) -> list[list[bytes]]:
    """Lower-case command names; absolute deadlines become ``<ts:N>`` with N in seconds, so
    that streams from two servers (which ran each command a few ms apart) compare equal."""
    result = []
    for argv in commands:
        argv = [argv[0].lower(), *argv[1:]]
        if argv[0] == b"pexpireat":
            argv[2] = _stamp(argv[2])
        if argv[0] == b"set" and len(argv) >= 5 and argv[3].upper() == b"PXAT":
            argv[4] = _stamp(argv[4])
        result.append(argv)
    return result


def _stamp(ms: bytes) -> bytes:
    return b"<ts:%d>" % round(int(ms) / 1000)


def assert_same_streams(ours: list[list[bytes]], theirs: list[list[bytes]]) -> None:
    """Equal, except that a deadline may differ by one second (the runs straddle a boundary)."""
    assert len(ours) == len(theirs), (ours, theirs)
    for mine, real in zip(ours, theirs):
        assert len(mine) == len(real), (mine, real)
        for a, b in zip(mine, real):
            if a.startswith(b"<ts:") and b.startswith(b"<ts:"):
                assert abs(int(a[4:-1]) - int(b[4:-1])) <= 1, (mine, real)
            else:
                assert a == b, (mine, real)


def run_both(pyvalkey_server, oracle_server, script, expected_count: int, psync: bool = False):
    streams = []
    for server in (pyvalkey_server, oracle_server):
        client = RawClient(server.port)
        client("FLUSHALL")
        client("CONFIG", "SET", "repl-ping-replica-period", "3600")
        reader = StreamReader(server.port, psync=psync)
        time.sleep(0.05)
        for args in script:
            client(*args)
        streams.append(normalise(reader.commands(expected_count)))
        reader.close()
        client.close()
    return streams


def test_writes_are_streamed_as_executed(pyvalkey_server, oracle_server):
    now = int(time.time())
    script = [
        ("SET", "a", "1"),
        ("GET", "a"),  # reads are not propagated
        ("INCR", "a"),
        ("SET", "b", "x", "EX", "200"),
        ("SET", "b", "x", "PX", "100000"),
        ("SET", "b", "x", "EXAT", now + 100),
        ("SETEX", "c", "100", "v"),
        ("PSETEX", "c", "100000", "v"),
        ("EXPIRE", "a", "100"),
        ("PEXPIRE", "a", "100000"),
        ("GETEX", "a", "EX", "200"),
        ("GETEX", "a", "PERSIST"),
        ("GETEX", "a"),
        ("GETDEL", "a"),
        ("SET", "d", "1"),
        ("EXPIREAT", "d", now - 100),  # in the past: the key goes, propagated as a deletion
        ("SELECT", "3"),
        ("SET", "in3", "v"),
        ("DEL", "nokey"),  # no change: nothing propagated
        ("DEL", "in3"),
    ]
    ours, theirs = run_both(pyvalkey_server, oracle_server, script, 17)
    assert_same_streams(ours, theirs)


def test_publish_reaches_replicas(pyvalkey_server, oracle_server):
    """PUBLISH and SPUBLISH go to replicas (for their subscribers); alone in a MULTI, PUBLISH
    is sent unwrapped."""
    script = [
        ("PUBLISH", "ch", "m"),
        ("SPUBLISH", "sch", "m2"),
        ("MULTI",),
        ("PUBLISH", "bla", "bla"),
        ("EXEC",),
        ("MULTI",),
        ("PUBLISH", "a", "b"),
        ("SET", "k", "v"),
        ("EXEC",),
    ]
    ours, theirs = run_both(pyvalkey_server, oracle_server, script, 8)
    assert_same_streams(ours, theirs)


def test_transactions_are_wrapped(pyvalkey_server, oracle_server):
    script = [
        ("MULTI",),
        ("SET", "t1", "a"),
        ("SET", "t2", "b"),
        ("EXEC",),
        ("MULTI",),
        ("SET", "t3", "c"),
        ("GET", "t3"),
        ("EXEC",),
    ]
    ours, theirs = run_both(pyvalkey_server, oracle_server, script, 6)
    assert_same_streams(ours, theirs)


def test_psync_full_resync_reply(pyvalkey_server, oracle_server):
    for server in (pyvalkey_server, oracle_server):
        reader = StreamReader(server.port, psync=True)
        parts = reader.fullresync.split()
        assert parts[0] == b"+FULLRESYNC" and len(parts[1]) == 40 and parts[2].isdigit()
        reader.close()


def test_expired_keys_are_deleted_in_the_stream(pyvalkey_server, oracle_server):
    script = [
        ("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
        ("SET", "e1", "v", "PX", "1"),
        ("SET", "e2", "v", "PX", "1"),
    ]
    streams = []
    for server in (pyvalkey_server, oracle_server):
        client = RawClient(server.port)
        client("FLUSHALL")
        reader = StreamReader(server.port)
        for args in script:
            client(*args)
        time.sleep(0.01)
        client("GET", "e1")  # lazy expiry: an UNLINK, not wrapped with anything
        client("RANDOMKEY")
        client("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        streams.append(normalise(reader.commands(5)))
        reader.close()
        client.close()
    assert [argv[0] for argv in streams[0]] == [argv[0] for argv in streams[1]]
    assert streams[0][-2:] == streams[1][-2:] == [[b"unlink", b"e1"], [b"unlink", b"e2"]]
