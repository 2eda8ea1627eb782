"""SCAN: options and errors against the oracle, full iterations, and the cursor guarantee."""

from __future__ import annotations

import random
import time

import hiredis
import pytest

from pyvalkey.commands.keys import parse_cursor
from pyvalkey.errors import ErrorReply


def parse(raw: bytes):
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def d(request, diff):
    if request.param == 3:
        diff.resp3()
    return diff


def full_scan(client, *options, start: bytes = b"0", limit: int = 100000) -> list[bytes]:
    found: list[bytes] = []
    cursor = start
    for _ in range(limit):
        reply = parse(client("SCAN", cursor, *options))
        assert not isinstance(reply, hiredis.ReplyError), reply
        cursor, keys = reply
        found.extend(keys)
        if cursor == b"0":
            return found
    raise AssertionError("scan did not finish")


def test_scan_errors(d):
    d("SET", "k", "v")
    for cursor in ("-1", "1 ", "", "0x1", "1.0", "18446744073709551616", "abc", "- 1", "-18446744073709551616"):
        d("SCAN", cursor)
    d("SCAN", "0", "COUNT", "0")
    d("SCAN", "0", "COUNT", "-1")
    d("SCAN", "0", "COUNT", "x")
    d("SCAN", "0", "COUNT", "1.5")
    d("SCAN", "0", "COUNT", "99999999999999999999")
    d("SCAN", "0", "COUNT")
    d("SCAN", "0", "MATCH")
    d("SCAN", "0", "TYPE")
    d("SCAN", "0", "TYPE", "foo")
    d("SCAN", "0", "TYPE", "none")
    d("SCAN", "0", "foo", "bar")
    d("SCAN", "0", "NOVALUES")
    d("SCAN", "0", "NOSCORES")
    d("SCAN", "0", "MATCH", "*", "COUNT", "0")
    d("SCAN", "0", "COUNT", "0", "TYPE", "foo")
    d("SCAN", "0", "TYPE", "foo", "COUNT", "0")
    d("SCAN")


def test_cursor_forms_accepted_like_strtoull(d):
    d("SET", "k", "v")
    for cursor in ("0", " 0", "+0", "-0", "00", "\t0"):
        d("SCAN", cursor)


def test_parse_cursor_unit():
    assert parse_cursor(b"0") == 0
    assert parse_cursor(b"18446744073709551615") == 2**64 - 1
    assert parse_cursor(b" -1") == 2**64 - 1  # strtoull wraps a negative that string2ll refused
    assert parse_cursor(b"-18446744073709551615") == 1
    for bad in (b"-1", b"", b"1 ", b"0x10", b"18446744073709551616", b"+", b"-"):
        with pytest.raises(ErrorReply):
            parse_cursor(bad)


def test_small_database_in_one_call(d):
    d("SCAN", "0")
    keys = [f"key:{i}" for i in range(8)]
    for key in keys:
        d("SET", key, "v")
    d("RPUSH", "list", "a")
    for options in ((), ("MATCH", "key:[0-3]"), ("TYPE", "string"), ("TYPE", "LIST"), ("TYPE", "hash"),
                    ("MATCH", "*"), ("COUNT", "100"), ("MATCH", "nothing*")):
        ours, theirs = d.both("SCAN", "0", *options)
        ours, theirs = parse(ours), parse(theirs)
        assert ours[0] == theirs[0] == b"0", options
        assert sorted(ours[1]) == sorted(theirs[1]), options


def test_full_iteration_matches_oracle(diff):
    for i in range(300):
        diff("SET", f"s:{i}", "v")
    for i in range(40):
        diff("RPUSH", f"l:{i}", "a")
    for options in ((), ("COUNT", "7"), ("MATCH", "s:1*"), ("TYPE", "list", "COUNT", "13"),
                    ("MATCH", "l:*", "TYPE", "string"), ("COUNT", "1000")):
        ours = full_scan(diff.ours, *options)
        theirs = full_scan(diff.theirs, *options)
        assert sorted(set(ours)) == sorted(set(theirs)), options
        assert len(ours) == len(set(ours)), "no repeats without concurrent changes"


def test_count_bounds_each_page(r):
    for i in range(100):
        r("SET", f"k{i}", "v")
    cursor, keys = parse(r("SCAN", "0", "COUNT", "10"))
    assert cursor != b"0" and len(keys) == 10
    cursor, keys = parse(r("SCAN", cursor, "COUNT", "25"))
    assert len(keys) == 25


