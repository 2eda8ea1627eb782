# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, binding=False
"""The compiled request lane: parses plain requests in C and runs the commonest commands there.

``next_request(client, server, reader)`` is called by the command loop (hotloop.py) in place of
the request reader when this module is built. It reads the client's buffered requests straight
from the ``PythonRequestReader``'s buffer and:

* runs GET, SET key value, INCR and PING itself, in C, as long as nothing is listening that the
  Python path would have to tell (see ``_Batch.setup``: no MONITOR or tracking, no keyspace
  hooks or notifications, replies on, no pause), and the command
  needs nothing unusual (a key past its deadline, a value of another type, a number that is not
  a plain integer): then its handler runs instead (``_Batch.call``). The dispatcher's
  pre-checks (MULTI queueing, maxmemory, ACL, ...) run first, once per command
  (``_Batch.checked``), and writes are recorded for the AOF and replicas as the dispatcher
  records them (``_Batch.run_recorded``, ``_Batch.call``);
* calls the Python handler of the other data commands itself (``Dispatcher.contained_commands``:
  commands whose handlers change keys and values but none of the state checked above), with
  ``Dispatcher.call``'s bookkeeping done here, then reads the client's database again;
* returns the first request it does not run, as the argument list, for the Python loop to run;
* returns ``False`` when the request at the front is not a complete, plain multibulk request
  (inline commands, a request still arriving, anything malformed, an unauthenticated client):
  the Python reader takes it, with Valkey's limits and error texts;
* returns ``None`` when the buffer is empty.

A natively run command does what the Python path does, in the same order: the keyspace (LRU
clocks, run starts, hit/miss counters, dirty counter), commandstats, the latency histogram, the
slow log and latency monitor, CLIENT LIST's cmd= and the processed-command counters. Counters
are added up in C and written back before the function returns. Nothing is changed before the
decision to run a command natively, so handing a request over is always safe.

The Python twin is the loop in hotloop.py over hiredis (what runs without this module); the
tests in tests/test_speedups.py and tests/test_lane.py run both and compare with Valkey.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Contains, PyDict_DelItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLong, PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.weakref cimport PyWeakref_GET_OBJECT
from libc.string cimport memcpy, memset
from posix.time cimport CLOCK_MONOTONIC, CLOCK_REALTIME, clock_gettime, timespec

import weakref

from pyvalkey.latency import note_slow_call
from pyvalkey.protocol.replies import ErrorReply, Raw
from pyvalkey.protocol.writer import encode, encode_error

__all__ = ["append_command", "next_request"]

# Commands run natively (indexes into Dispatcher.native_commands).
DEF NATIVE_GET = 0
DEF NATIVE_SET = 1
DEF NATIVE_INCR = 2
DEF NATIVE_PING = 3
DEF NATIVE_COUNT = 4

DEF COMPACT_THRESHOLD = 65536
# Longer multibulk counts are left to the Python reader (it grows its list as data arrives).
DEF MAX_ARGC = 1048576
# Integers of up to 18 digits cannot overflow int64 when incremented.
DEF MAX_INCR_DIGITS = 18
# Durations (µs) below this are counted in C and added to the latency histograms at the end.
DEF SMALL_LATENCIES = 16

cdef bytes _PONG = b"+PONG\r\n"
cdef bytes _OK = b"+OK\r\n"
cdef bytes _NULL2 = b"$-1\r\n"
cdef bytes _NULL3 = b"_\r\n"


cdef inline long long _now_ns(int which) noexcept nogil:
    cdef timespec ts
    clock_gettime(which, &ts)
    return <long long>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline Py_ssize_t _header(const char* p, Py_ssize_t i, Py_ssize_t end, long long* value) noexcept:
    """A canonical decimal length at ``p[i]`` followed by CRLF (as Valkey accepts them): the
    index after the CRLF, -1 when the input ends first, -2 for anything else (the Python reader
    then reports it)."""
    cdef long long n = 0
    cdef Py_ssize_t start = i
    cdef char c
    while i < end:
        c = p[i]
        if c == b'\r':
            break
        if c < b'0' or c > b'9' or i - start >= 12:
            return -2
        n = n * 10 + (c - 48)
        i += 1
    if i >= end or i + 1 >= end:
        return -1
    if i == start or p[i + 1] != b'\n' or (p[start] == b'0' and i - start > 1):
        return -2
    value[0] = n
    return i + 2


cdef Py_ssize_t _scan(const char* p, Py_ssize_t pos, Py_ssize_t end, long long max_bulk,
                      Py_ssize_t* argc, Py_ssize_t* offsets, Py_ssize_t* lengths) noexcept:
    """Check the multibulk request at ``p[pos]`` (a '*'); its end index, -1 when incomplete,
    -2 when it is not plain. The first three arguments' offsets and lengths are stored."""
    cdef long long count = 0, n = 0
    cdef Py_ssize_t i, k
    i = _header(p, pos + 1, end, &count)
    if i < 0:
        return i
    if count <= 0 or count > MAX_ARGC:
        return -2
    for k in range(count):
        if i >= end:
            return -1
        if p[i] != b'$':
            return -2
        i = _header(p, i + 1, end, &n)
        if i < 0:
            return i
        if n > max_bulk:
            return -2
        if k < 3:
            offsets[k] = i
            lengths[k] = <Py_ssize_t>n
        i += <Py_ssize_t>n
        if i + 1 >= end:
            return -1
        if p[i] != b'\r' or p[i + 1] != b'\n':
            return -2
        i += 2
    argc[0] = <Py_ssize_t>count
    return i


