"""The per-read command loop: parse, dispatch, run and encode every buffered request of a client.

``process_commands(client, server)`` is what ``Connection.process`` runs for each read. It is
``Dispatcher.execute`` and ``Dispatcher.call`` fused with the hiredis reader's common case, with
the objects that never change hoisted out of the loop, for the requests that need none of the
rarer machinery: a command found by its usual spelling, with a valid arity, from an
authenticated client with replies on, not blocking, while MONITOR and client tracking are off.
Anything else goes through ``Dispatcher.execute`` unchanged, so behaviour is defined there and
this loop must give the same result, only faster.

This file is plain Python and is also compiled, as it is, by Cython into
``pyvalkey._speedups._hotloop_c`` when the build can (see setup.py); ``pyvalkey._speedups`` picks
one of the two. Keep it valid for both: no constructs Cython rejects, and no behaviour that
depends on which one runs.
"""

from __future__ import annotations

import time
from typing import Any

from pyvalkey.protocol.reader import HiredisRequestReader, ProtocolError
from pyvalkey.protocol.replies import ErrorReply, Raw
from pyvalkey.protocol.writer import encode, encode_error

__all__ = ["process_commands"]

_perf_ns = time.perf_counter_ns
_time_ns = time.time_ns
_INVALID_CRLF = "Protocol error: invalid CRLF in request"


def process_commands(client: Any, server: Any) -> None:
    """Run the client's complete buffered commands until none is left, the client blocks, or it
    is to be closed. Replies are appended to ``client.out``; a ``ProtocolError`` propagates."""
    reader = client.reader
    dispatcher = server.dispatcher
    execute = dispatcher.execute
    keyspace = dispatcher.keyspace
    clock = dispatcher.clock
    stats = dispatcher.stats
    propagator = dispatcher.propagator
    blocking = dispatcher.blocking
    pre_checks = dispatcher.pre_checks
    hiredis_reader = type(reader) is HiredisRequestReader
    while True:
        if client.blocked is not None or client.close_after_reply:
            return
        paused = server.paused
        if paused is not None and paused.holds(client):
            return

        # -- the next request (HiredisRequestReader.get_command's common case, inlined) ----------
        argv: Any = None
        if hiredis_reader and reader._fast:
            try:
                argv = reader._hiredis.gets()
            except reader._hiredis_error:
                argv = reader._hiredis_failed()
            else:
                plain = type(argv) is list and len(argv) > 0
                if plain:
                    for arg in argv:
                        if type(arg) is not bytes:
                            plain = False
                            break
                if plain:
                    # HiredisRequestReader._accept: the CRLF after each argument, then the boundary.
                    buf = reader._buf
                    count = len(argv)
                    pos = reader._boundary + (4 if count < 10 else 3 + len(str(count)))
                    for arg in argv:
                        n = len(arg)
                        pos += n + (4 if n < 10 else 5 if n < 100 else 3 + len(str(n)))
                        if buf[pos] != 13 or buf[pos + 1] != 10:
                            raise ProtocolError(_INVALID_CRLF)
                        pos += 2
                    reader._boundary = pos
                else:
                    argv = reader._not_plain(argv)
        else:
            argv = reader.get_command()
        if argv is None:
            return

        # -- Dispatcher.execute's common case ---------------------------------------------------
        cmd = dispatcher.by_name.get(argv[0])
        if (
            cmd is None
            or client.reply_mode
            or client.skip_this_reply
            or cmd.subcommands
            or cmd.blocking
            or dispatcher.observe is not None
            or not (client.authenticated or cmd.no_auth)
        ):
            execute(client, argv)
            continue
        arity = cmd.arity
        nargs = len(argv)
        if (arity > 0 and nargs != arity) or nargs < -arity:
            execute(client, argv)
            continue
        if pre_checks:
            rejected = False
            for check in pre_checks:
                error = check(client, cmd, argv)
                if error is not None:
                    if error is not True:  # True: handled (e.g. queued inside MULTI)
                        dispatcher.reject(client, error, cmd)
                    rejected = True
                    break
            if rejected:
                continue

        # -- Dispatcher.call --------------------------------------------------------------------
        frozen = clock.frozen_at_ns
        keyspace.now_ms = (_time_ns() + clock.offset_ns if frozen is None else frozen) // 1_000_000
        keyspace.no_touch = client.no_touch
        dirty_before = keyspace.dirty
        calls_before = propagator.calls
        if propagator.active:
            propagator.calls = calls_before + 1
        start = _perf_ns()
        try:
            reply = cmd.handler(client, argv)
        except ErrorReply as exc:
            reply = exc
        except Exception as exc:  # noqa: BLE001  (a bug must not take the connection down)
            reply = dispatcher.handler_failed(cmd, exc)
        elapsed_us = (_perf_ns() - start) // 1000
        cmd.calls += 1
        cmd.usec += elapsed_us
        client.last_command = cmd.fullname
        client.commands_processed += 1
        stats.commands_processed += 1
        if elapsed_us >= stats.slowlog_threshold_us >= 0:
            server.slowlog.record(client, argv, elapsed_us)
        if dispatcher.observe is not None:  # MONITOR or tracking switched on by this command
            dispatcher.observe(client, cmd, argv)
        if propagator.active:
            propagator.record(
                client.db.index, argv, keyspace.dirty != dirty_before, propagator.calls > calls_before + 1
            )
        kind = type(reply)
        if client.reply_mode or client.skip_this_reply:  # CLIENT REPLY run by this command
            if isinstance(reply, ErrorReply):
                cmd.failed_calls += 1
                stats.count_error(reply.message)
            dispatcher.write_reply(client, reply)
        elif kind is Raw:
            client.out += reply  # pre-encoded constants (+OK, +PONG)
        elif kind is bytes:
            client.out += b"$%d\r\n%s\r\n" % (len(reply), reply)
        elif isinstance(reply, ErrorReply):
            cmd.failed_calls += 1
            stats.count_error(reply.message)
            encode_error(reply.message, client.out)
        else:
            encode(reply, client.out, client.resp3)

        # -- after the command (Dispatcher.execute) ---------------------------------------------
        if propagator.unit:
            propagator.end_unit()
        if blocking.ready:
            blocking.serve_ready()
        if dispatcher.pending_pushes:  # pub/sub deliveries: after this command's reply
            dispatcher.flush_pushes(client)
