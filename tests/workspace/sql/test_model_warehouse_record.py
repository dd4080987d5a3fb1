"""The warehouse record: what ``get`` shows, how it is stored, and that warehouses stored by earlier versions (flat
documents with ``_``-prefixed lifecycle keys) still load, on a manual clock with scripted drivers."""

from __future__ import annotations

from typing import Any

from tests.workspace.model_kit import START_MS
from tests.workspace.sql.kit import Drivers

from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.sql.warehouse import Warehouse
from airbricks.workspace.sql.warehouses import WAREHOUSE_KIND, Warehouses

#: A RUNNING warehouse as the previous code stored it: the public document with its lifecycle keys inside.
OLD_DOC: dict[str, Any] = {
    "id": "00aa11bb22cc33dd",
    "creator_name": "someone@example.com",
    "_created": 1_000,
    "name": "legacy",
    "cluster_size": "Small",
    "auto_stop_mins": 120,
    "state": "STOPPED",
    "health": {},
    "_last_activity": 2_000,
    "_state_time": 3_000,
    "_ready_at": 4_000,
    "_start_after_stop": True,
}


def test_an_old_flat_document_loads_and_get_shows_no_lifecycle_key(ws: Workspace) -> None:
    ws.store.put(WAREHOUSE_KIND, OLD_DOC["id"], OLD_DOC)
    warehouses = Warehouses(ws.shared, engine=Drivers())
    warehouses.recover()
    doc = warehouses.get(OLD_DOC["id"])
    assert not [key for key in doc if key.startswith("_")]
    assert list(doc)[:8] == [
        "id",
        "creator_name",
        "name",
        "cluster_size",
        "auto_stop_mins",
        "state",
        "health",
        "odbc_params",
    ]
    assert (doc["state"], doc["num_clusters"], doc["num_active_sessions"]) == ("STOPPED", 0, 0)
    record = Warehouse.from_store(OLD_DOC)
    assert (record.created, record.last_activity, record.state_time, record.ready_at) == (1_000, 2_000, 3_000, 4_000)
    assert record.start_after_stop and record.launch_failure is None


def test_the_stored_record_round_trips_with_its_launch_failure(ws: Workspace) -> None:
    engine = Drivers(capacity=0)
    warehouses = Warehouses(ws.shared, engine=engine)
    ident = warehouses.create({"name": "full"})
    stored = ws.store.get(WAREHOUSE_KIND, ident)
    assert stored is not None and not [key for key in stored["doc"] if key.startswith("_")]
    record = Warehouse.from_store(stored)
    assert record.launch_failure == TerminationReason.error(
        "CLOUD_PROVIDER_RESOURCE_STOCKOUT", "at most 1 Spark drivers", type_="CLOUD_FAILURE"
    )
    assert Warehouse.from_store(record.to_store()) == record


def test_a_warehouse_running_when_the_server_stopped_starts_again_after_recover(ws: Workspace) -> None:
    engine = Drivers()
    first = Warehouses(ws.shared, engine=engine)
    ident = first.create({"name": "again"})
    engine.ready(ident)
    ws.clock.advance(START_MS)
    first.tick(ws.clock.now_ms())
    assert first.get(ident)["state"] == "RUNNING"
    second = Warehouses(ws.shared, engine=Drivers())
    second.recover()
    assert second.get(ident)["state"] == "STARTING" and second.get(ident)["health"] == {}


def test_busy_counts_as_an_active_session_only_while_running(ws: Workspace) -> None:
    engine = Drivers()
    asked: list[str] = []

    def busy(warehouse_id: str) -> bool:
        asked.append(warehouse_id)
        return True

    warehouses = Warehouses(ws.shared, engine=engine, is_busy=busy)
    ident = warehouses.create({"name": "busy"})
    assert warehouses.get(ident)["num_active_sessions"] == 0 and asked == []  # STARTING: not asked
    engine.ready(ident)
    ws.clock.advance(START_MS)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["num_active_sessions"] == 1


def test_on_running_and_on_down_are_told(ws: Workspace) -> None:
    engine = Drivers()
    told: list[tuple[str, str]] = []
    warehouses = Warehouses(
        ws.shared,
        engine=engine,
        on_running=lambda ident: told.append(("running", ident)),
        on_down=lambda ident: told.append(("down", ident)),
    )
    ident = warehouses.create({"name": "hooks"})
    engine.ready(ident)
    ws.clock.advance(START_MS)
    warehouses.tick(ws.clock.now_ms())
    warehouses.stop(ident)
    assert told == [("running", ident), ("down", ident)]


def test_list_is_oldest_first(ws: Workspace) -> None:
    warehouses = Warehouses(ws.shared, engine=Drivers())
    ids = []
    for name in ("a", "b", "c"):
        ids.append(warehouses.create({"name": name}))
        ws.clock.advance(10)
    assert [w["id"] for w in warehouses.list()] == ids


def test_a_size_that_is_not_a_string_is_refused_naming_the_field(ws: Workspace) -> None:
    """JSON lets a client send any shape; an object or array as ``cluster_size`` is bad input, not a server error."""
    warehouses = Warehouses(ws.shared, engine=Drivers())
    for size in (["Small"], {"Small": 1}, 2):
        try:
            warehouses.create({"name": f"bad-{type(size).__name__}", "cluster_size": size})
        except InvalidParameterValue as err:
            assert "cluster_size" in str(err)
        else:
            raise AssertionError(f"cluster_size {size!r} was accepted")
