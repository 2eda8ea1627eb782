"""Start-up cost: the cached command metadata and the modules a server start must not import.

The figures themselves are measured by benchmarks/startup.py (docs/performance.md); these tests pin
down what makes them: the generated ``_command_meta`` module must match commands.json exactly, and
metadata read through it must equal metadata read from the JSON.
"""

from __future__ import annotations

from pyvalkey.commands import _command_meta, registry


def test_generated_meta_module_is_current() -> None:
    # A stale module is not wrong (the JSON wins) but makes every start parse the JSON again:
    # regenerate with registry.write_meta_module().
    assert _command_meta.SOURCE_CRC == registry._source_crc()
    assert registry.build_compact_table() == _command_meta.TABLE
    assert registry.compact_table() is _command_meta.TABLE


def test_registered_commands_match_full_metadata() -> None:
    for cmd in registry.all_commands():
        full = registry.Command(cmd.fullname, None, *registry._metadata_for(cmd.fullname))
        for attr in ("arity", "flags", "first_key", "last_key", "key_step", "acl_categories", "key_specs",
                     "group", "is_write", "is_readonly", "denyoom", "noscript", "loading_ok", "stale_ok",
                     "no_auth", "no_multi", "allow_busy", "pubsub_ok", "admin", "may_replicate", "blocking"):
            assert getattr(cmd, attr) == getattr(full, attr), (cmd.fullname, attr)
        assert cmd.info_raw == full.info_raw
        assert cmd.docs_raw == full.docs_raw


def test_generated_config_defaults_are_current() -> None:
    import json

    from pyvalkey import _config_defaults, config

    assert _config_defaults.SOURCE_CRC == config._defaults_crc()
    with open(config._DEFAULTS_JSON) as handle:
        assert json.load(handle) == _config_defaults.TABLE
    assert config._defaults_table() is _config_defaults.TABLE


def test_server_import_leaves_heavy_modules_alone() -> None:
    # Modules only some commands need stay unimported (or bound lazily) until then: each cost a
    # few ms of every start. Others are imported by modules owned elsewhere (docs/performance.md).
    # Only what importing pyvalkey adds counts: the interpreter's site hooks here import some of
    # these names (random, ipaddress) before any of our code runs.
    import json
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import pyvalkey.cli, pyvalkey.server, pyvalkey.commands, pyvalkey.net.listeners\n"
        "names = ('platform', 'decimal', 'dataclasses', 'ipaddress', 'random', 'hashlib', 'pyvalkey.commands',\n"
        "         'pyvalkey.persistence.rdb', 'pyvalkey.persistence.aof', 'pyvalkey.storage.hyperloglog')\n"
        "print(json.dumps({n: type(sys.modules[n]).__name__ if n in sys.modules and n not in before else None\n"
        "                  for n in names}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    state = json.loads(result.stdout)
    assert state["pyvalkey.commands"] == "module"
    for name in ("platform", "decimal", "dataclasses", "ipaddress", "random", "hashlib"):
        assert state[name] is None, name
    for name in ("pyvalkey.persistence.rdb", "pyvalkey.persistence.aof", "pyvalkey.storage.hyperloglog"):
        assert state[name] in (None, "_LazyModule"), name  # None: its command group is not imported yet


_START = """
import asyncio, json, os, sys, tempfile
before = set(sys.modules)
import pyvalkey.cli, pyvalkey.net.listeners
from pyvalkey.config import Config
from pyvalkey.server import Server
os.chdir(tempfile.mkdtemp())
config = Config()
config.port = 0
config.bind = "127.0.0.1"
config.save = ""

async def main():
    server = Server(config)
    await server.start()
    await server.close()

asyncio.run(main())
print(json.dumps(sorted(name for name in set(sys.modules) - before if type(sys.modules[name]).__name__ == "module")))
"""


def test_a_started_server_has_imported_only_the_persistence_group() -> None:
    # A start with no data file and appendonly off: of the command groups only persistence (its
    # save points run from the cron) is imported; the RDB format itself is not.
    import json
    import subprocess
    import sys

    from pyvalkey.commands import GROUPS

    result = subprocess.run([sys.executable, "-c", _START], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    assert {name for name in GROUPS if name in loaded} == {"pyvalkey.commands.persistence"}
    assert not loaded & {"pyvalkey.persistence.rdb", "pyvalkey.persistence.aof", "pyvalkey.commands.aof"}


def test_lazy_module_loads_on_first_use() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pyvalkey.lazyimport import lazy_module\n"
        "m = lazy_module('pyvalkey.storage.hyperloglog')\n"
        "assert type(m).__name__ == '_LazyModule'\n"
        "registers = m.REGISTERS\n"
        "assert type(m).__name__ == 'module' and sys.modules['pyvalkey.storage.hyperloglog'] is m\n"
        "from pyvalkey.storage import hyperloglog\n"
        "assert hyperloglog is m and lazy_module('pyvalkey.storage.hyperloglog') is m\n"
        "print(registers)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(result.stdout) == 16384
