"""Socketless clients: valkey-py and redis-py, sync and asyncio, wired into in-process servers."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import valkey
import valkey.asyncio

from pyvalkey.embedded import AsyncEmbeddedServer, EmbeddedServer
from pyvalkey.testing import async_client, client, redis_async_client, redis_client


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer() as embedded:
        yield embedded


@pytest.fixture
def r(server: EmbeddedServer) -> Iterator[valkey.Valkey]:
    sl = client(server)
    sl.flushall()
    yield sl
    sl.close()


def test_fresh_client_without_a_server() -> None:
    first = client()
    second = client()
    assert first.ping() is True
    first.set("k", "v")
    assert first.get("k") == b"v"
    assert second.get("k") is None  # each gets its own empty server
    assert first.pyvalkey_server is not second.pyvalkey_server
    first.close()
    second.close()


def test_owned_server_stops_when_the_client_is_collected() -> None:
    sl = client()
    sl.ping()
    embedded = sl.pyvalkey_server
    assert embedded.running
    sl.close()
    del sl
    gc.collect()
    deadline = time.monotonic() + 5
    while embedded.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not embedded.running


def test_client_creation_is_fast(server: EmbeddedServer) -> None:
    # A warm client() on an existing server makes no connection until used.
    started = time.perf_counter()
    for _ in range(50):
        client(server)
    assert (time.perf_counter() - started) / 50 < 0.005


def test_shares_data_with_tcp_clients(server: EmbeddedServer, r: valkey.Valkey) -> None:
    tcp = server.client()
    r.set("shared", "1")
    assert tcp.get("shared") == b"1"
    tcp.rpush("l", "a", "b")
    assert r.lrange("l", 0, -1) == [b"a", b"b"]
    tcp.close()


def test_client_list_shows_a_local_peer(r: valkey.Valkey) -> None:
    r.client_setname("sockless")
    me = [c for c in r.client_list() if c["name"] == "sockless"]
    assert len(me) == 1
    assert me[0]["addr"].startswith("127.0.0.1:")


def _suite(c: Any) -> list[Any]:
    """A slice of everyday valkey-py calls; run over TCP and socketless, results must match."""
    out: list[Any] = []
    out.append(c.set("s", "v", ex=100))
    out.append(c.get("s"))
    out.append(c.ttl("s"))
    out.append(c.incrby("n", 5))
    out.append(c.incrbyfloat("f", 1.5))
    out.append(c.mset({"a": 1, "b": 2}))
    out.append(c.mget("a", "b", "missing"))
    out.append(c.append("s", "w"))
    out.append(c.getrange("s", 0, 0))
    out.append(c.rpush("l", *range(5)))
    out.append(c.lrange("l", 1, 3))
    out.append(c.lpop("l", 2))
    out.append(c.hset("h", mapping={"x": 1, "y": 2}))
    out.append(sorted(c.hgetall("h").items()))
    out.append(c.hincrby("h", "x", 3))
    out.append(c.sadd("set", "a", "b", "c"))
    out.append(sorted(c.smembers("set")))
    out.append(c.zadd("z", {"a": 1, "b": 2.5}))
    out.append(c.zrange("z", 0, -1, withscores=True))
    out.append(c.zincrby("z", 1, "a"))
    out.append(c.exists("s", "l", "nothing"))
    out.append(c.type("h"))
    out.append(sorted(c.keys("*")))
    out.append(c.delete("a", "b"))
    out.append(c.expire("h", 50))
    out.append(c.persist("h"))
    out.append(c.rename("n", "n2"))
    out.append(c.dbsize())
    out.append(c.echo("hi"))
    out.append(c.xadd("st", {"f": "v"}, id="1-1"))
    out.append(c.xrange("st"))
    for call in (lambda: c.incr("s"), lambda: c.lpush("s", 1), lambda: c.execute_command("NOPE")):
        try:
            call()
        except valkey.ResponseError as exc:
            out.append(("error", str(exc)))
    return out


@pytest.mark.parametrize("protocol", [2, 3])
def test_valkey_py_suite_slice_matches_tcp(server: EmbeddedServer, protocol: int) -> None:
    tcp = server.client(protocol=protocol)
    tcp.flushall()
    over_tcp = _suite(tcp)
    tcp.flushall()
    sl = client(server, protocol=protocol)
    socketless = _suite(sl)
    assert socketless == over_tcp
    tcp.close()
    sl.close()


def test_resp3(server: EmbeddedServer) -> None:
    sl = client(server, protocol=3, decode_responses=True)
    sl.hset("h3", mapping={"a": "1"})
    assert sl.hgetall("h3") == {"a": "1"}
    assert sl.execute_command("HGETALL", "h3") == {"a": "1"}
    sl.zadd("z3", {"m": 1.5})
    assert sl.zscore("z3", "m") == 1.5
    sl.close()


def test_pipeline_and_transaction(r: valkey.Valkey) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"k{i}", i)
    pipe.get("k99")
    result = pipe.execute()
    assert result[-1] == b"99" and len(result) == 101
    with r.pipeline() as tx:
        tx.incr("counter")
        tx.incr("counter")
        tx.get("counter")
        assert tx.execute() == [1, 2, b"2"]


def test_watch_conflict(r: valkey.Valkey, server: EmbeddedServer) -> None:
    other = client(server)
    r.set("w", "1")
    with r.pipeline() as tx:
        tx.watch("w")
        other.set("w", "2")
        tx.multi()
        tx.set("w", "3")
        with pytest.raises(valkey.WatchError):
            tx.execute()
    assert r.get("w") == b"2"
    other.close()


def test_pubsub(r: valkey.Valkey, server: EmbeddedServer) -> None:
    pubsub = r.pubsub()
    pubsub.subscribe("news")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    assert pubsub.get_message(timeout=0.05) is None  # nothing yet: the timeout is honoured
    publisher = client(server)
    assert publisher.publish("news", "hello") == 1
    message = pubsub.get_message(timeout=2)
    assert message["data"] == b"hello" and message["channel"] == b"news"
    pubsub.psubscribe("n*")
    assert pubsub.get_message(timeout=2)["type"] == "psubscribe"
    publisher.publish("news", "again")
    kinds = sorted(pubsub.get_message(timeout=2)["type"] for _ in range(2))
    assert kinds == ["message", "pmessage"]
    pubsub.close()
    publisher.close()


def test_blocking_pop_released_from_another_thread(r: valkey.Valkey, server: EmbeddedServer) -> None:
    def push() -> None:
        time.sleep(0.1)
        pusher = client(server)
        pusher.rpush("queue", "job")
        pusher.close()

    thread = threading.Thread(target=push)
    thread.start()
    started = time.monotonic()
    assert r.blpop("queue", timeout=5) == (b"queue", b"job")
    assert time.monotonic() - started < 4
    thread.join(5)


def test_blocking_timeout(r: valkey.Valkey) -> None:
    started = time.monotonic()
    assert r.blpop("never", timeout=0.2) is None
    assert 0.15 < time.monotonic() - started < 3


def test_socket_timeout_is_honoured(server: EmbeddedServer) -> None:
    sl = client(server, socket_timeout=0.2)
    with pytest.raises(valkey.TimeoutError):
        sl.blpop("never", timeout=5)
    sl.close()


def test_server_stop_gives_connection_errors() -> None:
    embedded = EmbeddedServer(port=None).start()
    sl = client(embedded)
    assert sl.ping() is True
    embedded.stop()
    with pytest.raises(valkey.ConnectionError):
        sl.ping()
    with pytest.raises(valkey.ConnectionError):
        client(embedded).ping()


def test_client_kill_closes_the_socketless_connection(r: valkey.Valkey, server: EmbeddedServer) -> None:
    victim = client(server, single_connection_client=True)
    victim.client_setname("victim")
    assert r.client_kill_filter(_id=victim.client_id()) == 1
    connection = victim.connection
    connection.send_command("PING")
    with pytest.raises(valkey.ConnectionError):
        connection.read_response()
    victim.close()


def test_asyncio_client_cross_thread(server: EmbeddedServer) -> None:
    async def main() -> None:
        ac = async_client(server)
        await ac.flushall()
        assert await ac.ping() is True
        await ac.set("a", "1")
        assert await ac.get("a") == b"1"
        async with ac.pipeline(transaction=True) as tx:
            tx.incr("c").incr("c")
            assert await tx.execute() == [1, 2]

        async def push() -> None:
            await asyncio.sleep(0.05)
            await ac.rpush("q", "x")

        task = asyncio.create_task(push())
        other = async_client(server)
        assert tuple(await other.blpop("q", timeout=5)) == (b"q", b"x")
        await task
        await other.aclose()
        await ac.aclose()

    asyncio.run(main())


def test_asyncio_client_same_loop_and_fresh_server() -> None:
    async def main() -> None:
        async with AsyncEmbeddedServer(port=None) as embedded:
            ac = embedded.socketless_client(protocol=3)
            assert await ac.ping() is True
            await ac.hset("h", "f", "v")
            assert await ac.hgetall("h") == {b"f": b"v"}
            pubsub = ac.pubsub()
            await pubsub.subscribe("ch")
            assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"
            await ac.publish("ch", "m")
            assert (await pubsub.get_message(timeout=1))["data"] == b"m"
            await pubsub.aclose()

            async def push() -> None:
                await asyncio.sleep(0.05)
                await ac.lpush("q", "v")

            task = asyncio.create_task(push())
            blocker = embedded.socketless_client()
            assert tuple(await blocker.blpop("q", timeout=5)) == (b"q", b"v")
            await task
            await blocker.aclose()
            await ac.aclose()
        fresh = async_client()
        assert await fresh.dbsize() == 0
        await fresh.aclose()

    asyncio.run(main())


def test_sync_client_on_the_server_thread_does_not_deadlock() -> None:
    async def main() -> None:
        async with AsyncEmbeddedServer(port=None) as embedded:
            sl = client(embedded)
            assert sl.ping() is True  # answered at once: no waiting needed
            with pytest.raises(valkey.ConnectionError, match="own thread"):
                sl.blpop("nothing", timeout=1)
            sl.close()

    asyncio.run(main())


def test_redis_py_sync_and_async(server: EmbeddedServer) -> None:
    rc = redis_client(server, decode_responses=True)
    rc.flushall()
    assert rc.ping() is True
    rc.set("k", "v")
    assert rc.get("k") == "v"
    with rc.pipeline() as tx:
        tx.incr("n").incr("n")
        assert tx.execute() == [1, 2]
    rc3 = redis_client(server, protocol=3)
    assert rc3.hset("h", "a", "b") == 1
    assert rc3.hgetall("h") == {b"a": b"b"}
    pubsub = rc.pubsub()
    pubsub.subscribe("c")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"
    rc.publish("c", "m")
    assert pubsub.get_message(timeout=1)["data"] == "m"
    pubsub.close()
    rc.close()
    rc3.close()
    own = redis_client()
    assert own.dbsize() == 0
    own.close()

    async def main() -> None:
        ar = redis_async_client(server)
        assert await ar.get("k") == b"v"
        await ar.aclose()

    asyncio.run(main())
    assert isinstance(rc, redis.Redis)
