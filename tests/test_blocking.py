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


def test_timeout_parsing_is_valkeys_long_double(diff) -> None:
    # hex forms, long-double range (1e-400 is 1 ms, not "wait forever"), infinities, overflow
    for timeout in ("0x7FFFFFFFFFFFFF", "0x1p-8", "0x0.0001p0", "inf", "-inf", "nan", "1e400",
                    "9223372036854775", "9223372036854775807", "-0x1", "0x", "1e-400", "0.0001",
                    " 1", "1 ", "-1", "abc"):
        diff("BLPOP", "nolist", timeout)
        diff("BZPOPMIN", "nozset", timeout)
        diff("BLMOVE", "nolist", "dst", "LEFT", "LEFT", timeout)


def _blpop_calls(client: RawClient) -> bytes:
    info = client("INFO", "COMMANDSTATS").decode()
    line = next(line for line in info.splitlines() if line.startswith("cmdstat_blpop:"))
    calls, _, rest = line.partition(",usec=")
    return f"{calls},{rest.partition(',')[2].partition(',')[2]}".encode()


def test_blocked_command_counted_once(pyvalkey_server, oracle_server):
    results = []
    for server in (pyvalkey_server, oracle_server):
        waiter, other = RawClient(server.port), RawClient(server.port)
        waiter_id = int(waiter("CLIENT", "ID")[1:-2])
        other("DEL", "once")
        seen = []
        # served by a push (after a re-run that found a wrong type and blocked again)
        other("CONFIG", "RESETSTAT")
        waiter.send(encode_command("BLPOP", "once", "0"))
        time.sleep(0.05)
        other("SET", "once", "x")
        other("DEL", "once")
        other("LPUSH", "once", "1")
        waiter.read_reply()
        seen.append(_blpop_calls(other))
        # released by CLIENT UNBLOCK (timeout, then error)
        for mode in ("TIMEOUT", "ERROR"):
            other("CONFIG", "RESETSTAT")
            waiter.send(encode_command("BLPOP", "once", "0"))
            time.sleep(0.05)
            other("CLIENT", "UNBLOCK", waiter_id, mode)
            waiter.read_reply()
            seen.append(_blpop_calls(other))
        # timed out
        other("CONFIG", "RESETSTAT")
        waiter("BLPOP", "once", "0.01")
        seen.append(_blpop_calls(other))
        results.append(seen)
        waiter.close()
        other.close()
    assert results[0] == results[1]
    assert results[0][0].startswith(b"cmdstat_blpop:calls=1,")


def _stream(server, run):
    from test_replication_stream import StreamReader

    client = RawClient(server.port)
    client("FLUSHALL")
    client("CONFIG", "SET", "repl-ping-replica-period", "3600")
    reader = StreamReader(server.port)
    try:
        run(server.port, client)
        client("SET", "__end__", "1")
        out = []
        while True:
            argv = reader.command()
            if argv == [b"SET", b"__end__", b"1"]:
                return out
            if argv[0].upper() != b"PING":
                out.append([b"<ms>" if a.isdigit() and len(a) == 13 else a for a in argv])
    finally:
        reader.close()
        client.close()


def test_expired_key_does_not_wake_and_is_not_deleted_by_the_wake_check(pyvalkey_server, oracle_server):
    def run(port, c):
        c("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        try:
            c("SELECT", "1")
            c("RPUSH", "k", "hello")
            c("PEXPIRE", "k", "50")
            waiter = RawClient(port)
            waiter("SELECT", "9")
            waiter_id = int(waiter("CLIENT", "ID")[1:-2])
            waiter.send(encode_command("BRPOP", "k", "0"))
            time.sleep(0.1)
            c("SWAPDB", "1", "9")  # wakes the waiter's key, but it has expired: keeps waiting
            assert b"flags=b" in c("CLIENT", "LIST", "ID", waiter_id)
            c("CLIENT", "UNBLOCK", waiter_id)
            assert waiter.read_reply() == b"*-1\r\n"
            waiter("SET", "somekey1", "v")
            waiter("EXISTS", "k")  # the deletion is propagated here
            c("SET", "somekey2", "v")
            # the same through MULTI/EXEC with a sleep that lets the key expire inside it
            waiter.send(encode_command("BRPOP", "m", "0"))
            time.sleep(0.05)
            c("MULTI")
            c("RPUSH", "m", "hello")
            c("PEXPIRE", "m", "50")
            c("DEBUG", "SLEEP", "0.1")
            c("EXEC")
            assert b"flags=b" in c("CLIENT", "LIST", "ID", waiter_id)
            c("CLIENT", "UNBLOCK", waiter_id)
            assert waiter.read_reply() == b"*-1\r\n"
            waiter("EXISTS", "m")
            waiter.close()
        finally:
            c("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            c("SELECT", "0")

    assert _stream(pyvalkey_server, run) == _stream(oracle_server, run)
