"""BGSAVE inside an embedded server (a thread of the test process) must not fork."""

from __future__ import annotations

import time

from pyvalkey.clock import Clock
from pyvalkey.embedded import EmbeddedServer
from pyvalkey.persistence.rdb import Limits, load_file_bytes
from pyvalkey.storage.database import Keyspace


def test_bgsave_without_fork_in_embedded_mode(tmp_path):
    with EmbeddedServer(dir=str(tmp_path)) as server:
        client = server.client()
        client.set("k", "v")
        client.rpush("l", "a", "b")
        assert client.bgsave()
        deadline = time.monotonic() + 10
        while client.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.02)
        info = client.info("persistence")
        assert info["rdb_bgsave_in_progress"] == 0
        assert info["rdb_last_bgsave_status"] == "ok"
        client.close()
    data = (tmp_path / "dump.rdb").read_bytes()
    keyspace = Keyspace(Clock())
    load_file_bytes(data, keyspace.dbs, Limits(), int(time.time() * 1000))
    assert set(keyspace.dbs[0].data) == {b"k", b"l"}
