"""HyperLogLog values in Valkey's byte layout: hashing, register encodings and the estimator.

An HLL is an ordinary string value, so GET/SET/DUMP/APPEND see the very bytes Valkey would
hold. The layout (16384 registers of 6 bits, precision 14):

* a 16-byte header: ``HYLL``, one encoding byte (1 = sparse, 0 = dense), three unused bytes,
  then the cached cardinality as a little-endian 64-bit integer whose top bit marks the cache
  stale;
* dense: 12288 bytes, register ``i`` in bits ``6i .. 6i+5`` of the byte string read as one
  little-endian bit stream (so 4 registers per 3 bytes);
* sparse: run-length opcodes. ``00xxxxxx`` is a run of ``x+1`` zero registers, ``01xxxxxx
  yyyyyyyy`` a run of ``(x<<8|y)+1`` zeros, ``1vvvvvxx`` a run of ``x+1`` registers holding
  ``v+1`` (so 1..32).

The sparse encoding depends on the order of updates (a run is split where a register changes
and only nearby equal runs are merged back), so updates replay Valkey's algorithm step by step
to give the same bytes. For speed the opcodes are decoded once per command into two parallel
lists (opcode value, first register); the first register of an opcode never moves when its
neighbours are split or merged, so the opcode covering a register is found by bisection. An
XZERO opcode is kept as the 16-bit integer of its two bytes, which tells it apart from the one
byte opcodes (< 256).

Whole-register work (counting, merging, converting) goes through a "raw" form, one byte per
register, built with ``bytes.translate`` on the three interleaved byte streams of the dense
form, so no Python loop touches every register.

Corrupt values behave as in Valkey (the same replies, and the same bytes after updates that
succeed before the corruption is met), with one known exception: when a sparse value ends in an
XZERO opcode cut after its first byte, Valkey reads whatever byte lies past the end of the
string as its second byte. That is a zero at first, which is what we use, but once Valkey has
rewritten such an opcode the byte past the end is left over from the rewrite, which a later
update of the same value would see and we do not.

The estimator is Ertl's improved raw estimator over the register histogram
("New cardinality estimation algorithms for HyperLogLog sketches", arXiv:1702.01284), the
same double arithmetic as Valkey so that counts agree exactly.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from struct import Struct
from typing import Any

from pyvalkey import _speedups

__all__ = [
    "DENSE",
    "DENSE_SIZE",
    "HEADER_SIZE",
    "REGISTERS",
    "SPARSE",
    "add_elements",
    "add_pairs",
    "cached_count",
    "count",
    "decode_sparse_text",
    "estimate",
    "get_registers",
    "invalidate",
    "is_hll",
    "merge_into",
    "murmurhash64a",
    "new_sparse",
    "pattern",
    "raw_to_dense",
    "self_test",
    "store_count",
    "to_dense",
    "to_raw",
]

P = 14
REGISTERS = 1 << P
Q = 64 - P
HEADER_SIZE = 16
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HEADER_SIZE + DENSE_BYTES
DENSE = 0
SPARSE = 1
SPARSE_VAL_MAX = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln 2

_MASK = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995
_SEED = 0xADC83B19
_HIGH = 1 << Q  # stops the zero-run count at Q + 1
# What x86 llround gives for an estimate out of int64 range (registers no hash can produce);
# as a cached count it has the stale bit set, so it is never trusted.
_LLROUND_INVALID = 1 << 63
_CACHE_STALE = 0x80  # top bit of the header's last cardinality byte
_CARD = Struct("<Q")
_BLOCKS = [Struct(f"<{n}Q") for n in range(64)]

_MAGIC = b"HYLL"
_ONE_BYTE = [bytes((b,)) for b in range(256)]
_EMPTY_SPARSE = (
    _MAGIC + bytes([SPARSE]) + bytes(11) + bytes([0x40 | ((REGISTERS - 1) >> 8), (REGISTERS - 1) & 0xFF])
)


# ---------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------


def murmurhash64a(data: bytes) -> int:
    """MurmurHash2, 64-bit variant "64A", with Valkey's seed; blocks read little-endian."""
    size = len(data)
    h = _SEED ^ ((size * _M) & _MASK)
    nblocks = size >> 3
    if nblocks:
        blocks = (
            _BLOCKS[nblocks].unpack_from(data) if nblocks < 64 else Struct(f"<{nblocks}Q").unpack_from(data)
        )
        for k in blocks:
            k = (k * _M) & _MASK
            k ^= k >> 47
            h ^= (k * _M) & _MASK
            h = (h * _M) & _MASK
    if size & 7:
        h ^= int.from_bytes(data[nblocks << 3 :], "little")
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def pattern(data: bytes) -> tuple[int, int]:
    """(register index, length of the 0...01 run) for one element."""
    h = murmurhash64a(data)
    rest = (h >> P) | _HIGH
    return h & (REGISTERS - 1), (rest & -rest).bit_length()


