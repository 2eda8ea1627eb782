"""Serving other clients while a script runs past ``busy-reply-threshold``.

The server is one asyncio thread and a running script holds it, so the event loop cannot run.
Valkey in the same situation processes events from inside the script's hook; we do the same by
hand: the Lua count hook (every 100000 instructions) calls ``serve_while_busy``, which polls the
connected clients' sockets with a zero-timeout ``select``, reads what is there, and runs each
complete command through the dispatcher. Commands flagged allow-busy (SCRIPT KILL, FUNCTION KILL,
SHUTDOWN NOSAVE, ...) run normally; everything else gets ``-BUSY``. Replies go out through the
connection's transport at once (``transport.write`` sends immediately when its buffer is empty).

Limits: new connections wait in the listen backlog until the script ends (their first command
then runs normally), and the script's own client is not read while its script runs (Valkey
protects it the same way).
"""

from __future__ import annotations

import logging
import os
import select
from typing import TYPE_CHECKING, Any

from pyvalkey.protocol.reader import ProtocolError
from pyvalkey.protocol.replies import ErrorReply
from pyvalkey.protocol.writer import encode_error

if TYPE_CHECKING:
    from pyvalkey.scripting.engine import Engine, RunContext

log = logging.getLogger("pyvalkey")

BUSY_EVAL = b"BUSY Valkey is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
_EXECABORT_BECAUSE = b"EXECABORT Transaction discarded because of: "
BUSY_FUNCTION = b"BUSY Valkey is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


class _Busy:
    """Attached to the engine while a slow script serves other clients."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def script_finished(self, ctx: RunContext) -> None:
        self.engine.busy = None
        if ctx.busy:
            log.warning("Slow script detected: finished after %.0f ms", 0)


def serve_while_busy(engine: Engine, ctx: RunContext) -> None:
    server = engine.server
    if not ctx.busy:
        ctx.busy = True
        engine.busy = _Busy(engine)
        log.warning(
            "Slow script detected: still in execution after %d milliseconds. "
            "You can try killing the script using the %s KILL command.",
            server.config.busy_reply_threshold,
            "SCRIPT" if ctx.eval_mode else "FUNCTION",
        )
    by_fd: dict[int, Any] = {}
    for client in list(server.clients.values()):
        if client is ctx.caller or client.fd < 0 or client.closed or client.transport is None:
            continue
        by_fd[client.fd] = client
    if not by_fd:
        return
    try:
        readable, _, _ = select.select(list(by_fd), [], [], 0)
    except (OSError, ValueError):
        return
    for fd in readable:
        client = by_fd[fd]
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            continue
        if not data:
            continue  # end of stream: the event loop sees it again once the script ends
        _serve(server, client, data, ctx)


def _serve(server: Any, client: Any, data: bytes, ctx: RunContext) -> None:
    from pyvalkey.commands.registry import Command

    client.total_net_in += len(data)
    server.stats.net_input_bytes += len(data)
    reader = client.reader
    reader.feed(data)
    dispatcher = server.dispatcher
    busy_error = ErrorReply(BUSY_EVAL if ctx.eval_mode else BUSY_FUNCTION)
    try:
        while client.blocked is None:
            argv = reader.get_command()
            if argv is None:
                break
            cmd = dispatcher.lookup(argv)
            if type(cmd) is not Command or cmd.allow_busy or (not client.authenticated and not cmd.no_auth):
                server.execute(client, argv)
            elif cmd.fullname == "exec" and client.multi is not None:
                # a refused EXEC ends the transaction, naming the reason (Valkey's execCommandAbort)
                from pyvalkey.multi import transactions

                transactions(server).discard(client)
                dispatcher.reject(client, ErrorReply(_EXECABORT_BECAUSE + busy_error.message), cmd)
            else:
                dispatcher.reject(client, busy_error, cmd)
    except ProtocolError as error:
        encode_error(error.message, client.out)
        client.close_after_reply = True
    transport = client.transport
    if transport is not None:
        transport.flush()
        if client.close_after_reply:
            transport.close()
