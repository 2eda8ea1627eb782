"""The CLIENT command: identity (ID, SETNAME, GETNAME, SETINFO, CAPA), introspection (INFO, LIST),
control of other connections (KILL, UNBLOCK, PAUSE, UNPAUSE) and of this one (REPLY, NO-EVICT,
NO-TOUCH).

CLIENT LIST / INFO lines have Valkey's fields in Valkey's order. Per-client state that other
command groups own is read by name with a default, so this module works before they exist:
``pubsub_channels``, ``pubsub_patterns``, ``pubsub_shard_channels`` (sized containers),
``watched_keys`` (sized), ``tracking`` (object with ``redirect``, or None), ``client.multi`` (with
``len()`` = queued commands, optional ``argv_mem`` and ``dirty``). Memory figures (qbuf, rbs,
tot-mem ...) are plausible stand-ins: Python does not size buffers the way Valkey's allocator does.

The LIST and KILL filters are parsed once into a ``ClientFilter`` and then matched per client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyvalkey.client import CAPA_REDIRECT, REPLY_OFF, REPLY_ON, REPLY_SKIP, Client
from pyvalkey.commands.connection import valid_attr
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.pause import PAUSE_ALL, PAUSE_WRITE, Postponed, pause_state
from pyvalkey.protocol.replies import NO_REPLY, OK, RespSet, Verbatim

# Our own descriptions; the syntax lines state each subcommand's arguments (see helptext.py).
_HELP_ENTRIES: list[HelpEntry] = [
    ("CACHING (YES|NO)", "In OPTIN/OPTOUT tracking, decide whether the next command's keys are tracked."),
    ("CAPA <option> [options...]", [
        "Declare what this client can handle. Known options:",
        "* REDIRECT: the client follows redirects after a standalone failover.",
    ]),
    ("GETREDIR", "The ID of the client receiving this connection's invalidations (tracking)."),
    ("GETNAME", "The name given to this connection, or null."),
    ("ID", "The numeric ID of this connection."),
    ("INFO", "One line describing this connection, in the CLIENT LIST format."),
    ("KILL <ip:port>", "Close the connection whose peer address is <ip:port>."),
    ("KILL <option> <value> [<option> <value> [...]]", [
        "Close every connection matching all the given filters:",
        "* ADDR (<ip:port>|<unixsocket>:0): peer address",
        "* LADDR (<ip:port>|<unixsocket>:0): local address it reached",
        "* TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB): kind of client",
        "* USER <username>: authenticated user",
        "* SKIPME (YES|NO): spare the calling connection (yes unless told otherwise)",
        "* ID <client-id> [<client-id>...]: one of these IDs",
        "* MAXAGE <maxage>: connected for longer than <maxage> seconds",
        "* FLAGS <flags>: has every one of these flags",
        "* NAME <client-name>: connection name",
        "* IDLE <idle>: idle for at least <idle> seconds",
        "* LIB-NAME <library-name>: client library name",
        "* LIB-VER <library-version>: client library version",
        "* DB <db-id>: currently selected database",
        "* CAPA <capa>: declared capability",
        "* IP <ip>: peer IP, any port",
    ]),
    ("LIST [options ...]", [
        "One line per connection; the optional filters are:",
        "* TYPE (NORMAL|PRIMARY|REPLICA|PUBSUB): kind of client",
        "* USER <username>: authenticated user",
        "* ADDR <ip:port>: peer address",
        "* LADDR <ip:port>: local address it reached",
        "* ID <client-id> [<client-id>...]: one of these IDs",
        "* SKIPME (YES|NO): leave out the calling connection (no unless told otherwise)",
        "* MAXAGE <maxage>: connected for longer than <maxage> seconds",
        "* FLAGS <flags>: has every one of these flags",
        "* NAME <client-name>: connection name",
        "* IDLE <idle>: idle for at least <idle> seconds",
        "* LIB-NAME <lib-name>: client library name",
        "* LIB-VER <lib-version>: client library version",
        "* DB <db-id>: currently selected database",
        "* CAPA <capa>: declared capability",
        "* IP <ip>: peer IP, any port",
    ]),
    ("UNPAUSE", "End a CLIENT PAUSE early and let held commands run."),
    ("PAUSE <timeout> [WRITE|ALL]", "Hold commands (all of them, or only writes) for <timeout> ms."),
    ("REPLY (ON|OFF|SKIP)", "Turn replies to this connection on or off, or drop only the next one."),
    ("SETNAME <name>", "Give this connection the name <name>."),
    ("SETINFO <option> <value>", [
        "Record client library details shown by CLIENT LIST/INFO:",
        "* LIB-NAME: library name",
        "* LIB-VER: library version",
    ]),
    ("UNBLOCK <clientid> [TIMEOUT|ERROR]", "End another client's blocking wait early."),
    ("TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]", [
        "    [OPTIN] [OPTOUT] [NOLOOP]",
        "Switch key tracking for client side caching on or off.",
    ]),
    ("TRACKINGINFO", "How key tracking is set up for this connection."),
    ("NO-EVICT (ON|OFF)", "Exempt this connection from client eviction, or not."),
    ("NO-TOUCH (ON|OFF)", "While on, this connection's reads leave keys' LRU/LFU data unchanged."),
    ("IMPORT-SOURCE (ON|OFF)", [
        "With import-mode enabled, mark this connection as a data import tool,",
        "which may then read keys that have already expired.",
    ]),
]

_BAD_NAME = b"ERR Client names cannot contain spaces, newlines or special characters."
_NO_SUCH_CLIENT = b"ERR No such client"
_BAD_ID = b"ERR client-id should be greater than 0"
_UNBLOCK_REASON = b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
_PAUSE_MODE = b"ERR CLIENT PAUSE mode must be WRITE or ALL"
_TIMEOUT_NOT_INT = b"ERR timeout is not an integer or out of range"
_TIMEOUT_NEGATIVE = b"ERR timeout is negative"
_TIMEOUT_RANGE = b"ERR timeout is out of range"
_NOT_IMPORT_MODE = b"ERR Server is not in import mode"

_INT64_MAX = (1 << 63) - 1

# Letters CLIENT LIST / KILL accept in a FLAGS filter, and in a CAPA filter.
_FILTER_FLAGS = frozenset(b"bcdeirtuxABEIMNOPRSTU")
_FILTER_CAPA = frozenset(b"r")

# Valkey's read-buffer size for an idle client, and the memory it accounts to an idle client.
_READ_BUFFER = 16392
_BASE_MEMORY = 16976

_TYPE_NAMES = {
    b"normal": "normal",
    b"replica": "replica",
    b"slave": "replica",
    b"pubsub": "pubsub",
    b"master": "master",
    b"primary": "master",
}


# -- per-client facts ------------------------------------------------------------------------------


def client_type(client: Client) -> str:
    """Valkey's client class: master, replica, pubsub or normal (CLIENT LIST TYPE, INFO)."""
    flags = client.flags
    if "master" in flags:
        return "master"
    if "replica" in flags and "monitor" not in flags:
        return "replica"
    if "subscriber" in flags:
        return "pubsub"
    return "normal"


