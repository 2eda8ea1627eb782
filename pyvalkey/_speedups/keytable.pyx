# cython: language_level=3, boundscheck=False, wraparound=False
"""The keyspace's compact tables: ``KeyTable`` and ``DeadlineTable`` (below) and
``DeadlineHeap`` (at the end).

``KeyTable``: the keyspace's key -> value table, a compact stand-in for ``dict``.

A database holds one entry per key, so the table's own cost per key counts: with 1M small
string keys a ``dict`` spends about 42 bytes a key on its table (24-byte entries, preallocated
for two thirds of a power-of-two index, plus the index). This table keeps

* ``entries``: (key, value) pairs, 16 bytes each, in insertion order, grown by a quarter when
  full (large blocks are reallocated in place by the C library, without copying); a removed
  key leaves a hole (key NULL) until the next rebuild;
* ``slots``: an open-addressing index of 32-bit entry numbers (EMPTY, REMOVED or the entry),
  a power of two at most two thirds full, probed as CPython's dict probes its index.

Hashes are not stored: keys are ``bytes``, which cache their hash, so a rebuild asks the key
again (keys are allocated in insertion order, so the walk is mostly sequential). That comes to
about 25 bytes a key instead of 42. Keys of other hashable types work too (compared with ``==``),
as with a dict.

The table behaves as the subset of ``dict`` the server uses: ``[]``, ``get``, ``pop``, ``in``,
``len``, iteration in insertion order (``reversed`` too), ``keys``/``values``/``items``
(iterators, not views), ``clear``; changing its size while iterating raises RuntimeError, as a
dict does. Its pure-Python twin is ``dict`` itself (``pyvalkey._speedups.new_keytable``).

``DeadlineTable`` is a KeyTable whose values are deadlines (ms) kept as int64 in the entries
(a database's ``expires``). The compiled request lane (lane.pyx) reads and writes the tables
through the C functions in the capsule ``_C_API`` (``table_find``, ``table_store``,
``table_remove``, ``table_find_number``) instead of Python calls.
"""

from cpython.object cimport PyObject, PyObject_Hash, PyObject_RichCompareBool, Py_EQ, Py_LT
from cpython.ref cimport Py_INCREF, Py_DECREF, Py_XDECREF
from cpython.bytes cimport PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.pycapsule cimport PyCapsule_New
from cpython.mem cimport PyMem_RawMalloc, PyMem_RawRealloc, PyMem_RawFree
from libc.stdint cimport int32_t, intptr_t, INT32_MAX
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLongLong
from libc.string cimport memcmp, memset


cdef extern from "Python.h":
    ctypedef Py_ssize_t Py_hash_t


cdef enum:
    EMPTY = -1
    REMOVED = -2
    MIN_SLOTS = 8


ctypedef struct Entry:
    PyObject* key  # NULL: removed
    PyObject* value  # an object reference; in a DeadlineTable, the deadline's int64 bits


ctypedef struct KeyTableAPI:
    int (*find)(object, object, PyObject**) except -1
    int (*store)(object, object, object) except -1
    int (*remove)(object, object) except -1
    int (*find_number)(object, object, long long*) except -1


_MISSING = object()


cdef inline bint _same_key(PyObject* stored, object key, Py_hash_t hash_value) except -1:
    """``stored`` (a different object) equals ``key`` whose hash is ``hash_value``."""
    cdef object other = <object>stored
    cdef Py_ssize_t size
    if PyBytes_CheckExact(other) and PyBytes_CheckExact(key):
        size = PyBytes_GET_SIZE(key)
        if PyBytes_GET_SIZE(other) != size:
            return False
        if PyObject_Hash(other) != hash_value:  # cached by bytes: no rehash
            return False
        return memcmp(PyBytes_AS_STRING(other), PyBytes_AS_STRING(key), size) == 0
    if PyObject_Hash(other) != hash_value:
        return False
    return PyObject_RichCompareBool(other, key, Py_EQ)


