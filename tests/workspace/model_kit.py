"""The model unit tests' kit (fixtures in ``tests/workspace/conftest.py``): a workspace with a manual clock,
no ticker thread, no HTTP, scripted task processes.

Time moves only through ``ws.step(ms)``, so a ten-minute auto-termination is one call; task processes are
:class:`ScriptedProcess` objects the test ends when it wants (the kernel itself is tested through HTTP by
the conformance suite).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.config import WorkspaceConfig
from airbricks.workspace.core import Workspace
from airbricks.workspace.shared import Shared
from airbricks.workspace.store import Store

START_MS = 2_000
STOP_MS = 500


class ScriptedProcess:
    """Stands in for a task's kernel process: alive until :meth:`finish`; records kills."""

    pid = 0
    pgid = 0

    def __init__(self, directory: Path, spec: dict[str, Any]) -> None:
        self.directory = directory
        self.spec = spec
        self.outcome: dict[str, Any] | None = None
        self.killed = False

    def finish(self, status: str = "SUCCESS", **fields: Any) -> None:
        self.outcome = {"status": status, **fields}

    def poll(self) -> dict[str, Any] | None:
        return self.outcome

    def kill(self) -> None:
        self.killed = True

    def reaped(self) -> bool:
        return True


class Processes(list):
    def launch(self, directory: Path, spec: dict[str, Any]) -> ScriptedProcess:
        proc = ScriptedProcess(directory, spec)
        self.append(proc)
        return proc


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def procs() -> Processes:
    return Processes()


def unit_config(data_dir: Path, **settings: Any) -> WorkspaceConfig:
    """The unit tests' settings: a fixed token, clusters that start in START_MS and stop in STOP_MS."""
    return WorkspaceConfig(
        data_dir=data_dir,
        token="dapi-unit",
        cluster_start_seconds=START_MS / 1000,
        cluster_stop_seconds=STOP_MS / 1000,
        **settings,
    )


def make_shared(data_dir: Path, clock: ManualClock, **settings: Any) -> Shared:
    """What one model needs to be built alone (no workspace): settings, a store under ``data_dir``, the clock."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return Shared(
        config=unit_config(data_dir, **settings),
        data_dir=data_dir,
        store=Store(data_dir / "state.db"),
        clock=clock,
        workspace_id="1",
    )


@pytest.fixture
def shared(tmp_path: Path, clock: ManualClock) -> Iterator[Shared]:
    built = make_shared(tmp_path / "data", clock)
    yield built
    built.store.close()


def make_workspace(data_dir: Path, clock: ManualClock, procs: Processes, **settings: Any) -> Workspace:
    ws = Workspace(unit_config(data_dir, **settings), clock=clock, launch=procs.launch)
    ws.start(ticker=False)
    return ws


@pytest.fixture
def ws(tmp_path: Path, clock: ManualClock, procs: Processes) -> Iterator[Workspace]:
    workspace = make_workspace(tmp_path / "ws", clock, procs)
    yield workspace
    workspace.stop()


SPEC = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
