"""Multi-part AOF: manifest and replay at the file level, pyvalkey's AOF loaded by the oracle and
the oracle's by pyvalkey, rewrites, fsync policies under kill -9, truncated tails, run-time
switching, DEBUG LOADAOF and INFO fields against the oracle."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from resp import RawClient
from servers import ROOT, ServerProcess, start_oracle, start_pyvalkey

from pyvalkey.commands import aof as aof_commands
from pyvalkey.config import Config
from pyvalkey.persistence import aof
from pyvalkey.server import Server

ASSET = ROOT.parent / "shared" / "reference" / "valkey-test-assets" / "rdb-preamble.aof"


@pytest.fixture
def workdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="aof-test-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _kill(server: ServerProcess) -> None:
    """kill -9 (no shutdown hook runs), keeping the data directory."""
    if server.proc.poll() is None:
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
    server.stop()


def _wait_rewrite(client: RawClient) -> None:
    deadline = time.monotonic() + 10
    while b"aof_rewrite_in_progress:1" in client("INFO", "persistence") or (
        b"aof_rewrite_scheduled:1" in client("INFO", "persistence")
    ):
        assert time.monotonic() < deadline, "rewrite never finished"
        time.sleep(0.02)


def _manifest(directory: str) -> list[str]:
    return Path(directory, "appendonlydir", "appendonly.aof.manifest").read_text().splitlines()


# -- file level --------------------------------------------------------------------------------


def test_manifest_parse_render_and_errors() -> None:
    text = b"file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.2.incr.aof seq 2 type h\n" \
           b"# a comment\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile \"odd name\" seq 4 type i\n"
    manifest = aof.Manifest.parse(text)
    assert manifest.base == aof.AofInfo("appendonly.aof.3.base.rdb", 3, "b")
    assert [i.name for i in manifest.incrs] == ["appendonly.aof.3.incr.aof", "odd name"]
    assert manifest.history[0].seq == 2
    assert aof.Manifest.parse(manifest.render()).render() == manifest.render()
    assert b'file "odd name" seq 4 type i\n' in manifest.render()
    manifest.new_base("appendonly.aof", False)
    manifest.retire_incrs(keep_last=True)
    assert manifest.base.name == "appendonly.aof.4.base.aof"
    assert [i.name for i in manifest.incrs] == ["odd name"]
    for bad in (b"file a seq 1 type b\nfile b seq 2 type b\n", b"file a seq x type b\n", b"file a seq 1\n",
                b"file a seq 1 type z\n", b"file a seq\n"):
        with pytest.raises(aof.AofFileError):
            aof.Manifest.parse(bad)


def _record(*argv: bytes) -> bytes:
    return b"".join([b"*%d\r\n" % len(argv)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in argv])


def test_replay_annotations_multi_and_every_cut_point(workdir: str) -> None:
    body = b"#TS:1700000000\r\n" + _record(b"SET", b"a", b"1") + _record(b"MULTI") + _record(b"INCR", b"a") + \
        _record(b"INCR", b"a") + _record(b"EXEC")
    last = _record(b"SET", b"b", b"hello world")
    path = os.path.join(workdir, "f.aof")
    Path(path).write_bytes(body + last)
    seen: list[list[bytes]] = []
    result = aof.replay(path, seen.append, lambda data: None)
    assert seen == [[b"SET", b"a", b"1"], [b"INCR", b"a"], [b"INCR", b"a"], [b"SET", b"b", b"hello world"]]
    assert result.truncated_at == -1
    # Cut the last record at every byte: the complete prefix replays, the rest is reported.
    for cut in range(1, len(last)):
        Path(path).write_bytes(body + last[:cut])
        seen = []
        result = aof.replay(path, seen.append, lambda data: None)
        assert len(seen) == 3 and result.truncated_at == len(body), cut
    # A transaction cut anywhere is dropped whole.
    multi_start = len(b"#TS:1700000000\r\n" + _record(b"SET", b"a", b"1"))
    for cut in range(multi_start + 1, len(body)):
        Path(path).write_bytes(body[:cut])
        seen = []
        result = aof.replay(path, seen.append, lambda data: None)
        assert seen == [[b"SET", b"a", b"1"]] and result.truncated_at == multi_start, cut
    Path(path).write_bytes(b"+garbage\r\n")
    with pytest.raises(aof.AofFileError):
        aof.replay(path, seen.append, lambda data: None)


# -- interop -----------------------------------------------------------------------------------

LIBRARY = "#!lua name=aoflib\nserver.register_function('aoffunc', function(keys, args) return 7 end)"


def _fill(client: RawClient) -> None:
    client("SET", "str", "value")
    client("SET", "num", "12345")
    client("SET", "volatile", "v", "EX", "5000")
    client("SET", "gone", "x", "PX", "1")
    client("RPUSH", "list", *[f"e{i}" for i in range(150)])
    client("SADD", "iset", "1", "2", "3")
    client("SADD", "set", *[f"m{i}" for i in range(100)])
    client("HSET", "hash", *[x for i in range(80) for x in (f"f{i}", f"v{i}")])
    client("ZADD", "zset", "1.5", "a", "-2", "b", "inf", "c", *[x for i in range(70) for x in (str(i / 3), f"z{i}")])
    client("XADD", "stream", "1-1", "a", "1")
    client("XADD", "stream", "2-1", "b", "2")
    client("XGROUP", "CREATE", "stream", "grp", "0")
    client("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "1", "STREAMS", "stream", ">")
    client("MULTI")
    client("INCR", "counter")
    client("INCRBY", "counter", "10")
    client("EXEC")
    client("EVAL", "server.call('set', KEYS[1], 'fromscript'); return 1", "1", "scripted")
    client("SPOP", "set")
    client("FUNCTION", "LOAD", LIBRARY)
    client("SELECT", "5")
    client("SET", "in5", "five")
    client("HSET", "h5", "a", "1")
    client("SELECT", "0")
    time.sleep(0.01)  # "gone" is past its deadline


PROBES = [
    ("EXISTS", "gone"), ("DBSIZE",), ("GET", "str"), ("GET", "num"), ("LRANGE", "list", "0", "-1"),
    ("SMEMBERS", "iset"), ("SCARD", "set"), ("HGETALL", "hash"), ("ZRANGE", "zset", "0", "-1", "WITHSCORES"),
    ("XRANGE", "stream", "-", "+"), ("XINFO", "GROUPS", "stream"), ("GET", "counter"), ("GET", "scripted"),
    ("FCALL", "aoffunc", "0"),
    # (DEBUG DIGEST of a stream is ours, not Valkey's: compare every other key's digest)
    ("DEBUG", "DIGEST-VALUE", "str", "num", "volatile", "list", "iset", "set", "hash", "zset", "counter", "scripted"), ("SELECT", "5"), ("GET", "in5"), ("HGETALL", "h5"), ("DBSIZE",),
]


def _probe(port: int) -> list[bytes]:
    client = RawClient(port)
    try:
        answers = [client(*probe) for probe in PROBES]
        client("SELECT", "0")
        ttl = int(client("PTTL", "volatile")[1:-2])
        assert 4_990_000 < ttl <= 5_000_000
        return answers
    finally:
        client.close()


def _fill_ours(directory: str, *options: str, rewrite: bool) -> list[bytes]:
    server = start_pyvalkey("--dir", directory, "--appendonly", "yes", *options)
    try:
        client = RawClient(server.port)
        _fill(client)
        if rewrite:
            assert client("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
            _wait_rewrite(client)
            client("SET", "after", "rewrite")  # in the incremental file
            client("DEL", "after")
        client.close()
        return _probe(server.port)
    finally:
        _kill(server)


@pytest.mark.parametrize(("options", "rewrite"), [
    ((), True), (("--aof-use-rdb-preamble", "no", "--aof-timestamp-enabled", "yes"), True), ((), False),
])
def test_oracle_loads_our_aof(workdir: str, options: tuple[str, ...], rewrite: bool) -> None:
    expected = _fill_ours(workdir, *options, rewrite=rewrite)
    lines = _manifest(workdir)
    assert len(lines) == 2 and lines[1].endswith("type i")
    suffix = "rdb" if "no" not in options else "aof"
    assert lines[0] == f"file appendonly.aof.{2 if rewrite else 1}.base.{suffix} seq {2 if rewrite else 1} type b"
    oracle = start_oracle("--dir", workdir, "--appendonly", "yes")
    try:
        assert _probe(oracle.port) == expected
    finally:
        oracle.stop()


def test_we_load_oracle_aof(workdir: str) -> None:
    ours = start_pyvalkey()  # AOF off: DEBUG LOADAOF reads whatever directory is in its dir
    try:
        for options in ((), ("--aof-use-rdb-preamble", "no", "--aof-timestamp-enabled", "yes")):
            shutil.rmtree(os.path.join(workdir, "appendonlydir"), ignore_errors=True)
            oracle = start_oracle("--dir", workdir, "--appendonly", "yes", *options)
            try:
                client = RawClient(oracle.port)
                _fill(client)
                assert client("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
                _wait_rewrite(client)
                client("RPUSH", "list", "tail")
                client("RPOP", "list")
                client.close()
                expected = _probe(oracle.port)
            finally:
                _kill(oracle)
            target = os.path.join(ours.dir, "appendonlydir")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(os.path.join(workdir, "appendonlydir"), target)
            client = RawClient(ours.port)
            assert client("DEBUG", "LOADAOF") == b"+OK\r\n"
            client.close()
            assert _probe(ours.port) == expected
        # And from a cold start on the oracle's directory.
        ours.stop()
        ours = start_pyvalkey("--dir", workdir, "--appendonly", "yes")
        assert _probe(ours.port) == expected
    finally:
        ours.stop()


def test_rdb_preamble_asset_as_base_and_as_old_style_file(workdir: str) -> None:
    data = ASSET.read_bytes()
    probes = [("DBSIZE",), ("GET", "k1"), ("GET", "k2"), ("GET", "k3")]
    results = []
    for layout in ("multi-part", "old-style"):
        for start in (start_pyvalkey, start_oracle):
            directory = tempfile.mkdtemp(prefix="aof-asset-", dir=workdir)
            if layout == "multi-part":
                os.mkdir(os.path.join(directory, "appendonlydir"))
                Path(directory, "appendonlydir", "appendonly.aof.1.base.rdb").write_bytes(data)
                Path(directory, "appendonlydir", "appendonly.aof.manifest").write_text(
                    "file appendonly.aof.1.base.rdb seq 1 type b\n")
            else:
                Path(directory, "appendonly.aof").write_bytes(data)
            server = start("--dir", directory, "--appendonly", "yes")
            try:
                client = RawClient(server.port)
                results.append([client(*p) for p in probes])
                client.close()
                results[-1].append(str(_manifest(directory)).encode())
            finally:
                _kill(server)
    assert results[0][:4] == [b":3\r\n", b"$2\r\nv1\r\n", b"$2\r\nv2\r\n", b"$2\r\nv3\r\n"]
    assert results[0] == results[1] and results[2] == results[3]


# -- truncated and corrupt files ---------------------------------------------------------------


def _aof_dir_with(directory: str, incr: bytes) -> None:
    os.makedirs(os.path.join(directory, "appendonlydir"), exist_ok=True)
    Path(directory, "appendonlydir", "appendonly.aof.1.incr.aof").write_bytes(incr)
    Path(directory, "appendonlydir", "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.incr.aof seq 1 type i\n")


def test_truncated_tail(workdir: str) -> None:
    good = _record(b"SELECT", b"0") + _record(b"SET", b"a", b"1")
    cut = _record(b"SET", b"b", b"2")[:-3]
    for start in (start_pyvalkey, start_oracle):
        _aof_dir_with(workdir, good + cut)
        server = start("--dir", workdir, "--appendonly", "yes")
        try:
            client = RawClient(server.port)
            assert client("MGET", "a", "b") == b"*2\r\n$1\r\n1\r\n$-1\r\n"
            client.close()
        finally:
            _kill(server)
        # The torn record is gone from the file (then appends continue after it).
        assert Path(workdir, "appendonlydir", "appendonly.aof.1.incr.aof").read_bytes() == good
    _aof_dir_with(workdir, good + cut)
    with pytest.raises(RuntimeError):
        start_pyvalkey("--dir", workdir, "--appendonly", "yes", "--aof-load-truncated", "no")


def _load_in_process(directory: str) -> Server:
    config = Config()
    config.appenddirname = os.path.join(directory, "appendonlydir")
    server = Server(config)
    aof_commands.state(server).load()
    return server


def test_bad_files_stop_loading(workdir: str) -> None:
    good = _record(b"SELECT", b"0") + _record(b"SET", b"a", b"1")
    cases = [
        (good + b"!garbage\r\n" + good, "Bad file format"),  # never "truncated", whatever the setting
        (good + _record(b"NOSUCHCOMMAND", b"x"), "Unknown command 'NOSUCHCOMMAND'"),
        (good + _record(b"GET"), "Bad file format"),  # wrong arity
    ]
    for data, message in cases:
        _aof_dir_with(workdir, data)
        with pytest.raises(aof.AofFileError, match=message):
            _load_in_process(workdir)
    # A truncated file that is not the last one, and a listed file that is missing.
    _aof_dir_with(workdir, good + b"*2\r\n$3\r\nGET")
    Path(workdir, "appendonlydir", "appendonly.aof.2.incr.aof").write_bytes(good)
    Path(workdir, "appendonlydir", "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    with pytest.raises(aof.AofFileError, match="not the last file"):
        _load_in_process(workdir)
    Path(workdir, "appendonlydir", "appendonly.aof.1.incr.aof").write_bytes(good)
    os.unlink(os.path.join(workdir, "appendonlydir", "appendonly.aof.2.incr.aof"))
    with pytest.raises(aof.AofFileError, match="doesn't exist"):
        _load_in_process(workdir)
    # The in-process loader itself: data, no propagation, dirty counter untouched.
    _aof_dir_with(workdir, good + _record(b"SELECT", b"2") + _record(b"RPUSH", b"l", b"x", b"y"))
    server = _load_in_process(workdir)
    assert server.keyspace.dbs[0].data[b"a"] == b"1"
    assert list(server.keyspace.dbs[2].data[b"l"].items) == [b"x", b"y"]
    assert server.keyspace.dirty == 0 and not server.propagator.active


# -- durability --------------------------------------------------------------------------------


def test_no_acknowledged_write_lost_on_kill(workdir: str) -> None:
    acknowledged = 0
    for policy in ("always", "everysec", "no"):
        server = start_pyvalkey("--dir", workdir, "--appendonly", "yes", "--appendfsync", policy)
        try:
            client = RawClient(server.port)
            assert client("DBSIZE") == b":%d\r\n" % acknowledged  # every earlier acknowledged write
            for _ in range(100):
                assert client("SET", f"k{acknowledged}", str(acknowledged)) == b"+OK\r\n"
                acknowledged += 1
                if acknowledged % 100 == 50:
                    client("BGREWRITEAOF")  # writes go on while the child runs
        finally:
            _kill(server)  # kill -9: the bytes are in the kernel (and on disk with always) before the reply
    server = start_pyvalkey("--dir", workdir, "--appendonly", "yes")
    try:
        client = RawClient(server.port)
        assert client("DBSIZE") == b":%d\r\n" % acknowledged
        assert client("GET", f"k{acknowledged - 1}") == b"$3\r\n%d\r\n" % (acknowledged - 1)
        client.close()
    finally:
        server.stop()


def _aof_server(directory: str, fsync: str) -> tuple[Server, str]:
    """An in-process server writing its AOF under ``directory``; (server, incr file path)."""
    config = Config()
    config.appenddirname = os.path.join(directory, "appendonlydir")
    config.appendonly = True
    config.appendfsync = fsync
    server = Server(config)
    current = aof_commands.state(server)
    current.load()
    current.open_on_start()
    return server, current.path(current.manifest.incrs[-1].name)


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_a_read_of_writes_is_one_write_before_its_replies(
    workdir: str, fsync: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline of writes reaches the file with one write(2) (and under ``always`` one
    fsync), and before any of its replies is handed to the socket."""
    from inprocess import FakeTransport

    from pyvalkey.net.connection import Connection

    server, incr = _aof_server(workdir, fsync)
    writes: list[int] = []
    fsyncs: list[int] = []
    real_write_all, real_fsync = aof.write_all, os.fsync
    monkeypatch.setattr(aof, "write_all", lambda fd, data: writes.append(len(data)) or real_write_all(fd, data))
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))

    on_disk_at_reply: list[bytes] = []

    class Observing(FakeTransport):
        def write(self, data: bytes) -> None:
            on_disk_at_reply.append(Path(incr).read_bytes())
            super().write(data)

    conn = Connection(server)
    transport = Observing()
    conn.connection_made(transport)  # type: ignore[arg-type]
    pipeline = b"".join(_record(b"SET", b"k%d" % i, b"v%d" % i) for i in range(50)) + _record(b"INCR", b"n")
    conn.data_received(pipeline)
    assert bytes(transport.data) == b"+OK\r\n" * 50 + b":1\r\n"
    assert len(writes) == 1
    assert len(fsyncs) == (1 if fsync == "always" else 0)
    # The file held every write of the read when the replies went out.
    assert on_disk_at_reply == [Path(incr).read_bytes()]
    assert on_disk_at_reply[0].endswith(_record(b"SET", b"k49", b"v49") + _record(b"INCR", b"n"))
    assert server.write_barrier is None and not aof_commands.state(server).buffer
    # Reads alone write nothing.
    conn.data_received(_record(b"GET", b"k1"))
    assert len(writes) == 1
    server.shutdown_hooks[-1]()  # AofState.on_close


