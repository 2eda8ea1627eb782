"""``pyvalkey-cli``: a command-line client that behaves like ``valkey-cli`` for everyday use.

    pyvalkey-cli [-h host] [-p port] [-s socket] [-a password] [--user name] [-n db] [-u url]
                 [-2|-3] [--raw|--no-raw] [-r repeat] [-i interval] [-e] [-x] [cmd [arg ...]]

It covers what scripts, container health checks and people at a prompt rely on: one command from
the arguments (optionally repeated), commands read line by line from standard input, an
interactive prompt (with readline line editing and history when available), and valkey-cli's
reply formats: the human one (``(integer) 1``, ``1) "a"``, ``1# "k" => "v"``) when standard
output is a terminal and the raw one otherwise, selectable with ``--raw`` / ``--no-raw``. Exit
codes, the messages on standard error (connection failures, ``AUTH failed: ...``, the password
warning) and pub/sub, MONITOR and SHUTDOWN handling follow valkey-cli. Cluster, TLS, CSV/JSON
output and the special modes (--stat, --bigkeys, --pipe, ...) are not implemented and say so.

The module has no dependency beyond the standard library, so the health check of a container
image costs one short-lived Python process.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import BinaryIO, NoReturn

VALKEY_CLI_VERSION = "9.1.2"

# Options valkey-cli has that this client does not implement: named in the error message.
_UNSUPPORTED = {
    "--csv", "--json", "--quoted-json", "--stat", "--latency", "--latency-history", "--latency-dist",
    "--lru-test", "--replica", "--slave", "--rdb", "--functions-rdb", "--pipe", "--pipe-timeout",
    "--bigkeys", "--memkeys", "--memkeys-samples", "--hotkeys", "--scan", "--intrinsic-latency",
    "--eval", "--ldb", "--ldb-sync-mode", "--cluster", "--tls", "--sni", "--cacert", "--cacertdir",
    "--cert", "--key", "--insecure", "--tls-ciphers", "--tls-ciphersuites",
}

_USAGE = f"""pyvalkey-cli (valkey-cli {VALKEY_CLI_VERSION} compatible)

Usage: pyvalkey-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Unix socket path (instead of hostname and port).
  -t <timeout>       Connection timeout in seconds (fractions allowed; 0: none).
  -a <password>      Password (REDISCLI_AUTH in the environment does the same
                     without showing up in the process list). --pass is an alias.
  --user <username>  ACL user name for AUTH (needs a password).
  --askpass          Ask for the password on the terminal.
  -u <uri>           valkey://[user:password@]host[:port][/db] (redis:// too).
  -n <db>            Database number.
  -2 / -3            Talk RESP2 (the default) or RESP3 (sends HELLO 3).
  -r <repeat>        Run the command this many times (negative: forever).
  -i <interval>      Seconds to wait between repeated commands (e.g. 0.1).
  -x                 Take the last argument from standard input.
  -X <tag>           Replace the argument <tag> with standard input.
  -d <delimiter>     Between elements of one reply in raw output (default: \\n).
  -D <delimiter>     After each reply in raw output (default: \\n).
  -e                 Exit with status 1 when the command gets an error reply.
  --raw              Raw reply format (the default when standard output is not a terminal).
  --no-raw           Human reply format even when standard output is not a terminal.
  --show-pushes <yn> Print RESP3 push messages (default: only on a terminal).
  --no-auth-warning  Do not warn about a password given on the command line.
  --version, -v      Print the version and exit.
  --help             This help.

Without a command, commands are read from standard input, one per line, or typed at an
interactive prompt when standard input is a terminal ('quit' or Ctrl-D leaves).
"""


class Reply:
    """One decoded reply, keeping its RESP type (which decides how it is printed)."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: object) -> None:
        self.kind = kind  # status error string verb integer double bool nil array map set push
        self.value = value

    @property
    def elements(self) -> list[Reply]:
        return self.value  # type: ignore[return-value]


class ConnectionLost(Exception):
    """The link failed; the message is hiredis's wording (``Server closed the connection``)."""


class ProtocolFailure(Exception):
    """A reply valkey-cli's parser rejects; the message is what valkey-cli prints."""


