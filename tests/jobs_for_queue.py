"""Job functions for tests/test_job_queue.py.

They live in their own module because the rq worker runs in a separate process and
imports jobs by dotted name (``jobs_for_queue.add``); the test puts tests/ on its PYTHONPATH.
"""

from __future__ import annotations

import os
import time


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def stamp(tag: str) -> dict[str, object]:
    """Return when and in which process the job ran, so the test can check ordering."""
    return {"tag": tag, "at": time.time(), "pid": os.getpid()}
