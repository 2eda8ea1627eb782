"""MONITOR: every command the server executes, shown to the monitoring clients as one status
line each, formatted as Valkey formats them:

    +<seconds>.<microseconds> [<db> <peer>] "<arg>" "<arg>" ...

* the line is written after the command ran (so ``SELECT 2`` shows db 2, and the commands of a
  transaction appear before its EXEC), with the time it is written;
* arguments are quoted with Valkey's escaping (``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\t``,
  ``\\a``, ``\\b``, printable ASCII as is, every other byte as ``\\xhh``);
* a Unix socket client shows ``unix:<socket path>``;
* commands flagged ``admin`` or ``skip_monitor``, and commands rejected before running (unknown
  command, arity), are not shown, except the scripting commands (EVAL, FCALL, ...), which show
  themselves before their script runs, its commands following as ``[<db> lua]``; a blocked
  command shows once, when it blocks; AUTH and HELLO ... AUTH show ``(redacted)`` for secrets;
* a monitoring client becomes a kind of replica: it may still run commands that do not touch
  the keyspace (PING, QUIT, RESET ...), others get "Replica can't interact with the keyspace".

The dispatcher's ``observe`` hook feeds this module; ``refresh_observer`` installs that hook only
while a monitor or a tracking client (pyvalkey/tracking.py) needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvalkey.commands.connection import RESET_HOOKS
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply
from pyvalkey.multi import PreCheckSlot
from pyvalkey.protocol.replies import NO_REPLY, OK

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

__all__ = ["Monitors", "monitors", "refresh_observer", "repr_arg"]

MONITOR_FLAG = "monitor"
_KEYSPACE_ERROR = b"ERR Replica can't interact with the keyspace"
_DENY_BLOCKING = b"ERR MONITOR isn't allowed for DENY BLOCKING client"
_REDACTED = b'"(redacted)"'
# Commands Valkey flags "may replicate" without COMMAND INFO listing the flag.
_MAY_REPLICATE = frozenset(("publish", "spublish"))

# byte -> its quoted form
_ESCAPES: list[bytes] = []
for _byte in range(256):
    if _byte == 0x5C:
        _ESCAPES.append(b"\\\\")
    elif _byte == 0x22:
        _ESCAPES.append(b'\\"')
    elif _byte == 0x0A:
        _ESCAPES.append(b"\\n")
    elif _byte == 0x0D:
        _ESCAPES.append(b"\\r")
    elif _byte == 0x09:
        _ESCAPES.append(b"\\t")
    elif _byte == 0x07:
        _ESCAPES.append(b"\\a")
    elif _byte == 0x08:
        _ESCAPES.append(b"\\b")
    elif 0x20 <= _byte < 0x7F:
        _ESCAPES.append(bytes((_byte,)))
    else:
        _ESCAPES.append(b"\\x%02x" % _byte)


def repr_arg(arg: bytes) -> bytes:
    """Valkey's quoted representation of one argument (sdscatrepr)."""
    escapes = _ESCAPES
    return b'"' + b"".join([escapes[byte] for byte in arg]) + b'"'


def _redacted_positions(argv: list[bytes]) -> range | list[int]:
    name = argv[0].lower()
    if name == b"auth":
        return range(1, len(argv))
    if name == b"hello":
        for i in range(2, len(argv) - 2):
            if argv[i].lower() == b"auth":
                return [i + 1, i + 2]
    if name == b"migrate":
        # MIGRATE ... [AUTH password | AUTH2 username password] [KEYS key ...]
        positions = []
        i = 6
        while i < len(argv):
            option = argv[i].lower()
            if option == b"keys":
                break
            if option == b"auth" and i + 1 < len(argv):
                positions.append(i + 1)
                i += 1
            elif option == b"auth2" and i + 2 < len(argv):
                positions += [i + 1, i + 2]
                i += 2
            i += 1
        return positions
    return []


