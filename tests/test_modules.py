"""MODULE against the oracle: the built-in Lua module listed, native modules refused."""

from __future__ import annotations

import pytest
from resp import RawClient
from servers import start_oracle, start_pyvalkey


def test_module_help_shape(diff) -> None:
    from test_help import assert_help_shape

    assert_help_shape(diff.ours("MODULE", "HELP"), "MODULE")


@pytest.mark.parametrize("resp3", [False, True])
def test_module_list_and_refusals(diff, resp3) -> None:
    if resp3:
        diff.resp3()
    diff("MODULE", "LIST")
    diff("MODULE", "LOAD", "/nonexistent.so")
    diff("MODULE", "LOADEX", "/x.so", "CONFIG", "a", "b", "ARGS", "c")
    diff("MODULE", "UNLOAD", "foo")
    diff("MODULE", "LOADEX")
    diff("MODULE", "FOO")
    diff("MODULE")


def test_module_command_enabled() -> None:
    servers = [start_pyvalkey("--enable-module-command", "yes"), start_oracle("--enable-module-command", "yes")]
    try:
        ours, theirs = (RawClient(server.port) for server in servers)
        for args in (
            ("MODULE", "LOAD", "/nonexistent.so"),
            ("MODULE", "LOADEX", "/x.so", "CONFIG", "a"),
            ("MODULE", "UNLOAD", "foo"),
            ("MODULE", "LIST"),
        ):
            assert ours(*args) == theirs(*args), args
        ours.close()
        theirs.close()
    finally:
        for server in servers:
            server.stop()
