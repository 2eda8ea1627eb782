"""The call path of one command: look up, check, run, account, encode.

``Dispatcher.execute(client, argv)`` follows Valkey's processCommand order: command lookup
(unknown command / unknown subcommand), arity, authentication, state checks (loading, MULTI
queueing, pub/sub context), then the handler. A handler returns a reply value or raises
``ErrorReply``; any other exception becomes an ``-ERR`` reply and a log line, never a dropped
connection. Side effects that follow a write (propagation to AOF and replicas) fan out from here
through the propagator (pyvalkey/propagation.py), not from handlers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvalkey.client import REPLY_OFF, REPLY_ON, REPLY_SKIP
from pyvalkey.commands.registry import COMMANDS, Command
from pyvalkey.errors import msg
from pyvalkey.latency import note_slow_call
from pyvalkey.protocol.replies import ErrorReply, Raw
from pyvalkey.protocol.writer import encode, encode_error

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")

_perf_ns = time.perf_counter_ns
_time_ns = time.time_ns

# Command groups whose (non-blocking) commands the compiled lane may call itself, and the
# exceptions: WAIT/WAITAOF block the client, MIGRATE talks to another server.
_CONTAINED_GROUPS = frozenset(
    {"string", "list", "hash", "set", "sorted-set", "hyperloglog", "geo", "bitmap", "stream", "generic"}
)
_NOT_CONTAINED = frozenset({b"wait", b"waitaof", b"migrate"})

# Commands a client may send before it has authenticated, besides those flagged no_auth.
_MAX_ERROR_TYPES = 128


def _quote_args(argv: list[bytes]) -> bytes:
    parts = bytearray()
    for arg in argv[1:]:
        if len(parts) >= 128:
            break
        parts += b"'" + arg[: 128 - len(parts)] + b"' "
    return bytes(parts)


class Dispatcher:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.keyspace = server.keyspace
        self.stats = server.stats
        # Writes go to the AOF and to replicas through the propagator (pyvalkey/propagation.py).
        self.propagator = server.propagator
        # Checks run before the handler, each may return an error reply (loading, OOM, ...).
        self.pre_checks: list[Callable[[Client, Command, list[bytes]], Any]] = []
        # Called after every executed command (also each one inside EXEC) while MONITOR or
        # client-side caching is in use (pyvalkey/monitor.py, pyvalkey/tracking.py); None
        # otherwise, so the hot path pays one attribute check.
        self.observe: Callable[[Client, Command, list[bytes]], None] | None = None
        # Pub/sub messages queued for clients while a command runs (owned by pyvalkey.pubsub,
        # which sets flush_pushes); flushed after the command so its own reply comes first.
        self.pending_pushes: dict[Any, bytearray] = {}
        self.flush_pushes: Callable[[Client], None] = lambda client: None
        self.clock = server.clock
        self.blocking = server.blocking
        self.by_name: dict[bytes, Command] = {}
        self.fast_commands: dict[bytes, tuple[Command, int, int]] = {}
        self.refresh_names()

    def unknown_command(self, argv: list[bytes]) -> ErrorReply:
        name = argv[0]
        container = COMMANDS.get(name.lower())
        if container is not None and container.subcommands and len(argv) > 1:
            return ErrorReply(msg.UNKNOWN_SUBCOMMAND % (argv[1][:128], name.upper()))
        return ErrorReply(msg.UNKNOWN_COMMAND % (name[:128], _quote_args(argv)))

    def reject(self, client: Client, error: ErrorReply, cmd: Command | None = None) -> None:
        """An error before the command ran: counts as rejected in INFO."""
        self.stats.count_error(error.message)
        if cmd is not None:
            cmd.rejected_calls += 1
        if client.multi is not None:
            if cmd is not None and cmd.name == b"exec":
                # A refused EXEC ends the transaction and says why, as Valkey's execCommandAbort.
                from pyvalkey.commands.transactions import transactions

                transactions(self.server).discard(client)
                error = ErrorReply(b"EXECABORT Transaction discarded because of: " + error.message)
            else:
                client.multi.flag_error()
        self.write_reply(client, error)

    def write_reply(self, client: Client, reply: Any) -> None:
        if client.reply_mode == REPLY_OFF or client.skip_this_reply:
            return
        if isinstance(reply, ErrorReply):
            encode_error(reply.message, client.out)
        else:
            encode(reply, client.out, client.resp3)

    def lookup(self, argv: list[bytes]) -> Command | ErrorReply:
        name = argv[0]
        cmd = self.by_name.get(name)
        if cmd is None:
            cmd = COMMANDS.get(name.lower())
            if cmd is None:
                return self.unknown_command(argv)
        if cmd.subcommands:
            if len(argv) == 1:
                # A container alone is an arity error, unless it has its own handler (COMMAND).
                if cmd.handler is None:
                    return ErrorReply(msg.WRONG_ARITY % cmd.fullname.encode())
            else:
                sub = cmd.subcommands.get(argv[1].lower())
                if sub is None:
                    return self.unknown_command(argv)
                cmd = sub
        arity = cmd.arity
        if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
            error = ErrorReply(msg.WRONG_ARITY % cmd.fullname.encode())
            error.command = cmd  # type: ignore[attr-defined]  # counted in its rejected_calls
            return error
        return cmd

    def refresh_names(self) -> None:
        """Rebuild the name index: lowercase and uppercase spellings, the two that clients send."""
        by_name = {}
        for name, cmd in COMMANDS.items():
            by_name[name] = cmd
            by_name[name.upper()] = cmd
        self.by_name = by_name
        # The commands the fused loop in pyvalkey/_speedups may run without execute(): no
        # subcommands, not blocking; with the argument counts their arity allows (low, high).
        fast: dict[bytes, tuple[Command, int, int]] = {}
        for name, cmd in by_name.items():
            if not cmd.subcommands and not cmd.blocking:
                arity = cmd.arity
                fast[name] = (cmd, arity, arity) if arity > 0 else (cmd, -arity, 1 << 62)
        self.fast_commands = fast
        # What the compiled lane (pyvalkey/_speedups/lane.pyx) runs natively, in its order
        # (NATIVE_GET, _SET, _INCR, _PING); None for a name that is not in the table.
        self.native_commands = tuple(by_name.get(name) for name in (b"get", b"set", b"incr", b"ping"))
        # What the compiled lane may run through its own call path (lane.pyx, _Batch.call): data
        # commands, whose handlers change keys and values but nothing the lane reads once per
        # read (client state, observers, whether anything propagates, the selected database).
        self.contained_commands = {
            name: entry
            for name, entry in fast.items()
            if entry[0].group in _CONTAINED_GROUPS and entry[0].name not in _NOT_CONTAINED
        }

    def execute(self, client: Client, argv: list[bytes]) -> None:
        """Run one command for ``client`` and append its reply to ``client.out``."""
        if client.reply_mode or client.skip_this_reply:
            self._apply_reply_mode(client)
        # Fast path: a plain command spelled as clients usually spell it, with a valid arity.
        cmd = self.by_name.get(argv[0])
        if cmd is None or cmd.subcommands or (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
            cmd = self.lookup(argv)
        if type(cmd) is not Command:
            self.reject(client, cmd, getattr(cmd, "command", None))  # type: ignore[arg-type]
            return
        if not client.authenticated and not cmd.no_auth:
            self.reject(client, ErrorReply(msg.NOAUTH), cmd)
            return
        if self.pre_checks:
            for check in self.pre_checks:
                error = check(client, cmd, argv)
                if error is not None:
                    if error is True:  # handled (e.g. queued inside MULTI)
                        return
                    self.reject(client, error, cmd)
                    return
        self.call(client, cmd, argv)
        if self.propagator.unit:
            self.propagator.end_unit()
        if self.blocking.ready:
            self.blocking.serve_ready()
        if self.pending_pushes:  # pub/sub deliveries: after this command's reply
            self.flush_pushes(client)

    @staticmethod
    def handler_failed(cmd: Command, exc: Exception) -> ErrorReply:
        """The reply for a handler that raised something other than ErrorReply (a bug)."""
        log.error("command %r failed", cmd.fullname, exc_info=exc)
        return ErrorReply(b"ERR " + str(exc).replace("\n", " ").encode(errors="replace"))

    def call(self, client: Client, cmd: Command, argv: list[bytes]) -> Any:
        """Run a looked-up, checked command; returns the reply value after writing it.

        pyvalkey/_speedups/hotloop.py runs the common case of execute() and this method fused
        into the connection's read loop: a change to what happens around a command here must be
        made there too (tests/test_speedups.py checks that both agree)."""
        keyspace = self.keyspace
        clock = self.clock
        frozen = clock.frozen_at_ns
        # Clock.ms() inlined: this runs for every command.
        keyspace.now_ms = (_time_ns() + clock.offset_ns if frozen is None else frozen) // 1_000_000
        keyspace.no_touch = client.no_touch
        dirty_before = keyspace.dirty
        propagator = self.propagator
        calls_before = propagator.calls
        if propagator.active:
            propagator.calls = calls_before + 1
        if cmd.blocking:
            # kept so that the command can be re-run when a key it waits on is written
            client.current_command = cmd
            client.current_argv = argv
        start = _perf_ns()
        try:
            reply = cmd.handler(client, argv)  # type: ignore[misc]
        except ErrorReply as error:
            reply = error
        except Exception as exc:  # noqa: BLE001  (a bug must not take the connection down)
            reply = self.handler_failed(cmd, exc)
        elapsed_us = (_perf_ns() - start) // 1000
        cmd.calls += 1
        cmd.usec += elapsed_us
        client.last_command = cmd.fullname
        client.commands_processed += 1
        stats = self.stats
        stats.commands_processed += 1
        if elapsed_us >= stats.slow_path_us >= 0:  # slow log, latency monitor
            note_slow_call(self.server, client, cmd, argv, elapsed_us)
        if stats.latency_tracking:  # LATENCY HISTOGRAM, INFO latencystats
            histogram = cmd.latency_us
            histogram[elapsed_us] = histogram.get(elapsed_us, 0) + 1
        if self.observe is not None:  # MONITOR feed, tracked keys (see __init__)
            self.observe(client, cmd, argv)
        propagator = self.propagator
        if propagator.active:
            propagator.record(
                client.db.index, argv, keyspace.dirty != dirty_before, propagator.calls > calls_before + 1
            )
        kind = type(reply)
        if kind is bytes or kind is Raw:
            if client.reply_mode or client.skip_this_reply:
                self.write_reply(client, reply)
            elif kind is Raw:
                client.out += reply  # pre-encoded constants (+OK, +PONG)
            else:
                client.out += b"$%d\r\n%s\r\n" % (len(reply), reply)
            return reply
        is_error = isinstance(reply, ErrorReply)
        if is_error:
            cmd.failed_calls += 1
            stats.count_error(reply.message)
        if client.reply_mode or client.skip_this_reply:
            self.write_reply(client, reply)
        elif is_error:
            encode_error(reply.message, client.out)
        else:
            encode(reply, client.out, client.resp3)
        return reply

    @staticmethod
    def _apply_reply_mode(client: Client) -> None:
        """CLIENT REPLY SKIP silences exactly the next command's reply."""
        if client.reply_mode == REPLY_SKIP:
            client.reply_mode = REPLY_ON
            client.skip_this_reply = True
        else:
            client.skip_this_reply = False
