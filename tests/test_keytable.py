"""KeyTable (pyvalkey/_speedups/keytable.pyx), the keyspace's compact table, against its twin:
every operation the server uses gives what a dict gives, in the same order.

Without a compiled build there is no KeyTable (databases use dicts) and these cases skip."""

from __future__ import annotations

import copy
import pickle
import random
import sys
from typing import Any

import pytest

from pyvalkey import _speedups

KEYTABLE = _speedups.compiled_keytable()
pytestmark = pytest.mark.skipif(KEYTABLE is None, reason="the compiled accelerator is not built")


def new_table() -> Any:
    assert KEYTABLE is not None
    return KEYTABLE.KeyTable()


def outcome(call: Any) -> Any:
    """What ``call()`` returned, or the type and arguments of what it raised."""
    try:
        return ("ok", call())
    except Exception as exc:  # noqa: BLE001  (comparing exceptions is the point)
        return ("raised", type(exc), exc.args)


def same_contents(table: Any, twin: dict[Any, Any]) -> None:
    assert len(table) == len(twin)
    assert bool(table) == bool(twin)
    assert list(table) == list(twin)
    assert list(reversed(table)) == list(reversed(twin))
    assert list(table.keys()) == list(twin.keys())
    assert list(table.values()) == list(twin.values())
    assert list(table.items()) == list(twin.items())


@pytest.mark.parametrize("seed", range(12))
def test_random_operations_match_a_dict(seed: int) -> None:
    rng = random.Random(seed)
    table, twin = new_table(), {}
    universe = rng.choice([4, 40, 400, 4000])
    for _ in range(6000):
        key = b"key:%d" % rng.randrange(universe)
        value = rng.choice([b"v", b"w" * rng.randrange(40), rng.randrange(10**6), None])
        op = rng.randrange(11)
        if op <= 3:
            table[key] = value
            twin[key] = value
        elif op == 4:
            assert outcome(lambda: table.pop(key)) == outcome(lambda: twin.pop(key))
        elif op == 5:
            assert table.pop(key, "gone") == twin.pop(key, "gone")
        elif op == 6:
            assert outcome(lambda: table.__delitem__(key)) == outcome(lambda: twin.__delitem__(key))
        elif op == 7:
            assert outcome(lambda: table[key]) == outcome(lambda: twin[key])
            assert table.get(key) == twin.get(key)
            assert table.get(key, 7) == twin.get(key, 7)
            assert (key in table) == (key in twin)
        elif op == 8:
            assert table.setdefault(key, value) == twin.setdefault(key, value)
        elif op == 9:
            assert next(iter(table), None) == next(iter(twin), None)
            assert next(reversed(table), None) == next(reversed(twin), None)
        elif rng.random() < 0.02:
            table.clear()
            twin.clear()
        assert len(table) == len(twin)
    same_contents(table, twin)


def test_growth_removal_and_refill() -> None:
    """Many keys in, most of them out from the front (as active expiry removes the oldest),
    then new ones: holes are closed and the order stays the insertion order."""
    table, twin = new_table(), {}
    for i in range(50_000):
        table[b"k%d" % i] = i
        twin[b"k%d" % i] = i
    for i in range(0, 50_000, 1):
        if i % 10:
            del table[b"k%d" % i]
            del twin[b"k%d" % i]
        if i % 997 == 0:
            assert next(iter(table)) == next(iter(twin))
    for i in range(50_000, 60_000):
        table[b"k%d" % i] = i
        twin[b"k%d" % i] = i
    same_contents(table, twin)
    for key in list(twin)[::3]:
        del table[key]
        del twin[key]
    same_contents(table, twin)
    assert sys.getsizeof(table) < sys.getsizeof(twin)


def test_newest_key_removed_and_added_again() -> None:
    table, twin = new_table(), {}
    for i in range(1000):
        for store in (table, twin):
            store[b"stay%d" % i] = i
            store[b"tmp"] = i
            del store[b"tmp"]
    same_contents(table, twin)