cdef class KeyTable:
    cdef Entry* entries
    cdef Py_ssize_t used  # entries in use, holes included
    cdef Py_ssize_t capacity  # entries allocated
    cdef Py_ssize_t live  # keys present
    cdef Py_ssize_t start  # no key before this entry (a hint, kept by removals at the front)
    cdef int32_t* slots
    cdef Py_ssize_t mask  # slot count - 1 (slots is NULL while the table never held a key)
    cdef Py_ssize_t filled  # slots not EMPTY

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        cdef Entry* entries = self.entries
        cdef Py_ssize_t used = self.used, i
        self.entries = NULL
        self.used = self.capacity = self.live = self.start = self.filled = 0
        PyMem_RawFree(self.slots)
        self.slots = NULL
        self.mask = 0
        # Dropped after the table is consistent: a value's finaliser may look at the table.
        for i in range(used):
            if entries[i].key != NULL:
                self._forget(entries[i].value)
                Py_DECREF(<object>entries[i].key)
        PyMem_RawFree(entries)

    # -- values: objects here, int64 numbers in DeadlineTable --------------------------------------

    cdef PyObject* _keep(self, object value) except? NULL:
        """The stored form of ``value`` (a reference the table owns)."""
        Py_INCREF(value)
        return <PyObject*>value

    cdef object _give(self, PyObject* stored):
        """The Python value of a stored form."""
        return <object>stored

    cdef void _forget(self, PyObject* stored) noexcept:
        """Drop a stored form."""
        Py_XDECREF(stored)

    # -- the index -------------------------------------------------------------------------------

    cdef Py_ssize_t _lookup(self, object key, Py_hash_t hash_value, Py_ssize_t* slot_out) except -2:
        """The entry of ``key`` (its slot in ``slot_out``), or -1 with ``slot_out`` the slot a
        new key would take (the first REMOVED slot met, else the EMPTY one ending the probe)."""
        cdef size_t mask = <size_t>self.mask
        cdef size_t perturb = <size_t>hash_value
        cdef size_t i = <size_t>hash_value & mask
        cdef Py_ssize_t free_slot = -1
        cdef int32_t index
        cdef PyObject* stored
        if self.slots == NULL:
            slot_out[0] = -1
            return -1
        while True:
            index = self.slots[i]
            if index == EMPTY:
                slot_out[0] = free_slot if free_slot >= 0 else <Py_ssize_t>i
                return -1
            if index == REMOVED:
                if free_slot < 0:
                    free_slot = <Py_ssize_t>i
            else:
                stored = self.entries[index].key
                if stored == <PyObject*>key:
                    slot_out[0] = <Py_ssize_t>i
                    return index
                Py_INCREF(<object>stored)  # an __eq__ of some key type may change the table
                try:
                    if _same_key(stored, key, hash_value):
                        slot_out[0] = <Py_ssize_t>i
                        return index
                finally:
                    Py_DECREF(<object>stored)
                if self.slots == NULL or <size_t>self.mask != mask:
                    return self._lookup(key, hash_value, slot_out)  # rebuilt meanwhile: again
            perturb >>= 5
            i = (i * 5 + perturb + 1) & mask

    cdef int _rebuild(self, Py_ssize_t slot_count) except -1:
        """Drop the holes from ``entries`` (keeping the order) and index them in
        ``slot_count`` slots."""
        cdef int32_t* slots
        cdef Py_ssize_t i, kept = 0
        cdef size_t mask, perturb, position
        cdef Py_hash_t hash_value
        for i in range(self.start, self.used):
            if self.entries[i].key != NULL:
                self.entries[kept] = self.entries[i]
                kept += 1
        self.used = kept
        self.start = 0
        slots = <int32_t*>PyMem_RawMalloc(slot_count * sizeof(int32_t))
        if slots == NULL:
            raise MemoryError()
        memset(slots, 0xFF, slot_count * sizeof(int32_t))  # all EMPTY (-1)
        PyMem_RawFree(self.slots)
        self.slots = slots
        self.mask = slot_count - 1
        self.filled = kept
        mask = <size_t>self.mask
        for i in range(kept):
            hash_value = PyObject_Hash(<object>self.entries[i].key)  # hashed before: cannot fail
            perturb = <size_t>hash_value
            position = <size_t>hash_value & mask
            while slots[position] != EMPTY:
                perturb >>= 5
                position = (position * 5 + perturb + 1) & mask
            slots[position] = <int32_t>i
        return 0

    cdef int _make_room(self) except -1:
        """Room for one more key: a free entry at the end, and the index at most two thirds
        full after it. 1 when the index was rebuilt (slots found before are stale)."""
        cdef Py_ssize_t slot_count, capacity
        cdef Entry* grown
        cdef int rebuilt = 0
        if (self.filled + 1) * 3 > (self.mask + 1) * 2 or self.slots == NULL:
            slot_count = MIN_SLOTS
            while slot_count * 2 < (self.live + 1) * 4:  # at most half full once rebuilt
                slot_count *= 2
            self._rebuild(slot_count)
            rebuilt = 1
        if self.used == self.capacity:
            if self.live < self.used - self.used // 8:
                # Mostly holes after many removals: close them instead of growing.
                self._rebuild(self.mask + 1)
                return 1
            capacity = self.capacity + self.capacity // 4 + 4
            if capacity > INT32_MAX:
                raise MemoryError("too many keys for one table")
            grown = <Entry*>PyMem_RawRealloc(self.entries, capacity * sizeof(Entry))
            if grown == NULL:
                raise MemoryError()
            self.entries = grown
            self.capacity = capacity
        return rebuilt

    # -- the C API (also used by the Python methods) -----------------------------------------------

    cdef Py_ssize_t index_of(self, object key) except -2:
        """The entry of ``key``, or -1 when it is absent."""
        cdef Py_ssize_t slot
        return self._lookup(key, PyObject_Hash(key), &slot)

    cdef int store(self, object key, object value) except -1:
        """``table[key] = value``: 1 when the key is new, 0 when it replaced a value."""
        cdef Py_hash_t hash_value = PyObject_Hash(key)
        cdef Py_ssize_t slot
        cdef Py_ssize_t index = self._lookup(key, hash_value, &slot)
        cdef PyObject* old
        cdef PyObject* stored = self._keep(value)  # first: a value it refuses changes nothing
        if index >= 0:
            old = self.entries[index].value
            self.entries[index].value = stored
            self._forget(old)
            return 0
        try:
            if self._make_room() or slot < 0:
                self._lookup(key, hash_value, &slot)
        except BaseException:
            self._forget(stored)
            raise
        index = self.used
        if self.slots[slot] == EMPTY:
            self.filled += 1
        self.slots[slot] = <int32_t>index
        Py_INCREF(key)
        self.entries[index].key = <PyObject*>key
        self.entries[index].value = stored
        self.used = index + 1
        self.live += 1
        return 1

    cdef object take(self, object key, object default):
        """Remove ``key`` and return its value; ``default`` when absent (``_MISSING``: KeyError)."""
        cdef Py_ssize_t slot
        cdef Py_ssize_t index = self._lookup(key, PyObject_Hash(key), &slot)
        cdef PyObject* old_key
        cdef object value
        if index < 0:
            if default is _MISSING:
                raise KeyError(key)
            return default
        old_key = self.entries[index].key
        value = self._give(self.entries[index].value)
        self._forget(self.entries[index].value)
        self.entries[index].key = NULL
        self.entries[index].value = NULL
        self.slots[slot] = REMOVED
        self.live -= 1
        if index == self.used - 1:
            # The newest entry: give the space back (keeps append-and-remove patterns tidy).
            while self.used > self.start and self.entries[self.used - 1].key == NULL:
                self.used -= 1
        if index == self.start:
            while self.start < self.used and self.entries[self.start].key == NULL:
                self.start += 1
        if self.live == 0:
            self.used = self.start = 0
        Py_DECREF(<object>old_key)
        return value

    # -- the dict interface ------------------------------------------------------------------------

    def __len__(self):
        return self.live

    def __contains__(self, key):
        cdef Py_ssize_t slot
        return self._lookup(key, PyObject_Hash(key), &slot) >= 0

    def __getitem__(self, key):
        cdef Py_ssize_t index = self.index_of(key)
        if index < 0:
            raise KeyError(key)
        return self._give(self.entries[index].value)

    def __setitem__(self, key, value):
        self.store(key, value)

    def __delitem__(self, key):
        self.take(key, _MISSING)

    def get(self, key, default=None):
        cdef Py_ssize_t index = self.index_of(key)
        if index < 0:
            return default
        return self._give(self.entries[index].value)

    def pop(self, key, default=_MISSING):
        return self.take(key, default)

    def setdefault(self, key, default=None):
        cdef Py_ssize_t index = self.index_of(key)
        if index >= 0:
            return self._give(self.entries[index].value)
        self.store(key, default)
        return default

    def clear(self):
        self._release()

    def __iter__(self):
        return _Walk(self, _KEYS, False)

    def __reversed__(self):
        return _Walk(self, _KEYS, True)

    def keys(self):
        return _Walk(self, _KEYS, False)

    def values(self):
        return _Walk(self, _VALUES, False)

    def items(self):
        return _Walk(self, _ITEMS, False)

    def __eq__(self, other):
        """As dicts compare: the same keys with equal values, in any order (dicts too)."""
        if not isinstance(other, (KeyTable, dict)):
            return NotImplemented
        if len(other) != self.live:
            return False
        for key, value in self.items():
            found = other.get(key, _MISSING)
            if found is _MISSING or not (found is value or found == value):
                return False
        return True

    def __sizeof__(self):
        return sizeof(KeyTable) + self.capacity * sizeof(Entry) + (
            (self.mask + 1) * sizeof(int32_t) if self.slots != NULL else 0)

    def __repr__(self):
        return "%s({%s})" % (type(self).__name__, ", ".join("%r: %r" % pair for pair in self.items()))

    def __reduce__(self):
        return (_rebuilt, (type(self), list(self.items())))


