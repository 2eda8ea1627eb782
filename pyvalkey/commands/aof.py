"""The append-only file at the server level: the propagator sink that appends writes, fsync
policies, BGREWRITEAOF and automatic rewrites, start-up loading, DEBUG LOADAOF, the
``appendonly`` switch at run time and the INFO persistence aof_* fields.

State lives in one ``AofState`` per server (``server.aof_state``), created on first use.
File formats (manifest, replay, dataset as commands) are in pyvalkey/persistence/aof.py.

Durability. The dispatcher runs a command, which encodes its reply into ``client.out``, then
calls ``propagator.end_unit()``, which calls ``feed`` here; ``feed`` appends the unit to
``buffer`` and sets ``server.write_barrier``. Every output to a client goes through
``Connection.flush`` (net/connection.py), which calls the barrier first: ``flush_buffer`` writes
the buffer with one write(2) (and, with ``appendfsync always``, fsyncs) before any reply,
notification or MONITOR line of that read leaves the server. So a pipeline of writes costs one
write (and one fsync) per read instead of one per command, as Valkey's ``beforeSleep`` flushes
its AOF buffer once per event-loop iteration before writing to clients, and no reply to a write
leaves before the write reached the kernel (``always``: the disk). Writes that no client output
follows (active expiry, CLIENT REPLY OFF, a replica applying its stream) are written by the cron
within a tick; anything that fsyncs, switches or reads the files (``fsync_now``: rewrites,
shutdown, DEBUG LOADAOF, CONFIG SET appendonly no) and WAITAOF's local count write the buffer
first. ``everysec`` fsyncs from cron at most once a second; ``no`` leaves it to the kernel.

A rewrite forks: the child writes the new base (an RDB image when ``aof-use-rdb-preamble``,
commands otherwise) from its copy-on-write snapshot, while the parent, at fork time, switches
to a new incremental file, so the writes made during the rewrite land after the new base. When
the child succeeds, the manifest is replaced atomically (new base, the old base and the covered
incremental files listed as history) and the history files are deleted.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from pyvalkey import _speedups
from pyvalkey import info as info_module
from pyvalkey.commands.registry import COMMANDS, SHUTDOWN_HOOKS, Command, command, debug_subcommand
from pyvalkey.config import ConfigError
from pyvalkey.errors import ErrorReply
from pyvalkey.lazyimport import lazy_module
from pyvalkey.persistence import child
from pyvalkey.propagation import Unit, encode_commands, persistent_part
from pyvalkey.protocol.replies import OK, SimpleString

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.server import ShutdownOptions
    from pyvalkey.persistence.aof import Manifest
    from pyvalkey.server import Server

log = logging.getLogger("pyvalkey")


# The AOF and RDB formats (and the dataclasses module under them) load when first used, not at
# every start-up with appendonly no and no RDB file to read.
aof_files = lazy_module("pyvalkey.persistence.aof")
rdb = lazy_module("pyvalkey.persistence.rdb")

OFF, ON, WAIT_REWRITE = 0, 1, 2

REWRITE_IN_PROGRESS = b"ERR Background append only file rewriting already in progress"
REWRITE_FAILED = (
    b"ERR Can't execute an AOF background rewriting. Please check the server logs for more information."
)
LOADAOF_FAILED = b"ERR Error trying to load the AOF files, check server logs."
LOADING = b"LOADING Valkey is loading the dataset in memory"
_RETRY_DELAY = 5  # seconds between attempts after a failed automatic rewrite


class AofState:
    """Valkey's server.aof_* fields for one server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.status = OFF
        self.fd = -1
        self.selected_db = -1
        self.manifest = aof_files.Manifest()
        self.child_pid = 0
        self.child_started = 0.0
        self.child_preamble = True
        self.rewrite_scheduled = False
        self.last_rewrite_ok = True
        self.last_rewrite_seconds = -1
        self.last_rewrite_try = 0.0
        self.rewrites = 0
        self.consecutive_failures = 0
        self.last_write_ok = True
        self.current_size = 0
        self.base_size = 0  # aof_current_size right after the last rewrite or load
        self.last_ts = 0
        self.fsync_pending = False
        self.last_fsync = time.monotonic()
        self.buffer = bytearray()  # units fed since the last write (see the module docstring)
        self.attached = False
        server.cron_jobs.append(self.cron)
        server.shutdown_hooks.append(self.on_close)

    # -- paths ---------------------------------------------------------------------------------

    @property
    def dirname(self) -> str:
        return self.server.data_path(str(self.server.config.appenddirname))

    @property
    def filename(self) -> str:
        return str(self.server.config.appendfilename)

    def path(self, name: str) -> str:
        return os.path.join(self.dirname, name)

    def manifest_path(self) -> str:
        return self.path(self.filename + ".manifest")

    def temp_incr_path(self) -> str:
        return self.path("temp-" + self.filename + ".incr")

    def persist_manifest(self, manifest: Manifest) -> None:
        aof_files.write_file_atomically(self.manifest_path(), manifest.render())

    def ensure_dir(self) -> None:
        os.makedirs(self.dirname, exist_ok=True)

    # -- the sink ------------------------------------------------------------------------------

    def _attach(self) -> None:
        if not self.attached:
            self.server.propagator.attach(self)
            self.attached = True

    def _detach(self) -> None:
        if self.attached:
            self.server.propagator.detach(self)
            self.attached = False

    def feed(self, unit: Unit) -> None:
        """Propagator sink: append one execution unit (see the module docstring on ordering)."""
        if self.fd < 0 or (self.status == WAIT_REWRITE and not self.child_pid):
            # Waiting for a rewrite that has not forked yet: its snapshot will hold these writes.
            return
        unit = persistent_part(unit)
        if not unit:
            return
        out = self.buffer
        if not out:
            self.server.write_barrier = self.flush_buffer
        if self.server.config.aof_timestamp_enabled:
            now = int(time.time())
            if now != self.last_ts:
                self.last_ts = now
                out += b"#TS:%d\r\n" % now
        for db_index, argv in unit:
            if db_index >= 0 and db_index != self.selected_db:
                out += encode_commands([[b"SELECT", b"%d" % db_index]])
                self.selected_db = db_index
            _speedups.append_command(out, argv)

    def flush_buffer(self) -> None:
        """Write what ``feed`` buffered (and fsync it under ``appendfsync always``)."""
        self.server.write_barrier = None
        buffer = self.buffer
        if not buffer:
            return
        if self.fd >= 0:
            self.write(buffer)
        buffer.clear()

    def write(self, data: bytes | bytearray) -> None:
        try:
            aof_files.write_all(self.fd, data)
        except OSError as exc:
            self.last_write_ok = False
            log.warning("Error writing to the AOF file: %s", exc)
            return
        self.last_write_ok = True
        self.current_size += len(data)
        if self.server.config.appendfsync == "always":
            try:
                os.fsync(self.fd)
            except OSError as exc:
                log.error("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. "
                          "Exiting...", exc)
                os._exit(1)
            self.last_fsync = time.monotonic()
        else:
            self.fsync_pending = True

    def fsync_now(self) -> None:
        self.flush_buffer()
        if self.fd >= 0:
            try:
                os.fsync(self.fd)
            except OSError as exc:
                log.warning("AOF fsync failed: %s", exc)
        self.fsync_pending = False
        self.last_fsync = time.monotonic()

    def _open_append(self, path: str, truncate: bool = False) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        if truncate:
            flags |= os.O_TRUNC
        fd = os.open(path, flags, 0o644)
        self._close_fd()
        self.fd = fd
        self.selected_db = -1  # a new file starts with a SELECT

    def _close_fd(self) -> None:
        if self.fd >= 0:
            self.fsync_now()
            os.close(self.fd)
            self.fd = -1

    # -- switching on and off ------------------------------------------------------------------

    def start(self) -> None:
        """CONFIG SET appendonly yes: write a base of the current dataset by a rewrite, then go on."""
        if self.status != OFF:
            return
        self.ensure_dir()
        self.status = WAIT_REWRITE
        self._attach()
        if self._rdb_child():
            self.rewrite_scheduled = True
            log.info("AOF was enabled but there is already another background operation. An AOF "
                     "background was scheduled to start when possible.")
            return
        if self.child_pid:
            self.kill_child()
        if not self.rewrite():
            self.status = OFF
            self._detach()
            raise ConfigError("Unable to turn on AOF. Check server logs.")

    def stop(self) -> None:
        """CONFIG SET appendonly no."""
        if self.status == OFF:
            return
        self._close_fd()
        self.status = OFF
        self.selected_db = -1
        self.rewrite_scheduled = False
        self.kill_child()
        self._detach()

    # -- rewriting -----------------------------------------------------------------------------

    def _rdb_child(self) -> bool:
        current = getattr(self.server, "rdb_state", None)
        if current is None:
            return False
        current.reap()
        return bool(current.child_pid)

    def _open_new_incr(self) -> None:
        """At fork time: later writes go to a fresh incremental file."""
        if self.status == OFF:
            return
        self.ensure_dir()
        if self.status == WAIT_REWRITE:
            # Not in the manifest until the rewrite succeeds (then it is renamed and listed).
            self._open_append(self.temp_incr_path(), truncate=True)
            return
        manifest = self.manifest.copy()
        info = manifest.new_incr(self.filename)
        self._open_append(self.path(info.name))
        self.persist_manifest(manifest)
        self.manifest = manifest
        log.info("Creating AOF incr file %s on background rewrite", info.name)

    def _base_image(self, path: str, preamble: bool) -> None:
        """Write the dataset to ``path`` as a base file (in the child, or in-process at start)."""
        server = self.server
        config = server.config
        functions = _function_codes(server)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            if preamble:
                aof_files.write_all(fd, rdb.dump_file_bytes(
                    server.keyspace.dbs,
                    compress=bool(config.rdbcompression),
                    checksum=bool(config.rdbchecksum),
                    used_memory=info_module.process_rss(),
                    aof_base=True,
                    functions=functions,
                ))
            else:
                chunk = bytearray()
                if config.aof_timestamp_enabled:
                    chunk += b"#TS:%d\r\n" % int(time.time())
                for argv in aof_files.dataset_commands(server.keyspace.dbs, functions):
                    chunk += encode_commands([argv])
                    if len(chunk) > 1 << 20:
                        aof_files.write_all(fd, chunk)
                        chunk.clear()
                aof_files.write_all(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)

    def rewrite(self) -> bool:
        """Fork the rewrite child (BGREWRITEAOF, auto-rewrite, enabling AOF)."""
        if self.child_pid:
            return False
        self.rewrite_scheduled = False
        self.last_rewrite_try = time.time()
        try:
            if self.fd >= 0:
                self.fsync_now()
            self._open_new_incr()
        except OSError as exc:
            log.warning("Can't open new incr AOF: %s", exc)
            self.last_rewrite_ok = False
            return False
        preamble = bool(self.server.config.aof_use_rdb_preamble)
        try:
            pid = child.fork_child(
                lambda: self._base_image(f"temp-rewriteaof-bg-{os.getpid()}.aof", preamble)
            )
        except OSError as exc:
            log.warning("Can't rewrite append only file in background: fork: %s", exc)
            self.last_rewrite_ok = False
            return False
        self.child_pid = pid
        self.child_preamble = preamble
        self.child_started = time.time()
        self.rewrites += 1
        log.info("Background append only file rewriting started by pid %d", pid)
        return True

    def kill_child(self) -> None:
        pid = self.child_pid
        if not pid:
            return
        child.kill_child(pid)
        self.child_pid = 0
        _unlink(f"temp-rewriteaof-bg-{pid}.aof")
        if self.status == WAIT_REWRITE:
            self.rewrite_scheduled = True

    def wait_child(self) -> None:
        """Block until a running rewrite has finished and been installed (DEBUG LOADAOF)."""
        if self.child_pid:
            try:
                os.waitpid(self.child_pid, 0)
                status = 0
            except ChildProcessError:
                status = child.FAILED_STATUS
            self._finish(self.child_pid, status)

    def reap(self) -> None:
        pid = self.child_pid
        if not pid:
            return
        status = child.poll_child(pid)
        if status is not None:
            self._finish(pid, status)

    def _finish(self, pid: int, status: int) -> None:
        self.child_pid = 0
        self.last_rewrite_seconds = int(time.time() - self.child_started)
        temp = f"temp-rewriteaof-bg-{pid}.aof"
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            self._failed(temp, "Background AOF rewrite terminated with error")
            return
        log.info("Background AOF rewrite terminated with success")
        try:
            self.ensure_dir()
            manifest = self.manifest.copy()
            base = manifest.new_base(self.filename, self.child_preamble)
            os.replace(temp, self.path(base.name))
            log.info("Successfully renamed the temporary AOF base file %s into %s", temp, base.name)
            if self.status == WAIT_REWRITE:
                incr = manifest.new_incr(self.filename)
                os.replace(self.temp_incr_path(), self.path(incr.name))
            manifest.retire_incrs(keep_last=self.status != OFF)
            self.persist_manifest(manifest)
        except OSError as exc:
            self._failed(temp, f"Error installing the rewritten AOF: {exc}")
            return
        self.manifest = manifest
        if self.status == WAIT_REWRITE:
            self.status = ON
        self.delete_history()
        self.current_size = self._files_size()
        self.base_size = self.current_size
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        log.info("Background AOF rewrite finished successfully")

    def _failed(self, temp: str, message: str) -> None:
        log.warning(message)
        _unlink(temp)
        self.last_rewrite_ok = False
        self.consecutive_failures += 1
        if self.status == WAIT_REWRITE:
            self.rewrite_scheduled = True  # enabling AOF needs a base: keep trying

    def delete_history(self) -> None:
        if not self.manifest.history:
            return
        for info in self.manifest.history:
            log.info("Removing the history file %s in the background", info.name)
            _unlink(self.path(info.name))
        self.manifest.history = []
        try:
            self.persist_manifest(self.manifest)
        except OSError as exc:
            log.warning("Can't persist the AOF manifest: %s", exc)

    def _files_size(self) -> int:
        total = 0
        for info in self.manifest.files():
            try:
                total += os.path.getsize(self.path(info.name))
            except OSError:
                pass
        return total

    # -- cron ----------------------------------------------------------------------------------

    def cron(self) -> None:
        self.flush_buffer()
        self.reap()
        if (
            self.fsync_pending
            and self.server.config.appendfsync == "everysec"
            and time.monotonic() - self.last_fsync >= 1.0
        ):
            self.fsync_now()
        if self.child_pid or self._rdb_child():
            return
        if self.rewrite_scheduled:
            if self.last_rewrite_ok or time.time() - self.last_rewrite_try > _RETRY_DELAY:
                self.rewrite()
            return
        config = self.server.config
        percentage = config.auto_aof_rewrite_percentage
        if self.status == ON and percentage and self.current_size > config.auto_aof_rewrite_min_size:
            base = self.base_size or 1
            growth = self.current_size * 100 // base - 100
            if growth >= percentage and (
                self.last_rewrite_ok or time.time() - self.last_rewrite_try > _RETRY_DELAY
            ):
                log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
                self.rewrite()

    def on_close(self) -> None:
        self.kill_child()
        if self.status == WAIT_REWRITE:
            _unlink(self.temp_incr_path())
        self._close_fd()

    # -- start-up ------------------------------------------------------------------------------

    def read_manifest(self) -> Manifest:
        """The manifest on disk; an old single-file AOF in ``dir`` becomes the base."""
        try:
            with open(self.manifest_path(), "rb") as handle:
                return aof_files.Manifest.parse(handle.read())
        except FileNotFoundError:
            pass
        manifest = aof_files.Manifest()
        if os.path.isfile(self.filename):
            # Valkey < 7 kept one file in ``dir``: move it into the directory as the base.
            self.ensure_dir()
            os.replace(self.filename, self.path(self.filename))
            manifest.base = aof_files.AofInfo(self.filename, 1, aof_files.TYPE_BASE)
            manifest.base_seq = 1
            self.persist_manifest(manifest)
            log.info("Successfully migrated an old-style AOF into the AOF directory %s", self.dirname)
        return manifest

    def load(self) -> bool:
        """Load every file the manifest lists; False when there is none. Raises AofFileError."""
        manifest = self.read_manifest()
        self.manifest = manifest
        self.delete_history()
        files = manifest.files()
        if not files:
            return False
        server = self.server
        keyspace = server.keyspace
        propagator = server.propagator
        dispatcher = server.dispatcher
        saved = (propagator.active, dispatcher.observe, keyspace.is_replica, keyspace.dirty)
        propagator.active = False  # loading must not feed the AOF or replicas
        dispatcher.observe = None
        keyspace.is_replica = True  # nothing expires while loading (Valkey's server.loading)
        server.loading = True  # type: ignore[attr-defined]
        client = _pseudo_client(server)
        total = 0
        try:
            for position, info in enumerate(files):
                path = self.path(info.name)
                if not os.path.isfile(path):
                    raise aof_files.AofFileError(f"The AOF file {info.name} doesn't exist")
                last = position == len(files) - 1
                self._load_file(client, path, info.name, last)
                total += os.path.getsize(path)
        finally:
            propagator.active, dispatcher.observe, keyspace.is_replica, dirty = saved
            server.loading = False  # type: ignore[attr-defined]
            keyspace.dirty = dirty
        server.dirty_at_last_save = keyspace.dirty  # type: ignore[attr-defined]
        from pyvalkey.commands.persistence import _track_field_ttls

        lru = keyspace.lru_clock
        for db in keyspace.dbs:
            db.touch_all(lru)  # every key accessed now, at no cost per key
        _track_field_ttls(server)  # hashes with field TTLs join active field expiry
        self.current_size = total
        self.base_size = total
        return True

    def _load_file(self, client: Client, path: str, name: str, last: bool) -> None:
        server = self.server
        keyspace = server.keyspace
        dispatcher = server.dispatcher
        clock_ms = server.clock.ms
        out = client.out

        def execute(argv: list[bytes]) -> None:
            cmd = dispatcher.lookup(argv)
            if type(cmd) is not Command:
                if COMMANDS.get(argv[0].lower()) is None:
                    shown = argv[0][:128].decode(errors="replace")
                    raise aof_files.AofFileError(
                        f"Unknown command '{shown}' reading the append only file {name}"
                    )
                raise aof_files.AofFileError(f"Bad file format reading the append only file {name}")
            keyspace.now_ms = clock_ms()
            try:
                cmd.handler(client, argv)  # type: ignore[misc]
            except ErrorReply:
                pass
            except Exception:
                log.exception("command %r failed while loading the AOF", cmd.fullname)
            out.clear()

        def load_rdb(data: bytes) -> Any:
            log.info("Reading RDB base file on AOF loading...")
            result = rdb.load_file_bytes(data, keyspace.dbs, rdb.Limits(server.config), keyspace.now_ms, False)
            if result.functions:
                _restore_functions(server, result.functions)
            return result

        keyspace.refresh_time()
        try:
            result = aof_files.replay(path, execute, load_rdb)
        except rdb.RdbError as exc:
            raise aof_files.AofFileError(
                f"Error reading the RDB base file {name}, AOF loading aborted: {exc}"
            ) from None
        except aof_files.AofFileError as exc:
            message = str(exc)
            if message.startswith("Bad file format"):
                message = (f"Bad file format reading the append only file {name}: make a backup of your "
                           "AOF file, then use ./valkey-check-aof --fix <filename.manifest>")
            raise aof_files.AofFileError(message) from None
        if result.truncated_at >= 0:
            if not last:
                raise aof_files.AofFileError(f"Fatal error: the truncated file is not the last file ({name})")
            if not server.config.aof_load_truncated:
                raise aof_files.AofFileError(
                    f"Unexpected end of file reading the append only file {name}. You can: 1) Make a backup "
                    "of your AOF file, then use ./valkey-check-aof --fix <filename.manifest>. 2) "
                    "Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
                    "restart the server."
                )
            log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
            log.warning("!!! Truncating the AOF %s at offset %d !!!", name, result.truncated_at)
            os.truncate(path, result.truncated_at)
            log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)
        elif result.empty:
            log.info("DB loaded from %s file %s: (empty)", "base" if ".base." in name else "incr", name)
        else:
            log.info("DB loaded from file %s", name)

    def open_on_start(self) -> None:
        """After loading: a base must exist (written now from the loaded dataset when it does
        not), then writes go to the last incremental file or a new one."""
        self.ensure_dir()
        manifest = self.manifest
        if manifest.base is None and not manifest.incrs:
            preamble = bool(self.server.config.aof_use_rdb_preamble)
            base = manifest.new_base(self.filename, preamble)
            self._base_image(self.path(base.name), preamble)
            log.info("Creating AOF base file %s on server start", base.name)
        if manifest.incrs:
            self._open_append(self.path(manifest.incrs[-1].name))
        else:
            info = manifest.new_incr(self.filename)
            self._open_append(self.path(info.name))
            log.info("Creating AOF incr file %s on server start", info.name)
        self.persist_manifest(manifest)
        self.status = ON
        self._attach()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _pseudo_client(server: Server) -> Client:
    """A client for replaying commands: no id used up, no connection, replies discarded."""
    from pyvalkey.client import Client

    next_id = server._next_client_id
    client = Client(server)
    server._next_client_id = next_id
    server.clients.pop(client.id, None)
    client.id = 0
    client.kind = "aof"
    client.deny_blocking = True
    client.authenticated = True
    client.addr = ""
    return client


