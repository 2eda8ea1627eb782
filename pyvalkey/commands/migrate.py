"""MIGRATE: move (or copy) keys to another server, as Valkey's (cluster.c) does.

The command is synchronous, as in Valkey: the server connects to the target (the connection is
cached per host and port and closed after 10 idle seconds), sends AUTH/SELECT when needed and one
RESTORE per key with the DUMP payload and the remaining TTL, and reads one reply line each. Keys
the target accepted are deleted here (unless COPY) and the command propagates as a DEL of them.
A socket error on the first reply of a cached connection is retried once on a new connection.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

from pyvalkey.client import Client
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import command
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.protocol.replies import OK, SimpleString
from pyvalkey.storage.database import NOTIFY_GENERIC

if TYPE_CHECKING:
    from pyvalkey.server import Server

_CACHE_TTL = 10.0  # seconds a cached connection may stay idle
_CACHE_ITEMS = 64


class _Cached:
    __slots__ = ("last_dbid", "last_use", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.last_dbid = -1
        self.last_use = time.monotonic()


class _SocketError(Exception):
    def __init__(self, writing: bool, timed_out: bool) -> None:
        super().__init__()
        self.writing = writing
        self.timed_out = timed_out


def _cache(server: Server) -> dict[tuple[bytes, bytes], _Cached]:
    cache: dict[tuple[bytes, bytes], _Cached] | None = getattr(server, "migrate_sockets", None)
    if cache is None:
        cache = {}
        server.migrate_sockets = cache  # type: ignore[attr-defined]
        server.cron_jobs.append(lambda: _close_idle(cache))
    return cache


def _close_idle(cache: dict[tuple[bytes, bytes], _Cached]) -> None:
    now = time.monotonic()
    for key, cached in list(cache.items()):
        if now - cached.last_use > _CACHE_TTL:
            cached.sock.close()
            del cache[key]


def _atoi(data: bytes) -> int:
    digits = b""
    for i, byte in enumerate(data):
        if 48 <= byte <= 57 or (i == 0 and byte in b"+-"):
            digits += bytes((byte,))
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def _get_socket(server: Server, host: bytes, port: bytes, timeout_ms: int) -> _Cached:
    cache = _cache(server)
    cached = cache.get((host, port))
    if cached is not None:
        cached.last_use = time.monotonic()
        return cached
    if len(cache) >= _CACHE_ITEMS:
        key = next(iter(cache))  # make room: drop one connection
        cache.pop(key).sock.close()
    connect_error = ErrorReply(b"IOERR error or timeout connecting to the client")
    try:
        infos = socket.getaddrinfo(host.decode("utf-8", "surrogateescape"), _atoi(port) & 0xFFFF,
                                   type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise connect_error from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout_ms / 1000)
    try:
        sock.connect(address)
    except TimeoutError:
        sock.close()
        raise connect_error from None
    except OSError:
        # Valkey's connect only waits for the socket to become writable: a refused connection
        # shows up when the commands are written.
        pass
    else:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cached = cache[(host, port)] = _Cached(sock)
    return cached


def _close_socket(server: Server, host: bytes, port: bytes) -> None:
    cached = _cache(server).pop((host, port), None)
    if cached is not None:
        cached.sock.close()


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(_bulk(arg) for arg in args)


class _LineReader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                raise _SocketError(False, True) from None
            except OSError:
                raise _SocketError(False, False) from None
            if not chunk:
                raise _SocketError(False, False)
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")


@command("migrate")
def migrate(client: Client, argv: list[bytes]) -> Any:
    copy = replace = False
    username: bytes | None = None
    password: bytes | None = None
    first_key, num_keys = 3, 1
    i = 6
    n = len(argv)
    while i < n:
        option = argv[i].lower()
        more = n - 1 - i
        if option == b"copy":
            copy = True
        elif option == b"replace":
            replace = True
        elif option == b"auth":
            if not more:
                raise ErrorReply(msg.SYNTAX)
            i += 1
            password = argv[i]
        elif option == b"auth2":
            if more < 2:
                raise ErrorReply(msg.SYNTAX)
            username, password = argv[i + 1], argv[i + 2]
            i += 2
        elif option == b"keys":
            if argv[3]:
                raise ErrorReply(
                    b"ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
                )
            first_key, num_keys = i + 1, n - i - 1
            break
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout is None or dbid is None:
        raise ErrorReply(msg.NOT_INTEGER)
    if timeout <= 0:
        timeout = 1000

    db = client.db
    found = [(key, value) for key in argv[first_key : first_key + num_keys] if (value := db.lookup_read(key)) is not None]
    if not found:
        return SimpleString(b"NOKEY")

    from pyvalkey.persistence import rdb

    server = client.server
    host, port = argv[1], argv[2]
    may_retry = True
    while True:
        cached = _get_socket(server, host, port, timeout)
        out = []
        if password is not None:
            out.append(_command(b"AUTH", username, password) if username is not None else _command(b"AUTH", password))
        select = cached.last_dbid != dbid
        if select:
            out.append(_command(b"SELECT", b"%d" % dbid))
        now = server.keyspace.now_ms
        sent: list[bytes] = []
        for key, value in found:
            deadline = db.get_expire(key)
            ttl = 0
            if deadline != -1:
                ttl = deadline - now
                if ttl < 0:
                    continue
                ttl = max(ttl, 1)
            payload = rdb.create_dump_payload(value, bool(server.config.rdbcompression))
            args = [b"RESTORE", key, b"%d" % ttl, payload]
            if replace:
                args.append(b"REPLACE")
            out.append(_command(*args))
            sent.append(key)
        reader = _LineReader(cached.sock)
        replied = 0
        try:
            try:
                cached.sock.settimeout(timeout / 1000)
                cached.sock.sendall(b"".join(out))
            except TimeoutError:
                raise _SocketError(True, True) from None
            except OSError:
                raise _SocketError(True, False) from None
            auth_reply = reader.line() if password is not None else b""
            select_reply = reader.line() if select else b""
            error: bytes | None = None
            deleted: list[bytes] = []
            try:
                for key in sent:
                    restore_reply = reader.line()
                    replied += 1
                    if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or restore_reply[:1] == b"-":
                        if error is None:
                            cached.last_dbid = -1
                            if auth_reply[:1] == b"-":
                                error = auth_reply
                            elif select_reply[:1] == b"-":
                                error = select_reply
                            else:
                                error = restore_reply
                    elif not copy:
                        db.delete(key)
                        db.notify(NOTIFY_GENERIC, b"del", key)
                        server.keyspace.dirty += 1
                        deleted.append(key)
            finally:
                if not copy and deleted:
                    server.propagator.rewrite([b"DEL", *deleted])
        except _SocketError as exc:
            _close_socket(server, host, port)
            # Retried only when nothing was acknowledged yet and it was not a timeout.
            if may_retry and replied == 0 and not exc.timed_out:
                may_retry = False
                continue
            what = b"writing" if exc.writing else b"reading"
            raise ErrorReply(b"IOERR error or timeout %s to target instance" % what) from None
        if error is not None:
            raise ErrorReply(b"ERR Target instance replied with error: " + error[1:])
        cached.last_dbid = dbid
        return OK
