"""One SQL warehouse's record: its public document, what its lifecycle needs, and the settings' rules.

:class:`airbricks.workspace.sql.warehouses.Warehouses` decides *when* a warehouse changes state; this module says
what a create or edit may set and what the record holds, so the model reads as the state machine alone. The
lifecycle's own facts (when it was created, last used, due to answer) are typed fields beside the document, never
keys inside it, so ``get`` shows the document without filtering anything out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import InvalidParameterValue

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


def validate(spec: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
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
    if size is not None and (not isinstance(size, str) or size not in CLUSTER_SIZES):
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


@dataclass
class Warehouse:
    """One warehouse: its public document (``id``, settings, ``state``, ``health``) plus the lifecycle's facts."""

    doc: dict[str, Any]
    created: int
    #: When a statement last ran (auto-stop counts from here).
    last_activity: int
    #: When the current state began.
    state_time: int = 0
    #: When a STARTING warehouse first asks its driver whether it answers.
    ready_at: int = 0
    #: Why the current start cannot succeed (no Spark, no capacity): the next tick ends it STOPPED with this.
    launch_failure: TerminationReason | None = None
    #: Set by a start while STOPPING: launch again as soon as it is STOPPED.
    start_after_stop: bool = False

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def state(self) -> str:
        return str(self.doc["state"])

    @property
    def name(self) -> str:
        return str(self.doc["name"])

    def to_store(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "created": self.created,
            "last_activity": self.last_activity,
            "state_time": self.state_time,
            "ready_at": self.ready_at,
            "launch_failure": self.launch_failure.to_doc() if self.launch_failure else None,
            "start_after_stop": self.start_after_stop,
        }

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> Warehouse:
        """A stored record; also the flat documents earlier versions stored (``_``-prefixed lifecycle keys)."""
        if isinstance(data.get("doc"), dict):
            return cls(
                doc=data["doc"],
                created=int(data.get("created") or 0),
                last_activity=int(data.get("last_activity") or 0),
                state_time=int(data.get("state_time") or 0),
                ready_at=int(data.get("ready_at") or 0),
                launch_failure=TerminationReason.from_doc(data.get("launch_failure") or None),
                start_after_stop=bool(data.get("start_after_stop")),
            )
        return cls(
            doc={k: v for k, v in data.items() if not k.startswith("_")},
            created=int(data.get("_created") or 0),
            last_activity=int(data.get("_last_activity") or 0),
            state_time=int(data.get("_state_time") or 0),
            ready_at=int(data.get("_ready_at") or 0),
            launch_failure=TerminationReason.from_doc(data.get("_launch_failure") or None),
            start_after_stop=bool(data.get("_start_after_stop")),
        )

    def enter(self, state: str, now: int) -> None:
        self.doc["state"] = state
        self.state_time = now

    def fail_health(self, reason: TerminationReason) -> None:
        """A start that failed: ``health`` says why (clients read ``summary``; ``failure_reason`` has the code)."""
        message = reason.message
        self.doc["health"] = {
            "status": "FAILED",
            "summary": message,
            "message": message,
            "failure_reason": reason.to_doc(),
        }
        self.start_after_stop = False

    def render(self, base_url: str, *, busy: bool) -> dict[str, Any]:
        """What ``get`` and ``list`` answer: the document plus the connection details of the server's listener
        (``base_url``: the HTTPS one when it runs, as ODBC/JDBC drivers and the SQL connector speak HTTPS)."""
        public = dict(self.doc)
        host, _, port = base_url.partition("://")[2].partition(":")
        protocol = base_url.partition("://")[0]
        port_number = int(port) if port.isdigit() else (443 if protocol == "https" else 80)
        path = f"/sql/1.0/warehouses/{self.id}"
        public["odbc_params"] = {"hostname": host, "port": port_number, "protocol": protocol, "path": path}
        public["jdbc_url"] = (
            f"jdbc:databricks://{host}:{port_number}/default;transportMode=http;ssl="
            f"{1 if protocol == 'https' else 0};AuthMech=3;httpPath={path}"
        )
        running = self.state == "RUNNING"
        public["num_clusters"] = 1 if running else 0
        public["num_active_sessions"] = 1 if running and busy else 0
        return public
