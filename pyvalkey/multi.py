"""MULTI state and WATCH bookkeeping (Valkey's multi.c).

Per client:

* ``client.multi`` is a ``MultiState`` while the client is inside MULTI, None otherwise (CLIENT
  LIST shows ``x`` and ``multi=<queued>`` from it; the dispatcher calls ``flag_error()`` when a
  command is rejected before it could be queued, which makes EXEC fail with EXECABORT).
* ``client.watched_keys`` maps ``(db index, key)`` to "the key was already logically expired
  when WATCH was called" (Valkey's ``watchedKey.expired``), or is None.
* ``"dirty_cas"`` in ``client.flags`` once a watched key was touched: EXEC then replies with a
  null array.

Server wide, ``Transactions`` (``transactions(server)``) keeps the reverse index
``(db index, key) -> clients watching it`` and listens to key changes on the keyspace only while
somebody watches, so writes cost nothing extra otherwise. Every path that changes a key ends in
``Keyspace.key_changed`` (writes, deletions, lazy and active expiry, FLUSHDB/FLUSHALL and SWAPDB
signal every key they touch), which is where a watch is invalidated. A key watched while it was
already expired but not yet removed does not count as modified when it is finally removed; a
watched live key whose deadline passes counts as modified even if nobody removed it yet (checked
at EXEC, as Valkey's ``isWatchedKeyExpired``).

The dispatcher pre-check that queues commands inside MULTI (and refuses ``no_multi`` commands
there) is installed only while at least one client is inside MULTI; see ``PreCheckSlot``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.errors import ErrorReply
from pyvalkey.info import register_values
from pyvalkey.protocol.replies import QUEUED

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

__all__ = ["DIRTY_CAS", "MultiState", "PreCheckSlot", "Transactions", "transactions"]

DIRTY_CAS = "dirty_cas"

# Commands that run at once even inside MULTI (MULTI and WATCH are no_multi and never get here).
_RUN_INSIDE_MULTI = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))

_NOT_IN_MULTI = b"ERR Command '%s' not allowed inside a transaction"


class PreCheckSlot:
    """A dispatcher pre-check present only while somebody needs it (reference counted), so the
    dispatcher's hot path pays nothing when no client uses the feature."""

    __slots__ = ("check", "server", "users")

    def __init__(self, server: Server, check: Callable[[Client, Command, list[bytes]], Any]) -> None:
        self.server = server
        self.check = check
        self.users = 0

    def retain(self) -> None:
        self.users += 1
        if self.users == 1:
            self.server.dispatcher.pre_checks.append(self.check)

    def release(self) -> None:
        if self.users <= 0:
            return
        self.users -= 1
        if self.users == 0:
            try:
                self.server.dispatcher.pre_checks.remove(self.check)
            except ValueError:
                pass


class MultiState:
    """``client.multi`` between MULTI and EXEC/DISCARD."""

    __slots__ = ("argv_mem", "client", "commands", "dirty_exec", "may_replicate")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.commands: list[tuple[Command, list[bytes]]] = []
        self.dirty_exec = False
        self.argv_mem = 0
        self.may_replicate = False

    def __len__(self) -> int:
        return len(self.commands)

    @property
    def dirty(self) -> bool:
        """A watched key changed: EXEC will abort (CLIENT LIST flag ``d``)."""
        return DIRTY_CAS in self.client.flags

    def flag_error(self) -> None:
        """A command failed before it could be queued: EXEC must abort. Like Valkey, the queue
        is dropped at once since it will never run."""
        self.dirty_exec = True
        self.clear_queue()

    def clear_queue(self) -> None:
        self.commands = []
        self.argv_mem = 0
        self.may_replicate = False

    def queue(self, cmd: Command, argv: list[bytes]) -> None:
        if self.dirty_exec or DIRTY_CAS in self.client.flags:
            return  # the transaction cannot run: no point keeping the command
        self.commands.append((cmd, argv))
        # Valkey's multi-mem: argument bytes plus one object pointer per argument.
        self.argv_mem += sum(len(arg) for arg in argv) + 8 * len(argv)
        if not self.may_replicate and command_may_replicate(self.client, cmd, argv):
            self.may_replicate = True

    def discard(self) -> None:
        """Used by RESET (connection.reset_client): leave MULTI and drop every watch."""
        transactions(self.client.server).discard(self.client)


