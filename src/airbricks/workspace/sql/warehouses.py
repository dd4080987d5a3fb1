"""SQL warehouses of the local workspace: STARTING -> RUNNING -> STOPPING -> STOPPED (and DELETED).

A warehouse is a Spark Connect driver launched through the same :class:`~airbricks.workspace.compute.engine.ComputeEngine`
as the clusters (so it shares their metastore and warehouse directory, and counts against the same driver
capacity). It knows nothing of HTTP (moto style) and moves on the workspace clock: STARTING lasts until the
driver answers, ``auto_stop_mins`` of idleness (no statement running) stop it, and a statement sent to a
stopped warehouse starts it, as the real service does. Without Spark there is nothing to run SQL on, so a
start ends STOPPED with a health message naming the ``airbricks[spark]`` extra.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

from airbricks.workspace.compute.engine import CapacityExceeded, ComputeEngine, DriverState, NoEngine
from airbricks.workspace.errors import InvalidParameterValue, InvalidState, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.shared import Shared

WAREHOUSE_KIND = "sql_warehouse"

#: Sizes the real service accepts, and the local cores each gets (capped by this machine).
CLUSTER_SIZES = {
    "2X-Small": 1,
    "X-Small": 1,
    "Small": 2,
    "Medium": 4,
    "Large": 8,
    "X-Large": 16,
    "2X-Large": 32,
    "3X-Large": 64,
    "4X-Large": 128,
    "5X-Large": 256,
}
WAREHOUSE_TYPES = ("CLASSIC", "PRO", "TYPE_UNSPECIFIED")
SPOT_POLICIES = ("COST_OPTIMIZED", "RELIABILITY_OPTIMIZED", "POLICY_UNSPECIFIED")
DEFAULT_AUTO_STOP_MINS = 120
#: Fields a create/edit sets; everything else in the document is the service's own.
EDITABLE = (
    "name",
    "cluster_size",
    "auto_stop_mins",
    "min_num_clusters",
    "max_num_clusters",
    "enable_photon",
    "enable_serverless_compute",
    "warehouse_type",
    "spot_instance_policy",
    "tags",
    "channel",
    "statement_timeout",
    "instance_profile_arn",
)
NO_SPARK = (
    "SQL warehouses run on Spark, and this local workspace runs without it: install the extra with "
    "pip install 'airbricks[spark]' (pyspark, Java 17+) and start it with 'airbricks serve --spark on'."
)


def _ignore(_warehouse_id: str) -> bool:
    return False


def _validate(spec: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The settable fields of a create/edit, checked with the real service's rules; defaults on create."""
    clean = {name: spec[name] for name in EDITABLE if spec.get(name) is not None}
    name = clean.get("name")
    if creating and not name:
        raise InvalidParameterValue("Missing required field: name")
    if name is not None and (not isinstance(name, str) or len(name) >= 100):
        raise InvalidParameterValue("Invalid value for field 'name': must be a string of less than 100 characters")
    if creating:
        clean = {
            "cluster_size": "Small",
            "auto_stop_mins": DEFAULT_AUTO_STOP_MINS,
            "min_num_clusters": 1,
            "max_num_clusters": 1,
            "enable_photon": True,
            "enable_serverless_compute": False,
            "warehouse_type": "CLASSIC",
            "spot_instance_policy": "COST_OPTIMIZED",
            "channel": {"name": "CHANNEL_NAME_CURRENT"},
            "tags": {"custom_tags": []},
            **clean,
        }
    size = clean.get("cluster_size")
    if size is not None and size not in CLUSTER_SIZES:
        raise InvalidParameterValue(
            f"Invalid value for field 'cluster_size': {str(size)[:40]!r} (use one of {', '.join(CLUSTER_SIZES)})"
        )
    if "auto_stop_mins" in clean:
        minutes = _integer(clean, "auto_stop_mins")
        if minutes != 0 and minutes < 10:
            raise InvalidParameterValue(
                "Invalid value for field 'auto_stop_mins': must be 0 (no autostop) or at least 10 minutes"
            )
    low = _integer(clean, "min_num_clusters") if "min_num_clusters" in clean else 1
    high = _integer(clean, "max_num_clusters") if "max_num_clusters" in clean else max(low, 1)
    if not 0 < low <= min(high, 30) or high > 40:
        raise InvalidParameterValue(
            "Invalid value for field 'min_num_clusters'/'max_num_clusters': need "
            "0 < min_num_clusters <= min(max_num_clusters, 30) and max_num_clusters <= 40"
        )
    kind = clean.get("warehouse_type")
    if kind is not None and kind not in WAREHOUSE_TYPES:
        raise InvalidParameterValue(
            f"Invalid value for field 'warehouse_type': {str(kind)[:40]!r} (use CLASSIC or PRO)"
        )
    if clean.get("enable_serverless_compute") and kind not in (None, "PRO"):
        raise InvalidParameterValue(
            "Serverless compute needs warehouse_type PRO: set warehouse_type to PRO or "
            "enable_serverless_compute to false"
        )
    policy = clean.get("spot_instance_policy")
    if policy is not None and policy not in SPOT_POLICIES:
        raise InvalidParameterValue(f"Invalid value for field 'spot_instance_policy': {str(policy)[:40]!r}")
    return clean


