"""The one place that decides whether the optional compiled accelerators are used.

Four extension modules are built by setup.py when the build has Cython and a C compiler:

* ``_wire_c``, compiled from ``wire.py`` (plain Python, also used as it is): the CRLF check of
  a request hiredis parsed, used by the command loop (``hotloop``) over the hiredis reader;
* ``_lane_c``, compiled from ``lane.pyx``: a request lane that parses requests in C and runs
  GET, SET, INCR and PING there (see its docstring). With it, clients get the pure-Python
  reader (``new_reader``), since the lane, not hiredis, reads their buffer; its Python twin is
  the loop over hiredis. It also encodes the commands the AOF and replicas are fed
  (``append_command``, twin of ``propagation.append_command``);
* ``_hll_c``, compiled from ``hll.pyx``: HyperLogLog's element hashing (``hll_pattern_list``),
  the twin of ``storage.hyperloglog.pattern_list``;
* ``_keytable_c``, compiled from ``keytable.pyx``: ``KeyTable``, the keyspace's key -> value
  table at about 25 bytes a key instead of a dict's 42 (``new_keytable``; its twin is ``dict``),
  ``DeadlineTable``, the key -> deadline table with int64 deadlines inline
  (``new_deadline_table``; its twin is ``dict``), and ``DeadlineHeap``, the expiry heap at 16 bytes an entry instead of about 80
  (``new_deadline_heap``; its twin is pyvalkey/storage/deadlines.py). A database keeps the
  kinds it was made with when the choice changes; both kinds work everywhere.

The compiled modules are used unless

* ``PYVALKEY_PURE_PYTHON`` is set to a non-empty value other than ``0`` (forces plain Python), or
* a module was built from another version of its source (it records the source's CRC; an edit
  without a rebuild would otherwise run stale code): it is then ignored until
  ``pip install -e .`` (or ``python setup.py build_ext --inplace``) builds it again.

The tests run both implementations against Valkey.
"""

from __future__ import annotations

import importlib
import os
import zlib
from types import ModuleType
from typing import Any

from pyvalkey._speedups import hotloop as _hotloop
from pyvalkey.propagation import append_command as _python_append_command
from pyvalkey.storage.deadlines import DeadlineHeap as _PythonDeadlineHeap
from pyvalkey.protocol.reader import PythonRequestReader, RequestReader

__all__ = [
    "IMPLEMENTATION",
    "append_command",
    "compiled_hll",
    "compiled_keytable",
    "compiled_lane",
    "compiled_wire",
    "describe",
    "hll_pattern_list",
    "new_deadline_heap",
    "new_deadline_table",
    "new_keytable",
    "new_reader",
    "process_commands",
    "use",
]

process_commands = _hotloop.process_commands
_HERE = os.path.dirname(os.path.abspath(__file__))  # (os.path: pathlib costs start-up time)


_SOURCE_CRCS: dict[str, int | None] = {}


def _compiled(module_name: str, source: str) -> ModuleType | None:
    """The extension ``module_name`` when it is built from the present ``source`` file, else None
    (not built, or stale). The source's CRC is read once per process: ``use`` asks again at
    every switch, and the tests switch often."""
    try:
        module = importlib.import_module("pyvalkey._speedups." + module_name)
    except ImportError:
        return None
    if source not in _SOURCE_CRCS:
        try:
            with open(os.path.join(_HERE, source), "rb") as file:
                _SOURCE_CRCS[source] = zlib.crc32(file.read())
        except OSError:
            _SOURCE_CRCS[source] = None
    crc = _SOURCE_CRCS[source]
    return module if crc is not None and getattr(module, "SOURCE_CRC", None) == crc else None


def compiled_wire() -> ModuleType | None:
    """The compiled twin of wire.py, or None."""
    return _compiled("_wire_c", "wire.py")


def compiled_lane() -> ModuleType | None:
    """The compiled request lane (lane.pyx), or None."""
    return _compiled("_lane_c", "lane.pyx")


def compiled_hll() -> ModuleType | None:
    """The compiled HyperLogLog hashing (hll.pyx), or None."""
    return _compiled("_hll_c", "hll.pyx")


def compiled_keytable() -> ModuleType | None:
    """The compiled keyspace tables (keytable.pyx), or None."""
    return _compiled("_keytable_c", "keytable.pyx")


# How the AOF and the replication feed append a command to their buffers: the compiled
# lane.append_command when chosen, else pyvalkey.propagation.append_command.
append_command: Any = _python_append_command


# The compiled pattern_list for HyperLogLog elements when chosen; None: the Python one
# (pyvalkey/storage/hyperloglog.py reads this at each PFADD).
hll_pattern_list: Any = None


def use(implementation: str) -> None:
    """Switch to ``"compiled"`` (ValueError when it is not available) or ``"python"``.
    Clients connected before a switch keep the reader they have; the loop serves both kinds."""
    global IMPLEMENTATION, _reader_class, hll_pattern_list, append_command
    global _keytable_class, _deadline_table_class, _deadline_heap_class
    if implementation == "compiled":
        wire = compiled_wire()
        lane = compiled_lane()
        hll = compiled_hll()
        keytable = compiled_keytable()
        if wire is None or lane is None or hll is None or keytable is None:
            raise ValueError("the compiled accelerator is not built")
        _hotloop._end_of_request = wire.end_of_request
        _hotloop._native_lane = lane.next_request
        _reader_class = PythonRequestReader
        hll_pattern_list = hll.pattern_list
        _keytable_class = keytable.KeyTable
        _deadline_table_class = keytable.DeadlineTable
        _deadline_heap_class = keytable.DeadlineHeap
        append_command = lane.append_command
    elif implementation == "python":
        _hotloop._end_of_request = None
        _hotloop._native_lane = None
        _reader_class = RequestReader
        hll_pattern_list = None
        _keytable_class = dict
        _deadline_table_class = dict
        _deadline_heap_class = _PythonDeadlineHeap
        append_command = _python_append_command
    else:
        raise ValueError(implementation)
    IMPLEMENTATION = implementation


def new_reader(max_bulk_len: int) -> Any:
    """A request reader for a new client, of the kind the chosen implementation reads."""
    return _reader_class(max_bulk_len)


def new_keytable() -> Any:
    """An empty key -> value table for a database, of the kind the chosen implementation uses."""
    return _keytable_class()


def new_deadline_table() -> Any:
    """An empty key -> deadline (ms) table for a database, of the kind the implementation uses."""
    return _deadline_table_class()


def new_deadline_heap() -> Any:
    """An empty expiry heap for a database, of the kind the chosen implementation uses."""
    return _deadline_heap_class()


_reader_class: type[PythonRequestReader] = RequestReader
_keytable_class: Any = dict
_deadline_table_class: Any = dict
_deadline_heap_class: Any = _PythonDeadlineHeap
IMPLEMENTATION = "python"
if (
    os.environ.get("PYVALKEY_PURE_PYTHON", "") in ("", "0")
    and compiled_wire() is not None
    and compiled_lane() is not None
    and compiled_hll() is not None
    and compiled_keytable() is not None
):
    use("compiled")


def describe() -> str:
    return "compiled (Cython)" if IMPLEMENTATION == "compiled" else "pure Python"
