"""INFO against the oracle: section selection, field names and order, exact bytes where values
are deterministic, and counters that must move with traffic."""

from __future__ import annotations

import re
import time

import pytest
from resp import RawClient

# Sections whose field list is fixed (values differ between servers, names and order must not).
STATIC_SECTIONS = [
    "Server",
    "TLS",
    "Clients",
    "Memory",
    "Persistence",
    "Stats",
    "Replication",
    "CPU",
    "Cluster",
    "Cluster Info",
]


def body(reply: bytes) -> str:
    """The text of an INFO reply (RESP2 bulk or RESP3 verbatim)."""
    head, _, rest = reply.partition(b"\r\n")
    assert head[:1] in (b"$", b"="), reply[:40]
    text = rest[: int(head[1:])]
    if head[:1] == b"=":
        assert text.startswith(b"txt:")
        text = text[4:]
    return text.decode()


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.split("\r\n"):
        if line.startswith("# "):
            current = result.setdefault(line[2:], [])
        elif line:
            name, _, value = line.partition(":")
            current.append((name, value))
    return result


def titles(text: str) -> list[str]:
    return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]


def fields(client: RawClient, *args: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for section in sections(body(client("INFO", *args))).values():
        found.update(section)
    return found


def test_static_sections_have_valkeys_fields_in_order(diff) -> None:
    ours, theirs = diff.both("INFO", "everything")
    mine = sections(body(ours))
    real = sections(body(theirs))
    for title in STATIC_SECTIONS:
        assert [n for n, _ in mine[title]] == [n for n, _ in real[title]], title


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("all",),
        ("everything",),
        ("default",),
        ("server", "clients"),
        ("CPU", "Server"),
        ("tls", "default"),
        ("all", "tls"),
        ("module_list",),
        ("modules",),
        ("cluster_info", "keyspace"),
        ("scriptingengines",),
        ("debug",),
        ("bogus",),
        ("server", "bogus", "server"),
        ("commandstats", "latencystats", "errorstats"),
    ],
)
def test_section_selection_matches(diff, args) -> None:
    ours, theirs = diff.both("INFO", *args)
    assert titles(body(ours)) == titles(body(theirs))


def test_exact_bytes_for_deterministic_sections(diff) -> None:
    diff("INFO", "bogus")
    diff("INFO", "cluster")
    diff("INFO", "cluster", "bogus")
    diff("INFO", "cluster_info")
    diff("INFO", "keyspace")
    diff("SET", "k", "v")
    diff("INFO", "keyspace")
    diff("SELECT", "3")
    diff("SET", "k", "v")
    diff("INFO", "cluster", "keyspace")
    diff("FLUSHALL")
    diff.resp3()
    diff("INFO", "bogus")
    diff("INFO", "cluster")
    diff("INFO", "cluster", "keyspace")


def test_server_section_values(r, pyvalkey_server) -> None:
    info = fields(r, "server")
    assert info["redis_version"] == "7.2.4"
    assert info["server_name"] == "valkey"
    assert info["valkey_version"] == "9.1.2"
    assert info["server_mode"] == "standalone"
    assert info["tcp_port"] == str(pyvalkey_server.port)
    assert info["process_id"] == str(pyvalkey_server.pid)
    assert re.fullmatch(r"[0-9a-f]{40}", info["run_id"])
    assert info["arch_bits"] in ("32", "64")
    assert int(info["uptime_in_days"]) == int(info["uptime_in_seconds"]) // 86400
    assert info["hz"] == info["configured_hz"] == "10"
    assert info["listener0"] == f"name=tcp,bind=127.0.0.1,port={pyvalkey_server.port}"
    assert abs(int(info["server_time_usec"]) / 1e6 - time.time()) < 5
    assert (
        int(info["lru_clock"]) == int(time.time()) & ((1 << 24) - 1)
        or abs(int(info["lru_clock"]) - (int(time.time()) & ((1 << 24) - 1))) <= 2
    )


