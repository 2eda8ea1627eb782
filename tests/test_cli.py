"""pyvalkey-server's command line against valkey-server's: fatal config errors, --help, --version,
stdin config, daemonize with pidfile and logfile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from oracle import free_port, oracle_binary
from resp import RawClient

ROOT = Path(__file__).resolve().parent.parent


# -- CLI against the oracle -----------------------------------------------------------------------


def _run(binary: list[str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([*binary, *args], cwd=cwd, capture_output=True, timeout=20, env=env, check=False)


BAD_INPUTS = [
    (["bad.conf"], "# comment\nport 7000\n\n  appendonly maybe  \n"),
    (["ok.conf", "--port", "abc"], "port 7000\n"),
    (["--port", "1", "--nosuch", "2", "3"], None),
    (["--hz"], None),
    (["--save", "--port", "x"], None),
    (["ok.conf", "--port", "1", "2"], "port 7000\n"),
    (["ok.conf", "--maxmemory", "1.5mb"], "hz 1\n"),
    (["ok.conf"], 'requirepass "abc\n'),
    (["ok.conf"], "save 1 2 3\n"),
    (["ok.conf"], "notify-keyspace-events Q\n"),
    (["ok.conf"], "client-output-buffer-limit foo 1 2 3\n"),
    (["ok.conf"], "maxmemory-policy lru\n"),
]


@pytest.mark.parametrize(("args", "content"), BAD_INPUTS)
def test_fatal_config_errors_match_oracle(tmp_path: Path, args: list[str], content: str | None) -> None:
    if content is not None:
        (tmp_path / args[0]).write_text(content)
    theirs = _run([str(oracle_binary())], args, tmp_path)
    ours = _run([sys.executable, "-m", "pyvalkey"], args, tmp_path)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr


def test_version_and_help(tmp_path: Path) -> None:
    out = _run([sys.executable, "-m", "pyvalkey"], ["--version"], tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith(b"Valkey server v=9.1.2 sha=00000000:0 malloc=libc bits=64 build=")
    ours = _run([sys.executable, "-m", "pyvalkey"], ["--help"], tmp_path)
    theirs = _run([str(oracle_binary())], ["--help"], tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)


def _wait_pong(port: int, timeout: float = 15.0) -> RawClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = RawClient(port)
            if client("PING") == b"+PONG\r\n":
                return client
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def test_config_from_stdin_and_precedence(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "a.conf"
    conf.write_text("hz 7\nmaxclients 50\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyvalkey", str(conf), "--port", str(port), "--bind", "127.0.0.1", "--maxclients",
         "60", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path, env=env,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"hz 9\nmaxmemory 2mb\n")
        proc.stdin.close()
        client = _wait_pong(port)
        assert client("CONFIG", "GET", "hz") == b"*2\r\n$2\r\nhz\r\n$1\r\n9\r\n"
        assert client("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$2\r\n60\r\n"
        assert client("CONFIG", "GET", "maxmemory") == b"*2\r\n$9\r\nmaxmemory\r\n$7\r\n2097152\r\n"
        client.close()
    finally:
        proc.kill()
        proc.wait()


def test_daemonize_pidfile_logfile(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "server.pid"
    logfile = tmp_path / "server.log"
    out = subprocess.run(
        [sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
         "--pidfile", str(pidfile), "--logfile", str(logfile), "--save", ""],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, timeout=20, check=False,
    )
    assert out.returncode == 0
    client = _wait_pong(port)
    pid = 0
    try:
        deadline = time.monotonic() + 10
        while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(pidfile.read_text())
        assert pid != os.getpid()
        deadline = time.monotonic() + 10
        while b"Ready to accept connections tcp" not in logfile.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b"Ready to accept connections tcp" in logfile.read_bytes()
        client.close()
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)


def test_bad_logfile(tmp_path: Path) -> None:
    args = ["--port", "0", "--logfile", str(tmp_path / "no" / "such" / "dir.log")]
    ours = _run([sys.executable, "-m", "pyvalkey"], args, tmp_path)
    theirs = _run([str(oracle_binary())], args, tmp_path)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr == theirs.stderr


@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version_flags(tmp_path: Path, flag: str) -> None:
    out = _run([sys.executable, "-m", "pyvalkey"], [flag], tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith(b"Valkey server v=9.1.2 sha=00000000:0 malloc=libc bits=64 build=")
