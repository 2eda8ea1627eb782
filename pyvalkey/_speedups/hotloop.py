"""The per-read command loop: parse, dispatch, run and encode every buffered request of a client.

``process_commands(client, server)`` is what ``Connection.process`` runs for each read. It is
``Dispatcher.execute`` and ``Dispatcher.call`` fused with the hiredis reader's common case, with
the objects that never change hoisted out of the loop, for the requests that need none of the
rarer machinery: a command found by its usual spelling, with a valid arity and no
subcommands, not blocking, from an authenticated client with replies on. Anything else goes
through ``Dispatcher.execute`` unchanged, so behaviour is defined there and this loop must give
the same result, only faster.

When the compiled lane (lane.pyx) is built, clients read by the ``PythonRequestReader`` have their
requests taken by it first: it runs the commonest commands in C and the data commands' handlers
through its own call path, and hands this loop only the rest (``_native_lane`` below).

This loop stays plain Python: compiled by Cython as it is, it was no faster, since most of its time is
attribute access on Python objects, which Cython does through the generic (slower than the
3.11 interpreter's specialised) path. The one piece that is arithmetic on a buffer, the CRLF
check after each argument, is ``wire.end_of_request``, which is compiled when the build can;
``pyvalkey._speedups`` sets ``_end_of_request`` to the compiled function then, and the inlined
copy below (same logic, no call overhead) runs otherwise.
"""

from __future__ import annotations

import time
from typing import Any

from pyvalkey.latency import note_slow_call
from pyvalkey.protocol.reader import HiredisRequestReader, ProtocolError, PythonRequestReader
from pyvalkey.protocol.replies import ErrorReply, Raw
from pyvalkey.protocol.writer import encode, encode_error

__all__ = ["process_commands"]

_perf_ns = time.perf_counter_ns
_time_ns = time.time_ns
_INVALID_CRLF = "Protocol error: invalid CRLF in request"
_BULK_HEADERS = tuple(b"$%d\r\n" % n for n in range(256))
# The compiled wire.end_of_request when pyvalkey._speedups chose it; None: the inlined copy.
_end_of_request: Any = None
# The compiled lane's next_request (lane.pyx) when pyvalkey._speedups chose it: it reads the
# requests of clients with a PythonRequestReader and runs the commonest commands itself.
_native_lane: Any = None


