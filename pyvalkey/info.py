"""INFO: every section, its field names and order exactly as Valkey 9.1.2 prints them.

A section is a function ``(server) -> list of (field, value)``; values are rendered with
``str()`` (floats are pre-formatted by the section, as Valkey prints each with its own precision).
The text is ``# Title\\r\\nfield:value\\r\\n...`` with one blank line between sections; the INFO
command wraps it in a verbatim string.

Sub-systems that are written elsewhere (replication, pub/sub, tracking, persistence, scripting,
cluster) plug their live values in without this module knowing them: ``register_values(section,
provider)`` adds a function ``(server) -> {field: value}`` whose results override the defaults
below, and ``register_lines(section, provider)`` adds whole lines for the list-like sections
(``modules``, ``scriptingengines``, ``cluster_info``). Field order never changes: it is fixed here.

Memory figures are honest estimates for a Python process: ``used_memory`` is the resident set
size (``/proc/self/statm``) minus what glibc's malloc holds free for reuse, ``used_memory_startup``
the same figure right after start-up, and the dataset is the difference. There is no allocator of our own, so the allocator_* fields mirror the RSS.
Latency percentiles are not sampled per call (that would cost the hot path); each command's
line reports its mean call time for every percentile.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyvalkey.server import Server

__all__ = [
    "ALL_SECTIONS",
    "DEFAULT_SECTIONS",
    "InstantaneousMetrics",
    "bytes_to_human",
    "generate_info",
    "register_lines",
    "register_values",
]

REDIS_COMPAT_VERSION = "7.2.4"
LRU_CLOCK_MAX = (1 << 24) - 1

Fields = list[tuple[str, Any]]
ValueProvider = Callable[["Server"], dict[str, Any]]
LineProvider = Callable[["Server"], Iterable[tuple[str, Any]]]

_VALUE_PROVIDERS: dict[str, list[ValueProvider]] = {}
_LINE_PROVIDERS: dict[str, list[LineProvider]] = {}


def register_values(section: str, provider: ValueProvider) -> None:
    """Let a sub-system supply live values for fields of ``section`` (see module docstring)."""
    _VALUE_PROVIDERS.setdefault(section, []).append(provider)


def register_lines(section: str, provider: LineProvider) -> None:
    """Let a sub-system add (field, value) lines to a list-like section."""
    _LINE_PROVIDERS.setdefault(section, []).append(provider)


def _apply_providers(section: str, server: Server, fields: Fields) -> Fields:
    providers = _VALUE_PROVIDERS.get(section)
    if not providers:
        return fields
    overrides: dict[str, Any] = {}
    for provider in providers:
        overrides.update(provider(server))
    return [(name, overrides.get(name, value)) for name, value in fields]


def _extra_lines(section: str, server: Server) -> Fields:
    lines: Fields = []
    for provider in _LINE_PROVIDERS.get(section, ()):
        lines.extend(provider(server))
    return lines


def bytes_to_human(n: int) -> str:
    """Valkey's human-readable byte counts: 512B, 1.50K, 1.00M, ... (powers of 1024)."""
    if n < 1024:
        return f"{n}B"
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if n < 1024 ** (power + 1):
            return f"{n / 1024**power:.2f}{unit}"
    return f"{n}B"


def _safe_name(name: str) -> str:
    # Field names must not break the "name:value" line format.
    for char in "#:\n\r":
        name = name.replace(char, "_")
    return name


def _conf(server: Server, name: str, default: Any) -> Any:
    """A config value that another helper may not have registered yet."""
    try:
        return getattr(server.config, name)
    except AttributeError:
        return default


