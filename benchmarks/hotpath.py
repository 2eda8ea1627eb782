"""The per-command cost of pyvalkey's request path, in-process and without sockets.

    python benchmarks/hotpath.py                 # ns per command for PING, GET, SET, INCR
    python benchmarks/hotpath.py --profile get   # cProfile of the GET loop, top functions
    python benchmarks/hotpath.py --pure          # force the pure-Python path (no accelerator)

A ``Connection`` (the same asyncio protocol the TCP listener uses) is given an in-memory
transport, and batches of 16 pipelined requests, framed as redis-benchmark frames them, are
passed to ``data_received`` one batch at a time, as the event loop would after a read. That is
the whole server path (reader, dispatch, handler, writer, the transport write) except the event
loop and the system calls, so the figure is close to the server CPU per request at ``-P 16``
minus the kernel's share, and it is not disturbed by other load as much as a socket benchmark.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from pyvalkey.propagation import encode_commands

PIPELINE = 16


def _frame(*args: bytes) -> bytes:
    return encode_commands([list(args)])


REQUESTS = {
    "ping": _frame(b"PING"),
    "ping_inline": b"PING\r\n",
    "get": _frame(b"GET", b"key:__rand_int__"),
    "set": _frame(b"SET", b"key:__rand_int__", b"xxx"),
    "incr": _frame(b"INCR", b"counter:__rand_int__"),
    "mset": _frame(*([b"MSET"] + [b"key:__rand_int__", b"xxx"] * 10)),
    # redis-benchmark's collection tests (fixed keys, one element updated over and over)
    "lpush": _frame(b"LPUSH", b"mylist", b"xxx"),
    "sadd": _frame(b"SADD", b"myset", b"element:__rand_int__"),
    "hset": _frame(b"HSET", b"myhash", b"element:__rand_int__", b"xxx"),
    "zadd": _frame(b"ZADD", b"myzset", b"0", b"element:__rand_int__"),
}


class _Transport:
    """Just enough of an asyncio transport for ``Connection``."""

    def __init__(self) -> None:
        self.written = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 6379)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def make_connection() -> Any:
    from pyvalkey.net.connection import Connection
    from pyvalkey.server import Server

    server = Server()
    conn = Connection(server)
    conn.connection_made(_Transport())  # type: ignore[arg-type]
    conn.data_received(_frame(b"SET", b"key:__rand_int__", b"xxx"))
    return conn


def run(test: str, batches: int) -> float:
    """Nanoseconds per command over ``batches`` batches of PIPELINE requests."""
    conn = make_connection()
    batch = REQUESTS[test] * PIPELINE
    feed = conn.data_received
    for _ in range(200):  # warm-up
        feed(batch)

    def timed(_: object) -> int:
        for _ in range(batches):
            feed(batch)
        return 0

    start = time.perf_counter_ns()
    # Inside sorted() so that valgrind can count just this part: see --callgrind.
    sorted((0,), key=timed)
    return (time.perf_counter_ns() - start) / (batches * PIPELINE)


def callgrind(test: str, batches: int, pure: bool) -> float:
    """Instructions per command of ``run(test)``: this script again under callgrind, counting
    only what runs inside sorted() (the timed loop and nothing else)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as workdir:
        out = os.path.join(workdir, "callgrind.out")
        argv = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=builtin_sorted",
                f"--callgrind-out-file={out}", sys.executable, os.path.abspath(__file__), "--repeat", "1",
                "--batches", str(batches), "--pipeline", str(PIPELINE), test] + (["--pure"] if pure else [])
        subprocess.run(argv, check=True, capture_output=True)
        with open(out) as file:
            for line in file:
                if line.startswith(("totals:", "summary:")):
                    return int(line.split()[1]) / (batches * PIPELINE)
    raise RuntimeError("no totals in the callgrind output")


def main(argv: list[str] | None = None) -> int:
    global PIPELINE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", nargs="*", default=["ping", "ping_inline", "get", "set", "incr", "mset"])
    parser.add_argument("--batches", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per test; the median is shown")
    parser.add_argument("--profile", action="store_true", help="cProfile the first test instead")
    parser.add_argument("--pure", action="store_true", help="force the pure-Python path")
    parser.add_argument("--pipeline", type=int, default=PIPELINE, help="requests per read (default 16)")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per command with valgrind instead of timing")
    args = parser.parse_args(argv)
    PIPELINE = args.pipeline
    if args.callgrind:
        for test in args.tests:
            figure = callgrind(test, min(args.batches, 1000), args.pure)
            print(f"{test:12s} {figure:8.0f} instructions/command", flush=True)
        return 0
    if args.pure:
        os.environ["PYVALKEY_PURE_PYTHON"] = "1"
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        run(args.tests[0], args.batches)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    from pyvalkey import _speedups

    print(f"accelerator: {_speedups.describe()}")
    for test in args.tests:
        figures = [run(test, args.batches) for _ in range(args.repeat)]
        print(f"{test:12s} {statistics.median(figures):8.0f} ns/command  (min {min(figures):.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