class Monitors:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.clients: dict[Client, None] = {}
        self.slot = PreCheckSlot(server, self._keyspace_check)
        server.client_close_hooks.append(self.remove)

    def add(self, client: Client) -> None:
        if client in self.clients:
            return
        self.clients[client] = None
        client.flags.add(MONITOR_FLAG)
        client.flags.add("replica")
        self.slot.retain()
        refresh_observer(self.server)

    def remove(self, client: Client) -> None:
        if client not in self.clients:
            return
        del self.clients[client]
        client.flags.discard(MONITOR_FLAG)
        client.flags.discard("replica")
        self.slot.release()
        refresh_observer(self.server)

    def _keyspace_check(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        if MONITOR_FLAG not in client.flags:
            return None
        flags = cmd.flags
        if cmd.is_readonly or cmd.is_write or "may_replicate" in flags or cmd.fullname in _MAY_REPLICATE:
            return ErrorReply(_KEYSPACE_ERROR)
        return None

    def feed(self, client: Client, cmd: Command, argv: list[bytes]) -> None:
        flags = cmd.flags
        if "admin" in flags or "skip_monitor" in flags or not self.clients:
            return
        blocked = client.blocked
        if blocked is not None and getattr(blocked, "rerunning", False):
            return  # a blocked command run again once its key is ready: shown when it blocked
        self.show(client, argv)

    def show(self, client: Client, argv: list[bytes]) -> None:
        """Send one command line to the monitors (skip_monitor commands such as EVAL call this
        themselves, before they run, so their line comes before their script's commands)."""
        if not self.clients:
            return
        now_us = self.server.clock.us()
        if client.kind == "lua":
            peer = b"lua"  # commands called by a script or function
        elif "unix" in client.flags:
            peer = b"unix:" + str(self.server.config.unixsocket).encode()
        else:
            peer = client.addr.encode()
        db = client.db.index
        parts = [repr_arg(arg) for arg in argv]
        for pos in _redacted_positions(argv):
            parts[pos] = _REDACTED
        line = b"+%d.%06d [%d %s] %s\r\n" % (now_us // 1_000_000, now_us % 1_000_000, db, peer, b" ".join(parts))
        pubsub = self.server.pubsub
        for target in self.clients:
            if not target.closed:
                pubsub._queue(target, line)


def monitors_of(server: Server) -> Monitors | None:
    return getattr(server, "monitors", None)  # type: ignore[no-any-return]


def show_command(client: Client, argv: list[bytes]) -> None:
    """For skip_monitor commands that Valkey still shows (the scripting ones)."""
    state: Monitors | None = getattr(client.server, "monitors", None)
    if state is not None and state.clients:
        state.show(client, argv)


def monitors(server: Server) -> Monitors:
    state = monitors_of(server)
    if state is None:
        state = Monitors(server)
        server.monitors = state  # type: ignore[attr-defined]
    return state


def refresh_observer(server: Server) -> None:
    """Install the dispatcher's ``observe`` hook for whoever needs it now, or remove it."""
    from pyvalkey.tracking import tracking_of

    mon = monitors_of(server)
    track = tracking_of(server)
    feed = mon.feed if mon is not None and mon.clients else None
    remember = track.observe if track is not None and track.clients else None
    observe: Any
    if feed is not None and remember is not None:

        def observe(client: Client, cmd: Command, argv: list[bytes]) -> None:
            remember(client, cmd, argv)
            feed(client, cmd, argv)

    else:
        observe = feed or remember
    server.dispatcher.observe = observe


@command("monitor")
def monitor(client: Client, argv: list[bytes]) -> Any:
    if client.deny_blocking:
        raise ErrorReply(_DENY_BLOCKING)
    if "replica" in client.flags:
        return NO_REPLY  # already monitoring (or a replica): silently ignored
    monitors(client.server).add(client)
    return OK


def _reset(client: Client) -> None:
    state = monitors_of(client.server)
    if state is not None:
        state.remove(client)


RESET_HOOKS.append(_reset)
