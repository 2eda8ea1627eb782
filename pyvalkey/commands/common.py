"""Small keyspace steps shared by the collection command groups (lists, hashes, sets, zsets)."""

from __future__ import annotations

from pyvalkey.storage.database import NOTIFY_GENERIC, Database


def delete_emptied(db: Database, key: bytes) -> None:
    """A collection a command has just emptied stops existing: remove the key and announce it
    with the generic "del" event, as Valkey does after the type's own event."""
    db.delete(key)
    db.notify(NOTIFY_GENERIC, b"del", key)