cdef list _argv(const char* p, Py_ssize_t pos, Py_ssize_t argc):
    """The arguments of the (already checked) request at ``p[pos]``."""
    cdef list argv = PyList_New(argc)
    cdef Py_ssize_t i = pos + 1, k
    cdef long long n
    cdef object arg
    while p[i] != b'\r':
        i += 1
    i += 2
    for k in range(argc):
        n = 0
        i += 1  # '$'
        while p[i] != b'\r':
            n = n * 10 + (p[i] - 48)
            i += 1
        i += 2
        arg = PyBytes_FromStringAndSize(p + i, <Py_ssize_t>n)
        Py_INCREF(arg)
        PyList_SET_ITEM(argv, k, arg)
        i += <Py_ssize_t>n + 2
    return argv


cdef list _native_argv(const char* p, Py_ssize_t* offsets, Py_ssize_t* lengths, Py_ssize_t argc):
    """The argument list of a native request (at most three arguments, offsets known)."""
    cdef list argv = PyList_New(argc)
    cdef Py_ssize_t k
    cdef object arg
    for k in range(argc):
        arg = PyBytes_FromStringAndSize(p + offsets[k], lengths[k])
        Py_INCREF(arg)
        PyList_SET_ITEM(argv, k, arg)
    return argv


cdef inline bint _is_name(const char* p, Py_ssize_t n, const char* lower, Py_ssize_t size) noexcept:
    cdef Py_ssize_t i
    if n != size:
        return False
    for i in range(n):
        if (p[i] | 0x20) != lower[i]:
            return False
    return True


cdef inline int _native_kind(const char* p, Py_ssize_t n, Py_ssize_t argc) noexcept:
    """Which native command the request is, or -1. Only the argument counts the native code
    handles: SET with options, PING with a message and the like are left to Python."""
    if argc == 2:
        if _is_name(p, n, b"get", 3):
            return NATIVE_GET
        if _is_name(p, n, b"incr", 4):
            return NATIVE_INCR
    elif argc == 3:
        if _is_name(p, n, b"set", 3):
            return NATIVE_SET
    elif argc == 1:
        if _is_name(p, n, b"ping", 4):
            return NATIVE_PING
    return -1


cdef inline int _append(bytearray out, const char* data, Py_ssize_t n) except -1:
    cdef Py_ssize_t size = PyByteArray_GET_SIZE(out)
    if PyByteArray_Resize(out, size + n) < 0:
        return -1
    memcpy(PyByteArray_AS_STRING(out) + size, data, n)
    return 0


cdef inline Py_ssize_t _format_int(char* buf, long long value) noexcept:
    """``value`` in decimal at the end of a 24-byte ``buf``; returns where it starts."""
    cdef Py_ssize_t i = 24
    cdef bint negative = value < 0
    cdef unsigned long long v = <unsigned long long>(-value) if negative else <unsigned long long>value
    while True:
        i -= 1
        buf[i] = <char>(48 + v % 10)
        v //= 10
        if v == 0:
            break
    if negative:
        i -= 1
        buf[i] = b'-'
    return i


cdef int _append_bulk(bytearray out, const char* data, Py_ssize_t n) except -1:
    """``$<n>\\r\\n<data>\\r\\n``, with one resize of ``out``."""
    cdef char digits[24]
    cdef Py_ssize_t start = _format_int(digits, n), width = 24 - start
    cdef Py_ssize_t size = PyByteArray_GET_SIZE(out)
    cdef char* dest
    if PyByteArray_Resize(out, size + width + n + 5) < 0:
        return -1
    dest = PyByteArray_AS_STRING(out) + size
    dest[0] = b'$'
    memcpy(dest + 1, digits + start, width)
    dest[1 + width] = b'\r'
    dest[2 + width] = b'\n'
    memcpy(dest + 3 + width, data, n)
    dest[3 + width + n] = b'\r'
    dest[4 + width + n] = b'\n'
    return 0


cdef int _append_line(bytearray out, char prefix, long long value) except -1:
    """``<prefix><value>\\r\\n``: an integer reply (``:``) or an array header (``*``)."""
    cdef char line[32]
    cdef char digits[24]
    cdef Py_ssize_t start = _format_int(digits, value), width = 24 - start
    line[0] = prefix
    memcpy(line + 1, digits + start, width)
    line[1 + width] = b'\r'
    line[2 + width] = b'\n'
    return _append(out, line, width + 3)


cdef inline int _append_null(bytearray out, bint resp3) except -1:
    if resp3:
        return _append(out, b"_\r\n", 3)
    return _append(out, b"$-1\r\n", 5)