def _patterns(elements: Iterable[bytes]) -> Iterator[tuple[int, int]]:
    for element in elements:
        yield pattern(element)


def patterns_of(elements: Iterable[bytes]) -> list[tuple[int, int]]:
    """``pattern_list(elements)``, by the compiled twin (pyvalkey/_speedups/hll.pyx) when in use."""
    compiled = _speedups.hll_pattern_list
    if compiled is not None:
        return compiled(elements)  # type: ignore[no-any-return]
    return pattern_list(elements)


def pattern_list(elements: Iterable[bytes]) -> list[tuple[int, int]]:
    """``[pattern(e) for e in elements]`` with the hash inlined (bulk PFADD's hot loop)."""
    out = []
    append = out.append
    mask, mul, seed, high, blocks_of = _MASK, _M, _SEED, _HIGH, _BLOCKS
    for data in elements:
        size = len(data)
        h = seed ^ ((size * mul) & mask)
        nblocks = size >> 3
        if nblocks:
            blocks = (
                blocks_of[nblocks].unpack_from(data)
                if nblocks < 64
                else Struct(f"<{nblocks}Q").unpack_from(data)
            )
            for k in blocks:
                k = (k * mul) & mask
                k ^= k >> 47
                h ^= (k * mul) & mask
                h = (h * mul) & mask
        if size & 7:
            h ^= int.from_bytes(data[nblocks << 3 :], "little")
            h = (h * mul) & mask
        h ^= h >> 47
        h = (h * mul) & mask
        h ^= h >> 47
        rest = (h >> P) | high
        append((h & (REGISTERS - 1), (rest & -rest).bit_length()))
    return out


# ---------------------------------------------------------------------------------------------
# Header and validity
# ---------------------------------------------------------------------------------------------


def new_sparse() -> bytearray:
    """An empty HLL as Valkey creates it: sparse, one XZERO covering every register."""
    return bytearray(_EMPTY_SPARSE)


def is_hll(value: Any) -> bool:
    """Valkey's shape check before any HLL command touches a string value."""
    size = len(value)
    if size < HEADER_SIZE or value[:4] != _MAGIC:
        return False
    encoding = value[4]
    if encoding == DENSE:
        return size == DENSE_SIZE
    return encoding == SPARSE


def cached_count(value: Any) -> int | None:
    """The cardinality kept in the header, or None when it is marked stale."""
    if value[15] & _CACHE_STALE:
        return None
    return _CARD.unpack_from(value, 8)[0]  # type: ignore[no-any-return]


def store_count(buf: bytearray, card: int) -> None:
    _CARD.pack_into(buf, 8, card)


def invalidate(buf: bytearray) -> None:
    buf[15] |= _CACHE_STALE


# ---------------------------------------------------------------------------------------------
# Raw form (one byte per register)
# ---------------------------------------------------------------------------------------------

# Byte maps that cut a dense byte into its register pieces, and put pieces back.
_LOW6 = bytes(b & 63 for b in range(256))
_TOP2 = bytes(b >> 6 for b in range(256))
_LOW4_UP2 = bytes((b & 15) << 2 for b in range(256))
_TOP4 = bytes(b >> 4 for b in range(256))
_LOW2_UP4 = bytes((b & 3) << 4 for b in range(256))
_DOWN2 = bytes(b >> 2 for b in range(256))
_LOW2_TOP = bytes(((b & 3) << 6) for b in range(256))
_MID4 = bytes(((b & 63) >> 2) for b in range(256))
_LOW4_TOP = bytes(((b & 15) << 4) for b in range(256))
_HIGH2 = bytes(((b & 63) >> 4) for b in range(256))
_UP2 = bytes(((b & 63) << 2) for b in range(256))
_QUARTER = REGISTERS // 4


