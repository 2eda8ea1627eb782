"""Every error reply text, byte for byte Valkey's, and the exception types that carry them.

Handlers raise these; dispatch turns them into ``-...`` replies and counts them in INFO
errorstats under their first word.
"""

from __future__ import annotations

from pyvalkey.protocol.replies import ErrorReply

__all__ = ["ErrorReply", "CommandError", "WrongTypeError", "SyntaxErrorReply", "msg"]


class CommandError(ErrorReply):
    """``-ERR <text>``."""

    def __init__(self, text: str | bytes) -> None:
        if isinstance(text, str):
            text = text.encode()
        super().__init__(b"ERR " + text)


class msg:
    """The fixed texts, each the full reply after the ``-``."""

    SYNTAX = b"ERR syntax error"
    WRONGTYPE = b"WRONGTYPE Operation against a key holding the wrong kind of value"
    NOT_INTEGER = b"ERR value is not an integer or out of range"
    NOT_FLOAT = b"ERR value is not a valid float"
    OVERFLOW = b"ERR increment or decrement would overflow"
    NO_SUCH_KEY = b"ERR no such key"
    DB_INDEX = b"ERR DB index is out of range"
    INVALID_EXPIRE = b"ERR invalid expire time in '%s' command"
    NOT_POSITIVE = b"ERR value is out of range, must be positive"
    NOAUTH = b"NOAUTH Authentication required."
    WRONGPASS = b"WRONGPASS invalid username-password pair or user is disabled."
    STRING_TOO_LONG = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    INVALID_CURSOR = b"ERR invalid cursor"
    SAME_OBJECT = b"ERR source and destination objects are the same"
    UNKNOWN_COMMAND = b"ERR unknown command '%s', with args beginning with: %s"
    UNKNOWN_SUBCOMMAND = b"ERR unknown subcommand '%s'. Try %s HELP."
    WRONG_ARITY = b"ERR wrong number of arguments for '%s' command"
    MAXCLIENTS = b"ERR max number of clients reached"
    NOT_ALLOWED_IN_MULTI = b"ERR %s inside MULTI is not allowed"
    INCR_NAN = b"ERR increment would produce NaN or Infinity"
    DEBUG_DISABLED = (
        b"ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
        b"you can run it from a local connection, otherwise you need to set this option in the "
        b"configuration file, and then restart the server."
    )
    GETKEYS_INVALID_COMMAND = b"ERR Invalid command specified"
    GETKEYS_NO_KEYS = b"ERR The command has no key arguments"
    GETKEYS_ARG_COUNT = b"ERR Invalid number of arguments specified for command"
    GETKEYS_INVALID_ARGS = b"ERR Invalid arguments specified for command"
    # keyspace commands (keys.py, storage/scan.py)
    INVALID_FIRST_DB = b"ERR invalid first DB index"
    INVALID_SECOND_DB = b"ERR invalid second DB index"
    EXPIRE_NX_CONFLICT = b"ERR NX and XX, GT or LT options at the same time are not compatible"
    EXPIRE_GT_LT_CONFLICT = b"ERR GT and LT options at the same time are not compatible"
    UNSUPPORTED_OPTION = b"ERR Unsupported option %s"
    UNKNOWN_TYPE_NAME = b"ERR unknown type name '%s'"
    INT_RANGE = b"ERR value is out of range, value must between -2147483648 and 2147483647"
    NOVALUES_HSCAN_ONLY = b"ERR NOVALUES option can only be used in HSCAN"
    NOSCORES_ZSCAN_ONLY = b"ERR NOSCORES option can only be used in ZSCAN"
    LFU_NOT_SELECTED = (
        b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
        b"when switching between policies at runtime LRU and LFU data will take some time to adjust."
    )
    LFU_SELECTED = (
        b"ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
        b"switching between policies at runtime LRU and LFU data will take some time to adjust."
    )
    CLUSTER_DISABLED = b"ERR This instance has cluster support disabled"


def subcommand_syntax_error(argv: list[bytes]) -> ErrorReply:
    """Valkey's reply when a subcommand got arguments it does not take."""
    return ErrorReply(
        b"ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
        % (argv[1][:128], argv[0].upper())
    )


def error(message: bytes) -> ErrorReply:
    return ErrorReply(message)


SYNTAX_ERROR = ErrorReply(msg.SYNTAX)
WRONGTYPE_ERROR = ErrorReply(msg.WRONGTYPE)
NOT_INTEGER_ERROR = ErrorReply(msg.NOT_INTEGER)
NOT_FLOAT_ERROR = ErrorReply(msg.NOT_FLOAT)


class WrongTypeError(ErrorReply):
    def __init__(self) -> None:
        super().__init__(msg.WRONGTYPE)


class SyntaxErrorReply(ErrorReply):
    def __init__(self) -> None:
        super().__init__(msg.SYNTAX)
