"""Last-access clocks kept as runs (storage/database.py): every key's clock must be exactly what
an explicit key -> clock map would hold, through any mix of writes, reads, removals, renames,
flushes and SWAPDB, and the memory saving must hold for keys written once.

The model is the previous representation (an explicit dict updated on every touch); the server
side is checked against Valkey with the ``diff`` fixture where the values are deterministic.
"""

from __future__ import annotations

import random
from typing import Any

from pyvalkey.clock import Clock
from pyvalkey.storage.database import Database, Keyspace


def _implied(db: Database) -> dict[bytes, int]:
    """Every key's clock as the database holds it, without converting it (test-side derivation)."""
    out: dict[bytes, int] = {}
    clock = None
    for key in db.data:
        start = db.runs.get(key)
        if start is not None:
            clock = start
        explicit = dict.get(db.access, key)
        if explicit is not None:
            out[key] = explicit
        elif clock is not None:
            out[key] = clock
    return out


def _check_invariants(db: Database) -> None:
    assert all(key in db.data for key in db.runs)
    assert all(key in db.data for key in dict.keys(db.access))
    if not db.implicit_access:
        assert not db.runs and db.run_clock == -1


def _run_random(seed: int, steps: int, keys: int, readers: bool = True) -> None:
    """Random operations checked against the model; ``readers`` False leaves out the operations
    that read clocks (and so convert the database)."""
    rng = random.Random(seed)
    ks = Keyspace(Clock(), databases=2)
    db = ks.dbs[0]
    model: dict[bytes, int] = {}
    names = [b"k%d" % i for i in range(keys)]
    for step in range(steps):
        if rng.random() < 0.15:
            ks.lru_clock += rng.choice((1, 1, 2, 100))
        clock = ks.lru_clock
        op = rng.random()
        key = rng.choice(names)
        if op < 0.35:
            db.set(key, b"v")
            model[key] = clock
        elif op < 0.45:
            if key not in db.data:
                db.add(key, b"v")
                model[key] = clock
        elif op < 0.6:
            if db.lookup_read(key) is not None:
                model[key] = clock
        elif op < 0.8:
            db.delete(key)
            model.pop(key, None)
        elif op < 0.85 and readers:
            # RENAME's moves, as commands/keys.py does them
            target = rng.choice(names)
            value = db.lookup_write(key)
            if value is not None:
                model[key] = clock  # lookup_write touches
            if value is not None and target != key:
                if target in db.data:
                    db.remove(target)
                    model.pop(target, None)
                access = db.access.get(key)
                db.remove(key)
                db.add(target, value)
                if access is not None:
                    db.access[target] = access
                del model[key]
                model[target] = access if access is not None else clock
        elif op < 0.86 and readers:
            assert db.access.get(key) == model.get(key)
        elif op < 0.87 and (readers or keys < 50):
            db.clear()
            model.clear()
        elif op < 0.88:
            ks.dbs[0].swap_contents(ks.dbs[1])
            ks.dbs[0].swap_contents(ks.dbs[1])
        if step % 50 == 0:
            _check_invariants(db)
            assert _implied(db) == model, (seed, step)
    _check_invariants(db)
    assert _implied(db) == model
    if readers:
        for key in names:
            assert db.access.get(key) == model.get(key)
        assert _implied(db) == model


def test_runs_match_an_explicit_map_small_keyspace() -> None:
    for seed in range(30):
        _run_random(seed, 600, 8)


def test_runs_match_an_explicit_map_without_readers() -> None:
    # Only writes, reads of values and removals (nothing reads a clock).
    for seed in range(20):
        _run_random(500 + seed, 1500, 12, readers=False)
    for seed in range(3):
        _run_random(700 + seed, 3000, 300, readers=False)


def test_runs_match_an_explicit_map_large_keyspace() -> None:
    # More keys than the neighbour budget, so run starts deep in the dict force a conversion.
    for seed in range(4):
        _run_random(1000 + seed, 4000, 400)


def test_new_keys_cost_no_access_entry() -> None:
    ks = Keyspace(Clock())
    db = ks.dbs[0]
    for second in range(5):
        ks.lru_clock = 1000 + second
        for i in range(40):
            db.set(b"key:%d:%d" % (second, i), b"value")
    assert len(dict.keys(db.access)) == 0
    assert len(db.runs) == 5
    assert db.access.get(b"key:4:30") == 1004  # near the end: from its run
    assert db.access.get(b"missing") is None
    assert db.implicit_access and len(dict.keys(db.access)) == 0
    assert db.access.get(b"key:2:20") == 1002
    # A clock deep inside was asked for: the database converted to explicit entries.
    assert not db.implicit_access and len(dict.keys(db.access)) == 200


