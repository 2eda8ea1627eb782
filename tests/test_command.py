"""COMMAND over the wire, compared with the oracle.

Replies that list the whole table differ from Valkey by design (we list only what we serve, in
our own order; Valkey's order is its hash table's), so those are compared as: ours equals the
oracle's answer restricted to the commands we serve. COMMAND DOCS is compared with Valkey's
prose (summary, history) removed, since we do not ship it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resp import RawClient, reply_end

from pyvalkey.commands.registry import all_commands

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from gen_command_data import Resp3Parser, strip_prose


def parse(raw: bytes) -> Any:
    return Resp3Parser(raw).value()


def served() -> set[str]:
    return {cmd.fullname for cmd in all_commands()}


@pytest.fixture
def pair(pyvalkey_server: Any, oracle_server: Any) -> Iterator[tuple[RawClient, RawClient]]:
    ours = RawClient(pyvalkey_server.port)
    theirs = RawClient(oracle_server.port)
    yield ours, theirs
    ours.close()
    theirs.close()


def _elements(raw: bytes) -> list[bytes]:
    """The raw bytes of each element of an array reply."""
    head_end = raw.index(b"\r\n") + 2
    count = int(raw[1 : head_end - 2])
    out, pos = [], head_end
    for _ in range(count):
        end = reply_end(raw, pos)
        assert end is not None
        out.append(raw[pos:end])
        pos = end
    assert pos == len(raw)
    return out


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_help_and_errors(diff: Any, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    # HELP is in our own words: check its shape (see test_help.py), not Valkey's bytes.
    from test_help import assert_help_shape

    assert_help_shape(diff.ours("COMMAND", "HELP"), "COMMAND")
    assert_help_shape(diff.ours("command", "help"), "COMMAND")
    diff("COMMAND", "HELP", "extra")
    diff("COMMAND", "NOSUCH")
    diff("COMMAND", "nosuch", "a", "b")
    diff("COMMAND", "COUNT", "extra")
    diff("COMMAND", "GETKEYS")
    diff("COMMAND", "GETKEYSANDFLAGS")
    diff("COMMAND", "LIST", "x")
    diff("COMMAND", "LIST", "FILTERBY")
    diff("COMMAND", "LIST", "FILTERBY", "ACLCAT")
    diff("COMMAND", "LIST", "FILTERBY", "NOSUCH", "x")
    diff("COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "FILTERBY", "PATTERN", "y")
    diff("COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "extra")
    diff("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch")
    diff("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch")
    diff("COMMAND", "LIST", "FILTERBY", "ACLCAT", "@read")
    diff("COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*")


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_getkeys_errors_and_replies(diff: Any, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    for args in (
        ["nosuch"],
        ["nosuch", "a"],
        ["GET"],
        ["GET", "a", "b"],
        ["get", "k"],
        ["GeT", "k"],
        ["PING"],
        ["ECHO", "x"],
        ["CONFIG"],
        ["CONFIG", "GET", "x"],
        ["CONFIG", "nosuch"],
        ["COMMAND"],
        ["COMMAND", "GETKEYS", "GET", "k"],
        ["SET", "k", "v"],
        ["SET", "k", "v", "GET"],
        ["SET", "k", "v", "EX", "10", "get"],
        ["MSET", "a", "1", "b", "2"],
        ["MSET", "a", "1", "b"],
        ["MGET", "a", "b", "c"],
        ["DEL", "a", "b"],
        ["LCS", "a", "b"],
        ["RENAME", "a", "b"],
        ["COPY", "a", "b", "DB", "1"],
        ["OBJECT", "ENCODING", "k"],
        ["OBJECT", "HELP"],
        ["MEMORY", "USAGE", "k"],
        ["DELIFEQ", "k", "v"],
    ):
        if args[0].lower() in {name.split("|")[0] for name in served()} or args[0] == "nosuch":
            diff("COMMAND", "GETKEYS", *args)
            diff("COMMAND", "GETKEYSANDFLAGS", *args)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_info_lookups(diff: Any, resp3: bool) -> None:
    if resp3:
        diff.resp3()
    diff("COMMAND", "INFO", "get")
    diff("COMMAND", "INFO", "GET", "nosuch", "SeT")
    diff("COMMAND", "INFO", "command|info")
    diff("COMMAND", "INFO", "COMMAND|GETKEYS", "command|nosuch", "get|x", "command|info|x", "")
    diff("COMMAND", "INFO", "nosuch")


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_whole_table_is_oracle_restricted_to_served(pair: tuple[RawClient, RawClient], resp3: bool) -> None:
    ours, theirs = pair
    if resp3:
        for client in pair:
            client("HELLO", "3")
    names = served()
    top_level = {name for name in names if "|" not in name}
    # COMMAND and COMMAND INFO (no names) are the same list.
    everything = ours("COMMAND")
    assert ours("COMMAND", "INFO") == everything
    entries = _elements(everything)
    assert {parse(entry)[0] for entry in entries} == top_level
    assert ours("COMMAND", "COUNT") == b":%d\r\n" % len(top_level)
    # Each entry, up to its subcommand list, is Valkey's (test_command_table checks the rest).
    for entry in entries:
        mine = parse(entry)
        (real,) = parse(theirs("COMMAND", "INFO", mine[0]))
        assert mine[:9] == real[:9]
    listing = ours("COMMAND", "LIST")
    assert sorted(parse(listing)) == sorted(names)


PATTERNS = [
    "*",
    "c*",
    "C*",
    "*|*",
    "command|*",
    "get",
    "GET",
    "g?t",
    "?",
    "[a-c]*",
    "[^a-c]*",
    "[c-a]*",
    "*\\|*",
    "co[mn]*",
    "co[!m]*",
    "[",
    "[a",
    "*[",
    "\\g*",
    "*t",
    "*e*e*",
    "[\\]]*",
    "[a-]*",
    "c[^o]*",
    "*|*i*",
    "",
]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_list_filters_match_oracle_on_served_commands(pair: tuple[RawClient, RawClient], resp3: bool) -> None:
    ours, theirs = pair
    if resp3:
        for client in pair:
            client("HELLO", "3")
    names = served()
    filters = [["PATTERN", pattern] for pattern in PATTERNS]
    filters += [
        ["ACLCAT", cat]
        for cat in (
            "keyspace",
            "read",
            "write",
            "string",
            "fast",
            "slow",
            "admin",
            "dangerous",
            "connection",
            "CONNECTION",
            "Fast",
            "scripting",
            "pubsub",
            "blocking",
            "transaction",
            "hash",
        )
    ]
    filters += [["MODULE", "x"], ["filterby_case", ""]]
    checked = 0
    for kind, arg in filters:
        args = (
            ["COMMAND", "LIST", "FILTERBY", kind, arg]
            if kind != "filterby_case"
            else ["command", "list", "filterBY", "pattern", "c*"]
        )
        mine = parse(ours(*args))
        real = parse(theirs(*args))
        assert isinstance(mine, list), (args, mine)
        assert len(mine) == len(set(mine))
        expected = {name for name in real if name in names}
        assert set(mine) == expected, args
        checked += len(expected)
    assert checked > 50


def _docs_of(client: RawClient, name: str) -> Any:
    reply = parse(client("COMMAND", "DOCS", name))
    if isinstance(reply, dict):  # RESP3 map
        pairs = reply["%"]
    else:
        pairs = [reply[i : i + 2] for i in range(0, len(reply), 2)]
    assert len(pairs) == 1
    return pairs[0]


def _without_subcommands(doc: Any) -> tuple[Any, dict[str, Any]]:
    """A docs entry without its subcommands, and the subcommands by name."""
    if isinstance(doc, dict):
        pairs = doc["%"]
        subs = {k: v for key, value in pairs if key == "subcommands" for k, v in value["%"]}
        return {"%": [p for p in pairs if p[0] != "subcommands"]}, subs
    pairs = [doc[i : i + 2] for i in range(0, len(doc), 2)]
    subs = {}
    for key, value in pairs:
        if key == "subcommands":
            subs = {value[i]: value[i + 1] for i in range(0, len(value), 2)}
    return [x for key, value in pairs if key != "subcommands" for x in (key, value)], subs


def _strip_prose_flat(doc: Any) -> Any:
    """strip_prose for RESP2 replies, where maps are flat arrays: docs maps and, inside their
    ``arguments``, the argument maps (which may nest further ``arguments``)."""
    if isinstance(doc, dict):
        return strip_prose(doc)
    out = []
    for i in range(0, len(doc), 2):
        key, value = doc[i], doc[i + 1]
        if key in ("summary", "history"):
            continue
        if key == "arguments":
            value = [_strip_prose_flat(arg) for arg in value]
        out += [key, value]
    return out


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_docs_are_oracle_docs_without_prose(pair: tuple[RawClient, RawClient], resp3: bool) -> None:
    ours, theirs = pair
    if resp3:
        for client in pair:
            client("HELLO", "3")
    for name in sorted(served()):
        my_name, my_doc = _docs_of(ours, name)
        real_name, real_doc = _docs_of(theirs, name)
        assert my_name == real_name == name
        my_doc, my_subs = _without_subcommands(my_doc)
        real_doc, real_subs = _without_subcommands(real_doc)
        assert my_doc == _strip_prose_flat(real_doc), name
        for sub, doc in my_subs.items():
            assert doc == _strip_prose_flat(real_subs[sub]), sub
    assert parse(ours("COMMAND", "DOCS", "nosuch")) == parse(theirs("COMMAND", "DOCS", "nosuch"))
    mine = parse(ours("COMMAND", "DOCS", "nosuch", "get", "GET", "command|count"))
    names = [pair_[0] for pair_ in mine["%"]] if isinstance(mine, dict) else mine[::2]
    assert names == ["get", "get", "command|count"]
    everything = parse(ours("COMMAND", "DOCS"))
    all_names = [p[0] for p in everything["%"]] if isinstance(everything, dict) else everything[::2]
    assert set(all_names) == {name for name in served() if "|" not in name}
