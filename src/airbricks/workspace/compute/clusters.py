"""Clusters of the local workspace: the lifecycle state machine, events, auto-termination, usage.

The model knows nothing of HTTP (moto style): it moves clusters through
PENDING -> RUNNING -> (RESIZING | RESTARTING -> RUNNING) -> TERMINATING -> TERMINATED on the workspace clock,
and raises :mod:`airbricks.workspace.errors` exceptions with the real service's codes and messages. Specs
are validated by :mod:`airbricks.workspace.compute.specs`; what a state change does (and the ticker) is
:class:`~airbricks.workspace.compute.lifecycle.ClusterLifecycle`, which this model holds.

Every public method takes the workspace lock and writes each change through the store before it returns.
Deadlines are absolute epoch ms, so a PENDING cluster resumes its timeline after :meth:`Clusters.recover`.
Permanently deleted clusters keep their record and events (``usage()``, ``clusters/events``) but vanish
from ``get``/``list``; their ids are never handed out again.

Readers (``clusters/get`` is polled constantly) take a shallow copy of the public document under the lock.
That is safe because nested values (``termination_reason``, ``custom_tags``...) are always *replaced*, never
mutated in place.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.compute.cluster import DOWN_STATES, UP_STATES, Cluster, new_cluster_id, user_request
from airbricks.workspace.compute.engine import ComputeEngine, NoEngine
from airbricks.workspace.compute.lifecycle import ClusterLifecycle
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists, does_not_exist
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.shared import Shared


def _never_busy(_cluster_id: str) -> bool:
    return False


def _ignore(_kind: str) -> None:
    return None


def _as_is(doc: dict[str, Any]) -> dict[str, Any]:
    return doc


class Clusters:
    """All clusters of the workspace: the REST API's commands, checked, then handed to the lifecycle.

    :param shared: the workspace's store, lock, clock and settings.
    :param engine: runs the process behind each cluster (a Spark driver); none by default.
    :param launch_spec: the spec a driver starts with, from the cluster's (the workspace resolves secret
        references in it); the cluster's own by default.
    :param is_busy: whether a run waits for or runs on a cluster (busy clusters never auto-terminate).
    :param on_fault: called with the fault kind when an injected fault fires (for the fault counts).
    :param require_pool: raises when an instance pool a spec names does not exist (or was deleted).
    """

    def __init__(
        self,
        shared: Shared,
        *,
        engine: ComputeEngine | None = None,
        launch_spec: Callable[[dict[str, Any]], dict[str, Any]] = _as_is,
        is_busy: Callable[[str], bool] = _never_busy,
        on_fault: Callable[[str], None] = _ignore,
        require_pool: Callable[[str], None] = _ignore,
    ) -> None:
        self.shared = shared
        self.is_busy = is_busy
        self.require_pool = require_pool
        self._life = ClusterLifecycle(
            shared,
            engine or NoEngine(),
            launch_spec=launch_spec,
            is_busy=lambda cluster_id: self.is_busy(cluster_id),  # read late: tests and faults replace it
            on_fault=on_fault,
        )

    @property
    def engine(self) -> ComputeEngine:
        """The compute engine every cluster's driver runs on (SQL warehouses share it)."""
        return self._life.engine

    def tick(self, now: int) -> None:
        """Finish transitional states whose time is up; auto-terminate idle clusters."""
        self._life.tick(now)

    # ------------------------------------------------------------------ persistence

    def recover(self) -> None:
        """Reload every cluster (deleted ones too, so ids are never reused) and its events."""
        with self.shared.lock:
            self._life.load()
            self.engine.recover()
            now = self.shared.now_ms()
            for cluster in self._life.clusters.values():
                if cluster.state in ("PENDING", "RESTARTING") or (
                    cluster.state in UP_STATES and self.engine.drivers_die_with_server
                ):
                    self._life.relaunch_after_restart(cluster, now)
                elif cluster.state in UP_STATES:
                    self.engine.launch(cluster.id, cluster.doc)

    # ------------------------------------------------------------------ lookups

    def _find(self, cluster_id: Any, *, include_deleted: bool = False) -> Cluster:
        if cluster_id is None or cluster_id == "":
            raise InvalidParameterValue("Missing required field: cluster_id")
        cluster = self._life.clusters.get(str(cluster_id))
        if cluster is None or (cluster.deleted and not include_deleted):
            raise does_not_exist("Cluster", cluster_id)
        return cluster

    def get(self, cluster_id: str) -> dict[str, Any]:
        """The public JSON of a cluster (a shallow copy: cheap, and safe to serialize outside the lock)."""
        with self.shared.lock:
            return dict(self._find(cluster_id).doc)

    def state(self, cluster_id: str) -> str:
        with self.shared.lock:
            return self._find(cluster_id).state

    def list(self, *, states: set[str] | None = None, sources: set[str] | None = None) -> list[dict[str, Any]]:
        """Visible clusters, live ones first, newest first (as the real list orders them)."""
        with self.shared.lock:
            docs = [
                dict(c.doc)
                for c in self._life.clusters.values()
                if not c.deleted
                and (not states or c.state in states)
                and (not sources or c.doc["cluster_source"] in sources)
            ]
        docs.sort(key=lambda d: (d["state"] == "TERMINATED", -d.get("start_time", 0)))
        return docs

    # ------------------------------------------------------------------ commands (the REST API)

    def _validate(self, spec: dict[str, Any]) -> dict[str, Any]:
        clean = cluster_specs.validate_spec(spec, self.shared.config.cloud)
        for name in ("instance_pool_id", "driver_instance_pool_id"):
            if clean.get(name):
                self.require_pool(str(clean[name]))
        return clean

    def create(self, spec: dict[str, Any], *, cluster_id: str | None = None, creator: str | None = None) -> str:
        """``clusters/create``: a new all-purpose cluster, PENDING now, RUNNING after the start time.

        ``cluster_id``: the id it must have (a workspace fixture's), instead of a fresh one. ``creator``: who
        created it (``creator_user_name``, the caller as on Databricks; default the workspace's user)."""
        clean = self._validate(spec)
        with self.shared.lock:
            if cluster_id is not None and cluster_id in self._life.clusters:
                raise ResourceAlreadyExists(f"Cluster {cluster_id} already exists")
            return self._create(clean, source="API", ident=cluster_id, creator=creator)

    def create_job_cluster(self, spec: dict[str, Any], *, run_id: int, task_key: str | None) -> str:
        """A job cluster for one run (source JOB, never auto-terminated: the run terminates it)."""
        clean = self._validate(spec)
        clean["cluster_name"] = f"job-{run_id}-run-{task_key or 'run'}"
        clean["autotermination_minutes"] = 0
        with self.shared.lock:
            return self._create(clean, source="JOB")

    def _create(
        self, clean: dict[str, Any], *, source: str, ident: str | None = None, creator: str | None = None
    ) -> str:
        now = self.shared.now_ms()
        creator = creator or self.shared.user_name
        ident = ident or new_cluster_id(now, self._life.clusters)
        doc: dict[str, Any] = {
            "cluster_id": ident,
            "creator_user_name": creator,
            "cluster_source": source,
            **clean,
            "spec": dict(clean),
            "default_tags": self._default_tags(ident, clean["cluster_name"]),
            "state": "PENDING",
            "state_message": "",
            "start_time": now,
            "last_state_loss_time": 0,
            "last_activity_time": now,
            "jdbc_port": 10000,
        }
        cluster = Cluster(doc=doc, created_time=now)
        self._life.clusters[ident] = cluster
        self._life.event(cluster, "CREATING", now, cluster_size=cluster_specs.size(doc), user=creator)
        self._life.launch(cluster, now, event=None)
        return ident

    def _default_tags(self, ident: str, name: str) -> dict[str, str]:
        return {"Vendor": "Databricks", "Creator": self.shared.user_name, "ClusterName": name, "ClusterId": ident}

    def start(self, cluster_id: str) -> None:
        """``clusters/start``: only a TERMINATED (or ERROR) cluster can start."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            if cluster.state not in ("TERMINATED", "ERROR"):
                raise cluster.unexpected()
            self._life.launch(cluster, self.shared.now_ms(), event="STARTING")

    def ensure_started(self, cluster_id: str) -> None:
        """For runs on an existing cluster: start it if it is down, wait out a termination, else nothing."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            if cluster.state in ("TERMINATED", "ERROR"):
                self._life.launch(cluster, self.shared.now_ms(), event="STARTING")
            elif cluster.state == "TERMINATING" and not cluster.start_after_termination:
                cluster.start_after_termination = True
                self._life.save(cluster)

    def restart(self, cluster_id: str) -> None:
        """``clusters/restart``: RUNNING -> RESTARTING -> RUNNING; any other state is INVALID_STATE."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            if cluster.state != "RUNNING":
                raise cluster.unexpected()
            self._life.restart(cluster, self.shared.now_ms())

    def resize(self, cluster_id: str, *, num_workers: Any = None, autoscale: Any = None) -> None:
        """``clusters/resize``: only while RUNNING; RESIZING for the resize time, then RUNNING at the new size."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            clean = cluster_specs.validate_size(num_workers=num_workers, autoscale=autoscale)
            if cluster.state != "RUNNING":
                raise cluster.unexpected()
            now = self.shared.now_ms()
            current = cluster_specs.workers(cluster.doc)
            cluster.doc.pop("num_workers", None)
            cluster.doc.pop("autoscale", None)
            cluster.doc.update(clean)
            cluster.doc["spec"] = {
                **{k: v for k, v in cluster.doc["spec"].items() if k not in ("num_workers", "autoscale")},
                **clean,
            }
            cluster.resize_from = current
            target = cluster_specs.workers(cluster.doc)
            cluster.enter(
                "RESIZING",
                now,
                f"Resizing cluster from {current} to {target} workers",
                self.shared.config.cluster_resize_seconds,
            )
            self._life.event(
                cluster,
                "RESIZING",
                now,
                current_num_workers=current,
                target_num_workers=target,
                user=self.shared.user_name,
            )
            self._life.save(cluster)

    def edit(self, cluster_id: str, spec: dict[str, Any]) -> None:
        """``clusters/edit``: replace the spec of a RUNNING (then it restarts) or TERMINATED cluster."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            if cluster.is_job_cluster:
                raise InvalidParameterValue(
                    f"Cluster {cluster.id} is a job cluster and cannot be edited; change the job's new_cluster instead"
                )
            clean = self._validate(spec)
            if cluster.state not in ("RUNNING", "TERMINATED"):
                raise cluster.unexpected()
            now = self.shared.now_ms()
            previous = cluster.doc["spec"]
            for name in cluster_specs.SPEC_FIELDS:
                cluster.doc.pop(name, None)
            cluster.doc.update(clean)
            cluster.doc["spec"] = dict(clean)
            cluster.doc["default_tags"] = self._default_tags(cluster.id, clean["cluster_name"])
            self._life.event(
                cluster, "EDITED", now, previous_attributes=previous, attributes=dict(clean), user=self.shared.user_name
            )
            if cluster.state == "RUNNING":
                self._life.restart(cluster, now)
            else:
                self._life.save(cluster)

    def delete(self, cluster_id: str) -> None:
        """``clusters/delete`` (= terminate): a no-op on a cluster already terminating or terminated."""
        self.terminate(cluster_id, reason=user_request(self.shared.user_name))

    def terminate(self, cluster_id: str, *, reason: TerminationReason) -> None:
        """Begin terminating with the given reason (e.g. JOB_FINISHED for a job cluster); idempotent."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            cluster.start_after_termination = False
            if cluster.state in DOWN_STATES:
                self._life.save(cluster)
                return
            self._life.begin_termination(cluster, self.shared.now_ms(), reason)

    def permanent_delete(self, cluster_id: str) -> None:
        """``clusters/permanent-delete``: TERMINATED and hidden at once (record and events are kept); its driver
        stops gracefully in the background within a grace period."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            now = self.shared.now_ms()
            if cluster.state != "TERMINATED":
                reason = user_request(self.shared.user_name)
                if cluster.state != "TERMINATING":
                    self._life.event(cluster, "TERMINATING", now, reason=reason.to_doc(), user=self.shared.user_name)
                    cluster.doc["termination_reason"] = reason.to_doc()
                self._life.finish_termination(cluster, now)
            self.engine.stop(cluster.id)  # graceful (a JVM may be writing its class archive), bounded by a grace
            cluster.deleted = True
            cluster.transitions.append({"state": "DELETED", "timestamp": now})
            self._life.save(cluster)

    def events(
        self,
        cluster_id: str,
        *,
        order: str = "DESC",
        offset: int = 0,
        limit: int = 50,
        event_types: builtins.list[str] | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> Page[dict[str, Any]]:
        """``clusters/events``: one page of the matching events.

        Events of permanently deleted clusters stay readable, so a finished pipeline's timeline can be shown.
        """
        with self.shared.lock:
            events = list(self._find(cluster_id, include_deleted=True).events)
        wanted = set(event_types or ())
        matching = [
            e.to_doc()
            for e in events
            if (not wanted or e.type in wanted)
            and (start_time is None or e.timestamp >= start_time)
            and (end_time is None or e.timestamp <= end_time)
        ]
        if order == "DESC":
            matching.reverse()
        return paginate(matching, offset, limit)

    # ------------------------------------------------------------------ for runs, faults and the demo

    def spark_remote(self, cluster_id: str) -> str | None:
        """The Spark Connect URL of the cluster's driver (None: no Spark engine on this cluster)."""
        return self.engine.report(cluster_id).remote

    def spark_submit_command(self, cluster_id: str, arguments: builtins.list[str]) -> builtins.list[str] | None:
        """``spark-submit`` with the cluster's settings (None: the cluster has no Spark driver)."""
        return self.engine.submit_command(cluster_id, arguments)

    def mark_active(self, cluster_id: str) -> None:
        """Something used the cluster now (a command, a run): auto-termination counts from here."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            cluster.doc["last_activity_time"] = self.shared.now_ms()
            self._life.save(cluster)

    def fail_next_launches(
        self, count: int, code: str = "CLOUD_PROVIDER_LAUNCH_FAILURE", type_: str = "CLOUD_FAILURE"
    ) -> None:
        """Fault injection: the next ``count`` launches (create/start) end TERMINATED with this reason."""
        message = (
            f"Injected launch failure ({code}): the cloud provider could not launch the cluster's"
            " instances. Start the cluster again to retry."
        )
        reason = TerminationReason.error(code, message, type_)
        with self.shared.lock:
            self._life.launch_failures.extend(reason for _ in range(count))

    def slow_next_starts(self, count: int, seconds: float) -> None:
        """Fault injection: the next ``count`` launches stay PENDING for ``seconds`` instead of the configured time."""
        with self.shared.lock:
            self._life.slow_starts.extend(float(seconds) for _ in range(count))

    def kill(self, cluster_id: str, code: str = "DRIVER_UNREACHABLE") -> None:
        """Fault injection: a live cluster dies now (TERMINATED, type SERVICE_FAULT); no-op if already down."""
        with self.shared.lock:
            cluster = self._find(cluster_id)
            if cluster.state in DOWN_STATES:
                return
            now = self.shared.now_ms()
            message = f"Injected fault ({code}): the cluster's driver stopped responding and the cluster was lost."
            reason = TerminationReason.error(code, message)
            self.engine.kill(cluster.id)
            self._life.lose(cluster, now, reason)

    def usage(self) -> builtins.list[dict[str, Any]]:
        """Every cluster ever created (permanently deleted ones too), with the time it spent up."""
        with self.shared.lock:
            now = self.shared.now_ms()
            return [c.usage(now) for c in sorted(self._life.clusters.values(), key=lambda c: c.created_time)]
