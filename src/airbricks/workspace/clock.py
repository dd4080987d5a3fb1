"""Time for the local workspace's models, injectable so state machines can be tested without waiting.

Every model reads time through one :class:`Clock` (``now_ms()``: epoch milliseconds, as the API reports
times). The server uses :class:`SystemClock`; unit tests use :class:`ManualClock` and step the workspace
with :meth:`airbricks.workspace.core.Workspace.step`, so a 10-minute auto-termination takes no real time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock time (deadlines are absolute, so they survive a restart of the server)."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)


class ManualClock:
    """A clock that moves only when told to: :meth:`advance` or :meth:`set`."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, ms: float) -> int:
        with self._lock:
            self._now += int(ms)
            return self._now

    def set(self, now_ms: int) -> None:
        with self._lock:
            self._now = int(now_ms)