def test_writes_without_replies_are_written_by_cron_and_before_fsync(workdir: str) -> None:
    """No client output follows a write made with CLIENT REPLY OFF: the cron writes it within a
    tick; WAITAOF's local count and every fsync write the buffer first."""
    from inprocess import FakeTransport

    from pyvalkey.net.connection import Connection

    server, incr = _aof_server(workdir, "everysec")
    current = aof_commands.state(server)
    conn = Connection(server)
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    conn.data_received(_record(b"CLIENT", b"REPLY", b"OFF") + _record(b"SET", b"quiet", b"1"))
    assert transport.data == b""
    # Connection.flush ran after the read: the write went out with it, though nothing was sent.
    assert Path(incr).read_bytes().endswith(_record(b"SET", b"quiet", b"1"))
    # Writes made outside any client read (here: fed directly, as active expiry feeds) wait
    # for the cron.
    server.propagator.emit_now(0, [b"DEL", b"gone"])
    assert current.buffer and not Path(incr).read_bytes().endswith(_record(b"DEL", b"gone"))
    info = dict(aof_commands._info_lines(server))
    assert info["aof_buffer_length"] == len(_record(b"DEL", b"gone"))
    server.cron()
    assert not current.buffer and Path(incr).read_bytes().endswith(_record(b"DEL", b"gone"))
    server.propagator.emit_now(0, [b"DEL", b"gone2"])
    current.fsync_now()
    assert Path(incr).read_bytes().endswith(_record(b"DEL", b"gone2"))
    server.propagator.emit_now(0, [b"DEL", b"gone3"])
    from pyvalkey.replication.primary import primary

    assert primary(server).local_fsynced() is False  # written now, fsync still pending (everysec)
    assert Path(incr).read_bytes().endswith(_record(b"DEL", b"gone3"))
    current.fsync_now()
    assert primary(server).local_fsynced() is True
    server.shutdown_hooks[-1]()


