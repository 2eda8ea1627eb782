"""Per-client state, independent of how bytes reach the server.

A ``Client`` is driven by a connection (``pyvalkey.net.connection``) or by an in-process caller;
either way it exposes ``out`` (the reply buffer the writer appends to) and a ``transport`` with
``flush()``/``close()``/peer information.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pyvalkey._speedups import new_reader

if TYPE_CHECKING:
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database


class Transport(Protocol):
    def flush(self) -> None: ...

    def close(self) -> None: ...


class BlockedState(Protocol):
    """What ``client.blocked`` holds while a command waits (BLPOP-style blocking, CLIENT PAUSE).

    While ``client.blocked`` is not None the connection loop runs none of the client's commands.
    CLIENT UNBLOCK calls ``unblock(with_error)`` when ``unblockable`` is True: the state must then
    write the command's timeout reply (or the ``-UNBLOCKED`` error when ``with_error``), set
    ``client.blocked = None`` and call ``client.transport.resume()``.
    """

    unblockable: bool

    def unblock(self, with_error: bool) -> None: ...


# CLIENT UNBLOCK ... ERROR: the error a released blocked command replies with.
UNBLOCKED_ERROR = b"UNBLOCKED client unblocked via CLIENT UNBLOCK"

# Client capabilities (CLIENT CAPA); shown as letters in CLIENT LIST ``capa=``.
CAPA_REDIRECT = "r"

# Reply modes (CLIENT REPLY).
REPLY_ON = 0
REPLY_OFF = 1
REPLY_SKIP = 2  # skip the next reply, then back to ON


class Client:
    __slots__ = (
        "addr",
        "authenticated",
        "blocked",
        "capa",
        "close_after_reply",
        "closed",
        "commands_processed",
        "created_ms",
        "current_argv",
        "current_command",
        "db",
        "deny_blocking",
        "extra",
        "fd",
        "flags",
        "id",
        "kind",
        "laddr",
        "last_command",
        "last_interaction_ms",
        "lib_name",
        "lib_ver",
        "multi",
        "name",
        "no_evict",
        "no_touch",
        "out",
        "pubsub_channels",
        "pubsub_patterns",
        "pubsub_shard_channels",
        "reader",
        "reply_mode",
        "resp3",
        "server",
        "skip_this_reply",
        "total_net_in",
        "total_net_out",
        "tracking",
        "transport",
        "user",
        "watched_keys",
    )

    def __init__(self, server: Server, transport: Any | None = None, addr: str = "", laddr: str = "") -> None:
        self.server = server
        self.id = server.next_client_id()
        self.name: bytes = b""
        self.lib_name: bytes = b""
        self.lib_ver: bytes = b""
        self.db: Database = server.keyspace.dbs[0]
        self.resp3 = False
        acl = getattr(server, "acl", None)  # pyvalkey/acl.py, once users are in use
        self.authenticated = not server.config.requirepass if acl is None else acl.default_open()
        self.user = b"default"
        self.out = bytearray()
        self.reader = new_reader(server.config.proto_max_bulk_len)
        self.reader.authenticated = self.authenticated
        self.transport = transport
        self.addr = addr
        self.laddr = laddr
        self.fd = -1
        self.kind = "normal"
        now = server.clock.ms()
        self.created_ms = now
        self.last_interaction_ms = now
        self.last_command = "NULL"
        self.reply_mode = REPLY_ON
        self.skip_this_reply = False
        self.close_after_reply = False
        self.closed = False
        self.flags: set[str] = set()
        self.no_evict = False
        self.no_touch = False
        self.multi: Any = None
        self.blocked: Any = None
        self.total_net_in = 0
        self.total_net_out = 0
        self.commands_processed = 0
        self.extra: dict[str, Any] = {}
        self.capa = ""  # CLIENT CAPA letters, e.g. "r" for REDIRECT
        # The blocking command being run, kept to re-run it when a key it waits on changes.
        self.current_command: Any = None
        self.current_argv: list[bytes] = []
        # Set while running inside MULTI/EXEC or a script: blocking commands must not block.
        self.deny_blocking = False
        # Owned by pyvalkey.multi (WATCH) and pyvalkey.pubsub: None until first used.
        self.watched_keys: Any = None
        self.pubsub_channels: Any = None
        self.pubsub_patterns: Any = None
        self.pubsub_shard_channels: Any = None
        # Client-side caching state (pyvalkey.tracking.TrackingState) while tracking is on.
        self.tracking: Any = None

    def select(self, index: int) -> None:
        self.db = self.server.keyspace.dbs[index]

    def set_authenticated(self, value: bool) -> None:
        self.authenticated = value
        self.reader.authenticated = value

    def __repr__(self) -> str:
        return f"<Client id={self.id} addr={self.addr}>"
