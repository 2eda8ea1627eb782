"""Command groups imported on first use (pyvalkey/commands/registry.py, ``install_lazy_table``).

The table is filled at start-up from the generated ``_command_modules``: it must be current, it
must equal the table importing every group builds, and importing a group must have no side effect
other than its ``@command`` registrations and the hook registries whose users load it first
(``registry.load_hook_modules``). A fresh server must then answer everything that reads the table
before the group is imported: COMMAND, MULTI queueing, scripts, INFO, DEBUG, SHUTDOWN, RESET.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from resp import RawClient
from servers import start_pyvalkey

from pyvalkey.commands import GROUPS, _command_modules, registry

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, eager: bool = False) -> Any:
    env = dict(os.environ)
    env.pop("PYVALKEY_EAGER_COMMANDS", None)
    if eager:
        env["PYVALKEY_EAGER_COMMANDS"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_generated_modules_table_is_current() -> None:
    # Regenerate with registry.write_modules_module() after adding, moving or removing a handler.
    found = registry.build_modules_table()
    assert found["duplicates"] == [], "a command registered by two groups: the one imported last would win"
    generated = [(name, _command_modules.MODULES[index]) for name, index in _command_modules.TABLE.items()]
    assert generated == [tuple(entry) for entry in found["table"]]
    assert {kind: tuple(modules) for kind, modules in found["hooks"].items()} == _command_modules.HOOKS


def test_every_module_that_registers_commands_is_a_group() -> None:
    registering = set()
    for path in (ROOT / "pyvalkey").rglob("*.py"):
        text = path.read_text()
        imports = re.findall(r"from pyvalkey\.commands\.registry import ([^\n]*)", text)
        if path.name != "registry.py" and any(re.search(r"\bcommand\b", line) for line in imports):
            registering.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    assert registering <= set(GROUPS), registering - set(GROUPS)


_TABLE_DUMP = """
import json
from pyvalkey.commands.registry import all_commands
rows = []
for cmd in all_commands():
    rows.append([cmd.fullname, cmd.arity, sorted(cmd.flags), cmd.first_key, cmd.last_key, cmd.key_step,
                 sorted(cmd.acl_categories), cmd.group, cmd.handler is None,
                 [sub.fullname for sub in cmd.subcommands.values()]])
