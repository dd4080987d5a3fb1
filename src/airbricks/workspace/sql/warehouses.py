"""SQL warehouses of the local workspace: STARTING -> RUNNING -> STOPPING -> STOPPED (and DELETED).

A warehouse is a Spark Connect driver launched through the same
:class:`~airbricks.workspace.compute.engine.ComputeEngine` as the clusters (so it shares their metastore and
warehouse directory, and counts against the same driver capacity). It knows nothing of HTTP (moto style) and moves
on the workspace clock: STARTING lasts until the driver answers, ``auto_stop_mins`` of idleness (no statement
running) stop it, and a statement sent to a stopped warehouse starts it, as the real service does. Without Spark
there is nothing to run SQL on, so a start ends STOPPED with a health message naming the ``airbricks[spark]``
extra. Each warehouse is a :class:`~airbricks.workspace.sql.warehouse.Warehouse` record.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

from airbricks.workspace.compute.engine import CapacityExceeded, ComputeEngine, DriverState, NoEngine
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import InvalidParameterValue, InvalidState, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.shared import Shared
from airbricks.workspace.sql.warehouse import CLUSTER_SIZES, Warehouse, validate

WAREHOUSE_KIND = "sql_warehouse"
NO_SPARK = (
    "SQL warehouses run on Spark, and this local workspace runs without it: install the extra with "
    "pip install 'airbricks[spark]' (pyspark, Java 17+) and start it with 'airbricks serve --spark on'."
)


def _never_busy(_warehouse_id: str) -> bool:
    return False


def _nothing(_warehouse_id: str) -> None:
    return None


class Warehouses:
    """All SQL warehouses of the workspace.

    :param shared: the workspace's store, lock, clock and settings.
    :param engine: the clusters' compute engine: each running warehouse is one of its drivers.
    :param is_busy: whether statements run or wait on a warehouse (busy warehouses never auto-stop).
    :param on_running: called with the id when a warehouse becomes RUNNING (the SQL executor connects its session).
    :param on_down: called with the id when a warehouse's driver goes away (stop, failure, delete): the executor
        drops its connection so a statement in flight fails now instead of retrying against a dead driver.
    """

    def __init__(
        self,
        shared: Shared,
        *,
        engine: ComputeEngine | None = None,
        is_busy: Callable[[str], bool] = _never_busy,
        on_running: Callable[[str], None] = _nothing,
        on_down: Callable[[str], None] = _nothing,
    ) -> None:
        self.shared = shared
        self.engine: ComputeEngine = engine or NoEngine()
        self.is_busy = is_busy
        self.on_running = on_running
        self.on_down = on_down
        self._warehouses: dict[str, Warehouse] = {}

    # ------------------------------------------------------------------ persistence

    def recover(self) -> None:
        """Reload every warehouse; one that was up when the server stopped starts again (its driver went
        with the server, or never existed in this process)."""
        with self.shared.lock:
            self._warehouses = {
                ident: Warehouse.from_store(data) for ident, data in self.shared.store.load(WAREHOUSE_KIND)
            }
            now = self.shared.now_ms()
            for warehouse in self._warehouses.values():
                if warehouse.state in ("STARTING", "RUNNING"):
                    self._launch(warehouse, now)
                elif warehouse.state == "STOPPING":
                    self._enter(warehouse, "STOPPED", now)

    def _save(self, warehouse: Warehouse) -> None:
        self.shared.store.put(WAREHOUSE_KIND, warehouse.id, warehouse.to_store())

    # ------------------------------------------------------------------ reading

    def _find(self, warehouse_id: Any, *, include_deleted: bool = True) -> Warehouse:
        if not warehouse_id:
            raise InvalidParameterValue("Missing required field: id")
        warehouse = self._warehouses.get(str(warehouse_id))
        if warehouse is None or (warehouse.state == "DELETED" and not include_deleted):
            raise ResourceDoesNotExist(f"SQL warehouse {warehouse_id} does not exist.")
        return warehouse

    def get(self, warehouse_id: str) -> dict[str, Any]:
        with self.shared.lock:
            return self._public(self._find(warehouse_id))

    def list(self) -> list[dict[str, Any]]:
        """Warehouses not deleted, oldest first (the order the real list uses)."""
        with self.shared.lock:
            alive = [w for w in self._warehouses.values() if w.state != "DELETED"]
            return [self._public(w) for w in sorted(alive, key=lambda w: w.created)]

    def _public(self, warehouse: Warehouse) -> dict[str, Any]:
        base = self.shared.tls_url or self.shared.url  # ODBC/JDBC drivers and the SQL connector speak HTTPS
        return warehouse.render(base, busy=warehouse.state == "RUNNING" and self.is_busy(warehouse.id))

    def remote(self, warehouse_id: str) -> str | None:
        """The Spark Connect URL of a RUNNING warehouse's driver (None while it is not running)."""
        with self.shared.lock:
            if self._find(warehouse_id).state != "RUNNING":
                return None
        return self.engine.report(warehouse_id).remote

    def state(self, warehouse_id: str) -> tuple[str, dict[str, Any]]:
        """State and health of a warehouse (for statements waiting on it)."""
        with self.shared.lock:
            warehouse = self._find(warehouse_id)
            return warehouse.state, dict(warehouse.doc.get("health") or {})

    # ------------------------------------------------------------------ commands (the REST API)

    def create(self, spec: dict[str, Any], *, warehouse_id: str | None = None, creator: str | None = None) -> str:
        """``POST /sql/warehouses``: a new warehouse, STARTING now (the real service starts it at once).

        ``warehouse_id``: the id it must have (a workspace fixture's), instead of a fresh one. ``creator``: who
        created it (``creator_name``, the caller as on Databricks; default the workspace's user)."""
        clean = validate(spec, creating=True)
        with self.shared.lock:
            self._unique_name(clean["name"])
            if warehouse_id is not None and warehouse_id in self._warehouses:
                raise ResourceAlreadyExists(f"SQL warehouse {warehouse_id} already exists")
            ident = warehouse_id or self._new_id()
            now = self.shared.now_ms()
            doc = {
                "id": ident,
                "creator_name": creator or self.shared.user_name,
                **clean,
                "state": "STOPPED",
                "health": {},
            }
            warehouse = self._warehouses[ident] = Warehouse(doc, created=now, last_activity=now)
            self._launch(warehouse, now)
            return ident

    def _new_id(self) -> str:
        while True:
            ident = secrets.token_hex(8)
            if ident not in self._warehouses:
                return ident

    def _unique_name(self, name: str, *, besides: str | None = None) -> None:
        for other in self._warehouses.values():
            if other.name == name and other.state != "DELETED" and other.id != besides:
                raise ResourceAlreadyExists(
                    f"SQL warehouse with name '{name}' already exists (id {other.id}): "
                    "names are unique within a workspace"
                )

    def edit(self, warehouse_id: str, spec: dict[str, Any]) -> None:
        """``POST /sql/warehouses/{id}/edit``: new settings; a new size applies from the next start."""
        clean = validate(spec, creating=False)
        with self.shared.lock:
            warehouse = self._find(warehouse_id, include_deleted=False)
            if "name" in clean:
                self._unique_name(clean["name"], besides=warehouse.id)
            warehouse.doc.update(clean)
            self._save(warehouse)

    def start(self, warehouse_id: str) -> None:
        """``POST .../start``: STOPPED -> STARTING; a no-op while starting or running; after a stop ends."""
        with self.shared.lock:
            warehouse = self._not_deleted(warehouse_id, "started")
            if warehouse.state == "STOPPED":
                self._launch(warehouse, self.shared.now_ms())
            elif warehouse.state == "STOPPING":
                warehouse.start_after_stop = True
                self._save(warehouse)

    def _not_deleted(self, warehouse_id: str, action: str) -> Warehouse:
        """The warehouse, which must not be deleted to be ``action`` (started, stopped)."""
        warehouse = self._find(warehouse_id)
        if warehouse.state == "DELETED":
            raise InvalidState(f"SQL warehouse {warehouse_id} is deleted and cannot be {action}.")
        return warehouse

    def ensure_started(self, warehouse_id: str) -> None:
        """For a statement: start a stopped warehouse (as the real one does on the first query)."""
        self.start(warehouse_id)

    def stop(self, warehouse_id: str) -> None:
        """``POST .../stop``: STARTING/RUNNING -> STOPPING -> STOPPED once the driver stopped."""
        with self.shared.lock:
            warehouse = self._not_deleted(warehouse_id, "stopped")
            warehouse.start_after_stop = False
            if warehouse.state in ("STARTING", "RUNNING"):
                self._begin_stop(warehouse, self.shared.now_ms())

    def delete(self, warehouse_id: str) -> None:
        """``DELETE /sql/warehouses/{id}``: the driver is killed; ``get`` still answers DELETED."""
        with self.shared.lock:
            warehouse = self._find(warehouse_id, include_deleted=False)
            self.on_down(warehouse.id)
            self.engine.kill(warehouse.id)
            warehouse.start_after_stop = False
            self._enter(warehouse, "DELETED", self.shared.now_ms())

    def mark_active(self, warehouse_id: str) -> None:
        """A statement ran now: auto-stop counts from here."""
        with self.shared.lock:
            warehouse = self._find(warehouse_id)
            warehouse.last_activity = self.shared.now_ms()
            self._save(warehouse)

    # ------------------------------------------------------------------ the ticker

    def tick(self, now: int) -> None:
        with self.shared.lock:
            for warehouse in list(self._warehouses.values()):
                state = warehouse.state
                if state == "STARTING":
                    self._check_start(warehouse, now)
                elif state == "RUNNING":
                    self._check_running(warehouse, now)
                elif state == "STOPPING":
                    report = self.engine.report(warehouse.id)
                    if report.state in (DriverState.STOPPED, DriverState.FAILED):
                        self._enter(warehouse, "STOPPED", now)
                        if warehouse.start_after_stop:
                            warehouse.start_after_stop = False
                            self._launch(warehouse, now)

    def _check_start(self, warehouse: Warehouse, now: int) -> None:
        if warehouse.launch_failure is not None:
            failure, warehouse.launch_failure = warehouse.launch_failure, None
            self._fail(warehouse, now, failure)
            return
        if now < warehouse.ready_at:
            return
        report = self.engine.report(warehouse.id)
        if report.state is DriverState.READY:
            warehouse.doc["health"] = {"status": "HEALTHY"}
            warehouse.last_activity = now
            self._enter(warehouse, "RUNNING", now)
            self.on_running(warehouse.id)
        elif report.state in (DriverState.FAILED, DriverState.STOPPED):
            reason = report.reason or TerminationReason.error(
                "DRIVER_UNREACHABLE", "The warehouse's Spark driver stopped while starting."
            )
            self._fail(warehouse, now, reason)

    def _check_running(self, warehouse: Warehouse, now: int) -> None:
        report = self.engine.report(warehouse.id)
        if report.state is DriverState.FAILED:
            died = TerminationReason.error("DRIVER_UNREACHABLE", "The warehouse's driver died.")
            self._fail(warehouse, now, report.reason or died)
            return
        minutes = warehouse.doc.get("auto_stop_mins") or 0
        if self.is_busy(warehouse.id):
            warehouse.last_activity = now  # in memory only: a write per tick per busy warehouse is not worth it
        elif minutes and now - warehouse.last_activity >= minutes * self.shared.config.seconds_per_minute * 1000:
            self._begin_stop(warehouse, now)

    # ------------------------------------------------------------------ transitions

    def _launch(self, warehouse: Warehouse, now: int) -> None:
        warehouse.doc["health"] = {}
        warehouse.ready_at = now + int(self.shared.config.cluster_start_seconds * 1000)
        warehouse.launch_failure = None
        self._enter(warehouse, "STARTING", now)
        if not self.engine.runs_spark:
            warehouse.launch_failure = TerminationReason.error("SPARK_STARTUP_FAILURE", NO_SPARK, type_="CLIENT_ERROR")
            return
        cores = min(CLUSTER_SIZES[warehouse.doc["cluster_size"]], os.cpu_count() or 1)
        try:
            self.engine.launch(
                warehouse.id,
                {"num_workers": cores, "spark_conf": {"spark.app.name": f"airbricks SQL warehouse {warehouse.name}"}},
            )
        except CapacityExceeded as full:
            warehouse.launch_failure = full.reason
        self._save(warehouse)

    def _begin_stop(self, warehouse: Warehouse, now: int) -> None:
        self.on_down(warehouse.id)
        self.engine.stop(warehouse.id)
        self._enter(warehouse, "STOPPING", now)

    def _fail(self, warehouse: Warehouse, now: int, reason: TerminationReason) -> None:
        """The start failed (no Spark, no capacity, the driver died): STOPPED, with the reason in ``health``."""
        self.on_down(warehouse.id)
        self.engine.kill(warehouse.id)
        warehouse.fail_health(reason)
        self._enter(warehouse, "STOPPED", now)

    def _enter(self, warehouse: Warehouse, state: str, now: int) -> None:
        warehouse.enter(state, now)
        self._save(warehouse)
