"""Latency monitoring: event samples (LATENCY LATEST / HISTORY / GRAPH / DOCTOR) and per-command
latency histograms (LATENCY HISTOGRAM, INFO latencystats).

Events. With ``latency-monitor-threshold`` above 0, anything that took at least that many
milliseconds is sampled under its event name ("command", "fast-command", "expire-cycle", ...).
Each event keeps its last 160 samples, one per second (a second sample in the same second keeps
the larger latency), plus its all-time maximum, sum and count.

Histograms. Valkey records each call's duration (microseconds, times 1000) in an HDR histogram
with two significant figures and reports it in power-of-two buckets from 1024 ns. Here each
command keeps ``{duration_us: calls}`` (``Command.latency_us``, filled by the dispatcher), which
holds everything needed to give the same buckets and percentiles as the HDR histogram would.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyvalkey.client import Client
    from pyvalkey.commands.registry import Command
    from pyvalkey.server import Server

MAX_SAMPLES = 160
GRAPH_WIDTH = 80
GRAPH_ROWS = 4

# -- events --------------------------------------------------------------------------------------


class EventHistory:
    __slots__ = ("count", "max", "samples", "sum")

    def __init__(self) -> None:
        self.samples: deque[list[int]] = deque(maxlen=MAX_SAMPLES)  # [unix time, latency ms]
        self.max = 0
        self.sum = 0
        self.count = 0

    def add(self, now: int, latency_ms: int) -> None:
        self.max = max(self.max, latency_ms)
        self.sum += latency_ms
        self.count += 1
        samples = self.samples
        if samples and samples[-1][0] == now:
            samples[-1][1] = max(samples[-1][1], latency_ms)
        else:
            samples.append([now, latency_ms])


class LatencyMonitor:
    """The server's latency events, kept as ``server.latency``."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.events: dict[str, EventHistory] = {}

    def add_sample_if_needed(self, event: str, latency_ms: int) -> None:
        threshold = self.server.config.latency_monitor_threshold
        if threshold and latency_ms >= threshold:
            self.add_sample(event, latency_ms)

    def add_sample(self, event: str, latency_ms: int) -> None:
        history = self.events.get(event)
        if history is None:
            history = self.events[event] = EventHistory()
        history.add(int(time.time()), latency_ms)

    def reset(self, names: list[str] | None) -> int:
        if names is None:
            count = len(self.events)
            self.events.clear()
            return count
        count = 0
        for name in names:
            if self.events.pop(name, None) is not None:
                count += 1
        return count


def monitor(server: Server) -> LatencyMonitor:
    existing: LatencyMonitor | None = getattr(server, "latency", None)
    if existing is None:
        existing = LatencyMonitor(server)
        server.latency = existing  # type: ignore[attr-defined]
    return existing


