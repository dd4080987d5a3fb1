"""The Spark engine: one Spark Connect driver per running cluster, one shared metastore, a capacity limit.

A cluster's spec becomes its driver's configuration: ``num_workers`` (or autoscale's maximum) are local cores
(``local[n]``, capped by this machine), ``spark_conf`` is applied as given (``spark.master`` runs the work on
an existing Spark cluster instead), ``spark_env_vars`` reach the driver's environment, and
``spark.driver.memory`` is capped by the workspace setting. Launching more drivers than the workspace allows
fails the launch the way a cloud without capacity does.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from airbricks.workspace.compute.engine import STOPPED, CapacityExceeded, DriverReport, DriverState
from airbricks.workspace.compute.spark import processes
from airbricks.workspace.compute.spark.class_cache import FAST_START_OPTIONS, ClassCache, Dump
from airbricks.workspace.compute.spark.driver import Driver
from airbricks.workspace.compute.spark.install import SparkInstall, SparkNotAvailable, find_spark
from airbricks.workspace.compute.spark.metastore import Metastore
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.storage.paths import hadoop_settings


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

    # -- the contract -------------------------------------------------------------------------------------

    def launch(self, cluster_id: str, doc: dict[str, Any]) -> None:
        with self._lock:
            old = self._drivers.pop(cluster_id, None)
            if old is not None:
                old.kill()
            live = [d for d in self._drivers.values() if d.state in (DriverState.STARTING, DriverState.READY)]
            if len(live) >= self.max_drivers:
                raise CapacityExceeded(
                    TerminationReason.error(
                        "CLOUD_PROVIDER_RESOURCE_STOCKOUT",
                        f"The local workspace runs at most {self.max_drivers} Spark drivers at once and "
                        f"{len(live)} are running or starting: terminate a cluster, or start the workspace with a "
                        "higher --max-spark-drivers if this machine has the memory (about 1.5 GB each).",
                        type_="CLOUD_FAILURE",
                    )
                )
            try:
                install = self._installation()
            except SparkNotAvailable as missing:
                self._drivers[cluster_id] = _Unavailable(
                    TerminationReason.error("SPARK_STARTUP_FAILURE", str(missing), type_="CLIENT_ERROR")
                )
                return
            metastore = self._ensure_metastore(install)
            conf = self._conf(doc, metastore)
            java_options = " ".join([self.java_options, conf.pop("spark.driver.extraJavaOptions", "")]).strip()
            class_options, dump = self._class_options("driver")
            self._drivers[cluster_id] = Driver(
                cluster_id,
                install=install,
                conf=conf,
                env=_env_vars(doc),
                directory=self.directory / "drivers" / cluster_id,
                owner=self.directory,
                driver_memory=self._driver_memory(doc),
                metastore=metastore,
                java_options=java_options,
                class_options=class_options,
                dump=dump,
            )

    def report(self, cluster_id: str) -> DriverReport:
        driver = self._drivers.get(cluster_id)
        return STOPPED if driver is None else driver.report()

    def stop(self, cluster_id: str) -> None:
        driver = self._drivers.get(cluster_id)
        if driver is not None:
            driver.stop()

    def kill(self, cluster_id: str) -> None:
        with self._lock:
            driver = self._drivers.pop(cluster_id, None)
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
            drivers = list(self._drivers.values())
            self._drivers.clear()
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
        ``start``; None without Spark (or not running and not to be started). The caller waits until it answers."""
        if self._metastore is None or not self._metastore.port:
            if not start:
                return None
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
