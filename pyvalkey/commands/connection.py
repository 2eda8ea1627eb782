"""Connection commands: PING, ECHO, SELECT, QUIT, HELLO, AUTH, RESET (CLIENT lives in client.py).

Authentication goes through the ACL users (pyvalkey/acl.py): ``requirepass`` is the default
user's password there, as in Valkey. RESET undoes per-connection state; groups that keep
their own per-client state (MULTI/WATCH, pub/sub, tracking) append a ``hook(client)`` to
``RESET_HOOKS`` so RESET clears it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyvalkey.client import REPLY_ON, Client
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command, load_hook_modules
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK, PONG, SimpleString

_PONG_PUSH_EMPTY = b""
_RESET = SimpleString(b"RESET")

# Valkey loads its Lua engine as a module and lists it in HELLO.
# Valkey 9 runs Lua scripting as a module: HELLO and MODULE LIST report it.
LOADED_MODULES = [{b"name": b"lua", b"ver": 1, b"path": b"lua", b"args": []}]

RESET_HOOKS: list[Callable[[Client], None]] = []

_NOPROTO = b"NOPROTO unsupported protocol version"
_PROTO_NOT_INT = b"ERR Protocol version is not an integer or out of range"
_HELLO_NOAUTH = (
    b"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    b"<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
    b"RESP protocol version at the same time"
)
_AUTH_NO_PASSWORD = (
    b"ERR AUTH <password> called without any password configured for the default user. "
    b"Are you sure your configuration is correct?"
)
_BAD_NAME = b"ERR Client names cannot contain spaces, newlines or special characters."


def valid_attr(value: bytes) -> bool:
    """Names shown in CLIENT LIST must stay splittable on spaces: printable ASCII only."""
    for byte in value:
        if byte < 33 or byte > 126:
            return False
    return True


def _requirepass(client: Client) -> bytes:
    password = client.server.config.requirepass
    if isinstance(password, str):
        return password.encode()
    return password or b""


def authenticate(client: Client, username: bytes, password: bytes, argv: list[bytes] | None = None) -> bool:
    """Check credentials; on success the client becomes authenticated as ``username``. A failure
    is counted and logged in the ACL log (``argv``: the command that tried)."""
    from pyvalkey.acl import DENIED_AUTH, acl_of

    acl = acl_of(client.server)
    ok = acl.authenticate(username, password)
    if ok:
        client.user = username
        client.set_authenticated(True)
    else:
        context = b"multi" if client.multi is not None else b"toplevel"
        acl.record(client, DENIED_AUTH, context, None, argv or [b"auth"], 0, username)
    return ok


@command("ping")
def ping(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise ErrorReply(msg.WRONG_ARITY % b"ping")
    if "subscriber" in client.flags and not client.resp3:
        return [b"pong", argv[1] if len(argv) == 2 else _PONG_PUSH_EMPTY]
    if len(argv) == 2:
        return argv[1]
    return PONG


@command("echo")
def echo(client: Client, argv: list[bytes]) -> Any:
    return argv[1]


@command("select")
def select(client: Client, argv: list[bytes]) -> Any:
    index = parse_int(argv[1])
    if index is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if not 0 <= index < len(client.server.keyspace.dbs):
        raise ErrorReply(msg.DB_INDEX)
    client.select(index)
    return OK


@command("quit")
def quit_(client: Client, argv: list[bytes]) -> Any:
    client.close_after_reply = True
    return OK


@command("auth")
def auth(client: Client, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise ErrorReply(msg.SYNTAX)
    if len(argv) == 2:
        from pyvalkey.acl import acl_of

        if acl_of(client.server).users[b"default"].nopass:
            raise ErrorReply(_AUTH_NO_PASSWORD)
        username, password = b"default", argv[1]
    else:
        username, password = argv[1], argv[2]
    if not authenticate(client, username, password, argv):
        raise ErrorReply(msg.WRONGPASS)
    return OK


def _role(client: Client) -> bytes:
    replication = getattr(client.server, "replication", None)
    if replication is not None and getattr(replication, "primary_host", None):
        return b"replica"
    return b"master"


def _mode(client: Client) -> bytes:
    config = client.server.config
    if getattr(config, "cluster_enabled", False):
        return b"cluster"
    return b"standalone"


@command("hello")
def hello(client: Client, argv: list[bytes]) -> Any:
    version = 0
    pos = 1
    if len(argv) >= 2:
        parsed = parse_int(argv[1])
        if parsed is None:
            raise ErrorReply(_PROTO_NOT_INT)
        if parsed < 2 or parsed > 3:
            raise ErrorReply(_NOPROTO)
        version = parsed
        pos = 2
    credentials = None
    name = None
    while pos < len(argv):
        option = argv[pos]
        more = len(argv) - 1 - pos
        upper = option.upper()
        if upper == b"AUTH" and more >= 2:
            credentials = (argv[pos + 1], argv[pos + 2])
            pos += 3
        elif upper == b"SETNAME" and more:
            name = argv[pos + 1]
            if not valid_attr(name):
                raise ErrorReply(_BAD_NAME)
            pos += 2
        else:
            raise ErrorReply(b"ERR Syntax error in HELLO option '%s'" % option)
    if credentials is not None and not authenticate(client, *credentials, argv):
        raise ErrorReply(msg.WRONGPASS)
    if not client.authenticated:
        raise ErrorReply(_HELLO_NOAUTH)
    if name is not None:
        client.name = name
    if version:
        client.resp3 = version == 3
    from pyvalkey.server import VALKEY_VERSION

    return {
        b"server": b"valkey",
        b"version": VALKEY_VERSION.encode(),
        b"proto": 3 if client.resp3 else 2,
        b"id": client.id,
        b"mode": _mode(client),
        b"role": _role(client),
        b"modules": LOADED_MODULES,
    }


def reset_client(client: Client) -> None:
    """Bring a connection back to the state of a freshly connected one (RESET)."""
    load_hook_modules("reset")  # groups with per-client state (MONITOR, SUBSCRIBE, WATCH)
    for hook in RESET_HOOKS:
        hook(client)
    multi = client.multi
    if multi is not None:
        discard = getattr(multi, "discard", None)
        if discard is not None:
            discard()
        client.multi = None
    client.select(0)
    client.resp3 = False
    client.user = b"default"
    acl = getattr(client.server, "acl", None)
    client.set_authenticated(acl.default_open() if acl is not None else not _requirepass(client))
    client.name = b""
    # lib-name / lib-ver describe the library behind the connection and survive RESET.
    client.reply_mode = REPLY_ON
    client.skip_this_reply = False
    client.no_touch = False
    client.no_evict = False
    client.flags -= {"readonly", "asking", "subscriber"}


@command("reset")
def reset(client: Client, argv: list[bytes]) -> Any:
    flags = client.flags
    if "master" in flags or ("replica" in flags and "monitor" not in flags):  # MONITOR may RESET
        raise ErrorReply(b"ERR can only reset normal client connections")
    reset_client(client)
    return _RESET
