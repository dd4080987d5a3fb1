"""Clusters of the local workspace: specs, the lifecycle state machine, events, auto-termination, usage.

The model knows nothing of HTTP (moto style): it validates specs, moves clusters through
PENDING -> RUNNING -> (RESIZING | RESTARTING -> RUNNING) -> TERMINATING -> TERMINATED on the ticker's clock,
and raises :mod:`airbricks.workspace.errors` exceptions with the real service's codes and messages.

Every change is written through the store before the caller returns. Deadlines are absolute epoch
milliseconds, so a cluster that was PENDING when the process died resumes its timeline after
:meth:`Clusters.recover`. Permanently deleted clusters keep their record and events (for ``usage()`` and
``clusters/events``) but vanish from ``get``/``list``; their ids are never handed out again.

Readers (``clusters/get`` is polled constantly) take a shallow copy of the public document under the lock.
That is safe because nested values (``termination_reason``, ``custom_tags``...) are always *replaced*, never
mutated in place.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airbricks.workspace.core import now_ms
from airbricks.workspace.errors import InvalidParameterValue, InvalidState, does_not_exist
from airbricks.workspace.params import Params, to_int

if TYPE_CHECKING:
    from airbricks.workspace.core import Workspace

#: Who creates and terminates clusters in the local workspace (there are no other users).
CREATOR = "airbricks@localhost"

CLUSTER_KIND = "cluster"
EVENT_KIND = "cluster_event"

#: States in which the cluster's nodes exist (and would be billed); summed into ``running_seconds``.
_UP_STATES = frozenset({"RUNNING", "RESIZING", "RESTARTING"})

#: Fields of a cluster spec (``clusters/create``, ``clusters/edit``, a job's ``new_cluster``) echoed back by get.
SPEC_FIELDS = (
    "cluster_name", "spark_version", "node_type_id", "driver_node_type_id", "num_workers", "autoscale",
    "autotermination_minutes", "spark_conf", "spark_env_vars", "custom_tags", "aws_attributes",
    "azure_attributes", "gcp_attributes", "ssh_public_keys", "cluster_log_conf", "init_scripts", "docker_image",
    "enable_elastic_disk", "enable_local_disk_encryption", "instance_pool_id", "driver_instance_pool_id",
    "policy_id", "apply_policy_default_values", "single_user_name", "data_security_mode", "runtime_engine",
    "kind", "is_single_node", "use_ml_runtime", "workload_type", "remote_disk_throughput",
    "total_initial_remote_disk_size",
)


def _node(node_type_id: str, memory_mb: int, cores: int, description: str, category: str, **extra: Any) -> dict:
    return {"node_type_id": node_type_id, "memory_mb": memory_mb, "num_cores": float(cores),
            "description": description, "instance_type_id": node_type_id, "category": category,
            "is_deprecated": False, "is_hidden": False, "support_port_forwarding": True,
            "support_ebs_volumes": node_type_id[0].islower() and "-" not in node_type_id,
            "photon_worker_capable": True, "photon_driver_capable": True, "support_cluster_tags": True,
            "display_order": 0, **extra}


#: What ``clusters/list-node-types`` offers (a few per cloud); create refuses any other node type.
NODE_TYPES: tuple[dict[str, Any], ...] = (
    _node("m5d.large", 8192, 2, "m5d.large", "General Purpose",
          node_instance_type={"instance_type_id": "m5d.large", "local_disks": 1, "local_disk_size_gb": 75}),
    _node("m5d.xlarge", 16384, 4, "m5d.xlarge", "General Purpose",
          node_instance_type={"instance_type_id": "m5d.xlarge", "local_disks": 1, "local_disk_size_gb": 150}),
    _node("i3.xlarge", 31232, 4, "i3.xlarge", "Storage Optimized", is_io_cache_enabled=True,
          node_instance_type={"instance_type_id": "i3.xlarge", "local_disks": 1, "local_disk_size_gb": 950}),
    _node("i3.2xlarge", 62464, 8, "i3.2xlarge", "Storage Optimized", is_io_cache_enabled=True,
          node_instance_type={"instance_type_id": "i3.2xlarge", "local_disks": 1, "local_disk_size_gb": 1900}),
    _node("r5d.large", 16384, 2, "r5d.large", "Memory Optimized",
          node_instance_type={"instance_type_id": "r5d.large", "local_disks": 1, "local_disk_size_gb": 75}),
    _node("Standard_DS3_v2", 14336, 4, "Standard_DS3_v2", "General Purpose",
          node_instance_type={"instance_type_id": "Standard_DS3_v2", "local_disks": 1, "local_disk_size_gb": 28}),
    _node("Standard_DS4_v2", 28672, 8, "Standard_DS4_v2", "General Purpose",
          node_instance_type={"instance_type_id": "Standard_DS4_v2", "local_disks": 1, "local_disk_size_gb": 56}),
    _node("n2-highmem-4", 32768, 4, "n2-highmem-4", "Memory Optimized"),
)
_NODE_BY_ID = {n["node_type_id"]: n for n in NODE_TYPES}


def _runtime(version: str, scala: str, flavour: str = "", lts: bool = True, spark: str = "3.5.0") -> dict:
    key = f"{version}.x-{flavour + '-' if flavour else ''}scala{scala}"
    label = {"": "", "photon": " Photon", "cpu-ml": " ML"}[flavour]
    lts_label = " LTS" if lts else ""
    return {"key": key, "name": f"{version}{lts_label}{label} (includes Apache Spark {spark}, Scala {scala})"}


#: What ``clusters/spark-versions`` offers (any version string is accepted on create, as a custom image could).
SPARK_VERSIONS: tuple[dict[str, str], ...] = (
    _runtime("16.4", "2.12"), _runtime("16.4", "2.13"), _runtime("16.4", "2.12", "photon"),
    _runtime("15.4", "2.12"), _runtime("15.4", "2.12", "photon"), _runtime("15.4", "2.12", "cpu-ml"),
    _runtime("14.3", "2.12"), _runtime("13.3", "2.12", spark="3.4.1"),
    _runtime("17.0", "2.13", lts=False, spark="4.0.0"),
)


@dataclass
class _Cluster:
    """One cluster: its public document plus what the lifecycle needs (never shown by ``get``)."""

    doc: dict[str, Any]
    created_time: int
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    #: When the current transitional state (PENDING, RESTARTING, RESIZING, TERMINATING) ends.
    deadline: int | None = None
    #: Termination reason an injected launch failure ends the current PENDING with.
    launch_failure: dict[str, Any] | None = None
    resize_from: int | None = None
    #: Set by ensure_started on a TERMINATING cluster: launch again as soon as it is TERMINATED.
    start_after_termination: bool = False

    @property
    def id(self) -> str:
        return self.doc["cluster_id"]

    @property
    def state(self) -> str:
        return self.doc["state"]

    def to_store(self) -> dict[str, Any]:
        return {"doc": self.doc, "created_time": self.created_time, "transitions": self.transitions,
                "deleted": self.deleted, "deadline": self.deadline, "launch_failure": self.launch_failure,
                "resize_from": self.resize_from, "start_after_termination": self.start_after_termination}

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> _Cluster:
        return cls(**data)


def _workers(doc: dict[str, Any]) -> int:
    """The current (target) number of workers; an autoscaling cluster starts at its minimum."""
    if "autoscale" in doc:
        return int(doc["autoscale"].get("min_workers", 0))
    return int(doc.get("num_workers") or 0)


def _size(doc: dict[str, Any]) -> dict[str, Any]:
    return {"autoscale": doc["autoscale"]} if "autoscale" in doc else {"num_workers": _workers(doc)}


def _pretty(state: str) -> str:
    """``RUNNING`` -> ``Running``, as the real service writes states in its messages."""
    return state.capitalize()


def _reason_message(reason: dict[str, Any], minutes: int | None = None) -> str:
    """The ``state_message`` of a terminated cluster, explaining its ``termination_reason``."""
    params = reason.get("parameters") or {}
    if params.get("databricks_error_message"):
        return params["databricks_error_message"]
    code = reason.get("code")
    if code == "INACTIVITY":
        return f"Inactive cluster terminated (inactive for {params.get('inactivity_duration_min', minutes)} minutes)."
    if code == "USER_REQUEST":
        return f"Termination requested by {params.get('username', CREATOR)}"
    if code == "JOB_FINISHED":
        return "Job cluster terminated because its run finished."
    return f"Cluster terminated. Reason: {code}"


def _new_cluster_id(taken: dict[str, Any]) -> str:
    """A real-looking id (``MMDD-HHMMSS-xxxxxxxx``) never used before in this workspace."""
    alphabet = string.ascii_lowercase + string.digits
    while True:
        ident = time.strftime("%m%d-%H%M%S-", time.gmtime()) + "".join(secrets.choice(alphabet) for _ in range(8))
        if ident not in taken:
            return ident


class Clusters:
    """All clusters of the workspace. Call everything under ``workspace.lock`` (routes and the ticker do)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._clusters: dict[str, _Cluster] = {}
        #: Injected launch failures still to hand out: termination reasons, one per launch.
        self._launch_failures: list[dict[str, Any]] = []
        #: Injected slow starts still to hand out: PENDING durations in seconds, one per launch.
        self._slow_starts: list[float] = []

    # ------------------------------------------------------------------ persistence

    def recover(self) -> None:
        """Reload every cluster (deleted ones too, so ids are never reused) and its events."""
        self._clusters.clear()
        for ident, data in self.workspace.store.load(CLUSTER_KIND):
            self._clusters[ident] = _Cluster.from_store(data)
        for ident, event in self.workspace.store.load(EVENT_KIND):
            cluster = self._clusters.get(ident.rpartition("/")[0])
            if cluster is not None:
                cluster.events.append(event)
        for cluster in self._clusters.values():
            cluster.events.sort(key=lambda e: e["_seq"])

    def shutdown(self) -> None:
        """Nothing to stop: every change is already on disk; timelines resume after recover()."""

    def _save(self, cluster: _Cluster) -> None:
        self.workspace.store.put(CLUSTER_KIND, cluster.id, cluster.to_store())

    def _event(self, cluster: _Cluster, type_: str, now: int, **details: Any) -> None:
        seq = len(cluster.events)
        event = {"cluster_id": cluster.id, "timestamp": now, "type": type_, "details": details, "_seq": seq}
        cluster.events.append(event)
        self.workspace.store.put(EVENT_KIND, f"{cluster.id}/{seq:08d}", event)

    # ------------------------------------------------------------------ lookups

    def _find(self, cluster_id: Any, *, include_deleted: bool = False) -> _Cluster:
        if cluster_id is None or cluster_id == "":
            raise InvalidParameterValue("Missing required field: cluster_id")
        cluster = self._clusters.get(str(cluster_id))
        if cluster is None or (cluster.deleted and not include_deleted):
            raise does_not_exist("Cluster", cluster_id)
        return cluster

    def get_doc(self, cluster_id: str) -> dict[str, Any]:
        """The public JSON of a cluster (a shallow copy: cheap, and safe to serialize outside the lock)."""
        with self.workspace.lock:
            return dict(self._find(cluster_id).doc)

    def state(self, cluster_id: str) -> str:
        with self.workspace.lock:
            return self._find(cluster_id).state

    def list_clusters(self, *, states: set[str] | None = None, sources: set[str] | None = None) -> list[dict[str, Any]]:
        """Visible clusters, live ones first, newest first (as the real list orders them)."""
        with self.workspace.lock:
            docs = [dict(c.doc) for c in self._clusters.values() if not c.deleted
                    and (not states or c.state in states) and (not sources or c.doc["cluster_source"] in sources)]
        docs.sort(key=lambda d: (d["state"] == "TERMINATED", -d.get("start_time", 0)))
        return docs

    @staticmethod
    def node_types() -> list[dict[str, Any]]:
        return [dict(n) for n in NODE_TYPES]

    @staticmethod
    def spark_versions() -> list[dict[str, str]]:
        return [dict(v) for v in SPARK_VERSIONS]

    # ------------------------------------------------------------------ validation

    def validate_spec(self, spec: Any) -> dict[str, Any]:
        """Check a cluster spec as ``clusters/create`` does; return its known fields, normalized.

        Jobs can call this at submit time on a ``new_cluster`` to refuse a bad spec before any run starts.
        """
        if not isinstance(spec, dict):
            raise InvalidParameterValue("Invalid cluster spec: expected an object")
        params = Params(spec)
        clean: dict[str, Any] = {k: spec[k] for k in SPEC_FIELDS if spec.get(k) is not None}
        clean["spark_version"] = params.str("spark_version", required=True)
        clean["cluster_name"] = params.str("cluster_name", default="")
        node = params.str("node_type_id")
        if node is None and "instance_pool_id" not in params:
            raise InvalidParameterValue("Missing required field: node_type_id (or instance_pool_id). Pick one of"
                                        " clusters/list-node-types, e.g. i3.xlarge.")
        for name in ("node_type_id", "driver_node_type_id"):
            value = params.str(name)
            if value is not None and value not in _NODE_BY_ID:
                raise InvalidParameterValue(f"Node type {value} is not supported (field '{name}'). Supported node"
                                            f" types: {', '.join(_NODE_BY_ID)}")
            if value is not None:
                clean[name] = value
        if node is not None:
            clean.setdefault("driver_node_type_id", node)
        self._validate_size(params, clean)
        minutes = params.int("autotermination_minutes", minimum=0, maximum=10000)
        if minutes is not None and 0 < minutes < 10:
            raise InvalidParameterValue("Invalid value for field 'autotermination_minutes': must be 0 (never) or"
                                        f" between 10 and 10000 minutes, got {minutes}")
        clean["autotermination_minutes"] = minutes or 0
        for name in ("custom_tags", "spark_conf", "spark_env_vars"):
            mapping = params.dict(name)
            if mapping is not None and not all(isinstance(v, (str, int, float, bool)) for v in mapping.values()):
                raise InvalidParameterValue(f"Invalid value for field '{name}': values must be strings")
        return clean

    @staticmethod
    def _validate_size(params: Params, clean: dict[str, Any]) -> None:
        """Exactly one of ``num_workers`` and ``autoscale`` (with sane bounds); normalized into ``clean``."""
        num_workers = params.int("num_workers", minimum=0)
        autoscale = params.dict("autoscale")
        if num_workers is None and autoscale is None:
            raise InvalidParameterValue("Missing required field: num_workers (or autoscale with min_workers and"
                                        " max_workers)")
        if num_workers is not None and autoscale is not None:
            raise InvalidParameterValue("Only one of num_workers and autoscale may be set")
        clean.pop("num_workers", None)
        clean.pop("autoscale", None)
        if autoscale is None:
            clean["num_workers"] = num_workers
            return
        if autoscale.get("max_workers") is None:
            raise InvalidParameterValue("Missing required field: autoscale.max_workers")
        low = to_int(autoscale.get("min_workers", 0), "autoscale.min_workers")
        high = to_int(autoscale["max_workers"], "autoscale.max_workers")
        if low < 0 or high < 1 or low > high:
            raise InvalidParameterValue(f"Invalid autoscale range min_workers={low}, max_workers={high}: need"
                                        " 0 <= min_workers <= max_workers and max_workers >= 1")
        clean["autoscale"] = {"min_workers": low, "max_workers": high}

    # ------------------------------------------------------------------ commands (the REST API)

    def create(self, spec: dict[str, Any]) -> str:
        """``clusters/create``: a new all-purpose cluster, PENDING now, RUNNING after the start time."""
        with self.workspace.lock:
            return self._create(self.validate_spec(spec), source="API")

    def create_job_cluster(self, spec: dict[str, Any], *, run_id: int, task_key: str | None) -> str:
        """A job cluster for one run (source JOB, never auto-terminated: the run terminates it)."""
        with self.workspace.lock:
            clean = self.validate_spec(spec)
            clean["cluster_name"] = f"job-{run_id}-run-{task_key or 'run'}"
            clean["autotermination_minutes"] = 0
            return self._create(clean, source="JOB")

    def _create(self, clean: dict[str, Any], *, source: str) -> str:
        now = now_ms()
        ident = _new_cluster_id(self._clusters)
        doc: dict[str, Any] = {
            "cluster_id": ident, "creator_user_name": CREATOR, "cluster_source": source,
            **clean, "spec": dict(clean),
            "default_tags": self._default_tags(ident, clean["cluster_name"]),
            "state": "PENDING", "state_message": "", "start_time": now, "last_state_loss_time": 0,
            "last_activity_time": now, "jdbc_port": 10000,
        }
        cluster = _Cluster(doc=doc, created_time=now)
        self._clusters[ident] = cluster
        self._event(cluster, "CREATING", now, cluster_size=_size(doc), user=CREATOR)
        self._launch(cluster, now, event=None)
        return ident

    @staticmethod
    def _default_tags(ident: str, name: str) -> dict[str, str]:
        return {"Vendor": "Databricks", "Creator": CREATOR, "ClusterName": name, "ClusterId": ident}

    def start(self, cluster_id: str) -> None:
        """``clusters/start``: only a TERMINATED (or ERROR) cluster can start."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            if cluster.state not in ("TERMINATED", "ERROR"):
                raise self._unexpected(cluster)
            self._launch(cluster, now_ms(), event="STARTING")

    def ensure_started(self, cluster_id: str) -> None:
        """For runs on an existing cluster: start it if it is down, wait out a termination, else nothing."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            if cluster.state in ("TERMINATED", "ERROR"):
                self._launch(cluster, now_ms(), event="STARTING")
            elif cluster.state == "TERMINATING" and not cluster.start_after_termination:
                cluster.start_after_termination = True
                self._save(cluster)

    def restart(self, cluster_id: str) -> None:
        """``clusters/restart``: RUNNING -> RESTARTING -> RUNNING; any other state is INVALID_STATE."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            if cluster.state != "RUNNING":
                raise self._unexpected(cluster)
            self._restart(cluster, now_ms())

    def _restart(self, cluster: _Cluster, now: int) -> None:
        cluster.doc["last_restarted_time"] = now
        self._enter(cluster, "RESTARTING", now, "Restarting Spark", self.workspace.config.restart_seconds)
        self._event(cluster, "RESTARTING", now, user=CREATOR)
        self._save(cluster)

    def resize(self, cluster_id: str, *, num_workers: Any = None, autoscale: Any = None) -> None:
        """``clusters/resize``: only while RUNNING; RESIZING for the resize time, then RUNNING at the new size."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            params = Params({"num_workers": num_workers, "autoscale": autoscale})
            clean: dict[str, Any] = {}
            self._validate_size(params, clean)
            if cluster.state != "RUNNING":
                raise self._unexpected(cluster)
            now = now_ms()
            current = _workers(cluster.doc)
            cluster.doc.pop("num_workers", None)
            cluster.doc.pop("autoscale", None)
            cluster.doc.update(clean)
            cluster.doc["spec"] = {**{k: v for k, v in cluster.doc["spec"].items()
                                      if k not in ("num_workers", "autoscale")}, **clean}
            cluster.resize_from = current
            target = _workers(cluster.doc)
            self._enter(cluster, "RESIZING", now, f"Resizing cluster from {current} to {target} workers",
                        self.workspace.config.cluster_resize_seconds)
            self._event(cluster, "RESIZING", now, current_num_workers=current, target_num_workers=target,
                        user=CREATOR)
            self._save(cluster)

    def edit(self, cluster_id: str, spec: dict[str, Any]) -> None:
        """``clusters/edit``: replace the spec of a RUNNING (then it restarts) or TERMINATED cluster."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            if cluster.doc["cluster_source"] == "JOB":
                raise InvalidParameterValue(f"Cluster {cluster.id} is a job cluster and cannot be edited; change"
                                            " the job's new_cluster instead")
            clean = self.validate_spec(spec)
            if cluster.state not in ("RUNNING", "TERMINATED"):
                raise self._unexpected(cluster)
            now = now_ms()
            previous = cluster.doc["spec"]
            for name in SPEC_FIELDS:
                cluster.doc.pop(name, None)
            cluster.doc.update(clean)
            cluster.doc["spec"] = dict(clean)
            cluster.doc["default_tags"] = self._default_tags(cluster.id, clean["cluster_name"])
            self._event(cluster, "EDITED", now, previous_attributes=previous, attributes=dict(clean), user=CREATOR)
            if cluster.state == "RUNNING":
                self._restart(cluster, now)
            else:
                self._save(cluster)

    def delete(self, cluster_id: str) -> None:
        """``clusters/delete`` (= terminate): a no-op on a cluster already terminating or terminated."""
        self.terminate(cluster_id, code="USER_REQUEST", parameters={"username": CREATOR})

    def terminate(self, cluster_id: str, *, code: str, type_: str = "SUCCESS",
                  parameters: dict[str, Any] | None = None) -> None:
        """Begin terminating with the given reason (e.g. JOB_FINISHED for a job cluster); idempotent."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            cluster.start_after_termination = False
            if cluster.state in ("TERMINATING", "TERMINATED"):
                self._save(cluster)
                return
            reason = {"code": code, "type": type_, "parameters": dict(parameters or {})}
            self._begin_termination(cluster, now_ms(), reason)

    def permanent_delete(self, cluster_id: str) -> None:
        """``clusters/permanent-delete``: terminate at once and hide it; record and events are kept."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            now = now_ms()
            if cluster.state != "TERMINATED":
                reason = {"code": "USER_REQUEST", "type": "SUCCESS", "parameters": {"username": CREATOR}}
                if cluster.state != "TERMINATING":
                    self._event(cluster, "TERMINATING", now, reason=reason, user=CREATOR)
                    cluster.doc["termination_reason"] = reason
                self._finish_termination(cluster, now)
            cluster.deleted = True
            cluster.transitions.append({"state": "DELETED", "timestamp": now})
            self._save(cluster)

    def events(self, cluster_id: str, *, order: str = "DESC", offset: int = 0, limit: int = 50,
               event_types: list[str] | None = None, start_time: int | None = None,
               end_time: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """``clusters/events``: one page of matching events and the total count of matches.

        Events of permanently deleted clusters stay readable, so a finished pipeline's timeline can be shown.
        """
        with self.workspace.lock:
            cluster = self._find(cluster_id, include_deleted=True)
            events = list(cluster.events)
        wanted = set(event_types or ())
        matching = [
            {k: v for k, v in e.items() if k != "_seq"} for e in events
            if (not wanted or e["type"] in wanted)
            and (start_time is None or e["timestamp"] >= start_time)
            and (end_time is None or e["timestamp"] <= end_time)
        ]
        if order == "DESC":
            matching.reverse()
        return matching[offset:offset + limit], len(matching)

    # ------------------------------------------------------------------ hooks for other models and tests

    def mark_active(self, cluster_id: str) -> None:
        """Something used the cluster now (a command, a run): auto-termination counts from here."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            cluster.doc["last_activity_time"] = now_ms()
            self._save(cluster)

    def fail_next_launches(self, count: int, code: str = "CLOUD_PROVIDER_LAUNCH_FAILURE",
                           type_: str = "CLOUD_FAILURE") -> None:
        """Fault injection: the next ``count`` launches (create/start) end TERMINATED with this reason."""
        with self.workspace.lock:
            message = (f"Injected launch failure ({code}): the cloud provider could not launch the cluster's"
                       " instances. Start the cluster again to retry.")
            reason = {"code": code, "type": type_, "parameters": {"databricks_error_message": message}}
            self._launch_failures.extend(dict(reason) for _ in range(count))

    def slow_next_starts(self, count: int, seconds: float) -> None:
        """Fault injection: the next ``count`` launches stay PENDING for ``seconds`` instead of the configured time."""
        with self.workspace.lock:
            self._slow_starts.extend(float(seconds) for _ in range(count))

    def kill(self, cluster_id: str, code: str = "DRIVER_UNREACHABLE") -> None:
        """Fault injection: a live cluster dies now (TERMINATED, type SERVICE_FAULT); no-op if already down."""
        with self.workspace.lock:
            cluster = self._find(cluster_id)
            if cluster.state in ("TERMINATING", "TERMINATED"):
                return
            now = now_ms()
            message = f"Injected fault ({code}): the cluster's driver stopped responding and the cluster was lost."
            reason = {"code": code, "type": "SERVICE_FAULT", "parameters": {"databricks_error_message": message}}
            cluster.doc["termination_reason"] = reason
            cluster.doc["last_state_loss_time"] = now
            self._event(cluster, "TERMINATING", now, reason=reason)
            self._finish_termination(cluster, now)

    def usage(self) -> list[dict[str, Any]]:
        """Every cluster ever created (permanently deleted ones too), with the time it spent up."""
        now = now_ms()
        with self.workspace.lock:
            clusters = sorted(self._clusters.values(), key=lambda c: c.created_time)
            return [{
                "cluster_id": c.id, "cluster_name": c.doc.get("cluster_name", ""),
                "cluster_source": c.doc["cluster_source"],
                "compute_type": "JOBS" if c.doc["cluster_source"] == "JOB" else "ALL_PURPOSE",
                "node_type_id": c.doc.get("node_type_id"), "num_workers": _workers(c.doc),
                "custom_tags": dict(c.doc.get("custom_tags") or {}), "state": c.state, "deleted": c.deleted,
                "created_time": c.created_time, "running_seconds": self._running_seconds(c, now),
                "transitions": [dict(t) for t in c.transitions],
            } for c in clusters]

    @staticmethod
    def _running_seconds(cluster: _Cluster, now: int) -> float:
        total = 0
        steps = cluster.transitions
        for i, step in enumerate(steps):
            if step["state"] in _UP_STATES:
                end = steps[i + 1]["timestamp"] if i + 1 < len(steps) else now
                total += max(0, end - step["timestamp"])
        return round(total / 1000, 3)

    # ------------------------------------------------------------------ the clock

    def tick(self, now: int) -> None:
        """Finish transitional states whose time is up; auto-terminate idle clusters."""
        for cluster in self._clusters.values():
            state = cluster.doc["state"]
            if state == "TERMINATED":
                continue
            if cluster.deadline is not None and now >= cluster.deadline:
                self._advance(cluster, now)
            elif state == "RUNNING":
                self._check_inactivity(cluster, now)

    def _check_inactivity(self, cluster: _Cluster, now: int) -> None:
        minutes = cluster.doc.get("autotermination_minutes") or 0
        if not minutes:
            return
        is_busy = getattr(self.workspace.jobs, "is_cluster_busy", None)
        if is_busy is not None and is_busy(cluster.id):
            # Counted in memory only: persisting on every tick would be a write every 20 ms per busy cluster.
            cluster.doc["last_activity_time"] = now
            return
        idle_ms = now - cluster.doc.get("last_activity_time", now)
        if idle_ms >= minutes * self.workspace.config.seconds_per_minute * 1000:
            reason = {"code": "INACTIVITY", "type": "SUCCESS",
                      "parameters": {"inactivity_duration_min": str(minutes)}}
            self._begin_termination(cluster, now, reason)

    def _advance(self, cluster: _Cluster, now: int) -> None:
        state = cluster.state
        if state == "PENDING" and cluster.launch_failure is not None:
            reason, cluster.launch_failure = cluster.launch_failure, None
            self._begin_termination(cluster, now, reason)
        elif state in ("PENDING", "RESTARTING", "RESIZING"):
            self._become_running(cluster, now, previous=state)
        elif state == "TERMINATING":
            self._finish_termination(cluster, now)
            if cluster.start_after_termination:
                cluster.start_after_termination = False
                self._launch(cluster, now, event="STARTING")
        else:  # a deadline in a stable state is stale (should not happen): drop it
            cluster.deadline = None
            self._save(cluster)

    def _become_running(self, cluster: _Cluster, now: int, previous: str) -> None:
        doc = cluster.doc
        workers = _workers(doc)
        node = _NODE_BY_ID.get(doc.get("node_type_id", ""))
        if node is not None:
            doc["cluster_memory_mb"] = node["memory_mb"] * (workers + 1)
            doc["cluster_cores"] = node["num_cores"] * (workers + 1)
        if previous != "RESIZING":
            doc["spark_context_id"] = secrets.randbits(62)
            doc["driver"] = {"node_id": secrets.token_hex(16), "instance_id": "i-" + secrets.token_hex(8),
                             "start_timestamp": now, "private_ip": "127.0.0.1", "host_private_ip": "127.0.0.1",
                             "public_dns": "", "node_attributes": {"is_spot": False}}
        doc["executors"] = [{"node_id": secrets.token_hex(16), "private_ip": "127.0.0.1",
                             "start_timestamp": now} for _ in range(workers)]
        doc["last_activity_time"] = now
        self._enter(cluster, "RUNNING", now, "", None)
        if previous == "RESIZING":
            if workers > (cluster.resize_from or 0):
                self._event(cluster, "UPSIZE_COMPLETED", now, current_num_workers=workers,
                            target_num_workers=workers)
            cluster.resize_from = None
        else:
            self._event(cluster, "RUNNING", now, current_num_workers=workers, target_num_workers=workers)
        self._save(cluster)

    def _launch(self, cluster: _Cluster, now: int, *, event: str | None) -> None:
        """Enter PENDING for the start time; an injected failure (if any) is decided now, so it is durable."""
        doc = cluster.doc
        for name in ("terminated_time", "termination_reason", "driver", "executors"):
            doc.pop(name, None)
        doc["start_time"] = now
        doc["last_activity_time"] = now
        cluster.launch_failure = self._launch_failures.pop(0) if self._launch_failures else None
        if cluster.launch_failure is not None:
            self.workspace.faults.count("cluster_launch_failure")
        start_seconds = self.workspace.config.cluster_start_seconds
        if self._slow_starts:
            start_seconds = self._slow_starts.pop(0)
            self.workspace.faults.count("slow_cluster_start")
        if event is not None:
            self._event(cluster, event, now, user=CREATOR)
        self._enter(cluster, "PENDING", now, "Finding instances for new nodes, acquiring more instances if"
                    " necessary", start_seconds)
        self._save(cluster)

    def _begin_termination(self, cluster: _Cluster, now: int, reason: dict[str, Any]) -> None:
        cluster.doc["termination_reason"] = reason
        self._event(cluster, "TERMINATING", now, reason=reason, user=CREATOR)
        self._enter(cluster, "TERMINATING", now, "Terminating the Spark cluster",
                    self.workspace.config.cluster_stop_seconds)
        self._save(cluster)

    def _finish_termination(self, cluster: _Cluster, now: int) -> None:
        doc = cluster.doc
        for name in ("driver", "executors", "spark_context_id", "cluster_memory_mb", "cluster_cores"):
            doc.pop(name, None)
        doc["terminated_time"] = now
        reason = doc.get("termination_reason") or {"code": "UNKNOWN", "type": "SERVICE_FAULT", "parameters": {}}
        doc["termination_reason"] = reason
        self._enter(cluster, "TERMINATED", now, _reason_message(reason, doc.get("autotermination_minutes")), None)
        cluster.launch_failure = None
        self._save(cluster)

    @staticmethod
    def _enter(cluster: _Cluster, state: str, now: int, message: str, seconds: float | None) -> None:
        cluster.doc["state"] = state
        cluster.doc["state_message"] = message
        cluster.deadline = None if seconds is None else now + int(seconds * 1000)
        cluster.transitions.append({"state": state, "timestamp": now})

    @staticmethod
    def _unexpected(cluster: _Cluster) -> InvalidState:
        return InvalidState(f"Cluster {cluster.id} is in unexpected state {_pretty(cluster.state)}.")
