"""The Unity Catalog model on a manual clock, no HTTP: names, defaults, volumes that must exist, cascades,
and the metadata a previous version's volume folders are adopted with."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.workspace.model_kit import Processes, make_workspace

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import (
    CatalogAlreadyExists,
    InvalidParameterValue,
    NotFound,
    ResourceDoesNotExist,
    SchemaDoesNotExist,
)


def test_a_new_workspace_has_main_default_and_names_are_lower_case(ws: Workspace) -> None:
    uc = ws.catalog
    assert [c["name"] for c in uc.list_catalogs()] == ["main"]
    assert [s["name"] for s in uc.list_schemas("main")] == ["default", "information_schema"]
    uc.create_catalog("Sales")
    assert uc.get_catalog("SALES")["name"] == "sales"
    with pytest.raises(CatalogAlreadyExists):
        uc.create_catalog("sales")
    with pytest.raises(InvalidParameterValue, match="cannot contain"):
        uc.create_schema("sales", "a b")
    with pytest.raises(SchemaDoesNotExist, match="Schema 'sales.raw' does not exist"):
        uc.get_schema("sales.raw")
    with pytest.raises(InvalidParameterValue, match="system schema"):
        uc.delete_schema("sales.information_schema")


def test_volume_paths_need_the_volume_and_deleting_the_schema_takes_them(ws: Workspace, clock: ManualClock) -> None:
    uc = ws.catalog
    with pytest.raises(NotFound, match="Volume 'main.default.v' does not exist"):
        uc.require_volume("/Volumes/main/default/v/x.csv")
    clock.advance(5_000)
    doc = uc.create_volume("main", "default", "v", "MANAGED")
    assert doc["created_at"] == clock.now_ms() and doc["storage_location"].startswith("file://")
    uc.require_volume("/Volumes/MAIN/default/v/x.csv")  # case-insensitive, as Unity Catalog is
    assert (ws.volumes.root / "main" / "default" / "v").is_dir()
    with pytest.raises(InvalidParameterValue, match="is not empty"):
        uc.delete_schema("main.default")
    uc.delete_schema("main.default", force=True)
    with pytest.raises(ResourceDoesNotExist):
        uc.get_volume("main.default.v")
    assert not (ws.volumes.root / "main" / "default").exists()


def test_auto_create_and_adopted_folders(tmp_path: Path, clock: ManualClock, procs: Processes) -> None:
    (tmp_path / "ws" / "volumes" / "old" / "raw" / "landing").mkdir(parents=True)  # left by an older version
    ws = make_workspace(tmp_path / "ws", clock, procs, auto_create_volumes=True)
    try:
        assert ws.catalog.get_volume("old.raw.landing")["volume_type"] == "MANAGED"
        ws.catalog.require_volume("/Volumes/new/s/v/file")
        assert ws.catalog.get_volume("new.s.v")["full_name"] == "new.s.v"
        assert [s["name"] for s in ws.catalog.list_schemas("new")] == ["default", "information_schema", "s"]
    finally:
        ws.stop()