def test_transient_keys_keep_runs() -> None:
    # A key written and deleted again (locks, temporary keys) ends its run: no conversion.
    ks = Keyspace(Clock())
    db = ks.dbs[0]
    ks.lru_clock = 10
    db.set(b"a", b"v")
    db.set(b"b", b"v")
    for second in range(11, 15):
        ks.lru_clock = second
        db.set(b"lock", b"v")
        assert db.runs[b"lock"] == second
        db.delete(b"lock")
        assert b"lock" not in db.runs
    ks.lru_clock = 20
    db.set(b"c", b"v")
    assert db.implicit_access and len(dict.keys(db.access)) == 0
    assert _implied(db) == {b"a": 10, b"b": 10, b"c": 20}


def test_removing_a_run_start_with_followers_converts_once() -> None:
    # Keys expiring oldest first: the first removal converts, later ones cost a dict pop.
    ks = Keyspace(Clock())
    db = ks.dbs[0]
    for second in range(3):
        ks.lru_clock = 10 + second
        for i in range(3):
            db.set(b"%d-%d" % (second, i), b"v")
    db.delete(b"0-0")
    assert not db.implicit_access and not db.runs
    assert _implied(db) == {b"0-1": 10, b"0-2": 10, b"1-0": 11, b"1-1": 11, b"1-2": 11, b"2-0": 12, b"2-1": 12,
                            b"2-2": 12}
    ks.lru_clock = 13
    db.set(b"new", b"v")
    assert dict.get(db.access, b"new") == 13


def test_fifo_removal_is_linear() -> None:
    import time

    ks = Keyspace(Clock())
    db = ks.dbs[0]
    keys = [b"key:%d" % i for i in range(100_000)]
    for n, key in enumerate(keys):
        ks.lru_clock = 1000 + n // 1000
        db.set(key, b"v")
    started = time.perf_counter()
    for key in keys:
        db.remove(key)
    # Linear: well under a second (a walk of the dict per removed run start took minutes).
    assert time.perf_counter() - started < 2.0


def test_touch_all_after_a_load() -> None:
    ks = Keyspace(Clock())
    db = ks.dbs[0]
    for i in range(10):
        db.data[b"k%d" % i] = b"v"  # as the RDB loader inserts
    db.touch_all(77)
    ks.lru_clock = 78
    db.set(b"later", b"v")
    implied = _implied(db)
    assert all(implied[b"k%d" % i] == 77 for i in range(10)) and implied[b"later"] == 78


def _fresh_idle(diff: Any, key: str) -> None:
    """OBJECT IDLETIME of a key written just now: 0 on both servers, or 1 where a second
    boundary fell between the write and the read (a loaded machine makes that likelier)."""
    mine, real = diff.both("OBJECT", "IDLETIME", key)
    assert mine in (b":0\r\n", b":1\r\n") and real in (b":0\r\n", b":1\r\n"), (mine, real)


def test_object_idletime_and_debug_object(diff: Any) -> None:
    # Fresh keys read as idle 0 on both servers; DEBUG OBJECT's lru_seconds_idle too.
    diff("FLUSHALL")
    for i in range(20):
        diff("SET", f"k{i}", "v")
    _fresh_idle(diff, "k5")
    _fresh_idle(diff, "k19")
    diff("DEL", "k0")
    diff("RENAME", "k1", "k1b")
    _fresh_idle(diff, "k1b")
    diff("OBJECT", "IDLETIME", "nokey")
    diff("FLUSHALL")


def _bulk(reply: bytes) -> bytes:
    header, _, rest = reply.partition(b"\r\n")
    assert header.startswith(b"$")
    return rest[: int(header[1:])]


def test_restore_idletime_swapdb_and_move(diff: Any) -> None:
    diff("SET", "a", "1")
    payload = _bulk(diff("DUMP", "a"))
    diff("RESTORE", "b", "0", payload, "IDLETIME", "1000")
    mine, real = diff.both("OBJECT", "IDLETIME", "b")
    # Both servers count from the same restore; a second may tick between the two calls.
    assert mine in (b":1000\r\n", b":1001\r\n") and real in (b":1000\r\n", b":1001\r\n")
    diff("SELECT", "1")
    diff("SET", "c", "v")
    diff("SWAPDB", "0", "1")
    diff("OBJECT", "IDLETIME", "c")  # nil: db 1 now holds what db 0 held (a, b)
    diff("SELECT", "0")
    diff("OBJECT", "IDLETIME", "c")
    mine, real = diff.both("OBJECT", "IDLETIME", "b")  # b moved to db 1 with the swap
    assert mine == real == b"$-1\r\n"
    diff("MOVE", "c", "2")
    diff("SELECT", "2")
    diff("OBJECT", "IDLETIME", "c")
    mine, _ = diff.both("DEBUG", "OBJECT", "c")
    assert b" lru_seconds_idle:0" in mine
    diff("SELECT", "1")
    mine, real = diff.both("OBJECT", "IDLETIME", "b")
    assert mine in (b":1000\r\n", b":1001\r\n") and real in (b":1000\r\n", b":1001\r\n")
