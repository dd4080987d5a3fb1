"""Idle drivers of instance pools: Spark Connect servers started and warmed before any cluster asks for one.

A pool's idle driver is the same process a cluster's driver is (:class:`~airbricks.workspace.compute.spark.
driver.Driver`), started with the pool's settings and warmed with a first catalog query through the shared
metastore. A cluster naming the pool takes one over - its driver *is* that process from then on, so it is
RUNNING without a JVM start. Its ``spark_conf`` runtime settings are changed on the driver (:func:`fit`); a
cluster whose settings need a JVM started differently (memory, environment, Java options, static Spark
settings) starts a driver of its own, and its events say why.

When the cluster terminates, its driver goes back to the pool if the pool wants one more idle driver, as Databricks
returns a cluster's instances to their pool: it forgets the cluster first (sessions, jobs, cached tables, global
temp views, settings; see :mod:`~airbricks.workspace.compute.spark.driver_settings`). Otherwise it stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from airbricks.workspace.compute.engine import DriverState
from airbricks.workspace.compute.pool import DEFAULT_POOL, PoolStats, PoolTarget
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


@dataclass(frozen=True)
class Fit:
    """How a pool's driver fits a cluster: what only a new JVM answers, and the runtime settings to change."""

    #: Why a new JVM is needed (memory, environment, Java options); never values, which may be secrets.
    fixed: list[str]
    #: ``spark_conf`` keys whose value differs, with the cluster's value, and keys the cluster does not set.
    set_: dict[str, str]
    unset: list[str]

    @property
    def settings(self) -> list[str]:
        return sorted([*self.set_, *self.unset])


def pool_name(pool_id: str) -> str:
    return "the default pool" if pool_id == DEFAULT_POOL else f"instance pool {pool_id}"


def started_cold(pool_id: str, why: str) -> str:
    """What a cluster's events say when it did not take its pool's driver."""
    return f"Not from {pool_name(pool_id)}: a new driver started, because {why}"


def fixed_at_start(reasons: list[str]) -> str:
    return "settings fixed at a JVM's start differ: " + "; ".join(reasons)


def spark_conf_sets(keys: list[str]) -> str:
    """The reason a driver refused these keys (never their values: they may be resolved secrets)."""
    return f"spark_conf sets {', '.join(keys)}"


def fit(wanted: Wanted, driver: Driver) -> Fit:
    """How ``driver`` (a pool's) can become this cluster's. ``spark_conf`` differences are runtime settings to
    change on it unless the driver itself says they need a JVM start
    (:func:`~airbricks.workspace.compute.spark.driver_settings.change`); the rest is fixed at a JVM's start.

    ``local[n]`` without an explicit ``spark.master`` is the cluster's size, not a setting: a pool's driver runs on
    every local core, and a smaller cluster taking it keeps them (its ``num_workers`` is reported as asked)."""
    have = {k: v for k, v in driver.conf.items() if k not in _PER_START}
    want = {k: v for k, v in wanted.conf.items() if k not in _PER_START}
    if not wanted.master_given:
        have.pop("spark.master", None)
        want.pop("spark.master", None)
    fixed = []
    if wanted.driver_memory != driver.driver_memory:
        fixed.append(f"spark.driver.memory is {wanted.driver_memory} (the pool's driver: {driver.driver_memory})")
    if wanted.env:  # a pool's drivers start with the server's environment only
        fixed.append(f"spark_env_vars sets {', '.join(sorted(wanted.env))} (a process's environment)")
    if wanted.java_options.strip():  # and with the workspace's Java options only
        fixed.append("spark.driver.extraJavaOptions is set")
    return Fit(
        fixed=fixed,
        set_={k: v for k, v in sorted(want.items()) if have.get(k) != v},
        unset=sorted(set(have) - set(want)),
    )


#: How long a pool waits after a cluster took a driver before starting a replacement. A cluster that ends sooner
#: (a test's, a short DAG run's) gives its driver back instead; on a small machine, a JVM started meanwhile would
#: only compete with the cluster's own work and then be stopped unused.
REFILL_DELAY_SECONDS = 10.0


@dataclass
class Pool:
    target: PoolTarget
    idle: list[Driver] = field(default_factory=list)
    started: int = 0
    #: When a cluster last took one of its drivers (``time.monotonic()``); refills wait for REFILL_DELAY_SECONDS.
    taken_at: float = float("-inf")


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

    def take(self, pool_id: str, now: float) -> Driver | None:
        """An idle driver of the pool, answering ones first; None when it has none."""
        pool = self.pools.get(pool_id)
        if pool is None or not pool.idle:
            return None
        ready = [d for d in pool.idle if d.state is DriverState.READY]
        driver = (ready or pool.idle)[0]
        pool.idle.remove(driver)
        pool.taken_at = now
        return driver

    def short(self, now: float) -> list[tuple[str, Pool]]:
        """The pools below their ``min_idle_instances`` whose refill is due (REFILL_DELAY_SECONDS after a take)."""
        return [
            (pool_id, pool)
            for pool_id, pool in self.pools.items()
            if len(pool.idle) < pool.target.min_idle and now - pool.taken_at >= REFILL_DELAY_SECONDS
        ]

    def give_back(self, pool_id: str, driver: Driver) -> Driver | None:
        """A used driver back among the pool's idle ones, if the pool wants one more (a ready one is worth more
        than an idle one still starting, which it replaces). Returns the driver to stop instead: ``driver``
        itself when the pool has enough (or is gone), the replaced one, or None."""
        pool = self.pools.get(pool_id)
        if pool is None:
            return driver
        if len(pool.idle) < pool.target.min_idle:
            pool.idle.append(driver)
            return None
        starting = [d for d in pool.idle if d.state is DriverState.STARTING]
        if not starting:
            return driver
        pool.idle.remove(starting[0])
        pool.idle.append(driver)
        return starting[0]

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