def _or(a: bytes, b: bytes) -> bytes:
    """Bytewise OR of two equally long byte strings (their set bits never overlap here)."""
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _dense_to_raw(regs: Any) -> bytearray:
    b0 = bytes(regs[0::3])
    b1 = bytes(regs[1::3])
    b2 = bytes(regs[2::3])
    raw = bytearray(REGISTERS)
    raw[0::4] = b0.translate(_LOW6)
    raw[1::4] = _or(b0.translate(_TOP2), b1.translate(_LOW4_UP2))
    raw[2::4] = _or(b1.translate(_TOP4), b2.translate(_LOW2_UP4))
    raw[3::4] = b2.translate(_DOWN2)
    return raw


def raw_to_dense(raw: Any) -> bytes:
    """Pack 16384 register bytes (each below 64) into the 12288 dense bytes."""
    r0 = bytes(raw[0::4])
    r1 = bytes(raw[1::4])
    r2 = bytes(raw[2::4])
    r3 = bytes(raw[3::4])
    out = bytearray(DENSE_BYTES)
    out[0::3] = _or(r0.translate(_LOW6), r1.translate(_LOW2_TOP))
    out[1::3] = _or(r1.translate(_MID4), r2.translate(_LOW4_TOP))
    out[2::3] = _or(r2.translate(_HIGH2), r3.translate(_UP2))
    return bytes(out)


def _sparse_into_raw(value: Any, raw: bytearray) -> bool:
    """Write the sparse opcodes of ``value`` into ``raw`` (all zeros); False when they do not
    cover exactly 16384 registers."""
    data = bytes(value[HEADER_SIZE:]) + b"\0"  # C reads the terminator after a cut XZERO
    end = len(data) - 1
    pos = 0
    idx = 0
    while pos < end:
        op = data[pos]
        if op & 0x80:
            run = (op & 3) + 1
            if idx + run > REGISTERS:
                return False
            raw[idx : idx + run] = _ONE_BYTE[((op >> 2) & 31) + 1] * run
            pos += 1
        elif op & 0x40:
            run = (((op & 63) << 8) | data[pos + 1]) + 1
            if idx + run > REGISTERS:
                return False
            pos += 2
        else:
            run = op + 1
            if idx + run > REGISTERS:
                return False
            pos += 1
        idx += run
    return idx == REGISTERS


def to_raw(value: Any) -> bytearray | None:
    """The registers of a checked HLL value, one byte each; None if the sparse data is corrupt."""
    if value[4] == DENSE:
        return _dense_to_raw(memoryview(value)[HEADER_SIZE:DENSE_SIZE])
    raw = bytearray(REGISTERS)
    return raw if _sparse_into_raw(value, raw) else None


def _max_registers(a: Any, b: Any) -> bytes:
    """Bytewise max of two register arrays (values below 128), computed on big integers: each
    byte of ``(a | 0x80..) - b`` keeps its top bit exactly where a >= b, with no borrow
    crossing bytes."""
    x = int.from_bytes(a, "little")
    y = int.from_bytes(b, "little")
    keep_x = (((x | _TOP_BITS) - y) & _TOP_BITS) >> 7
    keep_x *= 0xFF
    return ((x & keep_x) | (y & ~keep_x)).to_bytes(REGISTERS, "little")


_TOP_BITS = int.from_bytes(b"\x80" * REGISTERS, "little")


def merge_into(raw: bytearray, value: Any) -> bool:
    """raw[i] = max(raw[i], register i of ``value``); False if ``value`` is corrupt sparse."""
    if value[4] == DENSE:
        other = _dense_to_raw(memoryview(value)[HEADER_SIZE:DENSE_SIZE])
    else:
        other = bytearray(REGISTERS)
        if not _sparse_into_raw(value, other):
            return False
    raw[:] = _max_registers(raw, other)
    return True


# ---------------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------------


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if previous == z:
            return z / 3