cdef class DeadlineTable(KeyTable):
    """A KeyTable of key -> deadline (int ms), each deadline kept as an int64 in its entry
    instead of as an int object (32 bytes less a key with a TTL); it refuses values outside
    int64 (OverflowError, TypeError) before changing anything. Its twin is ``dict``."""

    cdef PyObject* _keep(self, object value) except? NULL:
        return <PyObject*><intptr_t>PyLong_AsLongLong(value)

    cdef object _give(self, PyObject* stored):
        return PyLong_FromLongLong(<long long><intptr_t>stored)

    cdef void _forget(self, PyObject* stored) noexcept:
        pass


def _rebuilt(cls, pairs):
    table = cls()
    for key, value in pairs:
        table[key] = value
    return table


cdef enum:
    _KEYS = 0
    _VALUES = 1
    _ITEMS = 2


cdef class _Walk:
    """An iterator over a KeyTable in insertion order (or the reverse)."""
    cdef KeyTable table
    cdef Py_ssize_t position
    cdef Py_ssize_t expected_live
    cdef int kind
    cdef bint backwards

    def __cinit__(self, KeyTable table, int kind, bint backwards):
        self.table = table
        self.kind = kind
        self.backwards = backwards
        self.expected_live = table.live
        self.position = table.used - 1 if backwards else table.start

    def __iter__(self):
        return self

    def __length_hint__(self):
        return self.table.live

    def __next__(self):
        cdef KeyTable table = self.table
        cdef Entry* entry
        if table is None:
            raise StopIteration
        if table.live != self.expected_live:
            self.expected_live = -1  # stays broken, as a dict iterator does
            raise RuntimeError("dictionary changed size during iteration")
        while 0 <= self.position < table.used:
            entry = &table.entries[self.position]
            if self.backwards:
                self.position -= 1
            else:
                self.position += 1
            if entry.key == NULL:
                continue
            if self.kind == _KEYS:
                return <object>entry.key
            if self.kind == _VALUES:
                return table._give(entry.value)
            return (<object>entry.key, table._give(entry.value))
        self.table = None
        raise StopIteration