def _function_codes(server: Server) -> list[bytes]:
    scripting = getattr(server, "scripting", None)
    if scripting is None:
        return []
    return [library.code for library in scripting.libraries.values()]


def _restore_functions(server: Server, codes: list[bytes]) -> None:
    from pyvalkey.scripting.state import scripting

    try:
        scripting(server).restore_libraries(codes, b"REPLACE")
    except ErrorReply as exc:
        raise aof_files.AofFileError(
            f"Failed loading functions from the AOF base: {exc.message.decode(errors='replace')}"
        )


def _loading_check(client: Client, cmd: Command, argv: list[bytes]) -> Any:
    return None if cmd.loading_ok else ErrorReply(LOADING)


def state(server: Server) -> AofState:
    current = getattr(server, "aof_state", None)
    if current is None:
        current = AofState(server)
        server.aof_state = current  # type: ignore[attr-defined]
    return current  # type: ignore[no-any-return]


def on_server_start(server: Server) -> bool:
    """Start-up with ``appendonly yes``: load the AOF (the RDB file is not read), then open it.
    Returns False when AOF is off (the caller loads the RDB). Exits on a bad AOF, as Valkey."""
    if not server.config.appendonly:
        return False
    current = state(server)
    started = time.monotonic()
    # Listeners may already be open: until the data is in, and while a failed start-up winds
    # down, commands get -LOADING as from Valkey (PING included, so nobody sees a ready server).
    checks = server.dispatcher.pre_checks
    checks.insert(0, _loading_check)
    try:
        loaded = current.load()
        current.open_on_start()
    except (aof_files.AofFileError, OSError, rdb.RdbError) as exc:
        log.error("%s", exc)
        raise SystemExit(1) from None
    checks.remove(_loading_check)
    if loaded:
        log.info("DB loaded from append only file: %.3f seconds", time.monotonic() - started)
    return True


