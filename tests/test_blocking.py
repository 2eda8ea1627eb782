"""The blocking mechanism (pyvalkey/blocking.py), compared with the oracle over raw sockets."""

from __future__ import annotations

import time

from resp import RawClient, encode_command


def _both(pyvalkey_server, oracle_server):
    return [(RawClient(s.port), RawClient(s.port)) for s in (pyvalkey_server, oracle_server)]


def test_type_change_does_not_wake_a_list_waiter(pyvalkey_server, oracle_server):
    replies = []
    for waiter, writer in _both(pyvalkey_server, oracle_server):
        writer("DEL", "bk")
        waiter.send(encode_command("BLPOP", "bk", "0.3"))
        time.sleep(0.05)
        writer("SET", "bk", "string")  # wrong type: the waiter keeps waiting, then times out
        writer("DEL", "bk")
        replies.append(waiter.read_reply())
        waiter.close()
        writer.close()
    assert replies[0] == replies[1] == b"*-1\r\n"


def test_waiter_served_after_type_change_and_push(pyvalkey_server, oracle_server):
    replies = []
    for waiter, writer in _both(pyvalkey_server, oracle_server):
        writer("DEL", "bk2")
        waiter.send(encode_command("BLPOP", "bk2", "5"))
        time.sleep(0.05)
        writer("SET", "bk2", "string")
        writer("DEL", "bk2")
        writer("RPUSH", "bk2", "v")
        replies.append(waiter.read_reply())
        waiter.close()
        writer.close()
    assert replies[0] == replies[1] == b"*2\r\n$3\r\nbk2\r\n$1\r\nv\r\n"


def test_client_unblock_timeout_and_error(pyvalkey_server, oracle_server):
    for server in (pyvalkey_server, oracle_server):
        waiter, other = RawClient(server.port), RawClient(server.port)
        waiter_id = int(waiter("CLIENT", "ID")[1:-2])
        for mode, expected in (("TIMEOUT", b"*-1\r\n"), ("ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
            waiter.send(encode_command("BLPOP", "nokey", "0"))
            time.sleep(0.05)
            assert other("CLIENT", "UNBLOCK", waiter_id, mode) == b":1\r\n"
            assert waiter.read_reply() == expected
        assert other("CLIENT", "UNBLOCK", waiter_id) == b":0\r\n"
        waiter.close()
        other.close()


def test_fifo_wakeup_order(pyvalkey_server, oracle_server):
    for server in (pyvalkey_server, oracle_server):
        first, second, writer = (RawClient(server.port) for _ in range(3))
        writer("DEL", "fifo")
        first.send(encode_command("BRPOP", "fifo", "5"))
        time.sleep(0.05)
        second.send(encode_command("BRPOP", "fifo", "5"))
        time.sleep(0.05)
        writer("LPUSH", "fifo", "a", "b")
        assert first.read_reply() == b"*2\r\n$4\r\nfifo\r\n$1\r\na\r\n"
        assert second.read_reply() == b"*2\r\n$4\r\nfifo\r\n$1\r\nb\r\n"
        for c in (first, second, writer):
            c.close()