def test_pipelined_writes_survive_kill_once_acknowledged(workdir: str) -> None:
    """kill -9 right after the replies to a pipeline (with a transaction and a served BLPOP in
    it): every acknowledged write is in the file."""
    server = start_pyvalkey("--dir", workdir, "--appendonly", "yes", "--appendfsync", "everysec")
    try:
        waiter, client = RawClient(server.port), RawClient(server.port)
        waiter.send(_record(b"BLPOP", b"queue", b"0"))
        time.sleep(0.2)
        pipeline = b"".join(_record(b"SET", b"p%d" % i, b"%d" % i) for i in range(200))
        pipeline += _record(b"MULTI") + _record(b"INCR", b"t") + _record(b"RPUSH", b"queue", b"a", b"b") + _record(b"EXEC")
        client.send(pipeline)
        replies = b""
        expected = b"+OK\r\n" * 200 + b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n"
        deadline = time.monotonic() + 10
        while len(replies) < len(expected):
            assert time.monotonic() < deadline
            replies += client.sock.recv(65536)
        assert replies == expected
        assert waiter.read_reply() == b"*2\r\n$5\r\nqueue\r\n$1\r\na\r\n"
    finally:
        _kill(server)
    server = start_pyvalkey("--dir", workdir, "--appendonly", "yes")
    try:
        client = RawClient(server.port)
        assert client("GET", "p199") == b"$3\r\n199\r\n"
        assert client("GET", "t") == b"$1\r\n1\r\n"
        assert client("LRANGE", "queue", "0", "-1") == b"*1\r\n$1\r\nb\r\n"
        client.close()
    finally:
        server.stop()


