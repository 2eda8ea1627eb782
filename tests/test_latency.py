"""LATENCY (events and histograms) and the per-command latency figures of INFO, against the
oracle. Durations differ between the two servers, so shapes, names and counts are compared
where exact values cannot be."""

from __future__ import annotations

import re
import time

import pytest
from resp import RawClient

from pyvalkey.latency import EventHistory, histogram_buckets, percentile_us, render_graph


def parse(reply: bytes) -> object:
    from test_server_commands import parse as parse_reply

    return parse_reply(reply)


@pytest.fixture
def monitored(diff):
    yield diff
    diff("CONFIG", "SET", "latency-monitor-threshold", "0")
    diff("LATENCY", "RESET")


@pytest.mark.parametrize(
    "args",
    [
        ("LATENCY",),
        ("LATENCY", "FOO"),
        ("LATENCY", "HELP", "xxx"),
        ("LATENCY", "HISTORY"),
        ("LATENCY", "HISTORY", "blabla"),
        ("LATENCY", "GRAPH", "blabla"),
        ("LATENCY", "RESET", "blabla"),
        ("LATENCY", "LATEST"),
        ("LATENCY", "GRAPH", "a", "b"),
        ("LATENCY", "HISTOGRAM", "blabla", "nosuch|sub"),
    ],
)
def test_latency_replies_without_samples(monitored, args) -> None:
    monitored("LATENCY", "RESET")
    monitored(*args)


def test_latency_help_shape(diff) -> None:
    from test_help import assert_help_shape

    assert_help_shape(diff.ours("LATENCY", "HELP"), "LATENCY")


@pytest.mark.parametrize("resp3", [False, True])
def test_events_latest_history_graph(monitored, resp3) -> None:
    if resp3:
        monitored.resp3()
    monitored("CONFIG", "SET", "latency-monitor-threshold", "20")
    monitored("LATENCY", "RESET")
    monitored("DEBUG", "SLEEP", "0.05")
    monitored("DEBUG", "SLEEP", "0")  # under the threshold: no sample
    ours, theirs = monitored.both("LATENCY", "LATEST")
    for reply in (ours, theirs):
        (entry,) = parse(reply)  # type: ignore[misc]
        name, when, latest, highest, total, count = entry
        assert name == b"command" and abs(when - time.time()) < 5
        assert 50 <= latest == highest == total < 200 and count == 1
    ours, theirs = monitored.both("LATENCY", "HISTORY", "command")
    assert len(parse(ours)) == len(parse(theirs)) == 1  # type: ignore[arg-type]
    ours, theirs = monitored.both("LATENCY", "GRAPH", "command")
    for reply in (ours, theirs):
        assert reply.startswith(b"=" if resp3 else b"$")
        text = reply.split(b"\r\n", 1)[1].removeprefix(b"txt:")
        lines = text.split(b"\n")
        assert re.fullmatch(rb"command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)", lines[0])
        assert lines[1] == b"-" * 80
        assert lines[2:6] == [b" ", b" ", b" ", b"_"]  # one sample: the lowest mark
        # the sample's age, written downwards ("0s", or "1s" if a second turned meanwhile)
        assert lines[6] == b" " and lines[7] in (b"0", b"1", b"2") and lines[8] == b"s"
    monitored("LATENCY", "RESET", "command", "nosuch")
    monitored("LATENCY", "LATEST")


def test_histograms_follow_commands(diff) -> None:
    diff("CONFIG", "RESETSTAT")
    diff("SET", "a", "b")
    diff("SET", "c", "d")
    diff("GET", "a")
    diff.both("CLIENT", "ID")  # ids differ between the servers
    for args in (("set", "get", "zadd"), ("client",), ("client|id",), ("nosuch", "set"), ()):
        ours, theirs = diff.both("LATENCY", "HISTOGRAM", *args)
        mine, real = parse(ours), parse(theirs)
        assert _names_and_calls(mine) == _names_and_calls(real), args


def _names_and_calls(reply: object) -> dict[bytes, int]:
    assert isinstance(reply, list)
    result = {}
    for name, body in zip(reply[::2], reply[1::2]):
        assert body[0] == b"calls" and body[2] == b"histogram_usec"
        buckets = body[3]
        assert buckets and buckets[-1] == body[1]  # cumulative: the last bucket holds every call
        result[name] = body[1]
    return result


def test_info_latencystats_names(diff) -> None:
    diff("CONFIG", "RESETSTAT")
    diff("SET", "a", "b")
    ours, theirs = diff.both("INFO", "latencystats")
    pattern = rb"latency_percentiles_usec_(\S+):p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}"
    assert sorted(re.findall(pattern, ours)) == sorted(re.findall(pattern, theirs))


# -- the arithmetic, without a server ------------------------------------------------------------


def test_buckets_match_valkeys_hdr_histogram() -> None:
    # Figures read off the oracle: a 12 µs SET is listed at 16, DEBUG SLEEPs of ~0.1 ms and
    # ~3 ms at 264 and 4227 (bucket bounds 2^18 and 2^22 ns, with two significant figures).
    assert histogram_buckets({12: 1}) == [(16, 1)]
    assert histogram_buckets({150: 1, 3100: 1}) == [(264, 1), (4227, 2)]
    assert histogram_buckets({0: 3, 1: 1, 2: 1}) == [(1, 4), (2, 5)]  # 1 µs is 1000 ns: first bucket
    assert histogram_buckets({}) == []


def test_percentiles() -> None:
    latencies = {1: 98, 100: 2}
    assert percentile_us(latencies, 50) == 1.031  # 1024 ns recorded: highest equivalent 1031
    assert percentile_us(latencies, 99) == 100.351
    assert percentile_us({}, 50) == 0.0


def test_graph_rendering() -> None:
    history = EventHistory()
    for offset, value in enumerate((5, 20, 10, 40, 2)):
        history.add(1000 + offset, value)
    text = render_graph("command", history, 1005)
    # The same picture the oracle drew for these samples.
    assert text.split("\n")[2:] == ["   # ", "   | ", " # | ", "_|#|_", "     ", "54321", "sssss", ""]


def test_slowlog_redacts_user_names_and_secrets(pyvalkey_server, oracle_server) -> None:
    for server in (pyvalkey_server, oracle_server):
        client = RawClient(server.port)
        client("CONFIG", "SET", "slowlog-log-slower-than", "0")
        client("SLOWLOG", "RESET")
        client("ACL", "SETUSER", "slowlog test user", "+get", ">secret")
        client("ACL", "GETUSER", "slowlog test user")
        client("ACL", "DELUSER", "slowlog test user", "other")
        client("CONFIG", "SET", "primaryuser", "")
        client("ACL", "DRYRUN", "default", "get", "x")
        entries = parse(client("SLOWLOG", "GET", "6"))
        client("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        client.close()
        shown = [entry[3] for entry in entries]  # type: ignore[index, union-attr]
        assert shown[:5] == [
            [b"ACL", b"DRYRUN", b"default", b"get", b"x"],
            [b"CONFIG", b"SET", b"primaryuser", b"(redacted)"],
            [b"ACL", b"DELUSER", b"(redacted)", b"(redacted)"],
            [b"ACL", b"GETUSER", b"(redacted)"],
            [b"ACL", b"SETUSER", b"(redacted)", b"(redacted)", b"(redacted)"],
        ]
