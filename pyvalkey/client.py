"""Per-client state, independent of how bytes reach the server.

A ``Client`` is driven by a connection (``pyvalkey.net.connection``) or by an in-process caller;
either way it exposes ``out`` (the reply buffer the writer appends to) and a ``transport`` with
``flush()``/``close()``/peer information.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

from pyvalkey.protocol.reader import RequestReader

if TYPE_CHECKING:
    from pyvalkey.server import Server
    from pyvalkey.storage.database import Database


class Transport(Protocol):
    def flush(self) -> None: ...

    def close(self) -> None: ...


# Reply modes (CLIENT REPLY).
REPLY_ON = 0
REPLY_OFF = 1
REPLY_SKIP = 2  # skip the next reply, then back to ON


class Client:
    __slots__ = (
        "server",
        "id",
        "name",
        "lib_name",
        "lib_ver",
        "db",
        "resp3",
        "authenticated",
        "user",
        "out",
        "reader",
        "transport",
        "addr",
        "laddr",
        "fd",
        "kind",
        "created_ms",
        "last_interaction_ms",
        "last_command",
        "reply_mode",
        "skip_this_reply",
        "close_after_reply",
        "closed",
        "flags",
        "no_evict",
        "no_touch",
        "multi",
        "blocked",
        "total_net_in",
        "total_net_out",
        "commands_processed",
        "extra",
    )

    def __init__(self, server: Server, transport: Optional[Any] = None, addr: str = "", laddr: str = "") -> None:
        self.server = server
        self.id = server.next_client_id()
        self.name: bytes = b""
        self.lib_name: bytes = b""
        self.lib_ver: bytes = b""
        self.db: Database = server.keyspace.dbs[0]
        self.resp3 = False
        self.authenticated = not server.config.requirepass
        self.user = b"default"
        self.out = bytearray()
        self.reader = RequestReader(server.config.proto_max_bulk_len)
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

    def select(self, index: int) -> None:
        self.db = self.server.keyspace.dbs[index]

    def set_authenticated(self, value: bool) -> None:
        self.authenticated = value
        self.reader.authenticated = value

    def __repr__(self) -> str:
        return f"<Client id={self.id} addr={self.addr}>"