def _integer(clean: dict[str, Any], name: str) -> int:
    value = clean[name]
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise InvalidParameterValue(f"Invalid value for field '{name}': expected an integer, got {value!r}"[:200])
    clean[name] = int(value)
    return clean[name]


class Warehouses:
    """All SQL warehouses of the workspace.

    :param shared: the workspace's store, lock, clock and settings.
    :param engine: the clusters' compute engine: each running warehouse is one of its drivers.
    :param is_busy: whether statements run or wait on a warehouse (busy warehouses never auto-stop).
    """

    def __init__(
        self, shared: Shared, *, engine: ComputeEngine | None = None, is_busy: Callable[[str], bool] = _ignore
    ) -> None:
        self.shared = shared
        self.engine: ComputeEngine = engine or NoEngine()
        self.is_busy = is_busy
        #: Called with the id when a warehouse becomes RUNNING (the SQL executor connects its session).
        self.on_running: Callable[[str], None] = lambda _warehouse_id: None
        #: Called with the id when a warehouse's driver goes away (stop, failure, delete): the executor drops
        #: its connection so a statement in flight fails now instead of retrying against a dead driver.
        self.on_down: Callable[[str], None] = lambda _warehouse_id: None
        self._docs: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ persistence

    def recover(self) -> None:
        """Reload every warehouse; one that was up when the server stopped starts again (its driver went
        with the server, or never existed in this process)."""
        with self.shared.lock:
            self._docs = {ident: doc for ident, doc in self.shared.store.load(WAREHOUSE_KIND)}
            now = self.shared.now_ms()
            for doc in self._docs.values():
                if doc["state"] in ("STARTING", "RUNNING"):
                    self._launch(doc, now)
                elif doc["state"] == "STOPPING":
                    self._enter(doc, "STOPPED", now)

    def _save(self, doc: dict[str, Any]) -> None:
        self.shared.store.put(WAREHOUSE_KIND, doc["id"], doc)

    # ------------------------------------------------------------------ reading

    def _find(self, warehouse_id: Any, *, include_deleted: bool = True) -> dict[str, Any]:
        if not warehouse_id:
            raise InvalidParameterValue("Missing required field: id")
        doc = self._docs.get(str(warehouse_id))
        if doc is None or (doc["state"] == "DELETED" and not include_deleted):
            raise ResourceDoesNotExist(f"SQL warehouse {warehouse_id} does not exist.")
        return doc

    def get(self, warehouse_id: str) -> dict[str, Any]:
        with self.shared.lock:
            return self._public(self._find(warehouse_id))

    def list(self) -> list[dict[str, Any]]:
        """Warehouses not deleted, oldest first (the order the real list uses)."""
        with self.shared.lock:
            docs = [self._public(d) for d in self._docs.values() if d["state"] != "DELETED"]
        return sorted(docs, key=lambda d: d["_created"] if "_created" in d else 0)

    def _public(self, doc: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in doc.items() if not k.startswith("_")}
        base = self.shared.tls_url or self.shared.url  # ODBC/JDBC drivers and the SQL connector speak HTTPS
        host, _, port = base.partition("://")[2].partition(":")
        protocol = base.partition("://")[0]
        port_number = int(port) if port.isdigit() else (443 if protocol == "https" else 80)
        public["odbc_params"] = {
            "hostname": host,
            "port": port_number,
            "protocol": protocol,
            "path": f"/sql/1.0/warehouses/{doc['id']}",
        }
        public["jdbc_url"] = (
            f"jdbc:databricks://{host}:{port_number}/default;transportMode=http;ssl="
            f"{1 if protocol == 'https' else 0};AuthMech=3;httpPath=/sql/1.0/warehouses/{doc['id']}"
        )
        public["num_clusters"] = 1 if doc["state"] == "RUNNING" else 0
        public["num_active_sessions"] = 1 if doc["state"] == "RUNNING" and self.is_busy(doc["id"]) else 0
        return public

    def remote(self, warehouse_id: str) -> str | None:
        """The Spark Connect URL of a RUNNING warehouse's driver (None while it is not running)."""
        with self.shared.lock:
            doc = self._find(warehouse_id)
            if doc["state"] != "RUNNING":
                return None
        return self.engine.report(warehouse_id).remote

    def state(self, warehouse_id: str) -> tuple[str, dict[str, Any]]:
        """State and health of a warehouse (for statements waiting on it)."""
        with self.shared.lock:
            doc = self._find(warehouse_id)
            return doc["state"], dict(doc.get("health") or {})

    # ------------------------------------------------------------------ commands (the REST API)

    def create(self, spec: dict[str, Any]) -> str:
        """``POST /sql/warehouses``: a new warehouse, STARTING now (the real service starts it at once)."""
        clean = _validate(spec, creating=True)
        with self.shared.lock:
            self._unique_name(clean["name"])
            ident = self._new_id()
            now = self.shared.now_ms()
            doc = {
                "id": ident,
                "creator_name": self.shared.user_name,
                **clean,
                "state": "STOPPED",
                "health": {},
                "_created": now,
                "_last_activity": now,
            }
            self._docs[ident] = doc
            self._launch(doc, now)
            return ident

    def _new_id(self) -> str:
        while True:
            ident = secrets.token_hex(8)
            if ident not in self._docs:
                return ident

    def _unique_name(self, name: str, *, besides: str | None = None) -> None:
        for doc in self._docs.values():
            if doc["name"] == name and doc["state"] != "DELETED" and doc["id"] != besides:
                raise ResourceAlreadyExists(
                    f"SQL warehouse with name '{name}' already exists (id {doc['id']}): "
                    "names are unique within a workspace"
                )

    def edit(self, warehouse_id: str, spec: dict[str, Any]) -> None:
        """``POST /sql/warehouses/{id}/edit``: new settings; a new size applies from the next start."""
        clean = _validate(spec, creating=False)
        with self.shared.lock:
            doc = self._find(warehouse_id, include_deleted=False)
            if "name" in clean:
                self._unique_name(clean["name"], besides=doc["id"])
            doc.update(clean)
            self._save(doc)

    def start(self, warehouse_id: str) -> None:
        """``POST .../start``: STOPPED -> STARTING; a no-op while starting or running; after a stop ends."""
        with self.shared.lock:
            doc = self._not_deleted(warehouse_id, "started")
            if doc["state"] == "STOPPED":
                self._launch(doc, self.shared.now_ms())
            elif doc["state"] == "STOPPING":
                doc["_start_after_stop"] = True
                self._save(doc)

    def _not_deleted(self, warehouse_id: str, action: str) -> dict[str, Any]:
        """The warehouse, which must not be deleted to be ``action`` (started, stopped)."""
        doc = self._find(warehouse_id)
        if doc["state"] == "DELETED":
            raise InvalidState(f"SQL warehouse {warehouse_id} is deleted and cannot be {action}.")
        return doc

    def ensure_started(self, warehouse_id: str) -> None:
        """For a statement: start a stopped warehouse (as the real one does on the first query)."""
        self.start(warehouse_id)

    def stop(self, warehouse_id: str) -> None:
        """``POST .../stop``: STARTING/RUNNING -> STOPPING -> STOPPED once the driver stopped."""
        with self.shared.lock:
            doc = self._not_deleted(warehouse_id, "stopped")
            doc.pop("_start_after_stop", None)
            if doc["state"] in ("STARTING", "RUNNING"):
                self._begin_stop(doc, self.shared.now_ms())

    def delete(self, warehouse_id: str) -> None:
        """``DELETE /sql/warehouses/{id}``: the driver is killed; ``get`` still answers DELETED."""
        with self.shared.lock:
            doc = self._find(warehouse_id, include_deleted=False)
            self.on_down(doc["id"])
            self.engine.kill(doc["id"])
            doc.pop("_start_after_stop", None)
            self._enter(doc, "DELETED", self.shared.now_ms())

    def mark_active(self, warehouse_id: str) -> None:
        """A statement ran now: auto-stop counts from here."""
        with self.shared.lock:
            doc = self._find(warehouse_id)
            doc["_last_activity"] = self.shared.now_ms()
            self._save(doc)

    # ------------------------------------------------------------------ the ticker

    def tick(self, now: int) -> None:
        with self.shared.lock:
            for doc in list(self._docs.values()):
                state = doc["state"]
                if state == "STARTING":
                    self._check_start(doc, now)
                elif state == "RUNNING":
                    self._check_running(doc, now)
                elif state == "STOPPING":
                    report = self.engine.report(doc["id"])
                    if report.state in (DriverState.STOPPED, DriverState.FAILED):
                        self._enter(doc, "STOPPED", now)
                        if doc.pop("_start_after_stop", False):
                            self._launch(doc, now)

    def _check_start(self, doc: dict[str, Any], now: int) -> None:
        if doc.get("_launch_failure"):
            self._fail(doc, now, doc.pop("_launch_failure"))
            return
        if now < doc.get("_ready_at", 0):
            return
        report = self.engine.report(doc["id"])
        if report.state is DriverState.READY:
            doc["health"] = {"status": "HEALTHY"}
            doc["_last_activity"] = now
            self._enter(doc, "RUNNING", now)
            self.on_running(doc["id"])
        elif report.state in (DriverState.FAILED, DriverState.STOPPED):
            self._fail(
                doc,
                now,
                report.reason.to_doc()
                if report.reason
                else _reason("DRIVER_UNREACHABLE", "The warehouse's Spark driver stopped while starting."),
            )

    def _check_running(self, doc: dict[str, Any], now: int) -> None:
        report = self.engine.report(doc["id"])
        if report.state is DriverState.FAILED:
            reason = report.reason.to_doc() if report.reason else None
            self._fail(doc, now, reason or _reason("DRIVER_UNREACHABLE", "The warehouse's driver died."))
            return
        minutes = doc.get("auto_stop_mins") or 0
        if self.is_busy(doc["id"]):
            doc["_last_activity"] = now  # in memory only: a write per tick per busy warehouse is not worth it
        elif minutes and now - doc["_last_activity"] >= minutes * self.shared.config.seconds_per_minute * 1000:
            self._begin_stop(doc, now)

    # ------------------------------------------------------------------ transitions

    def _launch(self, doc: dict[str, Any], now: int) -> None:
        doc["health"] = {}
        doc["_ready_at"] = now + int(self.shared.config.cluster_start_seconds * 1000)
        doc.pop("_launch_failure", None)
        self._enter(doc, "STARTING", now)
        if not self.engine.runs_spark:
            doc["_launch_failure"] = _reason("SPARK_STARTUP_FAILURE", NO_SPARK, type_="CLIENT_ERROR")
            return
        cores = min(CLUSTER_SIZES[doc["cluster_size"]], os.cpu_count() or 1)
        try:
            self.engine.launch(
                doc["id"],
                {"num_workers": cores, "spark_conf": {"spark.app.name": f"airbricks SQL warehouse {doc['name']}"}},
            )
        except CapacityExceeded as full:
            doc["_launch_failure"] = full.reason.to_doc()
        self._save(doc)

    def _begin_stop(self, doc: dict[str, Any], now: int) -> None:
        self.on_down(doc["id"])
        self.engine.stop(doc["id"])
        self._enter(doc, "STOPPING", now)

    def _fail(self, doc: dict[str, Any], now: int, reason: dict[str, Any]) -> None:
        """The start failed (no Spark, no capacity, the driver died): STOPPED, with the reason in ``health``."""
        self.on_down(doc["id"])
        self.engine.kill(doc["id"])
        message = reason.get("parameters", {}).get("databricks_error_message", reason.get("code", "failed"))
        doc["health"] = {"status": "FAILED", "summary": message, "message": message, "failure_reason": reason}
        doc.pop("_start_after_stop", None)
        self._enter(doc, "STOPPED", now)

    def _enter(self, doc: dict[str, Any], state: str, now: int) -> None:
        doc["state"] = state
        doc["_state_time"] = now
        self._save(doc)


def _reason(code: str, message: str, type_: str = "SERVICE_FAULT") -> dict[str, Any]:
    return {"code": code, "type": type_, "parameters": {"databricks_error_message": message}}
