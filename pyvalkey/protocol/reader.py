"""Request parsing, sans-I/O: ``feed(bytes)`` then ``get_command()`` until it returns ``None``.

Two readers share one contract and one test suite:

* ``PythonRequestReader`` parses multibulk (``*N``) and inline requests itself. It is the
  reference: every limit and every ``Protocol error: ...`` text follows Valkey's request parser.
* ``HiredisRequestReader`` hands multibulk requests to hiredis (C) and falls back to the Python
  parser for anything hiredis does not return as a plain list of bulk strings: inline commands,
  malformed input (so the error text is Valkey's) and empty multibulks.

Valkey only accepts canonical lengths in request headers (no sign, no leading zeros), and so
does hiredis, so the number of bytes a parsed command took is a function of its arguments; the
hiredis reader uses that to keep its own buffer position in step with hiredis without asking
hiredis for it, and to check the CRLF after each argument, which hiredis does not look at.
Limits on a command that has not fully arrived are checked by running the Python parser over
the incomplete tail, so ``*1\\r\\n$3000000000\\r\\n`` fails at once, as in Valkey.
"""

from __future__ import annotations

import re

__all__ = [
    "INLINE_MAX_SIZE",
    "HiredisRequestReader",
    "ProtocolError",
    "PythonRequestReader",
    "RequestReader",
    "split_inline_args",
]

INLINE_MAX_SIZE = 64 * 1024
_INT_MAX = 2**31 - 1
_UNAUTH_MULTIBULK_MAX = 10
_UNAUTH_BULK_MAX = 16384
_COMPACT_THRESHOLD = 64 * 1024
# A multibulk header announcing a million or more arguments. hiredis sizes its array from the
# header and walks every slot when it gives up on the request, so a lying header (Valkey
# accepts counts up to INT_MAX) followed by garbage would stall the server for seconds. Such
# requests are left to the Python parser, which grows its list with the data that arrives.
_HUGE_MULTIBULK = re.compile(rb"\*[1-9][0-9]{6,}\r")
_HEADER_OVERLAP = 24  # bytes of the previous chunk searched again, for a header split in two
_INVALID_CRLF = "Protocol error: invalid CRLF in request"


class ProtocolError(Exception):
    """The request stream is unusable; ``message`` is Valkey's reply text. The connection is
    closed after that reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Valkey sends these through addReplyError, which adds the ERR code.
        self.message = b"ERR " + message.encode()


def _canonical_int(text: bytes) -> int | None:
    """Valkey's string2ll for header lengths: optional '-', no '+', no leading zeros."""
    if not text or len(text) > 20:
        return None
    digits = text[1:] if text[:1] == b"-" else text
    if not digits or not digits.isdigit() or (digits[:1] == b"0" and (len(digits) > 1 or text[:1] == b"-")):
        return None
    return int(text)


_ESCAPES = {
    ord("n"): ord("\n"),
    ord("r"): ord("\r"),
    ord("t"): ord("\t"),
    ord("b"): ord("\b"),
    ord("a"): ord("\a"),
}
# Blanks skipped between arguments (isspace) differ from the bytes that end an unquoted
# argument: a vertical tab or form feed inside an argument is kept.
_SPACES = b" \n\r\t\v\f"
_SEPARATORS = b" \n\r\t"
_HEX = b"0123456789abcdefABCDEF"
# Bytes that split_inline_args must parse one by one; a line without them splits like bytes.split().
# (One regex search: ``b"x" in line`` first tries the operand as an integer and formats a
# TypeError message each time.)
_QUOTE_VT_FF = re.compile(b"[\"'\v\f]")


def split_inline_args(line: bytes) -> list[bytes] | None:
    """Split an inline request like Valkey's sdssplitargs; ``None`` on unbalanced quotes."""
    if _QUOTE_VT_FF.search(line) is None:
        # Without quotes nothing is unescaped, and without \v and \f (skipped between arguments
        # but kept inside one) the arguments are the runs of bytes between " \t\r\n": exactly
        # what bytes.split() returns. Inline requests are almost always like this (PING).
        return line.split()
    return _split_quoted_inline_args(line)


