"""The Spark engine: one Spark Connect driver per running cluster, one shared metastore, a capacity limit,
and instance pools' idle drivers (:mod:`airbricks.workspace.compute.spark.idle`).

A cluster's spec becomes its driver's configuration: ``num_workers`` (or autoscale's maximum) are local cores
(``local[n]``, capped by this machine), ``spark_conf`` is applied as given (``spark.master`` runs the work on
an existing Spark cluster instead), ``spark_env_vars`` reach the driver's environment, and
``spark.driver.memory`` is capped by the workspace setting. Launching more drivers than the workspace allows
fails the launch the way a cloud without capacity does; idle pool drivers count, and are stopped first to make
room. The shared metastore starts with the server (:meth:`SparkEngine.recover`).

Long because the engine is one lock over drivers, pools and the metastore: splitting it would split the lock.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any

from airbricks.workspace.compute.engine import STOPPED, CapacityExceeded, DriverReport, DriverState, LaunchRefused
from airbricks.workspace.compute.pool import DEFAULT_POOL, PoolStats, PoolTarget
from airbricks.workspace.compute.spark import processes
from airbricks.workspace.compute.spark.class_cache import FAST_START_OPTIONS, ClassCache, Dump
from airbricks.workspace.compute.spark.driver import Driver
from airbricks.workspace.compute.spark.driver_settings import NeedsNewJvm, command_conf
from airbricks.workspace.compute.spark.idle import (
    LIVE,
    IdleDrivers,
    Pool,
    Wanted,
    fit,
    fixed_at_start,
    pool_name,
    spark_conf_sets,
    started_cold,
)
from airbricks.workspace.compute.spark.install import SparkInstall, SparkNotAvailable, find_spark
from airbricks.workspace.compute.spark.metastore import Metastore
from airbricks.workspace.compute.spark.unity_names import catalog_conf
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.storage.paths import hadoop_settings

#: How long a cluster taking a driver just given back to its pool waits for it to forget its last cluster.
RECYCLE_WAIT_SECONDS = 10


def default_max_drivers() -> int:
    """As many drivers as fit this machine's memory at ~1.5 GB each beside the rest (at least 1, at most 8)."""
    try:
        memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        return 3
    return max(1, min(8, int((memory_gib - 4) // 2)))


def _memory_mb(text: str) -> int:
    text = text.strip().lower()
    units = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(int(text) / 1024 / 1024)


class SparkEngine:
    """:class:`airbricks.workspace.compute.engine.ComputeEngine` with real Spark drivers."""

    drivers_die_with_server = True
    runs_spark = True

    def __init__(
        self,
        data_dir: Path,
        *,
        dbfs_root: Path,
        volumes_root: Path,
        max_drivers: int | None = None,
        driver_memory: str = "1g",
        packages: list[str] | None = None,
        java_options: str = "",
        fast_start: bool = True,
        class_cache: Path | None = None,
        default_pool: int = 0,
    ) -> None:
        self.directory = data_dir / "spark"
        self.warehouse = self.directory / "warehouse"
        self.max_drivers = max_drivers or default_max_drivers()
        self.driver_memory = driver_memory
        self.packages = list(packages or [])
        self.java_options = " ".join([*(FAST_START_OPTIONS if fast_start else ()), java_options]).strip()
        self.class_cache_dir = class_cache
        self._class_cache: ClassCache | None = None
        self.hadoop = hadoop_settings(dbfs_root, volumes_root)
        self._drivers: dict[str, Driver | _Unavailable] = {}
        self._lock = threading.Lock()
        self._install: SparkInstall | None = None
        self._metastore: Metastore | None = None
        self._pools = IdleDrivers()
        #: What each cluster holding a pool's driver asked for (a cold start instead, should the driver refuse it).
        self._wanted_by: dict[str, Wanted] = {}
        #: What a cluster's RUNNING event says, when it is known after its launch (a cold start instead).
        self._notes: dict[str, str] = {}
        if default_pool:
            self._pools.pools[DEFAULT_POOL] = Pool(PoolTarget(default_pool))

    # -- the contract -------------------------------------------------------------------------------------

    def launch(self, cluster_id: str, doc: dict[str, Any]) -> None:
        """Give the cluster a driver: an idle one of its pool (``driver_instance_pool_id``, ``instance_pool_id``,
        else the default pool) when one fits, else a new one. What its RUNNING event says of it comes with its
        READY report (:meth:`report`)."""
        with self._lock:
            old = self._drivers.pop(cluster_id, None)
            if old is not None:
                old.kill()
            self._forget(cluster_id)
            try:  # the install, and the project's Java classes the settings name (compiled on first use)
                install = self._installation()
                metastore = self._ensure_metastore(install)
                wanted = self._wanted(doc, metastore)
            except SparkNotAvailable as missing:
                self._drivers[cluster_id] = _Unavailable(
                    TerminationReason.error("SPARK_STARTUP_FAILURE", str(missing), type_="CLIENT_ERROR")
                )
                return
            named = doc.get("driver_instance_pool_id") or doc.get("instance_pool_id")
            pool_id = str(named) if named else (DEFAULT_POOL if DEFAULT_POOL in self._pools.pools else None)
            if pool_id is not None:
                taken, self._notes[cluster_id] = self._take(pool_id, cluster_id, wanted)
                if taken is not None:
                    self._drivers[cluster_id] = taken
                    self._pools.used_by[cluster_id] = pool_id
                    self._wanted_by[cluster_id] = wanted
                    return
            if named:
                self._check_pool(str(named))
            self._make_room()
            self._drivers[cluster_id] = self._start(cluster_id, install, metastore, wanted)
            if named:
                self._pools.used_by[cluster_id] = str(named)

    def _take(self, pool_id: str, cluster_id: str, wanted: Wanted) -> tuple[Driver | None, str]:
        """An idle driver of the pool made this cluster's, or None; and what the cluster's events say of it."""
        candidate = self._pools.take(pool_id, time.monotonic())
        if candidate is None:
            return None, f"No idle driver in {pool_name(pool_id)}: a new driver started."
        why, changed = self._adapt(candidate, wanted)
        if why:
            self._pools.pools[pool_id].idle.insert(0, candidate)  # still idle for a cluster it fits (or pruned)
            return None, started_cold(pool_id, why)
        candidate.cluster_id = cluster_id
        link = self._unlink_pool_logs(cluster_id)
        if not link.exists():
            link.symlink_to(candidate.directory, target_is_directory=True)  # its logs under the cluster's name
        note = f"Driver taken from {pool_name(pool_id)} (process {candidate.pid}, warm: no JVM start)"
        return candidate, note + (f"; spark_conf applied to it: {', '.join(changed)}." if changed else ".")

    def _adapt(self, candidate: Driver, wanted: Wanted) -> tuple[str | None, list[str]]:
        """Make a pool's driver this cluster's: change its runtime settings, or say why a JVM must start (keys
        only: a value may be a resolved secret, and this text goes into the cluster's events)."""
        found = fit(wanted, candidate)
        if found.fixed:
            return fixed_at_start(found.fixed), []
        if not found.settings:
            return None, []
        candidate.settle(RECYCLE_WAIT_SECONDS)  # a driver just given back may still be forgetting its cluster
        if candidate.state is DriverState.STARTING and candidate.defer_settings(found.set_, found.unset):
            return None, found.settings  # changed when it answers; refused, the cluster starts cold then (report)
        if candidate.state is not DriverState.READY:
            return "the pool's driver did not answer", []
        try:
            candidate.change_settings(found.set_, found.unset)
        except NeedsNewJvm as refused:
            return fixed_at_start([spark_conf_sets(refused.keys)]), []
        except Exception:
            return "the pool's driver did not answer", []
        return None, found.settings

    def _check_pool(self, pool_id: str) -> None:
        """A cluster naming a pool without an idle driver for it: the pool must exist and have room."""
        pool = self._pools.pools.get(pool_id)
        if pool is None:
            raise LaunchRefused(
                TerminationReason.error(
                    "INSTANCE_POOL_NOT_FOUND",
                    f"Instance pool {pool_id} does not exist (it was deleted?): edit the cluster to name another.",
                    type_="CLIENT_ERROR",
                )
            )
        if self._at_max_capacity(pool_id, pool):
            raise CapacityExceeded(
                TerminationReason.error(
                    "INSTANCE_POOL_MAX_CAPACITY_REACHED",
                    f"Instance pool {pool_id} is at its max_capacity ({pool.target.max_capacity}): terminate a "
                    "cluster using it, or edit the pool's max_capacity.",
                    type_="CLIENT_ERROR",
                )
            )

    def _at_max_capacity(self, pool_id: str, pool: Pool) -> bool:
        """Whether the pool holds (idle, or used by a cluster) its ``max_capacity`` of drivers."""
        held = len(pool.idle) + len(self._pools.used(pool_id, self._live_drivers()))
        return pool.target.max_capacity is not None and held >= pool.target.max_capacity

    def _held(self) -> int:
        """The drivers counting toward ``--max-spark-drivers``: clusters' running or starting ones, and idle ones."""
        return sum(d.state in LIVE for d in self._drivers.values()) + len(self._pools.all_idle())

    def _make_room(self) -> None:
        """Capacity: idle pool drivers count, and go first when a cluster needs their room."""
        while True:
            if self._held() < self.max_drivers:
                return
            evicted = self._pools.evict_one()
            if evicted is None:
                raise CapacityExceeded(
                    TerminationReason.error(
                        "CLOUD_PROVIDER_RESOURCE_STOCKOUT",
                        f"The local workspace runs at most {self.max_drivers} Spark drivers at once and "
                        f"{self._held()} are running or starting: terminate a cluster, or start the workspace with a "
                        "higher --max-spark-drivers if this machine has the memory (about 1.5 GB each).",
                        type_="CLOUD_FAILURE",
                    )
                )
            evicted.kill()

    def _start(self, ident: str, install: SparkInstall, metastore: Metastore, wanted: Wanted) -> Driver:
        class_options, dump = self._class_options("driver")
        return Driver(
            ident,
            install=install,
            conf=wanted.conf,
            env=wanted.env,
            directory=self.directory / "drivers" / ident,
            owner=self.directory,
            driver_memory=wanted.driver_memory,
            metastore=metastore,
            java_options=" ".join([self.java_options, wanted.java_options]).strip(),
            class_options=class_options,
            dump=dump,
        )

    def _wanted(self, doc: dict[str, Any], metastore: Metastore) -> Wanted:
        conf = self._conf(doc, metastore)
        java_options = conf.pop("spark.driver.extraJavaOptions", "")
        return Wanted(
            conf=conf,
            driver_memory=self._driver_memory(doc),
            env=_env_vars(doc),
            java_options=java_options,
            master_given="spark.master" in (doc.get("spark_conf") or {}),
        )

    # -- instance pools (compute.pool.WarmPools) ----------------------------------------------------------

    def keep_warm(self, pool_id: str, target: PoolTarget | None) -> None:
        with self._lock:
            pool = self._pools.pools.get(pool_id)
            if target is None:
                self._pools.pools.pop(pool_id, None)
                extra = pool.idle if pool is not None else []
            elif pool is None:
                self._pools.pools[pool_id] = Pool(target)
                extra = []
            else:
                pool.target = target
                extra = pool.idle[target.min_idle :]  # fewer wanted now: the rest stop at once
                del pool.idle[target.min_idle :]
        for driver in extra:
            driver.kill()

    def refill(self) -> None:
        """Start an idle driver for a pool below its target, within its ``max_capacity`` and the workspace's
        capacity. Non-blocking: the JVM starts in the background. One JVM start at a time: while any driver is
        starting (a cluster's, or an idle one) the refill waits, so it never slows a cluster's start on few cores;
        and after a cluster took a pool's driver it waits :data:`~.idle.REFILL_DELAY_SECONDS` (a short-lived
        cluster gives its driver back instead)."""
        if not self._pools.pools or self._lock.locked():
            return
        with self._lock:
            for dead in self._pools.prune():
                dead.kill()
            everyone = [*self._live_drivers().values(), *self._pools.all_idle()]
            if any(d.state is DriverState.STARTING for d in everyone):
                return
            for pool_id, pool in self._pools.short(time.monotonic()):
                if self._at_max_capacity(pool_id, pool):
                    continue
                if self._held() >= self.max_drivers:
                    return
                try:
                    install = self._installation()
                    metastore = self._ensure_metastore(install)
                    wanted = self._wanted({"num_workers": os.cpu_count() or 1}, metastore)
                except SparkNotAvailable:
                    return  # a cluster's own start says why
                pool.started += 1
                driver = self._start(f"pool-{pool_id}-{pool.started}", install, metastore, wanted)
                driver.pool_id = pool_id
                pool.idle.append(driver)

    def pool_stats(self, pool_id: str) -> PoolStats:
        with self._lock:
            return self._pools.stats(pool_id, self._live_drivers())

    def _live_drivers(self) -> dict[str, Driver]:
        return {k: d for k, d in self._drivers.items() if isinstance(d, Driver)}

    def report(self, cluster_id: str) -> DriverReport:
        driver = self._drivers.get(cluster_id)
        if isinstance(driver, Driver) and driver.refused is not None:
            with self._lock:
                driver = self._start_instead(cluster_id, driver)
        if driver is None:
            return STOPPED
        report = driver.report()
        note = self._notes.get(cluster_id)
        return dataclasses.replace(report, note=note) if note and report.state is DriverState.READY else report

    def _start_instead(self, cluster_id: str, refusing: Driver) -> Driver | _Unavailable | None:
        """A pool's driver, taken while it started, refused the cluster's settings once it answered (only a JVM
        start sets them): it goes back to its pool untouched, and the cluster starts a driver of its own."""
        current = self._drivers.get(cluster_id)
        wanted = self._wanted_by.get(cluster_id)
        if current is not refusing or wanted is None or refusing.pool_id is None:
            return current  # another thread did it, or the cluster is stopping (stop forgot what it wanted)
        keys, refusing.refused = refusing.refused or [], None
        pool_id = refusing.pool_id
        self._forget(cluster_id)
        pool = self._pools.pools.get(pool_id)
        if pool is not None:
            pool.idle.insert(0, refusing)
        else:
            refusing.kill()
        self._unlink_pool_logs(cluster_id)
        self._notes[cluster_id] = started_cold(pool_id, fixed_at_start([spark_conf_sets(keys)]))
        started: Driver | _Unavailable
        try:
            self._make_room()
            install = self._installation()
            started = self._start(cluster_id, install, self._ensure_metastore(install), wanted)
        except LaunchRefused as refused:
            started = _Unavailable(refused.reason)
        self._drivers[cluster_id] = started
        return started

    def _unlink_pool_logs(self, cluster_id: str) -> Path:
        """Remove the cluster's link to a pool driver's log directory (one it had before); returns its path."""
        link = self.directory / "drivers" / cluster_id
        if link.is_symlink():
            link.unlink()
        return link

    def _forget(self, cluster_id: str) -> None:
        self._pools.used_by.pop(cluster_id, None)
        self._wanted_by.pop(cluster_id, None)
        self._notes.pop(cluster_id, None)

    def stop(self, cluster_id: str) -> None:
        """Stop the cluster's driver, or give it back to its pool when the pool wants one more idle driver (it
        forgets the cluster first, in the background: the cluster is TERMINATED at once)."""
        with self._lock:
            driver = self._drivers.get(cluster_id)
            pool_id = self._pools.used_by.get(cluster_id)
            self._forget(cluster_id)
            replaced = None
            if isinstance(driver, Driver) and pool_id is not None and driver.pool_id == pool_id:
                if driver.state is DriverState.READY:
                    replaced = self._pools.give_back(pool_id, driver)
                    if replaced is not driver:  # back in its pool: it forgets this cluster first
                        del self._drivers[cluster_id]
                        driver.recycle()
                        driver = None
        if replaced is not None and replaced is not driver:
            replaced.kill()  # an idle driver still starting, never used
        if driver is not None:
            driver.stop()

    def kill(self, cluster_id: str) -> None:
        with self._lock:
            driver = self._drivers.pop(cluster_id, None)
            self._forget(cluster_id)
        if driver is not None:
            driver.kill()

    def recover(self) -> None:
        """Kill what a previous server process left running on this data dir (drivers, the metastore), then
        start the shared metastore, so the first cluster's start is a driver start only. The JVM starts in
        the background (this returns once it is spawned); it is spawned from the thread starting the
        workspace, which lives as long as the server (a JVM dies with the thread that spawned it)."""
        processes.kill_leftovers(self.directory)
        with self._lock:
            try:
                install = self._installation()
            except SparkNotAvailable:
                return  # said when a cluster launches (its termination reason names the fix)
            self._ensure_metastore(install)

    def shutdown(self) -> None:
        with self._lock:
            drivers = [*self._drivers.values(), *self._pools.all_idle()]
            self._drivers.clear()
            self._pools.pools.clear()
        for driver in drivers:
            driver.kill()
        if self._metastore is not None:
            self._metastore.stop()

    def describe(self) -> str:
        return f"Spark drivers (Spark Connect), at most {self.max_drivers} at once, tables under {self.directory}"

    def submit_command(self, cluster_id: str, arguments: list[str]) -> list[str] | None:
        """``spark-submit`` with the cluster's Spark settings (master, metastore, paths), for jar and submit
        tasks: they run in a driver of their own that sees the same tables and files. None: no driver."""
        driver = self.driver(cluster_id)
        if driver is None or self._install is None:
            return None
        archive = self._class_cache.archive("driver") if self._class_cache is not None else None
        sharing = [f"-XX:SharedArchiveFile={archive}"] if archive is not None and archive.is_file() else []
        command = [
            self._install.spark_submit,
            "--driver-memory",
            driver.driver_memory,
            "--driver-java-options",
            " ".join([driver.java_options, *sharing]),
        ]
        for key, value in driver.conf.items():
            if not key.startswith("spark.connect.") and key != "spark.ui.port":
                command += ["--conf", f"{key}={value}"]
        return command + arguments

    def metastore_port(self, start: bool = True) -> int | None:
        """The shared metastore's port (Unity Catalog's tables API reads it), started on first use when
        ``start``; None without Spark (or not answering yet and not to be started: it starts with the server, and
        a caller that would not start it does not wait for it either). The caller waits until it answers."""
        if not start and (self._metastore is None or not self._metastore.ready()):
            return None
        if self._metastore is None or not self._metastore.port:
            try:
                install = self._installation()
            except SparkNotAvailable:
                return None
            with self._lock:
                self._ensure_metastore(install)
        return self._metastore.port if self._metastore is not None else None

    # -- facts for benchmarks and the demo -----------------------------------------------------------------

    def driver(self, cluster_id: str) -> Driver | None:
        found = self._drivers.get(cluster_id)
        return found if isinstance(found, Driver) else None

    # -- building a driver --------------------------------------------------------------------------------

    def _installation(self) -> SparkInstall:
        if self._install is None:
            self._install = find_spark()
            if self.class_cache_dir is not None:
                self._class_cache = ClassCache(self.class_cache_dir, self._install)
        return self._install

    def _class_options(self, kind: str) -> tuple[list[str], Dump | None]:
        return self._class_cache.options(kind) if self._class_cache is not None else ([], None)

    def _ensure_metastore(self, install: SparkInstall) -> Metastore:
        if self._metastore is None:
            self.warehouse.mkdir(parents=True, exist_ok=True)
            self._metastore = Metastore(
                install,
                self.directory / "metastore",
                self.warehouse,
                self.hadoop,
                owner=self.directory,
                java_options=self.java_options,
                class_options=lambda: self._class_options("metastore"),
            )
        self._metastore.ensure_started()
        return self._metastore

    def _conf(self, doc: dict[str, Any], metastore: Metastore) -> dict[str, str]:
        user = {str(k): str(v) for k, v in (doc.get("spark_conf") or {}).items()}
        conf = {
            "spark.master": f"local[{_local_cores(doc)}]",
            "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.hive.metastore.uris": metastore.uri,
            "spark.sql.warehouse.dir": f"file://{self.warehouse}",
            "spark.ui.port": str(processes.free_port()),
            **{f"spark.hadoop.{k}": v for k, v in self.hadoop.items()},
        }
        if self.packages:
            conf["spark.jars.packages"] = ",".join(self.packages)
        conf.update(user)
        conf.update(catalog_conf(self._installation(), user))  # hive_metastore.s.t, main.s.t (issue 25)
        conf.update(command_conf(user))  # runtime settings of a pool's driver changing hands
        conf.pop("spark.driver.memory", None)  # given as --driver-memory, capped
        return conf

    def _driver_memory(self, doc: dict[str, Any]) -> str:
        wanted = (doc.get("spark_conf") or {}).get("spark.driver.memory")
        cap = self.driver_memory
        if wanted and _memory_mb(str(wanted)) < _memory_mb(cap):
            return str(wanted)
        return cap


class _Unavailable:
    """A driver that could not even start (no pyspark, no Java): FAILED with the reason naming the fix."""

    state = DriverState.FAILED

    def __init__(self, reason: TerminationReason) -> None:
        self.reason = reason

    def report(self) -> DriverReport:
        return DriverReport(DriverState.FAILED, reason=self.reason)

    def stop(self) -> None:
        return None

    def kill(self) -> None:
        return None


def _local_cores(doc: dict[str, Any]) -> int:
    """``local[n]``: one core per worker (autoscale: its maximum), a single node uses them all; at most all."""
    cores = os.cpu_count() or 1
    workers = (doc.get("autoscale") or {}).get("max_workers") if doc.get("autoscale") else doc.get("num_workers")
    return max(1, min(int(workers or cores), cores))


def _env_vars(doc: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (doc.get("spark_env_vars") or {}).items()}
