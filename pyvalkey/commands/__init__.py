"""Command groups, imported on first use.

One module per group, as Valkey groups them; each registers its handlers with ``@command``.
Importing this package fills the command table with every command we serve without importing
the groups: each entry's handler is a stand-in that imports the group's module on the first call
(pyvalkey/commands/registry.py, ``install_lazy_table``), from the generated ``_command_modules``.
Side effects of importing a group other than its ``@command`` registrations (INFO providers,
SHUTDOWN hooks, DEBUG subcommands, RESET hooks, EVAL/FCALL's denyoom hooks) are loaded by the code
that runs them (``registry.load_hook_modules``); tests/test_lazy_commands.py checks that no group
has any other.

``PYVALKEY_EAGER_COMMANDS=1`` imports every group here instead, as before (what
``registry.write_modules_module`` runs to learn which module registers what).
"""

from __future__ import annotations

import os

from pyvalkey.commands import registry as _registry

# Every module that registers commands (or DEBUG subcommands), in the order start-up imported them
# before they were loaded lazily: the table lists commands in the order this gives. MONITOR lives
# beside the dispatcher it observes.
GROUPS = (
    "pyvalkey.monitor",
    "pyvalkey.commands.acl",
    "pyvalkey.commands.server",  # was imported by aof
    "pyvalkey.commands.aof",
    "pyvalkey.commands.bitmaps",
    "pyvalkey.commands.client",
    "pyvalkey.commands.cluster",
    "pyvalkey.commands.config",
    "pyvalkey.commands.connection",
    "pyvalkey.commands.geo",
    "pyvalkey.commands.hashes",
    "pyvalkey.commands.hyperloglog",
    "pyvalkey.commands.introspection",
    "pyvalkey.commands.keys",
    "pyvalkey.commands.latency",
    "pyvalkey.commands.lists",
    "pyvalkey.commands.migrate",
    "pyvalkey.commands.modules",
    "pyvalkey.commands.persistence",
    "pyvalkey.commands.replication",
    "pyvalkey.commands.pubsub",
    "pyvalkey.commands.scripting",
    "pyvalkey.commands.sets",
    "pyvalkey.commands.sort",
    "pyvalkey.commands.streams",
    "pyvalkey.commands.strings",
    "pyvalkey.commands.timetravel",
    "pyvalkey.commands.transactions",
    "pyvalkey.commands.zsets",
)

EAGER = bool(os.environ.get("PYVALKEY_EAGER_COMMANDS"))

if EAGER:
    for _name in GROUPS:
        __import__(_name)
else:
    _registry.install_lazy_table()
