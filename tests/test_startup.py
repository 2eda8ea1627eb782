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
