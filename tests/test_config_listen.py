"""CONFIG SET port / bind at run time: the listeners move, a failure rolls every value back."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from resp import RawClient
from servers import ServerProcess, free_port, start_oracle, start_pyvalkey


@pytest.fixture
def pair() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Servers of our own: these tests move their ports."""
    ours = start_pyvalkey()
    try:
        theirs = start_oracle()
    except Exception:
        ours.stop()
        raise
    yield ours, theirs
    ours.stop()
    theirs.stop()


def _configs(client: RawClient) -> list[bytes]:
    return [client("CONFIG", "GET", name) for name in ("port", "maxmemory", "client-query-buffer-limit", "bind")]


def test_port_in_use_rolls_back_everything(pair):
    ours, theirs = pair
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    used = blocker.getsockname()[1]
    try:
        results = []
        for server in (ours, theirs):
            client = RawClient(server.port)
            before = _configs(client)
            reply = client("CONFIG", "SET", "maxmemory", "10000001", "port", used, "client-query-buffer-limit", "10m")
            results.append(reply)
            assert _configs(client) == before
            client.close()
            again = RawClient(server.port)  # still listening where it was
            assert again("PING") == b"+PONG\r\n"
            again.close()
        assert results[0] == results[1]
        assert results[0].startswith(b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen")
        for server in (ours, theirs):
            client = RawClient(server.port)
            before = client("CONFIG", "GET", "bind")
            results.append(client("CONFIG", "SET", "bind", "1.2.3.4"))
            assert client("CONFIG", "GET", "bind") == before
            assert RawClient(server.port)("PING") == b"+PONG\r\n"
            client.close()
        assert results[2] == results[3]
    finally:
        blocker.close()


def test_port_moves(pair):
    ours, _ = pair
    client = RawClient(ours.port)
    new_port = free_port()
    assert client("CONFIG", "SET", "port", new_port) == b"+OK\r\n"
    assert client("PING") == b"+PONG\r\n"  # connected clients stay
    moved = RawClient(new_port)
    assert moved("CONFIG", "GET", "port") == b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(new_port)), new_port)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ours.port), timeout=1).close()
    assert moved("CONFIG", "SET", "port", ours.port) == b"+OK\r\n"
    back = RawClient(ours.port)
    assert back("PING") == b"+PONG\r\n"
    for c in (client, moved, back):
        c.close()
