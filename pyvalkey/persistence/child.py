"""The forked child processes of BGSAVE and BGREWRITEAOF: starting one, polling it, killing it.

Both jobs run the same way: the child writes its file and leaves with ``os._exit`` (never
returning into the parent's event loop), and the parent polls it without blocking from cron
and from the commands that need to know whether it is still running.
"""

from __future__ import annotations

import os
from collections.abc import Callable

# A wait status saying "exited with code 1": what a job counts as when it failed without a
# status of its own (a child reaped by someone else, a failed BGSAVE thread).
FAILED_STATUS = 1 << 8


def fork_child(work: Callable[[], None]) -> int:
    """Fork and run ``work`` in the child, which exits 0 when it returns and 1 on any
    exception; returns the child's pid in the parent. OSError when the fork fails."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into the event loop
        code = 1
        try:
            work()
            code = 0
        except BaseException:  # noqa: BLE001  (the child must always _exit)
            code = 1
        finally:
            os._exit(code)
    return pid


def kill_child(pid: int) -> None:
    """SIGKILL the child and reap it; a child already gone is not an error."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass


def poll_child(pid: int) -> int | None:
    """The child's wait status once it has exited, else None (still running)."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return FAILED_STATUS
    return status if done else None
