"""The libraries Valkey adds to its Lua: bit, cjson, cmsgpack, struct, and its math.random.

Each library function is a Python callable returning ``(True, results...)`` or
``(False, message)``; the prelude wraps it in a Lua function that raises the message with the
user's position (``user_script:1: ...``), as a C library function would.

These are written for this project from the libraries' documented behaviour (Lua BitOp,
lua-cjson, lua-cmsgpack, Roberto Ierusalimschy's struct).
"""

from __future__ import annotations

import json
import math
import struct as _struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import lupa.lua51 as lupa_lua

if TYPE_CHECKING:
    from pyvalkey.scripting.engine import Engine

_lua_type = lupa_lua.lua_type


class Rand48:
    """The 48-bit linear congruential generator behind Valkey's math.random."""

    __slots__ = ("x",)

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E

    def seed(self, seed: int) -> None:
        self.x = (((seed & 0xFFFFFFFF) << 16) | 0x330E) & 0xFFFFFFFFFFFF

    def next(self) -> int:
        self.x = (0x5DEECE66D * self.x + 0xB) & 0xFFFFFFFFFFFF
        return self.x >> 17

    def next_fraction(self) -> float:
        limit = 0x7FFFFFFF
        return (self.next() % limit) / limit


# -- argument helpers --------------------------------------------------------------------------


class _ArgError(Exception):
    pass


def _typename(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, bytes):
        return "string"
    kind = _lua_type(value)
    return kind if kind else "userdata"


def _number(value: Any, index: int, name: str, present: bool = True) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        try:
            text = value.strip()
            if text[:2].lower() == b"0x":
                return int(text, 16)
            return float(text)
        except ValueError:
            pass
    got = _typename(value) if present else "no value"
    raise _ArgError(f"bad argument #{index} to '{name}' (number expected, got {got})")


