"""Lazy freeing: large values dropped by a background thread, as Valkey frees them off its main
thread.

UNLINK (and DEL with ``lazyfree-lazy-user-del``), FLUSHALL / FLUSHDB ASYNC (and without an option
under ``lazyfree-lazy-user-flush``) hand what they removed to one worker thread, which drops the
last reference. Python still frees under the GIL, but in that thread's time slices, so the
command returns at once instead of after the whole deallocation. A value counts as large by
Valkey's measure of free effort (more than 64 allocations: quicklist nodes, hash-table entries,
skiplist nodes, stream nodes and PEL entries); smaller ones are dropped on the spot, as Valkey
does. INFO memory's ``lazyfree_pending_objects`` and ``lazyfreed_objects`` count as Valkey's do
(a flushed database counts its keys).

Keys removed by expiry, eviction or overwrite are freed where they are removed.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyvalkey.server import Server

LAZYFREE_THRESHOLD = 64


def free_effort(value: Any) -> int:
    """How many allocations freeing ``value`` takes, as Valkey estimates it."""
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return 1
    type_name = getattr(value, "TYPE_NAME", None)
    if type_name == b"list":
        nodes = value.nodes
        return 1 if nodes is None else len(nodes)
    if type_name in (b"set", b"hash", b"zset"):
        return len(value) if value.encoding() in (b"hashtable", b"skiplist") else 1
    if type_name == b"stream":
        effort = value.node_count()
        groups = value.groups
        if groups:
            first = next(iter(groups.values()))
            effort += len(groups) * (1 + len(first.pel))
        return effort
    return 1


class LazyFreeStats:
    """Per-server counters (INFO memory); the worker thread is shared by every server."""

    def __init__(self) -> None:
        self.pending = 0
        self.freed = 0
        self.lock = threading.Lock()

    def done(self, count: int) -> None:
        with self.lock:
            self.pending -= count
            self.freed += count


_jobs: queue.SimpleQueue[tuple[Any, int, LazyFreeStats]] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def _work() -> None:
    while True:
        value, count, stats = _jobs.get()
        del value  # the last reference: the memory goes here, in this thread
        stats.done(count)


def _submit(value: Any, count: int, stats: LazyFreeStats) -> None:
    global _worker
    if _worker is None:
        with _worker_lock:
            if _worker is None:
                _worker = threading.Thread(target=_work, name="pyvalkey-lazyfree", daemon=True)
                _worker.start()
    with stats.lock:
        stats.pending += count
    _jobs.put((value, count, stats))


def stats_of(server: Server) -> LazyFreeStats:
    stats: LazyFreeStats | None = getattr(server, "lazyfree", None)
    if stats is None:
        stats = LazyFreeStats()
        server.lazyfree = stats  # type: ignore[attr-defined]
    return stats


def free_value(server: Server, value: Any) -> None:
    """Drop ``value`` (already removed from the keyspace) in the background if it is large."""
    if free_effort(value) > LAZYFREE_THRESHOLD:
        _submit(value, 1, stats_of(server))


def free_database(server: Server, contents: Any, keys: int) -> None:
    """Drop a flushed database's old tables in the background (counted as its keys)."""
    if keys:
        _submit(contents, keys, stats_of(server))