def process_commands(client: Any, server: Any) -> None:
    """Run the client's complete buffered commands until none is left, the client blocks, or it
    is to be closed. Replies are appended to ``client.out``; a ``ProtocolError`` propagates."""
    argv: Any
    reader = client.reader
    lane = _native_lane if type(reader) is PythonRequestReader else None
    first: Any = False  # a request the lane already returned, for the loop below
    if lane is not None and client.blocked is None and not client.close_after_reply and server.paused is None:
        # The lane may run every buffered request itself: then nothing below is needed.
        first = lane(client, server, reader)
        if first is None:
            return
    out: bytearray = client.out
    dispatcher = server.dispatcher
    execute = dispatcher.execute
    keyspace = dispatcher.keyspace
    clock = dispatcher.clock
    stats = dispatcher.stats
    propagator = dispatcher.propagator
    blocking = dispatcher.blocking
    pre_checks = dispatcher.pre_checks
    hiredis_reader = type(reader) is HiredisRequestReader
    end_of_request = _end_of_request
    # Wall-clock time minus the performance counter, so that one counter read per command gives
    # both the command's start (for its duration) and the time it sees (keyspace.now_ms).
    wall_offset = _time_ns() - _perf_ns()
    while True:
        if client.blocked is not None or client.close_after_reply:
            return
        paused = server.paused
        if paused is not None and paused.holds(client):
            return

        # -- the next request (HiredisRequestReader.get_command's common case, inlined) ----------
        if lane is not None:
            # Runs the native commands at the front itself; returns the next other request,
            # None when nothing is buffered, False when the reader must take the next request.
            if first is not False:
                argv = first
                first = False
            else:
                argv = lane(client, server, reader)
            if argv is False:
                argv = reader.get_command()
        elif hiredis_reader and reader._fast:
            try:
                argv = reader._hiredis.gets()
            except reader._hiredis_error:
                argv = reader._hiredis_failed()
            else:
                if end_of_request is not None:
                    pos = end_of_request(argv, reader._buf, reader._boundary)
                elif type(argv) is list and argv:
                    # wire.end_of_request, inlined: hiredis does not look at the two bytes
                    # after each argument; Valkey requires CRLF there. Arguments are checked in
                    # order, so the first problem is the one reported, as by the Python parser.
                    buf = reader._buf
                    n = len(argv)
                    pos = reader._boundary + (4 if n < 10 else 3 + len(str(n)))
                    for arg in argv:
                        if type(arg) is not bytes:
                            pos = -1
                            break
                        n = len(arg)
                        pos += n + (4 if n < 10 else 5 if n < 100 else 3 + len(str(n)))
                        if buf[pos] != 13 or buf[pos + 1] != 10:
                            raise ProtocolError(_INVALID_CRLF)
                        pos += 2
                else:
                    pos = -1
                if pos >= 0:
                    reader._boundary = pos
                else:  # incomplete, or not a plain request: the reader decides
                    argv = reader._not_plain(argv)
        else:
            argv = reader.get_command()
        if argv is None:
            return

        # -- Dispatcher.execute's common case ---------------------------------------------------
        entry = dispatcher.fast_commands.get(argv[0])
        if entry is None or client.reply_mode or client.skip_this_reply:
            execute(client, argv)
            continue
        cmd, low, high = entry
        nargs = len(argv)
        if nargs < low or nargs > high or not (client.authenticated or cmd.no_auth):
            execute(client, argv)  # arity or authentication error
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
        start = _perf_ns()
        frozen = clock.frozen_at_ns
        if frozen is None:
            keyspace.now_ms = (start + wall_offset + clock.offset_ns) // 1_000_000
        else:
            keyspace.now_ms = frozen // 1_000_000
        keyspace.no_touch = client.no_touch
        dirty_before = keyspace.dirty
        calls_before = propagator.calls
        if propagator.active:
            propagator.calls = calls_before + 1
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
        if elapsed_us >= stats.slow_path_us >= 0:  # slow log, latency monitor
            note_slow_call(server, client, cmd, argv, elapsed_us)
        if stats.latency_tracking:  # LATENCY HISTOGRAM, INFO latencystats
            histogram = cmd.latency_us
            histogram[elapsed_us] = histogram.get(elapsed_us, 0) + 1
        if dispatcher.observe is not None:  # MONITOR feed, tracked keys
            dispatcher.observe(client, cmd, argv)
        if propagator.active:
            propagator.record(
                client.db.index, argv, keyspace.dirty != dirty_before, propagator.calls > calls_before + 1
            )
        kind = type(reply)
        if client.reply_mode or client.skip_this_reply:  # only CLIENT REPLY changes these
            if isinstance(reply, ErrorReply):
                cmd.failed_calls += 1
                stats.count_error(reply.message)
            dispatcher.write_reply(client, reply)
        elif kind is Raw:
            out += reply  # pre-encoded constants (+OK, +PONG)
        elif kind is bytes:
            n = len(reply)
            if n < 256:  # a pre-encoded header and two appends: no formatting, no new object
                out += _BULK_HEADERS[n]
                out += reply
                out += b"\r\n"
            else:
                out += b"$%d\r\n%s\r\n" % (n, reply)
        elif kind is int:
            out += b":%d\r\n" % reply
        elif reply is None:
            out += b"_\r\n" if client.resp3 else b"$-1\r\n"
        elif isinstance(reply, ErrorReply):
            cmd.failed_calls += 1
            stats.count_error(reply.message)
            encode_error(reply.message, out)
        else:
            encode(reply, out, client.resp3)

        # -- after the command (Dispatcher.execute) ---------------------------------------------
        if propagator.unit:
            propagator.end_unit()
        if blocking.ready:
            blocking.serve_ready()
        if dispatcher.pending_pushes:  # pub/sub deliveries: after this command's reply
            dispatcher.flush_pushes(client)
