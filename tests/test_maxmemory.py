"""maxmemory refusals (-OOM) compared with the oracle. ``maxmemory 1`` puts both servers over the
limit at once, whatever their real memory use."""

from __future__ import annotations

import pytest
from resp import RawClient


@pytest.fixture
def over_limit(diff, pyvalkey_server, oracle_server):
    admins = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        yield diff, admins
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "maxmemory", "0")
            admin.close()


def limit(admins, value: str) -> None:
    for admin in admins:
        assert admin("CONFIG", "SET", "maxmemory", value) == b"+OK\r\n"


def test_denyoom_commands_are_refused(over_limit):
    diff, admins = over_limit
    diff("SET", "k", "v")
    limit(admins, "1")
    diff("SET", "k2", "v")
    diff("RPUSH", "l", "a")
    diff("GET", "k")  # reads go on
    diff("DEL", "k")  # deletions too: they free memory
    diff("INCR", "n")
    limit(admins, "0")
    diff("SET", "k2", "v")


def test_multi_when_out_of_memory(over_limit):
    diff, admins = over_limit
    limit(admins, "1")
    diff("MULTI")
    diff("GET", "k")  # anything queued is refused inside MULTI
    diff("EXEC")
    diff("MULTI")
    diff("DISCARD")
    limit(admins, "0")
    diff("MULTI")
    diff("SET", "k", "v")
    diff("GET", "k")
    limit(admins, "1")
    diff("EXEC")  # the queue holds a denyoom command: refused, transaction discarded
    diff("GET", "k")
    limit(admins, "0")
    diff("MULTI")
    diff("GET", "k")
    limit(admins, "1")
    diff("EXEC")  # only reads queued: runs


def test_min_replicas_to_write(diff, pyvalkey_server, oracle_server):
    admins = [RawClient(pyvalkey_server.port), RawClient(oracle_server.port)]
    try:
        diff("SET", "xx", "1")
        diff("MULTI")
        diff("INCR", "xx")
        for admin in admins:
            assert admin("CONFIG", "SET", "min-replicas-to-write", "2") == b"+OK\r\n"
        diff("EXEC")
        diff("GET", "xx")
        diff("SET", "xx", "2")
        diff("GET", "xx")
    finally:
        for admin in admins:
            admin("CONFIG", "SET", "min-replicas-to-write", "0")
            admin.close()
    diff("SET", "xx", "3")
