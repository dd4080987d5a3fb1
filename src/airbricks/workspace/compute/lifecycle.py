"""The cluster lifecycle: what the ticker and every state change do, for the cluster model.

PENDING -> RUNNING -> (RESIZING | RESTARTING -> RUNNING) -> TERMINATING -> TERMINATED. A transitional state
ends when its time is up *and* the compute engine agrees (the driver answers, or has stopped); a driver that
dies while RUNNING ends the cluster at once with the engine's reason. Injected launch failures and slow
starts are decided at launch, so they are durable. Callers hold the workspace lock.

:class:`ClusterLifecycle` is a helper the clusters model (:class:`~airbricks.workspace.compute.clusters.Clusters`,
the REST API's side) holds: it owns the registry of clusters, the engine and the injected faults still to hand
out, so each is declared once and the API side reads as validation plus one lifecycle call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airbricks.workspace.compute.cluster import UP_STATES, Cluster, ClusterEvent
from airbricks.workspace.compute.engine import ComputeEngine, DriverState, LaunchRefused
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.shared import Shared

CLUSTER_KIND = "cluster"
EVENT_KIND = "cluster_event"


def _driver_lost() -> TerminationReason:
    return TerminationReason.error("DRIVER_UNREACHABLE", "The cluster's Spark driver stopped unexpectedly.")


class ClusterLifecycle:
    """State changes of clusters, on the workspace clock.

    :param shared: the workspace's store, lock, clock and settings.
    :param engine: runs the process behind each cluster.
    :param launch_spec: the spec a driver starts with, from the cluster's (secret references resolved).
    :param is_busy: whether a run waits for or runs on a cluster (busy clusters never auto-terminate).
    :param on_fault: called with the fault kind when an injected fault fires (for the fault counts).
    """

    def __init__(
        self,
        shared: Shared,
        engine: ComputeEngine,
        *,
        launch_spec: Callable[[dict[str, Any]], dict[str, Any]],
        is_busy: Callable[[str], bool],
        on_fault: Callable[[str], None],
    ) -> None:
        self.shared = shared
        self.engine = engine
        self.launch_spec = launch_spec
        self.is_busy = is_busy
        self.on_fault = on_fault
        #: Every cluster by id, permanently deleted ones too (their ids are never handed out again).
        self.clusters: dict[str, Cluster] = {}
        #: Injected launch failures still to hand out: termination reasons, one per launch.
        self.launch_failures: list[TerminationReason] = []
        #: Injected slow starts still to hand out: PENDING durations in seconds, one per launch.
        self.slow_starts: list[float] = []

    # ------------------------------------------------------------------ persistence

    def save(self, cluster: Cluster) -> None:
        self.shared.store.put(CLUSTER_KIND, cluster.id, cluster.to_store())

    def event(self, cluster: Cluster, type_: str, now: int, **details: Any) -> None:
        event = ClusterEvent(cluster.id, now, type_, details, seq=len(cluster.events))
        cluster.events.append(event)
        self.shared.store.put(EVENT_KIND, event.key, event.to_doc())

    def load(self) -> None:
        """Reload every cluster (deleted ones too) and its events from the store."""
        self.clusters.clear()
        for ident, data in self.shared.store.load(CLUSTER_KIND):
            self.clusters[ident] = Cluster.from_store(data)
        for key, data in self.shared.store.load(EVENT_KIND):
            event = ClusterEvent.from_store(key, data)
            cluster = self.clusters.get(event.cluster_id)
            if cluster is not None:
                cluster.events.append(event)
        for cluster in self.clusters.values():
            cluster.events.sort(key=lambda e: e.seq)

    def relaunch_after_restart(self, cluster: Cluster, now: int) -> None:
        """A cluster that was starting or up when the server stopped: its driver went with the server, so it
        starts again (RUNNING ones through RESTARTING, as a driver restart looks on Databricks)."""
        if cluster.state in UP_STATES and cluster.state != "RESTARTING":
            cluster.enter("RESTARTING", now, "Restarting Spark: the local workspace restarted", 0)
            self.event(cluster, "RESTARTING", now, user=self.shared.user_name)
        self._start_driver(cluster, now)
        self.save(cluster)

    # ------------------------------------------------------------------ transitions

    def _start_driver(self, cluster: Cluster, now: int) -> None:
        """Ask the engine for the cluster's driver (its spec as :attr:`launch_spec` makes it); no capacity, or a
        spec that cannot be made (a missing secret), makes the launch fail with that reason."""
        try:
            self.engine.launch(cluster.id, self.launch_spec(cluster.doc))
        except LaunchRefused as refused:
            cluster.launch_failure = refused.reason
            cluster.deadline = now

    def restart(self, cluster: Cluster, now: int) -> None:
        cluster.doc["last_restarted_time"] = now
        cluster.enter("RESTARTING", now, "Restarting Spark", self.shared.config.restart_seconds)
        self.event(cluster, "RESTARTING", now, user=self.shared.user_name)
        self.engine.kill(cluster.id)
        self._start_driver(cluster, now)
        self.save(cluster)

    def lose(self, cluster: Cluster, now: int, reason: TerminationReason) -> None:
        """The cluster died (its driver is gone): TERMINATED at once with ``reason``."""
        cluster.doc["termination_reason"] = reason.to_doc()
        cluster.doc["last_state_loss_time"] = now
        self.event(cluster, "TERMINATING", now, reason=reason.to_doc())
        self.finish_termination(cluster, now)

    def launch(self, cluster: Cluster, now: int, *, event: str | None) -> None:
        """Enter PENDING for the start time; an injected failure (if any) is decided now, so it is durable."""
        cluster.clear_for_launch(now)
        cluster.launch_failure = self.launch_failures.pop(0) if self.launch_failures else None
        if cluster.launch_failure is not None:
            self.on_fault("cluster_launch_failure")
        start_seconds = self.shared.config.cluster_start_seconds
        if self.slow_starts:
            start_seconds = self.slow_starts.pop(0)
            self.on_fault("slow_cluster_start")
        if event is not None:
            self.event(cluster, event, now, user=self.shared.user_name)
        cluster.enter(
            "PENDING", now, "Finding instances for new nodes, acquiring more instances if necessary", start_seconds
        )
        if cluster.launch_failure is None:
            self._start_driver(cluster, now)
        self.save(cluster)

    def begin_termination(self, cluster: Cluster, now: int, reason: TerminationReason) -> None:
        cluster.doc["termination_reason"] = reason.to_doc()
        self.event(cluster, "TERMINATING", now, reason=reason.to_doc(), user=self.shared.user_name)
        cluster.enter("TERMINATING", now, "Terminating the Spark cluster", self.shared.config.cluster_stop_seconds)
        self.engine.stop(cluster.id)
        self.save(cluster)

    def finish_termination(self, cluster: Cluster, now: int) -> None:
        cluster.describe_terminated(now)
        self.save(cluster)

    # ------------------------------------------------------------------ the clock

    def tick(self, now: int) -> None:
        """Finish transitional states whose time is up; auto-terminate idle clusters."""
        with self.shared.lock:
            for cluster in list(self.clusters.values()):
                state = cluster.doc["state"]
                if state == "TERMINATED":
                    continue
                if cluster.deadline is not None and now >= cluster.deadline:
                    self._advance(cluster, now)
                elif state in ("RUNNING", "RESIZING"):
                    report = self.engine.report(cluster.id)
                    if report.state is DriverState.FAILED:
                        self.lose(cluster, now, report.reason or _driver_lost())
                    elif state == "RUNNING":
                        self._check_inactivity(cluster, now)

    def _check_inactivity(self, cluster: Cluster, now: int) -> None:
        minutes = cluster.doc.get("autotermination_minutes") or 0
        if not minutes:
            return
        if self.is_busy(cluster.id):
            # Counted in memory only: persisting on every tick would be a write every 20 ms per busy cluster.
            cluster.doc["last_activity_time"] = now
            return
        idle_ms = now - cluster.doc.get("last_activity_time", now)
        if idle_ms >= minutes * self.shared.config.seconds_per_minute * 1000:
            reason = TerminationReason("INACTIVITY", "SUCCESS", {"inactivity_duration_min": str(minutes)})
            self.begin_termination(cluster, now, reason)

    def _advance(self, cluster: Cluster, now: int) -> None:
        """A transitional state's time is up: move on, once the engine agrees (a driver started or stopped)."""
        state = cluster.state
        if state in ("PENDING", "RESTARTING") and cluster.launch_failure is not None:
            reason, cluster.launch_failure = cluster.launch_failure, None
            self.engine.kill(cluster.id)
            self.begin_termination(cluster, now, reason)
        elif state in ("PENDING", "RESTARTING"):
            report = self.engine.report(cluster.id)
            if report.state is DriverState.READY:
                self._become_running(cluster, now, previous=state, note=report.note)
            elif report.state in (DriverState.FAILED, DriverState.STOPPED):
                self.begin_termination(cluster, now, report.reason or _driver_lost())
        elif state == "RESIZING":
            self._become_running(cluster, now, previous=state)
        elif state == "TERMINATING":
            if self.engine.report(cluster.id).state not in (DriverState.STOPPED, DriverState.FAILED):
                return
            self.finish_termination(cluster, now)
            if cluster.start_after_termination:
                cluster.start_after_termination = False
                self.launch(cluster, now, event="STARTING")
        else:  # a deadline in a stable state is stale (should not happen): drop it
            cluster.deadline = None
            self.save(cluster)

    def _become_running(self, cluster: Cluster, now: int, previous: str, note: str | None = None) -> None:
        workers = cluster.describe_running(now, new_driver=previous != "RESIZING")
        cluster.enter("RUNNING", now, "", None)
        if previous == "RESIZING":
            if workers > (cluster.resize_from or 0):
                self.event(cluster, "UPSIZE_COMPLETED", now, current_num_workers=workers, target_num_workers=workers)
            cluster.resize_from = None
        else:
            extra = {"driver_state_message": note} if note else {}
            self.event(cluster, "RUNNING", now, current_num_workers=workers, target_num_workers=workers, **extra)
        self.save(cluster)
