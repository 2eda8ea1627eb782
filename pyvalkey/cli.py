"""``pyvalkey-server``: valkey-server's command line and config-file loader.

    pyvalkey-server [/path/to/valkey.conf] [--directive value ...] [-]

As in Valkey, the command-line options are turned into config lines appended after the file (and
after standard input when ``-`` is given), and the whole text is read top to bottom: the last
occurrence of a directive wins (``save`` lines accumulate), line numbers in errors count through
the file and then the options. A bad line prints Valkey's fatal block on stderr and exits 1.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from pyvalkey import __version__
from pyvalkey.config import DIRECTIVES, Config, ConfigError, split_args

VALKEY_VERSION = "9.1.2"
BUILD_ID = "7079766b65790000"  # fixed: the same on every run, like a real build id

USAGE = """Usage: ./valkey-server [/path/to/valkey.conf] [options] [-]
       ./valkey-server - (read config from stdin)
       ./valkey-server -v or --version
       ./valkey-server -h or --help
       ./valkey-server --test-memory <megabytes>
       ./valkey-server --check-system

Examples:
       ./valkey-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./valkey-server -
       ./valkey-server /etc/valkey/6379.conf
       ./valkey-server --port 7777
       ./valkey-server --port 7777 --replicaof 127.0.0.1 8888
       ./valkey-server /etc/myvalkey.conf --loglevel verbose -
       ./valkey-server /etc/myvalkey.conf --loglevel verbose

Sentinel mode:
       ./valkey-server /etc/sentinel.conf --sentinel
"""

# Directives Valkey still accepts in a file (with one value) and ignores.
_DEPRECATED = {"list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands", "io-threads-do-reads"}

_LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
_LEVEL_MARK = ".-*#"


class FatalConfigError(Exception):
    """A config error: ``line`` is None when it is not about one line (e.g. the log file)."""

    def __init__(self, reason: str, lineno: int = 0, line: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lineno = lineno
        self.line = line

    def report(self) -> str:
        text = f"\n*** FATAL CONFIG FILE ERROR (Version {VALKEY_VERSION}) ***\n"
        if self.line is not None:
            text += f"Reading the configuration file, at line {self.lineno}\n>>> '{self.line}'\n"
        return text + self.reason + "\n"


class OpenError(Exception):
    """The config file (or an include) cannot be read: Valkey logs it and exits 1."""


def repr_arg(text: str) -> str:
    """Valkey's sdscatrepr: always quoted, C escapes, ``\\xHH`` for anything not printable ASCII."""
    out = ['"']
    for byte in os.fsencode(text):
        ch = chr(byte)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)


def options_from_argv(args: list[str]) -> tuple[str | None, bool, str]:
    """(config file, read stdin?, option text) from the arguments after the program name."""
    configfile = None
    j = 0
    if args and not args[0].startswith("-"):
        configfile = args[0]
        j = 1
    from_stdin = False
    options: list[str] = []
    last_had_value = True
    n = len(args)
    while j < n:
        arg = args[j]
        if arg == "-" and (j == 0 or j == n - 1):
            from_stdin = True
        elif last_had_value and arg.startswith("--"):
            if options:
                options.append("\n")
            options.append(arg[2:] + " ")
            words = split_args(arg)
            if words is not None and len(words) == 1:
                last_had_value = False
                following_option = j != n - 1 and args[j + 1].startswith("--")
                if arg.lower() == "--save" and following_option:
                    # "--save --port 1": an empty save, as Valkey has accepted since 7.0.
                    options.append('""')
                    last_had_value = True
                elif arg.lower() == "--save" and j == n - 1:
                    options.append('""')
                elif arg.lower() == "--sentinel" and following_option:
                    last_had_value = True
            else:
                last_had_value = True
        else:
            options.append(repr_arg(arg) + " ")
            last_had_value = True
        j += 1
    return configfile, from_stdin, "".join(options)