class Colliding:
    """Keys of another type, all of one hash: the generic comparison path."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 42

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Colliding) and other.name == self.name

    def __repr__(self) -> str:
        return f"Colliding({self.name!r})"


def test_any_hashable_key_and_collisions() -> None:
    table, twin = new_table(), {}
    for i in range(200):
        for store in (table, twin):
            store[Colliding(str(i))] = i
            store["text%d" % i] = i
            store[i] = i
    for i in range(0, 200, 3):
        for store in (table, twin):
            del store[Colliding(str(i))]
    same_contents(table, twin)
    assert table[Colliding("1")] == 1
    assert Colliding("0") not in table
    assert outcome(lambda: table[[1]]) == outcome(lambda: twin[[1]])  # unhashable: TypeError


def test_changing_size_while_iterating_raises_as_a_dict_does() -> None:
    table = new_table()
    for i in range(10):
        table[b"k%d" % i] = i
    walk = iter(table)
    next(walk)
    table[b"new"] = 1
    with pytest.raises(RuntimeError, match="changed size during iteration"):
        next(walk)
    with pytest.raises(RuntimeError):
        next(walk)
    items = iter(table.items())
    next(items)
    table.clear()
    with pytest.raises(RuntimeError):
        next(items)
    # A value replaced meanwhile is no change of size: the walk goes on and sees it.
    table[b"a"], table[b"b"] = 1, 2
    walk = iter(table.items())
    assert next(walk) == (b"a", 1)
    table[b"b"] = 3
    assert list(walk) == [(b"b", 3)]


def test_copies_and_dict_conversion() -> None:
    table = new_table()
    for i in range(100):
        table[b"k%d" % i] = [i]
    for clone in (pickle.loads(pickle.dumps(table)), copy.copy(table), copy.deepcopy(table)):
        assert type(clone) is type(table)
        assert list(clone.items()) == list(table.items())
    assert dict(table) == {b"k%d" % i: [i] for i in range(100)}
    # Equality as dicts have it: same items in any order, against dicts and tables alike.
    shuffled = new_table()
    for i in reversed(range(100)):
        shuffled[b"k%d" % i] = [i]
    assert table == shuffled and shuffled == dict(table) and dict(table) == shuffled
    shuffled[b"k0"] = [1]
    assert table != shuffled and not (table == {}) and table != [1]
    with pytest.raises(TypeError):
        hash(table)
    assert "b'k0': [0]" in repr(table)


def test_values_are_released() -> None:
    import gc
    import weakref

    class Value:
        pass

    table = new_table()
    held = Value()
    probe = weakref.ref(held)
    table[b"k"] = held
    del held
    gc.collect()
    assert probe() is not None
    table[b"k"] = b"replaced"
    assert probe() is None
    held = Value()
    probe = weakref.ref(held)
    table[b"k2"] = held
    del held
    del table
    gc.collect()
    assert probe() is None


def test_databases_use_the_chosen_table() -> None:
    """A database (and a flushed one) gets the table of the implementation chosen when it was
    made; both kinds serve the same operations."""
    from pyvalkey.clock import Clock
    from pyvalkey.storage.database import Keyspace

    assert KEYTABLE is not None
    before = _speedups.IMPLEMENTATION
    try:
        for implementation, kind in (("python", dict), ("compiled", KEYTABLE.KeyTable)):
            _speedups.use(implementation)
            db = Keyspace(Clock(), databases=1).dbs[0]
            assert type(db.data) is kind
            db.set(b"k", b"v")
            assert db.lookup(b"k") == b"v"
            assert db.clear() == 1
            assert type(db.data) is kind
    finally:
        _speedups.use(before)


# -- DeadlineHeap (the expiry heap) against its twin, pyvalkey/storage/deadlines.py ----------------


def _heaps() -> tuple[Any, Any]:
    from pyvalkey.storage.deadlines import DeadlineHeap

    assert KEYTABLE is not None
    return KEYTABLE.DeadlineHeap(), DeadlineHeap()


@pytest.mark.parametrize("seed", range(8))
def test_deadline_heap_pops_as_its_twin(seed: int) -> None:
    """Random pushes (many equal deadlines, so key order decides; repeated keys), pops up to
    moving times and rebuilds: the same entries in the same order."""
    rng = random.Random(seed)
    compiled, twin = _heaps()
    now = 1_700_000_000_000
    live: dict[Any, int] = {}
    for _ in range(4000):
        op = rng.random()
        if op < 0.55:
            key = b"k%d" % rng.randrange(300) + b"x" * rng.randrange(3)
            deadline = now + rng.choice([0, 1, 1, 5, 1000, -3]) + rng.randrange(3)
            compiled.push(deadline, key)
            twin.push(deadline, key)
            live[key] = deadline
        elif op < 0.95:
            now += rng.randrange(4)
            while True:
                got, expected = compiled.pop_due(now), twin.pop_due(now)
                assert got == expected
                if got is None:
                    break
        else:
            compiled.rebuild(live)
            twin.rebuild(live)
        assert len(compiled) == len(twin)
    drained = []
    while (entry := compiled.pop_due(2**62)) is not None:
        drained.append(entry)
        assert entry == twin.pop_due(2**62)
    assert drained == sorted(drained) and len(compiled) == len(twin) == 0


def test_deadline_heap_keys_of_other_types_and_limits() -> None:
    compiled, twin = _heaps()
    for heap in (compiled, twin):
        for key in ("b", "a", 3, 1):  # same deadline: keys compare among their own type
            heap.push(5, key) if not isinstance(key, int) else heap.push(6, key)
    assert [compiled.pop_due(10) for _ in range(5)] == [twin.pop_due(10) for _ in range(5)]
    with pytest.raises(OverflowError):
        compiled.push(2**63, b"k")
    assert len(compiled) == 0
    compiled.push(7, b"k")
    assert compiled.pop_due(6) is None and compiled.pop_due(7) == (7, b"k")
    for i in range(1000):
        compiled.push(i, b"key:%d" % i)
        twin.push(i, b"key:%d" % i)
    tuples = sum(sys.getsizeof(entry) for entry in twin.entries)
    assert sys.getsizeof(compiled) < 16 * 1000 * 2 < sys.getsizeof(twin.entries) + tuples


def test_deadline_heap_releases_its_keys() -> None:
    compiled, _ = _heaps()
    key = b"a key nobody else holds" + b"!"
    before = sys.getrefcount(key)
    compiled.push(1, key)
    compiled.push(2, key)
    assert sys.getrefcount(key) == before + 2
    popped = compiled.pop_due(1)
    assert sys.getrefcount(key) == before + 2  # one in the heap, one in ``popped``
    assert popped == (1, key)
    del popped
    assert sys.getrefcount(key) == before + 1
    compiled.rebuild({})
    assert sys.getrefcount(key) == before
    compiled.push(3, key)
    del compiled
    assert sys.getrefcount(key) == before


# -- DeadlineTable: key -> deadline with int64 values inline ----------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_deadline_table_matches_a_dict(seed: int) -> None:
    assert KEYTABLE is not None
    rng = random.Random(seed)
    table, twin = KEYTABLE.DeadlineTable(), {}
    for _ in range(5000):
        key = b"k%d" % rng.randrange(500)
        op = rng.randrange(6)
        if op <= 2:
            deadline = rng.choice([0, -1, 1, 2**63 - 1, -(2**63), rng.randrange(10**13)])
            table[key] = deadline
            twin[key] = deadline
        elif op == 3:
            assert table.pop(key, None) == twin.pop(key, None)
        elif op == 4:
            assert table.get(key) == twin.get(key) and (key in table) == (key in twin)
        else:
            assert outcome(lambda: table[key]) == outcome(lambda: twin[key])
    same_contents(table, twin)
    assert table == twin and type(table[next(iter(twin))]) is int
    clone = pickle.loads(pickle.dumps(table))
    assert type(clone) is type(table) and clone == twin


def test_deadline_table_refuses_what_is_not_an_int64_and_stays_unchanged() -> None:
    assert KEYTABLE is not None
    table = KEYTABLE.DeadlineTable()
    table[b"k"] = 5
    for bad, error in ((2**63, OverflowError), (-(2**63) - 1, OverflowError), (b"5", TypeError), (1.5, TypeError)):
        with pytest.raises(error):
            table[b"k"] = bad
        with pytest.raises(error):
            table[b"new"] = bad
        assert dict(table) == {b"k": 5}
    assert repr(table) == "DeadlineTable({b'k': 5})"
    assert sys.getsizeof(table) < sys.getsizeof({b"k": 5}) * 2
