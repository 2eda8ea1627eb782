"""Pub/Sub: the channel and pattern registry, message delivery and keyspace notifications.

Registry. ``channels`` / ``shard_channels`` map a channel to the clients subscribed to it and
``patterns`` maps a glob pattern to (matcher, clients); each client keeps its own subscriptions
in ``client.pubsub_channels`` / ``pubsub_patterns`` / ``pubsub_shard_channels`` (ordered dicts,
None until first used) and carries the ``"subscriber"`` flag while it has any. A RESP2 client
with the flag may only run (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET: a dispatcher
pre-check enforces that, present only while somebody is subscribed.

Delivery. A message is encoded once per protocol (``*`` in RESP2, ``>`` push in RESP3) and
queued per receiving client in ``dispatcher.pending_pushes``. After the current top-level command
(the dispatcher calls ``flush_pending``) each queue is appended to its client's output: the client
that ran the command gets its messages after its own reply (Valkey defers pushes addressed to
the executing client the same way, so an EXEC containing PUBLISH replies with the array first);
the other clients' sockets are written once per event-loop turn. Deliveries from outside a
command (active expiry raising ``expired`` events) are flushed by a ``call_soon``.

Slow subscribers: after each delivery the receiver's pending output is checked against
``client-output-buffer-limit`` for its class (``pubsub`` for subscribers); past the hard limit,
or past the soft limit for longer than its seconds, the connection is dropped without flushing.

Keyspace notifications: ``Keyspace.notify`` calls ``_keyspace_event``, which publishes
``__keyspace@<db>__:<key>`` -> event and ``__keyevent@<db>__:<event>`` -> key according to the
K and E classes of ``notify-keyspace-events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.errors import ErrorReply
from pyvalkey.info import register_values
from pyvalkey.multi import PreCheckSlot
from pyvalkey.storage.database import NOTIFY_KEYEVENT, NOTIFY_KEYSPACE
from pyvalkey.storage.glob import compile_glob

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database

__all__ = ["SUBSCRIBER", "PubSub"]

log = logging.getLogger("pyvalkey")

SUBSCRIBER = "subscriber"

# What a RESP2 client may still run once subscribed.
_ALLOWED_IN_CONTEXT = frozenset(
    ("ping", "subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe", "punsubscribe", "quit", "reset")
)
_CONTEXT_ERROR = (
    b"ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
)


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class PubSub:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.channels: dict[bytes, dict[Client, None]] = {}
        self.shard_channels: dict[bytes, dict[Client, None]] = {}
        self.patterns: dict[bytes, tuple[Callable[[bytes], Any], dict[Client, None]]] = {}
        self.subscribed_clients = 0
        self.slot = PreCheckSlot(server, self._context_check)
        dispatcher = server.dispatcher
        self.pending: dict[Client, bytearray] = dispatcher.pending_pushes
        dispatcher.flush_pushes = self.flush_pending
        self._to_write: dict[Client, None] = {}
        self._write_scheduled = False
        self._flush_scheduled = False
        server.client_close_hooks.append(self.forget_client)
        server.keyspace.notify_listeners.append(self._keyspace_event)

    # -- subscriber mode -----------------------------------------------------------------------

    def _context_check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        if client.resp3 or SUBSCRIBER not in client.flags or cmd.fullname in _ALLOWED_IN_CONTEXT:
            return None
        return ErrorReply(_CONTEXT_ERROR % cmd.fullname.encode())

    def _update_mode(self, client: Client) -> None:
        """Enter or leave subscriber mode after the client's subscriptions changed."""
        total = (
            len(client.pubsub_channels or ())
            + len(client.pubsub_patterns or ())
            + len(client.pubsub_shard_channels or ())
        )
        flags = client.flags
        if total and SUBSCRIBER not in flags:
            flags.add(SUBSCRIBER)
            self.subscribed_clients += 1
            self.slot.retain()
            if self.subscribed_clients == 1:
                self._watch_new_keys(True)
        elif not total and SUBSCRIBER in flags:
            flags.discard(SUBSCRIBER)
            self.subscribed_clients -= 1
            self.slot.release()
            if self.subscribed_clients == 0:
                self._watch_new_keys(False)

    def _watch_new_keys(self, on: bool) -> None:
        """The ``new`` keyspace event (class ``n``) comes from the keyspace's key-change hook,
        which writes only call while something listens: while anybody is subscribed, since
        without subscribers the event has nobody to reach."""
        keyspace = self.server.keyspace
        keyspace.new_key_events = on
        keyspace.update_hooks()

    @staticmethod
    def count(client: Client) -> int:
        """Channels plus patterns: the count SUBSCRIBE/PSUBSCRIBE replies carry."""
        return len(client.pubsub_channels or ()) + len(client.pubsub_patterns or ())

    @staticmethod
    def shard_count(client: Client) -> int:
        return len(client.pubsub_shard_channels or ())

    # -- subscribing ---------------------------------------------------------------------------

    def subscribe(self, client: Client, channel: bytes, shard: bool = False) -> None:
        if shard:
            mine = client.pubsub_shard_channels
            if mine is None:
                mine = client.pubsub_shard_channels = {}
            registry = self.shard_channels
        else:
            mine = client.pubsub_channels
            if mine is None:
                mine = client.pubsub_channels = {}
            registry = self.channels
        if channel not in mine:
            mine[channel] = None
            registry.setdefault(channel, {})[client] = None
            self._update_mode(client)

    def unsubscribe(self, client: Client, channel: bytes, shard: bool = False) -> None:
        mine = client.pubsub_shard_channels if shard else client.pubsub_channels
        if mine is None or channel not in mine:
            return
        del mine[channel]
        registry = self.shard_channels if shard else self.channels
        clients = registry.get(channel)
        if clients is not None:
            clients.pop(client, None)
            if not clients:
                del registry[channel]
        self._update_mode(client)

    def psubscribe(self, client: Client, pattern: bytes) -> None:
        mine = client.pubsub_patterns
        if mine is None:
            mine = client.pubsub_patterns = {}
        if pattern in mine:
            return
        mine[pattern] = None
        entry = self.patterns.get(pattern)
        if entry is None:
            entry = self.patterns[pattern] = (compile_glob(pattern), {})
        entry[1][client] = None
        self._update_mode(client)

    def punsubscribe(self, client: Client, pattern: bytes) -> None:
        mine = client.pubsub_patterns
        if mine is None or pattern not in mine:
            return
        del mine[pattern]
        entry = self.patterns.get(pattern)
        if entry is not None:
            entry[1].pop(client, None)
            if not entry[1]:
                del self.patterns[pattern]
        self._update_mode(client)

    def forget_client(self, client: Client) -> None:
        """Drop every subscription silently (connection closed, RESET)."""
        for channel in list(client.pubsub_channels or ()):
            self.unsubscribe(client, channel)
        for channel in list(client.pubsub_shard_channels or ()):
            self.unsubscribe(client, channel, shard=True)
        for pattern in list(client.pubsub_patterns or ()):
            self.punsubscribe(client, pattern)
        self.pending.pop(client, None)

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Queue ``message`` for every subscriber of ``channel``; returns how many receive it."""
        receivers = 0
        subscribers = (self.shard_channels if shard else self.channels).get(channel)
        if subscribers:
            body = (b"$8\r\nsmessage\r\n" if shard else b"$7\r\nmessage\r\n") + _bulk(channel) + _bulk(message)
            resp2 = b"*3\r\n" + body
            resp3 = b">3\r\n" + body
            for target in subscribers:
                self._queue(target, resp3 if target.resp3 else resp2)
            receivers += len(subscribers)
        if self.patterns and not shard:
            tail = _bulk(channel) + _bulk(message)
            for pattern, (match, clients) in list(self.patterns.items()):
                if not match(channel):
                    continue
                body = b"$8\r\npmessage\r\n" + _bulk(pattern) + tail
                resp2 = b"*4\r\n" + body
                resp3 = b">4\r\n" + body
                for target in clients:
                    self._queue(target, resp3 if target.resp3 else resp2)
                receivers += len(clients)
        return receivers

    def _queue(self, target: Client, data: bytes) -> None:
        pending = self.pending
        buffer = pending.get(target)
        if buffer is None:
            pending[target] = bytearray(data)
            if not self._flush_scheduled:
                # Deliveries outside a command (active expiry) have no dispatcher to flush them.
                loop = self.server.loop
                if loop is not None and not loop.is_closed():
                    self._flush_scheduled = True
                    loop.call_soon(self._flush_soon)
        else:
            buffer += data

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        if self.pending:
            self.flush_pending(None)

    def flush_pending(self, current: Client | None) -> None:
        """Move queued messages into their clients' output; ``current`` (the client whose
        command just ran) gets them after its reply and is written by its own connection."""
        pending = self.pending
        batch = list(pending.items())
        pending.clear()
        for client, data in batch:
            if client.closed:
                continue
            client.out += data
            if client is current:
                continue
            if self._over_limit(client):
                self._drop(client)
                continue
            self._to_write[client] = None
        if self._to_write and not self._write_scheduled:
            loop = self.server.loop
            if loop is not None and not loop.is_closed():
                self._write_scheduled = True
                loop.call_soon(self._write_out)
            else:
                self._write_out()

    def _write_out(self) -> None:
        self._write_scheduled = False
        clients = list(self._to_write)
        self._to_write.clear()
        for client in clients:
            transport = client.transport
            if transport is not None and not client.closed and client.out:
                transport.flush()

    # -- slow subscribers ----------------------------------------------------------------------

    def _over_limit(self, client: Client) -> bool:
        limits = self.server.config.client_output_buffer_limit
        hard, soft, seconds = limits.get("pubsub" if SUBSCRIBER in client.flags else "normal", (0, 0, 0))
        if not hard and not soft:
            return False
        pending_output = getattr(client.transport, "pending_output", None)
        size = pending_output() if pending_output is not None else len(client.out)
        if hard and size > hard:
            return True
        if soft and size > soft:
            now = self.server.clock.ms()
            since = client.extra.setdefault("obuf_soft_since_ms", now)
            return now - since > seconds * 1000
        client.extra.pop("obuf_soft_since_ms", None)
        return False

    def _drop(self, client: Client) -> None:
        log.warning("Client id=%d addr=%s closed for overcoming of output buffer limits.", client.id, client.addr)
        stats = self.server.stats
        stats.outbuf_limit_disconnections = getattr(stats, "outbuf_limit_disconnections", 0) + 1  # type: ignore[attr-defined]
        client.out.clear()
        connection = client.transport
        raw = getattr(connection, "transport", None)
        self.server.remove_client(client)
        if raw is not None and hasattr(raw, "abort"):
            raw.abort()  # drop what is buffered: a close would wait to write it all
        elif connection is not None:
            connection.close()

    # -- keyspace notifications ----------------------------------------------------------------

    def _keyspace_event(self, db: Database, kind: int, event: bytes, key: bytes) -> None:
        if not self.channels and not self.patterns:
            return
        flags = self.server.keyspace.notify_flags
        if flags & NOTIFY_KEYSPACE:
            self.publish(b"__keyspace@%d__:%s" % (db.index, key), event)
        if flags & NOTIFY_KEYEVENT:
            self.publish(b"__keyevent@%d__:%s" % (db.index, event), key)

    # -- introspection (PUBSUB, INFO) ----------------------------------------------------------

    def channel_names(self, pattern: bytes | None, shard: bool = False) -> list[bytes]:
        names = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(names)
        match = compile_glob(pattern)
        return [name for name in names if match(name)]

    def numsub(self, channel: bytes, shard: bool = False) -> int:
        clients = (self.shard_channels if shard else self.channels).get(channel)
        return len(clients) if clients else 0


def pubsub_state(server: Server) -> PubSub:
    """The server's pub/sub registry (created with the server; created here on first use for
    servers built without it)."""
    state: PubSub | None = getattr(server, "pubsub", None)
    if state is None:
        state = PubSub(server)
        server.pubsub = state  # type: ignore[attr-defined]
    return state


def _info_stats(server: Server) -> dict[str, Any]:
    state: PubSub | None = getattr(server, "pubsub", None)
    if state is None:
        return {}
    return {
        "pubsub_channels": len(state.channels),
        "pubsub_patterns": len(state.patterns),
        "pubsubshard_channels": len(state.shard_channels),
    }


register_values("stats", _info_stats)