cdef int _append_flat_array(bytearray out, object items, bint resp3) except -1:
    """An array of bulk strings, integers and nulls (LRANGE, MGET, SMEMBERS in RESP2, ...) the
    way the writer encodes it; 0 without writing anything when an element is of another kind
    (the writer then encodes the whole reply)."""
    cdef int overflow
    for item in items:
        kind = type(item)
        if kind is not bytes and kind is not bytearray and item is not None and kind is not Raw:
            if kind is not int:
                return 0
            PyLong_AsLongLongAndOverflow(item, &overflow)
            if overflow:
                return 0
    _append_line(out, b'*', len(items))
    for item in items:
        kind = type(item)
        if kind is bytes:
            _append_bulk(out, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item))
        elif kind is bytearray:
            _append_bulk(out, PyByteArray_AS_STRING(item), PyByteArray_GET_SIZE(item))
        elif item is None:
            _append_null(out, resp3)
        elif kind is Raw:
            _append(out, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item))
        else:
            _append_line(out, b':', PyLong_AsLongLongAndOverflow(item, &overflow))
    return 1


cdef inline bint _string_of(object value, const char** text, Py_ssize_t* size) noexcept:
    """The bytes of a string value (bytes, or bytearray once modified in place); False for a
    value of another type."""
    if type(value) is bytes:
        text[0] = PyBytes_AS_STRING(value)
        size[0] = PyBytes_GET_SIZE(value)
        return True
    if type(value) is bytearray:
        text[0] = PyByteArray_AS_STRING(value)
        size[0] = PyByteArray_GET_SIZE(value)
        return True
    return False


cdef bint _plain_integer(const char* p, Py_ssize_t n, long long* value) noexcept:
    """Valkey's string2ll for the common case: an optional '-', no leading zeros, at most
    MAX_INCR_DIGITS digits. False means "let the Python code decide" (errors included)."""
    cdef Py_ssize_t i = 0
    cdef long long v = 0
    cdef bint negative = False
    if n == 0:
        return False
    if p[0] == b'-':
        negative = True
        i = 1
        if n == 1:
            return False
    if n - i > MAX_INCR_DIGITS or (p[i] == b'0' and (n - i > 1 or negative)):
        return False
    while i < n:
        if p[i] < b'0' or p[i] > b'9':
            return False
        v = v * 10 + (p[i] - 48)
        i += 1
    value[0] = -v if negative else v
    return True


# -- attributes read without a lookup ---------------------------------------------------------------
# Client, Database and Command keep their attributes in __slots__, i.e. at fixed offsets in the
# instance, which the member descriptors of their classes give. Reading them there costs a few
# instructions instead of a generic attribute lookup (~150): it is what makes the per-read set-up
# cheap. The offsets are learnt from the classes themselves on first use; an object of any other
# class (there are no subclasses) is simply not run natively.

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char* name
        int type
        Py_ssize_t offset

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    PyTypeObject PyMemberDescr_Type

DEF T_OBJECT_EX = 16

cdef enum:
    C_REPLY_MODE, C_SKIP_THIS_REPLY, C_AUTHENTICATED, C_BLOCKED, C_CLOSE_AFTER_REPLY, C_DB, C_NO_TOUCH,
    C_RESP3, C_OUT, C_FLAGS, C_LAST_COMMAND, C_COMMANDS_PROCESSED, CLIENT_SLOTS
cdef enum:
    D_DATA, D_EXPIRES, D_ACCESS, D_RUNS, D_RUN_CLOCK, D_IMPLICIT_ACCESS, D_INDEX, DATABASE_SLOTS
cdef enum:
    M_CALLS, M_USEC, M_LATENCY_US, M_FULLNAME, M_HANDLER, M_FAILED_CALLS, COMMAND_SLOTS

_CLIENT_NAMES = ("reply_mode", "skip_this_reply", "authenticated", "blocked", "close_after_reply", "db", "no_touch",
                 "resp3", "out", "flags", "last_command", "commands_processed")
_DATABASE_NAMES = ("data", "expires", "access", "runs", "run_clock", "implicit_access", "index")
_COMMAND_NAMES = ("calls", "usec", "latency_us", "fullname", "handler", "failed_calls")

cdef Py_ssize_t client_slots[CLIENT_SLOTS]
cdef Py_ssize_t database_slots[DATABASE_SLOTS]
cdef Py_ssize_t command_slots[COMMAND_SLOTS]
# The classes the offsets belong to; None until learnt (or when a class has no such slot).
cdef object client_class = None
cdef object database_class = None
cdef object command_class = None
# The keyspace tables of the compiled build (keytable.pyx) and their C functions: a database's
# ``data`` is a KeyTable and its ``expires`` a DeadlineTable, or both are dicts (a database made
# while plain Python was chosen).
ctypedef struct KeyTableAPI:
    int (*find)(object, object, PyObject**) except -1
    int (*store)(object, object, object) except -1
    int (*remove)(object, object) except -1
    int (*find_number)(object, object, long long*) except -1
cdef KeyTableAPI* table_api = NULL
cdef object table_class = None
cdef object deadline_table_class = None  # a database's ``expires`` in the compiled build


