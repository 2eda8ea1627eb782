"""The directive registry, config parsing rules, and CONFIG GET/SET/RESETSTAT/REWRITE against the oracle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from resp import RawClient
from servers import ServerProcess, free_port

from pyvalkey.cli import FatalConfigError, Loader, load_config, options_from_argv
from pyvalkey.config import DIRECTIVES, Config, ConfigError, parse_memory, split_args

# -- unit: value syntax ---------------------------------------------------------------------------


def test_memory_units() -> None:
    assert parse_memory("1k") == 1000
    assert parse_memory("1kb") == 1024
    assert parse_memory("2MB") == 2 * 1024 * 1024
    assert parse_memory("1gb") == 1 << 30
    assert parse_memory("1g") == 10**9
    assert parse_memory("5b") == 5
    for bad in ("-1", "1.5mb", "+5", " 5", "", "kb", "1tb"):
        with pytest.raises(ConfigError, match="argument must be a memory value"):
            parse_memory(bad)


def test_split_args_quoting() -> None:
    assert split_args('a "b c" \'d e\'') == ["a", "b c", "d e"]
    assert split_args(r'"x\ny\x41\"" ') == ['x\nyA"']
    assert split_args(r"'it\'s'") == ["it's"]
    assert split_args('""') == [""]
    assert split_args('"abc') is None
    assert split_args('"a"b') is None
    assert split_args("   ") == []


def _load(text: str) -> Config:
    config = Config()
    Loader(config).load_string(text)
    return config


def test_last_occurrence_wins_and_save_accumulates() -> None:
    config = _load("hz 20\nhz 30\nsave 900 1\nsave 300 10\n")
    assert config.hz == 30
    assert config.formatted("save") == "900 1 300 10"
    assert _load('save 900 1\nsave ""\nsave 60 5').formatted("save") == "60 5"
    assert _load('save "900 1 300 10"').formatted("save") == "900 1 300 10"


def test_file_values_and_errors() -> None:
    config = _load('maxmemory 1mb\nrequirepass "a b"\nloglevel WARNING\nhash-max-ziplist-entries 7\n')
    assert config.maxmemory == 1 << 20
    assert config.requirepass == "a b"
    assert config.loglevel == "warning"
    assert config.hash_max_listpack_entries == 7
    with pytest.raises(FatalConfigError) as info:
        _load("# c\n\nappendonly maybe\n")
    assert (info.value.lineno, info.value.line, info.value.reason) == (3, "appendonly maybe", "argument must be 'yes' or 'no'")
    with pytest.raises(FatalConfigError, match="Bad directive"):
        _load("nosuch 1")
    with pytest.raises(FatalConfigError, match="wrong number of arguments"):
        _load("hz 1 2")
    with pytest.raises(FatalConfigError, match="Unbalanced quotes"):
        _load('requirepass "abc')


def test_include_nested(tmp_path: Path) -> None:
    inner = tmp_path / "inner.conf"
    inner.write_text("hz 42\n")
    middle = tmp_path / "middle.conf"
    middle.write_text(f"include {inner}\nmaxclients 77\n")
    main = tmp_path / "main.conf"
    main.write_text(f"hz 5\ninclude {middle}\n")
    config, _ = load_config([str(main), "--maxclients", "88"])
    assert config.hz == 42
    assert config.maxclients == 88
    assert config.file == str(main)


def test_options_from_argv() -> None:
    assert options_from_argv(["--port", "1", "--save"]) == (None, False, 'port "1" \nsave ""')
    assert options_from_argv(["a.conf", "--save", "--hz", "5", "-"]) == ("a.conf", True, 'save ""\nhz "5" ')
    assert options_from_argv(["--save 900 1"])[2] == "save 900 1 "


def test_notify_keyspace_events_canonical() -> None:
    config = Config()
    _, value = config.parse("notify-keyspace-events", "Kx")
    assert DIRECTIVES["notify-keyspace-events"].format(value) == "xK"


# -- differential: CONFIG GET / SET ---------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["maxmemory", "MAXMEMORY", "*max*mem*", "hash-max-*", "slaveof", "save", "client-output-buffer-limit",
     "notify-keyspace-events", "latency-tracking-info-percentiles", "oom-score-adj-values", "nosuch",
     "appendfsync", "maxmemory-policy", "repl-backlog-size", "list-max-*", "proto-max-bulk-len", "a[cd]*"],
)
def test_config_get(diff, pattern: str) -> None:
    diff("CONFIG", "GET", pattern)


def test_config_get_many_patterns(diff) -> None:
    diff("CONFIG", "GET", "TIMEOUT", "maxmemory")
    diff("CONFIG", "GET", "Hz", "hz", "h?")
    diff("CONFIG", "GET", "replicaof", "slaveof", "*slave-pri*")
    diff("CONFIG", "GET", "timeout", "maxmemory-policy", "tcp-*")


def test_config_get_all_names(diff) -> None:
    ours, theirs = diff.both("CONFIG", "GET", "*")

    def names(raw: bytes) -> set[bytes]:
        parts = raw.split(b"\r\n")[2::2]
        return set(parts[::2])

    assert names(ours) == names(theirs)


def test_config_get_resp3(diff) -> None:
    diff.resp3()
    diff("CONFIG", "GET", "maxmemory", "hz")
    diff("CONFIG", "GET", "nosuch")


SET_CASES = [
    ("hz", "zz"), ("hz", "010"), ("hz", "-9223372036854775808"), ("maxmemory", "-1"), ("maxmemory", "1.5mb"),
    ("maxmemory-clients", "200%"), ("maxmemory-clients", "-5"), ("appendfsync", "sometimes"),
    ("activedefrag", "maybe"), ("databases", "2"), ("enable-debug-command", "yes"), ("dir", "/tmp"),
    ("save", "zz"), ("save", "0 1"), ("notify-keyspace-events", "Q"), ("client-output-buffer-limit", "zz"),
    ("client-output-buffer-limit", "master 1 1 1"), ("client-output-buffer-limit", "normal x 1 1"),
    ("latency-tracking-info-percentiles", "zz"), ("latency-tracking-info-percentiles", "101"),
    ("oom-score-adj-values", "1 2"), ("oom-score-adj-values", "1 2 3000"), ("proto-max-bulk-len", "1"),
    ("tcp-keepalive", "99999999999999999999"), ("nosuch", "1"), ("shutdown-on-sigint", "save nosave"),
    ("shutdown-on-sigint", "bogus"), ("slave-read-only", "zz"), ("HASH-MAX-ZIPLIST-ENTRIES", "x"),
    ("unixsocketperm", "777"), ("replicaof", "no one"), ("dbfilename", "a/b"),
]


@pytest.mark.parametrize(("name", "value"), SET_CASES)
def test_config_set_errors(diff, name: str, value: str) -> None:
    diff("CONFIG", "SET", name, value)


def test_config_set_round_trips(diff) -> None:
    cases = [
        ("maxmemory", "1KB"), ("maxmemory", "3mb"), ("maxmemory-clients", "10%"), ("maxmemory-clients", "0"),
        ("appendfsync", "ALWAYS"), ("appendfsync", "everysec"), ("save", "100 10 20 5"), ("save", ""),
        ("notify-keyspace-events", "KEA"), ("notify-keyspace-events", "g$lshzxetdn"),
        ("notify-keyspace-events", "Kx"), ("notify-keyspace-events", ""),
        ("latency-tracking-info-percentiles", "50.0 99.90"), ("latency-tracking-info-percentiles", "50 99 99.9"),
        ("client-output-buffer-limit", "replica 1mb 2mb 3"),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("hz", "1000"), ("hz", "0"), ("hz", "10"), ("shutdown-on-sigint", "now save"),
        ("shutdown-on-sigint", "default"), ("slowlog-max-len", "5"), ("slowlog-max-len", "128"),
        ("hash-max-ziplist-entries", "100"), ("hash-max-listpack-entries", "512"), ("loglevel", "WARNING"),
        ("loglevel", "notice"), ("list-max-listpack-size", "-3"), ("list-max-listpack-size", "-2"),
    ]
    for name, value in cases:
        diff("CONFIG", "SET", name, value)
        diff("CONFIG", "GET", name)
    diff("CONFIG", "GET", "slowlog-*")
    diff("CONFIG", "GET", "commandlog-*")


def test_config_set_several_at_once(diff) -> None:
    diff("CONFIG", "SET", "hz", "1", "HZ", "2")
    diff("CONFIG", "SET", "hz", "1", "nosuch", "2")
    diff("CONFIG", "SET", "nosuch", "1", "databases", "2")
    diff("CONFIG", "SET", "databases", "2", "nosuch", "1")
    diff("CONFIG", "SET", "hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2")
    diff("CONFIG", "GET", "hash-max-*")
    # The second value is bad: nothing changes, not even the first.
    diff("CONFIG", "SET", "maxmemory", "7mb", "hz", "bad")
    diff("CONFIG", "GET", "maxmemory")
    diff("CONFIG", "SET", "maxmemory", "7mb", "hz", "20")
    diff("CONFIG", "GET", "maxmemory", "hz")
    diff("CONFIG", "SET", "maxmemory", "0", "hz", "10", "hash-max-listpack-entries", "512")
    diff("CONFIG", "SET", "hz")
    diff("CONFIG", "SET", "hz", "1", "port")
    # HELP is in our own words: check its shape (see test_help.py), not Valkey's bytes.
    from test_help import assert_help_shape

    assert_help_shape(diff.ours("CONFIG", "HELP"), "CONFIG")
    diff("CONFIG", "NOSUCH")


def test_config_rewrite_without_file(diff) -> None:
    diff("CONFIG", "REWRITE")


def test_config_set_applies(r) -> None:
    assert r("CONFIG", "SET", "notify-keyspace-events", "KEA") == b"+OK\r\n"
    assert r("CONFIG", "SET", "slowlog-log-slower-than", "0") == b"+OK\r\n"
    r("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    r("CONFIG", "SET", "notify-keyspace-events", "")
    assert r("CONFIG", "SET", "proto-max-bulk-len", "2mb") == b"+OK\r\n"
    assert r("CONFIG", "SET", "proto-max-bulk-len", "512mb") == b"+OK\r\n"


def test_config_resetstat(diff) -> None:
    diff("SET", "k", "v")
    diff("GET", "k")
    diff("GET", "missing")
    diff("CONFIG", "RESETSTAT")
    for client in (diff.ours, diff.theirs):
        info = client("INFO", "stats")
        if b"keyspace_hits" in info:
            assert b"keyspace_hits:0\r\n" in info
            assert b"keyspace_misses:0\r\n" in info


# -- CONFIG REWRITE -------------------------------------------------------------------------------


def _rewrite_on(binary: list[str], tmp_path: Path) -> list[str]:
    """Start ``binary`` on a config file, change settings, CONFIG REWRITE, return the new file."""
    tmp_path.mkdir()
    extra = tmp_path / "extra.conf"
    extra.write_text("tcp-keepalive 100\n")
    conf = tmp_path / "valkey.conf"
    conf.write_text(
        f"# my comment\nhz 20\ninclude {extra}\n\nmaxmemory 1mb\nmaxmemory 2mb\nappendfsync everysec\n"
        "save 900 1\nsave 300 10\n"
    )
    port = free_port()
    workdir = tmp_path / "work"
    workdir.mkdir()
    # The config file must come first on the command line, as for valkey-server.
    argv = [*binary, str(conf), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    os.environ["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    server = ServerProcess(argv, port, str(workdir))
    try:
        client = RawClient(server.port)
        assert client("CONFIG", "SET", "hz", "30", "maxclients", "500", "maxmemory-clients", "5%") == b"+OK\r\n"
        assert client("CONFIG", "SET", "maxmemory", "0", "notify-keyspace-events", "Ex") == b"+OK\r\n"
        assert client("CONFIG", "SET", "save", "100 1", "client-output-buffer-limit", "pubsub 1mb 0 0") == b"+OK\r\n"
        assert client("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.5") == b"+OK\r\n"
        assert client("CONFIG", "SET", "dbfilename", "x y.rdb") in (b"+OK\r\n", b"-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n")
        assert client("CONFIG", "REWRITE") == b"+OK\r\n"
        client.close()
    finally:
        server.stop()
    return conf.read_text().replace(str(port), "PORT").splitlines()


def test_config_rewrite_matches_oracle(tmp_path: Path) -> None:
    from oracle import oracle_binary

    ours = _rewrite_on([sys.executable, "-m", "pyvalkey"], tmp_path / "ours")
    theirs = _rewrite_on([str(oracle_binary())], tmp_path / "theirs")
    theirs = [line.replace("/theirs/", "/ours/") for line in theirs if not line.startswith("user ")]
    marker = "# Generated by CONFIG REWRITE"
    # Lines kept or updated in place are identical and in the same order; the appended block holds the
    # same lines (Valkey appends them in hash-table order, we in name order).
    assert ours[: ours.index(marker)] == theirs[: theirs.index(marker)]
    assert sorted(ours[ours.index(marker):]) == sorted(theirs[theirs.index(marker):])
    # The rewritten file loads back to the same values (its dir line changes directory: undo that).
    (tmp_path / "ours" / "work").mkdir()
    here = os.getcwd()
    try:
        config, _ = load_config([str(tmp_path / "ours" / "valkey.conf")])
    finally:
        os.chdir(here)
    assert (config.hz, config.maxclients, config.maxmemory, config.tcp_keepalive) == (30, 500, 0, 100)
    assert config.formatted("save") == "100 1"


def test_a_directive_registered_later_reaches_existing_configs() -> None:
    """Config has no ``__getattr__`` (it would take every directive read off CPython's fast
    attribute path); a directive registered after a Config was made gets its default there."""
    from pyvalkey import config as config_module

    assert "__getattr__" not in vars(config_module.Config)
    existing = config_module.Config()
    try:
        config_module.directive("zz-test-late-directive", "int", 7, minimum=0, maximum=10)
        assert existing.zz_test_late_directive == 7
        assert config_module.Config().zz_test_late_directive == 7
    finally:
        config_module.DIRECTIVES.pop("zz-test-late-directive", None)
        config_module._ALL_NAMES[:] = sorted(config_module.DIRECTIVES)
    with pytest.raises(AttributeError):
        existing.no_such_directive  # noqa: B018
