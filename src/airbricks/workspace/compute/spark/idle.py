"""Idle drivers of instance pools: Spark Connect servers started and warmed before any cluster asks for one.

A pool's idle driver is the same process a cluster's driver is (:class:`~airbricks.workspace.compute.spark.
driver.Driver`), started with the pool's settings and warmed with a first catalog query through the shared
metastore. A cluster naming the pool takes one over - its driver *is* that process from then on, so it is
RUNNING without a JVM start - unless its own settings need a JVM started differently (:func:`differences`): those
are fixed when a JVM starts, so such a cluster starts a driver of its own and its events say why.

A driver is never handed to a second cluster: when its cluster terminates it stops, and the pool starts a fresh
one (a used driver holds cached tables, global temp views and added jars of the notebooks that ran on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airbricks.workspace.compute.engine import DriverState
from airbricks.workspace.compute.pool import PoolStats, PoolTarget
from airbricks.workspace.compute.spark.driver import Driver

#: Settings a driver gets per start whatever the cluster (a free port): never a reason to start cold.
_PER_START = frozenset({"spark.ui.port"})
LIVE = (DriverState.STARTING, DriverState.READY)


@dataclass(frozen=True)
class Wanted:
    """What a cluster's driver would start with: its Spark settings, memory, environment and Java options."""

    conf: dict[str, str]
    driver_memory: str
    env: dict[str, str]
    #: The cluster's own ``spark.driver.extraJavaOptions`` (the workspace's are every driver's).
    java_options: str
    #: Whether the cluster's ``spark_conf`` names ``spark.master`` (else the local cores are sizing, not a setting).
    master_given: bool


def differences(wanted: Wanted, driver: Driver) -> list[str]:
    """Why a pool's ``driver`` cannot be this cluster's: settings fixed when a JVM starts. Empty: it can.

    ``local[n]`` without an explicit ``spark.master`` is the cluster's size, not a setting: a pool's driver runs on
    every local core, and a smaller cluster taking it keeps them (its ``num_workers`` is reported as asked)."""
    found = []
    have = {k: v for k, v in driver.conf.items() if k not in _PER_START}
    want = {k: v for k, v in wanted.conf.items() if k not in _PER_START}
    if not wanted.master_given:
        have.pop("spark.master", None)
        want.pop("spark.master", None)
    # Keys only, never values: a value may be a resolved secret reference, and this text goes into the events.
    differing = [key for key in sorted(set(have) | set(want)) if have.get(key) != want.get(key)]
    if differing:
        found.append(f"spark_conf sets {', '.join(differing)} differently from the pool's driver")
    if wanted.driver_memory != driver.driver_memory:
        found.append(f"spark.driver.memory is {wanted.driver_memory} (the pool's driver: {driver.driver_memory})")
    if wanted.env:  # a pool's drivers start with the server's environment only
        found.append(f"spark_env_vars sets {', '.join(sorted(wanted.env))} (a process's environment)")
    if wanted.java_options.strip():  # and with the workspace's Java options only
        found.append("spark.driver.extraJavaOptions is set")
    return found


@dataclass
class Pool:
    target: PoolTarget
    idle: list[Driver] = field(default_factory=list)
    started: int = 0


class IdleDrivers:
    """The engine's pools: their targets, their idle drivers, and which cluster holds a driver of which pool."""

    def __init__(self) -> None:
        self.pools: dict[str, Pool] = {}
        #: Cluster id -> the pool its driver belongs to (taken from it, or started cold for it).
        self.used_by: dict[str, str] = {}

    def all_idle(self) -> list[Driver]:
        return [d for pool in self.pools.values() for d in pool.idle]

    def prune(self) -> list[Driver]:
        """Drop idle drivers that died (to be killed and reaped by the caller); returns them."""
        dead = []
        for pool in self.pools.values():
            for driver in list(pool.idle):
                if driver.report().state not in LIVE:
                    pool.idle.remove(driver)
                    dead.append(driver)
        return dead

    def take(self, pool_id: str) -> Driver | None:
        """An idle driver of the pool, answering ones first; None when it has none."""
        pool = self.pools.get(pool_id)
        if pool is None or not pool.idle:
            return None
        ready = [d for d in pool.idle if d.state is DriverState.READY]
        driver = (ready or pool.idle)[0]
        pool.idle.remove(driver)
        return driver

    def evict_one(self) -> Driver | None:
        """An idle driver to stop so a cluster gets room (a starting one first: it has cost less)."""
        idle = self.all_idle()
        if not idle:
            return None
        idle.sort(key=lambda d: d.state is DriverState.READY)
        driver = idle[0]
        for pool in self.pools.values():
            if driver in pool.idle:
                pool.idle.remove(driver)
        return driver

    def used(self, pool_id: str, drivers: dict[str, Driver]) -> list[Driver]:
        return [
            d
            for cluster_id, pid in self.used_by.items()
            if pid == pool_id and (d := drivers.get(cluster_id)) is not None and d.state in LIVE
        ]

    def stats(self, pool_id: str, drivers: dict[str, Driver]) -> PoolStats:
        pool = self.pools.get(pool_id)
        idle = pool.idle if pool is not None else []
        used = self.used(pool_id, drivers)
        return PoolStats(
            used_count=sum(d.state is DriverState.READY for d in used),
            pending_used_count=sum(d.state is DriverState.STARTING for d in used),
            idle_count=sum(d.state is DriverState.READY for d in idle),
            pending_idle_count=sum(d.state is DriverState.STARTING for d in idle),
        )
