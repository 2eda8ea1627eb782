"""A real job queue (rq) runs end to end on pyvalkey.

rq is a widely used Redis job queue: enqueueing uses MULTI/EXEC pipelines, hashes, lists,
sorted-set registries and Lua scripts; workers use LMOVE/BLMOVE, pub/sub for worker commands,
streams for results and key expiry for result TTLs. Each test starts its own server (pyvalkey or
the real Valkey, so the test itself is proven against the oracle), enqueues jobs from this
process, runs ``rq worker`` as a separate process and checks what the worker left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue, Retry, Worker
from rq.command import send_shutdown_command
from rq.job import Job, JobStatus
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
)
from rq.results import Result
from servers import ServerProcess, start_oracle, start_pyvalkey

TESTS_DIR = Path(__file__).resolve().parent
WORKER_TIMEOUT = 60.0

SERVERS: dict[str, Callable[[], ServerProcess]] = {"pyvalkey": start_pyvalkey, "valkey": start_oracle}


@pytest.fixture(params=sorted(SERVERS), scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    proc = SERVERS[request.param]()
    yield proc
    proc.stop()


@pytest.fixture
def conn(server: ServerProcess) -> Iterator[redis.Redis]:
    connection = redis.Redis(host="127.0.0.1", port=server.port)
    connection.flushall()
    yield connection
    connection.close()


def worker_argv(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rq.cli", "worker", "--url", f"redis://127.0.0.1:{port}", *extra]


def worker_env() -> dict[str, str]:
    # The worker imports jobs by dotted name, so tests/ must be importable in its process.
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=str(TESTS_DIR) + (os.pathsep + path if path else ""))


def test_burst_worker_runs_jobs(server: ServerProcess, conn: redis.Redis) -> None:
    queue = Queue("default", connection=conn)
    plain = queue.enqueue("jobs_for_queue.add", 2, 3)
    failing = queue.enqueue("jobs_for_queue.fail", "boom")
    retried = queue.enqueue("jobs_for_queue.fail", "again", retry=Retry(max=2))
    parent = queue.enqueue("jobs_for_queue.stamp", "parent")
    child = queue.enqueue("jobs_for_queue.stamp", "child", depends_on=parent)
    soon = queue.enqueue_in(timedelta(seconds=1), "jobs_for_queue.stamp", "soon")
    much_later = queue.enqueue_in(timedelta(hours=1), "jobs_for_queue.stamp", "much later")

    # Before any worker: what enqueueing alone must have stored.
    assert queue.count == 4
    assert set(queue.get_job_ids()) == {plain.id, failing.id, retried.id, parent.id}
    assert child.get_status() == JobStatus.DEFERRED
    assert DeferredJobRegistry(queue=queue).get_job_ids() == [child.id]
    assert soon.get_status() == JobStatus.SCHEDULED
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [soon.id, much_later.id]

    # rq scores scheduled jobs in whole seconds; wait until the "soon" one is due.
    due = time.time() + 1.2
    while time.time() < due:
        time.sleep(0.05)

    proc = subprocess.run(
        worker_argv(server.port, "--burst", "--with-scheduler"),
        check=False, env=worker_env(), capture_output=True, text=True, timeout=WORKER_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]

    for job in (plain, failing, retried, parent, child, soon, much_later):
        job.refresh()

    assert plain.get_status() == JobStatus.FINISHED
    assert plain.return_value() == 5
    assert plain.latest_result().type == Result.Type.SUCCESSFUL

    assert failing.get_status() == JobStatus.FAILED
    assert failing.return_value() is None
    failed_result = failing.latest_result()
    assert failed_result.type == Result.Type.FAILED
    assert "ValueError: boom" in failed_result.exc_string

    # Two retries, each re-enqueued at once (so the burst worker ran it three times), then it failed for good.
    assert retried.get_status() == JobStatus.FAILED
    assert retried.retries_left == 0
    assert "ValueError: again" in retried.latest_result().exc_string

    registry = FailedJobRegistry(queue=queue)
    assert sorted(registry.get_job_ids()) == sorted([failing.id, retried.id])
    assert sorted(FinishedJobRegistry(queue=queue).get_job_ids()) == sorted(
        [plain.id, parent.id, child.id, soon.id]
    )

    parent_ran = parent.return_value()
    child_ran = child.return_value()
    assert parent_ran["tag"] == "parent" and child_ran["tag"] == "child"
    assert child_ran["at"] >= parent_ran["at"]
    assert child.started_at >= parent.ended_at
    assert DeferredJobRegistry(queue=queue).get_job_ids() == []

    assert soon.get_status() == JobStatus.FINISHED
    assert soon.return_value()["tag"] == "soon"
    assert much_later.get_status() == JobStatus.SCHEDULED
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [much_later.id]

    assert queue.count == 0
    assert Worker.all(connection=conn) == []  # the burst worker deregistered on exit

    # Results are kept with a TTL (rq's default 500 s), set through EXPIRE on the job hash.
    assert 0 < conn.ttl(plain.key) <= 500
    # A job reloaded from the server by id round-trips its pickled payload.
    again = Job.fetch(plain.id, connection=conn)
    assert again.func_name == "jobs_for_queue.add" and again.args == (2, 3)


def test_long_running_worker_blocks_and_obeys_shutdown(server: ServerProcess, conn: redis.Redis) -> None:
    """A non-burst worker waits in BLMOVE, wakes on a push, and stops on a pub/sub command."""
    proc = subprocess.Popen(
        worker_argv(server.port, "--name", "blocker"),
        env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT
        while not [w for w in Worker.all(connection=conn) if w.name == "blocker"]:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "worker never registered"
            time.sleep(0.05)
        # Let it reach its blocking dequeue before the job arrives.
        time.sleep(0.3)

        queue = Queue("default", connection=conn)
        job = queue.enqueue("jobs_for_queue.add", 40, 2)
        while job.get_status(refresh=True) != JobStatus.FINISHED:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, f"job stuck in {job.get_status()}"
            time.sleep(0.05)
        assert job.return_value() == 42
        worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + "blocker", connection=conn)
        assert worker is not None and worker.successful_job_count == 1

        # The shutdown command travels over PUBLISH to the worker's pub/sub thread.
        send_shutdown_command(conn, "blocker")
        output, _ = proc.communicate(timeout=WORKER_TIMEOUT)
        assert proc.returncode == 0, output[-4000:]
        assert Worker.all(connection=conn) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
