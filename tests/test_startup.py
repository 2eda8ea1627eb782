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
    # Modules only some commands need stay unimported until then (each cost a few ms of every
    # start). Others are imported by modules owned elsewhere (see docs/performance.md).
    import subprocess
    import sys

    code = (
        "import sys, pyvalkey.cli, pyvalkey.server, pyvalkey.commands, pyvalkey.net.listeners\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                 .stdout.split())
    assert "pyvalkey.commands" in loaded
    for name in ("platform", "decimal", "dataclasses"):
        assert name not in loaded, name