def _split_quoted_inline_args(line: bytes) -> list[bytes] | None:
    """split_inline_args for any line (the general case: quotes, escapes, \v and \f)."""
    args: list[bytes] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in _SPACES:
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    return None
                c = line[i]
                if (
                    c == 0x5C
                    and i + 3 < n
                    and line[i + 1] == ord("x")
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif c == ord('"'):
                    # A closing quote ends the quoted part, not the argument: ``"a"b`` is ``ab``.
                    in_double = False
                else:
                    current.append(c)
            elif in_single:
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    in_single = False
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _SEPARATORS:
                    break
                if c == ord('"'):
                    in_double = True
                elif c == ord("'"):
                    in_single = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


class PythonRequestReader:
    """Pure-Python request parser; resumable across partial input without re-parsing."""

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        self.max_bulk_len = max_bulk_len
        self.authenticated = True
        self._buf = bytearray()
        self._pos = 0
        # State of a multibulk request that has not fully arrived yet.
        self._args: list[bytes] = []
        self._remaining = 0
        self._bulk_len = -1

    def feed(self, data: bytes) -> None:
        self._buf += data

    def buffered(self) -> int:
        """Bytes received but not yet consumed (Valkey's query buffer length)."""
        return len(self._buf) - self._pos

    def _compact(self) -> None:
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        elif self._pos > _COMPACT_THRESHOLD:
            del self._buf[: self._pos]
            self._pos = 0

    def get_command(self) -> list[bytes] | None:
        """Return the next complete command, or ``None`` when more data is needed."""
        buf = self._buf
        while self._pos < len(buf) or self._remaining:
            if self._remaining:
                result = self._continue_multibulk()
            elif buf[self._pos] == 0x2A:  # '*'
                result = self._start_multibulk()
            else:
                result = self._inline()
            if result is None:
                self._compact()
                return None
            if result:
                self._compact()
                return result
            # An empty request (blank inline line, ``*0``): skip it, as Valkey does.
        self._compact()
        return None

    def _inline(self) -> list[bytes] | None:
        buf = self._buf
        newline = buf.find(b"\n", self._pos)
        # Valkey looks for the line end with strchr, which stops at a NUL byte: a NUL before the
        # newline leaves the request incomplete until it grows past the inline limit.
        if newline >= 0 and buf.find(b"\0", self._pos, newline) >= 0:
            newline = -1
        if newline < 0:
            if len(buf) - self._pos > INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big inline request")
            return None
        end = newline - 1 if newline > self._pos and buf[newline - 1] == 0x0D else newline
        line = bytes(buf[self._pos : end])
        self._pos = newline + 1
        args = split_inline_args(line)
        if args is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        return args

    def _start_multibulk(self) -> list[bytes] | None:
        buf = self._buf
        pos = self._pos
        newline = buf.find(b"\r", pos)
        if newline < 0:
            if len(buf) - pos > INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big mbulk count string")
            return None
        if newline + 1 >= len(buf):
            return None
        if buf[newline + 1] != 0x0A:
            raise ProtocolError(_INVALID_CRLF)
        count = _canonical_int(bytes(buf[pos + 1 : newline]))
        if count is None or count > _INT_MAX:
            raise ProtocolError("Protocol error: invalid multibulk length")
        if count > _UNAUTH_MULTIBULK_MAX and not self.authenticated:
            raise ProtocolError("Protocol error: unauthenticated multibulk length")
        self._pos = newline + 2
        if count <= 0:
            return []
        self._remaining = count
        self._args = []
        self._bulk_len = -1
        return self._continue_multibulk()

    def _continue_multibulk(self) -> list[bytes] | None:
        buf = self._buf
        args = self._args
        size = len(buf)
        while self._remaining:
            pos = self._pos
            if self._bulk_len < 0:
                newline = buf.find(b"\r", pos)
                if newline < 0:
                    if size - pos > INLINE_MAX_SIZE:
                        raise ProtocolError("Protocol error: too big bulk count string")
                    return None
                if newline + 1 >= size:
                    return None
                if buf[pos] != 0x24:  # '$'
                    raise ProtocolError("Protocol error: expected '$', got '%s'" % chr(buf[pos]))
                if buf[newline + 1] != 0x0A:
                    raise ProtocolError(_INVALID_CRLF)
                length = _canonical_int(bytes(buf[pos + 1 : newline]))
                if length is None or length < 0 or length > self.max_bulk_len:
                    raise ProtocolError("Protocol error: invalid bulk length")
                if length > _UNAUTH_BULK_MAX and not self.authenticated:
                    raise ProtocolError("Protocol error: unauthenticated bulk length")
                self._bulk_len = length
                pos = self._pos = newline + 2
            if size - pos < self._bulk_len + 2:
                return None
            end = pos + self._bulk_len
            if buf[end] != 0x0D or buf[end + 1] != 0x0A:
                raise ProtocolError(_INVALID_CRLF)
            args.append(bytes(buf[pos:end]))
            self._pos = end + 2
            self._bulk_len = -1
            self._remaining -= 1
        self._args = []
        return args


class HiredisRequestReader(PythonRequestReader):
    """Multibulk requests parsed by hiredis; everything else by the Python parser above."""

    def __init__(self, max_bulk_len: int = 512 * 1024 * 1024) -> None:
        super().__init__(max_bulk_len)
        import hiredis

        self._new_hiredis = hiredis.Reader
        self._hiredis_error = hiredis.ProtocolError
        self._hiredis = self._new_hiredis()
        self._fast = False  # True while hiredis holds everything from self._boundary on
        self._boundary = 0  # start of the first request hiredis has not returned yet
        self._checked_from = -1  # boundary at which the Python parser's partial state began
        self._hiredis_held = False  # True once data with a huge multibulk header was kept from hiredis
        self._python_until = 0  # buffer index before which the Python parser keeps the requests

    def feed(self, data: bytes) -> None:
        buf = self._buf
        overlap = min(len(buf), _HEADER_OVERLAP)
        buf += data
        if self._fast and not self._hiredis_held:
            if _HUGE_MULTIBULK.search(buf, len(buf) - len(data) - overlap) is not None:
                # Stop feeding hiredis; get_command hands over to the Python parser.
                self._hiredis_held = True
            else:
                self._hiredis.feed(data)

    def _accept(self, args: list[bytes]) -> None:
        """Move the boundary past a request hiredis returned. hiredis skips the two bytes after
        each argument without looking at them; Valkey insists on CRLF, so check them here,
        before the request runs."""
        buf = self._buf
        count = len(args)
        pos = self._boundary + (4 if count < 10 else 3 + len(str(count)))
        for arg in args:
            n = len(arg)
            # "$<n>\r\n" then the data; pos lands on the CRLF that must follow it
            pos += n + (4 if n < 10 else 5 if n < 100 else 3 + len(str(n)))
            if buf[pos] != 13 or buf[pos + 1] != 10:
                raise ProtocolError(_INVALID_CRLF)
            pos += 2
        self._boundary = pos

    def _reset_partial(self, pos: int) -> None:
        self._pos = pos
        self._args = []
        self._remaining = 0
        self._bulk_len = -1
        self._checked_from = -1

    def _enter_fast_mode(self) -> bool:
        """Hand the buffer from ``self._pos`` on to hiredis, unless a huge multibulk header lies
        ahead: then stay with the Python parser until it has passed that header (searched once
        per header, so a long mixed pipeline stays linear)."""
        pos = self._pos
        if pos < self._python_until:
            return False
        found = _HUGE_MULTIBULK.search(self._buf, pos)
        if found is not None:
            self._python_until = found.end()
            return False
        self._python_until = 0
        self._fast = True
        self._boundary = pos
        self._hiredis.feed(bytes(self._buf[pos:]))
        return True

    def _leave_fast_mode(self) -> None:
        self._fast = False
        self._hiredis_held = False
        self._hiredis = self._new_hiredis()
        self._reset_partial(self._boundary)

    def _compact(self) -> None:
        before = self._pos
        super()._compact()
        if self._python_until:
            self._python_until = max(self._python_until - (before - self._pos), 0)

    def _check_partial(self) -> None:
        """Run the Python parser over the incomplete tail so that Valkey's limits apply before
        the whole request has arrived. Its state is kept while the boundary stays put, so a
        large request arriving in many pieces is checked once, not once per piece."""
        if self._checked_from != self._boundary:
            self._reset_partial(self._boundary)
            self._checked_from = self._boundary
        if self._remaining:
            self._continue_multibulk()
        elif self._pos < len(self._buf):
            self._start_multibulk()

    def get_command(self) -> list[bytes] | None:
        if not self._fast:
            # A multibulk request at the start of the unparsed data goes to hiredis at once, so a
            # connection that sends one request per read (no pipelining) is served by hiredis
            # too, not only the requests after the first of a read.
            if (
                self._remaining == 0
                and self._pos < len(self._buf)
                and self._buf[self._pos] == 0x2A
                and self._enter_fast_mode()
            ):
                return self.get_command()
            args = super().get_command()
            if (
                self._remaining == 0
                and self._pos < len(self._buf)
                and self._buf[self._pos] == 0x2A
                and self._enter_fast_mode()
                and args is None
            ):
                return self.get_command()
            return args
        try:
            args = self._hiredis.gets()
        except self._hiredis_error:
            return self._hiredis_failed()
        if type(args) is list and args:
            for arg in args:
                if type(arg) is not bytes:
                    break
            else:
                self._accept(args)
                return args
        return self._not_plain(args)

    def _hiredis_failed(self) -> list[bytes] | None:
        """hiredis rejected the input: the Python parser reads it again for Valkey's error text."""
        self._leave_fast_mode()
        return PythonRequestReader.get_command(self)

    def _not_plain(self, args: object) -> list[bytes] | None:
        """``get_command`` for whatever hiredis returned that is not a plain request: ``False``
        (incomplete input) or a value Valkey treats differently (the command loop in
        pyvalkey._speedups calls this too, after handling the plain case itself)."""
        if args is False:
            if self._hiredis_held:
                self._leave_fast_mode()
                return self.get_command()
            buf = self._buf
            if self._boundary == len(buf):
                buf.clear()
                self._boundary = 0
                self._reset_partial(0)
                return None
            if self._boundary > _COMPACT_THRESHOLD:
                shift = self._boundary
                del buf[:shift]
                self._boundary = 0
                self._pos -= shift
                if self._checked_from >= 0:
                    self._checked_from -= shift
            if buf[self._boundary] != 0x2A:  # '*'
                # An inline request follows a multibulk one: hiredis may be waiting for a CRLF
                # that an inline line (``\n`` only) never sends, so the Python parser takes over.
                self._leave_fast_mode()
                return self.get_command()
            self._check_partial()
            return None
        # Something Valkey treats differently (an empty or nested multibulk, a reply type that
        # hiredis accepts): forget hiredis's view and parse from the last boundary.
        self._leave_fast_mode()
        return PythonRequestReader.get_command(self)

    def buffered(self) -> int:
        if not self._fast:
            return len(self._buf) - self._pos
        return len(self._buf) - self._boundary


def _pick_reader() -> type[PythonRequestReader]:
    import os

    if os.environ.get("PYVALKEY_NO_EXTENSIONS"):
        return PythonRequestReader
    try:
        import hiredis  # noqa: F401
    except ImportError:
        return PythonRequestReader
    return HiredisRequestReader


RequestReader = _pick_reader()
