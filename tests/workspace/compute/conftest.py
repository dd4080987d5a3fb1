"""Fixtures of compute's model unit tests (see :mod:`tests.workspace.compute.kit`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.workspace.compute.kit import make_shared

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.shared import Shared


@pytest.fixture
def shared(tmp_path: Path, clock: ManualClock) -> Shared:
    return make_shared(tmp_path / "ws", clock)


@pytest.fixture
def clusters(shared: Shared) -> Clusters:
    return Clusters(shared)
