"""CRC-64/Jones, the checksum Valkey puts at the end of RDB files and DUMP payloads.

Parameters (as Valkey uses them): polynomial 0xad93d23594c935a9 in reflected form, initial value
0, no final xor, so ``crc64(b"123456789") == 0xe9c6d914c4b8d9ca``. The result is written little
endian. Pure Python, one table lookup per byte; the RDB writer feeds it whole chunks so the
per-call overhead stays small.
"""

from __future__ import annotations

__all__ = ["crc64"]

_POLY_REFLECTED = 0x95AC9329AC4BC9B5  # bit-reversal of 0xad93d23594c935a9


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Continue the checksum ``crc`` over ``data``."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
