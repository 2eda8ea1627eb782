"""Server-level commands: INFO, TIME, LASTSAVE, SLOWLOG, MEMORY, SHUTDOWN, LOLWUT and DEBUG.

INFO's text is built by ``pyvalkey.info``. SHUTDOWN validates its options here and then asks the
server to stop; ``SHUTDOWN_HOOKS`` is where persistence plugs in the final save (a hook may veto
the shutdown with an error unless FORCE was given). DEBUG is refused unless
``enable-debug-command`` allows it; its subcommand table ``DEBUG_SUBCOMMANDS`` is open so other
groups (persistence: RELOAD, LOADAOF) can add theirs next to their code. Both registries live in
commands/registry.py, so those groups need not import this one.

MEMORY USAGE is an estimate in the spirit of Valkey's: the key and value sizes plus fixed
per-entry overheads, with aggregates sampled (SAMPLES n, default 5, 0 = every element) and the
average element size multiplied by the element count. It does not measure Python object sizes,
which would describe our interpreter rather than the data.
"""

from __future__ import annotations

import logging
import math
import struct
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pyvalkey import info as info_module
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import parse_int, to_int
from pyvalkey.commands.registry import (  # noqa: F401  (DebugHandler: re-exported)
    DEBUG_SUBCOMMANDS,
    SHUTDOWN_HOOKS,
    DebugHandler,
    command,
    debug_help_entries,
    debug_subcommand,
    load_hook_modules,
)
from pyvalkey.config import ConfigError, parse_memory
from pyvalkey.errors import msg
from pyvalkey.protocol.replies import (
    NO_REPLY,
    OK,
    BigNumber,
    ErrorReply,
    Map,
    Push,
    Raw,
    RespSet,
    SimpleString,
    Verbatim,
)

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")

# -- INFO, TIME, LASTSAVE ------------------------------------------------------------------------


@command("info")
def info_command(client: Client, argv: list[bytes]) -> Any:
    load_hook_modules("info")  # groups that supply INFO fields, whether or not they have run yet
    return Verbatim(info_module.generate_info(client.server, argv[1:]))


@command("time")
def time_command(client: Client, argv: list[bytes]) -> Any:
    now_us = client.server.clock.us()
    seconds, micros = divmod(now_us, 1_000_000)
    return [b"%d" % seconds, b"%d" % micros]


@command("lastsave")
def lastsave_command(client: Client, argv: list[bytes]) -> Any:
    return info_module.lastsave(client.server)


# -- SLOWLOG ---------------------------------------------------------------------------------------

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_SLOWLOG_HELP: list[HelpEntry] = [
    ("GET [<count>]", [
        "The <count> newest slow log entries (10 by default, -1 for all of them).",
        "Each entry: id, unix time, duration in microseconds, arguments, client address,",
        "client name.",
    ]),
    ("LEN", "How many entries the slow log holds."),
    ("RESET", "Empty the slow log."),
]

SLOWLOG_COUNT_ERROR = b"ERR count should be greater than or equal to -1"


@command("slowlog|help")
def slowlog_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("SLOWLOG", _SLOWLOG_HELP)