# -- process figures -------------------------------------------------------------------------

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_rss() -> int:
    """Resident set size of this process in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _total_system_memory() -> int:
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * _PAGE_SIZE)
    except (ValueError, OSError, AttributeError):
        return 0


_mallinfo: Any = None  # glibc's mallinfo2 through ctypes, loaded on first use; False: unavailable


def _malloc_free_bytes() -> int:
    """Bytes that malloc holds free for reuse (glibc's ``fordblks``); 0 where unknown."""
    global _mallinfo
    if _mallinfo is None:
        try:
            import ctypes

            class _Mallinfo2(ctypes.Structure):
                _fields_ = [
                    (name, ctypes.c_size_t)
                    for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
                ]

            function = ctypes.CDLL(None).mallinfo2
            function.restype = _Mallinfo2
            _mallinfo = function
        except (OSError, AttributeError, ImportError):
            _mallinfo = False
    if _mallinfo is False:
        return 0
    return int(_mallinfo().fordblks)


def used_memory() -> int:
    """The memory figure INFO reports and ``maxmemory`` compares with: the resident set size
    minus what malloc keeps free for reuse, so that a large value freed and a new one allocated
    in its place show up as Valkey's own allocation count would."""
    return max(process_rss() - _malloc_free_bytes(), 0)


class MemoryStats:
    """Memory at start-up and the peak seen since, kept on the server as ``server.memory_stats``."""

    def __init__(self) -> None:
        self.startup = used_memory()
        self.peak = self.startup

    def sample(self) -> int:
        used = used_memory()
        self.peak = max(self.peak, used)
        return used


def memory_stats(server: Server) -> MemoryStats:
    stats = getattr(server, "memory_stats", None)
    if stats is None:
        stats = MemoryStats()
        server.memory_stats = stats  # type: ignore[attr-defined]
    return stats  # type: ignore[no-any-return]


class InstantaneousMetrics:
    """Valkey's instantaneous_* figures: a rate sampled every 100 ms, averaged over 16 samples."""

    SAMPLES = 16

    def __init__(self, server: Server) -> None:
        self.server = server
        self.last_ms = time.monotonic() * 1000
        self.last = self._counters()
        self.history: dict[str, list[float]] = {name: [] for name in self.last}

    def _counters(self) -> dict[str, float]:
        stats = self.server.stats
        return {
            "ops": stats.commands_processed,
            "in": stats.net_input_bytes,
            "out": stats.net_output_bytes,
            "cycles": self.server.cronloops,
        }

    def sample(self) -> None:
        now = time.monotonic() * 1000
        elapsed = now - self.last_ms
        if elapsed < 100:
            return
        current = self._counters()
        for name, value in current.items():
            rate = (value - self.last[name]) * 1000 / elapsed
            history = self.history[name]
            history.append(rate)
            if len(history) > self.SAMPLES:
                del history[0]
        self.last = current
        self.last_ms = now

    def rate(self, name: str) -> float:
        history = self.history[name]
        return sum(history) / len(history) if history else 0.0


def instantaneous(server: Server) -> InstantaneousMetrics:
    metrics = getattr(server, "instantaneous_metrics", None)
    if metrics is None:
        metrics = InstantaneousMetrics(server)
        server.instantaneous_metrics = metrics  # type: ignore[attr-defined]
        server.cron_jobs.append(metrics.sample)
        memory = memory_stats(server)
        server.cron_jobs.append(memory.sample)
    return metrics  # type: ignore[no-any-return]


def repl_ids(server: Server) -> tuple[str, str]:
    """The replication ID pair; created here until the replication module owns them."""
    replid = getattr(server, "replid", None)
    if replid is None:
        import secrets

        replid = secrets.token_hex(20)
        server.replid = replid  # type: ignore[attr-defined]
    replid2 = getattr(server, "replid2", None)
    if replid2 is None:
        replid2 = "0" * 40
        server.replid2 = replid2  # type: ignore[attr-defined]
    return str(replid), str(replid2)


def lastsave(server: Server) -> int:
    """Unix time of the last successful save (start-up time until persistence saves)."""
    value = getattr(server, "lastsave", None)
    if value is None:
        return int(server.start_time)
    return int(value)


# -- sections ----------------------------------------------------------------------------------

# os.uname() rather than platform.uname(): the same three fields, without importing platform (~3 ms of
# every start-up).
_UNAME = os.uname()
_MULTIPLEXING = (
    "epoll" if hasattr(__import__("select"), "epoll") else "kqueue" if sys.platform == "darwin" else "select"
)


def _listeners(server: Server) -> Fields:
    fields: Fields = []
    index = 0
    port = server.tcp_port or server.config.port
    if port:
        bind = server.config.bind
        binds = bind if isinstance(bind, list) else str(bind).split()
        line = "name=tcp," + ",".join(f"bind={b}" for b in binds) + f",port={port}"
        fields.append((f"listener{index}", line))
        index += 1
    if server.config.unixsocket:
        fields.append((f"listener{index}", f"name=unix,bind={server.config.unixsocket}"))
        index += 1
    return fields


def section_server(server: Server) -> Fields:
    uptime = server.uptime()
    hz = server.config.hz
    mode = "cluster" if _conf(server, "cluster_enabled", False) else "standalone"
    fields: Fields = [
        ("redis_version", REDIS_COMPAT_VERSION),
        ("server_name", "valkey"),
        ("valkey_version", _valkey_version()),
        ("valkey_release_stage", "ga"),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("server_mode", mode),
        ("os", f"{_UNAME.sysname} {_UNAME.release} {_UNAME.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", _MULTIPLEXING),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", server.run_id),
        ("tcp_port", server.tcp_port or server.config.port),
        ("server_time_usec", server.clock.us()),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", hz),
        ("configured_hz", hz),
        ("clients_hz", hz),
        ("lru_clock", (server.clock.ms() // 1000) & LRU_CLOCK_MAX),
        ("executable", server.executable),
        ("config_file", os.path.abspath(server.config.file) if server.config.file else ""),
        ("io_threads_active", 0),
        ("availability_zone", _conf(server, "availability_zone", "")),
    ]
    fields = _apply_providers("server", server, fields)
    fields.extend(_listeners(server))
    return fields


def _valkey_version() -> str:
    from pyvalkey.server import VALKEY_VERSION

    return VALKEY_VERSION


def section_tls(server: Server) -> Fields:
    return _apply_providers(
        "tls",
        server,
        [
            ("tls_server_cert_serial", "none"),
            ("tls_server_cert_expires_in_seconds", 0),
            ("tls_client_cert_serial", "none"),
            ("tls_client_cert_expires_in_seconds", 0),
            ("tls_ca_cert_serial", "none"),
            ("tls_ca_cert_expires_in_seconds", 0),
        ],
    )


def section_clients(server: Server) -> Fields:
    clients = server.clients.values()
    connected = 0
    blocked = 0
    pubsub = 0
    max_in = 0
    max_out = 0
    for client in clients:
        if "replica" in client.flags:
            continue
        connected += 1
        if client.blocked is not None:
            blocked += 1
        if "subscriber" in client.flags:
            pubsub += 1
        buffered = client.reader.buffered() if hasattr(client.reader, "buffered") else 0
        max_in = max(max_in, buffered)
        max_out = max(max_out, len(client.out))
    paused = server.paused
    blocking_keys = server.blocking.key_counts()
    fields: Fields = [
        ("connected_clients", connected),
        ("cluster_connections", 0),
        ("maxclients", server.config.maxclients),
        ("client_recent_max_input_buffer", max_in),
        ("client_recent_max_output_buffer", max_out),
        ("blocked_clients", blocked),
        ("tracking_clients", 0),
        ("pubsub_clients", pubsub),
        ("watching_clients", 0),
        ("clients_in_timeout_table", 0),
        ("total_watched_keys", 0),
        # (streams work) keys waited on, and those with a waiter woken by deletion (XREADGROUP)
        ("total_blocking_keys", blocking_keys[0]),
        ("total_blocking_keys_on_nokey", blocking_keys[1]),
        ("paused_reason", getattr(paused, "reason", "none") if paused is not None else "none"),
        ("paused_actions", getattr(paused, "actions", "none") if paused is not None else "none"),
        ("paused_timeout_milliseconds", getattr(paused, "remaining_ms", 0) if paused is not None else 0),
    ]
    return _apply_providers("clients", server, fields)


def section_memory(server: Server) -> Fields:
    mem = memory_stats(server)
    used = mem.sample()
    rss = max(process_rss(), used)
    lazy = getattr(server, "lazyfree", None)  # pyvalkey/lazyfree.py, once something was freed lazily
    startup = mem.startup
    dataset = max(used - startup, 0)
    overhead = used - dataset
    peak = mem.peak
    maxmemory = server.config.maxmemory
    total_system = _total_system_memory()
    scripts = getattr(server, "scripting", None)  # created on first use (pyvalkey.scripting.state)
    fields: Fields = [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", f"{used * 100 / peak if peak else 0:.2f}%"),
        ("used_memory_overhead", overhead),
        ("used_memory_startup", startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{dataset * 100 / used if used else 0:.2f}%"),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("allocator_muzzy", 0),
        ("total_system_memory", total_system),
        ("total_system_memory_human", bytes_to_human(total_system)),
        ("used_memory_lua", 0),
        ("used_memory_vm_eval", 0),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", len(scripts.scripts) if scripts is not None else 0),
        ("number_of_functions", len(scripts.functions) if scripts is not None else 0),
        ("number_of_libraries", len(scripts.libraries) if scripts is not None else 0),
        ("used_memory_vm_functions", 0),
        ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", server.config.maxmemory_policy),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", 0),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", f"{rss / used if used else 1:.2f}"),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_replicas_repl_buffer", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", sum(len(c.out) for c in server.clients.values())),
        ("mem_cluster_links", 0),
        ("mem_cluster_slot_import", 0),
        ("mem_cluster_slot_export", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("mem_overhead_db_hashtable_rehashing", 0),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", lazy.pending if lazy is not None else 0),
        ("lazyfreed_objects", lazy.freed if lazy is not None else 0),
    ]
    return _apply_providers("memory", server, fields)


def section_persistence(server: Server) -> Fields:
    dirty_at_save = getattr(server, "dirty_at_last_save", 0)
    fields: Fields = [
        ("loading", 0),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", server.keyspace.dirty - dirty_at_save),
        ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", lastsave(server)),
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1),
        ("rdb_current_bgsave_time_sec", -1),
        ("rdb_saves", 0),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", 0),
        ("aof_enabled", int(bool(server.config.appendonly))),
        ("aof_rewrite_in_progress", 0),
        ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1),
        ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", 0),
        ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
        ("slot_migration_fork_in_progress", 0),
    ]
    # aof_current_size ... only while AOF is on (commands/aof.py registers them).
    return _apply_providers("persistence", server, fields) + _extra_lines("persistence", server)


def section_stats(server: Server) -> Fields:
    stats = server.stats
    keyspace = server.keyspace
    metrics = instantaneous(server)
    fields: Fields = [
        ("total_connections_received", stats.connections_received),
        ("total_commands_processed", stats.commands_processed),
        ("instantaneous_ops_per_sec", int(metrics.rate("ops"))),
        ("total_net_input_bytes", stats.net_input_bytes),
        ("total_net_output_bytes", stats.net_output_bytes),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("total_net_cluster_slot_import_bytes", 0),
        ("total_net_cluster_slot_export_bytes", 0),
        ("instantaneous_input_kbps", f"{metrics.rate('in') / 1024:.2f}"),
        ("instantaneous_output_kbps", f"{metrics.rate('out') / 1024:.2f}"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", 0),
        ("sync_partial_ok", 0),
        ("sync_partial_err", 0),
        ("expired_keys", keyspace.expired_keys),
        ("expired_fields", getattr(keyspace, "expired_fields", 0)),
        ("expired_stale_perc", "0.00"),
        ("expired_keys_with_volatile_items_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", getattr(keyspace, "evicted_keys", 0)),
        ("evicted_clients", 0),
        ("evicted_scripts", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", keyspace.hits),
        ("keyspace_misses", keyspace.misses),
        ("pubsub_channels", 0),
        ("pubsub_patterns", 0),
        ("pubsubshard_channels", 0),
        ("latest_fork_usec", 0),
        ("total_forks", 0),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", 0),
        ("total_error_replies", stats.total_error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", getattr(stats, "reads_processed", 0)),
        ("total_writes_processed", getattr(stats, "writes_processed", 0)),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("io_threaded_freed_objects", 0),
        ("io_threaded_accept_processed", 0),
        ("io_threaded_poll_processed", 0),
        ("io_threaded_total_prefetch_batches", 0),
        ("io_threaded_total_prefetch_entries", 0),
        ("client_query_buffer_limit_disconnections", getattr(stats, "qbuf_limit_disconnections", 0)),
        ("client_output_buffer_limit_disconnections", getattr(stats, "outbuf_limit_disconnections", 0)),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
        ("eventloop_cycles", server.cronloops),
        ("eventloop_duration_sum", 0),
        ("eventloop_duration_cmd_sum", _total_command_usec()),
        ("instantaneous_eventloop_cycles_per_sec", int(metrics.rate("cycles"))),
        ("instantaneous_eventloop_duration_usec", 0),
        ("acl_access_denied_auth", getattr(stats, "acl_denied_auth", 0)),
        ("acl_access_denied_cmd", getattr(stats, "acl_denied_cmd", 0)),
        ("acl_access_denied_key", getattr(stats, "acl_denied_key", 0)),
        ("acl_access_denied_channel", getattr(stats, "acl_denied_channel", 0)),
        ("acl_access_denied_tls_cert", 0),
        ("acl_access_denied_db", getattr(stats, "acl_denied_db", 0)),
    ]
    return _apply_providers("stats", server, fields)


def _total_command_usec() -> int:
    from pyvalkey.commands.registry import all_commands

    return sum(cmd.usec for cmd in all_commands())


def section_replication(server: Server) -> Fields:
    replid, replid2 = repl_ids(server)
    fields: Fields = [
        ("role", "master"),
        ("connected_slaves", 0),
        ("replicas_waiting_psync", 0),
        ("master_failover_state", "no-failover"),
        ("master_replid", replid),
        ("master_replid2", replid2),
        ("master_repl_offset", getattr(server, "repl_offset", 0)),
        ("second_repl_offset", getattr(server, "second_repl_offset", -1)),
        ("repl_backlog_active", 0),
        ("repl_backlog_size", _conf(server, "repl_backlog_size", 10 * 1024 * 1024)),
        ("repl_backlog_first_byte_offset", 0),
        ("repl_backlog_histlen", 0),
    ]
    # A replication module replaces this section wholesale (replica fields come and go).
    for provider in _LINE_PROVIDERS.get("replication", ()):
        return list(provider(server))
    return _apply_providers("replication", server, fields)


def _rusage_time(value: float) -> str:
    # Valkey prints seconds.microseconds with exactly six digits.
    return f"{value:.6f}"


def section_cpu(server: Server) -> Fields:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    thread_usage = getattr(resource, "RUSAGE_THREAD", None)
    main = resource.getrusage(thread_usage) if thread_usage is not None else me
    return [
        ("used_cpu_sys", _rusage_time(me.ru_stime)),
        ("used_cpu_user", _rusage_time(me.ru_utime)),
        ("used_cpu_sys_children", _rusage_time(children.ru_stime)),
        ("used_cpu_user_children", _rusage_time(children.ru_utime)),
        ("used_cpu_sys_main_thread", _rusage_time(main.ru_stime)),
        ("used_cpu_user_main_thread", _rusage_time(main.ru_utime)),
        ("used_active_time_main_thread", _rusage_time(_total_command_usec() / 1e6)),
    ]


def section_modules(server: Server) -> Fields:
    return _extra_lines("modules", server)


def _commands_in_order() -> list[Any]:
    from pyvalkey.commands.registry import COMMANDS

    ordered = []
    for cmd in COMMANDS.values():
        ordered.append(cmd)
        ordered.extend(cmd.subcommands.values())
    return ordered


def section_commandstats(server: Server) -> Fields:
    fields: Fields = []
    for cmd in _commands_in_order():
        if cmd.calls or cmd.failed_calls or cmd.rejected_calls:
            per_call = cmd.usec / cmd.calls if cmd.calls else 0.0
            fields.append(
                (
                    "cmdstat_" + _safe_name(cmd.fullname),
                    (
                        f"calls={cmd.calls},usec={cmd.usec},usec_per_call={per_call:.2f},"
                        f"rejected_calls={cmd.rejected_calls},failed_calls={cmd.failed_calls}"
                    ),
                )
            )
    return fields


def section_errorstats(server: Server) -> Fields:
    errors = server.stats.errors
    return [
        ("errorstat_" + _safe_name(code.decode(errors="replace")), f"count={errors[code]}")
        for code in sorted(errors)
    ]


def section_latencystats(server: Server) -> Fields:
    fields: Fields = []
    if not _conf(server, "latency_tracking", True):
        return fields
    from pyvalkey.latency import percentile_us

    percentiles = _conf(server, "latency_tracking_info_percentiles", [50.0, 99.0, 99.9])
    for cmd in _commands_in_order():
        if cmd.latency_us:
            shown = ",".join(f"p{_percentile_name(p)}={percentile_us(cmd.latency_us, p):.3f}" for p in percentiles)
            fields.append(("latency_percentiles_usec_" + _safe_name(cmd.fullname), shown))
    return fields


def _percentile_name(percentile: float) -> str:
    # Valkey prints the configured percentile as %f with trailing zeros removed (50, 99.9).
    return f"{percentile:f}".rstrip("0").rstrip(".")


def section_cluster(server: Server) -> Fields:
    return [("cluster_enabled", int(bool(_conf(server, "cluster_enabled", False))))]


def section_cluster_info(server: Server) -> Fields:
    return _extra_lines("cluster_info", server)


def section_scripting_engines(server: Server) -> Fields:
    lines = _extra_lines("scriptingengines", server)
    if lines:
        return lines
    return [("engines_count", 0), ("engines_total_used_memory", 0), ("engines_total_memory_overhead", 0)]


def section_keyspace(server: Server) -> Fields:
    fields: Fields = []
    for db in server.keyspace.dbs:
        keys = len(db.data)
        expires = len(db.expires)
        if keys or expires:
            fields.append(
                (
                    f"db{db.index}",
                    (
                        f"keys={keys},expires={expires},avg_ttl={_avg_ttl(db)},"
                        f"keys_with_volatile_items={_volatile_items(db)}"
                    ),
                )
            )
    return fields


def _avg_ttl(db: Any) -> int:
    # Valkey keeps a running estimate refreshed by the active expiry cycle; ours is exact for
    # small key sets and sampled for large ones.
    expires = db.expires
    if not expires:
        return 0
    now = db.keyspace.now_ms
    total = 0
    count = 0
    for deadline in expires.values():
        if deadline > now:
            total += deadline - now
            count += 1
        if count >= 1000:
            break
    return total // count if count else 0


def _volatile_items(db: Any) -> int:
    counter = getattr(db, "keys_with_volatile_items", None)
    if counter is None:
        return 0
    return int(counter() if callable(counter) else counter)


# (name accepted by INFO, title, builder), in the order Valkey prints them.
SECTIONS: list[tuple[str, str, Callable[[Server], Fields]]] = [
    ("server", "Server", section_server),
    ("tls", "TLS", section_tls),
    ("clients", "Clients", section_clients),
    ("memory", "Memory", section_memory),
    ("persistence", "Persistence", section_persistence),
    ("stats", "Stats", section_stats),
    ("replication", "Replication", section_replication),
    ("cpu", "CPU", section_cpu),
    ("modules", "Modules", section_modules),
    ("commandstats", "Commandstats", section_commandstats),
    ("errorstats", "Errorstats", section_errorstats),
    ("latencystats", "Latencystats", section_latencystats),
    ("cluster", "Cluster", section_cluster),
    ("cluster_info", "Cluster Info", section_cluster_info),
    ("scriptingengines", "Scripting Engines", section_scripting_engines),
    ("keyspace", "Keyspace", section_keyspace),
]

DEFAULT_SECTIONS = frozenset(
    {
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "errorstats",
        "cluster",
        "keyspace",
    }
)
ALL_SECTIONS = frozenset(name for name, _, _ in SECTIONS)
# Names that select a section under another name.
_ALIASES = {"module_list": "modules"}
_EXTRA_SECTIONS: list[tuple[str, str, Callable[[Server], Fields]]] = []


def register_section(name: str, title: str, builder: Callable[[Server], Fields]) -> None:
    """A section only printed when asked for by name (like a module's own section)."""
    _EXTRA_SECTIONS.append((name, title, builder))


def _debug_section(server: Server) -> Fields:
    return [
        ("eventloop_duration_aof_sum", 0),
        ("eventloop_duration_cron_sum", 0),
        ("eventloop_duration_max", 0),
        ("eventloop_cmd_per_cycle_max", 0),
    ]


register_section("debug", "Debug", _debug_section)


def select_sections(args: list[bytes]) -> tuple[set[str], bool]:
    """The requested section names and whether every section was asked for."""
    if not args:
        return set(DEFAULT_SECTIONS), False
    wanted: set[str] = set()
    everything = False
    for arg in args:
        name = arg.decode(errors="replace").lower()
        if name == "default":
            wanted |= DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            everything = True
        else:
            wanted.add(_ALIASES.get(name, name))
    return wanted, everything


def render(sections: list[tuple[str, Fields]]) -> bytes:
    parts = []
    for title, fields in sections:
        lines = [f"# {title}\r\n"]
        lines.extend(f"{name}:{value}\r\n" for name, value in fields)
        parts.append("".join(lines))
    return "\r\n".join(parts).encode(errors="replace")


def generate_info(server: Server, args: list[bytes]) -> bytes:
    """The INFO text for the given section arguments (empty list: the default sections)."""
    wanted, everything = select_sections(args)
    chosen: list[tuple[str, Fields]] = []
    for name, title, builder in SECTIONS:
        if everything or name in wanted:
            chosen.append((title, builder(server)))
    for name, title, builder in _EXTRA_SECTIONS:
        if name in wanted:
            chosen.append((title, builder(server)))
    return render(chosen)
