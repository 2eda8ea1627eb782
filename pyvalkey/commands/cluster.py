"""CLUSTER and CLUSTERSCAN on a server without cluster support (``cluster-enabled no``).

Valkey answers every CLUSTER subcommand but KEYSLOT with an error saying cluster support is
disabled; KEYSLOT computes the hash slot of a key (CRC16 of its hash tag, modulo 16384), which
clients use even against a standalone server. The commands exist so that clients see Valkey's
replies (not "unknown command") and so that scripts get the noscript refusal for the subcommands
flagged noscript (CLUSTER RESET ...).
"""

from __future__ import annotations

from typing import Any

from pyvalkey.client import Client
from pyvalkey.commands.registry import command, compact_table
from pyvalkey.errors import ErrorReply, msg

__all__ = ["key_hash_slot"]

CLUSTER_SLOTS = 16384


def _crc16_table() -> list[int]:
    # CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    crc = 0
    table = _CRC16
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def key_hash_slot(key: bytes) -> int:
    """The slot of ``key``: only the part inside the first ``{...}`` is hashed, when that part is
    not empty."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return crc16(key) & (CLUSTER_SLOTS - 1)


@command("cluster|keyslot")
def cluster_keyslot(client: Client, argv: list[bytes]) -> Any:
    return key_hash_slot(argv[2])


def _disabled(client: Client, argv: list[bytes]) -> Any:
    raise ErrorReply(msg.CLUSTER_DISABLED)


def _register_disabled() -> None:
    """Every other CLUSTER subcommand Valkey knows answers that cluster support is disabled."""
    for fullname in compact_table():
        if fullname.startswith("cluster|") and fullname != "cluster|keyslot":
            command(fullname)(_disabled)


_register_disabled()
command("clusterscan")(_disabled)