def test_publish_is_not_persisted(workdir: str) -> None:
    """PUBLISH is forwarded to replicas but never written to the AOF; a transaction holding a
    PUBLISH keeps its other writes, and the oracle loads the result."""
    server = start_pyvalkey("--dir", workdir, "--appendonly", "yes")
    try:
        client = RawClient(server.port)
        client("PUBLISH", "ch", "m")
        client("MULTI")
        client("PUBLISH", "ch", "m2")
        client("EXEC")
        client("MULTI")
        client("PUBLISH", "ch", "m3")
        client("SET", "k", "v")
        client("INCR", "n")
        client("EXEC")
        client.close()
    finally:
        _kill(server)
    files = sorted(Path(workdir, "appendonlydir").glob("*.incr.aof"))
    data = b"".join(path.read_bytes() for path in files)
    assert b"PUBLISH" not in data.upper()
    assert b"MULTI" in data and b"INCR" in data
    real = start_oracle("--dir", workdir, "--appendonly", "yes")
    try:
        client = RawClient(real.port)
        assert client("GET", "k") == b"$1\r\nv\r\n"
        assert client("GET", "n") == b"$1\r\n1\r\n"
        client.close()
    finally:
        real.stop()


# -- run-time switching, rewrites, INFO ---------------------------------------------------------


