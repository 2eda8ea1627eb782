"""Client-side caching (Valkey's tracking.c): which clients cached which keys, and the
invalidation messages sent when those keys change.

State:

* ``client.tracking`` is a ``TrackingState`` while CLIENT TRACKING is on, else None.
* ``table`` maps a key name to the ids of the clients that read it (default mode). Keys are
  names only, whatever the database, as in Valkey. An entry is consumed by the first change of
  its key: everyone listed gets one invalidation and must read the key again to be told again.
* ``prefixes`` (BCAST mode) maps a prefix to the clients registered for it and to the keys
  changed under it since the last broadcast, each with the client that changed it last (for
  NOLOOP). Broadcasts go out once per event-loop turn, keys in byte order, as Valkey does from
  beforeSleep.

Hooks: keys read by a tracking client's read-only commands are remembered by the dispatcher's
``observe`` hook (after each executed command, so keys read inside EXEC count too); changes come
from ``keyspace.change_listeners`` (writes, expiry, eviction); FLUSHALL/FLUSHDB are wrapped so
that they send the single "everything is invalid" message (a null key list) instead of one
message per key. A dispatcher pre-check, present only while some client tracks, remembers which
client is running a command (NOLOOP compares against it) and enforces the table size limit.

Delivery: a RESP3 client receives ``>2 invalidate [keys]`` push messages; with REDIRECT the
messages go to the other client, as pushes when it speaks RESP3 or, when it is a RESP2 client in
pub/sub mode, as messages of the ``__redis__:invalidate`` channel. All messages are queued through
pub/sub's delivery queue, so the client running a command gets them after its reply.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.connection import RESET_HOOKS
from pyvalkey.commands.keyspec import KEY_NOT_KEY, keys_and_flags
from pyvalkey.info import register_values
from pyvalkey.multi import PreCheckSlot
from pyvalkey.pubsub import SUBSCRIBER, pubsub_state

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

__all__ = ["Tracking", "TrackingState", "tracking"]

_PUSH_HEAD = b">2\r\n$10\r\ninvalidate\r\n"
_CHANNEL_HEAD = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL_RESP2 = b"$-1\r\n"
_NULL_RESP3 = b"_\r\n"


# Read-only script commands: their KEYS are not tracked, only what the script reads.
_SCRIPT_RO = frozenset(("eval_ro", "evalsha_ro", "fcall_ro"))


class TrackingState:
    """``client.tracking``: the options of CLIENT TRACKING ON."""

    __slots__ = ("bcast", "broken_redirect", "caching", "noloop", "optin", "optout", "prefixes", "redirect")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False  # CLIENT CACHING given for the next command
        self.broken_redirect = False
        self.prefixes: dict[bytes, None] = {}


class _Prefix:
    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.clients: dict[Client, None] = {}
        self.keys: dict[bytes, Client | None] = {}  # changed key -> last client that changed it


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class Tracking:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.table: dict[bytes, dict[int, None]] = {}
        self.total_items = 0
        self.prefixes: dict[bytes, _Prefix] = {}
        self.clients = 0  # clients with tracking on
        self.current: Client | None = None  # the client running a command, for NOLOOP
        self.flushing = False
        self.listening = False
        self.limit_rounds = 0
        self.broadcast_scheduled = False
        self.broadcast_by: Client | None = None  # whose command scheduled the broadcast
        self.clear_scheduled = False
        self.slot = PreCheckSlot(server, self._before_command)
        self.pubsub = pubsub_state(server)
        server.client_close_hooks.append(self.disable)
        server.cron_jobs.append(self._cron)
        self._wrap_flushes()

    # -- enabling ------------------------------------------------------------------------------

    def enable(self, client: Client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        state = client.tracking
        if state is None:
            state = client.tracking = TrackingState()
            self.clients += 1
            self.slot.retain()
            self._update_observer()
            self._listen(True)
        state.broken_redirect = False
        state.redirect = redirect
        state.bcast = bcast
        state.optin = optin
        state.optout = optout
        state.noloop = noloop
        if bcast:
            for prefix in prefixes or [b""]:
                entry = self.prefixes.get(prefix)
                if entry is None:
                    entry = self.prefixes[prefix] = _Prefix()
                if client not in entry.clients:
                    entry.clients[client] = None
                    state.prefixes[prefix] = None

    def disable(self, client: Client) -> None:
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is not None:
                entry.clients.pop(client, None)
                if not entry.clients:
                    del self.prefixes[prefix]
        client.tracking = None
        self.clients -= 1
        self.slot.release()
        self._update_observer()
        if not self.clients:
            self._listen(False)
        if self.current is client:
            self.current = None

    def _listen(self, on: bool) -> None:
        if on == self.listening:
            return
        keyspace = self.server.keyspace
        if on:
            keyspace.change_listeners.append(self._key_changed)
            keyspace.expire_listeners.append(self._key_expired)
        else:
            keyspace.change_listeners.remove(self._key_changed)
            keyspace.expire_listeners.remove(self._key_expired)
        self.listening = on
        keyspace.update_hooks()

    def _update_observer(self) -> None:
        from pyvalkey.monitor import refresh_observer

        refresh_observer(self.server)

    # -- remembering keys ----------------------------------------------------------------------

    def observe(self, client: Client, cmd: Command, argv: list[bytes]) -> None:
        """After each executed command: remember the keys a tracking client read, and end a
        CLIENT CACHING decision once the command it was for has run."""
        if client.kind == "lua":
            # A script's reads are tracked for the client running the script; its CLIENT CACHING
            # decision lasts until the script's own command (EVAL, FCALL) ends.
            scripts = getattr(client.server, "scripting", None)
            ctx = scripts.running() if scripts is not None else None
            if ctx is None:
                return
            caller = ctx.caller
            state = caller.tracking
            if state is None:
                return
            wanted = not ((state.optin and not state.caching) or (state.optout and state.caching))
            if wanted and cmd.is_readonly and not state.bcast and "pubsub" not in cmd.flags:
                self._remember(caller, cmd, argv)
            return
        state = client.tracking
        if state is None:
            return
        wanted = not ((state.optin and not state.caching) or (state.optout and state.caching))
        if (
            wanted
            and cmd.is_readonly
            and not state.bcast
            and "pubsub" not in cmd.flags
            and cmd.fullname not in _SCRIPT_RO  # a script's own reads are tracked instead (above)
        ):
            self._remember(client, cmd, argv)
        if state.caching and client.multi is None and not cmd.fullname.startswith("client|"):
            state.caching = False

    def _remember(self, client: Client, cmd: Command, argv: list[bytes]) -> None:
        table = self.table
        client_id = client.id
        for pos, flags in keys_and_flags(cmd, argv):
            if flags & KEY_NOT_KEY:
                continue
            key = argv[pos]
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if client_id not in ids:
                ids[client_id] = None
                self.total_items += 1

    # -- invalidation --------------------------------------------------------------------------

    def _key_changed(self, db: Database, key: bytes) -> None:
        if self.flushing:
            return
        self.invalidate(key, self.current, True)

    def _key_expired(self, db: Database, key: bytes) -> None:
        """An expiry is the server's change, not the current client's: a BCAST NOLOOP client
        that wrote the key earlier in the same round must still hear about it."""
        if self.prefixes:
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys[key] = None
                    if not self.broadcast_scheduled:
                        self._schedule_broadcast()

    def invalidate(self, key: bytes, changer: Client | None, bcast: bool) -> None:
        if bcast and self.prefixes:
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys[key] = changer
                    if not self.broadcast_scheduled:
                        self._schedule_broadcast()
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.total_items -= len(ids)
        clients = self.server.clients
        current = self.current
        keys_reply = b"*1\r\n" + _bulk(key)
        for client_id in ids:
            target = clients.get(client_id)
            if target is None:
                continue
            state = target.tracking
            if state is None or state.bcast:
                continue
            if state.noloop and target is current:
                continue
            self._send(target, keys_reply)

    def _send(self, client: Client, payload: bytes) -> None:
        """sendTrackingMessage: one invalidation (``payload`` is the key array, or a null)."""
        state = client.tracking
        target = client
        redirected = False
        if state is not None and state.redirect:
            target = self.server.clients.get(state.redirect)  # type: ignore[assignment]
            if target is None or target.closed:
                state.broken_redirect = True
                if client.resp3:
                    self.pubsub._queue(client, b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % state.redirect)
                return
            redirected = True
        if target.resp3:
            self.pubsub._queue(target, _PUSH_HEAD + payload)
        elif redirected and SUBSCRIBER in target.flags:
            self.pubsub._queue(target, _CHANNEL_HEAD + payload)

    def flushed(self) -> None:
        """FLUSHALL/FLUSHDB: every tracking client is told that everything is invalid."""
        for client in list(self.server.clients.values()):
            if client.tracking is not None:
                self._send(client, _NULL_RESP3 if client.resp3 else _NULL_RESP2)
        self.table = {}
        self.total_items = 0

    def _wrap_flushes(self) -> None:
        from pyvalkey.commands.registry import COMMANDS

        for name in (b"flushall", b"flushdb"):
            cmd = COMMANDS.get(name)
            if cmd is None or getattr(cmd.handler, "tracking_wrapped", False):
                continue
            original = cmd.handler

            def wrapped(client: Client, argv: list[bytes], _original: Any = original) -> Any:
                state = tracking_of(client.server)
                if state is None:
                    return _original(client, argv)
                state.flushing = True
                try:
                    reply = _original(client, argv)
                finally:
                    state.flushing = False
                state.flushed()
                return reply

            wrapped.tracking_wrapped = True  # type: ignore[attr-defined]
            cmd.handler = wrapped

    # -- broadcast -----------------------------------------------------------------------------

    def _schedule_broadcast(self) -> None:
        loop = self.server.loop
        if loop is not None and not loop.is_closed():
            self.broadcast_scheduled = True
            self.broadcast_by = self.current
            loop.call_soon(self.broadcast)

    def broadcast(self) -> None:
        self.broadcast_scheduled = False
        self.broadcast_by = None
        for _, entry in sorted(self.prefixes.items()):  # Valkey walks prefixes in byte order
            if not entry.keys:
                continue
            keys = sorted(entry.keys.items())
            common = b"*%d\r\n" % len(keys) + b"".join(_bulk(key) for key, _ in keys)
            for client in list(entry.clients):
                state = client.tracking
                if state is not None and state.noloop:
                    mine = [key for key, changer in keys if changer is not client]
                    if mine:
                        self._send(client, b"*%d\r\n" % len(mine) + b"".join(_bulk(key) for key in mine))
                else:
                    self._send(client, common)
            entry.keys = {}
        # Into the clients' outputs at once (broadcasts run between commands), so that a reply
        # to a command read after this point cannot overtake them.
        if self.pubsub.pending:
            self.pubsub.flush_pending(None)

    # -- per command and cron ------------------------------------------------------------------

    def _before_command(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        if self.broadcast_scheduled and client is not self.broadcast_by:
            # Valkey broadcasts once the writer's batch of commands is done, before it serves
            # the next client; commands of two clients read in the same loop round must not
            # let the second one's reply overtake the broadcast.
            self.broadcast()
        self.current = client
        if not self.clear_scheduled:
            loop = self.server.loop
            if loop is not None and not loop.is_closed():
                # Changes made outside any command (active expiry) have no current client.
                self.clear_scheduled = True
                loop.call_soon(self._clear_current)
        limit = self.server.config.tracking_table_max_keys
        if limit and len(self.table) > limit:
            self.limit_table()
            # The command has not started: its client hears of the dropped keys before its
            # reply (even a QUEUED inside MULTI), as Valkey sends them right away.
            if self.pubsub.pending:
                self.pubsub.flush_pending(None)
        return None

    def _clear_current(self) -> None:
        self.clear_scheduled = False
        self.current = None

    def _cron(self) -> None:
        if self.clients:
            self.limit_table()

    def limit_table(self) -> None:
        """Keep the table within tracking-table-max-keys by invalidating random keys, with an
        effort that grows while the table stays over the limit (trackingLimitUsedSlots)."""
        limit = self.server.config.tracking_table_max_keys
        table = self.table
        if not limit or len(table) <= limit:
            self.limit_rounds = 0
            return
        effort = 100 * (self.limit_rounds + 1)
        while effort > 0 and table:
            effort -= 1
            key = random.choice(list(table)) if len(table) < 64 else next(iter(table))
            self.invalidate(key, None, False)
            if len(table) <= limit:
                self.limit_rounds = 0
                return
        self.limit_rounds += 1


def tracking_of(server: Server) -> Tracking | None:
    return getattr(server, "tracking", None)  # type: ignore[no-any-return]


def tracking(server: Server) -> Tracking:
    """The server's tracking state, created on first CLIENT TRACKING ON."""
    state = tracking_of(server)
    if state is None:
        state = Tracking(server)
        server.tracking = state  # type: ignore[attr-defined]
    return state


def _info_clients(server: Server) -> dict[str, Any]:
    state = tracking_of(server)
    return {"tracking_clients": state.clients if state is not None else 0}


def _info_stats(server: Server) -> dict[str, Any]:
    state = tracking_of(server)
    if state is None:
        return {}
    return {
        "tracking_total_keys": len(state.table),
        "tracking_total_items": state.total_items,
        "tracking_total_prefixes": len(state.prefixes),
    }


register_values("clients", _info_clients)
register_values("stats", _info_stats)


def _reset(client: Client) -> None:
    state = tracking_of(client.server)
    if state is not None:
        state.disable(client)


RESET_HOOKS.append(_reset)
