"""One isolated process per task run: spawn it, watch it without blocking, kill its whole process group.

The process is :mod:`airbricks.workspace.kernel.task` in its own session (so a cancel kills everything it
started), with its spec, outcome and log in ``<data dir>/runs/<task run id>/``. :meth:`TaskProcess.poll`
is called from the ticker and never waits.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from airbricks.utils.processes import dying_with_parent
from airbricks.workspace.kernel.channel import environment as channel_environment
from airbricks.workspace.storage import paths

SPEC = "spec.json"
OUTCOME = "result.json"
LOG = "output.log"
#: A jar or submit task's ``spark-submit`` command reaches its kernel in this environment variable (JSON), not in
#: the spec file of the data dir: its ``--conf`` values may be secrets. The kernel moves them into a 0600 file.
COMMAND_ENV = "AIRBRICKS_SUBMIT_COMMAND"
#: How much of the log tail explains a process that died without writing its outcome.
LOG_TAIL_BYTES = 4000
#: The kernel's argument for a warm start: import, then wait for a run's order on stdin.
WARM_FLAG = "--warm"


def run_dir(data_dir: Path, task_run_id: int) -> Path:
    return data_dir / "runs" / str(task_run_id)


class TaskProcess:
    """A running kernel process for one task run."""

    def __init__(
        self,
        directory: Path,
        spec: dict[str, Any],
        python: str | None = None,
        env: dict[str, str] | None = None,
        kernels: WarmKernels | None = None,
    ) -> None:
        """``env``: added to the process's environment only (never written down: it may carry the run's token).
        ``kernels``: where a warm kernel is taken from when the run can use one (:meth:`WarmKernels.fits`)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.outcome_path = directory / OUTCOME
        if self.outcome_path.exists():
            self.outcome_path.unlink()
        spec = {**spec, "result_path": str(self.outcome_path)}
        # spark-submit's --conf values may be secrets: they go in the process's environment, not the data dir
        command = spec.pop("command", None)
        paths.atomic_write(directory / SPEC, json.dumps(spec).encode())
        warm = kernels.take(directory, spec, env or {}) if kernels is not None and command is None else None
        if warm is not None:
            self.popen = warm
            self.pid = self.pgid = warm.pid
            self.warm = True
            return
        self.warm = False
        env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        if command is not None:
            env[COMMAND_ENV] = json.dumps(command)
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
        """The outcome once the kernel has written it, or once the process has exited without one; else None
        (never blocks). Writing the outcome is a kernel's last act (atomically, after its output): its
        interpreter's exit after that (a few hundred ms with gRPC and pandas loaded) is cut short by the kill that
        ends every run, as a notebook on Databricks never waits for a process to exit either."""
        code = self.popen.poll()
        try:
            return json.loads(self.outcome_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if code is None:
                return None
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


class WarmKernels:
    """Kernel processes started ahead of runs, each having imported what every run needs (pyspark's Connect
    client, pandas, the kernel and its dbutils: ~2 s of a Spark notebook run's start on a small machine), then
    waiting for one run's order on its stdin. A kernel serves one run and exits with it: never reused, so a run
    never sees another's state. The pool refills from the ticker (the thread the kernels die with, as the server
    does); a kernel that is idle when the server stops is killed with it.

    A run whose process would differ from a warm one takes none and starts cold: its own libraries or the
    cluster's (modules the warm kernel may have imported in another version), or variables of the cluster's
    ``spark_env_vars`` (read by libraries at import).
    """

    def __init__(self, size: int, directory: Path, python: str | None = None) -> None:
        self.size = size
        self.directory = directory
        self.python = python or sys.executable
        self._idle: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.taken = 0

    def refill(self) -> None:
        """Start kernels up to the pool's size (called by the ticker; a spawn takes milliseconds)."""
        with self._lock:
            self._idle = [p for p in self._idle if p.poll() is None]
            while not self._closed and len(self._idle) < self.size:
                self.directory.mkdir(parents=True, exist_ok=True)
                env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
                command, preexec = dying_with_parent([self.python, "-m", "airbricks.workspace.kernel.task", WARM_FLAG])
                self._idle.append(
                    subprocess.Popen(
                        command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,  # "ready" once imported; then the run's log
                        stderr=subprocess.DEVNULL,
                        cwd=str(self.directory),
                        start_new_session=True,
                        env=env,
                        close_fds=True,
                        preexec_fn=preexec,
                    )
                )

    def idle_count(self) -> int:
        """Kernels ready to take (their imports done)."""
        with self._lock:
            return sum(self._ready(k) for k in self._idle)

    @staticmethod
    def _ready(kernel: subprocess.Popen[bytes]) -> bool:
        if kernel.poll() is not None or kernel.stdout is None:
            return False
        return bool(select.select([kernel.stdout], [], [], 0)[0])

    @staticmethod
    def fits(spec: dict[str, Any], env: dict[str, str]) -> bool:
        if spec.get("kind") not in ("notebook", "python") or spec.get("libraries"):
            return False
        site = spec.get("cluster_site")
        if site and Path(site).is_dir() and any(Path(site).iterdir()):
            return False
        return set(env) <= set(channel_environment("", ""))

    def take(self, directory: Path, spec: dict[str, Any], env: dict[str, str]) -> subprocess.Popen[bytes] | None:
        """A warm kernel, given this run (its spec, log, directory and environment on its stdin); None: none
        idle, or the run does not fit one."""
        if not self.fits(spec, env):
            return None
        with self._lock:
            for kernel in [k for k in self._idle if self._ready(k)]:
                self._idle.remove(kernel)
                if kernel.stdout is not None:
                    kernel.stdout.close()
                if kernel.poll() is not None or kernel.stdin is None:
                    continue
                order = {"spec": str(directory / SPEC), "log": str(directory / LOG), "cwd": str(directory), "env": env}
                try:  # a pipe, never a file or a command line: the environment holds the run's token
                    kernel.stdin.write(json.dumps(order).encode() + b"\n")
                    kernel.stdin.close()
                except OSError:
                    kill_group(kernel.pid)
                    continue
                self.taken += 1
                return kernel
        return None

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for kernel in idle:
            kill_group(kernel.pid)
            kernel.wait(timeout=10)
            for pipe in (kernel.stdin, kernel.stdout):
                if pipe is not None:
                    pipe.close()


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
