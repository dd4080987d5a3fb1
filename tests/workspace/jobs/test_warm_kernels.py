"""Warm kernels: a run's process taken from processes started ahead, given its run over a pipe, one run each.

The real kernel module runs here (a warm one imports pyspark's Connect client if installed, ~2 s); the Spark side,
a notebook seeing the imports already done, is in tests/spark/test_pools.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from airbricks.workspace.jobs.process import TaskProcess, WarmKernels
from airbricks.workspace.kernel.channel import TOKEN_ENV, URL_ENV


def _wait(what: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_which_runs_fit_a_warm_kernel(tmp_path: Path) -> None:
    channel = {URL_ENV: "http://127.0.0.1:1", TOKEN_ENV: "t"}
    assert WarmKernels.fits({"kind": "notebook"}, channel)
    assert WarmKernels.fits({"kind": "python", "cluster_site": str(tmp_path / "none")}, channel)
    assert not WarmKernels.fits({"kind": "spark_submit"}, channel)  # runs a JVM: nothing to import ahead
    assert not WarmKernels.fits({"kind": "notebook", "libraries": [{"pypi": {"package": "x"}}]}, channel)
    (tmp_path / "site" / "pkg").mkdir(parents=True)  # the cluster's installed libraries: maybe another pandas
    assert not WarmKernels.fits({"kind": "notebook", "cluster_site": str(tmp_path / "site")}, channel)
    assert not WarmKernels.fits({"kind": "notebook"}, {**channel, "TZ": "UTC"})  # spark_env_vars: read at import


def test_a_run_takes_a_ready_kernel_with_its_directory_and_log_and_it_is_never_reused(tmp_path: Path) -> None:
    kernels = WarmKernels(1, tmp_path / "kernels")
    try:
        script = tmp_path / "job.py"
        script.write_text("import os, sys\nprint('hello from', os.getpid(), os.getcwd(), sys.argv[1])\n")
        spec = {
            "kind": "python",
            "python_file": str(script),
            "argv": ["arg"],
            "dbfs_root": str(tmp_path / "dbfs"),
            "volumes_root": str(tmp_path / "volumes"),
        }
        pids = []
        for n in range(2):
            kernels.refill()
            _wait(lambda: kernels.idle_count() == 1)
            directory = tmp_path / f"run{n}"
            taken = TaskProcess(directory, spec, env={URL_ENV: "http://127.0.0.1:1", TOKEN_ENV: "t"}, kernels=kernels)
            assert taken.warm and kernels.idle_count() == 0
            _wait(lambda t=taken: t.poll() is not None)
            assert taken.poll() == {"status": "SUCCESS", "result": None, "truncated": False}
            assert f"hello from {taken.pid} {directory} arg" in (directory / "output.log").read_text()
            pids.append(taken.pid)
        assert pids[0] != pids[1]  # one run per kernel
        kernels.refill()
        idle = kernels._idle[0]
    finally:
        kernels.shutdown()
    assert idle.poll() is not None  # an idle kernel does not outlive the pool