class Transactions:
    """Server-wide MULTI/WATCH state: the reverse watch index and the MULTI pre-check."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.watchers: dict[tuple[int, bytes], dict[Client, None]] = {}
        self.watching_clients = 0
        self.slot = PreCheckSlot(server, self._pre_check)
        self._listening = False
        self._touching = False  # inside the keyspace's listener loop: do not detach now
        self.suspended = False  # SWAPDB signals its keys itself (see ``swapped``)
        server.client_close_hooks.append(self._client_closed)

    # -- MULTI ---------------------------------------------------------------------------------

    def begin(self, client: Client) -> None:
        client.multi = MultiState(client)
        if client.watched_keys is None:
            # Valkey keeps a client's transaction state once MULTI or WATCH created it: CLIENT
            # LIST then says multi=0 instead of -1 (see commands/client.py)
            client.watched_keys = {}
        self.slot.retain()

    def leave(self, client: Client) -> None:
        """Leave MULTI (after EXEC or DISCARD), keep nothing of the transaction."""
        if client.multi is not None:
            client.multi = None
            self.slot.release()

    def discard(self, client: Client) -> None:
        """Valkey's discardTransaction: out of MULTI, no watches, no dirty flag."""
        self.leave(client)
        client.flags.discard(DIRTY_CAS)
        self.unwatch_all(client)

    def _pre_check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        multi = client.multi
        if multi is None:
            return None
        if cmd.no_multi:
            return ErrorReply(_NOT_IN_MULTI % cmd.fullname.encode())
        if cmd.fullname in _RUN_INSIDE_MULTI:
            return None
        multi.queue(cmd, argv)
        client.last_command = cmd.fullname
        self.server.dispatcher.write_reply(client, QUEUED)
        return True

    # -- WATCH ---------------------------------------------------------------------------------

    def watch(self, client: Client, keys: list[bytes]) -> None:
        if DIRTY_CAS in client.flags:
            return  # EXEC will fail anyway
        watched = client.watched_keys
        if watched is None:
            watched = client.watched_keys = {}
        if not watched:
            self.watching_clients += 1
        db = client.db
        index = db.index
        for key in keys:
            entry = (index, key)
            if entry in watched:
                continue
            watched[entry] = _is_expired(db, key)
            self.watchers.setdefault(entry, {})[client] = None
        self._listen(bool(self.watchers))

    def unwatch_all(self, client: Client) -> None:
        watched = client.watched_keys
        if not watched:
            return
        watchers = self.watchers
        for entry in watched:
            clients = watchers.get(entry)
            if clients is not None:
                clients.pop(client, None)
                if not clients:
                    del watchers[entry]
        watched.clear()
        self.watching_clients -= 1
        self._listen(bool(watchers))

    def any_watched_expired(self, client: Client) -> bool:
        """At EXEC: a watched key that was live at WATCH time has passed its deadline."""
        watched = client.watched_keys
        if not watched:
            return False
        dbs = self.server.keyspace.dbs
        for (index, key), was_expired in watched.items():
            if not was_expired and index < len(dbs) and _is_expired(dbs[index], key):
                return True
        return False

    def _mark_dirty(self, client: Client) -> None:
        client.flags.add(DIRTY_CAS)
        if client.multi is not None:
            client.multi.clear_queue()

    def _key_changed(self, db: Database, key: bytes) -> None:
        if self.suspended:
            return
        entry = (db.index, key)
        clients = self.watchers.get(entry)
        if not clients:
            return
        self._touching = True
        try:
            self._touch(db, key, entry, clients)
        finally:
            self._touching = False
        if not self.watchers:
            self._detach_later()

    def _touch(self, db: Database, key: bytes, entry: tuple[int, bytes], clients: dict[Client, None]) -> None:
        for client in list(clients):
            watched = client.watched_keys
            if watched is None or entry not in watched:
                continue
            if watched[entry]:
                # Watched while already expired: its removal is no logical change.
                if key not in db.data:
                    watched[entry] = False
                    continue
                # Valkey stops touching watchers of this key here.
                break
            self._mark_dirty(client)
            # Nothing more can happen to a dirty client: drop its watches early, as Valkey does.
            self.unwatch_all(client)

    def swapped(self, first: Database, second: Database) -> None:
        """After SWAPDB exchanged the contents of two databases: a watched key is touched if it
        was present before or is present now, except that a stale key (past its deadline, not
        yet removed) is no logical change: a missing key replaced by a stale one, a stale one
        replaced by another stale one, or a key watched while stale that is now gone."""
        for db, former in ((first, second), (second, first)):
            # ``db`` holds what ``former`` had; ``former`` holds db's previous contents.
            for entry, clients in list(self.watchers.items()):
                index, key = entry
                if index != db.index:
                    continue
                was_there = key in former.data
                is_there = key in db.data
                if not (was_there or is_there):
                    continue
                for client in list(clients):
                    watched = client.watched_keys
                    if watched is None or entry not in watched:
                        continue
                    if watched[entry]:
                        if not is_there:
                            watched[entry] = False
                            continue
                        if _is_expired(db, key):
                            continue
                    elif not was_there and _is_expired(db, key):
                        watched[entry] = True
                        continue
                    self._mark_dirty(client)
                    self.unwatch_all(client)
        if not self.watchers:
            self._listen(False)

    def _detach_later(self) -> None:
        """Stop listening once the keyspace has finished calling its listeners (removing one
        while it iterates them would skip the next)."""
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon(lambda: self._listen(bool(self.watchers)))

    def _listen(self, on: bool) -> None:
        if on == self._listening:
            return
        if not on and self._touching:
            return  # _key_changed detaches later
        keyspace = self.server.keyspace
        if on:
            keyspace.change_listeners.append(self._key_changed)
        else:
            keyspace.change_listeners.remove(self._key_changed)
        self._listening = on
        keyspace.update_hooks()

    def _client_closed(self, client: Client) -> None:
        self.leave(client)
        self.unwatch_all(client)

    # -- INFO ----------------------------------------------------------------------------------

    def total_watched_keys(self) -> int:
        return len(self.watchers)


