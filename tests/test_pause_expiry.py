"""Expiry held during CLIENT PAUSE and DEBUG PAUSE-CRON, DEBUG OBJECT on a key past its deadline
(against the oracle)."""

from __future__ import annotations

import time


def _expired_keys(client) -> int:
    for line in client("INFO", "stats").decode().split("\r\n"):
        if line.startswith("expired_keys:"):
            return int(line.split(":")[1])
    raise AssertionError("no expired_keys in INFO")


def test_no_expiry_during_client_pause(diff):
    before = (_expired_keys(diff.ours), _expired_keys(diff.theirs))
    diff("MULTI")
    diff("SET", "foo{t}", "bar", "PX", "10")
    diff("SET", "bar{t}", "foo", "PX", "10")
    diff("CLIENT", "PAUSE", "50000", "WRITE")
    diff("EXEC")
    try:
        time.sleep(0.25)  # the cron runs a few times: active expiry must not delete them
        diff("GET", "foo{t}")  # logically expired, still not deleted
        diff("EXISTS", "bar{t}")
        diff("DBSIZE")
        assert (_expired_keys(diff.ours), _expired_keys(diff.theirs)) == before
    finally:
        diff("CLIENT", "UNPAUSE")
    diff("GET", "foo{t}")
    diff("GET", "bar{t}")
    diff("DBSIZE")
    assert (_expired_keys(diff.ours) - before[0], _expired_keys(diff.theirs) - before[1]) == (2, 2)


def test_debug_pause_cron_stops_active_expiry(diff):
    diff("DEBUG", "PAUSE-CRON", "1")
    try:
        diff("SET", "k", "v", "PX", "10")
        time.sleep(0.25)
        diff("DBSIZE")
    finally:
        diff("DEBUG", "PAUSE-CRON", "0")
    time.sleep(0.25)
    diff("DBSIZE")
    diff("DEBUG", "PAUSE-CRON")
    diff("DEBUG", "PAUSE-CRON", "0", "1")


def test_debug_object_sees_a_key_past_its_deadline(diff):
    diff("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        diff("SET", "key", "value", "PX", "1")
        time.sleep(0.01)
        ours, theirs = diff.both("DEBUG", "OBJECT", "key")
        assert ours.startswith(b"+Value at:") and theirs.startswith(b"+Value at:")
        diff("DBSIZE")
        diff("EVAL", "return redis.call('EXISTS', KEYS[1])", 1, "key")
        diff("EXISTS", "key")
        diff("DEBUG", "OBJECT", "key")
    finally:
        diff("DEBUG", "SET-ACTIVE-EXPIRE", "1")