def estimate(raw: Any) -> int:
    """Cardinality estimate from the registers in raw form."""
    histogram = [0] * (Q + 2)
    left = REGISTERS
    for v in range(Q + 2):  # values are mostly small: stop once every register is counted
        found = raw.count(_ONE_BYTE[v])
        histogram[v] = found
        left -= found
        if not left:
            break
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    if z == 0.0:
        return _LLROUND_INVALID  # C divides by zero here: the estimate is infinite
    e = ALPHA_INF * m * m / z
    if not e < 9.223372036854775807e18:
        return _LLROUND_INVALID
    # llround: halves go away from zero (e is never negative)
    whole = math.floor(e)
    return int(whole) + (1 if e - whole >= 0.5 else 0)


def count(value: Any) -> int | None:
    """Estimate for a checked HLL value, ignoring the cache; None if corrupt."""
    raw = to_raw(value)
    return None if raw is None else estimate(raw)


# ---------------------------------------------------------------------------------------------
# Dense updates
# ---------------------------------------------------------------------------------------------


def _dense_set(buf: bytearray, index: int, value: int) -> bool:
    """Raise register ``index`` to ``value`` if it is lower; True if it changed."""
    bit = index * 6
    pos = HEADER_SIZE + (bit >> 3)
    shift = bit & 7
    b0 = buf[pos]
    if shift <= 2:
        if value <= (b0 >> shift) & 63:
            return False
        buf[pos] = (b0 & ~(63 << shift) & 0xFF) | (value << shift)
        return True
    b1 = buf[pos + 1]
    if value <= ((b0 >> shift) | (b1 << (8 - shift))) & 63:
        return False
    buf[pos] = (b0 & ((1 << shift) - 1)) | ((value << shift) & 0xFF)
    buf[pos + 1] = (b1 & ~(63 >> (8 - shift)) & 0xFF) | (value >> (8 - shift))
    return True


def _dense_add_pairs(buf: bytearray, pairs: Iterable[tuple[int, int]]) -> int:
    changed = 0
    for index, value in pairs:
        if _dense_set(buf, index, value):
            changed += 1
    return changed


def _dense_add_elements(buf: bytearray, elements: Iterable[bytes]) -> int:
    """PFADD on a dense value: hash every element (pattern_list), then raise registers."""
    changed = 0
    for index, count in patterns_of(elements):
        if _dense_set(buf, index, count):
            changed += 1
    return changed


# ---------------------------------------------------------------------------------------------
# Sparse updates
# ---------------------------------------------------------------------------------------------


def _span(op: int) -> int:
    if op >= 256:
        return (op & 0x3FFF) + 1
    if op & 0x80:
        return (op & 3) + 1
    return op + 1


def _zero_run(length: int) -> int:
    return 0x4000 | (length - 1) if length > SPARSE_ZERO_MAX_LEN else length - 1


def _chunk(op: int) -> bytes:
    return _ONE_BYTE[op] if op < 256 else op.to_bytes(2, "big")