cdef Py_ssize_t _slot_offset(object cls, str name) except -1:
    """The offset of ``cls``'s slot ``name`` (an object slot defined by ``cls`` itself), or 0."""
    descr = cls.__dict__.get(name)
    if descr is None or (<PyObject*>descr).ob_type is not &PyMemberDescr_Type:
        return 0
    member = (<PyMemberDescrObject*><PyObject*>descr).d_member
    if member.type != T_OBJECT_EX:
        return 0
    return member.offset


cdef object _learn(object cls, tuple names, Py_ssize_t* offsets):
    """Fill ``offsets`` for ``cls``; returns ``cls``, or None when one of them is not a slot."""
    cdef Py_ssize_t i
    for i in range(len(names)):
        offsets[i] = _slot_offset(cls, names[i])
        if offsets[i] == 0:
            return None
    return cls


cdef int _learn_layouts() except -1:
    global client_class, database_class, command_class
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.storage.database import Database

    global table_api, table_class, deadline_table_class
    try:
        from pyvalkey._speedups import _keytable_c
    except ImportError:
        pass
    else:
        table_api = <KeyTableAPI*>PyCapsule_GetPointer(_keytable_c._C_API, b"pyvalkey._speedups._keytable_c._C_API")
        table_class = _keytable_c.KeyTable
        deadline_table_class = _keytable_c.DeadlineTable
    client_class = _learn(Client, _CLIENT_NAMES, client_slots)
    database_class = _learn(Database, _DATABASE_NAMES, database_slots)
    command_class = _learn(Command, _COMMAND_NAMES, command_slots)
    return 0


cdef inline int _find(object data, object key, PyObject** value) except -1:
    """1 and the value of ``key`` (borrowed) in ``value`` when ``data`` holds it, else 0."""
    if type(data) is dict:
        value[0] = PyDict_GetItemWithError(data, key)
        return value[0] != NULL
    return table_api.find(data, key, value)


cdef inline int _store(object data, object key, object value) except -1:
    """``data[key] = value``: 1 when the key is new, else 0."""
    cdef int new
    if type(data) is dict:
        new = not PyDict_Contains(data, key)
        PyDict_SetItem(data, key, value)
        return new
    return table_api.store(data, key, value)


cdef inline int _remove(object data, object key) except -1:
    """``del data[key]`` for a key known to be there (a dict, a KeyTable or a DeadlineTable)."""
    if type(data) is dict:
        return PyDict_DelItem(data, key)
    return table_api.remove(data, key)


cdef inline int _find_deadline(object expires, object key, long long* deadline) except -1:
    """1 and the deadline of ``key`` in ``deadline`` when ``expires`` holds one, else 0."""
    cdef PyObject* value
    if type(expires) is dict:
        value = PyDict_GetItemWithError(expires, key)
        if value == NULL:
            return 0
        deadline[0] = PyLong_AsLongLong(<object>value)
        return 1
    return table_api.find_number(expires, key, deadline)


cdef inline bint _is_table(object data, object compiled_class) noexcept:
    """A dict or the compiled table class: what _find, _store and _remove take."""
    return type(data) is dict or (compiled_class is not None and type(data) is compiled_class)


cdef inline object _slot(object obj, Py_ssize_t offset):
    cdef PyObject* value = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if value == NULL:
        raise AttributeError(offset)
    return <object>value


cdef inline void _set_slot(object obj, Py_ssize_t offset, object value) noexcept:
    cdef PyObject** slot = <PyObject**>((<char*><PyObject*>obj) + offset)
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)


cdef class _Context:
    """The server's parts the lane reads, fetched once per server (they never change)."""

    cdef object server_ref, dispatcher, keyspace, propagator, stats, blocking, clock

    def __cinit__(self, server):
        self.server_ref = weakref.ref(server)
        dispatcher = server.dispatcher
        self.dispatcher = dispatcher
        self.keyspace = dispatcher.keyspace
        self.propagator = dispatcher.propagator
        self.stats = dispatcher.stats
        self.blocking = dispatcher.blocking
        self.clock = dispatcher.clock


cdef _Context _last_context = None


cdef _Context _context_of(object server):
    global _last_context
    cdef _Context context = _last_context
    if context is None or PyWeakref_GET_OBJECT(context.server_ref) is not <PyObject*>server:
        context = _Context(server)
        _last_context = context
    return context


