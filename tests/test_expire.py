"""EXPIRE family, TTL family, PERSIST, lazy and active expiry, against the oracle."""

from __future__ import annotations

import time

import pytest

FUTURE_S = 4_000_000_000  # year 2096
FUTURE_MS = FUTURE_S * 1000


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request, diff):
    if request.param == 3:
        diff.resp3()
    return diff


def _int(raw: bytes) -> int:
    assert raw[:1] == b":", raw
    return int(raw[1:-2])


def test_expire_errors(d):
    d("SET", "a", "1")
    d("EXPIRE", "a", "10", "foo")
    d("EXPIRE", "a", "10", "nx", "xx")
    d("EXPIRE", "a", "10", "NX", "GT")
    d("EXPIRE", "a", "10", "nx", "lt")
    d("EXPIRE", "a", "10", "gt", "lt")
    d("EXPIRE", "a", "10", "gt", "lt", "nx")
    d("EXPIRE", "a", "x")
    d("EXPIRE", "a", "x", "nx", "xx")
    d("EXPIRE", "a", "x", "bogus")
    d("EXPIRE", "a", "1.5")
    d("EXPIRE", "a", "")
    d("EXPIRE", "a")
    d("PEXPIRE", "a", "10", "XX", "XX", "bogus")
    for command in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        for value in ("9223372036854775807", "9223372036854775", "9223372036854776",
                      "-9223372036854775808", "-9223372036854775", "-9223372036854776",
                      "9223372036854775808"):
            d("SET", "a", "1")
            d(command, "a", value)
            d("EXISTS", "a")


def test_expire_sets_ttl(d):
    d("SET", "a", "1")
    d("EXPIRE", "a", "100")
    d("TTL", "a")
    d("EXPIREAT", "a", FUTURE_S)
    d("EXPIRETIME", "a")
    d("PEXPIRETIME", "a")
    d("PEXPIREAT", "a", FUTURE_MS + 123)
    d("PEXPIRETIME", "a")
    d("EXPIRETIME", "a")
    d("PEXPIRE", "a", "100000")
    d("TTL", "a")
    d("EXPIRE", "nokey", "100")
    d("PEXPIREAT", "nokey", FUTURE_MS)


def test_expire_flags(d):
    d("SET", "a", "1")
    d("EXPIRE", "a", "100", "XX")
    d("EXPIRE", "a", "100", "GT")
    d("EXPIRE", "a", "100", "LT")  # no TTL counts as infinite: LT succeeds
    d("TTL", "a")
    d("EXPIRE", "a", "200", "NX")
    d("EXPIRE", "a", "200", "XX")
    d("TTL", "a")
    d("EXPIRE", "a", "100", "GT")
    d("EXPIRE", "a", "300", "GT")
    d("TTL", "a")
    d("EXPIRE", "a", "400", "LT")
    d("EXPIRE", "a", "50", "lt")
    d("TTL", "a")
    # An equal deadline is not "greater": set one absolute deadline, then ask for the same one
    # (relative seconds would depend on how many ms passed on each server between commands).
    d("PEXPIREAT", "a", FUTURE_MS)
    d("PEXPIREAT", "a", FUTURE_MS, "xx", "gt")
    d("PEXPIREAT", "a", FUTURE_MS, "lt")
    d("EXPIRE", "a", "60", "xx", "LT")
    d("EXPIRE", "a", "50", "xx", "gt")
    d("TTL", "a")
    d("PERSIST", "a")
    d("EXPIRE", "a", "-1", "GT")
    d("EXISTS", "a")
    d("EXPIRE", "a", "-1", "XX")
    d("EXISTS", "a")
    d("EXPIRE", "a", "-1", "NX")
    d("EXISTS", "a")


def test_past_expire_deletes(d):
    for command, value in (("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-100"), ("EXPIREAT", "1"),
                           ("PEXPIREAT", "0"), ("PEXPIREAT", "-9223372036854775808")):
        d("SET", "a", "1")
        d(command, "a", value)
        d("EXISTS", "a")
        d("TTL", "a")
        d(command, "a", value)


def test_ttl_family(d):
    for command in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        d(command, "nokey")
        d("SET", "a", "1")
        d(command, "a")
        d(command)
        d(command, "a", "b")
    d("SET", "a", "1", "EX", "1000")
    d("TTL", "a")
    ours, theirs = d.both("PTTL", "a")
    assert abs(_int(ours) - _int(theirs)) < 1000
    assert 999_000 <= _int(ours) <= 1_000_000


def test_ttl_rounds_to_nearest_second(r):
    r("SET", "a", "1")
    r("PEXPIRE", "a", "1600")
    assert r("TTL", "a") == b":2\r\n"
    r("PEXPIRE", "a", "1400")
    assert r("TTL", "a") == b":1\r\n"


def test_persist(d):
    d("PERSIST", "nokey")
    d("SET", "a", "1")
    d("PERSIST", "a")
    d("EXPIRE", "a", "100")
    d("PERSIST", "a")
    d("TTL", "a")
    d("PERSIST", "a")
    d("PERSIST")


def test_set_clears_ttl_and_expired_key_vanishes(d):
    d("SET", "a", "1")
    d("PEXPIRE", "a", "30")
    d("SET", "a", "2")
    d("TTL", "a")
    d("PEXPIRE", "a", "30")
    d("SET", "b", "1", "PX", "30")
    time.sleep(0.08)
    d("GET", "a")
    d("EXISTS", "a", "b")
    d("TTL", "b")
    d("DEL", "b")
    d("PERSIST", "b")
    d("EXPIRE", "b", "10")


def test_expired_keys_are_not_counted_by_del(d):
    d("SET", "a", "1", "PX", "20")
    d("SET", "b", "1")
    time.sleep(0.05)
    d("DEL", "a", "b")
    d("DBSIZE")


def test_active_expiry_without_access(r):
    """Keys with a TTL disappear through the cron's active expiry, never being read."""
    for i in range(50):
        r("SET", f"k{i}", "v", "PX", "50")
    r("SET", "keep", "v")
    assert r("DBSIZE") == b":51\r\n"
    deadline = time.monotonic() + 3
    while r("DBSIZE") != b":1\r\n":
        assert time.monotonic() < deadline, r("DBSIZE")
        time.sleep(0.05)
    info = r("INFO", "stats").decode()
    assert "expired_keys:" in info


def test_rename_and_move_keep_ttl_exactly(r):
    r("SET", "a", "1")
    r("PEXPIREAT", "a", FUTURE_MS + 7)
    r("RENAME", "a", "b")
    assert r("PEXPIRETIME", "b") == b":%d\r\n" % (FUTURE_MS + 7)
    r("MOVE", "b", "1")
    r("SELECT", "1")
    assert r("PEXPIRETIME", "b") == b":%d\r\n" % (FUTURE_MS + 7)
    r("COPY", "b", "c", "DB", "0")
    r("SELECT", "0")
    assert r("PEXPIRETIME", "c") == b":%d\r\n" % (FUTURE_MS + 7)
