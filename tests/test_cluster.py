"""CLUSTER on a standalone server, against the oracle (cluster-enabled no)."""

from __future__ import annotations

import pytest

from pyvalkey.commands.registry import compact_table

SUBCOMMAND_ARGS = {
    "addslots": ["1"], "addslotsrange": ["1", "2"], "countkeysinslot": ["1"], "count-failure-reports": ["x"],
    "delslots": ["1"], "delslotsrange": ["1", "2"], "flushslot": ["1"], "forget": ["x"],
    "getkeysinslot": ["1", "1"], "meet": ["127.0.0.1", "1"], "replicas": ["x"], "replicate": ["x"],
    "set-config-epoch": ["1"], "setslot": ["1", "stable"], "slaves": ["x"], "slot-stats": ["slotsrange", "0", "1"],
    "keyslot": ["foo"], "migrateslots": ["slotsrange", "1", "2", "node", "x"], "syncslots": ["x"],
}


@pytest.mark.parametrize("resp", [2, 3])
def test_every_subcommand(diff, resp):
    if resp == 3:
        diff.resp3()
    for fullname in sorted(compact_table()):
        if not fullname.startswith("cluster|"):
            continue
        sub = fullname.split("|", 1)[1]
        diff("CLUSTER", sub, *SUBCOMMAND_ARGS.get(sub, []))
        diff("CLUSTER", sub.upper(), *SUBCOMMAND_ARGS.get(sub, []), "extra", "args")
    diff("CLUSTER")
    diff("CLUSTER", "nosuch")
    diff("CLUSTERSCAN", "0")


def test_keyslot(diff):
    for key in ("", "foo", "{a}b", "a{}", "{}a", "a{b}{c}", "{{a}}", "{", "}", "a{b", "\xff\x00\x80", "x" * 300):
        diff("CLUSTER", "KEYSLOT", key)
    diff("CLUSTER", "KEYSLOT")
    diff("CLUSTER", "KEYSLOT", "a", "b")


def test_noscript_subcommands_refused_in_scripts(diff):
    diff("EVAL", "return redis.call('cluster', 'reset')", 0)
    diff("EVAL", "return redis.pcall('cluster', 'reset', 'hard')", 0)
    diff("EVAL", "return redis.call('cluster', 'keyslot', 'x')", 0)
    diff("EVAL", "return redis.pcall('cluster', 'info')", 0)
