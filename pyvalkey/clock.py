"""The server's one clock.

Everything that reads time (expiry, TTL replies, idle times, timeouts, blocking deadlines, stream
IDs) asks this object, so tests can freeze time or move it forward. ``offset`` shifts wall time;
``frozen_at`` pins it.
"""

from __future__ import annotations

import time
from typing import Optional


class Clock:
    __slots__ = ("offset_ns", "frozen_at_ns")

    def __init__(self) -> None:
        self.offset_ns = 0
        self.frozen_at_ns: Optional[int] = None

    def time_ns(self) -> int:
        if self.frozen_at_ns is not None:
            return self.frozen_at_ns
        return time.time_ns() + self.offset_ns

    def ms(self) -> int:
        return self.time_ns() // 1_000_000

    def us(self) -> int:
        return self.time_ns() // 1_000

    def seconds(self) -> float:
        return self.time_ns() / 1e9

    def advance(self, seconds: float) -> None:
        delta = int(seconds * 1e9)
        if self.frozen_at_ns is not None:
            self.frozen_at_ns += delta
        else:
            self.offset_ns += delta

    def freeze(self) -> None:
        self.frozen_at_ns = self.time_ns()

    def resume(self) -> None:
        if self.frozen_at_ns is not None:
            self.offset_ns = self.frozen_at_ns - time.time_ns()
            self.frozen_at_ns = None