def _string(value: Any, index: int, name: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from pyvalkey.scripting.engine import _lua_tostring

        return _lua_tostring(value)
    raise _ArgError(f"bad argument #{index} to '{name}' (string expected, got {_typename(value)})")


# The running engine's ``where_caller`` (set by Engine.run): library errors carry the position
# of the library function's caller, as luaL_error gives it (none when pcall calls it directly).
current_where: list[Callable[[], Any]] = []


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return func(*args)
        except _ArgError as exc:
            from pyvalkey.scripting.engine import LuaRaise

            if current_where:
                raise LuaRaise(current_where[-1]() + str(exc).encode()) from None
            raise LuaRaise(str(exc).encode(), positioned=True) from None

    return call


# -- bit (Lua BitOp) -----------------------------------------------------------------------------


def _tobit(value: float) -> int:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return 0
        value = round(value)  # round half to even, as BitOp's 2^52+2^51 trick does
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def _bit_library() -> dict[bytes, Any]:
    def arg(args: tuple[Any, ...], i: int, name: str) -> int:
        return _tobit(_number(args[i] if i < len(args) else None, i + 1, name, i < len(args)))

    def variadic(name: str, op: Callable[[int, int], int]) -> Callable[..., Any]:
        def f(*args: Any) -> int:
            result = arg(args, 0, name)
            for i in range(1, len(args)):
                result = op(result, arg(args, i, name))
            return _tobit(result)

        return _guard(f)

    def shift(name: str, op: Callable[[int, int], int]) -> Callable[..., Any]:
        def f(*args: Any) -> int:
            value = arg(args, 0, name) & 0xFFFFFFFF
            count = arg(args, 1, name) & 31
            return _tobit(op(value, count))

        return _guard(f)

    def tohex(*args: Any) -> bytes:
        value = arg(args, 0, "tohex") & 0xFFFFFFFF
        n = arg(args, 1, "tohex") if len(args) > 1 and args[1] is not None else 8
        upper = n < 0
        n = min(abs(n), 8)
        value &= (1 << (4 * n)) - 1 if n < 8 else 0xFFFFFFFF
        text = b"%0*x" % (n, value) if n else b""
        return text.upper() if upper else text

    def arshift(value: int, count: int) -> int:
        signed = value - 0x100000000 if value & 0x80000000 else value
        return signed >> count

    return {
        b"tobit": _guard(lambda *a: arg(a, 0, "tobit")),
        b"tohex": _guard(tohex),
        b"bnot": _guard(lambda *a: _tobit(~arg(a, 0, "bnot"))),
        b"band": variadic("band", lambda x, y: x & y),
        b"bor": variadic("bor", lambda x, y: x | y),
        b"bxor": variadic("bxor", lambda x, y: x ^ y),
        b"lshift": shift("lshift", lambda x, n: x << n),
        b"rshift": shift("rshift", lambda x, n: x >> n),
        b"arshift": shift("arshift", arshift),
        b"rol": shift("rol", lambda x, n: (x << n) | (x >> (32 - n)) if n else x),
        b"ror": shift("ror", lambda x, n: (x >> n) | (x << (32 - n)) if n else x),
        b"bswap": _guard(lambda *a: _tobit(int.from_bytes((arg(a, 0, "bswap") & 0xFFFFFFFF).to_bytes(4, "little"), "big"))),
    }


# -- cjson -----------------------------------------------------------------------------------------


def _json_number(value: float, precision: int = 14, invalid: int = 0) -> bytes:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        # cjson.encode_invalid_numbers: 0 refuses, 1 writes nan/inf, 2 writes null
        if invalid == 0:
            raise _ArgError("Cannot serialise number: must not be NaN or Inf")
        if invalid == 2:
            return b"null"
        return b"nan" if math.isnan(value) else (b"inf" if value > 0 else b"-inf")
    if isinstance(value, int):
        if abs(value) < 10**15 and precision >= 14:
            return b"%d" % value
        value = float(value)
    return b"%.*g" % (precision, value)


def _config_args(args: tuple[Any, ...], name: str, most: int) -> None:
    if len(args) > most:
        raise _ArgError(f"bad argument #{most + 1} to '{name}' (found too many arguments)")


def _int_option(args: tuple[Any, ...], name: str, current: int, low: int, high: int) -> int:
    """lua-cjson's json_integer_option: no argument keeps the setting."""
    _config_args(args, name, 1)
    if not args or args[0] is None:
        return current
    value = int(_number(args[0], 1, name))
    if not low <= value <= high:
        raise _ArgError(f"bad argument #1 to '{name}' (expected integer between {low} and {high})")
    return value


def _enum_option(args: tuple[Any, ...], name: str, current: int, options: tuple[str, ...]) -> int:
    """lua-cjson's json_enum_option: a boolean, or one of the option names ("off", "on", ...)."""
    _config_args(args, name, 1)
    if not args or args[0] is None:
        return current
    value = args[0]
    if isinstance(value, bool):
        return 1 if value else 0
    text = _string(value, 1, name).decode(errors="replace")
    if text not in options:
        raise _ArgError(f"bad argument #1 to '{name}' (invalid option '{text}')")
    return options.index(text)


def _enum_result(setting: int, options: tuple[str, ...]) -> Any:
    return setting == 1 if setting < 2 else options[setting].encode()


_JSON_ESCAPES = {i: b"\\u%04x" % i for i in range(32)}
_JSON_ESCAPES.update({8: b"\\b", 9: b"\\t", 10: b"\\n", 12: b"\\f", 13: b"\\r", 34: b'\\"', 92: b"\\\\", 47: b"\\/"})
_JSON_ESCAPES[127] = b"\\u007f"


def _json_string(data: bytes) -> bytes:
    out = bytearray(b'"')
    escapes = _JSON_ESCAPES
    for byte in data:
        escaped = escapes.get(byte)
        if escaped is None:
            out.append(byte)
        else:
            out += escaped
    out += b'"'
    return bytes(out)


class _Json:
    def __init__(self) -> None:
        self.null: Any = None
        self.table: Callable[[], Any] = lambda: None
        # settings of the cjson.* configuration functions; they last as long as the Lua state
        self.encode_depth = 1000
        self.decode_depth = 1000
        self.invalid_encode = 0
        self.invalid_decode = 1
        self.precision = 14
        self.keep_buffer = 1

    def encode_max_depth(self, *args: Any) -> int:
        self.encode_depth = _int_option(args, "encode_max_depth", self.encode_depth, 1, 2**31 - 1)
        return self.encode_depth

    def decode_max_depth(self, *args: Any) -> int:
        self.decode_depth = _int_option(args, "decode_max_depth", self.decode_depth, 1, 2**31 - 1)
        return self.decode_depth

    def encode_number_precision(self, *args: Any) -> int:
        self.precision = _int_option(args, "encode_number_precision", self.precision, 1, 14)
        return self.precision

    def encode_invalid_numbers(self, *args: Any) -> Any:
        options = ("off", "on", "null")
        self.invalid_encode = _enum_option(args, "encode_invalid_numbers", self.invalid_encode, options)
        return _enum_result(self.invalid_encode, options)

    def decode_invalid_numbers(self, *args: Any) -> Any:
        options = ("off", "on")
        self.invalid_decode = _enum_option(args, "decode_invalid_numbers", self.invalid_decode, options)
        return _enum_result(self.invalid_decode, options)

    def encode_keep_buffer(self, *args: Any) -> Any:
        options = ("off", "on")
        self.keep_buffer = _enum_option(args, "encode_keep_buffer", self.keep_buffer, options)
        return _enum_result(self.keep_buffer, options)

    def encode(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise _ArgError("bad argument #1 to 'encode' (expected 1 argument)")
        out = bytearray()
        self._encode(args[0], out, 0)
        return bytes(out)

    def _encode(self, value: Any, out: bytearray, depth: int) -> None:
        if value is None or (self.null is not None and value == self.null):
            out += b"null"
        elif isinstance(value, bool):
            out += b"true" if value else b"false"
        elif isinstance(value, (int, float)):
            out += _json_number(value, self.precision, self.invalid_encode)
        elif isinstance(value, bytes):
            out += _json_string(value)
        elif _lua_type(value) == "table":
            depth += 1
            if depth > self.encode_depth:
                raise _ArgError(f"Cannot serialise, excessive nesting ({depth})")
            keys = list(value.keys())
            size = self._array_size(keys)
            if size > 0 or (size == 0 and not keys):
                if not keys:
                    out += b"{}"
                    return
                out += b"["
                for i in range(1, size + 1):
                    if i > 1:
                        out += b","
                    self._encode(value[i], out, depth)
                out += b"]"
            else:
                out += b"{"
                first = True
                for key in keys:
                    if isinstance(key, bytes):
                        text = key
                    elif isinstance(key, (int, float)) and not isinstance(key, bool):
                        text = _json_number(key, self.precision, self.invalid_encode)
                    else:
                        raise _ArgError(f"Cannot serialise {_typename(key)}: table key must be a number or string")
                    if not first:
                        out += b","
                    first = False
                    out += _json_string(text) + b":"
                    self._encode(value[key], out, depth)
                out += b"}"
        else:
            raise _ArgError(f"Cannot serialise {_typename(value)}: type not supported")

    @staticmethod
    def _array_size(keys: list[Any]) -> int:
        """lua-cjson's rule: positive integer keys only; too sparse arrays are refused."""
        largest = 0
        for key in keys:
            if isinstance(key, bool) or not isinstance(key, (int, float)) or key < 1 or key != int(key):
                return -1
            largest = max(largest, int(key))
        if largest > 10 and largest > 2 * len(keys):
            raise _ArgError("Cannot serialise table: excessively sparse array")
        return largest

    def decode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise _ArgError("bad argument #1 to 'decode' (expected 1 argument)")
        text = _string(args[0], 1, "decode")
        self._check_depth(text)
        try:
            value = json.loads(text.decode("utf-8", errors="surrogateescape"), parse_constant=self._constant)
        except (ValueError, RecursionError) as exc:
            position = getattr(exc, "pos", 0) + 1
            raise _ArgError(f"Expected value but found invalid token at character {position}") from None
        return self._to_lua(value)

    def _check_depth(self, text: bytes) -> None:
        """decode_max_depth: lua-cjson refuses the first array or object opened too deep."""
        limit = self.decode_depth
        depth = 0
        in_string = False
        escaped = False
        for i, byte in enumerate(text):
            if in_string:
                if escaped:
                    escaped = False
                elif byte == 0x5C:
                    escaped = True
                elif byte == 0x22:
                    in_string = False
            elif byte == 0x22:
                in_string = True
            elif byte in (0x5B, 0x7B):
                depth += 1
                if depth > limit:
                    raise _ArgError(f"Found too many nested data structures ({depth}) at character {i + 1}")
            elif byte in (0x5D, 0x7D):
                depth -= 1

    @staticmethod
    def _constant(name: str) -> float:
        raise ValueError(name)

    def _to_lua(self, value: Any) -> Any:
        if value is None:
            return self.null
        if isinstance(value, str):
            return value.encode("utf-8", errors="surrogateescape")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return value
        if isinstance(value, list):
            table = self.table()
            for i, item in enumerate(value, 1):
                table[i] = self._to_lua(item)
            return table
        if isinstance(value, dict):
            table = self.table()
            for key, item in value.items():
                table[key.encode("utf-8", errors="surrogateescape")] = self._to_lua(item)
            return table
        return value


# -- cmsgpack ----------------------------------------------------------------------------------------


class _MsgPack:
    def __init__(self) -> None:
        self.table: Callable[[], Any] = lambda: None

    def pack(self, *args: Any) -> bytes:
        if not args:
            raise _ArgError("MessagePack pack needs input.")
        out = bytearray()
        for value in args:
            self._pack(value, out, 0)
        return bytes(out)

    def _pack(self, value: Any, out: bytearray, depth: int) -> None:
        if value is None:
            out.append(0xC0)
        elif isinstance(value, bool):
            out.append(0xC3 if value else 0xC2)
        elif isinstance(value, (int, float)):
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
                value = int(value)
            if isinstance(value, int):
                self._pack_int(value, out)
            elif _struct.unpack(">f", _struct.pack(">f", value))[0] == value or math.isnan(value):
                out += b"\xca" + _struct.pack(">f", value)
            else:
                out += b"\xcb" + _struct.pack(">d", value)
        elif isinstance(value, bytes):
            n = len(value)
            if n < 32:
                out.append(0xA0 | n)
            elif n < 0x100:
                out += b"\xd9" + bytes((n,))
            elif n < 0x10000:
                out += b"\xda" + _struct.pack(">H", n)
            else:
                out += b"\xdb" + _struct.pack(">I", n)
            out += value
        elif _lua_type(value) == "table" and depth < 16:
            keys = list(value.keys())
            n = len(keys)
            is_array = all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in keys) and sorted(
                keys
            ) == list(range(1, n + 1))
            if is_array:
                if n < 16:
                    out.append(0x90 | n)
                elif n < 0x10000:
                    out += b"\xdc" + _struct.pack(">H", n)
                else:
                    out += b"\xdd" + _struct.pack(">I", n)
                for i in range(1, n + 1):
                    self._pack(value[i], out, depth + 1)
            else:
                if n < 16:
                    out.append(0x80 | n)
                elif n < 0x10000:
                    out += b"\xde" + _struct.pack(">H", n)
                else:
                    out += b"\xdf" + _struct.pack(">I", n)
                for key in keys:
                    self._pack(key, out, depth + 1)
                    self._pack(value[key], out, depth + 1)
        else:
            out.append(0xC0)

    @staticmethod
    def _pack_int(value: int, out: bytearray) -> None:
        if value >= 0:
            if value < 128:
                out.append(value)
            elif value < 0x100:
                out += b"\xcc" + bytes((value,))
            elif value < 0x10000:
                out += b"\xcd" + _struct.pack(">H", value)
            elif value < 0x100000000:
                out += b"\xce" + _struct.pack(">I", value)
            else:
                out += b"\xcf" + _struct.pack(">Q", value & 0xFFFFFFFFFFFFFFFF)
        else:
            if value >= -32:
                out += _struct.pack(">b", value)
            elif value >= -128:
                out += b"\xd0" + _struct.pack(">b", value)
            elif value >= -32768:
                out += b"\xd1" + _struct.pack(">h", value)
            elif value >= -(2**31):
                out += b"\xd2" + _struct.pack(">i", value)
            else:
                out += b"\xd3" + _struct.pack(">q", max(value, -(2**63)))

    def unpack(self, *args: Any) -> tuple[Any, ...]:
        data = _string(args[0] if args else None, 1, "unpack")
        values = []
        pos = 0
        while pos < len(data):
            value, pos = self._unpack(data, pos)
            values.append(value)
        return tuple(values)

    def unpack_one(self, *args: Any) -> tuple[Any, ...]:
        data = _string(args[0] if args else None, 1, "unpack_one")
        offset = int(args[1]) if len(args) > 1 and isinstance(args[1], (int, float)) else 0
        return self._unpack_some(data, 1, offset)

    def unpack_limit(self, *args: Any) -> tuple[Any, ...]:
        data = _string(args[0] if args else None, 1, "unpack_limit")
        limit = int(args[1]) if len(args) > 1 and isinstance(args[1], (int, float)) else 0
        offset = int(args[2]) if len(args) > 2 and isinstance(args[2], (int, float)) else 0
        return self._unpack_some(data, limit, offset)

    def _unpack_some(self, data: bytes, limit: int, offset: int) -> tuple[Any, ...]:
        """lua-cmsgpack's unpack_limit: up to ``limit`` values (0: all) from ``offset``, preceded
        by the offset to continue from (-1 once the input is used up)."""
        if offset < 0 or limit < 0:
            raise _ArgError(f"Invalid request to unpack with offset of {offset} and limit of {len(data)}.")
        if limit == 0 and offset == 0:
            return self.unpack(data)  # everything, without an offset in front
        if offset >= len(data):
            return (-1,)
        values: list[Any] = []
        pos = offset
        while pos < len(data) and (limit == 0 or len(values) < limit):
            value, pos = self._unpack(data, pos)
            values.append(value)
        return (pos if pos < len(data) else -1, *values)

    def _unpack(self, data: bytes, pos: int) -> tuple[Any, int]:
        try:
            return self._unpack_value(data, pos)
        except (IndexError, _struct.error):
            raise _ArgError("Missing bytes in input.") from None

    def _unpack_value(self, data: bytes, pos: int) -> tuple[Any, int]:
        byte = data[pos]
        pos += 1
        if byte < 0x80:
            return byte, pos
        if byte >= 0xE0:
            return byte - 0x100, pos
        if 0xA0 <= byte < 0xC0:
            n = byte & 0x1F
            return self._take(data, pos, n)
        if 0x90 <= byte < 0xA0:
            return self._array(data, pos, byte & 0x0F)
        if 0x80 <= byte < 0x90:
            return self._map(data, pos, byte & 0x0F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if byte in simple:
            return simple[byte], pos
        fixed = {
            0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
        }
        if byte in fixed:
            fmt = fixed[byte]
            size = _struct.calcsize(fmt)
            if pos + size > len(data):
                raise IndexError
            return _struct.unpack_from(fmt, data, pos)[0], pos + size
        lengths = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
        if byte in lengths:
            fmt = lengths[byte]
            n = _struct.unpack_from(fmt, data, pos)[0]
            return self._take(data, pos + _struct.calcsize(fmt), n)
        if byte in (0xDC, 0xDD):
            fmt = ">H" if byte == 0xDC else ">I"
            n = _struct.unpack_from(fmt, data, pos)[0]
            return self._array(data, pos + _struct.calcsize(fmt), n)
        if byte in (0xDE, 0xDF):
            fmt = ">H" if byte == 0xDE else ">I"
            n = _struct.unpack_from(fmt, data, pos)[0]
            return self._map(data, pos + _struct.calcsize(fmt), n)
        raise _ArgError("Bad data format in input.")

    @staticmethod
    def _take(data: bytes, pos: int, n: int) -> tuple[bytes, int]:
        if pos + n > len(data):
            raise IndexError
        return data[pos : pos + n], pos + n

    def _array(self, data: bytes, pos: int, n: int) -> tuple[Any, int]:
        table = self.table()
        for i in range(1, n + 1):
            value, pos = self._unpack_value(data, pos)
            table[i] = value
        return table, pos

    def _map(self, data: bytes, pos: int, n: int) -> tuple[Any, int]:
        table = self.table()
        for _ in range(n):
            key, pos = self._unpack_value(data, pos)
            value, pos = self._unpack_value(data, pos)
            if key is not None:
                table[key] = value
        return table, pos


# -- struct ------------------------------------------------------------------------------------------


def _struct_items(fmt: bytes, name: str) -> list[tuple[str, int, str]]:
    """(code, size, endian) for each item of a struct format."""
    items = []
    endian = "<"
    i = 0
    while i < len(fmt):
        ch = chr(fmt[i])
        i += 1
        if ch in " ":
            continue
        if ch in "<>!=":
            endian = {"<": "<", ">": ">", "=": "<", "!": endian}[ch]
            while i < len(fmt) and chr(fmt[i]).isdigit():
                i += 1
            continue
        digits = b""
        while i < len(fmt) and chr(fmt[i]).isdigit():
            digits += fmt[i : i + 1]
            i += 1
        size = int(digits) if digits else -1
        if ch in "bB":
            size = 1
        elif ch in "hH":
            size = 2
        elif ch in "lLT":
            size = 8
        elif ch in "iI":
            size = 4 if size < 0 else size
            if not 1 <= size <= 8:
                raise _ArgError(f"integral size {size} is larger than limit of 8")
        elif ch == "f":
            size = 4
        elif ch == "d":
            size = 8
        elif ch == "c":
            size = 1 if size < 0 else size
        elif ch == "x":
            size = 1
        elif ch == "s":
            size = 0
        else:
            raise _ArgError(f"invalid format option '{ch}'")
        items.append((ch, size, endian))
    return items


def _struct_pack(*args: Any) -> bytes:
    fmt = _string(args[0] if args else None, 1, "pack")
    out = bytearray()
    arg = 1
    for code, size, endian in _struct_items(fmt, "pack"):
        if code == "x":
            out.append(0)
            continue
        value = args[arg] if arg < len(args) else None
        arg += 1
        if code in "bBhHlLTiI":
            number = int(_number(value, arg, "pack", value is not None))
            number &= (1 << (8 * size)) - 1
            out += number.to_bytes(size, "little" if endian == "<" else "big")
        elif code in "fd":
            number = _number(value, arg, "pack", value is not None)
            out += _struct.pack(endian + code, number)
        elif code == "c":
            data = _string(value, arg, "pack")
            if size == 0:
                size = len(data)
            if len(data) < size:
                raise _ArgError(f"bad argument #{arg} to 'pack' (string too short)")
            out += data[:size]
        elif code == "s":
            data = _string(value, arg, "pack")
            out += data + b"\x00"
    return bytes(out)


def _struct_unpack(*args: Any) -> tuple[Any, ...]:
    fmt = _string(args[0] if args else None, 1, "unpack")
    data = _string(args[1] if len(args) > 1 else None, 2, "unpack")
    pos = int(_number(args[2], 3, "unpack")) - 1 if len(args) > 2 and args[2] is not None else 0
    results: list[Any] = []
    for code, size, endian in _struct_items(fmt, "unpack"):
        if code == "s":
            end = data.find(b"\x00", pos)
            if end < 0:
                raise _ArgError("unfinished string in data")
            results.append(data[pos:end])
            pos = end + 1
            continue
        if size and pos + size > len(data):
            raise _ArgError("bad argument #2 to 'unpack' (data string too short)")
        chunk = data[pos : pos + size]
        pos += size
        if code == "x":
            continue
        if code in "bhliT":
            results.append(int.from_bytes(chunk, "little" if endian == "<" else "big", signed=code != "T"))
        elif code in "BHLI":
            results.append(int.from_bytes(chunk, "little" if endian == "<" else "big"))
        elif code in "fd":
            results.append(_struct.unpack(endian + code, chunk)[0])
        elif code == "c":
            results.append(chunk)
    results.append(pos + 1)
    return tuple(results)


def _struct_size(*args: Any) -> int:
    fmt = _string(args[0] if args else None, 1, "size")
    total = 0
    for code, size, _ in _struct_items(fmt, "size"):
        if code == "s" or (code == "c" and size == 0):
            raise _ArgError("options 'c0' - 's' have undefined sizes")
        total += size
    return total


# -- assembly ------------------------------------------------------------------------------------------

_JSON_KEY = "cjson"


def libraries(lua: Any) -> dict[str, dict[bytes, Any]]:
    """Per engine: name -> {function name -> callable} (constants are added by ``bind``)."""
    json_lib = _Json()
    pack = _MsgPack()
    libs = {
        "bit": _bit_library(),
        "cjson": {
            b"encode": _guard(json_lib.encode),
            b"decode": _guard(json_lib.decode),
            b"encode_keep_buffer": _guard(json_lib.encode_keep_buffer),
            b"encode_max_depth": _guard(json_lib.encode_max_depth),
            b"decode_max_depth": _guard(json_lib.decode_max_depth),
            b"encode_number_precision": _guard(json_lib.encode_number_precision),
            b"encode_sparse_array": _guard(lambda *a: (False, 2, 10)),
            b"encode_invalid_numbers": _guard(json_lib.encode_invalid_numbers),
            b"decode_invalid_numbers": _guard(json_lib.decode_invalid_numbers),
        },
        "cmsgpack": {
            b"pack": _guard(pack.pack),
            b"unpack": _guard(pack.unpack),
            b"unpack_one": _guard(pack.unpack_one),
            b"unpack_limit": _guard(pack.unpack_limit),
        },
        "struct": {
            b"pack": _guard(_struct_pack),
            b"unpack": _guard(_struct_unpack),
            b"size": _guard(_struct_size),
        },
    }
    _STATE[id(lua)] = (json_lib, pack)
    return libs


_STATE: dict[int, tuple[_Json, _MsgPack]] = {}


def bind(api: Any, engine: Engine) -> None:
    """Give the Python halves of the libraries what only the Lua state can make."""
    json_lib, pack = _STATE.pop(id(engine.lua))
    json_lib.null = api.null
    json_lib.table = api.new_table
    pack.table = api.new_table
    engine.lib_states = (json_lib, pack)


def unbind(engine: Engine) -> None:
    """Drop the libraries' references to Lua objects (see ``Engine.close``)."""
    for state in getattr(engine, "lib_states", ()):
        state.table = lambda: None
        if isinstance(state, _Json):
            state.null = None
    engine.lib_states = ()
