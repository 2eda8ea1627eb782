"""ACL users, rules, permission checks and the ACL command, compared with the oracle."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Differ
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey

USERS = ("alice", "bob", "carol", "dave", "sel", "dbu", "sub", "tmp")


@pytest.fixture
def acl(diff: Differ) -> Iterator[Differ]:
    """``diff`` that leaves no users, log entries or default-user changes behind."""
    diff.both("ACL", "LOG", "RESET")
    yield diff
    for client in (diff.ours, diff.theirs):
        client("ACL", "DELUSER", *USERS)
        client("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
        client("ACL", "LOG", "RESET")


class Pair:
    """One connection to each server, compared reply by reply."""

    def __init__(self, diff: Differ, ours: int, theirs: int) -> None:
        self.ours = RawClient(ours)
        self.theirs = RawClient(theirs)

    def __call__(self, *args: object) -> bytes:
        mine = self.ours(*args)
        real = self.theirs(*args)
        assert mine == real, f"{args!r}: pyvalkey {mine!r} != valkey {real!r}"
        return real

    def both(self, *args: object) -> tuple[bytes, bytes]:
        return self.ours(*args), self.theirs(*args)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def pair(acl: Differ, pyvalkey_server: ServerProcess, oracle_server: ServerProcess) -> Iterator[Any]:
    opened: list[Pair] = []

    def make() -> Pair:
        connection = Pair(acl, pyvalkey_server.port, oracle_server.port)
        opened.append(connection)
        return connection

    yield make
    for connection in opened:
        connection.close()


def _mask_id(reply: bytes) -> bytes:
    return re.sub(rb"\$2\r\nid\r\n:\d+", b"$2\r\nid\r\n:?", reply)


def _sorted_array(reply: bytes) -> list[bytes]:
    return sorted(reply.split(b"\r\n")[2::2])


# -- rules and descriptions ----------------------------------------------------------------------


@pytest.mark.parametrize("resp3", [False, True])
def test_setuser_list_getuser(acl: Differ, resp3: bool) -> None:
    if resp3:
        acl.resp3()
    acl("ACL", "SETUSER", "alice", "on", ">p1", "~k*", "%R~r*", "&ch", "+get", "+@hash", "-hset", "(+set ~x*)")
    acl("ACL", "LIST")
    acl("ACL", "GETUSER", "alice")
    acl("ACL", "GETUSER", "default")
    acl("ACL", "GETUSER", "nobody")
    acl("ACL", "SETUSER", "alice", "+config|get", "+select|0", "-@all", "+get")
    acl("ACL", "GETUSER", "alice")
    acl("ACL", "SETUSER", "bob", "+config|get", "+select|0", "+config", "-config|set", "+@admin", "+select|1",
        "-select")
    acl("ACL", "LIST")
    acl("ACL", "SETUSER", "carol", "&*", "(+get ~y* &zz)", "(+set %W~w*)", "db=3,1", "(db=2 -@all)")
    acl("ACL", "GETUSER", "carol")
    acl("ACL", "LIST")
    acl("ACL", "USERS")


def test_rule_order_and_overrides(acl: Differ) -> None:
    rules = [
        ("+@all", "-@dangerous", "+flushall", "-flushall", "+debug"),
        ("nocommands", "+client", "-client|kill", "+client"),
        ("+client|kill", "+client|list", "-client"),
        ("+SELECT|0", "+select|1", "+SELECT|0"),
        ("+@HASH", "-@Hash", "+hget"),
        ("allcommands", "-@all", "+@read", "-get", "+get"),
        ("%RW~a", "%R~b", "%W~c", "%W~b", "%RR~x"),
        ("%W~b", "%RW"),
        ("~a", "~a", "&c", "&c", ">x", ">x", "#" + "a" * 64),
        ("allkeys", "resetkeys", "~z", "allchannels", "resetchannels", "&q"),
        ("nopass", ">pw", "resetpass"),
        ("on", "off", "skip-sanitize-payload", "sanitize-payload"),
        ("db=0", "db=2,1", "alldbs", "resetdbs", "db=+4,01"),
        ("reset",),
        ("clearselectors", "(~a)", "(&b)", "clearselectors", "(nocommands)"),
        ("", "( ~q  +get )"),
    ]
    for group in rules:
        acl("ACL", "SETUSER", "tmp", "reset", *group)
        acl("ACL", "LIST")
        acl("ACL", "GETUSER", "tmp")


def test_setuser_errors(acl: Differ) -> None:
    bad = [
        ("+get|",), ("+config|get|x",), ("+nosuch",), ("-nosuch",), ("+@nosuch",), ("-@nosuch",),
        ("-select|0",), ("+config|nosuch",), ("+",), ("-",), ("+|get",),
        ("~*", "~a"), ("allkeys", "%R~a"), ("allchannels", "&a"), ("&*", "&b"),
        ("<nopass",), ("!" + "b" * 64,), ("#abc",), ("#" + "A" * 64,), ("!xyz",),
        ("(~x",), ("(~x", "+get"), ("(on)",), ("%x~a",), ("%~a",), ("%R",), ("a b",), ("bogus",),
        ("~a b",), ("&a\tb",), ("db=x",), ("db=",), ("db=1,",), ("db=,1",), ("db=1,,2",),
        ("db=-1",), ("db=2147483648",), ("(db=-2)",), ("(+get", "~x)", "(bad)"),
    ]
    for ops in bad:
        acl("ACL", "SETUSER", "tmp", *ops)
    acl("ACL", "SETUSER", "tmp", "on", "~ok", "bogus")  # nothing applied
    acl("ACL", "GETUSER", "tmp")
    acl("ACL", "SETUSER", "a b")
    acl("ACL", "SETUSER", "a\x00b")
    acl("ACL", "USERS")


def test_deluser_users_whoami(acl: Differ) -> None:
    acl("ACL", "SETUSER", "alice")
    acl("ACL", "SETUSER", "bob", "on")
    acl("ACL", "USERS")
    acl("ACL", "DELUSER", "default")
    acl("ACL", "DELUSER", "alice", "default")
    acl("ACL", "USERS")
    acl("ACL", "DELUSER", "alice", "nobody", "bob", "alice")
    acl("ACL", "USERS")
    acl("ACL", "WHOAMI")
    acl("ACL", "WHOAMI", "extra")
    acl("ACL", "DELUSER")


def test_cat(acl: Differ) -> None:
    acl("ACL", "CAT")
    acl("ACL", "CAT", "nosuch")
    acl("ACL", "CAT", "x" * 200)
    acl("ACL", "CAT", "a", "b")
    for category in ("keyspace", "read", "write", "hash", "pubsub", "admin", "fast", "slow", "dangerous",
                     "connection", "transaction", "scripting", "blocking", "GEO"):
        # Valkey lists a category's commands in its hash table's (randomly seeded) order.
        ours, theirs = acl.both("ACL", "CAT", category)
        assert _sorted_array(ours) == _sorted_array(theirs), category
        assert ours.split(b"\r\n", 1)[0] == theirs.split(b"\r\n", 1)[0]


def test_genpass(acl: Differ) -> None:
    for bits in ("0", "-1", "4097", "x", "1.5", ""):
        acl("ACL", "GENPASS", bits)
    acl("ACL", "GENPASS", "1", "2")
    for args, size in (((), 64), (("1",), 1), (("5",), 2), (("4096",), 1024), (("255",), 64)):
        ours, theirs = acl.both("ACL", "GENPASS", *args)
        for reply in (ours, theirs):
            head, body = reply.split(b"\r\n")[:2]
            assert head == b"$%d" % size and re.fullmatch(rb"[0-9a-f]*", body)


def test_help(acl: Differ) -> None:
    ours, theirs = acl.both("ACL", "HELP")
    for reply in (ours, theirs):
        assert reply.startswith(b"*") and b"+ACL <subcommand> " in reply and b"\r\n+WHOAMI\r\n" in reply
    acl("ACL", "HELP", "x")
    acl("ACL", "NOSUCH")
    acl("ACL")


def test_load_save_without_aclfile(acl: Differ) -> None:
    acl("ACL", "SAVE")
    acl("ACL", "LOAD")
    acl("ACL", "SAVE", "x")


# -- DRYRUN: every permission check without running anything ---------------------------------------


def test_dryrun(acl: Differ) -> None:
    acl("ACL", "DRYRUN", "nobody", "get", "k")
    acl("ACL", "SETUSER", "alice", "on", "nopass", "~k*", "%R~r*", "%W~w*", "&ch*", "+@read", "+set", "+publish",
        "+subscribe", "+psubscribe", "+select|0", "+client|id", "(~x* +@write)")
    for args in [
        ("nosuch",), ("config",), ("config", "nosuch"), ("get",), ("get", "k", "x"),
        ("get", "k1"), ("get", "r1"), ("get", "w1"), ("get", "x1"), ("set", "k1", "v"), ("set", "r1", "v"),
        ("set", "w1", "v"), ("set", "x1", "v"), ("del", "x1"), ("del", "k1"), ("mget", "k1", "r1", "w1"),
        ("copy", "r1", "w1"), ("copy", "k1", "r2"), ("lmove", "k1", "w1", "left", "right"),
        ("publish", "ch1", "m"), ("publish", "other", "m"), ("subscribe", "ch1", "ch2", "x"),
        ("psubscribe", "ch*"), ("psubscribe", "ch1*"), ("select", "0"), ("select", "1"), ("SELECT", "0"),
        ("client", "id"), ("client", "kill", "id", "1"), ("hset", "x1", "f", "v"), ("hset", "k1", "f", "v"),
        ("eval", "return 1", "1", "k1"), ("eval", "return 1", "1", "zz"), ("auth", "a", "b"), ("ping",),
        ("sort", "k1", "by", "nosort", "store", "w1"), ("sort", "k1", "store", "zz"),
    ]:
        acl("ACL", "DRYRUN", "alice", *args)


def test_dryrun_databases(acl: Differ) -> None:
    acl("ACL", "SETUSER", "dbu", "on", "nopass", "~a*", "&*", "+@all", "db=0,2", "(~b* db=1 +get)")
    acl.both("SELECT", "1")
    for args in [
        ("get", "a"), ("get", "b"), ("set", "b", "v"), ("ping",), ("dbsize",), ("keys", "*"),
        ("select", "1"), ("select", "2"), ("select", "x"), ("select", "01"), ("select", "-1"),
        ("move", "a", "1"), ("move", "a", "2"), ("move", "a", "x"), ("copy", "a", "ab", "db", "1"),
        ("copy", "a", "ab", "DB", "2"), ("swapdb", "0", "1"), ("swapdb", "2", "0"), ("swapdb", "x", "1"),
        ("flushall",), ("FLUSHALL", "ASYNC"), ("flushdb",), ("publish", "c", "m"), ("info",), ("scan", "0"),
    ]:
        acl("ACL", "DRYRUN", "dbu", *args)
    acl.both("SELECT", "0")
    acl("ACL", "DRYRUN", "dbu", "get", "a")
    acl("ACL", "DRYRUN", "dbu", "move", "a", "1")


# -- AUTH, HELLO and enforcement on real connections ---------------------------------------------


@pytest.mark.parametrize("resp3", [False, True])
def test_auth_and_noperm(pair: Any, resp3: bool) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", ">secret", "~k*", "&ch", "+@read", "+set", "+publish", "+auth",
          "+hello", "+acl|whoami")
    admin("ACL", "SETUSER", "bob", "off", ">pw", "+@all")
    user = pair()
    if resp3:
        user.both("HELLO", "3")
    user("AUTH", "alice", "wrong")
    user("AUTH", "nobody", "secret")
    user("AUTH", "bob", "pw")
    user("AUTH", "alice", "secret", "x")
    user("AUTH", "secret")
    user("ACL", "WHOAMI")
    user("AUTH", "alice", "secret")
    user("ACL", "WHOAMI")
    user("GET", "k1")
    user("GET", "other")
    user("SET", "k1", "v")
    user("SET", "other", "v")
    user("DEL", "k1")
    user("MGET", "k1", "other")
    user("PUBLISH", "ch", "m")
    user("PUBLISH", "other", "m")
    user("ACL", "LIST")
    user("HELLO", "2", "AUTH", "alice", "bad")
    user("HELLO", "3", "AUTH", "bob", "pw")
    admin("ACL", "SETUSER", "bob", "on")
    user.both("HELLO", "2", "AUTH", "bob", "pw")
    user("ACL", "WHOAMI")
    user("SET", "anything", "v")


def test_noperm_in_multi(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~k*", "+@all", "-flushall")
    user = pair()
    user("AUTH", "alice", "x")
    user("MULTI")
    user("SET", "k1", "v")
    user("FLUSHALL")
    user("SET", "other", "v")
    user("EXEC")
    user("MULTI")
    user("SET", "k1", "v")
    user("EXEC")
    user("MULTI")
    user("AUTH", "alice", "x")
    user("DISCARD")
    user("DEL", "k1")


def test_sort_patterns_need_full_key_access(pair: Any) -> None:
    admin = pair()
    admin("RPUSH", "k1", "2", "1")
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~k*", "+@all")
    admin("ACL", "SETUSER", "bob", "on", "nopass", "%R~*", "%W~k*", "+@all")
    user = pair()
    user("AUTH", "alice", "x")
    user("SORT", "k1")
    user("SORT", "k1", "BY", "nosort")
    user("SORT", "k1", "BY", "w_*")
    user("SORT", "k1", "GET", "#")
    user("SORT_RO", "k1", "GET", "v_*")
    user("AUTH", "bob", "x")
    user("SORT", "k1", "BY", "w_*", "GET", "#")
    admin("DEL", "k1")


def test_blocked_command_rechecked_when_served(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~*", "&*", "+@all")
    user = pair()
    user("AUTH", "alice", "x")
    for client in (user.ours, user.theirs):
        client.send(b"BLPOP blk 0\r\n")
    admin.both("PING")  # the BLPOPs are in before the rules change
    admin("ACL", "SETUSER", "alice", "resetkeys", "~other")
    admin("LPUSH", "blk", "1")
    assert user.ours.read_reply() == user.theirs.read_reply() == b"-NOPERM No permissions to access a key\r\n"
    admin("LLEN", "blk")
    admin("DEL", "blk")


def test_rules_changed_before_exec(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~*", "&*", "+@all")
    user = pair()
    user("AUTH", "alice", "x")
    user("MULTI")
    user("SET", "k1", "v")
    user("GET", "k1")
    user("PUBLISH", "ch", "m")
    user("INCR", "n")
    admin("ACL", "SETUSER", "alice", "resetkeys", "~k*", "resetchannels", "-incr")
    user("EXEC")
    admin("ACL", "SETUSER", "alice", "allkeys", "allchannels", "+@all")
    mine, real = admin.both("ACL", "LOG", "3")
    assert _log_shape(mine) == _log_shape(real)


def test_acl_log(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", ">pw", "~k*", "&c", "+get", "+publish", "+set")
    user = pair()
    user("AUTH", "alice", "bad")
    user("AUTH", "alice", "bad")
    user("AUTH", "alice", "pw")
    user("GET", "x")
    user("SET", "k", "v")
    user("INCR", "k")
    user("PUBLISH", "d", "m")
    user("MULTI")
    user("GET", "x")
    user("DISCARD")
    admin("ACL", "LOG", "x")
    admin("ACL", "LOG", "1", "2")
    mine, real = admin.both("ACL", "LOG")
    assert _log_shape(mine) == _log_shape(real)
    mine, real = admin.both("ACL", "LOG", "2")
    assert _log_shape(mine) == _log_shape(real)
    admin("ACL", "LOG", "0")
    admin("ACL", "LOG", "-5")
    admin("ACL", "LOG", "RESET")
    admin("ACL", "LOG")


def _log_shape(reply: bytes) -> list[bytes]:
    """The log with times, ids and client details masked."""
    lines = reply.split(b"\r\n")
    shaped = []
    mask_next = False
    for line in lines:
        if mask_next and not line.startswith(b"$"):
            line = b"<masked>"
            mask_next = False
        elif line in (b"age-seconds", b"timestamp-created", b"timestamp-last-updated", b"client-info", b"entry-id"):
            mask_next = True
        elif line.startswith((b"$", b",", b":")) and mask_next:
            continue
        shaped.append(line)
    return shaped


def _acl_counters(reply: bytes) -> dict[bytes, int]:
    return {m[0]: int(m[1]) for m in re.findall(rb"acl_access_denied_(\w+):(\d+)", reply)}


def test_info_counters(pair: Any) -> None:
    admin = pair()
    admin.both("CONFIG", "RESETSTAT")  # does not reset them, on either
    before = [_acl_counters(reply) for reply in admin.both("INFO", "stats")]
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~k*", "&c", "+get", "+publish", "db=0")
    user = pair()
    user("AUTH", "nobody", "x")
    user("AUTH", "alice", "x")
    user("SET", "k", "v")
    user("GET", "x")
    user("GET", "k")
    user("PUBLISH", "d", "m")
    user("SELECT", "1")
    after = [_acl_counters(reply) for reply in admin.both("INFO", "stats")]
    deltas = [{name: a[name] - b[name] for name in a} for a, b in zip(after, before)]
    assert deltas[0] == deltas[1]
    assert deltas[0][b"auth"] == 1 and deltas[0][b"cmd"] == 1 and deltas[0][b"key"] == 1
    assert deltas[0][b"channel"] == 1 and deltas[0][b"db"] == 1


def test_deleting_user_disconnects(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "+@all", "~*")
    user = pair()
    user("AUTH", "alice", "x")
    user("ACL", "WHOAMI")
    admin("ACL", "DELUSER", "alice")
    assert user.ours.is_closed() and user.theirs.is_closed()
    admin("ACL", "SETUSER", "bob", "on", "nopass", "+@all", "~*")
    me = pair()
    me("AUTH", "bob", "x")
    me("ACL", "DELUSER", "bob")
    assert me.ours.is_closed() and me.theirs.is_closed()


def test_subscriber_losing_channel_is_disconnected(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "~*", "resetchannels", "&news", "&chat")
    user = pair()
    user("AUTH", "sub", "x")
    user("SUBSCRIBE", "news")
    admin("ACL", "SETUSER", "sub", "&more")  # still allowed: stays
    user.ours.send(b"PING\r\n")
    user.theirs.send(b"PING\r\n")
    assert user.ours.read_reply() == user.theirs.read_reply()
    admin("ACL", "SETUSER", "sub", "resetchannels", "&chat")
    assert user.ours.is_closed() and user.theirs.is_closed()
    other = pair()
    other("AUTH", "sub", "x")
    other("SUBSCRIBE", "news")
    other("SUBSCRIBE", "chat", "x")


def test_default_user_password(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "default", ">pw")
    fresh = pair()
    fresh("GET", "k")
    fresh("AUTH", "wrong")
    fresh("AUTH", "pw")
    fresh("GET", "k")
    admin("ACL", "SETUSER", "default", "nopass")
    late = pair()
    late("GET", "k")
    late("AUTH", "x")


def test_requirepass_sets_default_password(pair: Any) -> None:
    admin = pair()
    try:
        admin("CONFIG", "SET", "requirepass", "pw")
        admin("ACL", "LIST")
        fresh = pair()
        fresh("PING")
        fresh("AUTH", "default", "pw")
        fresh("ACL", "WHOAMI")
    finally:
        admin("CONFIG", "SET", "requirepass", "")
    admin("ACL", "LIST")


def test_client_list_user(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "+@all")
    user = pair()
    user("AUTH", "alice", "x")
    mine, real = user.both("CLIENT", "INFO")
    assert b" user=alice " in mine and b" user=alice " in real


def test_scripts(pair: Any) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", "nopass", "~k*", "+@scripting", "+get", "+set")
    user = pair()
    user("AUTH", "alice", "x")
    user("EVAL", "return server.call('get', KEYS[1])", "1", "k1")
    user("EVAL", "return server.call('set', 'other', 'v')", "0")
    user("EVAL", "return server.pcall('incr', 'k1')", "0")
    user("EVAL", "return server.acl_check_cmd('get', 'k1')", "0")
    user("EVAL", "return server.acl_check_cmd('get', 'other')", "0")
    user("EVAL", "return server.acl_check_cmd('incr', 'k1')", "0")
    user("EVAL", "return server.acl_check_cmd('nosuch')", "0")
    mine, real = admin.both("ACL", "LOG", "1")
    assert _log_shape(mine) == _log_shape(real)


# -- the ACL file ----------------------------------------------------------------------------------


def test_acl_save_and_load(tmp_path: Any) -> None:
    dirs = [tmp_path / "ours", tmp_path / "real"]
    for path in dirs:
        path.mkdir()
        (path / "users.acl").write_text("user default on nopass ~* &* +@all\nuser alice on #" + "a" * 64 + " ~k* +get\n")
    # The same relative file name on both, so that error texts naming it are identical.
    ours = start_pyvalkey("--dir", str(dirs[0]), "--aclfile", "users.acl")
    try:
        real = start_oracle("--dir", str(dirs[1]), "--aclfile", "users.acl")
        try:
            a, b = RawClient(ours.port), RawClient(real.port)

            def both(*args: object) -> bytes:
                mine, theirs = a(*args), b(*args)
                assert mine == theirs, f"{args!r}: pyvalkey {mine!r} != valkey {theirs!r}"
                return theirs

            def write(text: str) -> None:
                for path in dirs:
                    (path / "users.acl").write_text(text)

            both("ACL", "LIST")
            both("ACL", "SETUSER", "bob", "on", ">pw", "%R~r*", "&c", "-@all", "+@hash", "(+get ~x)")
            both("ACL", "SAVE")
            assert (dirs[0] / "users.acl").read_bytes() == (dirs[1] / "users.acl").read_bytes()
            write("user carol on nopass +@all ~*\nuser default on nopass ~* &* +@all\n")
            both("ACL", "LOAD")
            both("ACL", "LIST")
            write("user dave on bogus\nnotuser x\nuser dave +nosuch\nuser e (~x\nuser  f\n")
            both("ACL", "LOAD")
            write("user g +nosuch -alsonot ~a ~b ~* ~c\n\n  \nuser h on  nopass\n")
            both("ACL", "LOAD")
            write("user carol on nopass\n")  # no default user: a fresh default one
            both("ACL", "LOAD")
            both("ACL", "LIST")
            both("ACL", "WHOAMI")
            both("AUTH", "carol", "x")
            both("ACL", "WHOAMI")
            a.close()
            b.close()
        finally:
            real.stop()
    finally:
        ours.stop()


@pytest.mark.parametrize("rule", ["off", "resetpass"])
def test_default_user_locked(pair: Any, rule: str) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "alice", "on", ">pw", "+@all", "~*")
    admin("ACL", "SETUSER", "default", rule)
    fresh = pair()
    fresh("PING")
    fresh("HELLO", "3")
    fresh("AUTH", "x")
    fresh("AUTH", "default", "x")
    mine, real = fresh.both("HELLO", "3", "AUTH", "alice", "pw")
    assert _mask_id(mine) == _mask_id(real)
    fresh("ACL", "WHOAMI")
    fresh("RESET")
    fresh("PING")
    admin("ACL", "WHOAMI")  # already connected: still the default user


@pytest.mark.parametrize("resp3", [False, True])
def test_channel_permissions(pair: Any, resp3: bool) -> None:
    admin = pair()
    admin("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "~*", "resetchannels", "&news.*", "&lit")
    user = pair()
    if resp3:
        user.both("HELLO", "3")
    user("AUTH", "sub", "x")
    user("PUBLISH", "news.a", "m")
    user("PUBLISH", "other", "m")
    user("SPUBLISH", "other", "m")
    user("SUBSCRIBE", "other")
    user("SSUBSCRIBE", "news.b", "other")
    user("PSUBSCRIBE", "news.x*")
    user("PSUBSCRIBE", "news.*")
    user("PUNSUBSCRIBE")
    user("SUBSCRIBE", "lit", "news.z")
    user("UNSUBSCRIBE")
    user("PUBSUB", "NUMSUB", "other")


def test_pubsub_default_config(acl: Differ) -> None:
    try:
        acl("CONFIG", "SET", "acl-pubsub-default", "allchannels")
        acl("ACL", "SETUSER", "tmp", "on", "(+get)")
        acl("ACL", "SETUSER", "dave", "reset", "&x")
        acl("ACL", "LIST")
    finally:
        acl("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
    acl("ACL", "SETUSER", "dave", "reset")
    acl("ACL", "GETUSER", "dave")
