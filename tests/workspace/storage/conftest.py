"""Fixtures of the storage model tests: a :class:`Shared` over a fresh data dir and store, on the manual clock
(each test builds the one model it tests over it: no workspace, no HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.config import WorkspaceConfig
from airbricks.workspace.shared import Shared
from airbricks.workspace.store import Store


@pytest.fixture
def shared(tmp_path: Path, clock: ManualClock) -> Iterator[Shared]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = Store(data_dir / "state.db")
    yield Shared(
        config=WorkspaceConfig(data_dir=data_dir, token="dapi-unit"),
        data_dir=data_dir,
        store=store,
        clock=clock,
        workspace_id="1234567890",
    )
    store.close()