def _size(value: Any) -> int:
    return len(value) if value is not None else 0


def flag_letters(client: Client) -> str:
    flags = client.flags
    letters = []
    if "replica" in flags:
        letters.append("O" if "monitor" in flags else "S")
    if "master" in flags:
        letters.append("M")
    if "subscriber" in flags:
        letters.append("P")
    multi = client.multi
    if multi is not None:
        letters.append("x")
    if client.blocked is not None:
        letters.append("b")
    tracking = getattr(client, "tracking", None)
    if tracking is not None:
        letters.append("t")
        if getattr(tracking, "broken_redirect", False):
            letters.append("R")
        if getattr(tracking, "bcast", False):
            letters.append("B")
    if multi is not None and getattr(multi, "dirty", False):
        letters.append("d")
    if client.close_after_reply:
        letters.append("c")
    if "unblocked" in flags:
        letters.append("u")
    if client.closed:
        letters.append("A")
    if "unix" in flags:
        letters.append("U")
    if "readonly" in flags:
        letters.append("r")
    if client.no_evict:
        letters.append("e")
    if client.no_touch:
        letters.append("T")
    if "import_source" in flags:
        letters.append("I")
    return "".join(letters) or "N"


def info_line(client: Client, current: Client | None = None, argv: list[bytes] | None = None) -> bytes:
    """One CLIENT LIST line (without the newline). ``current``/``argv``: the client running the
    listing command and that command, which Valkey shows as already under way."""
    server = client.server
    now_s = server.clock.ms() // 1000
    is_current = client is current and argv is not None
    if is_current:
        assert argv is not None
        cmd_name = b"client|" + argv[1].lower()
        argv_mem = sum(len(arg) for arg in argv)
    else:
        last = client.last_command
        cmd_name = last.encode() if isinstance(last, str) else last
        state = client.blocked
        argv_mem = sum(len(arg) for arg in state.argv) if isinstance(state, Postponed) else 0
    multi = client.multi
    # -1 until the client first used MULTI or WATCH (Valkey allocates its transaction state then)
    multi_count = -1 if client.watched_keys is None else 0
    multi_mem = 0
    if multi is not None:
        try:
            multi_count = len(multi)
        except TypeError:
            multi_count = int(getattr(multi, "count", 0))
        multi_mem = int(getattr(multi, "argv_mem", 0))
    tracking = getattr(client, "tracking", None)
    redirect = getattr(tracking, "redirect", 0) if tracking is not None else -1
    qbuf = client.reader.buffered()
    transport = client.transport
    omem = 0
    pending = getattr(transport, "pending_output", None)
    if pending is not None:
        try:
            omem = max(pending() - len(client.out), 0)
        except (OSError, RuntimeError, AttributeError):
            omem = 0
    tot_mem = _BASE_MEMORY + qbuf + omem + multi_mem + (argv_mem + 16 if argv_mem else 0)
    events = "rw" if omem else "r"
    db_index = server.keyspace.dbs.index(client.db) if hasattr(server.keyspace.dbs, "index") else 0
    return b"".join(
        (
            b"id=%d" % client.id,
            b" addr=", client.addr.encode(),
            b" laddr=", client.laddr.encode(),
            b" fd=%d" % client.fd,
            b" name=", client.name,
            b" age=%d" % (now_s - client.created_ms // 1000),
            b" idle=%d" % (now_s - client.last_interaction_ms // 1000),
            b" flags=", flag_letters(client).encode(),
            b" capa=", client.capa.encode(),
            b" db=%d" % db_index,
            b" sub=%d" % _size(getattr(client, "pubsub_channels", None)),
            b" psub=%d" % _size(getattr(client, "pubsub_patterns", None)),
            b" ssub=%d" % _size(getattr(client, "pubsub_shard_channels", None)),
            b" multi=%d" % multi_count,
            b" watch=%d" % _size(getattr(client, "watched_keys", None)),
            b" qbuf=%d" % qbuf,
            b" qbuf-free=0",
            b" argv-mem=%d" % argv_mem,
            b" multi-mem=%d" % multi_mem,
            b" rbs=%d rbp=%d" % (_READ_BUFFER, _READ_BUFFER),
            b" obl=%d" % len(client.out),
            b" oll=0",
            b" omem=%d" % omem,
            b" tot-mem=%d" % tot_mem,
            b" events=", events.encode(),
            b" cmd=", cmd_name,
            b" user=", client.user,
            b" redir=%d" % redirect,
            b" resp=%d" % (3 if client.resp3 else 2),
            b" lib-name=", client.lib_name,
            b" lib-ver=", client.lib_ver,
            b" tot-net-in=%d" % client.total_net_in,
            b" tot-net-out=%d" % client.total_net_out,
            b" tot-cmds=%d" % client.commands_processed,
        )
    )


# -- filters (CLIENT LIST / CLIENT KILL) -----------------------------------------------------------

Test = Callable[[Client], bool]


class ClientFilter:
    """Parsed ``<option> <value>`` filters; a client matches when every test passes."""

    __slots__ = ("skipme", "tests")

    def __init__(self, skipme: bool) -> None:
        self.tests: list[Test] = []
        self.skipme = skipme

    def matches(self, client: Client, me: Client) -> bool:
        if self.skipme and client is me:
            return False
        for test in self.tests:
            if not test(client):
                return False
        return True


def _user_exists(client: Client, name: bytes) -> bool:
    acl = getattr(client.server, "acl", None)
    if acl is not None:
        return bool(acl.user_exists(name))
    return name == b"default"


def _positive(value: bytes, what: bytes) -> int:
    number = parse_int(value)
    if number is None:
        raise ErrorReply(b"ERR %s is not an integer or out of range" % what)
    if number <= 0:
        raise ErrorReply(b"ERR %s should be greater than 0" % what)
    return number


def _db_index(me: Client, value: bytes, what: bytes) -> int:
    number = parse_int(value)
    if number is None:
        raise ErrorReply(b"ERR %s is not an integer or out of range" % what)
    count = len(me.server.keyspace.dbs)
    if not 0 <= number < count:
        raise ErrorReply(b"ERR %s number should be between 0 and %d" % (what, count - 1))
    return number


def _ip_of(addr: str) -> str:
    return addr.rsplit(":", 1)[0]


def _letters_test(value: bytes, letters: Callable[[Client], str]) -> Test:
    wanted = value.decode()
    return lambda c: all(ch in letters(c) for ch in wanted)


def _negate(test: Test) -> Test:
    return lambda c: not test(c)


def parse_filter(me: Client, argv: list[bytes], pos: int, skipme: bool) -> ClientFilter:
    """Parse filters from ``argv[pos:]``, raising Valkey's error for the first bad one."""
    result = ClientFilter(skipme)
    tests = result.tests
    count = len(argv)
    while pos < count:
        option = argv[pos].upper()
        negative = option.startswith(b"NOT-")
        name = option[4:] if negative else option
        if name == b"ID":
            ids: set[int] = set()
            pos += 1
            while pos < count:
                number = parse_int(argv[pos])
                if number is None:
                    break
                if number <= 0:
                    raise ErrorReply(_BAD_ID)
                ids.add(number)
                pos += 1
            if not ids:
                raise ErrorReply(msg.SYNTAX)
            test: Test = lambda c, ids=ids: c.id in ids  # type: ignore[misc]
            tests.append(_negate(test) if negative else test)
            continue
        if pos + 1 >= count:
            raise ErrorReply(msg.SYNTAX)
        value = argv[pos + 1]
        pos += 2
        if name == b"SKIPME" and not negative:
            lowered = value.lower()
            if lowered == b"yes":
                result.skipme = True
            elif lowered == b"no":
                result.skipme = False
            else:
                raise ErrorReply(msg.SYNTAX)
            continue
        if name in (b"MAXAGE", b"IDLE") and not negative:
            limit = _positive(value, name.lower())
            if name == b"MAXAGE":
                tests.append(lambda c, n=limit: c.server.clock.ms() // 1000 - c.created_ms // 1000 >= n)
            else:
                tests.append(lambda c, n=limit: c.server.clock.ms() // 1000 - c.last_interaction_ms // 1000 >= n)
            continue
        text = value.decode(errors="surrogateescape")
        if name == b"ADDR":
            test = lambda c, v=text: c.addr == v  # type: ignore[misc]
        elif name == b"LADDR":
            test = lambda c, v=text: c.laddr == v  # type: ignore[misc]
        elif name == b"IP":
            test = lambda c, v=text: _ip_of(c.addr) == v  # type: ignore[misc]
        elif name == b"TYPE":
            kind = _TYPE_NAMES.get(value.lower())
            if kind is None:
                raise ErrorReply(b"ERR Unknown client type '%s'" % value)
            test = lambda c, v=kind: client_type(c) == v  # type: ignore[misc]
        elif name == b"USER":
            if not _user_exists(me, value):
                raise ErrorReply(b"ERR No such user '%s'" % value)
            test = lambda c, v=value: c.user == v  # type: ignore[misc]
        elif name == b"NAME":
            test = lambda c, v=value: c.name == v  # type: ignore[misc]
        elif name == b"LIB-NAME":
            test = lambda c, v=value: c.lib_name == v  # type: ignore[misc]
        elif name == b"LIB-VER":
            test = lambda c, v=value: c.lib_ver == v  # type: ignore[misc]
        elif name == b"DB":
            index = _db_index(me, value, option)
            test = lambda c, v=index: c.db is c.server.keyspace.dbs[v]  # type: ignore[misc]
        elif name == b"FLAGS":
            if not all(byte in _FILTER_FLAGS for byte in value):
                where = b"the NOT-FLAGS filter" if negative else b"the provided filter"
                raise ErrorReply(b"ERR Unknown flags found in %s: %s" % (where, value))
            test = _letters_test(value, flag_letters)
        elif name == b"CAPA":
            if not all(byte in _FILTER_CAPA for byte in value):
                where = b"the NOT-CAPA filter" if negative else b"the provided filter"
                raise ErrorReply(b"ERR Unknown capa found in %s: %s" % (where, value))
            test = _letters_test(value, lambda c: c.capa)
        else:
            raise ErrorReply(msg.SYNTAX)
        tests.append(_negate(test) if negative else test)
    return result


def _clients(me: Client) -> list[Client]:
    return list(me.server.clients.values())


# -- handlers --------------------------------------------------------------------------------------


@command("client|help")
def client_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("CLIENT", _HELP_ENTRIES)


@command("client|id")
def client_id(client: Client, argv: list[bytes]) -> Any:
    return client.id


@command("client|info")
def client_info(client: Client, argv: list[bytes]) -> Any:
    return Verbatim(info_line(client, client, argv) + b"\n")


@command("client|list")
def client_list(client: Client, argv: list[bytes]) -> Any:
    selected = parse_filter(client, argv, 2, skipme=False)
    lines = [
        info_line(other, client, argv) + b"\n" for other in _clients(client) if selected.matches(other, client)
    ]
    return Verbatim(b"".join(lines))


@command("client|setname")
def client_setname(client: Client, argv: list[bytes]) -> Any:
    if not valid_attr(argv[2]):
        raise ErrorReply(_BAD_NAME)
    client.name = argv[2]
    return OK


@command("client|getname")
def client_getname(client: Client, argv: list[bytes]) -> Any:
    return client.name or None


@command("client|setinfo")
def client_setinfo(client: Client, argv: list[bytes]) -> Any:
    option = argv[2]
    lowered = option.lower()
    if lowered not in (b"lib-name", b"lib-ver"):
        raise ErrorReply(b"ERR Unrecognized option '%s'" % option)
    value = argv[3]
    if not valid_attr(value):
        raise ErrorReply(b"ERR %s cannot contain spaces, newlines or special characters." % option)
    if lowered == b"lib-name":
        client.lib_name = value
    else:
        client.lib_ver = value
    return OK


@command("client|capa")
def client_capa(client: Client, argv: list[bytes]) -> Any:
    for option in argv[2:]:
        if option.lower() == b"redirect" and CAPA_REDIRECT not in client.capa:
            client.capa += CAPA_REDIRECT
    return OK


def _on_off(value: bytes) -> bool:
    lowered = value.lower()
    if lowered == b"on":
        return True
    if lowered == b"off":
        return False
    raise ErrorReply(msg.SYNTAX)


@command("client|no-evict")
def client_no_evict(client: Client, argv: list[bytes]) -> Any:
    client.no_evict = _on_off(argv[2])
    return OK


@command("client|no-touch")
def client_no_touch(client: Client, argv: list[bytes]) -> Any:
    client.no_touch = _on_off(argv[2])
    return OK


@command("client|import-source")
def client_import_source(client: Client, argv: list[bytes]) -> Any:
    if not getattr(client.server.config, "import_mode", False):
        raise ErrorReply(_NOT_IMPORT_MODE)
    if _on_off(argv[2]):
        client.flags.add("import_source")
    else:
        client.flags.discard("import_source")
    return OK


@command("client|reply")
def client_reply(client: Client, argv: list[bytes]) -> Any:
    mode = argv[2].lower()
    if mode == b"on":
        client.reply_mode = REPLY_ON
        client.skip_this_reply = False
        return OK
    if mode == b"off":
        client.reply_mode = REPLY_OFF
        return NO_REPLY
    if mode == b"skip":
        if client.reply_mode != REPLY_OFF:
            client.reply_mode = REPLY_SKIP
        return NO_REPLY
    raise ErrorReply(msg.SYNTAX)


@command("client|kill")
def client_kill(client: Client, argv: list[bytes]) -> Any:
    if len(argv) == 3:
        # The original form names one address and may kill the caller itself.
        addr = argv[2].decode(errors="surrogateescape")
        victims = [other for other in _clients(client) if other.addr == addr]
    else:
        selected = parse_filter(client, argv, 2, skipme=True)
        victims = [other for other in _clients(client) if selected.matches(other, client)]
    for victim in victims:
        if victim is client:
            # Our own connection closes once this reply has been written.
            client.close_after_reply = True
        else:
            victim.server.disconnect(victim)
    if len(argv) == 3:
        if not victims:
            raise ErrorReply(_NO_SUCH_CLIENT)
        return OK
    return len(victims)


@command("client|unblock")
def client_unblock(client: Client, argv: list[bytes]) -> Any:
    with_error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            with_error = True
        elif reason != b"timeout":
            raise ErrorReply(_UNBLOCK_REASON)
    target_id = parse_int(argv[2])
    if target_id is None:
        raise ErrorReply(msg.NOT_INTEGER)
    target = client.server.clients.get(target_id)
    state = target.blocked if target is not None else None
    if state is None or not getattr(state, "unblockable", False):
        return 0
    state.unblock(with_error)
    return 1


@command("client|pause")
def client_pause(client: Client, argv: list[bytes]) -> Any:
    mode = PAUSE_ALL
    if len(argv) == 4:
        word = argv[3].lower()
        if word == b"write":
            mode = PAUSE_WRITE
        elif word != b"all":
            raise ErrorReply(_PAUSE_MODE)
    timeout = parse_int(argv[2])
    if timeout is None:
        raise ErrorReply(_TIMEOUT_NOT_INT)
    if timeout < 0:
        raise ErrorReply(_TIMEOUT_NEGATIVE)
    now = client.server.keyspace.now_ms
    if timeout > 0:
        if timeout > _INT64_MAX - now:
            raise ErrorReply(_TIMEOUT_RANGE)
        timeout += now
    pause_state(client.server).pause(timeout, mode)
    return OK


@command("client|unpause")
def client_unpause(client: Client, argv: list[bytes]) -> Any:
    pause_state(client.server).unpause()
    return OK


# -- client-side caching (state and invalidation live in pyvalkey/tracking.py) ----------------------

_PREFIX_REQUIRES_BCAST = b"ERR PREFIX option requires BCAST mode to be enabled"
_BCAST_SWITCH = (
    b"ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
    b"re-enabling it with a different mode."
)
_OPT_BCAST = b"ERR OPTIN and OPTOUT are not compatible with BCAST"
_OPTIN_AND_OPTOUT = b"ERR You can't specify both OPTIN mode and OPTOUT mode"
_OPT_SWITCH = (
    b"ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
    b"re-enabling it with a different mode."
)
_ONE_REDIRECT = b"ERR A client can only redirect to a single other client"
_NO_REDIRECT_TARGET = b"ERR The client ID you want redirect to does not exist"
_CACHING_NOT_TRACKING = (
    b"ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
)
_CACHING_YES = b"ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
_CACHING_NO = b"ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
_PREFIX_OVERLAP_EXISTING = (
    b"ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap."
)
_PREFIX_OVERLAP_GIVEN = (
    b"ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap."
)


def _c_text(value: bytes) -> bytes:
    """What a C ``%s`` prints of ``value``: the bytes before the first NUL."""
    nul = value.find(b"\0")
    return value if nul < 0 else value[:nul]


def _overlap(a: bytes, b: bytes) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _check_prefixes(client: Client, prefixes: list[bytes]) -> None:
    existing = list(client.tracking.prefixes) if client.tracking is not None else []
    for i, prefix in enumerate(prefixes):
        for old in existing:
            if _overlap(old, prefix):
                raise ErrorReply(_PREFIX_OVERLAP_EXISTING % (_c_text(prefix), _c_text(old)))
        for other in prefixes[i + 1 :]:
            if _overlap(prefix, other):
                raise ErrorReply(_PREFIX_OVERLAP_GIVEN % (_c_text(prefix), _c_text(other)))


@command("client|tracking")
def client_tracking(client: Client, argv: list[bytes]) -> Any:
    from pyvalkey.tracking import tracking

    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    argc = len(argv)
    j = 3
    while j < argc:
        option = argv[j].lower()
        more = argc - 1 - j
        if option == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise ErrorReply(_ONE_REDIRECT)
            value = parse_int(argv[j])
            if value is None:
                raise ErrorReply(msg.NOT_INTEGER)
            redirect = value
            if redirect not in client.server.clients:
                raise ErrorReply(_NO_REDIRECT_TARGET)
        elif option == b"bcast":
            bcast = True
        elif option == b"optin":
            optin = True
        elif option == b"optout":
            optout = True
        elif option == b"noloop":
            noloop = True
        elif option == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise ErrorReply(msg.SYNTAX)
        j += 1
    mode = argv[2].lower()
    if mode == b"on":
        state = client.tracking
        if not bcast and prefixes:
            raise ErrorReply(_PREFIX_REQUIRES_BCAST)
        if state is not None and state.bcast != bcast:
            raise ErrorReply(_BCAST_SWITCH)
        if bcast and (optin or optout):
            raise ErrorReply(_OPT_BCAST)
        if optin and optout:
            raise ErrorReply(_OPTIN_AND_OPTOUT)
        if state is not None and ((optin and state.optout) or (optout and state.optin)):
            raise ErrorReply(_OPT_SWITCH)
        if bcast:
            _check_prefixes(client, prefixes)
        tracking(client.server).enable(client, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        if client.tracking is not None:
            tracking(client.server).disable(client)
    else:
        raise ErrorReply(msg.SYNTAX)
    return OK


@command("client|caching")
def client_caching(client: Client, argv: list[bytes]) -> Any:
    state = client.tracking
    if state is None:
        raise ErrorReply(_CACHING_NOT_TRACKING)
    option = argv[2].lower()
    if option == b"yes":
        if not state.optin:
            raise ErrorReply(_CACHING_YES)
    elif option == b"no":
        if not state.optout:
            raise ErrorReply(_CACHING_NO)
    else:
        raise ErrorReply(msg.SYNTAX)
    state.caching = True
    return OK


@command("client|getredir")
def client_getredir(client: Client, argv: list[bytes]) -> Any:
    state = client.tracking
    return state.redirect if state is not None else -1


@command("client|trackinginfo")
def client_trackinginfo(client: Client, argv: list[bytes]) -> Any:
    state = client.tracking
    if state is None:
        return {b"flags": RespSet([b"off"]), b"redirect": -1, b"prefixes": []}
    flags = [b"on"]
    if state.bcast:
        flags.append(b"bcast")
    if state.optin:
        flags.append(b"optin")
        if state.caching:
            flags.append(b"caching-yes")
    if state.optout:
        flags.append(b"optout")
        if state.caching:
            flags.append(b"caching-no")
    if state.noloop:
        flags.append(b"noloop")
    if state.broken_redirect:
        flags.append(b"broken_redirect")
    return {b"flags": RespSet(flags), b"redirect": state.redirect, b"prefixes": sorted(state.prefixes)}
