"""Instructions per request in the pyvalkey server process, counted by valgrind's callgrind.

    python benchmarks/instructions.py              # PING, GET, SET, INCR: 20,000 requests each
    python benchmarks/instructions.py -n 5000 get

CPU time on a shared machine is noisy; an instruction count is not. The server runs under
``valgrind --tool=callgrind`` and one client sends the requests in batches of 16 pipelined
commands (one batch in flight, so each read delivers 16 commands, like ``redis-benchmark -P 16``
does per connection). Around each test the counters are zeroed and dumped with
``callgrind_control``, so start-up is not counted; the figure is the instructions of the whole
process (interpreter, event loop, system-call wrappers) divided by the requests.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from oracle import free_port

from pyvalkey.propagation import encode_commands

PIPELINE = 16


def _frame(*args: bytes) -> bytes:
    return encode_commands([list(args)])


REQUESTS = {
    "ping": (_frame(b"PING"), b"+PONG\r\n"),
    "get": (_frame(b"GET", b"key:000000001"), b"$3\r\nxxx\r\n"),
    "set": (_frame(b"SET", b"key:000000001", b"xxx"), b"+OK\r\n"),
    "incr": (_frame(b"INCR", b"counter"), None),
}


def _send(sock: socket.socket, request: bytes, reply: bytes | None, count: int) -> None:
    batch = request * PIPELINE
    for _ in range(count // PIPELINE):
        sock.sendall(batch)
        if reply is not None:
            want = len(reply) * PIPELINE
            got = 0
            while got < want:
                got += len(sock.recv(65536))
        else:
            # INCR replies grow; wait for the 16 line ends
            lines = 0
            while lines < PIPELINE:
                lines += sock.recv(65536).count(b"\r\n")


def _total(path: str) -> int:
    text = Path(path).read_text(errors="replace")
    match = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no totals in {path}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", nargs="*", default=["ping", "get", "set", "incr"])
    parser.add_argument("-n", "--requests", type=int, default=20000)
    parser.add_argument("--pure", action="store_true", help="PYVALKEY_PURE_PYTHON=1 for the server")
    args = parser.parse_args(argv)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="pyvalkey-cg-")
    env = dict(os.environ)
    if args.pure:
        env["PYVALKEY_PURE_PYTHON"] = "1"
    out_base = os.path.join(workdir, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_base}", "--dump-instr=no",
         sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=workdir,
    )
    results = {}
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start under valgrind") from None
                time.sleep(0.5)
        sock.sendall(_frame(b"SET", b"key:000000001", b"xxx"))
        sock.recv(100)
        _send(sock, *REQUESTS["ping"], 512)  # warm-up
        for test in args.tests:
            _send(sock, *REQUESTS[test], 512)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
            _send(sock, *REQUESTS[test], args.requests)
            before = set(glob.glob(out_base + "*"))
            subprocess.run(["callgrind_control", "-d", test, str(proc.pid)], check=True, capture_output=True)
            new = sorted(set(glob.glob(out_base + "*")) - before, key=os.path.getmtime)
            results[test] = _total(new[-1]) / (args.requests // PIPELINE * PIPELINE)
            print(f"{test:6s} {results[test]:9.0f} instructions/request", flush=True)
        sock.close()
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
