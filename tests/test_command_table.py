"""The command table against the oracle: metadata, freshness of commands.json, key extraction.

* Every command and subcommand we serve must answer ``COMMAND INFO name`` byte for byte as
  Valkey does, in RESP2 and RESP3 (a container's subcommand list holds only what we serve, so
  there each subcommand entry is compared on its own).
* ``commands.json`` must still be what the oracle reports (regenerate with
  ``tools/gen_command_data.py`` when this fails after an oracle upgrade).
* keyspec.py must find the same keys, with the same flags, as Valkey's ``COMMAND GETKEYS`` and
  ``GETKEYSANDFLAGS`` for every command in the table: argv are built from each command's
  argument docs (minimal, full, repeated) plus hand-written edge cases, and compared in-process
  for all commands and over the wire for the ones we serve.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from resp import RawClient, encode_command, reply_end

from pyvalkey.commands import introspection, keyspec
from pyvalkey.commands.registry import _plain, all_commands, load_metadata
from pyvalkey.protocol.replies import ErrorReply
from pyvalkey.protocol.writer import encode, encode_error

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from gen_command_data import Resp3Parser

# ---------------------------------------------------------------------------------------------
# Helpers


def pipeline(client: RawClient, commands: list[list[bytes]], chunk: int = 200) -> list[bytes]:
    """Send many commands, in chunks so neither side's socket buffer fills, and return the raw
    replies in order."""
    replies = []
    for start in range(0, len(commands), chunk):
        batch = commands[start : start + chunk]
        client.send(b"".join(encode_command(*argv) for argv in batch))
        replies.extend(client.read_reply() for _ in batch)
    return replies


def split_elements(data: bytes, pos: int, count: int) -> tuple[list[bytes], int]:
    """The raw bytes of ``count`` consecutive replies starting at ``pos``, and the end offset."""
    elements = []
    for _ in range(count):
        end = reply_end(data, pos)
        assert end is not None
        elements.append(data[pos:end])
        pos = end
    return elements, pos


def info_parts(entry: bytes) -> tuple[bytes, list[bytes]]:
    """One COMMAND INFO entry (``*10`` array) split into the bytes of its first nine fields and
    the raw entries of its subcommand array."""
    assert entry.startswith(b"*10\r\n"), entry[:40]
    _, pos = split_elements(entry, 5, 9)
    header_end = entry.index(b"\r\n", pos) + 2
    count = int(entry[pos + 1 : header_end - 2])
    subs, end = split_elements(entry, header_end, count)
    assert end == len(entry)
    return entry[:pos], subs


def single_entry(reply: bytes) -> bytes:
    """The one entry of a ``COMMAND INFO name`` reply."""
    assert reply.startswith(b"*1\r\n"), reply[:60]
    return reply[4:]


def ours_bytes(reply: Any, resp3: bool) -> bytes:
    out = bytearray()
    if isinstance(reply, ErrorReply):
        encode_error(reply.message, out)
    else:
        encode(reply, out, resp3)
    return bytes(out)


@pytest.fixture
def oracle(oracle_server: Any) -> Iterator[RawClient]:
    client = RawClient(oracle_server.port)
    yield client
    client.close()


@pytest.fixture
def ours(pyvalkey_server: Any) -> Iterator[RawClient]:
    client = RawClient(pyvalkey_server.port)
    yield client
    client.close()


def served_names() -> list[str]:
    return [cmd.fullname for cmd in all_commands()]


# ---------------------------------------------------------------------------------------------
# COMMAND INFO of what we serve


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_command_info_matches_oracle_for_every_served_command(
    ours: RawClient, oracle: RawClient, resp3: bool
) -> None:
    if resp3:
        for client in (ours, oracle):
            assert client("HELLO", "3").startswith(b"%")
    names = served_names()
    assert names, "no commands registered"
    mine = pipeline(ours, [[b"COMMAND", b"INFO", name.encode()] for name in names])
    real = pipeline(oracle, [[b"COMMAND", b"INFO", name.encode()] for name in names])
    checked_subs = 0
    for name, my_reply, real_reply in zip(names, mine, real):
        my_head, my_subs = info_parts(single_entry(my_reply))
        real_head, real_subs = info_parts(single_entry(real_reply))
        assert my_head == real_head, f"COMMAND INFO {name}: {my_head!r} != {real_head!r}"
        if not real_subs:
            assert my_subs == [], name
            continue
        # A container lists only the subcommands we serve; each must equal Valkey's entry.
        for sub in my_subs:
            assert sub in real_subs, f"COMMAND INFO {name}: subcommand entry {sub[:80]!r} differs"
            checked_subs += 1
    # COMMAND itself is a served container, so at least its subcommands were compared.
    assert checked_subs > 0


def test_command_info_of_subcommand_names_and_case(diff: Any) -> None:
    for names in (
        ["get"],
        ["GET"],
        ["gEt", "nosuch", "set"],
        ["command|count"],
        ["COMMAND|Info"],
        ["command|nosuch"],
        ["get|x"],
        ["command|count|x"],
        ["command|"],
        ["|count"],
        [""],
    ):
        diff("COMMAND", "INFO", *names)
    diff.resp3()
    diff("COMMAND", "INFO", "get", "nosuch", "command|docs")


# ---------------------------------------------------------------------------------------------
# commands.json is current


def test_command_data_file_matches_oracle(oracle: RawClient) -> None:
    table = load_metadata()
    assert oracle("HELLO", "3").startswith(b"%")
    count = oracle("COMMAND", "COUNT")
    assert count == b":%d\r\n" % len(table), "the oracle has a different number of commands"
    names = sorted(table)
    replies = pipeline(oracle, [[b"COMMAND", b"INFO", name.encode()] for name in names], chunk=50)
    for name, raw in zip(names, replies):
        (entry,) = Resp3Parser(raw).value()
        stored = table[name]["info"]
        assert entry is not None, f"{name} is no longer a command"
        # Subcommands come in the server's hash order, which changes between runs.
        assert entry[:9] == stored[:9], f"commands.json is stale for {name}"
        live_subs = {sub[0]: sub for sub in entry[9]}
        stored_subs = {sub[0]: sub for sub in stored[9]}
        assert live_subs == stored_subs, f"commands.json is stale for the subcommands of {name}"


# ---------------------------------------------------------------------------------------------
# Key extraction against COMMAND GETKEYS / GETKEYSANDFLAGS


class _ArgvBuilder:
    """Builds sample argv from a command's argument docs.

    ``mode`` picks which optional parts to include ("min": none, "full": all) and ``pick``
    which alternative of each one-of ("first"/"last"); ``repeat`` is how often a ``multiple``
    argument is given (integers are set to the same number, so counts like numkeys agree).
    """

    def __init__(self, mode: str, pick: str, repeat: int) -> None:
        self.mode = mode
        self.pick = pick
        self.repeat = repeat
        self.key_no = 0

    def value(self, arg: dict[str, Any]) -> list[bytes]:
        kind = arg["type"]
        if kind == "key":
            self.key_no += 1
            return [b"key%d" % self.key_no]
        if kind == "pure-token":
            return [arg["token"].encode()]
        if kind in ("integer", "unix-time"):
            return [b"%d" % self.repeat]
        if kind == "double":
            return [b"1.5"]
        if kind == "oneof":
            options = arg["arguments"]
            return self.one(options[0] if self.pick == "first" else options[-1])
        if kind == "block":
            return self.many(arg["arguments"])
        return [arg["name"].encode()]

    def one(self, arg: dict[str, Any]) -> list[bytes]:
        flags = arg.get("flags", [])
        if "optional" in flags and self.mode == "min":
            return []
        times = self.repeat if "multiple" in flags else 1
        out: list[bytes] = []
        for n in range(times):
            if "token" in arg and arg["type"] != "pure-token" and (n == 0 or "multiple_token" in flags):
                out.append(arg["token"].encode())
            out.extend(self.value(arg))
        return out

    def many(self, args: list[dict[str, Any]]) -> list[bytes]:
        out: list[bytes] = []
        for arg in args:
            out.extend(self.one(arg))
        return out


def generated_argvs() -> list[list[bytes]]:
    """Sample invocations of every command and subcommand in commands.json."""
    result = []
    for name, entry in load_metadata().items():
        docs = _plain(entry["docs"]) or {}
        targets = [([name.encode()], docs)]
        for sub_name, sub_docs in (docs.get("subcommands") or {}).items():
            targets.append(([part.encode() for part in sub_name.split("|")], sub_docs))
        for prefix, cmd_docs in targets:
            seen = set()
            for mode, pick, repeat in (
                ("min", "first", 1),
                ("full", "first", 1),
                ("full", "last", 2),
                ("min", "last", 3),
                ("full", "first", 0),
            ):
                argv = prefix + _ArgvBuilder(mode, pick, repeat).many(cmd_docs.get("arguments", []))
                if tuple(argv) not in seen:
                    seen.add(tuple(argv))
                    result.append(argv)
    return result


def _split(line: str) -> list[bytes]:
    return [part.encode() for part in line.split(" ")]


# Hand-picked cases: options that move keys, counts that disagree with the arguments, parser
# quirks (atoi on counts, last STORE wins, KEYS with a key argument, NUL bytes ...).
EDGE_CASES: list[list[bytes]] = [
    _split(line)
    for line in [
        "SET k v",
        "SET k v GET",
        "SET k v get EX 10",
        "SET k v NX",
        "set k v xx get",
        "MSET a 1 b 2",
        "MSET a 1 b",
        "MSETNX a 1 b 2 c 3",
        "MGET a b c",
        "DEL a b c",
        "GET k",
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        "ZUNIONSTORE d 0 a",
        "ZUNIONSTORE d 3 a b",
        "ZUNIONSTORE d -1 a b",
        "ZUNIONSTORE d 2junk a b",
        "ZINTERSTORE d 1 a",
        "ZDIFFSTORE d 2 a b",
        "ZUNION 2 a b",
        "ZINTER 1 a WITHSCORES",
        "ZDIFF 3 a b",
        "ZINTERCARD 2 a b LIMIT 1",
        "SINTERCARD 2 a b",
        "SINTERCARD 3 a b",
        "SINTERCARD x a b",
        "EVAL s 2 k1 k2 a",
        "EVAL s 0",
        "EVAL s 0 a",
        "EVAL s x a",
        "EVAL s 3 a b",
        "EVAL s -1 a",
        "EVAL s 1junk a",
        "EVAL s 01 a",
        "EVAL s +1 a",
        "EVAL s 4294967297 a b",
        "EVALSHA x 1 k",
        "EVAL_RO s 2 a b",
        "EVALSHA_RO s 1 a",
        "FCALL f 2 a b c",
        "FCALL f 0",
        "FCALL_RO f 1 a",
        "XREAD COUNT 1 STREAMS s1 s2 0 0",
        "XREAD STREAMS s 0",
        "XREAD STREAMS s1 s2 0",
        "XREAD BLOCK 0 STREAMS a b c d",
        "XREAD streams streams streams 0 0",
        "XREAD COUNT STREAMS a 0",
        "XREAD FOO STREAMS a 0",
        "XREADGROUP GROUP g c STREAMS s 0",
        "XREADGROUP GROUP g c COUNT 1 STREAMS a b 0 0",
        "XREADGROUP GROUP g c NOACK STREAMS a b 0",
        "XREADGROUP GROUP STREAMS c STREAMS a 0",
        "SORT k",
        "SORT k BY x STORE dst",
        "SORT k STORE a STORE b",
        "SORT k LIMIT 0 1 STORE d",
        "SORT k GET store STORE d",
        "SORT k STORE",
        "SORT k BY store",
        "SORT_RO k BY x GET y",
        "MIGRATE h 1 k 0 10",
        'MIGRATE h 1 "" 0 10 KEYS a b',
        "MIGRATE h 1 k 0 10 KEYS a b",
        "MIGRATE h 1 x 0 10 COPY REPLACE KEYS a",
        "MIGRATE h 1 x 0 10 AUTH keys KEYS a",
        "MIGRATE h 1 x 0 10 AUTH2 u keys KEYS a b",
        "MIGRATE h 1 x 0 10 COPY",
        "MIGRATE h 1 x 0 10 KEYS",
        "GEORADIUS k 1 2 3 m STORE x",
        "GEORADIUS k 1 2 3 m STOREDIST x STORE y",
        "GEORADIUS k 1 2 3 m STORE",
        "GEORADIUS k 1 2 3 m",
        "GEORADIUSBYMEMBER k m 3 km STORE d",
        "GEORADIUS_RO k 1 2 3 m",
        "GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 m",
        "LMPOP 2 a b LEFT",
        "LMPOP 1 a RIGHT COUNT 2",
        "LMPOP 3 a b LEFT",
        "LMPOP 0 a LEFT",
        "BLMPOP 0 2 a b LEFT",
        "BLMPOP 0 5 a b LEFT",
        "ZMPOP 2 a b MIN",
        "BZMPOP 1 1 a MAX",
        "MSETEX 2 a 1 b 2 EX 10",
        "MSETEX 1 a 1",
        "MSETEX 3 a 1 b 2",
        "MSETEX x a 1",
        "BITFIELD k GET u8 0",
        "BITFIELD k SET u8 0 1",
        "BITFIELD k OVERFLOW SAT GET u8 0",
        "BITFIELD k INCRBY u8 0 1",
        "BITFIELD k",
        "BITFIELD k GET u8",
        "BITFIELD k FOO",
        "BITFIELD_RO k GET u8 0",
        "BITOP AND d a b c",
        "BITOP NOT d a",
        "BLPOP a b c 0",
        "BRPOP a 0",
        "BZPOPMIN a b 0",
        "LMOVE a b LEFT RIGHT",
        "BLMOVE a b LEFT LEFT 0",
        "RPOPLPUSH a b",
        "SMOVE a b m",
        "RENAME a b",
        "COPY a b DB 1",
        "LCS a b",
        "PFMERGE d a b",
        "PFCOUNT a b",
        "SINTERSTORE d a b",
        "SUNIONSTORE d a",
        "ZRANGESTORE d s 0 1",
        "OBJECT ENCODING k",
        "OBJECT FREQ k",
        "MEMORY USAGE k SAMPLES 5",
        "XINFO STREAM s FULL",
        "XINFO GROUPS s",
        "XINFO CONSUMERS s g",
        "XGROUP CREATE s g $",
        "XGROUP DESTROY s g",
        "CONFIG GET x",
        "CONFIG",
        "CONFIG nosuch",
        "PING",
        "NOSUCH a",
        "GET",
        "GET a b",
        "gEt a",
        "SPUBLISH ch m",
        "PUBLISH ch m",
        "SSUBSCRIBE a b",
        "WATCH a b",
        "TOUCH a",
        "EXISTS a b",
        "UNLINK a",
        "DELIFEQ k v",
        "HGETEX k FIELDS 1 f",
        "HSETEX k FIELDS 1 f v",
        "CLUSTERSCAN 0",
        "CLUSTER COUNTKEYSINSLOT 1",
        "CLUSTER KEYSLOT k",
        "COMMAND GETKEYS GET k",
        "RESTORE k 0 x",
        "DUMP k",
        "SCAN 0",
        "KEYS *",
        "RANDOMKEY",
        "FLUSHALL",
    ]
] + [
    [b"SET", b"k", b"v", b"get\x00tail"],
    [b"SET", b"k", b"v", b"GET\x00"],
    [b"SET", b"k", b"v", b"GE"],
    [b"XREAD", b"STREAMS\x00x", b"a", b"0"],
    [b"MIGRATE", b"h", b"1", b"", b"0", b"10", b"keys\x00", b"a"],
    [b"EVAL", b"s", b" 2", b"a", b"b"],
    [b"EVAL", b"s", b"2\x003", b"a", b"b"],
    [b"SORT", b"k", b"store\x00", b"d"],
]


def _getkeys_commands(argvs: list[list[bytes]]) -> list[list[bytes]]:
    commands = []
    for argv in argvs:
        commands.append([b"COMMAND", b"GETKEYS", *argv])
        commands.append([b"COMMAND", b"GETKEYSANDFLAGS", *argv])
    return commands


def _expected_locally(argvs: list[list[bytes]], resp3: bool) -> list[bytes]:
    table = keyspec.metadata_table()
    replies = []
    for argv in argvs:
        cmd = introspection.lookup_by_argv(table, argv)
        for with_flags in (False, True):
            try:
                reply: Any = introspection.getkeys_reply(cmd, argv, with_flags)
            except ErrorReply as error:
                reply = error
            replies.append(ours_bytes(reply, resp3))
    return replies


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_keyspec_extraction_matches_oracle_for_every_command(oracle: RawClient, resp3: bool) -> None:
    if resp3:
        assert oracle("HELLO", "3").startswith(b"%")
    argvs = generated_argvs() + EDGE_CASES
    assert len(argvs) > 600
    real = pipeline(oracle, _getkeys_commands(argvs))
    mine = _expected_locally(argvs, resp3)
    mismatches = []
    commands = _getkeys_commands(argvs)
    for command, my_reply, real_reply in zip(commands, mine, real):
        if my_reply != real_reply:
            mismatches.append(f"{b' '.join(command)!r}: ours {my_reply!r} != valkey {real_reply!r}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:30])
    # The comparison must exercise real keys, not only errors.
    assert sum(reply.startswith((b"*1", b"*2", b"*3")) for reply in real) > 400


_FUZZ_WORDS = [
    b"STORE",
    b"STOREDIST",
    b"KEYS",
    b"STREAMS",
    b"GET",
    b"BY",
    b"LIMIT",
    b"COUNT",
    b"BLOCK",
    b"GROUP",
    b"NOACK",
    b"AUTH",
    b"AUTH2",
    b"COPY",
    b"REPLACE",
    b"SET",
    b"INCRBY",
    b"OVERFLOW",
    b"0",
    b"1",
    b"2",
    b"3",
    b"-1",
    b"",
    b"x",
]


def test_keyspec_extraction_matches_oracle_on_mutated_argv(oracle: RawClient) -> None:
    """Seeded mutations (insert/delete/replace arguments with option words and counts) of the
    sample argv: the parsers' handling of malformed input must be Valkey's too."""
    rng = random.Random(20241)
    base = generated_argvs() + EDGE_CASES
    argvs = []
    for _ in range(1500):
        argv = list(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            if op < 0.4 and len(argv) > 1:
                argv.insert(rng.randint(1, len(argv)), rng.choice(_FUZZ_WORDS))
            elif op < 0.7 and len(argv) > 2:
                del argv[rng.randint(1, len(argv) - 1)]
            elif len(argv) > 1:
                argv[rng.randint(1, len(argv) - 1)] = rng.choice(_FUZZ_WORDS)
        argvs.append(argv)
    commands = _getkeys_commands(argvs)
    real = pipeline(oracle, commands)
    mine = _expected_locally(argvs, False)
    bad = [(command, m, r) for command, m, r in zip(commands, mine, real) if m != r]
    assert not bad, bad[:10]


def test_getkeys_over_the_wire_for_served_commands(ours: RawClient, oracle: RawClient) -> None:
    served = {cmd.fullname for cmd in all_commands()}
    table = keyspec.metadata_table()
    argvs = []
    for argv in generated_argvs() + EDGE_CASES:
        cmd = introspection.lookup_by_argv(table, argv)
        if cmd is not None and cmd.fullname in served:
            argvs.append(argv)
    assert argvs
    for resp3 in (False, True):
        if resp3:
            for client in (ours, oracle):
                client("HELLO", "3")
        commands = _getkeys_commands(argvs)
        mine = pipeline(ours, commands)
        real = pipeline(oracle, commands)
        for command, my_reply, real_reply in zip(commands, mine, real):
            assert my_reply == real_reply, f"{command!r}: {my_reply!r} != {real_reply!r}"


def test_legacy_range_matches_command_info_triple() -> None:
    mset = keyspec.metadata_command("mset")
    assert keyspec.legacy_key_positions(mset, [b"MSET", b"a", b"1", b"b", b"2"]) == [1, 3]
    get = keyspec.metadata_command("get")
    assert keyspec.legacy_key_positions(get, [b"GET", b"k"]) == [1]
    ping = keyspec.metadata_command("ping")
    assert keyspec.legacy_key_positions(ping, [b"PING"]) == []
    blpop = keyspec.metadata_command("blpop")
    assert keyspec.legacy_key_positions(blpop, [b"BLPOP", b"a", b"b", b"0"]) == [1, 2]


def test_keys_from_specs_partial_and_not_keys() -> None:
    spublish = keyspec.metadata_command("spublish")
    argv = [b"SPUBLISH", b"ch", b"msg"]
    assert not keyspec.has_keys(spublish)
    assert keyspec.keys_from_specs(spublish, argv) == []
    assert keyspec.keys_from_specs(spublish, argv, include_not_keys=True) == [(1, keyspec.KEY_NOT_KEY)]
    migrate = keyspec.metadata_command("migrate")
    argv = [b"MIGRATE", b"h", b"1", b"", b"0", b"10", b"KEYS", b"a", b"b"]
    # The KEYS spec is incomplete: alone it gives up, partially it returns what it found.
    assert keyspec.keys_from_specs(migrate, argv) is None
    assert [pos for pos, _ in keyspec.keys_from_specs(migrate, argv, partial=True) or []] == [3, 7, 8]
    assert keyspec.key_names(migrate, argv) == [b"a", b"b"]
    sort = keyspec.metadata_command("sort")
    assert keyspec.keys_from_specs(sort, [b"SORT", b"k"]) is None
    # Its first spec (the sorted key) is plain; the BY/GET and STORE specs are "unknown".
    assert keyspec.keys_from_specs(sort, [b"SORT", b"k"], partial=True) == [
        (1, keyspec.KEY_RO | keyspec.KEY_ACCESS)
    ]


def test_metadata_table_covers_the_json() -> None:
    table = keyspec.metadata_table()
    data = load_metadata()
    assert set(table) == {name.encode() for name in data}
    xinfo = table[b"xinfo"]
    assert {sub.fullname for sub in xinfo.subcommands.values()} == {s[0] for s in data["xinfo"]["info"][9]}
    for name, cmd in table.items():
        assert cmd.fullname.encode() == name and cmd.handler is None
        for sub in cmd.subcommands.values():
            assert sub.parent is cmd and sub.fullname == f"{cmd.fullname}|{sub.name.decode()}"