def on_appendonly_change(server: Server, value: bool) -> None:
    """Apply hook of ``appendonly`` (config.py): start or stop at run time."""
    current = state(server)
    if value:
        current.start()
    else:
        current.stop()


# -- INFO persistence ------------------------------------------------------------------------------


def _info_values(server: Server) -> dict[str, Any]:
    current = getattr(server, "aof_state", None)
    if current is None:
        return {}
    current.reap()
    return {
        "aof_enabled": 0 if current.status == OFF else 1,
        "aof_rewrite_in_progress": 1 if current.child_pid else 0,
        "aof_rewrite_scheduled": 1 if current.rewrite_scheduled else 0,
        "aof_last_rewrite_time_sec": current.last_rewrite_seconds,
        "aof_current_rewrite_time_sec": int(time.time() - current.child_started) if current.child_pid else -1,
        "aof_last_bgrewrite_status": "ok" if current.last_rewrite_ok else "err",
        "aof_rewrites": current.rewrites,
        "aof_rewrites_consecutive_failures": current.consecutive_failures,
        "aof_last_write_status": "ok" if current.last_write_ok else "err",
    }


def _info_lines(server: Server) -> list[tuple[str, Any]]:
    current = getattr(server, "aof_state", None)
    if current is None or current.status == OFF:
        return []
    return [
        ("aof_current_size", current.current_size),
        ("aof_base_size", current.base_size),
        ("aof_pending_rewrite", 1 if current.rewrite_scheduled else 0),
        ("aof_buffer_length", len(current.buffer)),
        ("aof_pending_bio_fsync", 0),
        ("aof_delayed_fsync", 0),
    ]


