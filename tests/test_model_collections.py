"""Hypothesis state machine over lists, hashes, sets and sorted sets: random command sequences sent to
pyvalkey and to the oracle, replies compared byte for byte.

The keys are a small pool shared by every type, so most sequences also hit WRONGTYPE, cross-type
RENAME/COPY and STORE commands overwriting a key of another type. The listpack/intset thresholds are
lowered for the run, so a few elements are enough to make Valkey convert an encoding (and, for lists,
convert back), and OBJECT ENCODING is compared along the way.

Only where Valkey's reply order is its hash table's iteration order (SMEMBERS and the set algebra
over hashtable-encoded sets, HGETALL/HKEYS/HVALS of hashtable-encoded hashes) are the replies
compared as multisets of their elements; everything else must match byte for byte.

Runs derandomized with bounded examples by default; ``PYVALKEY_EXPLORE=1 PYVALKEY_EXAMPLES=500``
explores new sequences for longer.
"""

from __future__ import annotations

import os

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule
from resp import RawClient, reply_end

# Each type mostly works on its own two keys (so collections grow past the encoding thresholds)
# and sometimes on two keys shared by every type (WRONGTYPE, cross-type RENAME/COPY/STORE).
SHARED = [b"a", b"{t}d"]
LIST_KEYS = st.sampled_from([b"l1", b"l1", b"l1", b"l2", b"l2", *SHARED])
HASH_KEYS = st.sampled_from([b"h1", b"h1", b"h1", b"h2", b"h2", *SHARED])
SET_KEYS = st.sampled_from([b"s1", b"s1", b"s1", b"s2", b"s2", *SHARED])
ZSET_KEYS = st.sampled_from([b"z1", b"z1", b"z1", b"z2", b"z2", *SHARED])
ZSTORE_INPUTS = st.sampled_from([b"z1", b"z2", b"z1", b"z2", b"s1", b"s2", *SHARED])  # sets are valid inputs
KEYS = st.sampled_from([b"l1", b"l2", b"h1", b"h2", b"s1", b"s2", b"z1", b"z2", *SHARED])
LONG = b"L" * 70  # longer than the lowered *-max-listpack-value below
MEMBERS = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"2", b"10", b"17", b"x", b"y", b"abc", b"m",
                     b"9223372036854775807", b"1.5", LONG]),
    st.integers(-5, 30).map(lambda n: b"%d" % n),  # intset candidates
    st.integers(0, 30).map(lambda n: b"e%d" % n),
)
MEMBER_LISTS = st.lists(MEMBERS, min_size=1, max_size=5)
SCORES = st.sampled_from(["0", "1", "-1", "1.5", "2", "-2.25", "inf", "-inf", "+inf", "1e3", "10",
                          "0.1", "abc", "nan", "1e400", "3"])
VALID_SCORES = st.sampled_from(["0", "1", "-1", "1.5", "2", "-2.25", "inf", "-inf", "1e3", "10", "0.1", "3",
                                "7", "-0.5"])
INDEXES = st.integers(-7, 7)
SCORE_BOUNDS = st.sampled_from(["-inf", "+inf", "inf", "0", "(0", "1", "(1", "2.5", "(-1", "-2", "10",
                                "(10", "x", "(inf", "1e3"])
LEX_BOUNDS = st.sampled_from(["-", "+", "[a", "(a", "[m", "(x", "[", "(", "[1", "(17", "x", "[y"])

# Thresholds lowered for the run (and restored afterwards), so a few members change encodings.
CONFIG = {
    "list-max-listpack-size": "4",
    "hash-max-listpack-entries": "6",
    "hash-max-listpack-value": "64",
    "set-max-intset-entries": "5",
    "set-max-listpack-entries": "6",
    "set-max-listpack-value": "64",
    "zset-max-listpack-entries": "6",
    "zset-max-listpack-value": "64",
}


def elements(reply: bytes) -> tuple[bytes, list[bytes]]:
    """The header line of an aggregate reply and the raw bytes of each of its elements (map replies
    give key+value as one element, so pairs stay together)."""
    kind = reply[:1]
    if kind not in (b"*", b"~", b"%"):
        return reply, []
    head_end = reply.index(b"\r\n") + 2
    count = int(reply[1:head_end - 2])
    pos = head_end
    parts = []
    for _ in range(max(count, 0)):
        stop = reply_end(reply, pos)
        assert stop is not None
        if kind == b"%":
            stop = reply_end(reply, stop)
            assert stop is not None
        parts.append(reply[pos:stop])
        pos = stop
    return reply[:head_end], parts