class _Sparse:
    """The opcodes of one sparse value during a command, with Valkey's update algorithm.

    ``ops`` holds the opcodes, ``starts`` the first register of each, ``chunks`` the bytes of
    each (joined to rebuild the value without a Python loop).
    """

    __slots__ = ("chunks", "covered", "cut_tail", "ops", "size", "starts")

    def __init__(self, data: Any) -> None:
        self._load(data)

    def _load(self, data: Any) -> None:
        ops: list[int] = []
        starts: list[int] = []
        chunks: list[bytes] = []
        one = _ONE_BYTE
        end = len(data)
        pos = 0
        first = 0
        self.cut_tail = False
        while pos < end:
            op = data[pos]
            if op & 0x80:
                chunks.append(one[op])
                span = (op & 3) + 1
                pos += 1
            elif op & 0x40:
                if pos + 1 < end:
                    chunks.append(bytes(data[pos : pos + 2]))
                    op = (op << 8) | data[pos + 1]
                else:  # an XZERO cut short: C reads the terminating zero byte
                    chunks.append(one[op])
                    op <<= 8
                    self.cut_tail = True
                span = (op & 0x3FFF) + 1
                pos += 2
            else:
                chunks.append(one[op])
                span = op + 1
                pos += 1
            ops.append(op)
            starts.append(first)
            first += span
        self.ops = ops
        self.starts = starts
        self.chunks = chunks
        self.size = HEADER_SIZE + end  # byte length of the whole value
        self.covered = first

    def encode(self) -> bytes:
        return b"".join(self.chunks)

    def set(self, index: int, value: int, max_bytes: int) -> int:
        """1 if the register was raised, 0 if not, -1 if corrupt, 2 to promote to dense."""
        if value > SPARSE_VAL_MAX:
            return 2
        ops = self.ops
        if index >= self.covered:
            return -1
        starts = self.starts
        i = bisect_right(starts, index) - 1
        op = ops[i]
        first = starts[i]
        if op < 256 and op & 0x80:
            if ((op >> 2) & 31) + 1 >= value:
                return 0
            run = (op & 3) + 1
            if run == 1:
                op = 0x80 | ((value - 1) << 2)
                ops[i] = op
                self.chunks[i] = _ONE_BYTE[op]
                self._merge(i)
                return 1
            is_val = True
        else:
            if op == 0:  # a single zero register
                op = 0x80 | ((value - 1) << 2)
                ops[i] = op
                self.chunks[i] = _ONE_BYTE[op]
                self._merge(i)
                return 1
            is_val = False
            run = _span(op)
        last = first + run - 1
        new_ops: list[int] = []
        new_starts: list[int] = []
        if is_val:
            keep = op & 0xFC
            if index != first:
                new_ops.append(keep | (index - first - 1))
                new_starts.append(first)
            new_ops.append(0x80 | ((value - 1) << 2))
            new_starts.append(index)
            if index != last:
                new_ops.append(keep | (last - index - 1))
                new_starts.append(index + 1)
        else:
            if index != first:
                new_ops.append(_zero_run(index - first))
                new_starts.append(first)
            new_ops.append(0x80 | ((value - 1) << 2))
            new_starts.append(index)
            if index != last:
                new_ops.append(_zero_run(last - index))
                new_starts.append(index + 1)
        new_chunks = [_chunk(new_op) for new_op in new_ops]
        new_len = 0
        for chunk in new_chunks:
            new_len += len(chunk)
        delta = new_len - (2 if op >= 256 else 1)
        if delta > 0 and self.size + delta > max_bytes:
            return 2
        clip = self.cut_tail and i == len(ops) - 1
        ops[i : i + 1] = new_ops
        starts[i : i + 1] = new_starts
        self.chunks[i : i + 1] = new_chunks
        self.size += delta
        if clip:
            # Valkey writes the new opcodes over the cut one as if it had both its bytes, so
            # the string ends up one byte short of them: the last byte is lost.
            self._load(self.encode()[:-1])
        self._merge(i)
        return 1

    def _merge(self, i: int) -> None:
        """Join equal neighbouring VAL runs, looking at most five opcodes from the one before
        the change, as Valkey does."""
        ops = self.ops
        p = i - 1 if i > 0 else 0
        n = len(ops)
        budget = 5
        while p < n and budget:
            budget -= 1
            op = ops[p]
            if op >= 256 or not op & 0x80:
                p += 1
                continue
            if p + 1 < n:
                nxt = ops[p + 1]
                if nxt < 256 and nxt & 0x80 and (nxt & 0x7C) == (op & 0x7C):
                    run = (op & 3) + (nxt & 3) + 2
                    if run <= SPARSE_VAL_MAX_LEN:
                        op = (op & 0xFC) | (run - 1)
                        ops[p] = op
                        self.chunks[p] = _ONE_BYTE[op]
                        del ops[p + 1]
                        del self.starts[p + 1]
                        del self.chunks[p + 1]
                        n -= 1
                        self.size -= 1
                        continue
            p += 1

    def to_raw(self) -> bytearray | None:
        if self.covered != REGISTERS:
            return None
        raw = bytearray(REGISTERS)
        for op, first in zip(self.ops, self.starts):
            if op < 256 and op & 0x80:
                run = (op & 3) + 1
                raw[first : first + run] = _ONE_BYTE[((op >> 2) & 31) + 1] * run
        return raw


# Decoded sparse values by their register bytes, so that a run of single-element PFADDs on
# the same key decodes it once. The decoded form depends on nothing but those bytes, so a
# hit is always right, whichever key or object the bytes came from.
_DECODED: dict[bytes, _Sparse] = {}
_DECODED_MAX = 8


def _decoded(data: bytes) -> _Sparse:
    sparse = _DECODED.pop(data, None)
    return _Sparse(data) if sparse is None else sparse