# -- the C API for the compiled request lane ---------------------------------------------------------


cdef int table_find(object table, object key, PyObject** out) except -1:
    """1 and the value (borrowed) in ``out`` when ``key`` is in the KeyTable ``table``, else 0."""
    cdef Py_ssize_t index = (<KeyTable>table).index_of(key)
    if index < 0:
        out[0] = NULL
        return 0
    out[0] = (<KeyTable>table).entries[index].value
    return 1


cdef int table_find_number(object table, object key, long long* out) except -1:
    """1 and the deadline in ``out`` when ``key`` is in the DeadlineTable ``table``, else 0."""
    cdef Py_ssize_t index = (<KeyTable>table).index_of(key)
    if index < 0:
        return 0
    out[0] = <long long><intptr_t>(<KeyTable>table).entries[index].value
    return 1


cdef int table_store(object table, object key, object value) except -1:
    return (<KeyTable>table).store(key, value)


cdef int table_remove(object table, object key) except -1:
    """``del table[key]`` (KeyError when absent)."""
    (<KeyTable>table).take(key, _MISSING)
    return 0


cdef KeyTableAPI _api
_api.find = table_find
_api.store = table_store
_api.remove = table_remove
_api.find_number = table_find_number
_C_API = PyCapsule_New(<void*>&_api, b"pyvalkey._speedups._keytable_c._C_API", NULL)


# -- the expiry heap -------------------------------------------------------------------------------


ctypedef struct Deadline:
    long long at  # ms
    PyObject* key


cdef int _key_before(object first, object second) except -1:
    """``first < second`` as Python compares them (bytes: bytewise, then shorter first)."""
    cdef Py_ssize_t first_size, second_size
    cdef int order
    if PyBytes_CheckExact(first) and PyBytes_CheckExact(second):
        first_size = PyBytes_GET_SIZE(first)
        second_size = PyBytes_GET_SIZE(second)
        order = memcmp(PyBytes_AS_STRING(first), PyBytes_AS_STRING(second),
                       first_size if first_size < second_size else second_size)
        if order != 0:
            return order < 0
        return first_size < second_size
    if first == second:
        return 0
    return PyObject_RichCompareBool(first, second, Py_LT)


