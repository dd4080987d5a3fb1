"""One cluster's record: its public document, its timeline, and the facts its lifecycle derives.

:class:`airbricks.workspace.compute.clusters.Clusters` decides *when* a cluster changes state; this module says what a
state change writes into the cluster's document, so the model reads as the state machine alone.
"""

from __future__ import annotations

import logging
import secrets
import string
import time
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import InvalidState
from airbricks.workspace.shared import CREATOR

log = logging.getLogger("airbricks.workspace.compute.clusters")

#: States in which the cluster's nodes exist (and would be billed); summed into ``running_seconds``.
UP_STATES = frozenset({"RUNNING", "RESIZING", "RESTARTING"})
#: States a run can use the cluster in.
USABLE_STATES = frozenset({"RUNNING", "RESIZING"})
DOWN_STATES = frozenset({"TERMINATING", "TERMINATED"})


def _pretty(state: str) -> str:
    """``RUNNING`` -> ``Running``, as the real service writes states in its messages."""
    return state.capitalize()


def reason_message(reason: TerminationReason, minutes: int | None = None) -> str:
    """The ``state_message`` of a terminated cluster, explaining its ``termination_reason``."""
    params = reason.parameters
    if params.get("databricks_error_message"):
        return params["databricks_error_message"]
    code = reason.code
    if code == "INACTIVITY":
        return f"Inactive cluster terminated (inactive for {params.get('inactivity_duration_min', minutes)} minutes)."
    if code == "USER_REQUEST":
        return f"Termination requested by {params.get('username', CREATOR)}"
    if code == "JOB_FINISHED":
        return "Job cluster terminated because its run finished."
    return f"Cluster terminated. Reason: {code}"


def user_request(username: str = CREATOR) -> TerminationReason:
    return TerminationReason("USER_REQUEST", "SUCCESS", {"username": username})


def new_cluster_id(now: int, taken: Container[str]) -> str:
    """A real-looking id (``MMDD-HHMMSS-xxxxxxxx``) never used before in this workspace."""
    alphabet = string.ascii_lowercase + string.digits
    prefix = time.strftime("%m%d-%H%M%S-", time.gmtime(now / 1000))
    while True:
        ident = prefix + "".join(secrets.choice(alphabet) for _ in range(8))
        if ident not in taken:
            return ident


@dataclass(frozen=True)
class ClusterEvent:
    """One entry of ``clusters/events``. ``seq`` orders a cluster's events: it is the suffix of the event's store
    key, never part of the answer (documents stored by earlier versions also carry it as ``_seq``: ignored)."""

    cluster_id: str
    timestamp: int
    type: str
    details: dict[str, Any]
    seq: int

    @property
    def key(self) -> str:
        """The event's id in the store: ``<cluster id>/<seq>``, zero-padded so ids sort as the events do."""
        return f"{self.cluster_id}/{self.seq:08d}"

    def to_doc(self) -> dict[str, Any]:
        """As ``clusters/events`` answers it, and as it is stored."""
        return {"cluster_id": self.cluster_id, "timestamp": self.timestamp, "type": self.type, "details": self.details}

    @classmethod
    def from_store(cls, key: str, data: dict[str, Any]) -> ClusterEvent:
        cluster_id, _, seq = key.rpartition("/")
        return cls(cluster_id, data["timestamp"], data["type"], data.get("details") or {}, int(seq))