def test_guarantee_under_concurrent_writes(r):
    rng = random.Random(7)
    stable = {f"stable:{i}".encode() for i in range(1000)}
    for key in stable:
        r("SET", key, "v")
    for i in range(300):
        r("SET", f"tmp:{i}", "v")
    seen: list[bytes] = []
    cursor = b"0"
    added = 0
    calls = 0
    while True:
        cursor, keys = parse(r("SCAN", cursor, "COUNT", "17"))
        seen.extend(keys)
        calls += 1
        # Mutate between calls: delete temporary keys, add new ones, rewrite stable ones.
        for _ in range(5):
            r("DEL", f"tmp:{rng.randrange(300)}")
            r("SET", f"new:{added}", "v")
            added += 1
            r("SET", f"stable:{rng.randrange(1000)}", "changed")
        if cursor == b"0":
            break
        assert calls < 1000
    assert stable <= set(seen)
    for key in seen:
        assert key.startswith((b"stable:", b"tmp:", b"new:"))


def test_deleted_keys_are_not_returned(r):
    for i in range(100):
        r("SET", f"k{i}", "v")
    cursor, _first = parse(r("SCAN", "0", "COUNT", "10"))
    r("FLUSHDB")
    r("SET", "other", "v")
    rest = full_scan(r, start=cursor)
    # The old snapshot went away with FLUSHDB: the scan restarts and sees the new content only.
    assert set(rest) <= {b"other"}


def test_unknown_cursor_restarts_safely(r):
    keys = {f"k{i}".encode() for i in range(50)}
    for key in keys:
        r("SET", key, "v")
    for cursor in (b"12345", b"18446744073709551615", b"%d" % (5 << 32 | 3)):
        assert keys <= set(full_scan(r, "COUNT", "7", start=cursor))


def test_many_concurrent_scans_all_finish(r):
    keys = {f"k{i}".encode() for i in range(200)}
    for key in keys:
        r("SET", key, "v")
    cursors = [b"0"] * 40
    results: list[set[bytes]] = [set() for _ in cursors]
    done = [False] * len(cursors)
    for _ in range(400):
        for i, cursor in enumerate(cursors):
            if done[i]:
                continue
            cursors[i], found = parse(r("SCAN", cursor, "COUNT", "20"))
            results[i].update(found)
            done[i] = cursors[i] == b"0"
        if all(done):
            break
    assert all(done)
    assert all(result == keys for result in results)


def test_expired_keys_skipped_and_deleted(d):
    d("SET", "live", "v")
    d("SET", "dead1", "v", "PX", "1")
    d("SET", "dead2", "v", "PX", "1")
    d("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        time.sleep(0.02)
        d("DBSIZE")
        d("SCAN", "0")
        d("DBSIZE")
    finally:
        d("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_expired_keys_skipped_in_large_scan(r):
    for i in range(100):
        r("SET", f"live:{i}", "v")
    for i in range(100):
        r("SET", f"dead:{i}", "v", "PX", "1")
    time.sleep(0.02)
    found = full_scan(r, "COUNT", "30")
    assert len(found) == 100 and all(key.startswith(b"live:") for key in found)


def test_scan_cursor_is_bulk_string(d):
    d("SET", "k", "v")
    d("SCAN", "0", "COUNT", "5")


def test_evicted_scans_resume_without_skipping_in_process():
    """More interleaved scans than the snapshot table holds, with deletions and re-insertions
    between steps: every key present throughout is still returned by every scan."""
    from pyvalkey.clock import Clock
    from pyvalkey.storage.database import Keyspace
    from pyvalkey.storage.scan import ScanOptions, scan_keys

    rng = random.Random(3)
    db = Keyspace(Clock()).dbs[0]
    stable = [b"stable:%d" % i for i in range(300)]
    churn = [b"churn:%d" % i for i in range(300)]
    for i in range(300):
        db.add(churn[i], b"v")
        db.add(stable[i], b"v")
    options = ScanOptions()
    options.count = 9
    scans = 40
    cursors = [0] * scans
    seen: list[set[bytes]] = [set() for _ in range(scans)]
    started = [False] * scans
    for _ in range(5000):
        active = [i for i in range(scans) if not started[i] or cursors[i]]
        if not active:
            break
        i = rng.choice(active)
        started[i] = True
        cursors[i], found = scan_keys(db, cursors[i], options)
        seen[i].update(found)
        # Churn: delete some keys (shifting positions) and re-add others at the end.
        key = rng.choice(churn)
        if key in db.data:
            db.delete(key)
        else:
            db.add(key, b"v")
    assert all(started) and not any(cursors)
    for result in seen:
        assert set(stable) <= result