def test_keyspace_hits_misses_and_commands_counters(r) -> None:
    before = fields(r, "stats")
    r("SET", "k", "v")
    r("GET", "k")
    r("GET", "k")
    r("GET", "missing")
    after = fields(r, "stats")
    assert int(after["keyspace_hits"]) - int(before["keyspace_hits"]) == 2
    assert int(after["keyspace_misses"]) - int(before["keyspace_misses"]) == 1
    # four commands plus the first INFO itself
    assert int(after["total_commands_processed"]) - int(before["total_commands_processed"]) == 5
    assert int(after["total_net_input_bytes"]) > int(before["total_net_input_bytes"])
    assert int(after["total_net_output_bytes"]) > int(before["total_net_output_bytes"])


def test_connections_and_clients(r, pyvalkey_server) -> None:
    before = fields(r, "stats", "clients")
    other = RawClient(pyvalkey_server.port)
    other("PING")
    during = fields(r, "stats", "clients")
    other.close()
    assert int(during["total_connections_received"]) == int(before["total_connections_received"]) + 1
    assert int(during["connected_clients"]) == int(before["connected_clients"]) + 1
    assert during["maxclients"] == "10000"


def test_expired_keys_counter(r) -> None:
    before = int(fields(r, "stats")["expired_keys"])
    r("SET", "k", "v", "PX", "1")
    time.sleep(0.05)
    assert r("GET", "k") == b"$-1\r\n"
    assert int(fields(r, "stats")["expired_keys"]) == before + 1


def test_memory_section_values(r) -> None:
    info = fields(r, "memory")
    used = int(info["used_memory"])
    assert used > 0
    assert int(info["used_memory_peak"]) >= used
    assert re.fullmatch(r"\d+(\.\d\d[KMGTP]|B)", info["used_memory_human"])
    assert info["maxmemory"] == "0" and info["maxmemory_human"] == "0B"
    assert info["maxmemory_policy"] == "noeviction"
    assert re.fullmatch(r"\d+\.\d\d%", info["used_memory_peak_perc"])


def test_bytes_to_human() -> None:
    from pyvalkey.info import bytes_to_human

    assert bytes_to_human(0) == "0B"
    assert bytes_to_human(1023) == "1023B"
    assert bytes_to_human(1024) == "1.00K"
    assert bytes_to_human(1536) == "1.50K"
    assert bytes_to_human(1024 * 1024) == "1.00M"
    assert bytes_to_human(5 * 1024**3) == "5.00G"


def test_persistence_and_replication_values(r, pyvalkey_server) -> None:
    info = fields(r, "persistence", "replication")
    assert info["loading"] == "0"
    assert info["aof_enabled"] == "0"
    assert abs(int(info["rdb_last_save_time"]) - time.time()) < 3600
    before = int(info["rdb_changes_since_last_save"])
    r("SET", "a", "1")
    r("SET", "b", "2")
    assert int(fields(r, "persistence")["rdb_changes_since_last_save"]) == before + 2
    assert info["role"] == "master"
    assert re.fullmatch(r"[0-9a-f]{40}", info["master_replid"])
    assert info["master_replid2"] == "0" * 40


def test_cpu_values(r) -> None:
    info = fields(r, "cpu")
    for name in ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_main_thread", "used_cpu_user_main_thread"):
        assert re.fullmatch(r"\d+\.\d{6}", info[name]), name
    assert float(info["used_cpu_user"]) > 0