# Flagged may-replicate in Valkey without COMMAND INFO (hence commands.json) showing it.
_HIDDEN_MAY_REPLICATE = frozenset(("publish", "spublish", "pfcount"))
_SCRIPT_CALLS = frozenset(("eval", "evalsha", "fcall"))


def command_may_replicate(client: Client, cmd: Command, argv: list[bytes]) -> bool:
    """Whether running ``argv`` may write or replicate (what CLIENT PAUSE WRITE holds back and
    what makes a queued transaction a writing one). For EVAL/EVALSHA/FCALL the script's own
    flags decide, as Valkey's getCommandFlags does: only a script declared ``no-writes`` is
    read-only; an unknown script or function counts as writing."""
    if cmd.is_write or cmd.may_replicate:
        return True
    name = cmd.fullname
    if name in _HIDDEN_MAY_REPLICATE:
        return True
    if name not in _SCRIPT_CALLS:
        return False
    from pyvalkey.scripting.state import declared_flags

    declared = declared_flags(client.server, name, argv)
    if declared is None:
        return True  # an unknown script or function counts as writing
    flags, shebang = declared
    return not shebang or b"no-writes" not in flags


def _is_expired(db: Database, key: bytes) -> bool:
    """Valkey's keyIsExpired: present in the table but past its deadline (not removed here)."""
    if key not in db.data:
        return False
    deadline = db.expires.get(key)
    return deadline is not None and deadline <= db.keyspace.now_ms


def transactions(server: Server) -> Transactions:
    """The server's MULTI/WATCH state, created on first use."""
    state: Transactions | None = getattr(server, "transactions", None)
    if state is None:
        state = Transactions(server)
        server.transactions = state  # type: ignore[attr-defined]
    return state


def _info_clients(server: Server) -> dict[str, Any]:
    state: Transactions | None = getattr(server, "transactions", None)
    if state is None:
        return {}
    return {"watching_clients": state.watching_clients, "total_watched_keys": state.total_watched_keys()}


register_values("clients", _info_clients)
