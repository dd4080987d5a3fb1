"""What compute's model unit tests build: a :class:`Shared` on the manual clock and the clusters model with no
engine (a cluster is RUNNING once its start time is up), nothing else of the workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.workspace.model_kit import SPEC, START_MS

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.compute.clusters import Clusters


def step(clusters: Clusters, clock: ManualClock, ms: int) -> None:
    """Move the clock and let the clusters' lifecycle see it (what the workspace's ticker does)."""
    clock.advance(ms)
    clusters.tick(clock.now_ms())


def running_cluster(clusters: Clusters, clock: ManualClock) -> str:
    cluster_id = clusters.create(dict(SPEC))
    step(clusters, clock, START_MS)
    assert clusters.state(cluster_id) == "RUNNING"
    return cluster_id


def eventually(check: Callable[[], Any], timeout: float = 10) -> Any:
    """The first truthy answer of ``check`` (for what a thread or a process does), polled every 10 ms."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return answer


class LocalFiles:
    """Stands in for the workspace's storage paths: every path is a file under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_file(self, path: str, *, field: str = "path") -> Path:
        return self.root / path.replace(":", "").lstrip("/")

    def roots(self) -> dict[str, Any]:
        return {"dbfs_root": str(self.root), "volumes_root": str(self.root), "workspace_root": str(self.root)}
