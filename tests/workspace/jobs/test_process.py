"""Leftover kernels: after a restart, ``kill_leftover`` kills the kernel a previous server left for a task run -
under the kernel's module name now or before the restructure - and never a process that is not that run's."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airbricks.workspace.jobs.process import SPEC, kill_leftover


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _kernel_like(procs: list[subprocess.Popen[bytes]], module: str, spec: Path) -> subprocess.Popen[bytes]:
    """A harmless sleeper whose command line reads like a kernel's: ``... -m <module> <dir>/spec.json``."""
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "-m", module, str(spec)]
    proc = subprocess.Popen(argv, start_new_session=True)
    procs.append(proc)
    deadline = time.monotonic() + 10
    while str(spec).encode() not in Path(f"/proc/{proc.pid}/cmdline").read_bytes():  # exec'd: argv is in place
        assert time.monotonic() < deadline, "the process never showed its command line"
        time.sleep(0.01)
    return proc


def _ended(proc: subprocess.Popen[bytes]) -> bool:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return True


@pytest.mark.parametrize("module", ["airbricks.workspace.kernel", "airbricks.workspace.kernel.task"])
def test_a_leftover_kernel_of_the_run_is_killed(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], module: str
) -> None:
    proc = _kernel_like(started, module, tmp_path / SPEC)
    kill_leftover(proc.pid, proc.pid, tmp_path)
    assert _ended(proc) and proc.returncode == -9


def test_a_kernel_of_another_run_is_not_killed(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    mine, other = tmp_path / "1001", tmp_path / "1002"
    proc = _kernel_like(started, "airbricks.workspace.kernel", other / SPEC)
    kill_leftover(proc.pid, proc.pid, mine)
    time.sleep(0.2)
    assert proc.poll() is None  # still running: its spec names another run's directory


def test_a_process_that_is_no_kernel_is_not_killed(tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    proc = _kernel_like(started, "some.other.module", tmp_path / SPEC)
    kill_leftover(proc.pid, proc.pid, tmp_path)
    time.sleep(0.2)
    assert proc.poll() is None
