"""Secret values redacted from a task run's output *as it is written*, in the run's own process.

The workspace redacts a run's files when the run ends (:mod:`airbricks.workspace.jobs.redaction`), but until
then ``output.log`` would hold what the notebook printed, and a server killed mid-run would leave it so. So the
kernel writes its own log through a redacting pump: file descriptors 1 and 2 (``print``, tracebacks, and every
child process that inherits them, spark-submit included) go into a pipe, and a thread of the kernel copies
the pipe into ``output.log`` with every known secret value replaced by ``[REDACTED]``. The values are the
cluster's resolved ``{{secrets/...}}`` (the workspace hands them over in :data:`VALUES_ENV`, taken out of the
environment at start-up like the run's token) and every value ``dbutils.secrets`` returns (:func:`note_read`).
The cells file and the outcome the kernel writes pass through :func:`data` too.

A value split by the writer across two writes more than :data:`IDLE_FLUSH_SECONDS` apart is the one case the
pump cannot join; anything that could still be the start of a value is held back until then.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import sys
import threading
from typing import Any

#: The environment variable carrying the cluster's secret values to the kernel (a JSON list; popped at start).
VALUES_ENV = "AIRBRICKS_REDACT_VALUES"
#: How long the pump holds back a possible start of a secret value when nothing more arrives.
IDLE_FLUSH_SECONDS = 1.0
#: What a value becomes (as :data:`airbricks.workspace.jobs.redaction.REDACTED`; the kernel imports no jobs module).
_REPLACEMENT = b"[REDACTED]"
_lock = threading.Lock()
_values: list[bytes] = []


def note_read(value: bytes | str) -> None:
    """The run's code now knows this value: redact it from everything written from here on."""
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not raw:
        return
    with _lock:
        if raw not in _values:
            _values.append(raw)
            _values.sort(key=len, reverse=True)  # a value containing another is replaced whole


def from_environment() -> None:
    """Take the cluster's secret values out of the environment (the notebook's children do not inherit them)."""
    for value in json.loads(os.environ.pop(VALUES_ENV, "") or "[]"):
        note_read(str(value))


def redact(data: bytes) -> bytes:
    with _lock:
        values = list(_values)
    for value in values:
        if value in data:
            data = data.replace(value, _REPLACEMENT)
    return data


def text(value: str) -> str:
    return redact(value.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


def data(value: Any) -> Any:
    """A JSON-like value with every string (keys too) redacted."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(k) if isinstance(k, str) else k: data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [data(v) for v in value]
    return value


def _held(buffer: bytes) -> int:
    """How many bytes at the end of ``buffer`` could be the start of a secret value (kept for the next read)."""
    with _lock:
        values = list(_values)
    longest = 0
    for value in values:
        for size in range(min(len(value) - 1, len(buffer)), longest, -1):
            if value.startswith(buffer[-size:]):
                longest = size
                break
    return longest


class OutputPump:
    """Descriptors 1 and 2 into a pipe; a thread writes the pipe, redacted, to the log they pointed at."""

    def __init__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._log = os.dup(1)  # output.log, opened by the workspace for appending
        self._read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._thread = threading.Thread(target=self._pump, daemon=True, name="airbricks-output")
        self._thread.start()
        atexit.register(self.close)  # an uncaught exception's traceback still reaches the log

    def _pump(self) -> None:
        pending = b""
        while True:
            ready, _, _ = select.select([self._read], [], [], IDLE_FLUSH_SECONDS)
            if not ready:
                if pending:  # nothing more came: what was held back is not a secret after all
                    self._write(redact(pending))
                    pending = b""
                continue
            chunk = os.read(self._read, 65536)
            if not chunk:
                break
            pending = redact(pending + chunk)
            keep = _held(pending)
            self._write(pending[: len(pending) - keep])
            pending = pending[len(pending) - keep :]
        if pending:
            self._write(redact(pending))
        os.close(self._read)

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self._log, data) :]

    def close(self, timeout: float = 5.0) -> None:
        """Put 1 and 2 back on the log and wait for the pump to drain the pipe (children may still hold it)."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._log, 1)
        os.dup2(self._log, 2)
        self._thread.join(timeout)