def _remember(data: bytes, sparse: _Sparse) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        del _DECODED[next(iter(_DECODED))]
    _DECODED[data] = sparse


def _become_dense(buf: bytearray, raw: Any) -> None:
    """Rewrite ``buf`` as a dense HLL keeping its header (magic, unused bytes, cached count)."""
    header = bytearray(buf[:HEADER_SIZE])
    header[4] = DENSE
    buf[:] = header + raw_to_dense(raw)


def _sparse_add(buf: bytearray, items: Iterator[Any], hashed: bool, max_bytes: int) -> tuple[int, bool]:
    sparse = _decoded(bytes(buf[HEADER_SIZE:]))
    changed = 0
    for item in items:
        index, value = item if hashed else pattern(item)
        result = sparse.set(index, value, max_bytes)
        if result == 1:
            changed += 1
        elif result == 0:
            continue
        elif result == -1:
            buf[HEADER_SIZE:] = sparse.encode()
            if changed:  # each sparse update marks the cache stale at once
                invalidate(buf)
            return changed, False
        else:  # promote: the register needs a value or room the sparse form cannot give
            raw = sparse.to_raw()
            buf[HEADER_SIZE:] = sparse.encode()
            if raw is None:
                if changed:
                    invalidate(buf)
                return changed, False
            _become_dense(buf, raw)
            _dense_set(buf, index, value)
            changed += 1
            if hashed:
                changed += _dense_add_pairs(buf, items)
            else:
                changed += _dense_add_elements(buf, items)
            return changed, True
    data = sparse.encode()
    buf[HEADER_SIZE:] = data
    _remember(data, sparse)
    return changed, True


# A maximal run of zero registers, or of registers holding one same value.
_RUNS = re.compile(rb"\x00+|(.)\1*", re.DOTALL)
# Below this many elements replaying the sparse algorithm is cheap enough.
_BULK_MIN = 64


def _least_sparse_size(raw: bytes) -> int:
    """A lower bound of the byte length of any sparse encoding of ``raw`` (header included):
    no opcode spans two runs, a zero run needs one byte up to 64 registers and two beyond, a
    value run one byte per four registers."""
    size = HEADER_SIZE
    for match in _RUNS.finditer(raw):
        length = match.end() - match.start()
        if match.group(1) is None:
            size += 1 if length <= SPARSE_ZERO_MAX_LEN else 2
        else:
            size += (length + SPARSE_VAL_MAX_LEN - 1) // SPARSE_VAL_MAX_LEN
    return size


def _bulk_sparse_add(buf: bytearray, elements: list[bytes], max_bytes: int) -> tuple[int, bool] | None:
    """A large PFADD on a sparse value that is bound to end dense, done without replaying the
    sparse updates one by one; None when that cannot be told in advance.

    The registers at the end and the number of raising elements do not depend on the way
    they are stored. A valid sparse value only grows while it fits ``max_bytes`` (a growth
    past that, or a register above 32, converts it to dense), so when the final registers
    cannot be written in that many bytes, or one of them exceeds 32, Valkey's conversion
    happened somewhere along the way and the result is the dense form of the final registers,
    whatever the order of the updates."""
    sparse = _decoded(bytes(buf[HEADER_SIZE:]))
    if sparse.cut_tail or sparse.covered != REGISTERS:
        _remember(bytes(buf[HEADER_SIZE:]), sparse)
        return None
    raw = sparse.to_raw()
    assert raw is not None
    pairs = patterns_of(elements)
    changed = 0
    for index, value in pairs:
        if value > raw[index]:
            raw[index] = value
            changed += 1
    if max(raw) <= SPARSE_VAL_MAX and _least_sparse_size(bytes(raw)) <= max(max_bytes, sparse.size):
        # It may still fit: replay Valkey's updates in order (hashes already known).
        _remember(bytes(buf[HEADER_SIZE:]), sparse)
        return _sparse_add(buf, iter(pairs), True, max_bytes)
    _become_dense(buf, raw)
    return changed, True