info_module.register_values("persistence", _info_values)
info_module.register_lines("persistence", _info_lines)


# -- commands --------------------------------------------------------------------------------------


@command("bgrewriteaof")
def bgrewriteaof_command(client: Client, argv: list[bytes]) -> Any:
    current = state(client.server)
    current.reap()
    if current.child_pid:
        raise ErrorReply(REWRITE_IN_PROGRESS)
    if current._rdb_child() or client.multi is not None:
        current.rewrite_scheduled = True
        log.info("Background append only file rewriting scheduled.")
        return SimpleString(b"Background append only file rewriting scheduled")
    if not current.rewrite():
        raise ErrorReply(REWRITE_FAILED)
    return SimpleString(b"Background append only file rewriting started")


def _shutdown_hook(server: Server, options: ShutdownOptions) -> bytes | None:
    current = getattr(server, "aof_state", None)
    if current is not None:
        current.kill_child()
        if current.fd >= 0:
            log.info("Calling fsync() on the AOF file.")
            current.fsync_now()
    return None


SHUTDOWN_HOOKS.append(_shutdown_hook)


@debug_subcommand(
    "loadaof",
    lambda n: n == 2,
    "LOADAOF",
    "Sync the append-only files, empty the dataset and replay the files into it.",
)
def debug_loadaof(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    current = state(server)
    if current.fd >= 0:
        current.fsync_now()
    current.wait_child()  # a rewrite in flight is installed first, so the manifest is complete
    keyspace = server.keyspace
    for db in keyspace.dbs:
        db.clear()
    scripting = getattr(server, "scripting", None)
    if scripting is not None:  # emptying the dataset empties the function libraries too
        scripting.flush_functions()
    try:
        loaded = current.load()
    except (aof_files.AofFileError, OSError, rdb.RdbError) as exc:
        log.warning("DEBUG LOADAOF failed: %s", exc)
        loaded = False
    if not loaded:
        raise ErrorReply(LOADAOF_FAILED)
    log.info("Append Only File loaded by DEBUG LOADAOF")
    return OK
