"""Clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK, ...).

How a blocking handler uses this module::

    @command("blpop")
    def blpop(client, argv):
        keys, timeout = argv[1:-1], parse_timeout(argv[-1], client)
        for key in keys:
            ... if an element is available: pop it and return the reply ...
        return client.server.blocking.block(client, keys, timeout, timeout_reply=NULL_ARRAY)

``block`` parks the client (its connection stops reading further commands) and returns
``NO_REPLY``. Whenever a key some client waits on is written (the keyspace change hook), the key
is marked ready; after the current top-level command, the dispatcher calls ``serve_ready``,
which re-runs each waiting client's command in FIFO order per key, as Valkey re-executes a
blocked command. If the command finds data it replies and the client is released; if it would
block again, ``block`` returns ``BLOCK_AGAIN`` and the client keeps its place and deadline.
With ``value_type`` a written key only triggers the re-run when it now holds a value of that
type, so BLPOP keeps waiting when its key is overwritten by a string (as Valkey does); a re-run
triggered by another of its keys may still meet a wrong-typed key and reply WRONGTYPE.

Inside MULTI/EXEC or a script (``client.deny_blocking``) a blocking command never blocks: it
gets its timeout reply at once.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Iterable, Optional

from pyvalkey.client import UNBLOCKED_ERROR
from pyvalkey.errors import ErrorReply
from pyvalkey.protocol.replies import NoReply

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

__all__ = ["Blocking", "BlockedOnKeys", "parse_timeout", "BLOCK_AGAIN"]

_LLONG_MAX = 2**63 - 1


class _BlockAgain(NoReply):
    """Returned by ``block`` during a re-run that still finds nothing: keep waiting."""

    __slots__ = ()


BLOCK_AGAIN = _BlockAgain()


def parse_timeout(arg: bytes, client: Client, unit_ms: int = 1000) -> int:
    """A blocking timeout argument (seconds, fractions allowed; ``unit_ms=1`` for milliseconds
    as XREAD BLOCK takes) -> absolute deadline in ms, or 0 for "wait forever"."""
    from pyvalkey.commands.parsing import parse_int

    if unit_ms == 1:
        value = parse_int(arg)
        if value is None:
            raise ErrorReply(b"ERR timeout is not an integer or out of range")
        millis = value
    else:
        millis = _seconds_to_ms(arg)
    if millis < 0:
        raise ErrorReply(b"ERR timeout is negative")
    if millis == 0:
        return 0
    now = client.server.keyspace.now_ms
    if millis > _LLONG_MAX - now:
        raise ErrorReply(b"ERR timeout is out of range")
    return now + millis


def _seconds_to_ms(arg: bytes) -> int:
    """Seconds as Valkey reads them (a long double: hex forms, 1e-400 ...), times 1000 rounded
    up (so a tiny positive timeout is 1 ms, and a tiny negative one is 0: wait forever)."""
    from pyvalkey.commands.strings import _Infinite, _NotFloat, parse_long_double

    try:
        negative, mant, exp = parse_long_double(arg)
    except _NotFloat:
        raise ErrorReply(b"ERR timeout is not a float or out of range") from None
    except _Infinite:
        if arg.startswith(b"-"):
            raise ErrorReply(b"ERR timeout is negative") from None
        raise ErrorReply(b"ERR timeout is out of range") from None
    scaled = mant * 1000
    if exp >= 0:
        whole, rest = scaled << exp, 0
    else:
        whole, rest = scaled >> -exp, scaled & ((1 << -exp) - 1)
    if negative:
        return -whole  # ceil of a negative value
    if whole > _LLONG_MAX or (whole == _LLONG_MAX and rest):
        raise ErrorReply(b"ERR timeout is out of range")
    return whole + 1 if rest else whole


class BlockedOnKeys:
    """``client.blocked`` while the client waits on keys."""

    __slots__ = (
        "client",
        "db",
        "keys",
        "deadline_ms",
        "timer",
        "timeout_reply",
        "command",
        "argv",
        "rerunning",
        "value_type",
    )

    def __init__(
        self,
        client: Client,
        db: Database,
        keys: list[bytes],
        deadline_ms: int,
        timeout_reply: Any,
        command: Optional[Command],
        argv: list[bytes],
    ) -> None:
        self.client = client
        self.db = db
        self.keys = keys
        self.deadline_ms = deadline_ms
        self.timeout_reply = timeout_reply
        self.command = command
        self.argv = argv
        self.timer: Any = None
        self.rerunning = False
        self.value_type: Optional[type] = None

    # CLIENT UNBLOCK uses these two.
    unblockable = True

    def unblock(self, with_error: bool) -> None:
        manager = self.client.server.blocking
        manager.release(self.client, ErrorReply(UNBLOCKED_ERROR) if with_error else self.timeout_reply)


class Blocking:
    def __init__(self, server: Server) -> None:
        self.server = server
        # (db index, key) -> clients waiting, in the order they blocked
        self.waiting: dict[tuple[int, bytes], deque[Client]] = {}
        self.ready: dict[tuple[int, bytes], None] = {}  # insertion-ordered set
        self.blocked_clients = 0
        self._listening = False
        server.client_close_hooks.append(self._client_closed)

    # -- parking -------------------------------------------------------------------------------

    def block(
        self,
        client: Client,
        keys: Iterable[bytes],
        deadline_ms: int,
        timeout_reply: Any,
        value_type: Optional[type] = None,
    ) -> Any:
        """Park ``client`` until a key in ``keys`` is written or ``deadline_ms`` (0 = never).

        With ``value_type``, a written key wakes the client only if it now holds a value of that
        type: BLPOP keeps waiting when its key becomes a string, as in Valkey."""
        state = client.blocked
        if isinstance(state, BlockedOnKeys) and state.rerunning:
            self._uncount(client)
            return BLOCK_AGAIN
        if client.deny_blocking:
            return timeout_reply
        self._uncount(client)
        keys = list(dict.fromkeys(keys))
        state = BlockedOnKeys(
            client, client.db, keys, deadline_ms, timeout_reply, client.current_command, client.current_argv
        )
        state.value_type = value_type
        client.blocked = state
        self.blocked_clients += 1
        index = client.db.index
        for key in keys:
            self.waiting.setdefault((index, key), deque()).append(client)
        self._listen(True)
        if deadline_ms:
            loop = self.server.loop
            if loop is not None:
                delay = max(deadline_ms - self.server.clock.ms(), 0) / 1000.0
                state.timer = loop.call_later(delay, self._timed_out, client, state)
        return NoReply()

    # A blocked command counts as one call (commandstats, INFO's total_commands_processed,
    # CLIENT LIST cmd=), as in Valkey: the run that blocks and the re-runs that find nothing
    # are not counted; the re-run that serves the client counts as the dispatcher does, and a
    # release (timeout, CLIENT UNBLOCK) counts it here. ``_uncount`` runs inside the handler,
    # before the dispatcher's own counting, which it cancels.
    def _uncount(self, client: Client) -> None:
        command = client.current_command
        if command is not None:
            command.calls -= 1
        client.commands_processed -= 1
        self.server.stats.commands_processed -= 1

    def _count_release(self, client: Client, state: BlockedOnKeys, failed: bool) -> None:
        command = state.command
        if command is not None:
            command.calls += 1
            if failed:
                command.rejected_calls += 1  # where Valkey counts an UNBLOCKED error
        client.commands_processed += 1
        self.server.stats.commands_processed += 1

    def _timed_out(self, client: Client, state: BlockedOnKeys) -> None:
        if client.blocked is not state:
            return
        # The clock may have been moved by a test: only time out once the deadline has passed.
        remaining = state.deadline_ms - self.server.clock.ms()
        if remaining > 0 and self.server.loop is not None:
            state.timer = self.server.loop.call_later(remaining / 1000.0, self._timed_out, client, state)
            return
        self.release(client, state.timeout_reply)

    def check_deadlines(self) -> None:
        """Cron: release clients whose deadline passed on the server clock (time travel)."""
        now = self.server.clock.ms()
        for queue in list(self.waiting.values()):
            for client in list(queue):
                state = client.blocked
                if isinstance(state, BlockedOnKeys) and state.deadline_ms and state.deadline_ms <= now:
                    self.release(client, state.timeout_reply)

    def _forget(self, client: Client, state: BlockedOnKeys) -> None:
        if state.timer is not None:
            state.timer.cancel()
        index = state.db.index
        for key in state.keys:
            queue = self.waiting.get((index, key))
            if queue is not None:
                try:
                    queue.remove(client)
                except ValueError:
                    pass
                if not queue:
                    del self.waiting[(index, key)]
        self.blocked_clients -= 1
        client.blocked = None
        if not self.waiting:
            self._listen(False)

    def release(self, client: Client, reply: Any) -> None:
        """Unblock ``client`` with ``reply`` and let it go on with its buffered commands."""
        state = client.blocked
        if not isinstance(state, BlockedOnKeys):
            return
        self._forget(client, state)
        self.server.dispatcher.write_reply(client, reply)
        failed = isinstance(reply, ErrorReply)
        if failed:
            self.server.stats.count_error(reply.message)
        self._count_release(client, state, failed)
        self._resume(client)

    def _resume(self, client: Client) -> None:
        transport = client.transport
        if transport is None or client.closed:
            return
        transport.flush()
        loop = self.server.loop
        if loop is not None and hasattr(transport, "resume"):
            loop.call_soon(transport.resume)

    def _client_closed(self, client: Client) -> None:
        state = client.blocked
        if isinstance(state, BlockedOnKeys):
            self._forget(client, state)

    # Added by the streams work (INFO clients): Valkey's total_blocking_keys and
    # total_blocking_keys_on_nokey. A waiter without ``value_type`` (XREADGROUP) is woken by any
    # change of its key, deletion included: that is Valkey's "unblock on missing key" kind.
    def key_counts(self) -> tuple[int, int]:
        on_nokey = 0
        for queue in self.waiting.values():
            for waiter in queue:
                state = waiter.blocked
                if isinstance(state, BlockedOnKeys) and state.value_type is None:
                    on_nokey += 1
                    break
        return len(self.waiting), on_nokey

    # -- waking --------------------------------------------------------------------------------

    def _listen(self, on: bool) -> None:
        if on == self._listening:
            return
        keyspace = self.server.keyspace
        if on:
            keyspace.change_listeners.append(self._key_changed)
        else:
            keyspace.change_listeners.remove(self._key_changed)
        self._listening = on
        keyspace.update_hooks()

    def _key_changed(self, db: Database, key: bytes) -> None:
        entry = (db.index, key)
        if entry in self.waiting:
            self.ready[entry] = None

    def signal_database(self, db: Database) -> None:
        """Every waited-on key of ``db`` may have changed (SWAPDB, FLUSH*, MOVE of many keys)."""
        for index, key in list(self.waiting):
            if index == db.index:
                self.ready[(index, key)] = None

    def _peek(self, index: int, key: bytes) -> Any:
        """The key's value for deciding whom to wake: an expired key counts as missing but is
        not deleted here (Valkey looks without side effects; the deletion is propagated later,
        by whatever command meets the key)."""
        db = self.server.keyspace.dbs[index]
        value = db.data.get(key)
        if value is not None and db.expires:
            deadline = db.expires.get(key)
            if deadline is not None and deadline <= self.server.clock.ms():
                return None
        return value

    def serve_ready(self) -> None:
        """Re-run the commands of clients waiting on keys that were written. Serving one client
        can make more keys ready (BLMOVE pushes), so this loops until nothing is left."""
        dispatcher = self.server.dispatcher
        while self.ready:
            entry = next(iter(self.ready))
            del self.ready[entry]
            queue = self.waiting.get(entry)
            if not queue:
                continue
            value = self._peek(entry[0], entry[1])
            for client in list(queue):
                state = client.blocked
                if not isinstance(state, BlockedOnKeys) or state.command is None:
                    continue
                if state.value_type is not None and type(value) is not state.value_type:
                    continue
                if client.db is not state.db:
                    client.db = state.db
                acl = getattr(self.server, "acl", None)  # pyvalkey/acl.py
                if acl is not None and acl.installed:
                    # The user's rules may have changed while it waited: Valkey checks again.
                    denied = acl.pre_check(client, state.command, state.argv)
                    if denied is not None:
                        self.release(client, denied)
                        continue
                state.rerunning = True
                out_before = len(client.out)
                try:
                    reply = dispatcher.call(client, state.command, state.argv)
                finally:
                    state.rerunning = False
                if reply is BLOCK_AGAIN:
                    del client.out[out_before:]
                    continue
                if dispatcher.propagator.unit:
                    dispatcher.propagator.end_unit()
                self._forget(client, state)
                self._resume(client)