def add_elements(buf: bytearray, elements: Iterable[bytes], max_bytes: int) -> tuple[int, bool]:
    """PFADD's work on a checked HLL: (registers raised, False if the value is corrupt).
    Changes made before a corruption is found stay, as in Valkey."""
    if buf[4] == DENSE:
        return _dense_add_elements(buf, elements), True
    if isinstance(elements, list) and len(elements) >= _BULK_MIN:
        done = _bulk_sparse_add(buf, elements, max_bytes)
        if done is not None:
            return done
    return _sparse_add(buf, iter(elements), False, max_bytes)


def add_pairs(buf: bytearray, pairs: Iterable[tuple[int, int]], max_bytes: int) -> tuple[int, bool]:
    """Raise registers given as (index, value) pairs, in order, as PFMERGE does."""
    if buf[4] == DENSE:
        return _dense_add_pairs(buf, pairs), True
    return _sparse_add(buf, iter(pairs), True, max_bytes)


def to_dense(buf: bytearray) -> bool:
    """Convert a sparse value to dense in place; False (and unchanged) if corrupt."""
    if buf[4] == DENSE:
        return True
    raw = bytearray(REGISTERS)
    if not _sparse_into_raw(buf, raw):
        return False
    _become_dense(buf, raw)
    return True


def get_registers(buf: bytearray) -> list[int]:
    return list(_dense_to_raw(memoryview(buf)[HEADER_SIZE:DENSE_SIZE]))


def decode_sparse_text(value: Any) -> bytes:
    """PFDEBUG DECODE: the opcodes as ``z:N``, ``Z:N`` and ``v:VALUE,N`` words."""
    data = bytes(value[HEADER_SIZE:]) + b"\0"
    end = len(data) - 1
    pos = 0
    words = []
    while pos < end:
        op = data[pos]
        if op & 0x80:
            words.append(b"v:%d,%d" % (((op >> 2) & 31) + 1, (op & 3) + 1))
            pos += 1
        elif op & 0x40:
            words.append(b"Z:%d" % ((((op & 63) << 8) | data[pos + 1]) + 1))
            pos += 2
        else:
            words.append(b"z:%d" % (op + 1))
            pos += 1
    return b" ".join(words)


# ---------------------------------------------------------------------------------------------
# Self test
# ---------------------------------------------------------------------------------------------


def self_test(max_bytes: int, cycles: int = 20, elements: int = 100_000) -> bytes | None:
    """PFSELFTEST: None if the encoder and estimator behave, else the failure text."""
    rng = random.Random()
    dense = bytearray(DENSE_SIZE)
    dense[:5] = _MAGIC + bytes([DENSE])
    for _ in range(cycles):
        values = bytes(rng.getrandbits(6) for _ in range(REGISTERS))
        dense[HEADER_SIZE:] = raw_to_dense(values)
        back = get_registers(dense)
        for i in range(REGISTERS):
            if back[i] != values[i]:
                return b"TESTFAILED Register %d should be %d but is %d" % (i, values[i], back[i])
    # Single register writes must not disturb their neighbours.
    dense[HEADER_SIZE:] = bytes(DENSE_BYTES)
    expected = bytearray(REGISTERS)
    for _ in range(2000):
        index = rng.randrange(REGISTERS)
        value = rng.randrange(1, 64)
        if _dense_set(dense, index, value):
            expected[index] = value
    back = get_registers(dense)
    for i in range(REGISTERS):
        if back[i] != expected[i]:
            return b"TESTFAILED Register %d should be %d but is %d" % (i, expected[i], back[i])

    dense[HEADER_SIZE:] = bytes(DENSE_BYTES)
    sparse = new_sparse()
    relerr = 1.04 / math.sqrt(REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    pack = _CARD.pack
    done = 0
    while checkpoint <= elements:
        batch = [pack(j ^ seed) for j in range(done + 1, checkpoint + 1)]
        done = checkpoint
        _dense_add_elements(dense, batch)
        add_elements(sparse, batch, max_bytes)
        if checkpoint < max_bytes // 2 and sparse[4] != SPARSE:
            return b"TESTFAILED sparse encoding not used"
        card = count(dense)
        if card != count(sparse):
            return b"TESTFAILED dense/sparse disagree"
        error = abs(checkpoint - (card or 0))
        limit = 1 if checkpoint == 10 else math.ceil(relerr * 6 * checkpoint)
        if error > limit:
            return b"TESTFAILED Too big error. card:%d abserr:%d" % (checkpoint, error)
        checkpoint *= 10
    return None
