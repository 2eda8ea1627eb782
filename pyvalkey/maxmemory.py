"""``maxmemory``: refuse commands that may grow the dataset while the server is over its limit.

Valkey counts every allocation; a Python process can only see its resident set size, which does
not shrink when keys are deleted. So the used-memory figure is the RSS (as INFO reports it),
refreshed by cron and whenever ``maxmemory`` changes, and the server answers as Valkey does with
the ``noeviction`` policy: commands flagged ``denyoom``, and an EXEC whose queue holds such a
command, get ``-OOM`` (a denyoom command sent inside MULTI is refused, which aborts the EXEC). The eviction policies are not implemented:
evicting keys would not lower the RSS we measure, so every policy refuses instead of evicting.

The check is a dispatcher pre-check present only while ``maxmemory`` is set, so servers without
a limit pay nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from pyvalkey.protocol.replies import ErrorReply

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

OOM_ERROR = b"OOM command not allowed when used memory > 'maxmemory'."


class MemoryGuard:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.used = 0
        self.active = False
        server.cron_jobs.append(self._cron)

    def refresh(self) -> None:
        from pyvalkey.info import process_rss

        self.used = process_rss()

    def configure(self) -> None:
        """Install or remove the pre-check to match the current ``maxmemory``."""
        checks = self.server.dispatcher.pre_checks
        wanted = self.server.config.maxmemory > 0
        if wanted:
            self.refresh()
        if wanted and not self.active:
            checks.append(self.check)
        elif not wanted and self.active:
            checks.remove(self.check)
        self.active = wanted

    def _cron(self) -> None:
        if self.active:
            self.refresh()

    def check(self, client: Client, cmd: Command, argv: list[bytes]) -> Optional[Any]:
        if self.used <= self.server.config.maxmemory:
            return None
        reject = cmd.denyoom
        multi = client.multi
        if multi is not None and cmd.name == b"exec":
            reject = any(queued.denyoom for queued, _ in multi.commands)
        return ErrorReply(OOM_ERROR) if reject else None
