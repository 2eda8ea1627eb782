"""Time travel: advance_time / freeze_time / resume_time and DEBUG TIME-TRAVEL/FREEZE/RESUME."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import valkey

from pyvalkey.embedded import EmbeddedServer
from pyvalkey.testing import client


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(hz=100, enable_debug_command="yes") as embedded:
        yield embedded


@pytest.fixture
def r(server: EmbeddedServer) -> Iterator[valkey.Valkey]:
    c = server.client()
    yield c
    c.close()


def _wait_until(check, timeout: float = 3.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_ttl_follows_the_clock(server: EmbeddedServer, r: valkey.Valkey) -> None:
    r.set("k", "v", ex=3600)
    server.advance_time(1800)
    assert r.ttl("k") in (1799, 1800)
    server.advance_time(1799.5)
    assert r.pttl("k") <= 500
    server.advance_time(1)
    assert r.get("k") is None  # lazy expiry
    assert r.ttl("k") == -2


def test_active_expiry_after_travel(server: EmbeddedServer, r: valkey.Valkey) -> None:
    r.mset({f"k{i}": i for i in range(50)})
    for i in range(50):
        r.expire(f"k{i}", 3600)
    r.set("forever", 1)
    assert r.dbsize() == 51
    server.advance_time(3601)
    # Nobody reads the keys: the active cycle (cron, hz 100) must remove them.
    assert _wait_until(lambda: r.dbsize() == 1)
    assert r.info("stats")["expired_keys"] == 50


def test_freeze_and_resume(server: EmbeddedServer, r: valkey.Valkey) -> None:
    server.freeze_time()
    r.set("k", "v", px=1000)
    time.sleep(0.05)
    assert r.pttl("k") == 1000  # frozen: no time passes
    server.advance_time(0.4)
    assert r.pttl("k") == 600  # but travel still moves it
    server.resume_time()
    time.sleep(0.05)
    assert 300 < r.pttl("k") < 600


def test_blocking_timeout_follows_travel(server: EmbeddedServer) -> None:
    results: list[object] = []
    blocked = client(server)

    def pop() -> None:
        results.append(blocked.blpop("nothing", timeout=3600))

    thread = threading.Thread(target=pop)
    thread.start()
    probe = server.client()
    assert _wait_until(lambda: probe.info("clients")["blocked_clients"] == 1)
    started = time.monotonic()
    server.advance_time(3600)
    thread.join(5)
    assert not thread.is_alive()
    assert results == [None]
    assert time.monotonic() - started < 2
    probe.close()
    blocked.close()


def test_object_idletime(server: EmbeddedServer, r: valkey.Valkey) -> None:
    r.set("k", "v")
    server.advance_time(120)
    assert r.object("idletime", "k") >= 120
    r.get("k")
    assert r.object("idletime", "k") <= 1


def test_hash_field_ttl(server: EmbeddedServer, r: valkey.Valkey) -> None:
    r.hset("h", mapping={"a": 1, "b": 2})
    r.execute_command("HEXPIRE", "h", 100, "FIELDS", 1, "a")
    server.advance_time(50)
    assert r.execute_command("HTTL", "h", "FIELDS", 1, "a") == [50]
    server.advance_time(51)
    assert r.hgetall("h") == {b"b": b"2"}


def test_stream_ids_follow_the_clock(server: EmbeddedServer, r: valkey.Valkey) -> None:
    server.freeze_time()
    first = r.xadd("s", {"f": "v"})
    server.advance_time(10)
    second = r.xadd("s", {"f": "v"})
    ms_first = int(first.split(b"-")[0])
    ms_second = int(second.split(b"-")[0])
    assert ms_second - ms_first == 10_000


def test_time_command_and_info_follow_the_clock(server: EmbeddedServer, r: valkey.Valkey) -> None:
    seconds, _ = r.time()
    server.advance_time(86400)
    later, _ = r.time()
    assert 86400 <= later - seconds <= 86402


def test_negative_travel_is_refused(server: EmbeddedServer) -> None:
    with pytest.raises(ValueError):
        server.advance_time(-1)
    with pytest.raises(ValueError):
        server.advance_time(float("nan"))


def test_socketless_client_server_time_travel() -> None:
    sl = client()
    sl.set("session", "x", ex=60)
    sl.pyvalkey_server.advance_time(61)
    assert sl.get("session") is None
    sl.close()


def test_debug_time_travel_over_the_wire(r: valkey.Valkey) -> None:
    r.set("k", "v", ex=100)
    assert r.execute_command("DEBUG", "TIME-TRAVEL", "40") == b"OK"
    assert r.ttl("k") in (59, 60)
    assert r.execute_command("DEBUG", "TIME-FREEZE") == b"OK"
    before = r.pttl("k")
    time.sleep(0.03)
    assert r.pttl("k") == before
    assert r.execute_command("DEBUG", "TIME-TRAVEL", "0.5") == b"OK"
    assert r.pttl("k") == before - 500
    assert r.execute_command("DEBUG", "time-resume") == b"OK"
    for bad in ("-1", "abc", "inf", "nan"):
        with pytest.raises(valkey.ResponseError, match="TIME-TRAVEL needs a finite number"):
            r.execute_command("DEBUG", "TIME-TRAVEL", bad)
    with pytest.raises(valkey.ResponseError, match="unknown subcommand or wrong number of arguments"):
        r.execute_command("DEBUG", "TIME-TRAVEL")
    with pytest.raises(valkey.ResponseError, match="unknown subcommand or wrong number of arguments"):
        r.execute_command("DEBUG", "TIME-FREEZE", "now")
    help_text = b"\n".join(r.execute_command("DEBUG", "HELP"))
    for name in (b"TIME-TRAVEL <seconds>", b"TIME-FREEZE", b"TIME-RESUME", b"pyvalkey extension"):
        assert name in help_text


def test_debug_time_travel_needs_debug_enabled() -> None:
    with EmbeddedServer() as server:
        c = server.client()
        with pytest.raises(valkey.ResponseError, match="DEBUG command not allowed"):
            c.execute_command("DEBUG", "TIME-TRAVEL", "10")
        c.close()
