"""Reply values that a command handler returns.

Handlers never produce RESP bytes themselves: they return plain Python values and the writer
encodes them for the client's protocol version. Plain types map as follows:

    bytes / bytearray / memoryview -> bulk string
    int                            -> integer (bool -> RESP3 boolean, RESP2 integer 1/0)
    float                          -> double (RESP2: bulk string in Valkey's format)
    None                           -> null (RESP2 ``$-1``)
    list / tuple                   -> array
    dict                           -> map (RESP2: flat array of key, value pairs)

The classes below cover the shapes that plain types cannot express.
"""

from __future__ import annotations


class SimpleString(bytes):
    """A ``+status`` reply."""

    __slots__ = ()


class ErrorReply(Exception):
    """An error reply; ``message`` is the full text after the ``-`` (e.g. ``ERR syntax error``).

    It is raised by handlers to abort a command and also returned as an element, for example
    inside an EXEC result.
    """

    def __init__(self, message: str | bytes) -> None:
        if isinstance(message, str):
            message = message.encode()
        super().__init__(message)
        self.message: bytes = message

    @property
    def code(self) -> bytes:
        """The first word, counted by INFO errorstats."""
        return self.message.split(b" ", 1)[0]


class Raw(bytes):
    """Pre-encoded bytes valid in both protocol versions, written as they are."""

    __slots__ = ()


class NullArray:
    """RESP2 ``*-1`` / RESP3 ``_``: the null that Valkey sends where an array was expected."""

    __slots__ = ()


NULL_ARRAY = NullArray()


class RespSet(list):  # type: ignore[type-arg]
    """RESP3 ``~`` set; RESP2 array."""

    __slots__ = ()


class Push(list):  # type: ignore[type-arg]
    """RESP3 ``>`` push; RESP2 array."""

    __slots__ = ()


class Verbatim(bytes):
    """RESP3 ``=`` verbatim string (format ``txt``); RESP2 bulk string."""

    __slots__ = ()


class BigNumber(int):
    """RESP3 ``(`` big number; RESP2 bulk string."""

    __slots__ = ()


class Map(list):  # type: ignore[type-arg]
    """An ordered map given as a list of (key, value) pairs, for maps whose keys repeat or are not
    hashable; dicts are the usual form."""

    __slots__ = ()


class RespAttribute:
    """Marker base kept for symmetry with RESP3; Valkey sends no attributes today."""

    __slots__ = ()


class NoReply:
    """Returned by a handler that must not answer (CLIENT REPLY OFF/SKIP, QUIT after close)."""

    __slots__ = ()


NO_REPLY = NoReply()

# Pre-encoded hot replies.
OK = Raw(b"+OK\r\n")
PONG = Raw(b"+PONG\r\n")
QUEUED = Raw(b"+QUEUED\r\n")
