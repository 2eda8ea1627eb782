"""``maxmemory``: evict keys by ``maxmemory-policy``, or refuse commands that may grow the data.

Valkey counts every allocation it makes. A Python process can see its resident set size and,
through glibc, what malloc holds free for reuse; INFO's ``used_memory`` is the difference
(pyvalkey/info.py). That follows large values (malloc's) as Valkey's count would, but not small
objects: Python's own allocator keeps the room of freed small objects without saying so. So the
figure compared with the limit is ``used_memory`` minus a *credit*: the estimated size of the small
objects this guard evicted, which the process will reuse before its memory grows again. Writes
spend the credit (by the size of their small arguments), so the estimate climbs back as the freed
room fills up, and a server at its limit evicts about as much as it is sent. The figure is
re-read by cron, after writes and at most once a millisecond otherwise, only while a limit is set.

Over the limit, before a command runs (and at once when ``maxmemory`` is lowered):

* with an eviction policy, keys are evicted until the estimate is under the limit or no key
  qualifies: each pick samples ``maxmemory-samples`` keys per database (all keys, or only those
  with a TTL for ``volatile-*``) and takes the least recently used (``*-lru``; ``*-lfu`` uses the
  same idle clock, since keys carry no access counter here), the nearest deadline
  (``volatile-ttl``) or the first sampled (``*-random``). An evicted key is reported like Valkey's:
  ``evicted`` keyspace event, ``evicted_keys`` in INFO, tracking invalidation, and a DEL (UNLINK
  with ``lazyfree-lazy-eviction``) in the AOF and the replication stream;
* if still over (``noeviction``, or nothing left to evict), commands flagged ``denyoom``, and an
  EXEC whose queue holds such a command, get ``-OOM`` (a denyoom command sent inside MULTI is
  refused, which aborts the EXEC).

The check is a dispatcher pre-check present only while ``maxmemory`` is set, so servers without
a limit pay nothing for it. A replica with ``replica-ignore-maxmemory`` leaves eviction to its
primary.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pyvalkey.protocol.replies import ErrorReply
from pyvalkey.storage.database import NOTIFY_EVICTED

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

OOM_ERROR = b"OOM command not allowed when used memory > 'maxmemory'."

# Commands whose denyoom flag depends on their arguments: EVAL/EVALSHA/FCALL (and the _RO forms)
# take it from the flags the script or function declares. Filled by pyvalkey/commands/scripting.py
# when imported (which happens on the first EVAL/FCALL, after this check); consulted only while
# over the limit.
DYNAMIC_DENYOOM: dict[str, Callable[[Client, list[bytes]], bool]] = {}


def _denyoom(client: Client, cmd: Command, argv: list[bytes]) -> bool:
    if cmd.denyoom:
        return True
    from pyvalkey.commands.registry import load_hook_modules

    load_hook_modules("denyoom")
    dynamic = DYNAMIC_DENYOOM.get(cmd.fullname)
    return dynamic is not None and dynamic(client, argv)


# A write is assumed to allocate its arguments plus about this much for the key's entry.
_WRITE_OVERHEAD = 64
# Objects up to this size come from Python's small-object allocator (512 bytes with the header);
# larger ones from malloc, whose free room ``used_memory`` already leaves out.
_SMALL_OBJECT = 512
_BYTES_HEADER = 33


def _small_share(data: bytes) -> int:
    size = len(data) + _BYTES_HEADER
    return size if size <= _SMALL_OBJECT else 0
# Key samples for eviction are drawn from a snapshot of a database's keys, rebuilt when this
# share of it has been evicted or has changed (rebuilding costs a pass over the keys).
_SNAPSHOT_STALE_SHARE = 4


class _KeySampler:
    """Random keys of one database (all keys or those with a TTL), in O(1) per draw."""

    __slots__ = ("drawn", "keys", "size_at_build")

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.size_at_build = -1
        self.drawn = 0

    def sample(self, source: dict[bytes, Any], count: int) -> list[bytes]:
        size = len(source)
        if not size:
            return []
        import random  # here, not at start-up
        if size <= count:
            return list(source)
        stale = max(size, self.size_at_build) // _SNAPSHOT_STALE_SHARE
        if abs(size - self.size_at_build) > stale or self.drawn > stale:
            self.keys = list(source)
            self.size_at_build = size
            self.drawn = 0
        keys = self.keys
        picked: list[bytes] = []
        for _ in range(count * 4):  # a few misses on keys gone since the snapshot are fine
            key = keys[random.randrange(len(keys))]
            if key in source:
                picked.append(key)
                if len(picked) == count:
                    break
        self.drawn += 1
        return picked


class MemoryGuard:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.measured = 0  # ``used_memory`` at the last refresh
        self.credit = 0  # estimated small-object bytes evicted that the process has not reused
        self.pending = 0  # malloc'd bytes evicted since ``measured`` was read (the next read shows them)
        self.active = False
        self._refreshed_ns = 0
        self._wrote = False
        self._samplers: dict[tuple[int, bool], _KeySampler] = {}
        server.cron_jobs.append(self._cron)

    @property
    def used(self) -> int:
        """The memory figure compared with ``maxmemory``."""
        return max(self.measured - self.credit - self.pending, 0)

    def refresh(self) -> None:
        from pyvalkey.info import used_memory

        self.measured = used_memory()
        self.pending = 0
        self._refreshed_ns = time.monotonic_ns()
        self._wrote = False

    def configure(self) -> None:
        """Install or remove the pre-check to match the current ``maxmemory``; a lowered limit
        evicts at once, as in Valkey."""
        checks = self.server.dispatcher.pre_checks
        wanted = self.server.config.maxmemory > 0
        if wanted:
            self.refresh()
        if wanted and not self.active:
            # Ahead of the MULTI queueing check: a denyoom command sent inside MULTI is refused
            # (and dooms the EXEC), as Valkey checks memory before queueing.
            checks.insert(0, self.check)
        elif not wanted and self.active:
            checks.remove(self.check)
            self.credit = 0
        self.active = wanted
        if wanted:
            self.evict_if_needed()

    def _cron(self) -> None:
        if self.active:
            self.refresh()

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any | None:
        if self._wrote or time.monotonic_ns() - self._refreshed_ns > 1_000_000:
            self.refresh()
        if cmd.denyoom and self.credit:
            spent = _WRITE_OVERHEAD
            for arg in argv:
                spent += _small_share(arg)
            self.credit = max(self.credit - spent, 0)
        if self.used > self.server.config.maxmemory and not self._evict_before_command():
            reject = _denyoom(client, cmd, argv)
            multi = client.multi
            if multi is not None and cmd.name == b"exec":
                reject = any(_denyoom(client, queued, queued_argv) for queued, queued_argv in multi.commands)
            if reject:
                return ErrorReply(OOM_ERROR)
        if cmd.denyoom:
            self._wrote = True
        return None

    # -- eviction ------------------------------------------------------------------------------

    def _evict_before_command(self) -> bool:
        fits = self.evict_if_needed()
        # What the evictions announced (tracking invalidations, keyspace events) is delivered
        # before the reply to the command about to run, as Valkey evicts before running it.
        from pyvalkey.pubsub import pubsub_state

        pubsub = pubsub_state(self.server)
        if pubsub.pending:
            pubsub.flush_pending(None)
        return fits

    def evict_if_needed(self) -> bool:
        """Evict until under the limit; False if still over it (nothing, or nothing more, to
        evict)."""
        server = self.server
        config = server.config
        limit = config.maxmemory
        if self.used <= limit:
            return True
        policy = str(config.maxmemory_policy)
        if policy == "noeviction":
            return False
        keyspace = server.keyspace
        if keyspace.is_replica and config.replica_ignore_maxmemory:
            return True
        volatile = policy.startswith("volatile-")
        samples = config.maxmemory_samples
        if config.latency_monitor_threshold:
            started = time.perf_counter_ns()
            try:
                return self._evict_until(limit, volatile, policy, samples)
            finally:
                from pyvalkey.latency import monitor

                monitor(server).add_sample_if_needed("eviction-cycle", (time.perf_counter_ns() - started) // 1_000_000)
        return self._evict_until(limit, volatile, policy, samples)

    def _evict_until(self, limit: int, volatile: bool, policy: str, samples: int) -> bool:
        from pyvalkey.commands.server import estimate_value_size

        while self.used > limit:
            picked = self._pick(volatile, policy, samples)
            if picked is None:
                return False
            db, key = picked
            value = db.data.get(key)
            if type(value) is bytes or type(value) is bytearray:
                small = _small_share(value)
                self.pending += len(value) + _BYTES_HEADER - small
            else:
                small = estimate_value_size(value, samples)  # mostly small elements
            self.credit += _small_share(key) + _WRITE_OVERHEAD + small
            self._evict(db, key)
        return True

    def _pick(self, volatile: bool, policy: str, samples: int) -> tuple[Database, bytes] | None:
        best: tuple[Database, bytes] | None = None
        best_score = 0
        by_ttl = policy == "volatile-ttl"
        by_idle = policy.endswith(("-lru", "-lfu"))
        keyspace = self.server.keyspace
        for db in keyspace.dbs:
            source = db.expires if volatile else db.data
            if not source:
                continue
            sampler = self._samplers.get((db.index, volatile))
            if sampler is None:
                sampler = self._samplers[(db.index, volatile)] = _KeySampler()
            for key in sampler.sample(source, samples):
                if by_ttl:
                    score = -db.expires[key]
                elif by_idle:
                    score = keyspace.lru_clock - db.access.get(key, keyspace.lru_clock)
                else:
                    return db, key
                if best is None or score > best_score:
                    best, best_score = (db, key), score
        return best

    def _evict(self, db: Database, key: bytes) -> None:
        server = self.server
        keyspace = server.keyspace
        db.remove(key)
        keyspace.evicted_keys = getattr(keyspace, "evicted_keys", 0) + 1
        keyspace.dirty += 1
        if keyspace.notify_flags & NOTIFY_EVICTED:
            keyspace.notify(db, NOTIFY_EVICTED, b"evicted", key)
        if keyspace.hooks_active:
            keyspace.key_changed(db, key, False)
        propagator = server.propagator
        if propagator.active:
            command = b"UNLINK" if server.config.lazyfree_lazy_eviction else b"DEL"
            propagator.emit_now(db.index, [command, key])
