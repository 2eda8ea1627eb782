"""Helpers for testing code that talks to Valkey: in-process servers and socketless clients.

    from pyvalkey.testing import client
    r = client()                 # a valkey.Valkey on a fresh in-process server, no socket
    r.set("k", "v", ex=3600)
    r.pyvalkey_server.advance_time(3600)
    assert r.get("k") is None

``EmbeddedServer`` / ``AsyncEmbeddedServer`` run servers that listen on 127.0.0.1; the pytest
plugin (``pyvalkey.testing.plugin``, loaded automatically once pyvalkey is installed) turns them
into fixtures.
"""

from __future__ import annotations

from pyvalkey.embedded import AsyncEmbeddedServer, EmbeddedServer, EmbeddedServerError
from pyvalkey.testing.socketless import (
    async_client,
    client,
    new_server,
    redis_async_client,
    redis_client,
)

__all__ = [
    "AsyncEmbeddedServer",
    "EmbeddedServer",
    "EmbeddedServerError",
    "async_client",
    "client",
    "new_server",
    "redis_async_client",
    "redis_client",
]