@command("slowlog|get")
def slowlog_get(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise ErrorReply(
            b"ERR unknown subcommand or wrong number of arguments for '%s'. Try SLOWLOG HELP." % argv[1]
        )
    count = 10
    if len(argv) == 3:
        parsed = parse_int(argv[2])
        if parsed is None or parsed < -1:
            raise ErrorReply(SLOWLOG_COUNT_ERROR)
        count = parsed
    entries = client.server.slowlog.entries
    if count == -1 or count > len(entries):
        count = len(entries)
    result = []
    for index in range(count):
        entry_id, timestamp, duration, args, addr, name = entries[index]
        result.append([entry_id, timestamp, duration, list(args), addr, name])
    return result


@command("slowlog|len")
def slowlog_len(client: Client, argv: list[bytes]) -> Any:
    return len(client.server.slowlog.entries)


@command("slowlog|reset")
def slowlog_reset(client: Client, argv: list[bytes]) -> Any:
    client.server.slowlog.reset()
    return OK


# -- MEMORY ----------------------------------------------------------------------------------------

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_MEMORY_HELP: list[HelpEntry] = [
    ("DOCTOR", "A short assessment of the server's memory use."),
    ("MALLOC-STATS", "The memory allocator's own statistics, when it provides any."),
    ("PURGE", "Ask the memory allocator to hand unused pages back to the system."),
    ("STATS", "A breakdown of the memory the server uses."),
    ("USAGE <key> [SAMPLES <count>]", [
        "Approximate bytes taken by <key> and its value; for collections, <count>",
        "elements are measured and the rest estimated from them (5 by default, 0 = all).",
    ]),
]

# Fixed costs of one keyspace entry in Valkey (object header, hashtable slot, key header);
# they make MEMORY USAGE figures land in the same range as the real server's.
_ENTRY_OVERHEAD = 16
_OBJECT_HEADER = 16
_ELEMENT_OVERHEAD = 8


def _string_size(data: bytes | bytearray) -> int:
    if type(data) is bytes and parse_int(data) is not None and len(data) <= 20:
        return 8
    return len(data) + 3  # header + terminator, as a small sds


def _sample_elements(value: Any) -> tuple[int, Iterable[Any]]:
    """(element count, iterable of elements) for an aggregate value, by duck typing."""
    items = getattr(value, "items", None)
    if callable(items):
        try:
            return len(value), ((k, v) for k, v in items())
        except TypeError:
            pass
    try:
        return len(value), iter(value)
    except TypeError:
        return 0, ()


def _element_size(element: Any) -> int:
    if isinstance(element, (bytes, bytearray)):
        return _string_size(element) + _ELEMENT_OVERHEAD
    if isinstance(element, tuple):
        return sum(_element_size(part) for part in element)
    if isinstance(element, (int, float)):
        return 8
    return 16


def estimate_value_size(value: Any, samples: int) -> int:
    if isinstance(value, (bytes, bytearray)):
        return _OBJECT_HEADER + _string_size(value)
    count, elements = _sample_elements(value)
    if count == 0:
        return _OBJECT_HEADER
    total = 0
    seen = 0
    for element in elements:
        total += _element_size(element)
        seen += 1
        if samples and seen >= samples:
            break
    if not seen:
        return _OBJECT_HEADER
    return _OBJECT_HEADER + int(total / seen * count)


@command("memory|help")
def memory_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("MEMORY", _MEMORY_HELP)


@command("memory|usage")
def memory_usage(client: Client, argv: list[bytes]) -> Any:
    samples = 5
    pos = 3
    while pos < len(argv):
        if argv[pos].lower() == b"samples" and pos + 1 < len(argv):
            samples = to_int(argv[pos + 1])
            if samples < 0:
                raise ErrorReply(msg.SYNTAX)
            pos += 2
        else:
            raise ErrorReply(msg.SYNTAX)
    key = argv[2]
    value = client.db.lookup(key)
    if value is None:
        return None
    return _ENTRY_OVERHEAD + len(key) + 3 + estimate_value_size(value, samples)


@command("memory|doctor")
def memory_doctor(client: Client, argv: list[bytes]) -> Any:
    mem = info_module.memory_stats(client.server)
    used = mem.sample()
    return (
        f"Memory report for this pyvalkey process: resident size {info_module.bytes_to_human(used)} ({info_module.bytes_to_human(mem.startup)} at start-up, peak {info_module.bytes_to_human(mem.peak)}). "
        "pyvalkey runs on the Python allocator and has no fragmentation, allocator or "
        "replication-buffer problems of its own to report.\n"
    ).encode()


@command("memory|malloc-stats")
def memory_malloc_stats(client: Client, argv: list[bytes]) -> Any:
    # Valkey built with libc malloc answers exactly this; we have no allocator statistics either.
    return b"Stats not supported for the current allocator"


@command("memory|purge")
def memory_purge(client: Client, argv: list[bytes]) -> Any:
    import gc

    gc.collect()
    return OK


@command("memory|stats")
def memory_stats(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    mem = info_module.memory_stats(server)
    used = mem.sample()
    startup = mem.startup
    dataset = max(used - startup, 0)
    keys = sum(len(db.data) for db in server.keyspace.dbs)
    clients_normal = sum(len(c.out) for c in server.clients.values())
    reply: list[tuple[bytes, Any]] = [
        (b"peak.allocated", mem.peak),
        (b"total.allocated", used),
        (b"startup.allocated", startup),
        (b"replication.backlog", 0),
        (b"replicas.repl.buffer", 0),
        (b"clients.slaves", 0),
        (b"clients.normal", clients_normal),
        (b"cluster.links", 0),
        (b"cluster.slot_import", 0),
        (b"cluster.slot_export", 0),
        (b"aof.buffer", 0),
        (b"lua.caches", 0),
        (b"functions.caches", 0),
    ]
    for db in server.keyspace.dbs:
        if db.data or db.expires:
            reply.append(
                (
                    b"db.%d" % db.index,
                    Map(
                        [
                            (b"overhead.hashtable.main", len(db.data) * _ENTRY_OVERHEAD),
                            (b"overhead.hashtable.expires", len(db.expires) * _ENTRY_OVERHEAD),
                        ]
                    ),
                )
            )
    overhead = used - dataset
    reply.extend(
        [
            (b"overhead.db.hashtable.lut", 0),
            (b"overhead.db.hashtable.rehashing", 0),
            (b"overhead.total", overhead),
            (b"db.dict.rehashing.count", 0),
            (b"keys.count", keys),
            (b"keys.bytes-per-key", (used - startup) // keys if keys and used > startup else 0),
            (b"dataset.bytes", dataset),
            (b"dataset.percentage", dataset * 100.0 / used if used else 0.0),
            (b"peak.percentage", used * 100.0 / mem.peak if mem.peak else 0.0),
            (b"allocator.allocated", used),
            (b"allocator.active", used),
            (b"allocator.resident", used),
            (b"allocator.muzzy", 0),
            (b"allocator-fragmentation.ratio", 1.0),
            (b"allocator-fragmentation.bytes", 0),
            (b"allocator-rss.ratio", 1.0),
            (b"allocator-rss.bytes", 0),
            (b"rss-overhead.ratio", 1.0),
            (b"rss-overhead.bytes", 0),
            (b"fragmentation", 1.0),
            (b"fragmentation.bytes", 0),
        ]
    )
    return Map(reply)


# -- SHUTDOWN --------------------------------------------------------------------------------------


class ShutdownOptions:
    __slots__ = ("force", "nosave", "now", "save")

    def __init__(self, save: bool, nosave: bool, now: bool, force: bool) -> None:
        self.save = save
        self.nosave = nosave
        self.now = now
        self.force = force

    def wants_save(self, server: Server) -> bool:
        """Save when asked to, or when save points are configured and NOSAVE was not given."""
        return self.save or (not self.nosave and bool(server.config.save))


SHUTDOWN_FAILED = b"ERR Errors trying to SHUTDOWN. Check logs."
NO_SHUTDOWN_IN_PROGRESS = b"ERR No shutdown in progress."


@command("shutdown")
def shutdown_command(client: Client, argv: list[bytes]) -> Any:
    save = nosave = now = force = abort = False
    for arg in argv[1:]:
        option = arg.lower()
        if option == b"nosave":
            nosave = True
        elif option == b"save":
            save = True
        elif option == b"now":
            now = True
        elif option == b"force":
            force = True
        elif option == b"abort":
            abort = True
        else:
            raise ErrorReply(msg.SYNTAX)
    if (save and nosave) or (abort and (save or nosave or now or force)):
        raise ErrorReply(msg.SYNTAX)
    server = client.server
    if abort:
        # Our shutdown never waits for replicas, so there is never one in progress to abort.
        raise ErrorReply(NO_SHUTDOWN_IN_PROGRESS)
    options = ShutdownOptions(save, nosave, now, force)
    load_hook_modules("shutdown")  # the final save and AOF flush, even if never used before
    for hook in SHUTDOWN_HOOKS:
        error = hook(server, options)
        if error is not None and not force:
            log.warning("Errors trying to shut down the server: %s", error.decode(errors="replace"))
            raise ErrorReply(SHUTDOWN_FAILED)
    log.warning("User requested shutdown...")
    server.request_shutdown()
    client.close_after_reply = True
    return NO_REPLY


# -- LOLWUT ----------------------------------------------------------------------------------------

LOLWUT_SYNTAX = b"ERR Syntax error. Use: LOLWUT [columns rows] [real imaginary]"


def _sierpinski(columns: int, rows: int) -> str:
    """A Sierpinski triangle from Pascal's triangle mod 2 (our own drawing for LOLWUT)."""
    lines = []
    for row in range(rows):
        cells = []
        for col in range(columns):
            offset = col - (columns // 2 - row)
            inside = 0 <= offset <= 2 * row and offset % 2 == 0
            cells.append("*" if inside and (row & (offset // 2)) == offset // 2 else " ")
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


@command("lolwut")
def lolwut(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.server import VALKEY_VERSION

    pos = 1
    if len(argv) >= 3 and argv[1].lower() == b"version":
        to_int(argv[2])
        pos = 3
    params = argv[pos:]
    numbers = []
    for param in params:
        value = parse_int(param)
        if value is None:
            try:
                numbers.append(int(float(param)))
            except ValueError:
                raise ErrorReply(LOLWUT_SYNTAX) from None
        else:
            numbers.append(value)
    columns = min(max(numbers[0], 1), 1000) if len(numbers) > 0 else 64
    rows = min(max(numbers[1], 1), 1000) if len(numbers) > 1 else 32
    art = _sierpinski(columns, rows)
    return f"{art}\nSierpinski triangle drawn by pyvalkey. Valkey ver. {VALKEY_VERSION}\n".encode()


# -- DEBUG -----------------------------------------------------------------------------------------

def protected_command_allowed(client: Client, setting: str) -> bool:
    """``enable-debug-command`` / ``enable-module-command`` (and the like): "yes", "no", or
    "local" (only from loopback or Unix socket connections)."""
    if setting == "yes":
        return True
    if setting == "local":
        return "unix" in client.flags or client.addr.startswith(("127.0.0.1:", "::1:", "/"))
    return False


def _debug_allowed(client: Client) -> bool:
    return protected_command_allowed(client, client.server.config.enable_debug_command)


@command("debug")
def debug_command(client: Client, argv: list[bytes]) -> Any:
    if not _debug_allowed(client):
        raise ErrorReply(msg.DEBUG_DISABLED)
    load_hook_modules("debug")  # the groups that add subcommands (RELOAD, LOADAOF, ...)
    entry = DEBUG_SUBCOMMANDS.get(argv[1].lower())
    if entry is None or not entry[1](len(argv)):
        raise ErrorReply(
            b"ERR unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP." % argv[1]
        )
    return entry[0](client, argv)


@debug_subcommand("help", lambda n: n == 2)  # help_reply adds the HELP entry itself
def debug_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("DEBUG", debug_help_entries())


def _atof(data: bytes) -> float:
    """C atof: the longest numeric prefix, 0 when there is none."""
    text = data.decode(errors="replace").strip()
    for end in range(len(text), 0, -1):
        try:
            return float(text[:end])
        except ValueError:
            continue
    return 0.0


def _atoi(data: bytes) -> int:
    text = data.decode(errors="replace").strip()
    end = 0
    if text[:1] in ("-", "+"):
        end = 1
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0


@debug_subcommand(
    "sleep", lambda n: n == 3, "SLEEP <seconds>", "    Stop the server for <seconds> (fractions allowed)."
)
def debug_sleep(client: Client, argv: list[bytes]) -> Any:
    seconds = _atof(argv[2])
    if seconds > 0 and math.isfinite(seconds):
        # Deliberately blocks the event loop: that is what DEBUG SLEEP is for (tests use it to
        # make the whole server unresponsive, as Valkey's does).
        time.sleep(seconds)
    return OK


@debug_subcommand(
    "set-active-expire",
    lambda n: n == 3,
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Turn the active expiry cycle off or on.",
)
def debug_set_active_expire(client: Client, argv: list[bytes]) -> Any:
    client.server.keyspace.active_expire_enabled = bool(_atoi(argv[2]))
    return OK


@debug_subcommand(
    "pause-cron",
    lambda n: n == 3,
    "PAUSE-CRON <0|1>",
    "    Stop (1) or restart (0) the periodic jobs: active expiry, client timeouts, tracking limits...",
)
def debug_pause_cron(client: Client, argv: list[bytes]) -> Any:
    client.server.cron_paused = bool(_atoi(argv[2]))
    return OK


def _encoding_name(value: Any) -> str:
    kind = type(value)
    if kind is bytearray:
        return "raw"
    if kind is bytes:
        number = parse_int(value) if len(value) <= 20 else None
        return "int" if number is not None else "embstr"
    encoding = getattr(value, "encoding", None)
    if callable(encoding):
        encoding = encoding()
    if isinstance(encoding, bytes):
        encoding = encoding.decode()
    return str(encoding) if encoding else "unknown"


def _length_prefix(n: int) -> int:
    return 1 if n < 64 else 2 if n < 16384 else 5 if n <= 0xFFFFFFFF else 9


def _serialized_string_length(data: bytes | bytearray) -> int:
    number = parse_int(bytes(data)) if len(data) <= 11 else None
    if number is not None and str(number).encode() == bytes(data):
        if -(1 << 7) <= number < (1 << 7):
            return 2
        if -(1 << 15) <= number < (1 << 15):
            return 3
        if -(1 << 31) <= number < (1 << 31):
            return 5
    return _length_prefix(len(data)) + len(data)


def serialized_length(value: Any) -> int:
    """The size the value would take in an RDB file, without compression (an estimate for
    aggregates)."""
    if isinstance(value, (bytes, bytearray)):
        return _serialized_string_length(value)
    count, elements = _sample_elements(value)
    total = _length_prefix(count)
    for element in elements:
        parts = element if isinstance(element, tuple) else (element,)
        for part in parts:
            if isinstance(part, (bytes, bytearray)):
                total += _serialized_string_length(part)
            else:
                total += 8
    return total


@debug_subcommand(
    "object", lambda n: n in (3, 4), "OBJECT <key> [fast]", "    Low level details of the value at <key>."
)
def debug_object(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    key = argv[2]
    # A key past its deadline but not yet expired is still shown (Valkey's tests use this to
    # see that a key is still there); DEBUG OBJECT does not expire it.
    value = db.data.get(key)
    if value is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    fast = len(argv) == 4 and argv[3].lower() == b"fast"
    lru_now = client.server.keyspace.lru_clock
    accessed = db.access.get(key, lru_now)
    if type(value) is bytes:
        # Our strings are immutable bytes, replaced on INCR/SET; Valkey updates an unshared
        # string object in place, and its tests check that INCR keeps the address. Report a
        # per-key address for strings so that holds.
        address = (hash((db.index, key)) & 0xFFFFFFFFFFF0) | 0x7F0000000000
    else:
        address = id(value)
    text = f"Value at:0x{address:x} refcount:1 encoding:{_encoding_name(value)}"
    if not fast:
        text += f" serializedlength:{serialized_length(value)}"
    text += f" lru:{accessed & info_module.LRU_CLOCK_MAX} lru_seconds_idle:{max(lru_now - accessed, 0)}"
    details = getattr(value, "debug_details", None)  # quicklist node figures (storage/lists.py)
    if details is not None:
        text += details(fast)
    return SimpleString(text.encode())


_PROTOCOL_TYPES = b"string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"


@debug_subcommand(
    "protocol", lambda n: n == 3, "PROTOCOL <type>", "    Reply with a sample value of a RESP type."
)
def debug_protocol(client: Client, argv: list[bytes]) -> Any:
    name = argv[2].lower()
    resp3 = client.resp3
    if name == b"string":
        return b"Hello World"
    if name == b"integer":
        return 12345
    if name == b"double":
        return 3.141
    if name == b"bignum":
        return BigNumber(1234567999999999999999999999999999999)
    if name == b"null":
        return None
    if name == b"array":
        return [0, 1, 2]
    if name == b"set":
        return RespSet([0, 1, 2])
    if name == b"map":
        return Map([(0, False), (1, True), (2, False)])
    if name == b"attrib":
        body = b"Some real reply following the attribute"
        if resp3:
            return Raw(
                b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$%d\r\n%s\r\n"
                % (len(body), body)
            )
        return body
    if name == b"push":
        if not resp3:
            raise ErrorReply(b"ERR RESP2 is not supported by this command")
        body = b"Some real reply following the push reply"
        out = bytearray()
        from pyvalkey.protocol.writer import encode

        # Valkey defers the push until the command's own reply has been written.
        encode(body, out, True)
        encode(Push([b"server-cpu-usage", 42]), out, True)
        return Raw(bytes(out))
    if name == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    if name == b"true":
        return True
    if name == b"false":
        return False
    raise ErrorReply(b"ERR Wrong protocol type name. Please use one of the following: " + _PROTOCOL_TYPES)


# The digest follows Valkey's scheme (SHA1 values XORed for unordered collections, chained for
# ordered ones) so that DEBUG DIGEST agrees with a real server holding the same data.
_TYPE_CODES = {b"string": 0, b"list": 1, b"set": 2, b"zset": 3, b"hash": 4, b"stream": 6}


def _xor_digest(digest: bytearray, data: bytes) -> None:
    import hashlib  # only DEBUG DIGEST needs it: not imported at start-up

    for index, byte in enumerate(hashlib.sha1(data).digest()):
        digest[index] ^= byte


def _mix_digest(digest: bytearray, data: bytes) -> None:
    import hashlib

    _xor_digest(digest, data)
    digest[:] = hashlib.sha1(bytes(digest)).digest()


def _fpconv_text(value: float) -> bytes:
    """A double as Valkey's fpconv_dtoa writes it (used by DEBUG DIGEST for scores): the
    shortest digits, plain up to a few zeros, else scientific (``-3e+10``); replies format
    doubles differently (see pyvalkey.protocol.writer.format_double)."""
    if value != value:
        return b"nan"
    if value in (math.inf, -math.inf):
        return b"inf" if value > 0 else b"-inf"
    negative = math.copysign(1.0, value) < 0
    sign = "-" if negative else ""
    if value == 0:
        return (sign + "0").encode()
    import decimal  # only DEBUG DIGEST needs it: not imported at start-up

    _, digit_tuple, K = decimal.Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    count = len(digits)
    exponent = abs(K + count - 1)
    if K >= 0 and exponent < count + 7:
        return (sign + digits + "0" * K).encode()
    if K < 0 and (K > -7 or exponent < 4):
        offset = count + K
        if offset <= 0:
            return (sign + "0." + "0" * -offset + digits).encode()
        return (sign + digits[:offset] + "." + digits[offset:]).encode()
    count = min(count, 18 - negative)
    mantissa = digits[0] + ("." + digits[1:count] if count > 1 else "")
    return (f"{sign}{mantissa}e{'-' if K + count - 1 < 0 else '+'}{exponent}").encode()


def dataset_digest(server: Server) -> bytes:
    final = bytearray(20)
    for db in server.keyspace.dbs:
        if not db.data:
            continue
        _mix_digest(final, struct.pack(">I", db.index))
        for key, value in db.data.items():
            digest = bytearray(20)
            _mix_digest(digest, key)
            _xor_digest(final, bytes(_chain(digest, db, key, value)))
    return bytes(final)


def _chain(start: bytearray, db: Any, key: bytes, value: Any) -> bytearray:
    """Continue ``start`` (the key's digest) with the value's digest steps."""
    digest = bytearray(start)
    kind = value.TYPE_NAME if not isinstance(value, (bytes, bytearray)) else b"string"
    if isinstance(kind, str):
        kind = kind.encode()
    _mix_digest(digest, struct.pack(">I", _TYPE_CODES.get(kind, 5)))
    if isinstance(value, (bytes, bytearray)):
        _mix_digest(digest, bytes(value))
    elif kind == b"list":
        for element in value.items:
            _mix_digest(digest, element)
    elif kind == b"set":
        for member in value.members:
            _xor_digest(digest, member)
    elif kind == b"hash":
        for field, item in value.data.items():
            element = bytearray(20)
            _mix_digest(element, field)
            _mix_digest(element, item)
            _xor_digest(digest, bytes(element))
    elif kind == b"zset":
        for score, member in value:
            element = bytearray(20)
            _mix_digest(element, member)
            _mix_digest(element, _fpconv_text(score))
            _xor_digest(digest, bytes(element))
    elif kind == b"stream":
        # Valkey digests the stream's raw listpack nodes; ours covers the same content (entries,
        # last ID, groups) in our own layout, so it is stable but not Valkey's value.
        for entry_id in value.ids[value._head :]:
            _mix_digest(digest, repr(entry_id).encode())
            for part in value.entries[entry_id]:
                _mix_digest(digest, part)
        _mix_digest(digest, repr(value.last_id).encode())
        for name, group in sorted((value.groups or {}).items()):
            _mix_digest(digest, name)
            _mix_digest(digest, repr(group.last_id).encode())
    else:
        _mix_digest(digest, repr(value).encode())
    if key in db.expires:
        _xor_digest(digest, b"!!expire!!")
    return digest


@debug_subcommand("digest", lambda n: n == 2, "DIGEST", "    A hex signature of the whole dataset.")
def debug_digest(client: Client, argv: list[bytes]) -> Any:
    return SimpleString(dataset_digest(client.server).hex().encode())


@debug_subcommand(
    "digest-value",
    lambda n: n >= 2,
    "DIGEST-VALUE <key> [<key> ...]",
    "    A hex signature of each key's value.",
)
def debug_digest_value(client: Client, argv: list[bytes]) -> Any:
    db = client.db
    result = []
    for key in argv[2:]:
        value = db.lookup(key)
        digest = _chain(bytearray(20), db, key, value) if value is not None else bytearray(20)
        result.append(SimpleString(bytes(digest).hex().encode()))
    return result


@debug_subcommand(
    "quicklist-packed-threshold",
    lambda n: n == 3,
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Set the element size above which list elements are stored as plain nodes.",
)
def debug_quicklist_packed_threshold(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.storage.lists import set_packed_threshold

    try:
        size = parse_memory(argv[2].decode(errors="replace"))
    except ConfigError:
        size = -1
    # 0 restores the default (the fill factor decides); up to 4gb less 1mb is accepted
    if size < 0 or size > (1 << 32) - (1 << 20):
        raise ErrorReply(b"ERR argument must be a memory value bigger than 1 and smaller than 4gb")
    set_packed_threshold(size)
    return OK


@debug_subcommand("listpack", lambda n: n == 3, "LISTPACK <key>", "    Log the listpack behind <key>.")
def debug_listpack(client: Client, argv: list[bytes]) -> Any:
    value = client.db.lookup(argv[2])
    if value is None:
        raise ErrorReply(msg.NO_SUCH_KEY)
    if _encoding_name(value) != "listpack":
        raise ErrorReply(b"ERR Not a listpack encoded object.")
    log.warning("DEBUG LISTPACK %r: %r", argv[2], value)
    return SimpleString(b"Listpack structure printed on stdout")


@debug_subcommand(
    "change-repl-id", lambda n: n == 2, "CHANGE-REPL-ID", "    Give this server a new replication ID."
)
def debug_change_repl_id(client: Client, argv: list[bytes]) -> Any:
    import secrets

    server = client.server
    info_module.repl_ids(server)
    server.replid = secrets.token_hex(20)  # type: ignore[attr-defined]
    server.replid2 = "0" * 40  # type: ignore[attr-defined]
    log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    return OK


@debug_subcommand("log", lambda n: n == 3, "LOG <message>", "    Append <message> to the server's log.")
def debug_log(client: Client, argv: list[bytes]) -> Any:
    log.warning("DEBUG LOG: %s", argv[2].decode(errors="replace"))
    return OK


@debug_subcommand("error", lambda n: n == 3, "ERROR <string>", "    Reply with <string> as an error.")
def debug_error(client: Client, argv: list[bytes]) -> Any:
    return ErrorReply(argv[2])


@debug_subcommand(
    "populate",
    lambda n: 3 <= n <= 5,
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys <prefix>:<n> (default prefix 'key') holding 'value:<n>'.",
)
def debug_populate(client: Client, argv: list[bytes]) -> Any:
    count = parse_int(argv[2])
    if count is None or count < 0:
        raise ErrorReply(msg.NOT_POSITIVE)
    size: int | None = 0
    if len(argv) == 5:
        size = parse_int(argv[4])
        if size is None or size < 0:
            raise ErrorReply(msg.NOT_POSITIVE)
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = client.db
    for index in range(count):
        key = b"%s:%d" % (prefix, index)
        if db.lookup_write(key) is not None:
            continue
        value = b"value:%d" % index
        if size:
            value = value[:size].ljust(size, b"\0")
        db.add(key, value)
    return OK
