"""One isolated process per task run: spawn it, watch it without blocking, kill its whole process group.

The process is :mod:`airbricks.workspace.kernel.task` in its own session (so a cancel kills everything it
started), with its spec, outcome and log in ``<data dir>/runs/<task run id>/``. :meth:`TaskProcess.poll`
is called from the ticker and never waits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from airbricks.workspace.storage import paths

SPEC = "spec.json"
OUTCOME = "result.json"
LOG = "output.log"
#: A jar or submit task's ``spark-submit`` command reaches its kernel in this environment variable (JSON), not in
#: the spec file of the data dir: its ``--conf`` values may be secrets. The kernel moves them into a 0600 file.
COMMAND_ENV = "AIRBRICKS_SUBMIT_COMMAND"
#: How much of the log tail explains a process that died without writing its outcome.
LOG_TAIL_BYTES = 4000


def run_dir(data_dir: Path, task_run_id: int) -> Path:
    return data_dir / "runs" / str(task_run_id)


class TaskProcess:
    """A running kernel process for one task run."""

    def __init__(
        self, directory: Path, spec: dict[str, Any], python: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        """``env``: added to the process's environment only (never written down: it may carry the run's token)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.outcome_path = directory / OUTCOME
        if self.outcome_path.exists():
            self.outcome_path.unlink()
        spec = {**spec, "result_path": str(self.outcome_path)}
        env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        if "command" in spec:  # spark-submit's --conf values may be secrets: the environment, not the data dir
            env[COMMAND_ENV] = json.dumps(spec.pop("command"))
        paths.atomic_write(directory / SPEC, json.dumps(spec).encode())
        with open(directory / LOG, "ab") as log:
            self.popen = subprocess.Popen(
                [python or sys.executable, "-m", "airbricks.workspace.kernel.task", str(directory / SPEC)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(directory),
                start_new_session=True,
                env=env,
                close_fds=True,
            )
        self.pid = self.popen.pid
        self.pgid = self.popen.pid  # start_new_session: the child leads its own group

    def poll(self) -> dict[str, Any] | None:
        """The outcome once the process has exited (never blocks), else None."""
        code = self.popen.poll()
        if code is None:
            return None
        try:
            return json.loads(self.outcome_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = log_tail(self.directory)
            reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            return {
                "status": "FAILED",
                "error": f"The Python process of this run ended without a result ({reason}).",
                "error_trace": tail,
            }

    def kill(self) -> None:
        """Kill the whole process group; the zombie is reaped by a later :meth:`poll`."""
        kill_group(self.pgid)

    def reaped(self) -> bool:
        return self.popen.poll() is not None


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


#: The kernel's module as ``python -m`` names it, now and before the workspace's packages were laid out per
#: service (``airbricks.workspace.kernel``, until release 0.2): a kernel started before an upgrade is still ours.
KERNEL_MODULES = (b"airbricks.workspace.kernel.task", b"airbricks.workspace.kernel")


def kill_leftover(pid: int | None, pgid: int | None, directory: Path) -> None:
    """Kill a kernel left by a previous server process, only if that pid still is our kernel for this run
    (pids get reused; never kill a stranger)."""
    if not pid or not pgid:
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if any(name in cmdline for name in KERNEL_MODULES) and str(directory / SPEC).encode() in cmdline:
        kill_group(pgid)


def log_tail(directory: Path) -> str:
    try:
        with open(directory / LOG, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL_BYTES))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
