"""Wire-level arithmetic of the command loop, the part worth compiling.

hiredis returns a multibulk request's arguments but skips the two bytes after each argument
without looking at them; Valkey requires CRLF there. ``end_of_request(argv, buf, start)`` walks
the request's bytes from ``start`` (where its ``*`` is) and returns where it ends, after
checking each of those CRLFs in order. Valkey (and hiredis) accept only canonical lengths in the
headers, so where each argument lies follows from the lengths of the arguments alone.

This file is plain Python and is also compiled, as it is, by Cython into
``pyvalkey._speedups._wire_c`` (see setup.py); ``pyvalkey._speedups`` chooses one.
"""

from __future__ import annotations

from pyvalkey.protocol.reader import ProtocolError

try:
    import cython
except ImportError:  # plain Python without Cython installed: the declarations mean nothing
    from types import SimpleNamespace as _Namespace

    cython = _Namespace(compiled=False, Py_ssize_t=int)  # type: ignore[assignment]

__all__ = ["COMPILED", "end_of_request"]

COMPILED = cython.compiled
_INVALID_CRLF = "Protocol error: invalid CRLF in request"


def _digits(n: cython.Py_ssize_t) -> cython.Py_ssize_t:
    count: cython.Py_ssize_t = 1
    while n >= 10:
        n //= 10
        count += 1
    return count


def end_of_request(argv: object, buf: bytearray, start: cython.Py_ssize_t) -> cython.Py_ssize_t:
    """The index just past the request that begins at ``start`` and that hiredis returned as
    ``argv``; -1 when ``argv`` is not a plain request (a non-empty list of bytes objects: hiredis
    returned ``False`` for incomplete input, or something Valkey parses differently), which the
    caller hands to the reader. Raises ProtocolError for a missing CRLF after an argument, for
    the first such argument, as Valkey does."""
    pos: cython.Py_ssize_t
    n: cython.Py_ssize_t
    if type(argv) is not list:
        return -1
    args: list = argv  # type: ignore[type-arg, assignment]
    n = len(args)
    if n == 0:
        return -1
    pos = start + (4 if n < 10 else 3 + _digits(n))  # "*<count>\r\n"
    for arg in args:
        if type(arg) is not bytes:
            return -1
        n = len(arg)
        pos += n + (4 if n < 10 else 5 if n < 100 else 3 + _digits(n))  # "$<len>\r\n" + data
        if buf[pos] != 13 or buf[pos + 1] != 10:
            raise ProtocolError(_INVALID_CRLF)
        pos += 2
    return pos