cdef class _Batch:
    """What one call of ``next_request`` needs of the server, read once, and the counters it
    writes back at the end."""

    cdef object client, server, keyspace, stats, db, lru_clock_value
    cdef _Context context
    cdef tuple native  # Dispatcher.native_commands: a Command or None per NATIVE_*
    cdef object data, expires  # a KeyTable and a DeadlineTable, or dicts (see _find, _find_deadline)
    cdef object access, runs  # dicts (access is a dict subclass)
    cdef bytearray out
    cdef long long lru_clock, run_clock, wall_offset, frozen_ms, slow_path_us
    cdef bint implicit_access, no_touch, resp3, latency_tracking, frozen, allowed
    cdef long long hits, misses, dirty, processed, now_ms
    cdef long long calls[NATIVE_COUNT]
    cdef long long usec[NATIVE_COUNT]
    cdef long long small_latencies[NATIVE_COUNT][SMALL_LATENCIES]
    cdef object last_command  # the Command last run here
    cdef object contained  # Dispatcher.contained_commands
    cdef list pre_checks  # Dispatcher.pre_checks (the live list), run before each command here
    cdef object propagator
    cdef bint propagating  # an AOF or a replica listens: writes are recorded (propagation.py)
    cdef bint no_touch_written  # keyspace.no_touch set for this client (before a Python handler)

    cdef int setup(self, object client, object server) except -1:
        """Read the state and decide whether native commands may run at all (``allowed``)."""
        cdef _Context context
        self.client = client
        self.server = server
        self.allowed = False
        memset(self.calls, 0, sizeof(self.calls))
        memset(self.usec, 0, sizeof(self.usec))
        memset(self.small_latencies, 0, sizeof(self.small_latencies))
        self.hits = self.misses = self.dirty = self.processed = 0
        self.last_command = None
        self.no_touch_written = False
        if client_class is None:
            _learn_layouts()
        if type(client) is not client_class or database_class is None or command_class is None:
            return 0  # (a class without the slots the lane reads: the Python path only)
        context = _context_of(server)
        self.context = context
        dispatcher = context.dispatcher
        self.native = dispatcher.native_commands
        self.contained = dispatcher.contained_commands
        self.pre_checks = dispatcher.pre_checks
        self.propagator = context.propagator
        self.propagating = context.propagator.active
        keyspace = context.keyspace
        propagator = context.propagator
        if (
            _slot(client, client_slots[C_REPLY_MODE])
            or _slot(client, client_slots[C_SKIP_THIS_REPLY])
            or not _slot(client, client_slots[C_AUTHENTICATED])
            or _slot(client, client_slots[C_BLOCKED]) is not None
            or _slot(client, client_slots[C_CLOSE_AFTER_REPLY])
            or dispatcher.observe is not None
            or dispatcher.pending_pushes
            or propagator.unit
            or keyspace.hooks_active
            or keyspace.notify_flags
            or context.blocking.ready
            or server.paused is not None
        ):
            return 0
        self.resp3 = _slot(client, client_slots[C_RESP3])
        if not self.resp3 and "subscriber" in _slot(client, client_slots[C_FLAGS]):
            return 0
        if not self.read_database():
            return 0
        self.keyspace = keyspace
        self.stats = context.stats
        self.lru_clock_value = keyspace.lru_clock
        self.lru_clock = self.lru_clock_value
        self.no_touch = _slot(client, client_slots[C_NO_TOUCH])
        self.out = _slot(client, client_slots[C_OUT])
        self.slow_path_us = self.stats.slow_path_us
        self.latency_tracking = self.stats.latency_tracking
        clock = context.clock
        frozen = clock.frozen_at_ns
        self.frozen = frozen is not None
        if self.frozen:
            self.frozen_ms = frozen // 1000000
        self.wall_offset = _now_ns(CLOCK_REALTIME) - _now_ns(CLOCK_MONOTONIC) + clock.offset_ns
        for cmd in self.native:
            if cmd is not None and type(cmd) is not command_class:
                return 0
        self.allowed = True
        return 0

    cdef int finish(self) except -1:
        """Write the counters back (only what changed) and start them again from zero."""
        cdef int k, b
        cdef long long count
        cdef PyObject* found
        if self.processed == 0:
            return 0
        keyspace = self.keyspace
        for k in range(NATIVE_COUNT):
            if self.calls[k]:
                cmd = self.native[k]
                _set_slot(cmd, command_slots[M_CALLS], _slot(cmd, command_slots[M_CALLS]) + self.calls[k])
                _set_slot(cmd, command_slots[M_USEC], _slot(cmd, command_slots[M_USEC]) + self.usec[k])
                if self.latency_tracking:
                    histogram = _slot(cmd, command_slots[M_LATENCY_US])
                    for b in range(SMALL_LATENCIES):
                        count = self.small_latencies[k][b]
                        if count:
                            bucket = b
                            found = PyDict_GetItemWithError(histogram, bucket)
                            if found != NULL:
                                count += PyLong_AsLongLong(<object>found)
                            PyDict_SetItem(histogram, bucket, count)
        client = self.client
        _set_slot(client, client_slots[C_LAST_COMMAND], _slot(self.last_command, command_slots[M_FULLNAME]))
        _set_slot(client, client_slots[C_COMMANDS_PROCESSED],
                  _slot(client, client_slots[C_COMMANDS_PROCESSED]) + self.processed)
        self.stats.commands_processed += self.processed
        if self.hits:
            keyspace.hits += self.hits
        if self.misses:
            keyspace.misses += self.misses
        if self.dirty:
            keyspace.dirty += self.dirty
        # The time the last command saw, as after a Python-run command (keyspace.no_touch is
        # not written back: every command path sets it before it runs).
        keyspace.now_ms = self.now_ms
        memset(self.calls, 0, sizeof(self.calls))
        memset(self.usec, 0, sizeof(self.usec))
        memset(self.small_latencies, 0, sizeof(self.small_latencies))
        self.hits = self.misses = self.dirty = self.processed = 0
        return 0

    cdef int new_key(self, object key) except -1:
        """Database.set / Database.add for a key that was absent: its LRU clock through the
        run of keys written in the same second (storage/database.py explains runs)."""
        cdef long long clock = self.lru_clock
        if clock != self.run_clock:
            if self.implicit_access:
                PyDict_SetItem(self.runs, key, self.lru_clock_value)
                self.run_clock = clock
                _set_slot(self.db, database_slots[D_RUN_CLOCK], self.lru_clock_value)
            else:
                PyDict_SetItem(self.access, key, self.lru_clock_value)
        return 0

    cdef int run(self, int kind, const char* p, Py_ssize_t* offsets, Py_ssize_t* lengths) except -2:
        """Run one native command; 1 when done, 0 when the Python path must run it instead."""
        cdef long long start = _now_ns(CLOCK_MONOTONIC), elapsed, deadline, number
        cdef long long now_ms
        cdef PyObject* found
        cdef int has_deadline = 0
        cdef object key, value
        cdef const char* text
        cdef Py_ssize_t size
        cdef char digits[24]
        cdef Py_ssize_t first
        now_ms = self.frozen_ms if self.frozen else (start + self.wall_offset) // 1000000
        if kind == NATIVE_PING:
            _append(self.out, b"+PONG\r\n", 7)
        else:
            key = PyBytes_FromStringAndSize(p + offsets[1], lengths[1])
            found = NULL
            if kind != NATIVE_SET:
                _find(self.data, key, &found)
            if self.expires:
                has_deadline = _find_deadline(self.expires, key, &deadline)
                if has_deadline and deadline <= now_ms:
                    return 0  # expires lazily (propagation, events): the Python path
            if kind == NATIVE_GET:
                if found == NULL:
                    self.misses += 1
                    _append_null(self.out, self.resp3)
                else:
                    if not _string_of(<object>found, &text, &size):
                        return 0  # WRONGTYPE: the Python path
                    self.hits += 1
                    if not self.no_touch:
                        PyDict_SetItem(self.access, key, self.lru_clock_value)
                    _append_bulk(self.out, text, size)
            elif kind == NATIVE_SET:
                value = PyBytes_FromStringAndSize(p + offsets[2], lengths[2])
                if has_deadline:
                    _remove(self.expires, key)  # SET clears the TTL
                if _store(self.data, key, value):
                    self.new_key(key)
                else:
                    PyDict_SetItem(self.access, key, self.lru_clock_value)
                self.dirty += 1
                _append(self.out, b"+OK\r\n", 5)
            else:  # NATIVE_INCR
                if found == NULL:
                    number = 1
                else:
                    if not _string_of(<object>found, &text, &size):
                        return 0  # WRONGTYPE: the Python path
                    if not _plain_integer(text, size, &number):
                        return 0  # not an integer, or too long to be sure: the Python path
                    number += 1
                first = _format_int(digits, number)
                value = PyBytes_FromStringAndSize(digits + first, 24 - first)
                _store(self.data, key, value)
                if found == NULL:
                    self.new_key(key)
                else:  # keeps its TTL
                    PyDict_SetItem(self.access, key, self.lru_clock_value)
                self.dirty += 1
                _append_line(self.out, b':', number)
        elapsed = (_now_ns(CLOCK_MONOTONIC) - start) // 1000
        self.now_ms = now_ms
        self.calls[kind] += 1
        self.usec[kind] += elapsed
        self.processed += 1
        self.last_command = self.native[kind]
        if self.latency_tracking:
            if elapsed < SMALL_LATENCIES:
                self.small_latencies[kind][elapsed] += 1
            else:
                histogram = _slot(self.native[kind], command_slots[M_LATENCY_US])
                bucket = elapsed
                found = PyDict_GetItemWithError(histogram, bucket)
                PyDict_SetItem(histogram, bucket, 1 if found == NULL else <object>found + 1)
        if self.slow_path_us >= 0 and elapsed >= self.slow_path_us:
            self.slow_call(kind, p, offsets, lengths, elapsed)
        return 1

    cdef int read_database(self) except -1:
        """(Again) the client's database and its dicts: a Python handler may have replaced them
        (FLUSH-like resets, SWAPDB, access clocks made explicit). 0 for a database object of
        another class (not to be run natively)."""
        db = _slot(self.client, client_slots[C_DB])
        if type(db) is not database_class:
            return 0
        data = _slot(db, database_slots[D_DATA])
        expires = _slot(db, database_slots[D_EXPIRES])
        if not (_is_table(data, table_class) and _is_table(expires, deadline_table_class)):
            return 0
        self.db = db
        self.data = data
        self.expires = expires
        self.access = _slot(db, database_slots[D_ACCESS])
        self.runs = _slot(db, database_slots[D_RUNS])
        self.run_clock = _slot(db, database_slots[D_RUN_CLOCK])
        self.implicit_access = _slot(db, database_slots[D_IMPLICIT_ACCESS])
        return 1

    cdef int checked(self, object cmd, list argv) except -1:
        """Dispatcher.execute's pre-checks (MULTI queueing, OOM and eviction, ACL, loading,
        MISCONF, min-replicas, read-only replica), run once for a command about to run here, in
        their order: 1 when one took the command (queued it, or refused it with its error, as
        the dispatcher does), 0 when it may run."""
        cdef list checks = self.pre_checks
        if not checks:
            return 0
        client = self.client
        for check in checks:
            error = check(client, cmd, argv)
            if error is not None:
                if error is not True:  # True: handled (queued inside MULTI)
                    self.server.dispatcher.reject(client, error, cmd)
                if not self.read_database():
                    self.allowed = False
                return 1
        # A check may have evicted keys (and with them replaced the database's clock maps).
        if not self.read_database():
            self.allowed = False
            return 0
        return 0

    cdef int call(self, object cmd, list argv) except -1:
        """Run a contained command's Python handler with Dispatcher.call's bookkeeping (the
        hot loop's order: counters, slow log, histogram, reply, then what follows a command)."""
        cdef long long start = _now_ns(CLOCK_MONOTONIC), elapsed, number
        cdef int overflow
        cdef object reply
        keyspace = self.keyspace
        client = self.client
        self.now_ms = self.frozen_ms if self.frozen else (start + self.wall_offset) // 1000000
        keyspace.now_ms = self.now_ms
        if not self.no_touch_written:
            keyspace.no_touch = self.no_touch
            self.no_touch_written = True
        propagator = self.propagator
        if self.propagating:
            dirty_before = keyspace.dirty
            calls_before = propagator.calls
            propagator.calls = calls_before + 1
        try:
            reply = _slot(cmd, command_slots[M_HANDLER])(client, argv)
        except ErrorReply as error:
            reply = error
        except Exception as exc:  # a bug must not take the connection down
            reply = self.server.dispatcher.handler_failed(cmd, exc)
        elapsed = (_now_ns(CLOCK_MONOTONIC) - start) // 1000
        _set_slot(cmd, command_slots[M_CALLS], _slot(cmd, command_slots[M_CALLS]) + 1)
        _set_slot(cmd, command_slots[M_USEC], _slot(cmd, command_slots[M_USEC]) + elapsed)
        self.processed += 1
        self.last_command = cmd
        if self.slow_path_us >= 0 and elapsed >= self.slow_path_us:
            self.finish()
            note_slow_call(self.server, client, cmd, argv, elapsed)
        if self.latency_tracking:
            histogram = _slot(cmd, command_slots[M_LATENCY_US])
            bucket = elapsed
            found = PyDict_GetItemWithError(histogram, bucket)
            PyDict_SetItem(histogram, bucket, 1 if found == NULL else <object>found + 1)
        if self.propagating:
            propagator.record(_slot(self.db, database_slots[D_INDEX]), argv, keyspace.dirty != dirty_before,
                              propagator.calls > calls_before + 1)
        kind = type(reply)
        if kind is bytes:
            _append_bulk(self.out, PyBytes_AS_STRING(reply), PyBytes_GET_SIZE(reply))
        elif kind is Raw:
            _append(self.out, PyBytes_AS_STRING(reply), PyBytes_GET_SIZE(reply))
        elif kind is int:
            number = PyLong_AsLongLongAndOverflow(reply, &overflow)
            if overflow:
                encode(reply, self.out, self.resp3)
            else:
                _append_line(self.out, b':', number)
        elif reply is None:
            _append_null(self.out, self.resp3)
        elif (kind is list or kind is tuple) and _append_flat_array(self.out, reply, self.resp3):
            pass
        elif isinstance(reply, ErrorReply):
            _set_slot(cmd, command_slots[M_FAILED_CALLS], _slot(cmd, command_slots[M_FAILED_CALLS]) + 1)
            self.stats.count_error(reply.message)
            encode_error(reply.message, self.out)
        else:
            encode(reply, self.out, self.resp3)
        # What follows a command in the loop. The end of the propagation unit is routine when
        # something listens; blocked clients or pub/sub deliveries are not expected while the
        # lane runs (nothing listens), but a handler is Python: if any is pending, do it and
        # let the next read decide again.
        context = self.context
        if propagator.unit:
            propagator.end_unit()
            if not self.propagating:
                self.allowed = False
        if context.blocking.ready:
            context.blocking.serve_ready()
            self.allowed = False
        dispatcher = context.dispatcher
        if dispatcher.pending_pushes:
            dispatcher.flush_pushes(client)
            self.allowed = False
        if self.allowed and not self.read_database():
            self.allowed = False
        return 0

    cdef int run_recorded(self, int kind, const char* p, Py_ssize_t* offsets, Py_ssize_t* lengths,
                          list argv) except -2:
        """``run``, with the write recorded for the AOF and replicas as Dispatcher.call records
        it (``argv``: the request's arguments); 0 when the Python path must run it instead."""
        if not self.propagating or kind == NATIVE_GET or kind == NATIVE_PING:
            # A read records nothing (record() keeps only writes and rewrites, and a native
            # command never rewrites); nor does its call count matter, as nothing runs inside.
            return self.run(kind, p, offsets, lengths)
        propagator = self.propagator
        calls_before = propagator.calls
        propagator.calls = calls_before + 1
        if not self.run(kind, p, offsets, lengths):
            propagator.calls = calls_before  # not run: call() counts it when it runs it
            return 0
        # A native SET or INCR always writes and runs nothing inside; ``argv`` was made for it.
        propagator.feed_write(_slot(self.db, database_slots[D_INDEX]), argv)
        return 1

    cdef int slow_call(self, int kind, const char* p, Py_ssize_t* offsets, Py_ssize_t* lengths,
                       long long elapsed) except -1:
        """The slow log and latency monitor, with the counters written back first (the Python
        path has counted the call when it gets there)."""
        argv = _native_argv(p, offsets, lengths, 1 if kind == NATIVE_PING else 3 if kind == NATIVE_SET else 2)
        self.finish()
        note_slow_call(self.server, self.client, self.native[kind], argv, elapsed)
        return 0


