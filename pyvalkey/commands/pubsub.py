"""Pub/Sub commands (Valkey's pubsub.c): (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

The registry and message delivery live in ``pyvalkey.pubsub`` (``server.pubsub``). Subscription
changes answer with one confirmation per channel (``[kind, channel, count]``: an array in RESP2,
a push in RESP3), written straight into the client's output since one command yields several
replies; like Valkey's pushes they are written even under CLIENT REPLY OFF.
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.connection import RESET_HOOKS
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, subcommand_syntax_error
from pyvalkey.propagation import ReplicationOnly
from pyvalkey.protocol.replies import NO_REPLY, Push
from pyvalkey.protocol.writer import encode
from pyvalkey.pubsub import PubSub, pubsub_state

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_HELP_ENTRIES: list[HelpEntry] = [
    ("CHANNELS [<pattern>]", "Channels that have subscribers, filtered by the glob <pattern> if given."),
    ("NUMPAT", "How many pattern subscriptions exist across all clients."),
    ("NUMSUB [<channel> ...]", [
        "Each named channel with its number of direct subscribers (patterns not counted).",
    ]),
    ("SHARDCHANNELS [<pattern>]", "Shard channels that have subscribers, filtered by <pattern> if given."),
    ("SHARDNUMSUB [<shardchannel> ...]", "Each named shard channel with its number of subscribers."),
]


def _confirm(client: Client, kind: bytes, channel: bytes | None, count: int) -> None:
    encode(Push((kind, channel, count)), client.out, client.resp3)


def _deny_blocking(client: Client, name: bytes) -> None:
    # A caller that needs one reply per command (a script) cannot enter subscriber mode;
    # MULTI/EXEC is let through for compatibility, as in Valkey.
    if client.deny_blocking and client.multi is None:
        raise ErrorReply(b"ERR %s isn't allowed for a DENY BLOCKING client" % name)


def _registry(client: Client) -> PubSub:
    return pubsub_state(client.server)


# -- subscribing ---------------------------------------------------------------------------------


@command("subscribe")
def subscribe(client: Client, argv: list[bytes]) -> Any:
    _deny_blocking(client, b"SUBSCRIBE")
    registry = _registry(client)
    for channel in argv[1:]:
        registry.subscribe(client, channel)
        _confirm(client, b"subscribe", channel, registry.count(client))
    return NO_REPLY


@command("ssubscribe")
def ssubscribe(client: Client, argv: list[bytes]) -> Any:
    _deny_blocking(client, b"SSUBSCRIBE")
    registry = _registry(client)
    for channel in argv[1:]:
        registry.subscribe(client, channel, shard=True)
        _confirm(client, b"ssubscribe", channel, registry.shard_count(client))
    return NO_REPLY


@command("psubscribe")
def psubscribe(client: Client, argv: list[bytes]) -> Any:
    _deny_blocking(client, b"PSUBSCRIBE")
    registry = _registry(client)
    for pattern in argv[1:]:
        registry.psubscribe(client, pattern)
        _confirm(client, b"psubscribe", pattern, registry.count(client))
    return NO_REPLY


@command("unsubscribe")
def unsubscribe(client: Client, argv: list[bytes]) -> Any:
    registry = _registry(client)
    channels = argv[1:] or list(client.pubsub_channels or ())
    for channel in channels:
        registry.unsubscribe(client, channel)
        _confirm(client, b"unsubscribe", channel, registry.count(client))
    if not channels:
        _confirm(client, b"unsubscribe", None, registry.count(client))
    return NO_REPLY


@command("sunsubscribe")
def sunsubscribe(client: Client, argv: list[bytes]) -> Any:
    registry = _registry(client)
    channels = argv[1:] or list(client.pubsub_shard_channels or ())
    for channel in channels:
        registry.unsubscribe(client, channel, shard=True)
        _confirm(client, b"sunsubscribe", channel, registry.shard_count(client))
    if not channels:
        _confirm(client, b"sunsubscribe", None, registry.shard_count(client))
    return NO_REPLY


@command("punsubscribe")
def punsubscribe(client: Client, argv: list[bytes]) -> Any:
    registry = _registry(client)
    patterns = argv[1:] or list(client.pubsub_patterns or ())
    for pattern in patterns:
        registry.punsubscribe(client, pattern)
        _confirm(client, b"punsubscribe", pattern, registry.count(client))
    if not patterns:
        _confirm(client, b"punsubscribe", None, registry.count(client))
    return NO_REPLY


# -- publishing ----------------------------------------------------------------------------------


@command("publish")
def publish(client: Client, argv: list[bytes]) -> Any:
    # Replicas get the message too, for their own subscribers (not the AOF).
    client.server.propagator.rewrite(ReplicationOnly(argv))
    return _registry(client).publish(argv[1], argv[2])


@command("spublish")
def spublish(client: Client, argv: list[bytes]) -> Any:
    client.server.propagator.rewrite(ReplicationOnly(argv))
    return _registry(client).publish(argv[1], argv[2], shard=True)


# -- PUBSUB introspection ------------------------------------------------------------------------


@command("pubsub|help")
def pubsub_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("PUBSUB", _HELP_ENTRIES)


def _channels(client: Client, argv: list[bytes], shard: bool) -> Any:
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    return _registry(client).channel_names(argv[2] if len(argv) == 3 else None, shard)


@command("pubsub|channels")
def pubsub_channels(client: Client, argv: list[bytes]) -> Any:
    return _channels(client, argv, False)


@command("pubsub|shardchannels")
def pubsub_shardchannels(client: Client, argv: list[bytes]) -> Any:
    return _channels(client, argv, True)


def _numsub(client: Client, argv: list[bytes], shard: bool) -> Any:
    registry = _registry(client)
    reply: list[Any] = []
    for channel in argv[2:]:
        reply.append(channel)
        reply.append(registry.numsub(channel, shard))
    return reply


@command("pubsub|numsub")
def pubsub_numsub(client: Client, argv: list[bytes]) -> Any:
    return _numsub(client, argv, False)


@command("pubsub|shardnumsub")
def pubsub_shardnumsub(client: Client, argv: list[bytes]) -> Any:
    return _numsub(client, argv, True)


@command("pubsub|numpat")
def pubsub_numpat(client: Client, argv: list[bytes]) -> Any:
    return len(_registry(client).patterns)


def _reset(client: Client) -> None:
    if client.pubsub_channels or client.pubsub_patterns or client.pubsub_shard_channels:
        _registry(client).forget_client(client)


RESET_HOOKS.append(_reset)
