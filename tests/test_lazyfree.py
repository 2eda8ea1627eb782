"""Lazy freeing against the oracle: which removals are handed to the background (Valkey's free
effort above 64, UNLINK / DEL / FLUSH* ASYNC and their lazyfree-* configs), counted the same in
INFO memory, and the worker emptying its queue."""

from __future__ import annotations

import time

from resp import RawClient

from pyvalkey.lazyfree import free_effort


def _counters(client: RawClient) -> tuple[int, int]:
    deadline = time.monotonic() + 5
    while True:
        info = client("INFO", "memory").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        pending, freed = int(fields["lazyfree_pending_objects"]), int(fields["lazyfreed_objects"])
        if pending == 0 or time.monotonic() > deadline:
            return pending, freed
        time.sleep(0.01)


def _both(diff, *args):
    return diff.both(*args)


def test_what_is_freed_lazily_is_counted_alike(diff, pyvalkey_server, oracle_server) -> None:
    admins = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        for admin in admins:
            # Values an earlier test handed to the background thread must be freed (and counted)
            # before the counters start again from zero.
            _counters(admin)
            admin("CONFIG", "RESETSTAT")
            admin("CONFIG", "SET", "stream-node-max-entries", "5")
        steps = [
            [("SADD", "bigset", *[f"m{i}" for i in range(200)]), ("UNLINK", "bigset")],  # hashtable: 200
            [("SADD", "small", "a", "b"), ("UNLINK", "small")],  # listpack: 1
            [("HSET", "bighash", *[x for i in range(100) for x in (f"f{i}", "v" * 70)]), ("DEL", "bighash")],
            [("CONFIG", "SET", "lazyfree-lazy-user-del", "no"), ("RPUSH", "biglist", *["x" * 9000] * 80),
             ("DEL", "biglist"), ("CONFIG", "SET", "lazyfree-lazy-user-del", "yes")],  # DEL frees at once
            [("RPUSH", "biglist", *["x" * 9000] * 80), ("UNLINK", "biglist")],  # 80 plain nodes
            [("ZADD", "bigz", *[x for i in range(200) for x in (str(i), f"z{i}")]), ("UNLINK", "bigz")],
            [*[("XADD", "stream", f"1-{i + 1}", "foo", str(i)) for i in range(400)], ("UNLINK", "stream")],  # 80 nodes
            [("XADD", "s", "1-1", "a", "b"), ("XGROUP", "CREATE", "s", "g", "$"), ("UNLINK", "s")],
            [("SET", "a", "1"), ("SET", "b", "2"), ("SET", "c", "3"), ("FLUSHALL", "ASYNC")],  # 3 keys
            [("SET", "a", "1"), ("FLUSHALL", "SYNC")],
            [("SET", "a", "1"), ("SET", "b", "2"), ("FLUSHDB",)],  # lazyfree-lazy-user-flush yes
        ]
        for step in steps:
            for args in step:
                ours, theirs = _both(diff, *args)
                assert ours == theirs, args
            mine, real = (_counters(admin) for admin in admins)
            assert mine == real, (step[-1], mine, real)
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "stream-node-max-entries", "100")
            admin("CONFIG", "SET", "lazyfree-lazy-user-del", "yes")
            admin.close()


def test_free_effort() -> None:
    assert free_effort(b"x" * 10_000) == 1
    assert free_effort(bytearray(5)) == 1

