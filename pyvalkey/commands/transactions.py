"""Transaction commands: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Valkey's multi.c).

The state lives in ``pyvalkey.multi``; queueing happens in its dispatcher pre-check, so these
handlers only see MULTI/EXEC/DISCARD/WATCH/UNWATCH themselves.

EXEC writes its array header itself and then runs each queued command through
``Dispatcher.call``, which appends that command's reply (or error) to the client's output: the
result is one array whose elements are the commands' own replies, errors included, exactly as
Valkey streams it. Blocking commands do not block inside EXEC (``client.deny_blocking``).
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import REPLY_OFF, Client
from pyvalkey.commands.connection import RESET_HOOKS
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.multi import DIRTY_CAS, transactions
from pyvalkey.protocol.replies import NO_REPLY, NULL_ARRAY, OK

_EXEC_WITHOUT_MULTI = b"ERR EXEC without MULTI"
_DISCARD_WITHOUT_MULTI = b"ERR DISCARD without MULTI"
_EXECABORT = b"EXECABORT Transaction discarded because of previous errors."


@command("multi")
def multi(client: Client, argv: list[bytes]) -> Any:
    if client.multi is not None:  # normally refused earlier: MULTI is flagged no_multi
        raise ErrorReply(b"ERR MULTI calls can not be nested")
    transactions(client.server).begin(client)
    return OK


@command("discard")
def discard(client: Client, argv: list[bytes]) -> Any:
    if client.multi is None:
        raise ErrorReply(_DISCARD_WITHOUT_MULTI)
    transactions(client.server).discard(client)
    return OK


@command("exec")
def exec_(client: Client, argv: list[bytes]) -> Any:
    state = client.multi
    if state is None:
        raise ErrorReply(_EXEC_WITHOUT_MULTI)
    server = client.server
    tx = transactions(server)
    if tx.any_watched_expired(client):
        client.flags.add(DIRTY_CAS)
    if state.dirty_exec or DIRTY_CAS in client.flags:
        queue_error = state.dirty_exec
        tx.discard(client)
        if queue_error:
            raise ErrorReply(_EXECABORT)
        return NULL_ARRAY
    tx.unwatch_all(client)
    queued = state.commands
    if client.reply_mode != REPLY_OFF and not client.skip_this_reply:
        client.out += b"*%d\r\n" % len(queued)
    call = server.dispatcher.call
    was_denying = client.deny_blocking
    client.deny_blocking = True
    acl = getattr(server, "acl", None)  # pyvalkey/acl.py: rules may have changed since queueing
    acl_check = acl.exec_check if acl is not None and acl.installed else None
    try:
        for cmd, cmd_argv in queued:
            if acl_check is not None:
                denied = acl_check(client, cmd, cmd_argv)
                if denied is not None:
                    server.stats.count_error(denied.message)
                    server.dispatcher.write_reply(client, denied)
                    continue
            call(client, cmd, cmd_argv)
    finally:
        client.deny_blocking = was_denying
        tx.discard(client)
    return NO_REPLY


@command("watch")
def watch(client: Client, argv: list[bytes]) -> Any:
    if client.multi is not None:  # normally refused earlier: WATCH is flagged no_multi
        raise ErrorReply(msg.NOT_ALLOWED_IN_MULTI % b"WATCH")
    transactions(client.server).watch(client, argv[1:])
    return OK


@command("unwatch")
def unwatch(client: Client, argv: list[bytes]) -> Any:
    transactions(client.server).unwatch_all(client)
    client.flags.discard(DIRTY_CAS)
    return OK


def _reset(client: Client) -> None:
    if client.multi is not None or client.watched_keys or DIRTY_CAS in client.flags:
        transactions(client.server).discard(client)


RESET_HOOKS.append(_reset)