def next_request(client, server, reader):
    """The next request for the Python loop to run (its argument list), after running the
    native ones before it; ``False``: the reader must take the request at the front; ``None``:
    nothing is buffered. See the module docstring."""
    cdef bytearray buf = reader._buf
    cdef Py_ssize_t pos = reader._pos, end, stop, argc = 0
    cdef Py_ssize_t offsets[3]
    cdef Py_ssize_t lengths[3]
    cdef const char* p
    cdef long long max_bulk
    cdef int kind, ready = 0
    cdef _Batch batch = None
    cdef object result = None
    cdef PyObject* found
    cdef tuple entry
    end = PyByteArray_GET_SIZE(buf)
    if pos >= end:
        return None
    if reader._remaining or not reader.authenticated:
        return False
    max_bulk = reader.max_bulk_len
    try:
        while True:
            if pos >= end:
                result = None
                break
            p = PyByteArray_AS_STRING(buf)
            if p[pos] != b'*':
                # Inline: only a bare PING line (half of redis-benchmark's ping test) is run
                # here; any other line, or a PING that cannot run natively, is the reader's.
                if (end - pos < 6 or not _is_name(p + pos, 4, b"ping", 4)
                        or p[pos + 4] != b'\r' or p[pos + 5] != b'\n'):
                    result = False
                    break
                offsets[0] = pos
                lengths[0] = 4
                argc = 1
                stop = pos + 6
                kind = NATIVE_PING
            else:
                stop = _scan(p, pos, end, max_bulk, &argc, offsets, lengths)
                if stop < 0:
                    result = False
                    break
                kind = -1
                if argc <= 3:
                    kind = _native_kind(p + offsets[0], lengths[0], argc)
            if kind >= 0:
                if not ready:
                    batch = _Batch.__new__(_Batch)
                    batch.setup(client, server)
                    ready = 1
                if batch.allowed and batch.native[kind] is not None:
                    if batch.pre_checks or (batch.propagating and (kind == NATIVE_SET or kind == NATIVE_INCR)):
                        # The checks and the write feed see the command's arguments. It then runs
                        # here either way: natively, or (if it needs the Python path) its handler
                        # through call(), so that no check runs twice for one command.
                        result = _native_argv(p, offsets, lengths, argc)
                        pos = stop
                        if not batch.checked(batch.native[kind], <list>result):
                            if not (batch.allowed and batch.run_recorded(
                                    kind, PyByteArray_AS_STRING(buf), offsets, lengths, <list>result)):
                                batch.call(batch.native[kind], <list>result)
                        result = None
                        continue
                    if batch.run(kind, p, offsets, lengths):
                        pos = stop
                        continue
                    p = PyByteArray_AS_STRING(buf)
            if p[pos] != b'*':
                result = False
                break
            result = _argv(p, pos, argc)
            if not ready:
                batch = _Batch.__new__(_Batch)
                batch.setup(client, server)
                ready = 1
            if batch.allowed:
                found = PyDict_GetItemWithError(batch.contained, (<list>result)[0])
                if found != NULL:
                    entry = <tuple><object>found
                    if entry[1] <= argc <= entry[2] and type(entry[0]) is command_class:
                        pos = stop
                        if not batch.checked(entry[0], <list>result):
                            batch.call(entry[0], <list>result)
                        result = None
                        continue
            pos = stop
            break
    finally:
        if ready:
            batch.finish()
        if pos >= PyByteArray_GET_SIZE(buf):
            PyByteArray_Resize(buf, 0)
            pos = 0
        elif pos > COMPACT_THRESHOLD:
            del buf[:pos]
            pos = 0
        reader._pos = pos
    return result


def append_command(bytearray out, argv):
    """Append ``argv`` (a list, or a subclass such as ReplicationOnly) to ``out`` as one RESP
    multibulk request, the AOF's and the replication stream's format: the twin of
    pyvalkey.propagation.append_command."""
    cdef Py_ssize_t i, n = len(argv)
    cdef object arg
    for i in range(n):
        kind = type(argv[i])
        if kind is not bytes and kind is not bytearray:
            # Other bytes-like arguments: the Python encoder's result (and errors), unchanged.
            from pyvalkey.propagation import encode_commands
            out += encode_commands([argv])
            return
    _append_line(out, b'*', n)
    for i in range(n):
        arg = argv[i]
        if type(arg) is bytes:
            _append_bulk(out, PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg))
        else:
            _append_bulk(out, PyByteArray_AS_STRING(arg), PyByteArray_GET_SIZE(arg))