class BadReplyType(Exception):
    """A RESP3 type valkey-cli cannot print (big numbers): it reports the type code and exits."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# -- the connection -------------------------------------------------------------------------------


class Link:
    """A blocking RESP connection with a small buffered reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0
        self.resp3 = False

    @classmethod
    def open(cls, host: str, port: int, unixsocket: str | None, timeout: float | None) -> Link:
        if unixsocket is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(unixsocket)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((host, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        return cls(sock)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, argv: list[bytes]) -> None:
        parts = [b"*%d\r\n" % len(argv)]
        for arg in argv:
            parts.append(b"$%d\r\n" % len(arg))
            parts.append(arg)
            parts.append(b"\r\n")
        try:
            self.sock.sendall(b"".join(parts))
        except OSError as exc:
            raise ConnectionLost(exc.strerror or str(exc)) from None

    def call(self, *argv: bytes) -> Reply:
        self.send(list(argv))
        while True:
            reply = self.read()
            if reply.kind != "push":
                return reply

    def pending(self) -> bool:
        return self.pos < len(self.buf)

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except OSError as exc:
            raise ConnectionLost(exc.strerror or str(exc)) from None
        if not chunk:
            raise ConnectionLost("Server closed the connection")
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n + 2
        return data

    def read(self) -> Reply:
        line = self._line()
        if not line:
            raise ProtocolFailure('Protocol error, got "\\r" as reply type byte')
        mark = line[:1]
        rest = line[1:]
        if mark == b"+":
            return Reply("status", rest)
        if mark == b"-":
            return Reply("error", rest)
        if mark == b":":
            return Reply("integer", int(rest))
        if mark == b"$" or mark == b"=":
            size = int(rest)
            if size < 0:
                return Reply("nil", None)
            data = self._exact(size)
            if mark == b"=":
                return Reply("verb", data[4:])  # drop the "txt:" format tag, as hiredis does
            return Reply("string", data)
        if mark in (b"*", b"~", b">", b"%"):
            count = int(rest)
            if count < 0:
                return Reply("nil", None)
            if mark == b"%":
                count *= 2
            items = [self.read() for _ in range(count)]
            kind = {b"*": "array", b"~": "set", b">": "push", b"%": "map"}[mark]
            return Reply(kind, items)
        if mark == b"_":
            return Reply("nil", None)
        if mark == b",":
            return Reply("double", rest)
        if mark == b"#":
            return Reply("bool", 1 if rest == b"t" else 0)
        if mark == b"(":
            raise BadReplyType(13)
        if mark == b"!":
            return Reply("error", self._exact(int(rest)))
        shown = mark.decode("latin-1")
        raise ProtocolFailure(f'Protocol error, got "{shown}" as reply type byte')


# -- reply formatting -----------------------------------------------------------------------------


def quote(data: bytes) -> bytes:
    """valkey-cli's quoted form of a bulk string: C escapes, ``\\xHH`` outside printable ASCII."""
    out = bytearray(b'"')
    for byte in data:
        if byte == 0x5C or byte == 0x22:
            out += b"\\" + bytes((byte,))
        elif byte == 0x0A:
            out += b"\\n"
        elif byte == 0x0D:
            out += b"\\r"
        elif byte == 0x09:
            out += b"\\t"
        elif byte == 0x07:
            out += b"\\a"
        elif byte == 0x08:
            out += b"\\b"
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    out += b'"'
    return bytes(out)


_EMPTY = {"array": b"(empty array)\n", "map": b"(empty hash)\n", "set": b"(empty set)\n",
          "push": b"(empty push)\n"}
_AGGREGATES = ("array", "map", "set", "push")


def _multiline(reply: Reply) -> bool:
    """Whether a map value prints on several lines (then it starts on a line of its own)."""
    kind = reply.kind
    if kind in ("array", "set", "push"):
        items = reply.elements
        if not items:
            return False
        return len(items) > 1 or _multiline(items[0])
    if kind == "map":
        items = reply.elements
        if not items:
            return False
        return len(items) > 2 or _multiline(items[1])
    return False


def format_human(reply: Reply, prefix: bytes = b"") -> bytes:
    """The format valkey-cli prints on a terminal."""
    kind = reply.kind
    if kind == "status":
        return reply.value + b"\n"  # type: ignore[operator]
    if kind == "string":
        return quote(reply.value) + b"\n"  # type: ignore[arg-type]
    if kind == "error":
        return b"(error) " + reply.value + b"\n"  # type: ignore[operator]
    if kind == "integer":
        return b"(integer) %d\n" % reply.value
    if kind == "nil":
        return b"(nil)\n"
    if kind == "double":
        return b"(double) " + reply.value + b"\n"  # type: ignore[operator]
    if kind == "bool":
        return b"(true)\n" if reply.value else b"(false)\n"
    if kind == "verb":
        return reply.value + b"\n"  # type: ignore[operator]
    items = reply.elements
    if not items:
        return _EMPTY[kind]
    is_map = kind == "map"
    count = len(items) // 2 if is_map else len(items)
    width = len(str(count))
    inner = prefix + b" " * (width + 2)
    sep = b"~" if kind == "set" else b"#" if is_map else b")"
    out = bytearray()
    step = 2 if is_map else 1
    for n, i in enumerate(range(0, len(items), step), 1):
        out += prefix if i else b""
        out += str(n).rjust(width).encode() + sep + b" "
        out += format_human(items[i], inner)
        if is_map:
            del out[-1:]  # the key's newline: the value follows on the same line
            out += b" => "
            value = items[i + 1]
            if _multiline(value):
                out += b"\n" + inner
            out += format_human(value, inner)
    return bytes(out)


def format_raw(reply: Reply, delim: bytes = b"\n") -> bytes:
    """The format valkey-cli prints when its output is not a terminal (or with --raw)."""
    kind = reply.kind
    if kind in ("status", "string", "verb", "double"):
        return reply.value  # type: ignore[return-value]
    if kind == "nil":
        return b""
    if kind == "error":
        return reply.value + b"\n"  # type: ignore[operator]
    if kind == "integer":
        return b"%d" % reply.value
    if kind == "bool":
        return b"(true)" if reply.value else b"(false)"
    items = reply.elements
    if kind == "map":
        pairs = [format_raw(items[i], delim) + b" " + format_raw(items[i + 1], delim)
                 for i in range(0, len(items), 2)]
        return delim.join(pairs)
    return delim.join(format_raw(item, delim) for item in items)


# -- options --------------------------------------------------------------------------------------


class Options:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 6379
        self.unixsocket: str | None = None
        self.timeout: float | None = None
        self.password: str | None = None
        self.user: str | None = None
        self.askpass = False
        self.db = 0
        self.repeat = 1
        self.interval = 0.0
        self.resp2 = False
        self.resp3 = False
        self.stdin_last = False
        self.stdin_tag: str | None = None
        self.errcode = False
        self.no_auth_warning = False
        self.raw = not (os.isatty(1) or os.environ.get("FAKETTY") is not None)
        self.show_pushes = not self.raw
        self.mb_delim = b"\n"
        self.cmd_delim = b"\n"


def _fail(message: str) -> NoReturn:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    raise SystemExit(1)


def _atoi(text: str) -> int:
    """C's atoi: leading blanks, a sign, digits; anything else ends the number (0 if none)."""
    text = text.lstrip(" \t\n\r\v\f")
    end = 1 if text[:1] in ("-", "+") else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0


def _atof(text: str) -> float:
    text = text.strip()
    for end in range(len(text), 0, -1):
        try:
            return float(text[:end])
        except ValueError:
            continue
    return 0.0


def _percent_decode(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def parse_uri(uri: str, opts: Options) -> None:
    """valkey:// (or redis://) user:password@host:port/db, each part optional."""
    lower = uri.lower()
    if lower.startswith(("valkeys://", "rediss://")):
        scheme = uri.split("://", 1)[0]
        _fail(f"{scheme}:// is only supported when pyvalkey-cli is compiled with OpenSSL")
    if not lower.startswith(("valkey://", "redis://")):
        _fail("Invalid URI scheme")
    rest = uri.split("://", 1)[1]
    if not rest:
        return
    at = rest.find("@")
    if at >= 0:
        colon = rest.find(":")
        start = 0
        if 0 <= colon < at:
            opts.user = _percent_decode(rest[:colon])
            start = colon + 1
        opts.password = _percent_decode(rest[start:at])
        rest = rest[at + 1 :]
    if not rest:
        return
    slash = rest.find("/")
    hostport = rest if slash < 0 else rest[:slash]
    if not rest.startswith("/"):
        if hostport.startswith("["):
            close = hostport.find("]")
            if close >= 0:
                if hostport[close + 1 : close + 2] == ":":
                    opts.port = _atoi(hostport[close + 2 :])
                hostport = hostport[1:close]
            else:
                hostport = hostport[1:]
        elif ":" in hostport:
            host, _, port = hostport.partition(":")
            opts.port = _atoi(port)
            hostport = host
        opts.host = hostport
    if slash < 0:
        return
    dbpart = rest[slash + 1 :]
    if dbpart:
        opts.db = _atoi(dbpart)


def parse_options(argv: list[str]) -> tuple[Options, list[str]]:
    opts = Options()
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        has_value = i + 1 < n
        value = argv[i + 1] if has_value else ""
        if arg == "-h" and has_value:
            opts.host = value
            i += 1
        elif arg == "--help" or arg == "-h":
            sys.stdout.write(_USAGE)
            raise SystemExit(0)
        elif arg in ("-v", "--version"):
            sys.stdout.write(f"valkey-cli {VALKEY_CLI_VERSION} (pyvalkey-cli)\n")
            raise SystemExit(0)
        elif arg == "-p" and has_value:
            opts.port = _atoi(value)
            if not 0 <= opts.port <= 65535:
                _fail("Invalid server port.")
            i += 1
        elif arg == "-s" and has_value:
            opts.unixsocket = value
            i += 1
        elif arg == "-t" and has_value:
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if math.isnan(seconds) or seconds < 0:
                _fail("Invalid connection timeout for -t.")
            opts.timeout = seconds or None
            i += 1
        elif arg in ("-a", "--pass") and has_value:
            opts.password = value
            i += 1
        elif arg == "--user" and has_value:
            opts.user = value
            i += 1
        elif arg == "--askpass":
            opts.askpass = True
        elif arg == "-u" and has_value:
            parse_uri(value, opts)
            if not 0 <= opts.port <= 65535:
                _fail("Invalid server port.")
            i += 1
        elif arg == "-n" and has_value:
            opts.db = _atoi(value)
            i += 1
        elif arg == "-r" and has_value:
            opts.repeat = _atoi(value)
            i += 1
        elif arg == "-i" and has_value:
            opts.interval = _atof(value)
            i += 1
        elif arg == "-2":
            opts.resp2 = True
        elif arg == "-3":
            opts.resp3 = True
        elif arg == "-x":
            opts.stdin_last = True
        elif arg == "-X" and has_value:
            opts.stdin_tag = value
            i += 1
        elif arg == "-d" and has_value:
            opts.mb_delim = os.fsencode(value)
            i += 1
        elif arg == "-D" and has_value:
            opts.cmd_delim = os.fsencode(value)
            i += 1
        elif arg == "-e":
            opts.errcode = True
        elif arg == "--raw":
            opts.raw = True
        elif arg == "--no-raw":
            opts.raw = False
        elif arg == "--no-auth-warning":
            opts.no_auth_warning = True
        elif arg == "--show-pushes" and has_value:
            if value[:1].lower() == "n":
                opts.show_pushes = False
            elif value[:1].lower() == "y":
                opts.show_pushes = True
            else:
                sys.stderr.write(f"Unknown --show-pushes value '{value}' (valid: '[y]es', '[n]o')\n")
            i += 1
        elif arg in ("-c", "-4", "-6", "--verbose", "--quoted-input"):
            pass  # accepted for compatibility; nothing to do for a single standalone server
        elif arg in _UNSUPPORTED:
            _fail(f"pyvalkey-cli: {arg} is not supported (it is a valkey-cli mode pyvalkey-cli lacks)")
        elif arg.startswith("-"):
            _fail(f"Unrecognized option or bad number of args for: '{arg}'")
        else:
            break
        i += 1
    if opts.resp2 and opts.resp3:
        _fail("Options -2 and -3 are mutually exclusive.")
    if not opts.no_auth_warning and opts.password is not None:
        sys.stderr.write(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"
        )
    if opts.password is None:
        opts.password = os.environ.get("REDISCLI_AUTH")
    if opts.askpass:
        import getpass

        opts.password = getpass.getpass("Please input password: ")
    return opts, argv[i:]


# -- the session ----------------------------------------------------------------------------------

# Commands whose text replies are printed as they are, even in the human format.
_VERBATIM_SUBCOMMANDS = {
    ("debug", "htstats"), ("debug", "htstats-key"), ("debug", "client-eviction"),
    ("memory", "malloc-stats"), ("memory", "doctor"), ("client", "list"), ("client", "info"),
    ("proxy", "info"),
}


def _verbatim(argv: list[bytes]) -> bool:
    name = argv[0].lower()
    if name in (b"info", b"lolwut"):
        return True
    if len(argv) < 2:
        return False
    sub = argv[1].lower()
    if (name.decode("latin-1"), sub.decode("latin-1")) in _VERBATIM_SUBCOMMANDS:
        return True
    if name == b"cluster" and len(argv) == 2 and sub in (b"nodes", b"info"):
        return True
    if name == b"latency":
        return (len(argv) == 3 and sub == b"graph") or (len(argv) == 2 and sub == b"doctor")
    return False


def _is_pubsub_message(reply: Reply, resp3: bool) -> bool:
    if reply.kind != ("push" if resp3 else "array"):
        return False
    items = reply.elements
    if len(items) < 3 or items[0].kind != "string":
        return False
    head: bytes = items[0].value  # type: ignore[assignment]
    return head.endswith((b"message", b"subscribe"))


class Session:
    """valkey-cli's connection state: the link, the selected db, MULTI and pub/sub modes."""

    def __init__(self, opts: Options, out: BinaryIO, err: Callable[[str], object]) -> None:
        self.opts = opts
        self.out = out
        self.err = err
        self.link: Link | None = None
        self.dbnum = 0
        self.input_db = opts.db
        self.in_multi = False
        self.pre_multi_db = 0
        self.pubsub = False
        self.monitor = False
        self.shutdown = False
        self.interactive = False
        self.resp3 = False

    # connection ---------------------------------------------------------------

    def where(self) -> str:
        if self.opts.unixsocket is not None:
            return self.opts.unixsocket
        return f"{self.opts.host}:{self.opts.port}"

    def prompt(self) -> str:
        if self.opts.unixsocket is not None:
            text = f"valkey {self.opts.unixsocket}"
        elif ":" in self.opts.host:
            text = f"[{self.opts.host}]:{self.opts.port}"
        else:
            text = f"{self.opts.host}:{self.opts.port}"
        if self.dbnum:
            text += f"[{self.dbnum}]"
        if self.in_multi:
            text += "(TX)"
        if self.pubsub:
            text += "(subscribed mode)"
        return text + "> "

    def connect(self, quiet: bool = False) -> bool:
        if self.link is not None:
            self.link.close()
            self.link = None
            self.dbnum = 0
            self.in_multi = False
            self.pubsub = False
        try:
            self.link = Link.open(self.opts.host, self.opts.port, self.opts.unixsocket, self.opts.timeout)
        except OSError as exc:
            if not quiet:
                reason = exc.strerror or str(exc)
                if isinstance(exc, socket.timeout):
                    reason = "Connection timed out"
                self.err(f"Could not connect to Valkey at {self.where()}: {reason}\n")
            return False
        try:
            return self._handshake()
        except ConnectionLost:
            self.err("\nI/O error\n")
            self._drop()
            return False

    def _handshake(self) -> bool:
        assert self.link is not None
        self.resp3 = False
        # As valkey-cli: a failed AUTH keeps the connection but skips SELECT and HELLO.
        if self.opts.password is not None:
            if self.opts.user is None:
                reply = self.link.call(b"AUTH", os.fsencode(self.opts.password))
            else:
                reply = self.link.call(b"AUTH", os.fsencode(self.opts.user), os.fsencode(self.opts.password))
            if reply.kind == "error":
                self.err(f"AUTH failed: {reply.value.decode('utf-8', 'replace')}\n")  # type: ignore[union-attr]
                return False
        if not self.select():
            return False
        if self.opts.resp3 and not self.opts.resp2:
            reply = self.link.call(b"HELLO", b"3")
            if reply.kind == "error":
                self.err(f"HELLO 3 failed: {reply.value.decode('utf-8', 'replace')}\n")  # type: ignore[union-attr]
                return False
            self.resp3 = True
        return True

    def select(self) -> bool:
        if self.input_db == self.dbnum or self.link is None:
            return True
        reply = self.link.call(b"SELECT", str(self.input_db).encode())
        if reply.kind == "error":
            self.err(f"SELECT {self.input_db} failed: {reply.value.decode('utf-8', 'replace')}\n")  # type: ignore[union-attr]
            return False
        self.dbnum = self.input_db
        return True

    # output -------------------------------------------------------------------

    def render(self, reply: Reply, verbatim: bool) -> bytes:
        if verbatim:
            return format_raw(reply, self.opts.mb_delim)
        if self.opts.raw:
            return format_raw(reply, self.opts.mb_delim) + self.opts.cmd_delim
        return format_human(reply)

    def emit(self, data: bytes) -> None:
        self.out.write(data)
        self.out.flush()

    def read_reply(self, verbatim: bool, deliver_pushes: bool) -> Reply:
        """Read one reply and print it; pushes are printed (or dropped) unless ``deliver_pushes``."""
        assert self.link is not None
        while True:
            reply = self.link.read()
            if reply.kind == "push" and not deliver_pushes:
                if self.opts.show_pushes:
                    self.emit(self.render(reply, False))
                continue
            break
        if reply.kind == "error" and self.opts.errcode and not self.interactive:
            self.err(reply.value.decode("utf-8", "surrogateescape") + "\n")  # type: ignore[union-attr]
            raise SystemExit(1)
        self.emit(self.render(reply, verbatim))
        return reply

    # commands -----------------------------------------------------------------

    def issue(self, argv: list[bytes], repeat: int) -> bool:
        """Send one command (``repeat`` times); False when the connection is not usable."""
        if self.link is None and not self.connect():
            return False
        try:
            return self._send(argv, repeat)
        except ConnectionLost as exc:
            if self.shutdown:
                self._drop()
                return True
            if not self.interactive:
                self.err(f"Error: {exc}\n")
                raise SystemExit(1) from None
            self._drop()
            return False

    def _drop(self) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None

    def _send(self, argv: list[bytes], repeat: int) -> bool:
        assert self.link is not None
        name = argv[0].lower()
        verbatim = _verbatim(argv)
        if name == b"shutdown":
            self.shutdown = True
        if name == b"monitor":
            self.monitor = True
        subscribing = name in (b"subscribe", b"psubscribe", b"ssubscribe")
        unsubscribing = name in (b"unsubscribe", b"punsubscribe", b"sunsubscribe")
        while repeat < 0 or repeat > 0:
            repeat -= 1
            self.link.send(argv)
            if self.monitor:
                while self.monitor:
                    reply = self.read_reply(verbatim, False)
                    if reply.kind == "error":
                        self.monitor = False
                return True
            expected = (len(argv) - 1 or 1) if (subscribing or unsubscribing) else 0
            while True:
                reply = self.read_reply(verbatim, expected > 0 or self.pubsub)
                if self.pubsub or expected > 0:
                    if _is_pubsub_message(reply, self.resp3):
                        head: bytes = reply.elements[0].value  # type: ignore[assignment]
                        if expected > 0 and head.lower() == name:
                            if subscribing:
                                self.pubsub = True
                            expected -= 1
                            if expected > 0:
                                continue
                        else:
                            continue
                    elif reply.kind == "push":
                        continue
                self._track(argv, name, reply)
                break
            if self.opts.interval:
                time.sleep(self.opts.interval)
        return True

    def _track(self, argv: list[bytes], name: bytes, reply: Reply) -> None:
        """Follow SELECT, MULTI, EXEC, DISCARD, RESET and HELLO like valkey-cli (for the prompt)."""
        ok = reply.kind != "error"
        if name == b"select" and len(argv) == 2 and ok:
            self.input_db = self.dbnum = _atoi(argv[1].decode("latin-1"))
        elif name == b"auth" and len(argv) in (2, 3):
            self.select()
        elif name == b"multi" and len(argv) == 1 and ok:
            self.in_multi = True
            self.pre_multi_db = self.dbnum
        elif name == b"exec" and len(argv) == 1 and self.in_multi:
            self.in_multi = False
            if reply.kind in ("error", "nil"):
                self.input_db = self.dbnum = self.pre_multi_db
        elif name == b"discard" and len(argv) == 1 and ok:
            self.in_multi = False
            self.input_db = self.dbnum = self.pre_multi_db
        elif name == b"reset" and len(argv) == 1 and ok:
            self.in_multi = False
            self.input_db = self.dbnum = 0
            self.resp3 = False
            self.pubsub = False
        elif name == b"hello":
            if reply.kind == "map":
                self.resp3 = True
            elif reply.kind == "array":
                self.resp3 = False

    def follow_messages(self) -> None:
        """After SUBSCRIBE outside the prompt: print messages until the connection ends."""
        while self.pubsub and self.link is not None:
            try:
                self.read_reply(False, True)
            except ConnectionLost as exc:
                self.err(f"Error: {exc}\n")
                raise SystemExit(1) from None


# -- entry points ---------------------------------------------------------------------------------


def split_line(line: bytes) -> list[bytes] | None:
    """A typed line split like valkey-cli (quotes and escapes); None for unbalanced quotes."""
    from pyvalkey.config import split_args

    words = split_args(line.decode("latin-1"))
    if words is None:
        return None
    return [word.encode("latin-1") for word in words]


def _run_line(session: Session, line: bytes) -> None:
    argv = split_line(line)
    if argv is None:
        session.emit(b"Invalid argument(s)\n")
        return
    if not argv:
        return
    repeat = 1
    head = argv[0].decode("latin-1")
    if len(argv) > 1 and head.lstrip(" \t\n\r\v\f").lstrip("+-").isdigit():
        repeat = _atoi(head)
        if repeat <= 0:
            session.emit(b"Invalid valkey-cli repeat command option value.\n")
            return
        argv = argv[1:]
    word = argv[0].lower()
    if word in (b"quit", b"exit"):
        raise SystemExit(0)
    if word in (b"help", b"?"):
        session.emit(
            b"pyvalkey-cli: type a command and its arguments (e.g. SET k v); "
            b"'quit' or Ctrl-D leaves.\n"
        )
        return
    if word == b"connect" and len(argv) == 3:
        session.opts.host = argv[1].decode("utf-8", "surrogateescape")
        session.opts.port = _atoi(argv[2].decode("latin-1"))
        session.connect()
        return
    if word == b"clear" and len(argv) == 1:
        session.emit(b"\x1b[H\x1b[2J")
        return
    started = time.monotonic()
    session.issue(argv, repeat)
    elapsed = time.monotonic() - started
    if elapsed >= 0.5 and not session.opts.raw:
        session.emit(b"(%.2fs)\n" % elapsed)
    if session.pubsub:
        session.follow_messages()


def _lines_from_terminal(session: Session) -> object:
    try:
        import readline
    except ImportError:  # pragma: no cover  (readline is missing on some platforms)
        readline = None  # type: ignore[assignment]
    history = os.environ.get("REDISCLI_HISTFILE") or os.path.join(os.path.expanduser("~"), ".valkeycli_history")
    if readline is not None and history != "/dev/null":
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    while True:
        prompt = session.prompt() if session.link is not None else "not connected> "
        try:
            text = input(prompt)
        except EOFError:
            return
        except KeyboardInterrupt:
            sys.stdout.write("\n")
            continue
        if readline is not None and history != "/dev/null" and text.strip():
            first = text.split(None, 1)[0].lower() if text.split() else ""
            if first != "auth":  # keep passwords out of the history file
                try:
                    readline.write_history_file(history)
                except OSError:
                    pass
        yield os.fsencode(text)


def repl(session: Session, stdin: BinaryIO) -> NoReturn:
    session.interactive = True
    try:
        terminal = os.isatty(stdin.fileno())
    except (OSError, ValueError, AttributeError):  # an in-memory stream (tests)
        terminal = False
    if terminal:
        lines = _lines_from_terminal(session)
    else:
        lines = (raw.rstrip(b"\n") for raw in stdin)
    for line in lines:  # type: ignore[attr-defined]
        if line:
            _run_line(session, line)
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = run(args, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        code = 1
    except KeyboardInterrupt:
        code = 130
    except ProtocolFailure as exc:
        sys.stdout.flush()
        sys.stderr.write(f"Error: {exc}\n")
        code = 1
    except BadReplyType as exc:
        sys.stderr.write(f"Unknown reply type: {exc.code}\n")
        code = 1
    raise SystemExit(code)


def run(args: list[str], stdin: BinaryIO, stdout: BinaryIO) -> int:
    opts, command = parse_options(args)
    session = Session(opts, stdout, sys.stderr.write)
    if not command:
        session.connect()
        repl(session, stdin)
    session.connect(quiet=True)
    argv = [os.fsencode(word) for word in command]
    if opts.stdin_last:
        argv.append(stdin.read())
    elif opts.stdin_tag is not None:
        tag = os.fsencode(opts.stdin_tag)
        if tag not in argv:
            sys.stderr.write("Using -X option but stdin tag not match.\n")
            return 1
        argv[argv.index(tag)] = stdin.read()
    ok = session.issue(argv, opts.repeat)
    if session.pubsub:
        session.follow_messages()
    return 0 if ok else 1


if __name__ == "__main__":
    main()