def note_slow_call(server: Server, client: Client, cmd: Command, argv: list[bytes], elapsed_us: int) -> None:
    """A call reached the slow path (see ``Stats.slow_path_us``): the slow log and the latency
    monitor each take it if it is slow enough for them."""
    from pyvalkey.commands.registry import import_us_of_call

    # A command's first call imports its group (commands/registry.py): that is not its own time.
    elapsed_us -= import_us_of_call(cmd, elapsed_us)
    stats = server.stats
    if elapsed_us >= stats.slowlog_threshold_us >= 0:
        server.slowlog.record(client, argv, elapsed_us)
    threshold_ms = stats.latency_threshold_ms
    if threshold_ms and elapsed_us // 1000 >= threshold_ms:
        blocked = client.blocked
        if blocked is None or getattr(blocked, "rerunning", False):
            event = "fast-command" if "fast" in cmd.flags else "command"
            monitor(server).add_sample(event, elapsed_us // 1000)


# -- the ASCII graph -----------------------------------------------------------------------------

# The top of a column: three heights per row; below the top a column is filled with '|'.
_TOPS = "_o#"


def _age_label(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def render_graph(event: str, history: EventHistory, now: int) -> str:
    samples = list(history.samples)
    values = [latency for _, latency in samples]
    low, high = min(values), max(values)
    out = [f"{event} - high {high} ms, low {low} ms (all time high {history.max} ms)\n", "-" * GRAPH_WIDTH + "\n"]
    steps = len(_TOPS) * GRAPH_ROWS
    span = high - low
    for start in range(0, len(samples), GRAPH_WIDTH):
        stripe = samples[start : start + GRAPH_WIDTH]
        columns = []
        for _, latency in stripe:
            step = int((latency - low) / span * steps) if span else 0
            step = min(step, steps - 1)
            top_row, top_char = divmod(step, len(_TOPS))
            column = []
            for row in range(GRAPH_ROWS - 1, -1, -1):  # top row first
                column.append(_TOPS[top_char] if row == top_row else "|" if row < top_row else " ")
            columns.append(column)
        for row in range(GRAPH_ROWS):
            out.append("".join(column[row] for column in columns) + "\n")
        labels = [_age_label(now - when) for when, _ in stripe]
        out.append(" " * len(stripe) + "\n")
        for index in range(max(len(label) for label in labels)):
            out.append("".join(label[index] if index < len(label) else " " for label in labels) + "\n")
    return "".join(out)


# -- histograms ----------------------------------------------------------------------------------

_FIRST_BUCKET_NS = 1024
# HDR histogram with two significant figures: values in [2^(7+b), 2^(8+b)) ns share a range of
# 2^b ns (b >= 0); below 256 ns every value is its own.
_SUB_BUCKET_BITS = 8


def _range_size(value_ns: int) -> int:
    return 1 << max(value_ns.bit_length() - _SUB_BUCKET_BITS, 0)


def _lowest_equivalent(value_ns: int) -> int:
    size = _range_size(value_ns)
    return value_ns - value_ns % size


def _highest_equivalent(value_ns: int) -> int:
    return _lowest_equivalent(value_ns) + _range_size(value_ns) - 1


def _recorded_ns(duration_us: int) -> int:
    # Valkey records microseconds times 1000, never less than its first bucket.
    return max(duration_us * 1000, _FIRST_BUCKET_NS)


def histogram_buckets(latency_us: dict[int, int]) -> list[tuple[int, int]]:
    """``[(bucket upper bound in µs, cumulative calls)]`` for the power-of-two buckets from
    1024 ns in which the count grows, as Valkey's LATENCY HISTOGRAM lists them."""
    if not latency_us:
        return []
    recorded = sorted((_recorded_ns(us), calls) for us, calls in latency_us.items())
    total = sum(calls for _, calls in recorded)
    buckets: list[tuple[int, int]] = []
    seen = 0
    index = 0
    bound = _FIRST_BUCKET_NS
    while seen < total:
        highest = _highest_equivalent(bound)
        grew = False
        while index < len(recorded) and _lowest_equivalent(recorded[index][0]) <= highest:
            seen += recorded[index][1]
            index += 1
            grew = True
        if grew:
            buckets.append((highest // 1000, seen))
        bound *= 2
    return buckets


def percentile_us(latency_us: dict[int, int], percentile: float) -> float:
    """The HDR histogram's value at ``percentile`` (highest equivalent value), in µs."""
    recorded = sorted((_recorded_ns(us), calls) for us, calls in latency_us.items())
    total = sum(calls for _, calls in recorded)
    if not total:
        return 0.0
    wanted = max(int(percentile / 100 * total + 0.5), 1)
    seen = 0
    for value, calls in recorded:
        seen += calls
        if seen >= wanted:
            return _highest_equivalent(value) / 1000
    return _highest_equivalent(recorded[-1][0]) / 1000


def histogram_reply(cmd: Command) -> dict[bytes, Any]:
    return {
        b"calls": sum(cmd.latency_us.values()),
        b"histogram_usec": {bound: count for bound, count in histogram_buckets(cmd.latency_us)},
    }
