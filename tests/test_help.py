"""HELP replies: Valkey's shape (an array of simple strings whose header names the command), our own
wording, and every subcommand we serve listed.

The texts are deliberately not Valkey's, so they are checked by shape rather than byte for byte;
the errors around HELP are still compared with the oracle.
"""

from __future__ import annotations

from typing import Any

import pytest

import pyvalkey.commands  # noqa: F401  (registers every handler)
from pyvalkey.commands.helptext import help_reply
from pyvalkey.commands.registry import COMMANDS
from pyvalkey.commands.server import DEBUG_SUBCOMMANDS
from pyvalkey.protocol.replies import SimpleString

# Every container we serve with a HELP subcommand, plus DEBUG (whose subcommands live in its own
# table in commands/server.py rather than in the registry).
# CLUSTER is left out: without cluster support its HELP is an error, as Valkey's (tests/test_cluster.py).
CONTAINERS = sorted(
    name.decode().upper() for name, cmd in COMMANDS.items() if b"help" in cmd.subcommands and name != b"cluster"
) + ["DEBUG"]


def simple_string_lines(raw: bytes) -> list[str]:
    """The lines of a RESP array made only of simple strings; fails on any other shape."""
    assert raw.startswith(b"*"), raw[:80]
    header, _, rest = raw.partition(b"\r\n")
    count = int(header[1:])
    lines = rest.split(b"\r\n")
    assert lines[-1] == b"" and len(lines) == count + 1, raw[:200]
    assert all(line.startswith(b"+") for line in lines[:-1]), raw[:200]
    return [line[1:].decode() for line in lines[:-1]]


def served_subcommands(container: str) -> list[str]:
    if container.upper() == "DEBUG":
        return [name.decode().upper() for name in DEBUG_SUBCOMMANDS]
    cmd = COMMANDS.get(container.lower().encode())
    if cmd is None or not cmd.subcommands:
        return ["HELP"]
    return [name.decode().upper() for name in cmd.subcommands]


def assert_help_shape(raw: bytes, container: str, subcommands: list[str] | None = None) -> list[str]:
    """Check a HELP reply: a non-empty array of simple strings, whose first line contains
    "<CONTAINER> <subcommand> " and which documents every given (default: served) subcommand."""
    lines = simple_string_lines(raw)
    assert lines, raw
    assert f"{container.upper()} <subcommand> " in lines[0], lines[0]
    documented = {line.split(" ", 1)[0].upper() for line in lines[1:] if not line.startswith(" ")}
    for name in served_subcommands(container) if subcommands is None else subcommands:
        assert name in documented, (container, name, lines)
    return lines


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_help_shape(diff: Any, container: str, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    ours, theirs = diff.both(container, "HELP")
    assert_help_shape(ours, container)
    # The same checks hold for Valkey's reply, so they test Valkey's shape, not just ours.
    assert_help_shape(theirs, container, subcommands=["HELP"])
    assert diff.ours(container.lower(), "help") == ours


@pytest.mark.parametrize("container", CONTAINERS)
def test_help_is_protocol_independent(diff: Any, container: str) -> None:
    resp2 = diff.ours(container, "HELP")
    diff.resp3()
    assert diff.ours(container, "HELP") == resp2


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_help_with_arguments_is_refused(diff: Any, container: str, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    reply = diff(container, "HELP", "extra")
    assert reply.startswith(b"-ERR ")
    diff(container, "help", "a", "b")


@pytest.mark.parametrize("container", CONTAINERS)
def test_help_wording_is_ours(diff: Any, container: str) -> None:
    """No description line of ours repeats one of Valkey's (syntax lines may match: they state
    the arguments)."""
    ours, theirs = diff.both(container, "HELP")
    mine = simple_string_lines(ours)
    real = simple_string_lines(theirs)
    assert mine[0] != real[0]
    copied = {line for line in mine if line.startswith(" ")} & {
        line for line in real if line.startswith(" ")
    }
    assert not copied, copied


def test_help_reply_builder() -> None:
    reply = help_reply(
        "object",
        [
            ("(no subcommand)", "kept: not a subcommand name"),
            ("ENCODING <key>", ["first", "second"]),
            ("NOSUCHSUB <x>", "left out: not served"),
        ],
    )
    assert all(type(line) is SimpleString for line in reply)
    lines = [bytes(line).decode() for line in reply]
    assert lines[0].startswith("OBJECT <subcommand> ")
    assert lines[1:6] == ["(no subcommand)", "    kept: not a subcommand name", "ENCODING <key>",
                          "    first", "    second"]
    assert not any("NOSUCHSUB" in line for line in lines)
    assert lines[-2] == "HELP" and lines[-1].startswith("    ")


def test_help_reply_without_registry_entry_keeps_everything() -> None:
    lines = [bytes(line).decode() for line in help_reply("nosuchcontainer", [("ANY <x>", "text")])]
    assert lines[1:3] == ["ANY <x>", "    text"]
