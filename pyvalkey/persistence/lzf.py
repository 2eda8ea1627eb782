"""LZF, the compression Valkey applies to long strings in RDB files and DUMP payloads.

Format (what both ends agree on): a sequence of runs, each starting with a control byte ``c``:

* ``c < 32``: a literal run of ``c + 1`` bytes copied as they are;
* otherwise a back reference: length ``(c >> 5) + 2`` (when ``c >> 5 == 7`` one more byte
  adds to the length), then one byte that with the low 5 bits of ``c`` forms an offset; the
  copy starts ``offset + 1`` bytes back and may overlap what it writes.

The compressor follows the matching strategy of the liblzf build Valkey ships (16-bit hash of
the next three bytes, one candidate per slot, windows of 8 KiB, matches up to 264 bytes, and
the "very fast" re-hashing of the two positions before the end of each match), so that our
DUMP payloads come out byte-identical to Valkey's for the same string. It returns ``None``
when the output would not fit ``max_out`` bytes, which is how the caller learns that
compression does not pay.
"""

from __future__ import annotations

__all__ = ["LzfError", "compress", "decompress"]

_HLOG = 16
_HSIZE = 1 << _HLOG
_MAX_LIT = 32
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)
_MASK32 = 0xFFFFFFFF


class LzfError(ValueError):
    """The compressed data is malformed or does not expand to the announced length."""


def decompress(data: bytes | memoryview, expected_len: int) -> bytes:
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            end = i + ctrl + 1
            if end > n:
                raise LzfError("literal run past the end of the input")
            out += data[i:end]
            i = end
            continue
        length = ctrl >> 5
        if length == 7:
            if i >= n:
                raise LzfError("truncated back reference")
            length += data[i]
            i += 1
        if i >= n:
            raise LzfError("truncated back reference")
        start = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if start < 0:
            raise LzfError("back reference before the start of the output")
        length += 2
        if start + length <= len(out):
            out += out[start : start + length]
        else:  # overlapping copy: repeats the last bytes written
            for k in range(length):
                out.append(out[start + k])
        if len(out) > expected_len:
            raise LzfError("output longer than announced")
    if len(out) != expected_len:
        raise LzfError("output length differs from the announced one")
    return bytes(out)


def _idx(h: int) -> int:
    return ((h >> (24 - _HLOG)) - h * 5) & (_HSIZE - 1)


def compress(data: bytes, max_out: int) -> bytes | None:
    """LZF-compress ``data``; ``None`` if the result would take ``max_out`` bytes or more."""
    n = len(data)
    if n == 0:
        return None
    htab: dict[int, int] = {}  # slot -> position (absent slots never match, like position 0)
    out = bytearray(1)  # room for the first literal-run control byte
    lit = 0
    ip = 0
    in_end = n
    hval = (data[0] << 8) | data[1] if n > 1 else 0
    while ip < in_end - 2:
        hval = ((hval << 8) | data[ip + 2]) & _MASK32
        slot = _idx(hval)
        ref = htab.get(slot, 0)
        htab[slot] = ip
        off = ip - ref - 1
        if (
            0 <= off < _MAX_OFF
            and ref > 0
            and data[ref + 2] == data[ip + 2]
            and data[ref] == data[ip]
            and data[ref + 1] == data[ip + 1]
        ):
            length = 2
            maxlen = in_end - ip - length
            maxlen = min(maxlen, _MAX_REF)
            op = len(out)
            if op + 3 + 1 >= max_out and op - (0 if lit else 1) + 3 + 1 >= max_out:
                return None
            out[op - lit - 1] = lit - 1 if lit else 0
            if not lit:
                del out[-1]  # no literal run was open: drop its control byte
            done = False
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        done = True
                        break
            if not done:
                while True:
                    length += 1
                    if not (length < maxlen and data[ref + length] == data[ip + length]):
                        break
            length -= 2
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out.append((off >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(off & 0xFF)
            lit = 0
            out.append(0)  # open the next literal run
            ip += length + 1
            if ip >= in_end - 2:
                break
            # Re-hash the last two positions of the match, as the "very fast" build does.
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            hval = ((hval << 8) | data[ip + 2]) & _MASK32
            htab[_idx(hval)] = ip
            ip += 1
            hval = ((hval << 8) | data[ip + 2]) & _MASK32
            htab[_idx(hval)] = ip
            ip += 1
        else:
            if len(out) >= max_out:
                return None
            lit += 1
            out.append(data[ip])
            ip += 1
            if lit == _MAX_LIT:
                out[len(out) - lit - 1] = lit - 1
                lit = 0
                out.append(0)
    if len(out) + 3 > max_out:  # the tail (at most two bytes) is checked once, up front
        return None
    while ip < in_end:
        lit += 1
        out.append(data[ip])
        ip += 1
        if lit == _MAX_LIT:
            out[len(out) - lit - 1] = lit - 1
            lit = 0
            out.append(0)
    out[len(out) - lit - 1] = lit - 1 if lit else 0
    if not lit:
        del out[-1]
    return bytes(out)