def strip_usec(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", value)) for name, value in lines]


def test_commandstats_and_errorstats_match(diff) -> None:
    diff("CONFIG", "RESETSTAT")
    diff("SET", "a", "x")
    diff("GET", "a")
    diff("INCR", "a")
    diff("GET")
    diff("NOSUCHCOMMAND", "x")
    diff("CONFIG", "GET", "maxmemory")
    diff("CONFIG", "BOGUS")
    ours, theirs = diff.both("INFO", "commandstats", "errorstats")
    mine = sections(body(ours))
    real = sections(body(theirs))
    assert sorted(strip_usec(mine["Commandstats"])) == sorted(strip_usec(real["Commandstats"]))
    assert mine["Errorstats"] == real["Errorstats"]
    mine_stats = fields(diff.ours, "stats")
    real_stats = fields(diff.theirs, "stats")
    assert mine_stats["total_error_replies"] == real_stats["total_error_replies"] == "4"


def test_latencystats_lines(diff) -> None:
    diff("CONFIG", "RESETSTAT")
    diff("SET", "a", "x")
    ours, theirs = diff.both("INFO", "latencystats")
    mine = dict(sections(body(ours))["Latencystats"])
    real = dict(sections(body(theirs))["Latencystats"])
    assert mine.keys() == real.keys()
    for value in mine.values():
        assert re.fullmatch(r"p50=[\d.]+,p99=[\d.]+,p99\.9=[\d.]+", value)


def test_commandstats_subcommand_name(r) -> None:
    r("CONFIG", "RESETSTAT")
    r("CONFIG", "GET", "hz")
    lines = dict(sections(body(r("INFO", "commandstats")))["Commandstats"])
    assert lines["cmdstat_config|get"].startswith("calls=1,usec=")
    assert re.fullmatch(
        r"calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0",
        lines["cmdstat_config|get"],
    )


def test_instantaneous_ops_sampled(r) -> None:
    fields(r, "stats")  # starts the sampler
    deadline = time.monotonic() + 3
    ops = 0
    while time.monotonic() < deadline and ops == 0:
        for _ in range(50):
            r("PING")
        time.sleep(0.1)
        ops = int(fields(r, "stats")["instantaneous_ops_per_sec"])
    assert ops > 0


def test_pubsub_watch_and_script_counters(diff, pyvalkey_server, oracle_server) -> None:  # type: ignore[no-untyped-def]
    """INFO stats pubsub_channels/patterns/shard channels, clients watching_clients /
    total_watched_keys and memory number_of_cached_scripts/functions/libraries are live."""
    from resp import RawClient

    names = ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels", "watching_clients",
             "total_watched_keys", "number_of_cached_scripts", "number_of_functions", "number_of_libraries")

    def counters() -> dict[str, str]:
        mine, real = diff.both("INFO", "everything")
        values = []
        for reply in (mine, real):
            found = dict(sections(body(reply))["Stats"] + sections(body(reply))["Clients"] + sections(body(reply))["Memory"])
            values.append({name: found[name] for name in names})
        assert values[0] == values[1]
        return values[1]

    diff("SCRIPT", "FLUSH")
    diff("FUNCTION", "FLUSH")
    extra = [RawClient(port) for port in (pyvalkey_server.port, oracle_server.port)]
    try:
        for client in extra:
            client("SUBSCRIBE", "a", "b")
            client.send(b"*3\r\n$10\r\nPSUBSCRIBE\r\n$2\r\np*\r\n$1\r\nq\r\n")
            client.read_reply()
            client.read_reply()
            client.send(b"*2\r\n$10\r\nSSUBSCRIBE\r\n$1\r\ns\r\n")
            client.read_reply()
            client.read_reply()  # every confirmation read: all subscriptions are in place
        diff("WATCH", "k1", "k2")
        diff("EVAL", "return 1", "0")
        diff("EVAL", "return 2", "0")
        diff("FUNCTION", "LOAD", "#!lua name=lib1\nserver.register_function('f1', function() return 1 end)\n"
             "server.register_function('f2', function() return 2 end)")
        values = counters()
        assert values["pubsub_channels"] == "2" and values["watching_clients"] == "1"
        assert values["number_of_functions"] == "2"
    finally:
        for client in extra:
            client.close()
        diff("UNWATCH")
        diff("SCRIPT", "FLUSH")
        diff("FUNCTION", "FLUSH")
    counters()
