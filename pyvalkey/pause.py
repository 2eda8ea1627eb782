"""CLIENT PAUSE / UNPAUSE: holding clients' commands until a deadline.

Valkey decides whether to hold a command after it has been looked up and checked (so a command
with a wrong arity or an unknown name still gets its error at once), and only then postpones it:
in ``ALL`` mode every command of every non-replica client waits, in ``WRITE`` mode only commands
that write or may replicate (``PUBLISH``, ``PFCOUNT``, ``EVAL`` ...; an ``EXEC`` whose queue holds
one). We do the same with a dispatcher pre-check that runs before every other pre-check (Valkey
checks the pause before queueing inside MULTI): a held command is kept on the client as a
``Postponed`` blocked state, which stops the connection loop so the client's later commands wait
behind it and replies stay in order. When the pause ends (deadline timer, CLIENT UNPAUSE, or a
less restrictive mode) the held commands run again in arrival order through the dispatcher, so a
command may be held again if a pause still applies.

The ``PauseState`` object lives on ``server.pause`` once created; ``server.paused`` points at it
while a pause is in force (the connection loop consults ``holds()``, which is always False because
the pre-check does the holding) and is None otherwise. INFO reads ``mode_name()``, ``end_ms`` and
``purpose``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

PAUSE_NONE = 0
PAUSE_WRITE = 1
PAUSE_ALL = 2  # must stay above PAUSE_WRITE: "more restrictive" compares by value


class Postponed:
    """The blocked state of a client whose command waits for a pause to end.

    It follows the blocked-state protocol of ``pyvalkey.client.BlockedState``; CLIENT UNBLOCK
    cannot release it (``unblockable`` is False), only the end of the pause does.
    """

    __slots__ = ("argv", "skip_reply")

    unblockable = False
    kind = "postpone"

    def __init__(self, argv: list[bytes], skip_reply: bool) -> None:
        self.argv = argv
        # The command had been marked by CLIENT REPLY SKIP; it keeps that mark when it reruns.
        self.skip_reply = skip_reply

    def unblock(self, with_error: bool) -> None:  # pragma: no cover - never unblockable
        return None


class PauseState:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.mode = PAUSE_NONE
        self.end_ms = 0
        self.purpose = "none"
        self.postponed: list[Client] = []
        self._timer: asyncio.TimerHandle | None = None
        self._installed = False

    # -- queries used by the connection loop and INFO ------------------------------------------

    def holds(self, client: Client) -> bool:
        # The pre-check holds commands after lookup; the loop itself never stops for a pause.
        return False

    def mode_name(self) -> str:
        return {PAUSE_NONE: "none", PAUSE_WRITE: "write", PAUSE_ALL: "all"}[self.mode]

    def active(self) -> bool:
        if self.mode == PAUSE_NONE:
            return False
        if self.server.clock.ms() >= self.end_ms:
            self._update(PAUSE_NONE, 0)
            return False
        return True

    # -- commands ------------------------------------------------------------------------------

    def pause(self, end_ms: int, mode: int) -> None:
        """Start or extend a pause: the later deadline and the most restrictive mode win."""
        self._install()
        if self.mode == PAUSE_ALL and self.end_ms > self.server.clock.ms():
            mode = PAUSE_ALL
        end = max(self.end_ms, end_ms)
        self._update(mode, end)

    def unpause(self) -> None:
        self._update(PAUSE_NONE, 0)

    # -- internals -----------------------------------------------------------------------------

    def _install(self) -> None:
        if not self._installed:
            self._installed = True
            self.server.dispatcher.pre_checks.insert(0, self._check)
            self.server.client_close_hooks.append(self._forget)

    def _update(self, mode: int, end_ms: int) -> None:
        now = self.server.clock.ms()
        if end_ms <= now:
            mode, end_ms = PAUSE_NONE, 0
        previous = self.mode
        self.mode = mode
        self.end_ms = end_ms
        self.purpose = "client_pause" if mode else "none"
        self.server.paused = self if mode else None
        # Valkey deletes no expired key while paused (neither lazily nor actively): a pause must
        # not generate writes for the replicas.
        self.server.keyspace.expiry_paused = bool(mode)
        self._schedule(end_ms - now if mode else None)
        if mode < previous and self.postponed:
            loop = self.server.loop
            if loop is not None and not loop.is_closed():
                # Rerun from the event loop, not nested inside the command that ended the pause.
                loop.call_soon(self._release)
            else:
                self._release()

    def _schedule(self, delay_ms: int | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = self.server.loop
        if delay_ms is not None and loop is not None and not loop.is_closed():
            self._timer = loop.call_later(delay_ms / 1000.0, self._deadline)

    def _deadline(self) -> None:
        self._timer = None
        if self.mode and self.server.clock.ms() < self.end_ms:
            # The timer fired a little early relative to the server clock: wait the rest.
            self._schedule(self.end_ms - self.server.clock.ms() + 1)
            return
        self._update(PAUSE_NONE, 0)

    def _check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        """Dispatcher pre-check: True when the command has been postponed."""
        if self.mode == PAUSE_NONE or "replica" in client.flags:
            return None
        if self.mode == PAUSE_WRITE and not _may_replicate(client, cmd, argv):
            return None
        if not self.active():
            return None
        client.blocked = Postponed(argv, client.skip_this_reply)
        self.postponed.append(client)
        return True

    def _release(self) -> None:
        """Run every held command again, oldest first, then let each client read on."""
        waiting, self.postponed = self.postponed, []
        execute = self.server.dispatcher.execute
        for client in waiting:
            state = client.blocked
            if not isinstance(state, Postponed) or client.closed:
                continue
            client.blocked = None
            if state.skip_reply:
                from pyvalkey.client import REPLY_SKIP

                client.reply_mode = REPLY_SKIP
            execute(client, state.argv)
            transport = client.transport
            if transport is not None and client.blocked is None:
                resume = getattr(transport, "resume", None)
                if resume is not None:
                    resume()
                else:
                    transport.flush()

    def _forget(self, client: Client) -> None:
        if isinstance(client.blocked, Postponed):
            try:
                self.postponed.remove(client)
            except ValueError:
                pass


def _may_replicate(client: Client, cmd: Command, argv: list[bytes]) -> bool:
    if cmd.fullname == "exec" and client.multi is not None:
        # what the queued commands may do (see MultiState.queue)
        return bool(getattr(client.multi, "may_replicate", False))
    from pyvalkey.multi import command_may_replicate

    return command_may_replicate(client, cmd, argv)


def pause_state(server: Server) -> PauseState:
    """The server's pause state, created on first use."""
    state: PauseState | None = getattr(server, "pause", None)
    if state is None:
        state = PauseState(server)
        server.pause = state  # type: ignore[attr-defined]
    return state