@dataclass
class Cluster:
    """One cluster: its public document plus what the lifecycle needs (never shown by ``get``)."""

    doc: dict[str, Any]
    created_time: int
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: list[ClusterEvent] = field(default_factory=list)
    deleted: bool = False
    #: When the current transitional state (PENDING, RESTARTING, RESIZING, TERMINATING) ends.
    deadline: int | None = None
    #: Termination reason an injected launch failure ends the current PENDING with.
    launch_failure: TerminationReason | None = None
    resize_from: int | None = None
    #: Set by ensure_started on a TERMINATING cluster: launch again as soon as it is TERMINATED.
    start_after_termination: bool = False

    @property
    def id(self) -> str:
        return self.doc["cluster_id"]

    @property
    def state(self) -> str:
        return self.doc["state"]

    @property
    def is_job_cluster(self) -> bool:
        return self.doc["cluster_source"] == "JOB"

    def to_store(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "created_time": self.created_time,
            "transitions": self.transitions,
            "deleted": self.deleted,
            "deadline": self.deadline,
            "launch_failure": self.launch_failure.to_doc() if self.launch_failure else None,
            "resize_from": self.resize_from,
            "start_after_termination": self.start_after_termination,
        }

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> Cluster:
        return cls(**{**data, "launch_failure": TerminationReason.from_doc(data.get("launch_failure"))})

    def enter(self, state: str, now: int, message: str, seconds: float | None) -> None:
        log.info("cluster %s: %s%s", self.id, state, f" ({message})" if message else "")
        self.doc["state"] = state
        self.doc["state_message"] = message
        self.deadline = None if seconds is None else now + int(seconds * 1000)
        self.transitions.append({"state": state, "timestamp": now})

    def running_seconds(self, now: int) -> float:
        total = 0
        steps = self.transitions
        for i, step in enumerate(steps):
            if step["state"] in UP_STATES:
                end = steps[i + 1]["timestamp"] if i + 1 < len(steps) else now
                total += max(0, end - step["timestamp"])
        return round(total / 1000, 3)

    def usage(self, now: int) -> dict[str, Any]:
        """What the airbricks-only usage view shows of this cluster (deleted ones too)."""
        return {
            "cluster_id": self.id,
            "cluster_name": self.doc.get("cluster_name", ""),
            "cluster_source": self.doc["cluster_source"],
            "compute_type": "JOBS" if self.is_job_cluster else "ALL_PURPOSE",
            "node_type_id": self.doc.get("node_type_id"),
            "num_workers": cluster_specs.workers(self.doc),
            "custom_tags": dict(self.doc.get("custom_tags") or {}),
            "state": self.state,
            "deleted": self.deleted,
            "created_time": self.created_time,
            "running_seconds": self.running_seconds(now),
            "transitions": [dict(t) for t in self.transitions],
            "termination_reason": self.doc.get("termination_reason"),
        }

    def unexpected(self) -> InvalidState:
        return InvalidState(f"Cluster {self.id} is in unexpected state {_pretty(self.state)}.")

    def clear_for_launch(self, now: int) -> None:
        """A new PENDING: no trace left of the previous life (driver, termination)."""
        for name in ("terminated_time", "termination_reason", "driver", "executors"):
            self.doc.pop(name, None)
        self.doc["start_time"] = now
        self.doc["last_activity_time"] = now

    def describe_running(self, now: int, *, new_driver: bool) -> int:
        """Fill in what a RUNNING cluster shows (size, driver, executors); returns the number of workers."""
        doc = self.doc
        workers = cluster_specs.workers(doc)
        node = cluster_specs.node_type(doc.get("node_type_id", ""))
        if node is not None:
            doc["cluster_memory_mb"] = node["memory_mb"] * (workers + 1)
            doc["cluster_cores"] = node["num_cores"] * (workers + 1)
        if new_driver:
            doc["spark_context_id"] = secrets.randbits(62)
            doc["driver"] = {
                "node_id": secrets.token_hex(16),
                "instance_id": "i-" + secrets.token_hex(8),
                "start_timestamp": now,
                "private_ip": "127.0.0.1",
                "host_private_ip": "127.0.0.1",
                "public_dns": "",
                "node_attributes": {"is_spot": False},
            }
        doc["executors"] = [
            {"node_id": secrets.token_hex(16), "private_ip": "127.0.0.1", "start_timestamp": now}
            for _ in range(workers)
        ]
        doc["last_activity_time"] = now
        return workers

    def describe_terminated(self, now: int) -> None:
        """Drop what only a live cluster has; the state message explains the termination reason."""
        doc = self.doc
        for name in ("driver", "executors", "spark_context_id", "cluster_memory_mb", "cluster_cores"):
            doc.pop(name, None)
        doc["terminated_time"] = now
        unknown = TerminationReason("UNKNOWN", "SERVICE_FAULT")
        reason = TerminationReason.from_doc(doc.get("termination_reason")) or unknown
        doc["termination_reason"] = reason.to_doc()
        self.enter("TERMINATED", now, reason_message(reason, doc.get("autotermination_minutes")), None)
        self.launch_failure = None
