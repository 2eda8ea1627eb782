"""RDB persistence at the server level: SAVE, BGSAVE, DUMP, RESTORE, DEBUG RELOAD, save points,
loading at start-up, the final save at shutdown, and the INFO persistence fields.

State lives in one ``RdbState`` per server (``server.rdb_state``), created on first use; the
first use also registers the cron job (watching a BGSAVE child, running save points and
scheduled saves) and the dispatcher pre-check that refuses writes with MISCONF after a failed
background save (``stop-writes-on-bgsave-error``).

BGSAVE forks: the child serializes its copy-on-write snapshot of the keyspace, writes
``temp-<pid>.rdb``, fsyncs it, renames it over ``dbfilename`` and leaves with ``os._exit``, so
none of the parent's asyncio machinery runs in it. SAVE, DEBUG RELOAD and the shutdown save
write in-process the same way. The dirty counter stays monotonic (the dispatcher compares it
around each call); "changes since the last save" is ``keyspace.dirty - dirty_at_last_save``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pyvalkey import info as info_module
from pyvalkey.commands.parsing import parse_int
from pyvalkey.commands.registry import SHUTDOWN_HOOKS, command, debug_subcommand
from pyvalkey.errors import ErrorReply, msg
from pyvalkey.lazyimport import lazy_module
from pyvalkey.persistence import child
from pyvalkey.protocol.replies import OK, SimpleString
from pyvalkey.storage.database import NOTIFY_GENERIC

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.server import ShutdownOptions
    from pyvalkey.server import Server

# The RDB format loads when first used (a save, a load, DUMP/RESTORE), not at every start-up.
rdb = lazy_module("pyvalkey.persistence.rdb")

log = logging.getLogger("pyvalkey")

BGSAVE_IN_PROGRESS = b"ERR Background save already in progress"
BGSAVE_NOT_RUNNING = b"ERR Background saving is currently not in progress or scheduled"
GENERIC_ERR = b"ERR"
DUMP_PAYLOAD_WRONG = b"ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = b"ERR Bad data format"
BUSYKEY = b"BUSYKEY Target key name already exists."
INVALID_TTL = b"ERR Invalid TTL value, must be >= 0"
INVALID_IDLETIME = b"ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = b"ERR Invalid FREQ value, must be >= 0 and <= 255"
RELOAD_OPTIONS = b"ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
RELOAD_FAILED = b"ERR Error trying to load the RDB dump, check server logs."
MISCONF = (
    b"MISCONF Valkey is configured to save RDB snapshots, but it's currently unable to persist to "
    b"disk. Commands that may modify the data set are disabled, because this instance is "
    b"configured to report errors during writes if RDB snapshotting fails "
    b"(stop-writes-on-bgsave-error option). Please check the Valkey logs for details about the "
    b"RDB error."
)
_RETRY_DELAY = 5  # seconds between automatic attempts after a failed background save
LOADING = b"LOADING Valkey is loading the dataset in memory"
# While the start-up load runs, clients are served (with -LOADING) at least this often, as
# Valkey does every loading-process-events-interval (100 ms by default).
_LOADING_SLICE = 0.1


# ``child_pid`` while a BGSAVE runs in a thread instead of a forked child.
_THREAD_JOB = -1


def _fork_is_safe() -> bool:
    """Forking copies only the calling thread; with other threads alive (the embedded server
    shares its host's process) the child could wait forever on a lock one of them held."""
    import threading

    return threading.current_thread() is threading.main_thread() and threading.active_count() == 1


class RdbState:
    """Save bookkeeping for one server (Valkey's server.lastsave, child_pid, ... fields)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.child_pid = 0
        self.child_started = 0.0
        self.dirty_before_bgsave = 0
        self.bgsave_scheduled = False
        self._last_bgsave_ok = True
        self.last_bgsave_try = 0.0
        self.last_bgsave_seconds = -1
        self.saves = 0
        self.keys_loaded = 0
        self.keys_expired = 0
        self.shutdown_saved = False
        self.loading = False
        self.loading_start_time = 0
        self.loading_total_bytes = 0
        self.loading_loaded_bytes = 0
        server.cron_jobs.append(self.cron)
        server.shutdown_hooks.append(self.on_close)

    @property
    def last_bgsave_ok(self) -> bool:
        return self._last_bgsave_ok

    @last_bgsave_ok.setter
    def last_bgsave_ok(self, ok: bool) -> None:
        """The MISCONF pre-check is installed only while the last background save has failed,
        so that commands pay nothing for it otherwise."""
        self._last_bgsave_ok = ok
        checks = self.server.dispatcher.pre_checks
        installed = self.misconf_check in checks
        if ok and installed:
            checks.remove(self.misconf_check)
        elif not ok and not installed:
            # After the memory check and ahead of MULTI queueing, in Valkey's order.
            guard = getattr(self.server, "memory_guard", None)
            position = checks.index(guard.check) + 1 if guard is not None and guard.check in checks else 0
            checks.insert(position, self.misconf_check)

    # -- paths ---------------------------------------------------------------------------------

    def path(self) -> str:
        return os.path.abspath(self.server.data_path(self.server.config.dbfilename))

    # -- writing -------------------------------------------------------------------------------

    def image(self) -> bytes:
        server = self.server
        config = server.config
        return rdb.dump_file_bytes(
            server.keyspace.dbs,
            compress=bool(config.rdbcompression),
            checksum=bool(config.rdbchecksum),
            used_memory=info_module.process_rss(),
            functions=library_codes(server),
        )

    def write_file(self, tag: int) -> None:
        """Serialize and atomically replace ``dbfilename`` (temp file, fsync, rename, fsync dir)."""
        self.write_image(self.image(), tag)

    def write_image(self, data: bytes, tag: int) -> None:
        target = self.path()
        directory = os.path.dirname(target) or "."
        temp = os.path.join(directory, f"temp-{tag}.rdb")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, target)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass

    def save(self) -> bool:
        """Foreground save (SAVE, DEBUG RELOAD, shutdown)."""
        self.saves += 1
        try:
            self.write_file(os.getpid())
        except (OSError, rdb.RdbError) as exc:
            log.warning("Failed saving the DB: %s", exc)
            return False
        server = self.server
        server.dirty_at_last_save = server.keyspace.dirty  # type: ignore[attr-defined]
        server.lastsave = time.time()  # type: ignore[attr-defined]
        self.last_bgsave_ok = True
        log.info("DB saved on disk")
        return True

    def bgsave(self) -> bool:
        """Fork a child that writes the file; False if the fork failed."""
        server = self.server
        self.saves += 1
        self.last_bgsave_try = time.time()
        self.dirty_before_bgsave = server.keyspace.dirty
        if not _fork_is_safe():
            return self._bgsave_in_thread()
        try:
            pid = child.fork_child(lambda: self.write_file(os.getpid()))
        except OSError as exc:
            self.last_bgsave_ok = False
            log.warning("Can't save in background: fork: %s", exc)
            return False
        self.child_pid = pid
        self.child_started = time.time()
        log.info("Background saving started by pid %d", pid)
        return True

    def _bgsave_in_thread(self) -> bool:
        """BGSAVE where forking is unsafe (the embedded server runs in a thread of its host, and
        a forked copy of a threaded process may hang on locks other threads held): take the
        snapshot now, in the event loop (a consistent image, at the cost of a pause as long as
        the serialization), and leave the disk writes and fsyncs to a worker thread."""
        import concurrent.futures

        data = self.image()
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyvalkey-bgsave")
        self.thread_job = executor.submit(self.write_image, data, os.getpid())
        executor.shutdown(wait=False)
        self.child_pid = _THREAD_JOB
        self.child_started = time.time()
        log.info("Background saving started in a thread (fork is unsafe in this process)")
        return True

    def kill_child(self) -> None:
        pid = self.child_pid
        if not pid:
            return
        if pid == _THREAD_JOB:  # a thread cannot be killed: let it finish its file
            self.thread_job.result()
            self.child_pid = 0
            return
        child.kill_child(pid)
        self.child_pid = 0
        try:
            os.unlink(os.path.join(os.path.dirname(self.path()) or ".", f"temp-{pid}.rdb"))
        except OSError:
            pass

    def reap(self) -> None:
        """Check on the BGSAVE child; record its outcome when it has exited."""
        pid = self.child_pid
        if not pid:
            return
        if pid == _THREAD_JOB:
            if not self.thread_job.done():
                return
            status = 0 if self.thread_job.exception() is None else child.FAILED_STATUS
        else:
            polled = child.poll_child(pid)
            if polled is None:
                return
            status = polled
        self.child_pid = 0
        self.last_bgsave_seconds = int(time.time() - self.child_started)
        server = self.server
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            server.dirty_at_last_save = self.dirty_before_bgsave  # type: ignore[attr-defined]
            server.lastsave = time.time()  # type: ignore[attr-defined]
            self.last_bgsave_ok = True
            log.info("Background saving terminated with success")
        else:
            self.last_bgsave_ok = False
            log.warning("Background saving error")
            try:
                os.unlink(os.path.join(os.path.dirname(self.path()) or ".", f"temp-{pid}.rdb"))
            except OSError:
                pass

    # -- cron ----------------------------------------------------------------------------------

    def cron(self) -> None:
        self.reap()
        if self.child_pid:
            return
        server = self.server
        now = time.time()
        retry_ok = now - self.last_bgsave_try > _RETRY_DELAY or self.last_bgsave_ok
        if self.bgsave_scheduled and retry_ok:
            self.bgsave_scheduled = False
            self.bgsave()
            return
        points = server.config.save
        if not points or not retry_ok:
            return
        changes = server.keyspace.dirty - getattr(server, "dirty_at_last_save", 0)
        since = now - info_module.lastsave(server)
        for seconds, needed in points:
            if changes >= needed and since > seconds:
                log.info("%d changes in %d seconds. Saving...", needed, seconds)
                self.bgsave()
                return

    # -- MISCONF -------------------------------------------------------------------------------

    def misconf_check(self, client: Client, cmd: Any, argv: list[bytes]) -> Any:
        if self.last_bgsave_ok:
            return None
        server = self.server
        config = server.config
        if not config.stop_writes_on_bgsave_error or not config.save:
            return None
        if getattr(server.keyspace, "is_replica", False):
            return None
        if cmd.is_write or cmd.name == b"ping":
            return ErrorReply(MISCONF)
        return None

    # -- shutdown ------------------------------------------------------------------------------

    def on_close(self) -> None:
        """Server.close: a signal-initiated stop saves when save points exist (SHUTDOWN did its
        own save through the SHUTDOWN hook already)."""
        self.kill_child()
        if not self.shutdown_saved and self.server.config.save:
            self.shutdown_saved = True
            self.save()

    # -- loading -------------------------------------------------------------------------------

    def read_file(self) -> bytes | None:
        """The whole of ``dbfilename``, or None when there is none."""
        try:
            with open(self.path(), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def load(self, merge: bool = False, replace_functions: bool | None = None) -> bool:
        """Load ``dbfilename`` into the (already emptied) keyspace. False on a missing file;
        raises ``RdbError``/``OSError`` on a bad one. ``replace_functions`` (default: ``merge``)
        lets the file's libraries replace existing ones of the same name."""
        data = self.read_file()
        if data is None:
            return False
        server = self.server
        keyspace = server.keyspace
        keyspace.refresh_time()
        limits = rdb.Limits(server.config)
        replace = merge if replace_functions is None else replace_functions

        def on_function(code: bytes) -> None:
            load_libraries(server, [code], replace)

        if merge:
            # Load into scratch databases, then let the file's keys win.
            from pyvalkey.storage.database import Database

            scratch = [Database(i, keyspace) for i in range(len(keyspace.dbs))]
            result = rdb.load_file_bytes(
                data, scratch, limits, keyspace.now_ms, not keyspace.is_replica, on_function=on_function
            )
            for db, loaded in zip(keyspace.dbs, scratch):
                for key, value in loaded.data.items():
                    db.remove(key)
                    db.data[key] = value
                    deadline = loaded.expires.get(key)
                    if deadline is not None:
                        db.set_expire(key, deadline)
        else:
            result = rdb.load_file_bytes(
                data, keyspace.dbs, limits, keyspace.now_ms, not keyspace.is_replica, on_function=on_function
            )
        self._loaded(result)
        return True

    def _loaded(self, result: rdb.LoadResult) -> None:
        server = self.server
        keyspace = server.keyspace
        lru = keyspace.lru_clock
        for db in keyspace.dbs:
            db.touch_all(lru)  # every key accessed now, at no cost per key
        _track_field_ttls(server)
        self.keys_loaded = result.keys
        self.keys_expired = result.expired
        if result.empty_keys:
            log.warning("Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.",
                        result.keys, result.expired, result.empty_keys)
        else:
            log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", result.keys, result.expired)
        server.dirty_at_last_save = keyspace.dirty  # type: ignore[attr-defined]
        server.lastsave = time.time()  # type: ignore[attr-defined]

    async def load_serving(self) -> bool:
        """The start-up load with the listeners already open: the file is loaded in steps and
        between steps the event loop serves clients, who get -LOADING for every command
        without the ``loading`` flag (INFO shows the progress), as in Valkey."""
        data = self.read_file()
        if data is None:
            return False
        server = self.server
        keyspace = server.keyspace
        keyspace.refresh_time()

        def on_function(code: bytes) -> None:
            load_libraries(server, [code], False)

        steps = rdb.iter_load_file_bytes(
            data, keyspace.dbs, rdb.Limits(server.config), keyspace.now_ms, not keyspace.is_replica,
            on_function=on_function,
        )
        self.loading = True
        self.loading_start_time = int(time.time())
        self.loading_total_bytes = len(data)
        self.loading_loaded_bytes = 0
        try:
            result = await self.run_load_steps(steps)
        finally:
            self.loading = False
        self._loaded(result)
        return True

    async def run_load_steps(
        self, steps: Any, still_wanted: Callable[[], bool] = lambda: True, slice_seconds: float = _LOADING_SLICE
    ) -> Any:
        """Drive an RDB load (``rdb.iter_load_file_bytes``), letting the event loop serve
        clients (who get -LOADING) every ``slice_seconds``; the load's result, or None if
        ``still_wanted()`` says, at one of those turns, that the load is no longer wanted."""
        deadline = time.monotonic() + slice_seconds
        while True:
            try:
                self.loading_loaded_bytes = next(steps)
            except StopIteration as done:
                return done.value
            if time.monotonic() >= deadline:
                await asyncio.sleep(0)
                if not still_wanted():
                    return None
                deadline = time.monotonic() + slice_seconds

    def loading_check(self, client: Client, cmd: Any, argv: list[bytes]) -> Any:
        if not cmd.loading_ok:
            return ErrorReply(LOADING)
        return None


def library_codes(server: Server) -> list[bytes]:
    """The source of every function library, for the FUNCTION2 records of an RDB image."""
    current = getattr(server, "scripting", None)
    if current is None:
        return []
    return [library.code for library in current.libraries.values()]


def load_libraries(server: Server, codes: list[bytes], replace: bool) -> None:
    """Create the libraries of a loaded file. A library that already exists is an error unless
    ``replace`` (DEBUG RELOAD MERGE), as when Valkey loads FUNCTION2 records."""
    from pyvalkey.scripting.state import scripting

    try:
        scripting(server).restore_libraries(codes, b"REPLACE" if replace else b"APPEND")
    except ErrorReply as exc:
        raise rdb.RdbError("Failed loading library: " + exc.message.decode(errors="replace")) from None


def flush_libraries(server: Server) -> None:
    current = getattr(server, "scripting", None)
    if current is not None:
        current.flush_functions()


def _track_field_ttls(server: Server) -> None:
    """Hashes with field TTLs join the active field-expiry registry (commands/hashes.py)."""
    from pyvalkey.storage.hashes import HashValue

    registry = None
    for db in server.keyspace.dbs:
        for key, value in db.data.items():
            if type(value) is HashValue and value.expires:
                if registry is None:
                    from pyvalkey.commands import hashes as hashes_module

                    registry = getattr(server, "hash_field_expiry", None)
                    if registry is None:
                        registry = hashes_module.FieldExpiry(server)
                        server.hash_field_expiry = registry  # type: ignore[attr-defined]
                registry.track(db, key, value)


@contextlib.contextmanager
def refusing_until_loaded(server: Server) -> Iterator[None]:
    """Answer -LOADING from the moment the listeners open until the start-up load is over.

    Opening the listeners yields to the event loop, so a client can be served before the load
    has even begun; without this guard it could see an empty dataset."""
    current = state(server)
    checks = server.dispatcher.pre_checks
    checks.insert(0, current.loading_check)
    yield
    # Only a start-up that succeeded lifts the guard: after a failed load the event loop still
    # runs while asyncio winds down, and nobody must see a PONG from a server that is exiting.
    checks.remove(current.loading_check)


async def on_server_start_serving(server: Server) -> None:
    """``on_server_start`` for a server whose listeners are open: clients connecting during a
    long load are answered -LOADING instead of waiting."""
    current = state(server)
    if server.config.appendonly:  # the AOF is the dataset, dbfilename is not read
        from pyvalkey.commands.aof import on_server_start as aof_on_server_start

        aof_on_server_start(server)
        return
    started = time.monotonic()
    try:
        loaded = await current.load_serving()
    except (rdb.RdbError, OSError) as exc:
        log.error("Fatal error loading the DB (%s). Exiting.", exc)
        raise SystemExit(1) from None
    if loaded:
        log.info("DB loaded from disk: %.3f seconds", time.monotonic() - started)


def state(server: Server) -> RdbState:
    current = getattr(server, "rdb_state", None)
    if current is None:
        current = RdbState(server)
        server.rdb_state = current  # type: ignore[attr-defined]
    return current  # type: ignore[no-any-return]


def on_server_start(server: Server) -> None:
    """Called by Server.start before the listeners open: load dir/dbfilename if it exists.
    A file that cannot be loaded stops the server, as in Valkey."""
    current = state(server)
    if server.config.appendonly:  # the AOF is the dataset, dbfilename is not read
        from pyvalkey.commands.aof import on_server_start as aof_on_server_start

        aof_on_server_start(server)
        return
    started = time.monotonic()
    try:
        loaded = current.load()
    except (rdb.RdbError, OSError) as exc:
        log.error("Fatal error loading the DB (%s). Exiting.", exc)
        raise SystemExit(1) from None
    if loaded:
        log.info("DB loaded from disk: %.3f seconds", time.monotonic() - started)


# -- INFO persistence ------------------------------------------------------------------------------


def _info_values(server: Server) -> dict[str, Any]:
    current = getattr(server, "rdb_state", None)
    if current is None:
        return {}
    return {
        "loading": 1 if current.loading else 0,
        "rdb_bgsave_in_progress": 1 if current.child_pid else 0,
        "rdb_last_bgsave_status": "ok" if current.last_bgsave_ok else "err",
        "rdb_last_bgsave_time_sec": current.last_bgsave_seconds,
        "rdb_current_bgsave_time_sec": int(time.time() - current.child_started) if current.child_pid else -1,
        "rdb_saves": current.saves,
        "rdb_last_load_keys_expired": current.keys_expired,
        "rdb_last_load_keys_loaded": current.keys_loaded,
    }


def _info_lines(server: Server) -> list[tuple[str, Any]]:
    current = getattr(server, "rdb_state", None)
    if current is None or not current.loading:
        return []
    total = current.loading_total_bytes
    loaded = current.loading_loaded_bytes
    elapsed = int(time.time()) - current.loading_start_time
    eta = (elapsed * (total - loaded)) // (loaded + 1) if elapsed else 1
    return [
        ("loading_start_time", current.loading_start_time),
        ("loading_total_bytes", total),
        ("loading_rdb_used_mem", 0),
        ("loading_loaded_bytes", loaded),
        ("loading_loaded_perc", f"{loaded * 100 / total if total else 0:.2f}"),
        ("loading_eta_seconds", eta),
    ]


info_module.register_values("persistence", _info_values)
info_module.register_lines("persistence", _info_lines)


# -- commands --------------------------------------------------------------------------------------


@command("save")
def save_command(client: Client, argv: list[bytes]) -> Any:
    current = state(client.server)
    current.reap()
    if current.child_pid:
        raise ErrorReply(BGSAVE_IN_PROGRESS)
    if not current.save():
        raise ErrorReply(GENERIC_ERR)
    return OK


@command("bgsave")
def bgsave_command(client: Client, argv: list[bytes]) -> Any:
    current = state(client.server)
    current.reap()
    schedule = False
    if len(argv) > 1:
        option = argv[1].lower()
        if len(argv) == 2 and option == b"schedule":
            schedule = True
        elif len(argv) == 2 and option == b"cancel":
            if current.child_pid:
                current.kill_child()
                return SimpleString(b"Background saving cancelled")
            if current.bgsave_scheduled:
                current.bgsave_scheduled = False
                return SimpleString(b"Scheduled background saving cancelled")
            raise ErrorReply(BGSAVE_NOT_RUNNING)
        else:
            raise ErrorReply(msg.SYNTAX)
    if current.child_pid:
        raise ErrorReply(BGSAVE_IN_PROGRESS)
    if client.multi is not None:  # inside EXEC
        # Valkey never forks inside EXEC: the save runs from cron right after.
        current.bgsave_scheduled = True
        return SimpleString(b"Background saving scheduled")
    del schedule  # no other child kinds exist here, so SCHEDULE always starts at once
    if not current.bgsave():
        raise ErrorReply(GENERIC_ERR)
    return SimpleString(b"Background saving started")


def _shutdown_hook(server: Server, options: ShutdownOptions) -> bytes | None:
    current = state(server)
    current.kill_child()
    current.shutdown_saved = True  # whatever happens, Server.close must not save again
    if options.wants_save(server) and not current.save():
        current.shutdown_saved = not options.force
        return b"Error trying to save the DB"
    return None


SHUTDOWN_HOOKS.append(_shutdown_hook)


@debug_subcommand(
    "reload",
    lambda n: n >= 2,
    "RELOAD [MERGE] [NOFLUSH] [NOSAVE]",
    "Write the dataset to the RDB file, empty memory and read the file back in.",
    "MERGE: keys read from the file replace keys of the same name in memory.",
    "NOFLUSH: keep the keys in memory instead of emptying the databases first.",
    "NOSAVE: skip the write and read whatever RDB file is on disk.",
)
def debug_reload(client: Client, argv: list[bytes]) -> Any:
    merge = False
    flush = save = True
    for option in argv[2:]:
        word = option.lower()
        if word == b"merge":
            merge = True
        elif word == b"noflush":
            flush = False
        elif word == b"nosave":
            save = False
        else:
            raise ErrorReply(RELOAD_OPTIONS)
    server = client.server
    current = state(server)
    if save and not current.save():
        raise ErrorReply(GENERIC_ERR)
    keyspace = server.keyspace
    if flush:
        # Emptying the dataset for a reload empties the function libraries too.
        for db in keyspace.dbs:
            db.clear()
        flush_libraries(server)
    try:
        # Valkey would abort on a key present in memory and in the file without MERGE; keys
        # are merged here instead, but libraries follow Valkey (a duplicate fails the load).
        ok = current.load(merge=merge or not flush, replace_functions=merge)
    except (rdb.RdbError, OSError) as exc:
        log.warning("DEBUG RELOAD failed: %s", exc)
        ok = False
    if not ok:
        raise ErrorReply(RELOAD_FAILED)
    log.info("DB reloaded by DEBUG RELOAD")
    return OK


@command("dump")
def dump_command(client: Client, argv: list[bytes]) -> Any:
    value = client.db.lookup_read(argv[1])
    if value is None:
        return None
    try:
        return rdb.create_dump_payload(value, bool(client.server.config.rdbcompression))
    except rdb.RdbError as exc:
        raise ErrorReply(b"ERR " + str(exc).encode()) from None


@command("restore")
def restore_command(client: Client, argv: list[bytes]) -> Any:
    replace = absttl = False
    idle = freq = -1
    i = 4
    n = len(argv)
    while i < n:
        option = argv[i].lower()
        more = n - i - 1
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more >= 1 and freq == -1:
            idle = _int_arg(argv[i + 1])
            if idle < 0:
                raise ErrorReply(INVALID_IDLETIME)
            i += 1
        elif option == b"freq" and more >= 1 and idle == -1:
            freq = _int_arg(argv[i + 1])
            if freq < 0 or freq > 255:
                raise ErrorReply(INVALID_FREQ)
            i += 1
        else:
            raise ErrorReply(msg.SYNTAX)
        i += 1
    key = argv[1]
    db = client.db
    if not replace and db.lookup_write(key) is not None:
        raise ErrorReply(BUSYKEY)
    ttl = _int_arg(argv[2])
    if ttl < 0:
        raise ErrorReply(INVALID_TTL)
    payload = argv[3]
    server = client.server
    if not rdb.verify_dump_payload(payload, not getattr(server, "skip_checksum_validation", False)):
        raise ErrorReply(DUMP_PAYLOAD_WRONG)
    try:
        value = rdb.decode_dump_payload(payload, rdb.Limits(server.config))
    except rdb.RdbError:
        raise ErrorReply(BAD_DATA_FORMAT) from None
    keyspace = server.keyspace
    deleted = db.delete(key) if replace else False
    if ttl and not absttl:
        ttl += keyspace.now_ms
    if ttl and ttl <= keyspace.now_ms and not keyspace.is_replica:
        if deleted:
            # What happened is a deletion, and that is what replicas and the AOF get.
            server.propagator.rewrite([b"UNLINK" if server.config.lazyfree_lazy_server_del else b"DEL", key])
            db.notify(NOTIFY_GENERIC, b"del", key)
            keyspace.dirty += 1
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
    # As in Valkey, FREQ only counts under an LFU maxmemory-policy and IDLETIME only under the
    # others (the same per-key field holds one or the other).
    if "lfu" in str(server.config.maxmemory_policy):
        if freq >= 0:
            set_lfu_counter(server, db, key, value, freq)
    elif idle >= 0:
        db.access[key] = keyspace.lru_clock - idle
    if type(value).__name__ == "HashValue" and value.expires:
        _track_field_ttls_for(client, key, value)
    db.notify(NOTIFY_GENERIC, b"restore", key)
    keyspace.dirty += 1
    return OK


def set_lfu_counter(server: Server, db: Any, key: bytes, value: Any, freq: int) -> None:
    """Remember an LFU counter given to ``key`` (RESTORE FREQ, an RDB FREQ record). Keys have no
    counter field here, so it lives in ``server.lfu_counters`` next to the value it belongs to;
    OBJECT FREQ uses it while ``key`` still holds that value."""
    counters = getattr(server, "lfu_counters", None)
    if counters is None:
        counters = server.lfu_counters = {}  # type: ignore[attr-defined]
    counters[(db.index, key)] = (value, freq)


def _track_field_ttls_for(client: Client, key: bytes, value: Any) -> None:
    from pyvalkey.commands import hashes as hashes_module

    hashes_module._registry(client).track(client.db, key, value)


def _int_arg(arg: bytes) -> int:
    number = parse_int(arg)
    if number is None:
        raise ErrorReply(msg.NOT_INTEGER)
    return number
