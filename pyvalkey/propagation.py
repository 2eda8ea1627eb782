"""The write feed: what the server tells the AOF and its replicas, in execution order.

Everything that changes data reaches the sinks (AOF, replication stream) through this one
object, fed by the dispatcher:

* After each command whose run changed the dirty counter, the command is recorded as it was
  executed: its argv (which a handler may have rewritten in place, as EXPIRE does), or the
  commands a handler asked for with ``rewrite`` (``SET k v EX 10`` becomes ``SET k v PXAT <ms>``,
  ``GETDEL`` becomes ``DEL``, a served BLPOP becomes LPOP ...). A command that ran other commands
  (EXEC, EVAL, FCALL) is not recorded itself: the commands it ran are.
* Everything recorded while one top-level command runs is one execution unit. At its end the
  unit goes to every sink, wrapped in MULTI/EXEC when it holds more than one command, so a
  transaction or a script is applied atomically by replicas and on AOF load.
* Keys removed by expiry are sent at once and on their own (``emit_now``), before the command
  that met them, as Valkey does.

When nothing listens (no AOF, no replica) ``active`` is False and the dispatcher skips all of
this with one attribute check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

__all__ = ["Propagator", "ReplicationOnly", "Sink", "append_command", "encode_commands"]

Unit = list[tuple[int, list[bytes]]]  # (database index, argv) in order


class ReplicationOnly(list):  # type: ignore[type-arg]
    """An argv meant for replicas only, never for the AOF: PUBLISH and SPUBLISH, which Valkey
    forwards so that a replica's subscribers get the message too, but does not persist."""


def persistent_part(unit: Unit) -> Unit:
    """What of ``unit`` the AOF keeps: no replication-only commands, and no MULTI/EXEC left
    around nothing."""
    for entry in unit:
        if type(entry[1]) is ReplicationOnly:
            break
    else:
        return unit  # the common case, checked without building a list
    kept = [entry for entry in unit if type(entry[1]) is not ReplicationOnly]
    if len(kept) == 2 and kept[0][1] == [b"MULTI"]:
        return []
    return kept


class Sink(Protocol):
    def feed(self, unit: Unit) -> None: ...


def encode_commands(commands: list[list[bytes]]) -> bytes:
    """RESP multibulk encoding of several commands (the AOF and replication wire format)."""
    parts = []
    for argv in commands:
        parts.append(b"*%d\r\n" % len(argv))
        for arg in argv:
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def append_command(out: bytearray, argv: list[bytes]) -> None:
    """Append one command to ``out`` in that format. The feeds call it as
    ``pyvalkey._speedups.append_command``: this, or its compiled twin in lane.pyx."""
    out += encode_commands([argv])


class Propagator:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.sinks: list[Sink] = []
        self.active = False
        self.unit: Unit = []
        self.calls = 0  # calls started, to tell a command that ran others (EXEC, EVAL)
        self._rewritten: list[list[bytes]] | None = None
        server.keyspace.expire_listeners.append(self._key_expired)

    # -- sinks ---------------------------------------------------------------------------------

    def attach(self, sink: Sink) -> None:
        self.sinks.append(sink)
        self.active = True

    def detach(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
        self.active = bool(self.sinks)

    # -- handlers ------------------------------------------------------------------------------

    def rewrite(self, *commands: list[bytes]) -> None:
        """Propagate ``commands`` instead of the running command (none: propagate nothing)."""
        if self.active:
            self._rewritten = list(commands)

    # -- dispatcher ----------------------------------------------------------------------------

    def record(self, db_index: int, argv: list[bytes], changed: bool, ran_others: bool) -> None:
        """A command finished; keep what it did for the current execution unit."""
        rewritten = self._rewritten
        if rewritten is not None:
            self._rewritten = None
            for command in rewritten:
                self.unit.append((db_index, command))
        elif changed and not ran_others:
            self.unit.append((db_index, list(argv)))

    def feed_write(self, db_index: int, argv: list[bytes]) -> None:
        """``record`` and ``end_unit`` at once for a top-level command that changed data, ran
        no other command and rewrote nothing (the compiled lane's SET and INCR): its unit is
        itself. ``argv`` is the caller's to give away."""
        if self.unit or self._rewritten is not None:
            self.record(db_index, argv, True, False)
            self.end_unit()
            return
        unit = [(db_index, argv)]
        for sink in self.sinks:
            sink.feed(unit)

    def end_unit(self) -> None:
        """The top-level command is done: hand its writes to the sinks."""
        unit = self.unit
        if not unit:
            return
        self.unit = []
        if len(unit) > 1:
            # MULTI and EXEC belong to no database: a SELECT, if needed, comes after MULTI.
            unit = [(-1, [b"MULTI"]), *unit, (-1, [b"EXEC"])]
        for sink in self.sinks:
            sink.feed(unit)

    def emit_now(self, db_index: int, argv: list[bytes]) -> None:
        if self.active:
            for sink in self.sinks:
                sink.feed([(db_index, argv)])

    @property
    def lazy_expire_command(self) -> bytes:
        """How a key removed for being past its deadline is propagated (lazyfree-lazy-expire)."""
        return b"UNLINK" if self.server.config.lazyfree_lazy_expire else b"DEL"

    def _key_expired(self, db: Database, key: bytes) -> None:
        if self.active:
            self.emit_now(db.index, [self.lazy_expire_command, key])
