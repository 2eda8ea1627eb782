"""LATENCY: latency events (LATEST, HISTORY, GRAPH, DOCTOR, RESET) and per-command histograms.

The data is kept by pyvalkey/latency.py; this module only answers.
"""

from __future__ import annotations

import time
from typing import Any

from pyvalkey import latency
from pyvalkey.client import Client
from pyvalkey.commands.helptext import HelpEntry, help_reply
from pyvalkey.commands.registry import COMMANDS, Command, command
from pyvalkey.errors import ErrorReply
from pyvalkey.protocol.replies import Verbatim

_HELP: list[HelpEntry] = [
    ("DOCTOR", "A report, for people, on the latency events recorded."),
    ("GRAPH <event>", "An ASCII graph of the samples of one event."),
    ("HISTORY <event>", "The [time, latency in ms] samples of one event."),
    ("LATEST", "For each event: its latest sample, the all-time maximum, sum and count."),
    (
        "RESET [<event> ...]",
        ["Forget the samples of the given events.", "(default: of every event)"],
    ),
    (
        "HISTOGRAM [COMMAND ...]",
        [
            "Cumulative latency distribution of the given commands (all commands when none",
            "is given), in power-of-two microsecond buckets.",
        ],
    ),
]


@command("latency|help")
def latency_help(client: Client, argv: list[bytes]) -> Any:
    return help_reply("LATENCY", _HELP)


@command("latency|latest")
def latency_latest(client: Client, argv: list[bytes]) -> Any:
    events = latency.monitor(client.server).events
    return [
        [name.encode(), history.samples[-1][0], history.samples[-1][1], history.max, history.sum, history.count]
        for name, history in events.items()
        if history.samples
    ]


@command("latency|history")
def latency_history(client: Client, argv: list[bytes]) -> Any:
    history = latency.monitor(client.server).events.get(argv[2].decode(errors="replace"))
    if history is None:
        return []
    return [[when, ms] for when, ms in history.samples]


@command("latency|reset")
def latency_reset(client: Client, argv: list[bytes]) -> Any:
    names = [arg.decode(errors="replace") for arg in argv[2:]] if len(argv) > 2 else None
    return latency.monitor(client.server).reset(names)


@command("latency|graph")
def latency_graph(client: Client, argv: list[bytes]) -> Any:
    name = argv[2].decode(errors="replace")
    history = latency.monitor(client.server).events.get(name)
    if history is None or not history.samples:
        raise ErrorReply(b"ERR No samples available for event '%s'" % argv[2])
    return Verbatim(latency.render_graph(name, history, int(time.time())).encode())


@command("latency|doctor")
def latency_doctor(client: Client, argv: list[bytes]) -> Any:
    server = client.server
    events = latency.monitor(server).events
    threshold = server.config.latency_monitor_threshold
    if not threshold and not events:
        return Verbatim(
            b"The latency monitor is off: set latency-monitor-threshold to the smallest latency, "
            b"in milliseconds, worth recording (for example CONFIG SET latency-monitor-threshold 100), "
            b"then ask again.\n"
        )
    if not events:
        return Verbatim(b"No latency spikes were recorded: nothing to report.\n")
    lines = ["Latency spikes were recorded on this server.", ""]
    for number, (name, history) in enumerate(events.items(), 1):
        samples = [ms for _, ms in history.samples]
        average = sum(samples) / len(samples) if samples else 0
        deviation = sum(abs(ms - average) for ms in samples) / len(samples) if samples else 0
        lines.append(
            f"{number}. {name}: {history.count} spikes (average {average:.0f} ms, mean deviation "
            f"{deviation:.0f} ms). Highest ever: {history.max} ms."
        )
    lines.append("")
    slower_than = server.config.commandlog_execution_slower_than
    if any(name in ("command", "fast-command") for name in events):
        lines.append(
            "- Slow commands: SLOWLOG GET lists them"
            + (
                f" (it logs commands slower than {slower_than} us)."
                if slower_than >= 0
                else " once slowlog-log-slower-than is set."
            )
        )
    if any(name.startswith(("expire", "eviction")) for name in events):
        lines.append(
            "- Expiring or evicting a large key frees it at once: split very large keys, or let "
            "lazyfree-lazy-expire / lazyfree-lazy-eviction free them in the background."
        )
    return Verbatim(("\n".join(lines) + "\n").encode())


def _histogram_targets(argv: list[bytes]) -> list[Command]:
    if len(argv) == 2:
        targets = []
        for cmd in COMMANDS.values():
            targets.append(cmd)
            targets.extend(cmd.subcommands.values())
        return targets
    targets = []
    for arg in argv[2:]:
        name, _, sub = arg.lower().partition(b"|")
        cmd = COMMANDS.get(name)
        if cmd is None:
            continue  # unknown names are skipped
        if sub:
            found = cmd.subcommands.get(sub)
            if found is not None:
                targets.append(found)
        elif cmd.subcommands:
            targets.extend(cmd.subcommands.values())
        else:
            targets.append(cmd)
    return targets


@command("latency|histogram")
def latency_histogram(client: Client, argv: list[bytes]) -> Any:
    reply: dict[bytes, Any] = {}
    for cmd in _histogram_targets(argv):
        if cmd.latency_us:
            reply[cmd.fullname.encode()] = latency.histogram_reply(cmd)
    return reply