print(json.dumps(rows))
"""


def test_lazy_table_equals_the_eager_one() -> None:
    # Same commands, same metadata, same order (COMMAND, COMMAND LIST, HELP and INFO list them in
    # table order), the same containers without a handler of their own.
    assert _run(_TABLE_DUMP) == _run(_TABLE_DUMP, eager=True)


def test_start_up_imports_no_group_it_does_not_need() -> None:
    code = (
        "import json, sys, pyvalkey.cli, pyvalkey.server, pyvalkey.net.listeners\n"
        "from pyvalkey.commands import GROUPS\n"
        "print(json.dumps([name for name in GROUPS if name in sys.modules]))"
    )
    loaded = set(_run(code))
    # Importing the server, the CLI and the listeners imports no group: each loads on first use.
    assert loaded == set(), loaded


def test_first_config_command_loads_no_file_machinery() -> None:
    """The first CONFIG GET/SET of a fresh server imports the config group. Its memory counts
    against maxmemory from then on (used_memory is the process's), and a test that sets a limit
    just above used_memory and then writes would get -OOM. So the group leaves tempfile (and
    with it shutil, bz2, lzma and random: about 0.7 MB) to CONFIG REWRITE."""
    code = (
        "import json, sys, pyvalkey.cli, pyvalkey.server, pyvalkey.net.listeners\n"
        # A site hook of the machine may have loaded them already: forget them, so that an
        # import of them by the group shows.
        "for name in ('tempfile', 'shutil', 'bz2', 'lzma'):\n"
        "    sys.modules.pop(name, None)\n"
        "before = set(sys.modules)\n"
        "import pyvalkey.commands.config\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    added = set(_run(code))
    assert "pyvalkey.commands.config" in added
    assert not added & {"tempfile", "shutil", "bz2", "lzma"}, added


_SIDE_EFFECTS = """
import json, sys, types
import pyvalkey.cli, pyvalkey.server, pyvalkey.net.listeners, pyvalkey.embedded
from pyvalkey.commands import GROUPS, registry
from pyvalkey.config import DIRECTIVES

# What a group may change when imported: the command table, and the hook registries whose users
# load their modules first (registry._HOOK_REGISTRIES). Other modules that import one of these
# objects hold the same object under their own name: they are matched by identity.
allowed = [("pyvalkey.commands.registry", name) for name in ("COMMANDS", "_HANDLERS", "_REGISTRATIONS")]
allowed += [(owner, attribute) for _, owner, attribute, _ in registry._HOOK_REGISTRIES]
allowed.append(("pyvalkey.commands.registry", "DEBUG_HELP"))  # DEBUG HELP's lines, beside DEBUG_SUBCOMMANDS
allowed_ids = {id(getattr(__import__(owner, fromlist=["_"]), attribute)) for owner, attribute in allowed}

def snapshot():
    state = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("pyvalkey") or not isinstance(module, types.ModuleType):
            continue
        if type(module).__name__ == "_LazyModule":
            continue
        for attribute, value in list(vars(module).items()):
            if id(value) in allowed_ids:
                continue
            if isinstance(value, (list, dict, set)):
                state[(name, attribute)] = repr(sorted(map(repr, value)) if isinstance(value, set) else
                                                [repr(v) for v in (value.items() if isinstance(value, dict) else value)])
            elif isinstance(value, type) and value.__module__ == name:
                state[(name, attribute)] = repr(sorted(vars(value)))
    state[("config", "apply")] = repr(sorted((n, repr(d.apply)) for n, d in DIRECTIVES.items()))
    return state

changes = []
for group in GROUPS:
    before = snapshot()
    __import__(group)
    after = snapshot()
    for key in before:
        if before[key] != after.get(key):
            changes.append([group, *key])
print(json.dumps(changes))
"""


def test_groups_have_no_other_import_time_side_effects() -> None:
    # An INFO provider, a SHUTDOWN hook, a config apply hook, a registry another module reads...
    # added when a group is imported would be missing until its first command ran: such an effect
    # belongs in a hook registry that its user loads (registry.load_hook_modules) or at start-up.
    assert _run(_SIDE_EFFECTS) == []


_FIRST_CALL = """
import json, sys
from pyvalkey.commands import registry
from pyvalkey.commands.registry import COMMANDS
from pyvalkey.server import Server
server = Server()
dispatcher = server.dispatcher
zadd = COMMANDS[b"zadd"]
assert "pyvalkey.commands.zsets" not in sys.modules
stand_in = zadd.handler
client = server.new_client()
dispatcher.execute(client, [b"ZADD", b"z", b"1", b"a"])
from pyvalkey.commands import zsets
assert registry.is_stand_in(stand_in) and not registry.is_stand_in(zadd.handler)
out = [bytes(client.out).decode(), zadd.handler is zsets.zadd, COMMANDS[b"zadd"] is zadd,
       dispatcher.by_name[b"ZADD"] is zadd, dispatcher.fast_commands[b"zadd"][0] is zadd, stand_in is not zadd.handler]
# A stand-in wrapped before its module is imported (tracking wraps FLUSHALL): the wrapper stays.
flushall = COMMANDS[b"flushall"]
calls = []
inner = flushall.handler
def wrapper(client, argv):
    calls.append(1)
    return inner(client, argv)
flushall.handler = wrapper
dispatcher.execute(client, [b"FLUSHALL"])
dispatcher.execute(client, [b"FLUSHALL"])
out += [flushall.handler is wrapper, len(calls), bytes(client.out).decode()]
print(json.dumps(out))
"""


def test_first_call_installs_the_plain_handler_on_the_same_command() -> None:
    out = _run(_FIRST_CALL)
    assert out[0] == ":1\r\n"
    assert out[1:6] == [True] * 5
    assert out[6:9] == [True, 2, ":1\r\n+OK\r\n+OK\r\n"]


def test_every_handler_is_loaded_by_its_module() -> None:
    code = (
        "import json\n"
        "from pyvalkey.commands import registry\n"
        "bad = []\n"
        "for cmd in registry.all_commands():\n"
        "    if cmd.handler is None:\n"
        "        continue\n"
        "    handler = registry.load_handler(cmd)\n"
        "    if registry.is_stand_in(handler) or cmd.handler is not handler:\n"
        "        bad.append(cmd.fullname)\n"
        "print(json.dumps(bad))"
    )
    assert _run(code) == []


@pytest.fixture
def fresh() -> Any:
    """A server of its own: nothing but PING has run in it."""
    server = start_pyvalkey()
    client = RawClient(server.port)
    yield client
    client.close()
    server.stop()


def test_fresh_server_answers_from_the_table_before_any_group_is_imported(fresh: RawClient) -> None:
    r = fresh
    count = int(r("COMMAND", "COUNT")[1:-2])
    assert count == len({name.partition("|")[0] for name in _command_modules.TABLE})
    assert r("COMMAND", "INFO", "geoadd").startswith(b"*1\r\n*10\r\n$6\r\ngeoadd\r\n")
    assert r("COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b") == b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
    # MULTI queues commands whose groups are not imported yet, EXEC runs them.
    assert r("MULTI") == b"+OK\r\n"
    assert r("XADD", "s", "1-1", "f", "v") == b"+QUEUED\r\n"
    assert r("GEOADD", "g", "13.361389", "38.115556", "Palermo") == b"+QUEUED\r\n"
    assert r("EXEC") == b"*2\r\n$3\r\n1-1\r\n:1\r\n"
    # Over maxmemory, a script declaring flags without allow-oom is refused before it runs: the
    # hook that says so comes with commands/scripting.py, not imported yet.
    assert r("CONFIG", "SET", "maxmemory", "1") == b"+OK\r\n"
    assert r("EVAL", "#!lua\nreturn 1", "0").startswith(b"-OOM ")
    assert r("CONFIG", "SET", "maxmemory", "0") == b"+OK\r\n"
    # A script calling a command of a group nobody has used yet.
    assert r("EVAL", "return server.call('sadd', KEYS[1], 'm')", "1", "set") == b":1\r\n"
    info = r("INFO", "persistence")
    assert b"aof_enabled:0" in info and b"rdb_changes_since_last_save:" in info
    assert b"role:master" in r("INFO", "replication")
    assert b"RELOAD" in r("DEBUG", "HELP") and b"TIME-TRAVEL" in r("DEBUG", "HELP")
    assert r("DEBUG", "RELOAD") == b"+OK\r\n"
    assert r("SMEMBERS", "set") == b"*1\r\n$1\r\nm\r\n"
    assert r("RESET") == b"+RESET\r\n"
    stats = r("INFO", "commandstats")
    assert b"cmdstat_geoadd:calls=1," in stats and b"cmdstat_sadd:calls=1," in stats


_SLOW_IMPORT = """
import json, sys, time
from pyvalkey.server import Server

class SlowFinder:  # makes importing the zsets group take 60 ms
    def find_spec(self, name, path=None, target=None):
        if name == "pyvalkey.commands.zsets":
            time.sleep(0.06)
        return None

sys.meta_path.insert(0, SlowFinder())
server = Server()
server.stats.slowlog_threshold_us = 30_000
server.stats.slow_path_us = 30_000
client = server.new_client()
server.dispatcher.execute(client, [b"ZADD", b"z", b"1", b"a"])
server.dispatcher.execute(client, [b"ZADD", b"z", b"2", b"b"])
print(json.dumps([len(server.slowlog.entries), server.stats.commands_processed]))
"""


def test_the_import_of_a_first_call_is_not_slow_log_time() -> None:
    # The slow log and the latency monitor judge the command, not the one-time import of its group.
    assert _run(_SLOW_IMPORT) == [0, 2]