class Loader:
    """Reads config text into a ``Config`` with Valkey's rules (one loader per start-up)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.save_loaded = False
        self.rename_commands: list[tuple[str, str]] = []
        self.users: list[list[str]] = []
        self.loadmodules: list[list[str]] = []
        self.module_configs: dict[str, str] = {}

    def read_file(self, path: str) -> str:
        if any(c in path for c in "*?["):
            import glob

            text = []
            for match in sorted(glob.glob(path)):
                text.append(self._read(match))
            return "".join(text)
        return self._read(path)

    def _read(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
                return handle.read()
        except OSError as exc:
            raise OpenError(f"Fatal error, can't open config file '{path}': {exc.strerror}") from None

    def load_file(self, path: str) -> None:
        self.load_string(self.read_file(path))

    def load_string(self, text: str) -> None:
        for index, raw in enumerate(text.split("\n")):
            lineno = index + 1
            line = raw.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            words = split_args(line)
            if words is None:
                raise FatalConfigError("Unbalanced quotes in configuration line", lineno, line)
            if not words:
                continue
            name = words[0].lower()
            args = words[1:]
            item = DIRECTIVES.get(name)
            try:
                if item is not None:
                    if not item.multi_arg and len(args) != 1:
                        raise ConfigError("wrong number of arguments")
                    self._set(name, args)
                    continue
                if name in _DEPRECATED and len(args) == 1:
                    continue
                if name == "include" and len(args) == 1:
                    self.load_file(args[0])
                elif name == "rename-command" and len(args) == 2:
                    self.rename_commands.append((args[0], args[1]))
                elif name == "user" and args:
                    self.users.append(args)
                elif name == "loadmodule" and args:
                    self.loadmodules.append(args)
                elif "." in name:
                    if not args:
                        raise ConfigError("Module config specified without value")
                    self.module_configs[name] = " ".join(args)
                elif name == "sentinel":
                    if args:
                        raise ConfigError("sentinel directive while not in sentinel mode")
                else:
                    raise ConfigError("Bad directive or wrong number of arguments")
            except ConfigError as exc:
                raise FatalConfigError(str(exc), lineno, line) from None

    def _set(self, name: str, args: list[str]) -> None:
        config = self.config
        item, value = config.parse_args(name, args)
        if item.name == "save":
            # In a file, save lines add up; the first one replaces the built-in default.
            if not self.save_loaded or (len(args) == 1 and args[0] == ""):
                self.save_loaded = True
            else:
                value = list(config.save) + value
        elif item.name == "dir":
            try:
                os.chdir(value)
            except OSError as exc:
                raise ConfigError(exc.strerror or str(exc)) from None
        elif item.name == "hz":
            value = min(max(value, 1), 500)
        setattr(config, item.attr, value)
        config.explicit.add(item.name)

    def finish(self) -> None:
        """Checks Valkey makes once everything is read."""
        logfile = self.config.logfile
        if logfile:
            try:
                with open(logfile, "a"):
                    pass
            except OSError as exc:
                raise FatalConfigError(f"Can't open the log file: {exc.strerror}") from None


def load_config(args: list[str], stdin: Any = None) -> tuple[Config, Loader]:
    configfile, from_stdin, options = options_from_argv(args)
    config = Config()
    loader = Loader(config)
    text = ""
    if configfile is not None:
        config.file = os.path.abspath(configfile)
        text = loader.read_file(config.file)
    if from_stdin:
        text += (stdin or sys.stdin).read()
    if options:
        text += "\n" + options
    loader.load_string(text)
    loader.finish()
    return config, loader


# -- logging ------------------------------------------------------------------------------------


class ServerLog:
    """Valkey's log line: ``pid:M 26 Nov 2026 09:02:04.589 * message``, to stdout or ``logfile``."""

    def __init__(self, config: Config) -> None:
        self.level = _LEVELS.get(config.loglevel, 2)
        self.path = config.logfile

    def write(self, level: int, message: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + f".{int(now * 1000 % 1000):03d}"
        line = f"{os.getpid()}:M {stamp} {_LEVEL_MARK[level]} {message}\n"
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(line)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()


def _install_logging(log: ServerLog) -> None:
    import logging

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            level = 3 if record.levelno >= logging.WARNING else 2 if record.levelno >= logging.INFO else 1
            try:
                log.write(level, record.getMessage())
            except Exception:  # noqa: BLE001  (logging must never take the server down)
                self.handleError(record)

    root = logging.getLogger("pyvalkey")
    root.handlers[:] = [Handler()]
    root.setLevel(logging.DEBUG if log.level == 0 else logging.INFO)
    root.propagate = False


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def _write_pidfile(path: str) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(f"{os.getpid()}\n")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-v", "--version"):
        sys.stdout.write(
            f"Valkey server v={VALKEY_VERSION} sha=00000000:0 malloc=libc bits=64 build={BUILD_ID}\n"
        )
        sys.exit(0)
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        sys.exit(0)
    try:
        config, loader = load_config(args)
    except FatalConfigError as exc:
        sys.stderr.write(exc.report())
        sys.exit(1)
    except OpenError as exc:
        ServerLog(Config()).write(3, str(exc))
        sys.exit(1)
    log = ServerLog(config)
    if config.daemonize:
        _daemonize()
    log.write(2, f"pyvalkey {__version__} starting (speaks Valkey {VALKEY_VERSION})")
    log.write(
        2,
        f"pid={os.getpid()}, python={sys.version.split()[0]}",
    )
    if config.file is None:
        log.write(
            3,
            "No config file given: running with defaults (pass a valkey.conf path as the first argument).",
        )
    else:
        log.write(2, "Configuration loaded")
    pidfile = config.pidfile or ("/var/run/valkey.pid" if config.daemonize else "")
    if pidfile:
        _write_pidfile(pidfile)
    _install_logging(log)
    _run(config, loader, log, pidfile)


def _run(config: Config, loader: Loader, log: ServerLog, pidfile: str) -> None:
    import asyncio

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from pyvalkey.server import Server

    server = Server(config)
    server.config_loader = loader  # rename-command, user and loadmodule lines, for their owners
    server.keyspace.notify_flags = config.notify_keyspace_events
    server.stats.slowlog_threshold_us = config.slowlog_log_slower_than
    start = server.start

    async def start_and_announce() -> None:
        await start()
        import signal

        loop = asyncio.get_running_loop()
        for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            def handler(name: str = name) -> None:
                log.write(3, f"Received {name} scheduling shutdown...")
                server.request_shutdown()

            try:
                loop.add_signal_handler(signum, handler)
            except (NotImplementedError, RuntimeError):
                pass
        log.write(2, f"Running mode=standalone, port={config.port}.")
        log.write(2, "Server initialized")
        log.write(2, "Ready to accept connections tcp")
        if config.unixsocket:
            log.write(2, "Ready to accept connections unix")

    server.start = start_and_announce  # type: ignore[method-assign]
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.write(3, str(exc))
        sys.exit(1)
    finally:
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    log.write(3, "pyvalkey stopped.")


if __name__ == "__main__":
    main()
