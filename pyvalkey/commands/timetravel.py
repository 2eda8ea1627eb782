"""Time travel for tests: move, freeze and resume the server clock.

A pyvalkey extension, not a Valkey command. Python callers use ``advance_time`` /
``freeze_time`` / ``resume_time`` (``EmbeddedServer`` exposes them as methods); clients reach
them with ``DEBUG TIME-TRAVEL <seconds>``, ``DEBUG TIME-FREEZE`` and ``DEBUG TIME-RESUME`` when
``enable-debug-command`` allows DEBUG. Everything time-based reads ``server.clock``, so after a
jump the work that waits on time (blocking deadlines, a CLIENT PAUSE end) is re-checked at once
rather than at the next cron tick.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pyvalkey.commands.parsing import parse_float
from pyvalkey.commands.registry import debug_subcommand
from pyvalkey.errors import ErrorReply
from pyvalkey.protocol.replies import OK

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

BAD_SECONDS = b"ERR TIME-TRAVEL needs a finite number of seconds that is not negative"


def _after_jump(server: Server) -> None:
    server.keyspace.refresh_time()
    server.blocking.check_deadlines()
    paused = server.paused
    if paused is not None and hasattr(paused, "active"):
        paused.active()  # ends a pause whose deadline has now passed


def advance_time(server: Server, seconds: float) -> None:
    """Move the clock ``seconds`` forward (frozen or not). Must run on the server's loop."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("time can only move forward by a finite number of seconds")
    server.clock.advance(seconds)
    _after_jump(server)


def freeze_time(server: Server) -> None:
    server.clock.freeze()
    server.keyspace.refresh_time()


def resume_time(server: Server) -> None:
    server.clock.resume()
    _after_jump(server)


@debug_subcommand(
    "time-travel",
    lambda n: n == 3,
    "TIME-TRAVEL <seconds>",
    "    pyvalkey extension: move the server clock forward by <seconds> (fractions allowed).",
    "    Expiry, TTLs, idle times and blocking timeouts all follow the moved clock.",
)
def debug_time_travel(client: Client, argv: list[bytes]) -> Any:
    seconds = parse_float(argv[2])
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ErrorReply(BAD_SECONDS)
    advance_time(client.server, seconds)
    return OK


@debug_subcommand(
    "time-freeze",
    lambda n: n == 2,
    "TIME-FREEZE",
    "    pyvalkey extension: stop the server clock; TIME-TRAVEL still moves it.",
)
def debug_time_freeze(client: Client, argv: list[bytes]) -> Any:
    freeze_time(client.server)
    return OK


@debug_subcommand(
    "time-resume",
    lambda n: n == 2,
    "TIME-RESUME",
    "    pyvalkey extension: let a frozen server clock run again from where it stands.",
)
def debug_time_resume(client: Client, argv: list[bytes]) -> Any:
    resume_time(client.server)
    return OK
