"""SQL warehouse model: lifecycle, auto-stop, capacity, validation, and the no-Spark answer, on a manual clock.

:class:`ScriptedEngine` stands in for the Spark engine's driver processes (as ScriptedProcess stands in for
kernels): a launched driver is STARTING until the test calls :meth:`ScriptedEngine.ready`. The real engine is
exercised by tests/spark/test_sql.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.workspace.model_kit import START_MS

from airbricks.workspace.compute.engine import CapacityExceeded, DriverReport, DriverState
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, NotFound, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.params import Params
from airbricks.workspace.sql.statements import WAIT_TIMEOUT_MESSAGE, Statements, wait_seconds
from airbricks.workspace.sql.warehouses import Warehouses


class ScriptedEngine:
    """Drivers the test moves by hand: launch -> STARTING, :meth:`ready` -> READY, stop -> STOPPED."""

    drivers_die_with_server = True
    runs_spark = True

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self.drivers: dict[str, DriverState] = {}
        self.launches: list[dict[str, Any]] = []

    def launch(self, ident: str, doc: dict[str, Any]) -> None:
        live = [s for s in self.drivers.values() if s in (DriverState.STARTING, DriverState.READY)]
        if len(live) >= self.capacity:
            raise CapacityExceeded(
                TerminationReason.error("CLOUD_PROVIDER_RESOURCE_STOCKOUT", "at most 1 Spark drivers", "CLOUD_FAILURE")
            )
        self.drivers[ident] = DriverState.STARTING
        self.launches.append(doc)

    def ready(self, ident: str) -> None:
        self.drivers[ident] = DriverState.READY

    def report(self, ident: str) -> DriverReport:
        state = self.drivers.get(ident, DriverState.STOPPED)
        return DriverReport(state, remote="sc://127.0.0.1:1" if state is DriverState.READY else None)

    def stop(self, ident: str) -> None:
        self.drivers[ident] = DriverState.STOPPED

    kill = stop


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def warehouses(ws: Workspace, engine: ScriptedEngine) -> Warehouses:
    return Warehouses(ws.shared, engine=engine)


def _started(ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine, **spec: Any) -> str:
    ident = warehouses.create({"name": f"wh-{len(engine.launches)}", **spec})
    engine.ready(ident)
    ws.clock.advance(START_MS)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "RUNNING"
    return ident


def test_create_starts_and_runs_once_the_driver_answers(
    ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine
) -> None:
    ident = warehouses.create({"name": "reports", "cluster_size": "2X-Small"})
    doc = warehouses.get(ident)
    assert doc["state"] == "STARTING" and doc["auto_stop_mins"] == 120 and doc["warehouse_type"] == "CLASSIC"
    assert doc["odbc_params"]["path"] == f"/sql/1.0/warehouses/{ident}"
    assert engine.launches[0]["num_workers"] == 1  # 2X-Small: one local core
    ws.clock.advance(START_MS)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "STARTING"  # the driver does not answer yet
    engine.ready(ident)
    warehouses.tick(ws.clock.now_ms())
    doc = warehouses.get(ident)
    assert (doc["state"], doc["health"], doc["num_clusters"]) == ("RUNNING", {"status": "HEALTHY"}, 1)


def test_stop_start_and_delete(ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine) -> None:
    ident = _started(ws, warehouses, engine)
    warehouses.stop(ident)
    assert warehouses.get(ident)["state"] == "STOPPING"
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "STOPPED"
    warehouses.start(ident)
    assert warehouses.get(ident)["state"] == "STARTING" and len(engine.launches) == 2
    warehouses.delete(ident)
    assert warehouses.get(ident)["state"] == "DELETED"
    assert ident not in [w["id"] for w in warehouses.list()]
    with pytest.raises(ResourceDoesNotExist):
        warehouses.delete(ident)


def test_auto_stop_after_idle_minutes_unless_busy(
    ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine
) -> None:
    busy = {"flag": True}
    warehouses.is_busy = lambda _ident: busy["flag"]
    ident = _started(ws, warehouses, engine, auto_stop_mins=10)
    minute_ms = ws.config.seconds_per_minute * 1000
    ws.clock.advance(11 * minute_ms)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "RUNNING"  # a statement runs: never idle
    busy["flag"] = False
    ws.clock.advance(9 * minute_ms)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "RUNNING"
    ws.clock.advance(1 * minute_ms)
    warehouses.tick(ws.clock.now_ms())
    assert warehouses.get(ident)["state"] == "STOPPING"


def test_a_start_beyond_capacity_ends_stopped_with_the_reason(
    ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine
) -> None:
    engine.capacity = 1
    _started(ws, warehouses, engine)
    second = warehouses.create({"name": "second"})
    warehouses.tick(ws.clock.now_ms())
    doc = warehouses.get(second)
    assert doc["state"] == "STOPPED" and doc["health"]["status"] == "FAILED"
    assert doc["health"]["failure_reason"]["code"] == "CLOUD_PROVIDER_RESOURCE_STOCKOUT"


def test_without_spark_a_start_fails_naming_the_extra(ws: Workspace) -> None:
    ident = ws.warehouses.create({"name": "no-spark"})  # the workspace's own engine: NoEngine (spark off)
    ws.step(START_MS)
    doc = ws.warehouses.get(ident)
    assert doc["state"] == "STOPPED" and doc["health"]["status"] == "FAILED"
    assert "airbricks[spark]" in doc["health"]["summary"] and "--spark on" in doc["health"]["summary"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "x", "auto_stop_mins": 5}, "auto_stop_mins"),
        ({"name": "x", "cluster_size": "Huge"}, "cluster_size"),
        ({"name": "x", "warehouse_type": "SERVERLESS"}, "warehouse_type"),
        ({"name": "x", "min_num_clusters": 0}, "min_num_clusters"),
        ({}, "name"),
    ],
)
def test_bad_settings_name_the_field(warehouses: Warehouses, spec: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameterValue, match=field):
        warehouses.create(spec)


def test_serverless_needs_pro_and_names_are_unique(warehouses: Warehouses) -> None:
    with pytest.raises(InvalidParameterValue, match="PRO"):
        warehouses.create({"name": "s", "enable_serverless_compute": True, "warehouse_type": "CLASSIC"})
    warehouses.create({"name": "s", "enable_serverless_compute": True, "warehouse_type": "PRO"})
    with pytest.raises(ResourceAlreadyExists):
        warehouses.create({"name": "s"})


def test_edit_changes_settings(ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine) -> None:
    ident = _started(ws, warehouses, engine)
    warehouses.edit(ident, {"auto_stop_mins": 0, "cluster_size": "Medium"})
    doc = warehouses.get(ident)
    assert (doc["auto_stop_mins"], doc["cluster_size"]) == (0, "Medium")


@pytest.mark.parametrize("value", ["1s", "4s", "51s", "10", "ten"])
def test_wait_timeout_outside_0_or_5_to_50_is_refused_with_the_real_message(value: str) -> None:
    with pytest.raises(InvalidParameterValue) as refused:
        wait_seconds(value)
    assert refused.value.message == WAIT_TIMEOUT_MESSAGE


def test_wait_timeout_values_accepted() -> None:
    assert [wait_seconds(v) for v in (None, "0s", "5s", "50s")] == [10, 0, 5, 50]


def test_statement_validation(ws: Workspace, warehouses: Warehouses, engine: ScriptedEngine) -> None:
    statements = Statements(ws.shared, warehouses=warehouses)
    ident = _started(ws, warehouses, engine)
    with pytest.raises(InvalidParameterValue, match="EXTERNAL_LINKS"):
        statements.submit(Params({"statement": "SELECT 1", "warehouse_id": ident, "format": "CSV"}))
    with pytest.raises(InvalidParameterValue, match="parameters"):
        statements.submit(Params({"statement": "SELECT :x", "warehouse_id": ident, "parameters": [{"value": "1"}]}))
    with pytest.raises(ResourceDoesNotExist):
        statements.submit(Params({"statement": "SELECT 1", "warehouse_id": "0123456789abcdef"}))
    warehouses.delete(ident)
    with pytest.raises(NotFound, match="deleted"):
        statements.submit(Params({"statement": "SELECT 1", "warehouse_id": ident}))


def test_without_spark_a_statement_fails_naming_the_extra(ws: Workspace) -> None:
    ident = ws.warehouses.create({"name": "no-spark-statements"})
    statement = ws.statements.submit(Params({"statement": "SELECT 1", "warehouse_id": ident}))
    assert statement.state == "PENDING"
    ws.step(START_MS)  # the start fails: there is no Spark
    assert statement.done.wait(5), statement.state
    assert statement.state == "FAILED" and statement.error["error_code"] == "BAD_REQUEST"
    assert "airbricks[spark]" in statement.error["message"]
