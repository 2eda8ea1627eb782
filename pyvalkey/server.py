"""The Server object: configuration, keyspace, clients, statistics, cron and lifecycle.

It knows nothing of RESP bytes: connections (``pyvalkey.net``) feed it argv lists through the
dispatcher and it hands back reply values. ``serve()`` runs it on an asyncio loop; tests and the
embedded mode can drive ``Server`` without sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import deque
from typing import Any, Callable, Optional

from pyvalkey import __version__
from pyvalkey.blocking import Blocking
from pyvalkey.client import Client
from pyvalkey.clock import Clock
from pyvalkey.config import Config
from pyvalkey.dispatch import Dispatcher
from pyvalkey.maxmemory import MemoryGuard
from pyvalkey.replication.min_replicas import MinReplicasGuard
from pyvalkey.propagation import Propagator
from pyvalkey.storage.database import Keyspace

log = logging.getLogger("pyvalkey")

VALKEY_VERSION = "9.1.2"


class Stats:
    """Counters for INFO stats / commandstats / errorstats."""

    def __init__(self) -> None:
        # latency-monitor-threshold (ms, 0: off) and latency-tracking, pushed by CONFIG
        self.latency_threshold_ms = 0
        self.latency_tracking = True
        self.reset()
        # ACL denials (pyvalkey/acl.py) for INFO stats; CONFIG RESETSTAT keeps them, as Valkey.
        self.acl_denied_auth = self.acl_denied_cmd = self.acl_denied_key = 0
        self.acl_denied_channel = self.acl_denied_db = 0

    def reset(self) -> None:
        self.commands_processed = 0
        self.connections_received = 0
        self.rejected_connections = 0
        self.errors: dict[bytes, int] = {}
        self.total_error_replies = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.slowlog_threshold_us = 10000

    # The dispatcher compares each call's duration with one figure, ``slow_path_us``: the
    # smallest duration that the slow log or the latency monitor wants to hear about (-1: none).

    @property
    def slowlog_threshold_us(self) -> int:
        return self._slowlog_threshold_us

    @slowlog_threshold_us.setter
    def slowlog_threshold_us(self, value: int) -> None:
        self._slowlog_threshold_us = value
        self._update_slow_path()

    def set_latency_threshold(self, milliseconds: int) -> None:
        self.latency_threshold_ms = milliseconds
        self._update_slow_path()

    def _update_slow_path(self) -> None:
        candidates = [self._slowlog_threshold_us] if self._slowlog_threshold_us >= 0 else []
        if self.latency_threshold_ms > 0:
            candidates.append(self.latency_threshold_ms * 1000)
        self.slow_path_us = min(candidates) if candidates else -1

    def count_error(self, message: bytes) -> None:
        self.total_error_replies += 1
        code = message.split(b" ", 1)[0]
        errors = self.errors
        if code in errors:
            errors[code] += 1
        elif len(errors) < 128:
            errors[code] = 1
        else:
            # Valkey stops tracking new error codes past 128 kinds and says so in errorstats.
            errors[b"ERRORSTATS_DISABLED"] = errors.get(b"ERRORSTATS_DISABLED", 0)


REDACTED = b"(redacted)"
# CONFIG SET values that must not show up in SLOWLOG or MONITOR.
_SENSITIVE_CONFIGS = frozenset(
    (
        b"requirepass", b"masterauth", b"primaryauth", b"masteruser", b"primaryuser",
        b"tls-key-file-pass", b"tls-client-key-file-pass",
    )
)


def redact_argv(argv: list[bytes]) -> list[bytes]:
    """A copy of ``argv`` with secrets (passwords) replaced, as Valkey shows them in SLOWLOG."""
    if not argv:
        return argv
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    shown = list(argv)
    if name == b"hello":
        for i in range(2, len(shown)):
            if shown[i].lower() == b"auth":
                for j in range(i + 1, min(i + 3, len(shown))):
                    shown[j] = REDACTED
                break
    elif name == b"migrate":
        for i in range(6, len(shown)):
            option = shown[i].lower()
            if option == b"auth" and i + 1 < len(shown):
                shown[i + 1] = REDACTED
            elif option == b"auth2" and i + 2 < len(shown):
                shown[i + 1] = shown[i + 2] = REDACTED
    elif name == b"config" and len(shown) > 3 and shown[1].lower() == b"set":
        for i in range(2, len(shown) - 1, 2):
            if shown[i].lower() in _SENSITIVE_CONFIGS:
                shown[i + 1] = REDACTED
    elif name == b"acl" and len(shown) > 2 and shown[1].lower() in (b"setuser", b"getuser", b"deluser"):
        # user names and rules: any of them may carry a password
        shown[2:] = [REDACTED] * (len(shown) - 2)
    return shown


def _skips_commandlog(fullname: str) -> bool:
    from pyvalkey.commands.registry import COMMANDS

    name, _, sub = fullname.partition("|")
    cmd = COMMANDS.get(name.encode())
    if cmd is not None and sub:
        cmd = cmd.subcommands.get(sub.encode())
    return cmd is not None and "skip_commandlog" in cmd.flags


class SlowLog:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.entries: deque[tuple[int, int, int, list[bytes], bytes, bytes]] = deque()
        self.next_id = 0

    def record(self, client: Client, argv: list[bytes], duration_us: int) -> None:
        max_len = self.server.config.commandlog_slow_execution_max_len
        if max_len <= 0:
            return
        blocked = client.blocked
        if blocked is not None and not getattr(blocked, "rerunning", False):
            return  # a blocking command is logged when it is served, not when it blocks
        if _skips_commandlog(client.last_command):
            return  # EXEC and the like: the commands they ran are logged instead
        if client.kind == "lua":
            # A command run by a script is logged under the client that ran the script.
            running = getattr(getattr(self.server, "scripting", None), "running", None)
            context = running() if running is not None else None
            if context is not None:
                client = context.caller
        shown = redact_argv(argv[:32])
        args = [a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128) for a in shown]
        if len(argv) > 32:
            args[-1] = b"... (%d more arguments)" % (len(argv) - 31)
        entry = (
            self.next_id,
            self.server.clock.ms() // 1000,
            duration_us,
            args,
            client.addr.encode(),
            client.name,
        )
        self.next_id += 1
        self.entries.appendleft(entry)
        while len(self.entries) > max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()


class Server:
    def __init__(self, config: Optional[Config] = None, clock: Optional[Clock] = None) -> None:
        import pyvalkey.commands  # noqa: F401  (registers every command group)

        self.config = config or Config()
        self.clock = clock or Clock()
        self.keyspace = Keyspace(self.clock, self.config.databases)
        self.stats = Stats()
        # Valkey 9 names the slowlog settings commandlog-*; slowlog-* are their aliases.
        self.stats.slowlog_threshold_us = self.config.commandlog_execution_slower_than
        self.stats.set_latency_threshold(self.config.latency_monitor_threshold)
        self.stats.latency_tracking = bool(self.config.latency_tracking)
        self.slowlog = SlowLog(self)
        self.cron_jobs: list[Callable[[], None]] = []
        # Called before any output to a client when set: writes that must reach the kernel
        # before a reply may leave (the AOF's buffer, pyvalkey/commands/aof.py).
        self.write_barrier: Callable[[], None] | None = None
        self.client_close_hooks: list[Callable[[Client], None]] = []
        self.clients: dict[int, Client] = {}
        self._next_client_id = 1
        # What secrets.token_hex(20) returns, without importing secrets (hmac, hashlib) at start-up.
        self.run_id = os.urandom(20).hex()
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.executable = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        self.version = __version__
        self.propagator = Propagator(self)
        self.blocking = Blocking(self)
        self.cron_jobs.append(self.blocking.check_deadlines)
        self.dispatcher = Dispatcher(self)
        self.owns_cwd = True  # False for an embedded server (see data_path)
        self.memory_guard = MemoryGuard(self)
        self.memory_guard.configure()
        self.min_replicas_guard = MinReplicasGuard(self)
        self.min_replicas_guard.configure()
        self.execute = self.dispatcher.execute
        from pyvalkey.pubsub import PubSub

        self.pubsub = PubSub(self)  # channels, patterns, keyspace notifications
        self.listeners: list[Any] = []
        self.tcp_port = 0
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.shutdown_requested: Optional[asyncio.Future[Any]] = None
        self.shutdown_hooks: list[Callable[[], None]] = []
        self.paused: Any = None
        self.cronloops = 0
        self.cron_paused = False  # DEBUG PAUSE-CRON

    # -- clients -------------------------------------------------------------------------------

    def next_client_id(self) -> int:
        client_id = self._next_client_id
        self._next_client_id += 1
        return client_id

    def new_client(self, transport: Any = None, addr: str = "", laddr: str = "") -> Client:
        client = Client(self, transport, addr, laddr)
        self.clients[client.id] = client
        self.stats.connections_received += 1
        return client

    def disconnect(self, client: Client) -> None:
        """Close a client's connection now and forget it at once (CLIENT KILL, a deleted ACL
        user's connections), as Valkey frees such a client immediately."""
        transport = client.transport
        if transport is not None:
            transport.close()
        if client.id in self.clients:
            self.remove_client(client)

    def remove_client(self, client: Client) -> None:
        if self.clients.pop(client.id, None) is None and client.closed:
            return  # already removed (CLIENT KILL removes at once; connection_lost follows)
        client.closed = True
        for hook in self.client_close_hooks:
            hook(client)

    # -- files ---------------------------------------------------------------------------------

    def data_path(self, name: str) -> str:
        """Where the data file or directory ``name`` lives. A standalone server changes into
        ``dir`` at start (as Valkey does), so relative names already resolve there; an embedded
        server shares its host's working directory and joins ``dir`` itself."""
        if self.owns_cwd:
            return name
        return os.path.join(os.path.abspath(self.config.dir), name)

    # -- time ----------------------------------------------------------------------------------

    def uptime(self) -> int:
        return int(self.clock.seconds() - self.start_time)

    # -- cron ----------------------------------------------------------------------------------

    def cron(self) -> None:
        """Periodic work, ``hz`` times a second: active expiry, idle timeouts, registered jobs."""
        if self.cron_paused:
            # DEBUG PAUSE-CRON: only blocked clients' timeouts go on (Valkey checks them outside
            # its cron).
            self.blocking.check_deadlines()
            return
        self.cronloops += 1
        self.keyspace.refresh_time()
        if self.config.latency_monitor_threshold:
            started = time.perf_counter_ns()
            self.keyspace.active_expire_cycle()
            from pyvalkey.latency import monitor

            monitor(self).add_sample_if_needed("expire-cycle", (time.perf_counter_ns() - started) // 1_000_000)
        else:
            self.keyspace.active_expire_cycle()
        timeout = self.config.timeout
        if timeout:
            now = self.clock.ms()
            for client in list(self.clients.values()):
                if (
                    client.kind == "normal"
                    and client.blocked is None
                    and not client.flags & {"subscriber", "replica", "master"}
                    and now - client.last_interaction_ms > timeout * 1000
                    and client.transport is not None
                ):
                    client.transport.close()
        for job in self.cron_jobs:
            try:
                job()
            except Exception:
                log.exception("cron job failed")

    async def _cron_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0 / max(self.config.hz, 1))
            self.cron()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the configured listeners and start the cron task."""
        from pyvalkey.net.listeners import start_listeners

        self.loop = asyncio.get_running_loop()
        self.shutdown_requested = self.loop.create_future()
        # Persistence: load dir/dbfilename with the listeners open, so that clients connecting
        # during a long load get -LOADING as from Valkey (exits on a bad file).
        from pyvalkey.commands.persistence import on_server_start_serving, refusing_until_loaded

        if self.config.aclfile:  # users from the ACL file (pyvalkey/acl.py); exits when it is wrong
            from pyvalkey.acl import load_at_startup

            load_at_startup(self)
        with refusing_until_loaded(self):
            self.listeners = await start_listeners(self)
            await on_server_start_serving(self)
        self._cron_task = self.loop.create_task(self._cron_loop())
        # ``replicaof`` in the configuration: start following that primary (in the background).
        if self.config.replicaof:
            from pyvalkey.replication.replica import on_server_start as start_replication

            start_replication(self)

    def restart_listeners(self) -> None:
        """CONFIG SET port/bind (see pyvalkey/listen_config.py); OSError when binding fails."""
        from pyvalkey.listen_config import restart_tcp_listeners

        restart_tcp_listeners(self)

    async def serve_forever(self) -> None:
        await self.start()
        assert self.shutdown_requested is not None
        try:
            await self.shutdown_requested
        finally:
            await self.close()

    def request_shutdown(self) -> None:
        if self.shutdown_requested is not None and not self.shutdown_requested.done():
            self.shutdown_requested.set_result(None)

    async def close(self) -> None:
        for hook in self.shutdown_hooks:
            try:
                hook()
            except Exception:
                log.exception("shutdown hook failed")
        task = getattr(self, "_cron_task", None)
        if task is not None:
            task.cancel()
        for listener in self.listeners:
            listener.close()
        for client in list(self.clients.values()):
            if client.transport is not None:
                client.transport.close()
        for listener in self.listeners:
            try:
                await listener.wait_closed()
            except Exception:
                pass
        self.listeners = []
        unixsocket = self.config.unixsocket
        if unixsocket and os.path.exists(unixsocket):
            try:
                os.unlink(unixsocket)
            except OSError:
                pass

