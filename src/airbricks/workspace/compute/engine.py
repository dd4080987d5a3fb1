"""What a cluster's compute is: the contract between the cluster state machine and an engine that runs drivers.

:class:`~airbricks.workspace.compute.clusters.Clusters` decides the states; the engine starts, watches and stops the
process behind each cluster. Every call is non-blocking (the ticker calls them under the workspace lock).
:class:`NoEngine` has no processes - a cluster is RUNNING when its start time is up, as before Spark - and
:class:`airbricks.workspace.compute.spark.engine.SparkEngine` runs one Spark Connect server per cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from airbricks.workspace.compute.pool import PoolStats, PoolTarget
from airbricks.workspace.compute.termination import TerminationReason


class DriverState(str, Enum):
    STARTING = "STARTING"
    READY = "READY"
    FAILED = "FAILED"  # could not start, or died: see the report's reason
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class DriverReport:
    state: DriverState
    #: The termination reason to end the cluster with when FAILED.
    reason: TerminationReason | None = None
    #: Where clients reach the driver (``sc://host:port``) when READY.
    remote: str | None = None
    #: What the cluster's RUNNING event says about its driver (taken from a pool, or why not).
    note: str | None = None


class LaunchRefused(Exception):
    """A driver cannot be launched: the launch fails with this termination reason."""

    def __init__(self, reason: TerminationReason) -> None:
        super().__init__(reason.parameters.get("databricks_error_message", "launch refused"))
        self.reason = reason


class CapacityExceeded(LaunchRefused):
    """No room for another driver: the launch fails with this termination reason."""


class ComputeEngine(Protocol):
    #: Whether a driver dies with the server process (then a restarted server relaunches live clusters).
    drivers_die_with_server: bool
    #: Whether a READY driver is a Spark Connect server (SQL warehouses need one).
    runs_spark: bool

    def describe(self) -> str: ...
    def launch(self, cluster_id: str, doc: dict[str, Any]) -> None:
        """Start (or take from a pool) the cluster's driver; its READY report may say how (``note``)."""

    def report(self, cluster_id: str) -> DriverReport: ...
    def stop(self, cluster_id: str) -> None: ...
    def kill(self, cluster_id: str) -> None: ...
    def recover(self) -> None: ...
    def shutdown(self) -> None: ...
    def submit_command(self, cluster_id: str, arguments: list[str]) -> list[str] | None: ...
    def metastore_port(self, start: bool = True) -> int | None: ...


READY = DriverReport(DriverState.READY)
STOPPED = DriverReport(DriverState.STOPPED)


class NoEngine:
    """No processes: a launched cluster is ready as soon as its (configured) start time is up."""

    drivers_die_with_server = False
    runs_spark = False

    def __init__(self) -> None:
        self._live: set[str] = set()
        self._pools: dict[str, PoolTarget] = {}
        self._pool_of: dict[str, str] = {}

    def launch(self, cluster_id: str, doc: dict[str, Any]) -> None:
        self._live.add(cluster_id)
        pool = doc.get("driver_instance_pool_id") or doc.get("instance_pool_id")
        if pool:
            self._pool_of[cluster_id] = str(pool)

    def report(self, cluster_id: str) -> DriverReport:
        return READY if cluster_id in self._live else STOPPED

    def stop(self, cluster_id: str) -> None:
        self._live.discard(cluster_id)
        self._pool_of.pop(cluster_id, None)

    # Instance pools without processes: a pool's idle instances are there as soon as asked for.
    def keep_warm(self, pool_id: str, target: PoolTarget | None) -> None:
        if target is None:
            self._pools.pop(pool_id, None)
        else:
            self._pools[pool_id] = target

    def refill(self) -> None:
        return None

    def pool_stats(self, pool_id: str) -> PoolStats:
        target = self._pools.get(pool_id)
        used = sum(p == pool_id for p in self._pool_of.values())
        return PoolStats(used_count=used, idle_count=target.min_idle if target else 0)

    kill = stop

    def recover(self) -> None:
        return None

    def shutdown(self) -> None:
        self._live.clear()

    @staticmethod
    def describe() -> str:
        return "no Spark (timed lifecycle; notebooks run as Python)"

    @staticmethod
    def submit_command(cluster_id: str, arguments: list[str]) -> None:
        return None  # no Spark: jar and submit tasks are refused with a message saying so

    @staticmethod
    def metastore_port(start: bool = True) -> None:
        return None  # no Spark, no metastore: Unity Catalog's tables API works without one