def as_multiset(reply: bytes, pairs: bool = False) -> tuple[bytes, list[bytes]]:
    head, parts = elements(reply)
    if pairs and head[:1] == b"*":
        parts = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    return head, sorted(parts)


@pytest.fixture(scope="module")
def clients(pyvalkey_server, oracle_server):
    ours = RawClient(pyvalkey_server.port)
    theirs = RawClient(oracle_server.port)
    saved = {}
    for name in CONFIG:
        _, parts = elements(theirs("CONFIG", "GET", name))
        saved[name] = parts[1].split(b"\r\n")[1]
    yield ours, theirs
    for client in (ours, theirs):
        client("FLUSHALL")
        client("HELLO", "2")
        for name, value in saved.items():
            client("CONFIG", "SET", name, value)
    ours.close()
    theirs.close()


class Collections(RuleBasedStateMachine):
    ours: RawClient
    theirs: RawClient

    @initialize(resp3=st.booleans())
    def reset(self, resp3: bool) -> None:
        for client in (self.ours, self.theirs):
            client("FLUSHALL")
            client("HELLO", "3" if resp3 else "2")
            for name, value in CONFIG.items():
                assert client("CONFIG", "SET", name, value) == b"+OK\r\n"

    # -- comparison helpers --------------------------------------------------------------------

    def same(self, *args: object) -> bytes:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def write(self, keys: tuple[bytes, ...], *args: object) -> None:
        """A write, then the encoding of each key it touched (conversions happen on writes)."""
        self.same(*args)
        for key in keys:
            self.same("OBJECT", "ENCODING", key)

    def hashtable(self, *keys: bytes) -> bool:
        """Whether any of ``keys`` is hashtable-encoded on the oracle (Valkey's hash order applies)."""
        return any(self.theirs("OBJECT", "ENCODING", key) == b"$9\r\nhashtable\r\n" for key in keys)

    def lex_defined(self, key: bytes) -> bool:
        """Whether lexicographic ranges over ``key`` have a defined answer: Valkey specifies them only
        for sorted sets whose members all share one score (otherwise a skiplist's answer depends on
        its random node levels). Keys of other types or missing keys give errors/empty replies,
        which are defined."""
        if self.theirs("TYPE", key) != b"+zset\r\n":
            return True
        _, parts = elements(self.theirs("ZRANGE", key, 0, 0))
        score = self.theirs("ZSCORE", key, parts[0].split(b"\r\n")[1])
        text = score[1:-2] if score.startswith(b",") else score.split(b"\r\n")[1]
        return self.theirs("ZCOUNT", key, text, text) == self.theirs("ZCARD", key)

    def same_unordered(self, pairs: bool, *args: object) -> None:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert as_multiset(mine, pairs) == as_multiset(real, pairs), (
            f"{args!r}: pyvalkey {mine!r} != valkey {real!r} (as multisets)"
        )

    def set_result(self, unordered: bool, *args: object) -> None:
        """A set-algebra reply: byte for byte unless Valkey's order comes from a hash table, which
        is the case when an input is hashtable-encoded or when the result is too big (or has too
        long a member) for the temporary set Valkey builds to stay an intset/listpack."""
        mine = self.ours(*args)
        real = self.theirs(*args)
        _, parts = elements(real)
        if (unordered or len(parts) > int(CONFIG["set-max-listpack-entries"])
                or any(len(part) > 70 for part in parts)):
            assert as_multiset(mine) == as_multiset(real), f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        else:
            assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"

    # -- generic -------------------------------------------------------------------------------

    @rule(key=KEYS, command=st.sampled_from(["TYPE", "OBJECT ENCODING", "EXISTS", "DEL"]))
    def generic(self, key: bytes, command: str) -> None:
        self.same(*command.split(), key)

    @rule(src=KEYS, dst=KEYS, command=st.sampled_from(["RENAME", "COPY", "COPY REPLACE"]))
    def two_keys(self, src: bytes, dst: bytes, command: str) -> None:
        name, *flags = command.split()
        self.same(name, src, dst, *flags)

    @rule(key=KEYS, value=MEMBERS)
    def set_string(self, key: bytes, value: bytes) -> None:
        self.same("SET", key, value)

    @rule(kind=st.sampled_from(["list", "hash", "set", "zset"]), data=st.data(),
          items=st.lists(MEMBERS, min_size=3, max_size=12))
    def grow(self, kind: str, data: st.DataObject, items: list[bytes]) -> None:
        """Many elements at once, so collections cross the encoding thresholds within a few steps."""
        if kind == "list":
            key = data.draw(LIST_KEYS)
            self.write((key,), "RPUSH", key, *items)
        elif kind == "hash":
            key = data.draw(HASH_KEYS)
            self.write((key,), "HSET", key, *[part for item in items for part in (item, item[::-1])])
        elif kind == "set":
            key = data.draw(SET_KEYS)
            self.write((key,), "SADD", key, *items)
        else:
            key = data.draw(ZSET_KEYS)
            scores = data.draw(st.lists(VALID_SCORES, min_size=len(items), max_size=len(items)))
            self.write((key,), "ZADD", key, *[part for pair in zip(scores, items) for part in pair])

    # -- lists ---------------------------------------------------------------------------------

    @rule(key=LIST_KEYS, command=st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), values=MEMBER_LISTS)
    def push(self, key: bytes, command: str, values: list[bytes]) -> None:
        self.write((key,), command, key, *values)

    @rule(key=LIST_KEYS, command=st.sampled_from(["LPOP", "RPOP"]), count=st.sampled_from([None, 0, 1, 3, -1]))
    def pop(self, key: bytes, command: str, count: int | None) -> None:
        self.write((key,), command, key, *(() if count is None else (count,)))

    @rule(key=LIST_KEYS, start=INDEXES, stop=INDEXES)
    def lrange(self, key: bytes, start: int, stop: int) -> None:
        self.same("LRANGE", key, start, stop)
        self.same("LLEN", key)

    @rule(key=LIST_KEYS, index=INDEXES)
    def lindex(self, key: bytes, index: int) -> None:
        self.same("LINDEX", key, index)

    @rule(key=LIST_KEYS, index=INDEXES, value=MEMBERS)
    def lset(self, key: bytes, index: int, value: bytes) -> None:
        self.write((key,), "LSET", key, index, value)

    @rule(key=LIST_KEYS, count=st.integers(-3, 3), value=MEMBERS)
    def lrem(self, key: bytes, count: int, value: bytes) -> None:
        self.write((key,), "LREM", key, count, value)

    @rule(key=LIST_KEYS, start=INDEXES, stop=INDEXES)
    def ltrim(self, key: bytes, start: int, stop: int) -> None:
        self.write((key,), "LTRIM", key, start, stop)

    @rule(key=LIST_KEYS, where=st.sampled_from(["BEFORE", "AFTER", "MIDDLE"]), pivot=MEMBERS, value=MEMBERS)
    def linsert(self, key: bytes, where: str, pivot: bytes, value: bytes) -> None:
        self.write((key,), "LINSERT", key, where, pivot, value)

    @rule(key=LIST_KEYS, value=MEMBERS, rank=st.sampled_from([None, 1, 2, -1, -2, 0]),
          count=st.sampled_from([None, 0, 1, 2, -1]), maxlen=st.sampled_from([None, 0, 1, 3, -1]))
    def lpos(self, key: bytes, value: bytes, rank: int | None, count: int | None, maxlen: int | None) -> None:
        args: list[object] = ["LPOS", key, value]
        for name, option in (("RANK", rank), ("COUNT", count), ("MAXLEN", maxlen)):
            if option is not None:
                args += [name, option]
        self.same(*args)

    @rule(src=LIST_KEYS, dst=LIST_KEYS, ends=st.sampled_from([("LEFT", "LEFT"), ("LEFT", "RIGHT"), ("RIGHT", "LEFT"),
                                                   ("RIGHT", "RIGHT"), ("UP", "LEFT")]))
    def lmove(self, src: bytes, dst: bytes, ends: tuple[str, str]) -> None:
        self.write((src, dst), "LMOVE", src, dst, *ends)

    # -- hashes --------------------------------------------------------------------------------

    @rule(key=HASH_KEYS, pairs=st.lists(st.tuples(MEMBERS, MEMBERS), min_size=1, max_size=4))
    def hset(self, key: bytes, pairs: list[tuple[bytes, bytes]]) -> None:
        self.write((key,), "HSET", key, *[item for pair in pairs for item in pair])

    @rule(key=HASH_KEYS, fields=MEMBER_LISTS)
    def hdel(self, key: bytes, fields: list[bytes]) -> None:
        self.write((key,), "HDEL", key, *fields)

    @rule(key=HASH_KEYS, fields=MEMBER_LISTS)
    def hreads(self, key: bytes, fields: list[bytes]) -> None:
        self.same("HGET", key, fields[0])
        self.same("HEXISTS", key, fields[0])
        self.same("HSTRLEN", key, fields[0])
        self.same("HMGET", key, *fields)
        self.same("HLEN", key)

    @rule(key=HASH_KEYS, field=MEMBERS, amount=st.sampled_from([0, 1, -1, 5, 2**63 - 1, -(2**63), 2**63, "x", "1.5"]))
    def hincrby(self, key: bytes, field: bytes, amount: object) -> None:
        self.write((key,), "HINCRBY", key, field, amount)

    @rule(key=HASH_KEYS, field=MEMBERS, amount=st.sampled_from(["0.1", "-1.5", "1e2", "3", "abc", "inf", "1e308",
                                                         "-0", "5.0e3"]))
    def hincrbyfloat(self, key: bytes, field: bytes, amount: str) -> None:
        self.write((key,), "HINCRBYFLOAT", key, field, amount)

    @rule(key=HASH_KEYS, command=st.sampled_from(["HGETALL", "HKEYS", "HVALS"]))
    def hall(self, key: bytes, command: str) -> None:
        if self.hashtable(key):
            self.same_unordered(command == "HGETALL", command, key)
        else:
            self.same(command, key)

    # -- sets ----------------------------------------------------------------------------------

    @rule(key=SET_KEYS, command=st.sampled_from(["SADD", "SREM"]), members=MEMBER_LISTS)
    def sadd_srem(self, key: bytes, command: str, members: list[bytes]) -> None:
        self.write((key,), command, key, *members)

    @rule(key=SET_KEYS, members=MEMBER_LISTS)
    def sreads(self, key: bytes, members: list[bytes]) -> None:
        self.same("SISMEMBER", key, members[0])
        self.same("SMISMEMBER", key, *members)
        self.same("SCARD", key)
        if self.hashtable(key):
            self.same_unordered(False, "SMEMBERS", key)
        else:
            self.same("SMEMBERS", key)

    @rule(command=st.sampled_from(["SINTER", "SUNION", "SDIFF"]), keys=st.lists(SET_KEYS, min_size=1, max_size=3))
    def set_algebra(self, command: str, keys: list[bytes]) -> None:
        self.set_result(self.hashtable(*keys), command, *keys)

    @rule(command=st.sampled_from(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), dst=SET_KEYS,
          keys=st.lists(SET_KEYS, min_size=1, max_size=3))
    def set_algebra_store(self, command: str, dst: bytes, keys: list[bytes]) -> None:
        self.write((dst,), command, dst, *keys)

    @rule(src=SET_KEYS, dst=SET_KEYS, member=MEMBERS)
    def smove(self, src: bytes, dst: bytes, member: bytes) -> None:
        self.write((src, dst), "SMOVE", src, dst, member)

    # -- sorted sets ---------------------------------------------------------------------------

    @rule(key=ZSET_KEYS, flags=st.sampled_from([(), ("NX",), ("XX",), ("GT",), ("LT",), ("CH",), ("GT", "CH"),
                                           ("XX", "LT", "CH"), ("NX", "XX"), ("NX", "GT"), ("GT", "LT"),
                                           ("INCR",), ("NX", "INCR"), ("XX", "INCR"), ("GT", "INCR")]),
          pairs=st.lists(st.tuples(SCORES, MEMBERS), min_size=1, max_size=4))
    def zadd(self, key: bytes, flags: tuple[str, ...], pairs: list[tuple[str, bytes]]) -> None:
        self.write((key,), "ZADD", key, *flags, *[item for pair in pairs for item in pair])

    @rule(key=ZSET_KEYS, items=st.lists(MEMBERS, min_size=1, max_size=10))
    def zadd_same_score(self, key: bytes, items: list[bytes]) -> None:
        """Members sharing score 0, the case lexicographic ranges are defined for."""
        self.write((key,), "ZADD", key, *[part for item in items for part in (0, item)])

    @rule(key=ZSET_KEYS, amount=SCORES, member=MEMBERS)
    def zincrby(self, key: bytes, amount: str, member: bytes) -> None:
        self.write((key,), "ZINCRBY", key, amount, member)

    @rule(key=ZSET_KEYS, members=MEMBER_LISTS)
    def zrem(self, key: bytes, members: list[bytes]) -> None:
        self.write((key,), "ZREM", key, *members)

    @rule(key=ZSET_KEYS, members=MEMBER_LISTS, withscore=st.booleans())
    def zreads(self, key: bytes, members: list[bytes], withscore: bool) -> None:
        extra = ("WITHSCORE",) if withscore else ()
        self.same("ZRANK", key, members[0], *extra)
        self.same("ZREVRANK", key, members[0], *extra)
        self.same("ZSCORE", key, members[0])
        self.same("ZMSCORE", key, *members)
        self.same("ZCARD", key)

    @rule(key=ZSET_KEYS, start=INDEXES, stop=INDEXES, rev=st.booleans(), withscores=st.booleans(),
          limit=st.sampled_from([None, (0, 2), (1, -1), (0, 0), (-1, 2)]))
    def zrange_index(self, key: bytes, start: int, stop: int, rev: bool, withscores: bool,
                     limit: tuple[int, int] | None) -> None:
        args: list[object] = ["ZRANGE", key, start, stop]
        if rev:
            args.append("REV")
        if limit is not None:  # LIMIT without BYSCORE/BYLEX is an error: keep it in sometimes
            args += ["LIMIT", *limit]
        if withscores:
            args.append("WITHSCORES")
        self.same(*args)

    @rule(key=ZSET_KEYS, low=SCORE_BOUNDS, high=SCORE_BOUNDS, rev=st.booleans(), withscores=st.booleans(),
          limit=st.sampled_from([None, (0, 2), (1, -1), (0, 0), (-1, 2), (2, 10)]))
    def zrange_byscore(self, key: bytes, low: str, high: str, rev: bool, withscores: bool,
                       limit: tuple[int, int] | None) -> None:
        args: list[object] = ["ZRANGE", key, low, high, "BYSCORE"]
        if rev:
            args.append("REV")
        if limit is not None:
            args += ["LIMIT", *limit]
        if withscores:
            args.append("WITHSCORES")
        self.same(*args)
        self.same("ZCOUNT", key, low, high)

    @rule(key=ZSET_KEYS, low=LEX_BOUNDS, high=LEX_BOUNDS, rev=st.booleans(), withscores=st.booleans(),
          limit=st.sampled_from([None, (0, 2), (1, -1), (-1, 2)]))
    def zrange_bylex(self, key: bytes, low: str, high: str, rev: bool, withscores: bool,
                     limit: tuple[int, int] | None) -> None:
        args: list[object] = ["ZRANGE", key, low, high, "BYLEX"]
        if rev:
            args.append("REV")
        if limit is not None:
            args += ["LIMIT", *limit]
        if withscores:  # an error with BYLEX
            args.append("WITHSCORES")
        if not self.lex_defined(key):
            return
        self.same(*args)
        self.same("ZLEXCOUNT", key, low, high)

    @rule(key=ZSET_KEYS, command=st.sampled_from(["ZPOPMIN", "ZPOPMAX"]), count=st.sampled_from([None, 0, 1, 2, 10, -1]))
    def zpop(self, key: bytes, command: str, count: int | None) -> None:
        self.write((key,), command, key, *(() if count is None else (count,)))

    @rule(command=st.sampled_from(["ZUNIONSTORE", "ZINTERSTORE"]), dst=ZSET_KEYS,
          keys=st.lists(ZSTORE_INPUTS, min_size=1, max_size=3), weights=st.booleans(),
          aggregate=st.sampled_from([None, "SUM", "MIN", "MAX"]))
    def zstore(self, command: str, dst: bytes, keys: list[bytes], weights: bool, aggregate: str | None) -> None:
        args: list[object] = [command, dst, len(keys), *keys]
        if weights:
            args += ["WEIGHTS", *["2", "-1", "0.5"][: len(keys)]]
        if aggregate:
            args += ["AGGREGATE", aggregate]
        self.write((dst,), *args)

    @rule(key=ZSET_KEYS, kind=st.sampled_from(["RANK", "SCORE", "LEX"]), data=st.data())
    def zremrange(self, key: bytes, kind: str, data: st.DataObject) -> None:
        bounds = {"RANK": INDEXES, "SCORE": SCORE_BOUNDS, "LEX": LEX_BOUNDS}[kind]
        if kind == "LEX" and not self.lex_defined(key):
            return
        self.write((key,), f"ZREMRANGEBY{kind}", key, data.draw(bounds), data.draw(bounds))

    @rule()
    def dbsize(self) -> None:
        self.same("DBSIZE")


def test_collections_state_machine(clients) -> None:
    ours, theirs = clients
    Collections.ours = ours
    Collections.theirs = theirs
    machine = Collections.TestCase
    machine.settings = settings(
        max_examples=int(os.environ.get("PYVALKEY_EXAMPLES", "40")),
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not bool(os.environ.get("PYVALKEY_EXPLORE")),
    )
    machine().runTest()