cdef inline int _before(Deadline* first, Deadline* second) except -1:
    """The order of (deadline, key) tuples."""
    if first.at != second.at:
        return first.at < second.at
    if first.key == second.key:
        return 0
    return _key_before(<object>first.key, <object>second.key)


cdef class DeadlineHeap:
    """The expiry heap of pyvalkey/storage/deadlines.py (its Python twin, which documents it),
    with each entry a 16-byte (deadline, key) pair in one array."""
    cdef Deadline* entries
    cdef Py_ssize_t size
    cdef Py_ssize_t capacity

    def __dealloc__(self):
        self._drop_all()

    cdef void _drop_all(self) noexcept:
        cdef Deadline* entries = self.entries
        cdef Py_ssize_t size = self.size, i
        self.entries = NULL
        self.size = self.capacity = 0
        for i in range(size):
            Py_XDECREF(entries[i].key)
        PyMem_RawFree(entries)

    def __len__(self):
        return self.size

    cdef int _reserve(self, Py_ssize_t wanted) except -1:
        cdef Py_ssize_t capacity
        cdef Deadline* grown
        if wanted <= self.capacity:
            return 0
        capacity = self.capacity + self.capacity // 2 + 8
        if capacity < wanted:
            capacity = wanted
        grown = <Deadline*>PyMem_RawRealloc(self.entries, capacity * sizeof(Deadline))
        if grown == NULL:
            raise MemoryError()
        self.entries = grown
        self.capacity = capacity
        return 0

    # The sifts move entries into a hole and put the moving entry in it last; should a key
    # comparison raise (keys of some other type), the entry still lands in the hole, so no entry
    # is lost or doubled (the order may then be off, as heapq leaves a list).

    cdef int _sift_up(self, Py_ssize_t position) except -1:
        cdef Deadline moving = self.entries[position]
        cdef Py_ssize_t parent
        try:
            while position > 0:
                parent = (position - 1) >> 1
                if not _before(&moving, &self.entries[parent]):
                    break
                self.entries[position] = self.entries[parent]
                position = parent
        finally:
            self.entries[position] = moving
        return 0

    cdef int _sift_down(self, Py_ssize_t position) except -1:
        cdef Deadline moving = self.entries[position]
        cdef Py_ssize_t child, size = self.size
        try:
            while True:
                child = 2 * position + 1
                if child >= size:
                    break
                if child + 1 < size and _before(&self.entries[child + 1], &self.entries[child]):
                    child += 1
                if not _before(&self.entries[child], &moving):
                    break
                self.entries[position] = self.entries[child]
                position = child
        finally:
            self.entries[position] = moving
        return 0

    def push(self, deadline_ms, key):
        cdef long long at = PyLong_AsLongLong(deadline_ms)
        self._reserve(self.size + 1)
        Py_INCREF(key)
        self.entries[self.size].at = at
        self.entries[self.size].key = <PyObject*>key
        self.size += 1
        self._sift_up(self.size - 1)

    def pop_due(self, now_ms):
        """The earliest entry when its deadline is ``now_ms`` or earlier (removed), else None."""
        cdef long long now = PyLong_AsLongLong(now_ms)
        cdef Deadline top
        if self.size == 0 or self.entries[0].at > now:
            return None
        top = self.entries[0]
        self.size -= 1
        if self.size:
            self.entries[0] = self.entries[self.size]
            self._sift_down(0)
        key = <object>top.key  # takes a new reference; the heap's own is dropped below
        Py_DECREF(key)
        return (PyLong_FromLongLong(top.at), key)

    def rebuild(self, deadlines):
        """Exactly one entry per key of ``deadlines`` (key -> deadline ms)."""
        cdef Py_ssize_t i
        self._drop_all()
        self._reserve(len(deadlines))
        for key, deadline_ms in deadlines.items():
            self.entries[self.size].at = PyLong_AsLongLong(deadline_ms)
            Py_INCREF(key)
            self.entries[self.size].key = <PyObject*>key
            self.size += 1
        for i in range(self.size // 2 - 1, -1, -1):
            self._sift_down(i)

    def __sizeof__(self):
        return sizeof(DeadlineHeap) + self.capacity * sizeof(Deadline)