def test_config_set_appendonly_and_auto_rewrite(workdir: str) -> None:
    server = start_pyvalkey("--dir", workdir)
    try:
        client = RawClient(server.port)
        client("SET", "before", "1")
        assert client("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
        client("SET", "during", "2")
        _wait_rewrite(client)
        assert b"aof_enabled:1" in client("INFO", "persistence")
        assert _manifest(workdir) == ["file appendonly.aof.1.base.rdb seq 1 type b",
                                      "file appendonly.aof.1.incr.aof seq 1 type i"]
        client("CONFIG", "SET", "auto-aof-rewrite-min-size", "1000", "auto-aof-rewrite-percentage", "100")
        for i in range(60):
            client("SET", f"key{i}", "x" * 40)
        deadline = time.monotonic() + 5
        while not _manifest(workdir)[0].startswith("file appendonly.aof.2.base"):
            assert time.monotonic() < deadline, _manifest(workdir)
            time.sleep(0.05)
        _wait_rewrite(client)
        assert client("DEBUG", "LOADAOF") == b"+OK\r\n"
        assert client("DBSIZE") == b":62\r\n"
        assert client("CONFIG", "SET", "appendonly", "no") == b"+OK\r\n"
        assert b"aof_enabled:0" in client("INFO", "persistence")
        client.close()
    finally:
        server.stop()


def _info_names(client: RawClient) -> list[bytes]:
    text = client("INFO", "persistence")
    return [line.split(b":")[0] for line in text.split(b"\r\n")[1:] if b":" in line]


def test_info_fields_and_loadaof_match_oracle(diff: object) -> None:
    ours, theirs = diff.ours, diff.theirs  # type: ignore[attr-defined]
    try:
        for client in (ours, theirs):
            assert client("CONFIG", "SET", "appendonly", "yes") == b"+OK\r\n"
        for client in (ours, theirs):
            _wait_rewrite(client)
        assert _info_names(ours) == _info_names(theirs)
        diff("SET", "foo", "bar", "EX", "100")  # type: ignore[operator]
        diff("SET", "foo", "bar2", "KEEPTTL")  # type: ignore[operator]
        diff("SET", "p", "bar", "EX", "100")  # type: ignore[operator]
        diff("GETEX", "p", "PERSIST")  # type: ignore[operator]
        diff("DEBUG", "LOADAOF")  # type: ignore[operator]
        diff("TTL", "foo")  # type: ignore[operator]
        diff("TTL", "p")  # type: ignore[operator]
        diff("GET", "foo")  # type: ignore[operator]
        diff("BGREWRITEAOF")  # type: ignore[operator]
    finally:
        for client in (ours, theirs):
            _wait_rewrite(client)
            client("CONFIG", "SET", "appendonly", "no")
            client("FLUSHALL")
    assert _info_names(ours) == _info_names(theirs)
