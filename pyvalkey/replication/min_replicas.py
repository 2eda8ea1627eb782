"""``min-replicas-to-write``: refuse writes unless enough replicas are keeping up.

A replica is good when it acknowledged the stream (REPLCONF ACK) within the last
``min-replicas-max-lag`` seconds. With fewer good replicas than ``min-replicas-to-write``, write
commands (and an EXEC whose queue holds one) get ``-NOREPLICAS``. The check is a dispatcher
pre-check present only while the setting is above zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvalkey.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

NOREPLICAS_ERROR = b"NOREPLICAS Not enough good replicas to write."


class MinReplicasGuard:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.active = False

    def configure(self) -> None:
        checks = self.server.dispatcher.pre_checks
        wanted = self.server.config.min_replicas_to_write > 0
        if wanted and not self.active:
            checks.insert(0, self.check)  # ahead of the MULTI queueing check, as in Valkey
        elif not wanted and self.active:
            checks.remove(self.check)
        self.active = wanted

    def good_replicas(self) -> int:
        primary = getattr(self.server, "replication_primary", None)
        if primary is None:
            return 0
        now = self.server.clock.seconds()
        max_lag = self.server.config.min_replicas_max_lag
        return sum(1 for replica in primary.replicas if now - replica.extra.get("ack_time", 0) <= max_lag)

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any | None:
        writes = cmd.is_write
        if client.multi is not None and cmd.name == b"exec":
            writes = any(queued.is_write for queued, _ in client.multi.commands)
        if writes and self.good_replicas() < self.server.config.min_replicas_to_write:
            return ErrorReply(NOREPLICAS_ERROR)
        return None
