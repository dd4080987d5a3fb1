"""One cluster's driver: a Spark Connect server process, its readiness, its death, its stop.

The server starts as ``spark-submit --class ...SparkConnectServer`` in the foreground (its own process group,
marked as the workspace's). It is READY once its port answers *and* a first catalog query came back (the
warm-up, so the cluster's first user query is not the slow one). A process that exits before or after is
FAILED with a termination reason quoting its log.

The cluster's Spark settings may hold resolved ``{{secrets/...}}`` values, so they never go on the command line
(every local user can read a process's arguments): they are written to a properties file readable by its owner
only, in a private directory outside the data dir (memory-backed ``/dev/shm`` where there is one), handed over
with ``--properties-file`` and removed once the driver listens (it has read them by then) or ends. The
cluster's ``spark_env_vars`` reach the driver through its environment only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from airbricks.workspace.compute.engine import DriverReport, DriverState
from airbricks.workspace.compute.spark import driver_settings, processes, properties
from airbricks.workspace.compute.spark.class_cache import Dump
from airbricks.workspace.compute.spark.connect import close_session, open_session
from airbricks.workspace.compute.spark.install import SparkInstall
from airbricks.workspace.compute.termination import TerminationReason

START_TIMEOUT_SECONDS = 180
#: From the start to the first answered query; past it a STARTING driver is failed, so no call to a JVM that
#: listens but never answers keeps a cluster PENDING.
ANSWER_TIMEOUT_SECONDS = START_TIMEOUT_SECONDS + 60
STOP_GRACE_SECONDS = 10


class Service(Protocol):
    """What a driver needs before its warm-up query (the shared metastore)."""

    def ready(self) -> bool: ...
    def failed(self) -> str | None: ...
    def warmed(self) -> None: ...


class Driver:
    """The Spark Connect server of one cluster."""

    def __init__(
        self,
        cluster_id: str,
        *,
        install: SparkInstall,
        conf: dict[str, str],
        env: dict[str, str],
        directory: Path,
        owner: Path,
        driver_memory: str,
        metastore: Service,
        java_options: str = "",
        class_options: list[str] | None = None,
        dump: Dump | None = None,
    ) -> None:
        self.cluster_id = cluster_id
        self.directory = directory
        self.port = processes.free_port()
        self.log = directory / "driver.log"
        self.state = DriverState.STARTING
        self.reason: TerminationReason | None = None
        self.conf = dict(conf)
        #: The settings it started with: what a driver going back to its pool returns to.
        self.base_conf = dict(conf)
        #: The instance pool it was started for (None: started for one cluster).
        self.pool_id: str | None = None
        #: Runtime settings a cluster asked for while this driver started, changed once it answers; and the keys
        #: it refused then (only a JVM start sets them: the engine starts the cluster another driver).
        self._pending: tuple[dict[str, str], list[str]] | None = None
        self._answered = False
        self._pending_lock = threading.Lock()
        self.refused: list[str] | None = None
        #: Set while it is not changing its settings (a pool's driver forgetting its last cluster clears it).
        self._settled = threading.Event()
        self._settled.set()
        self.driver_memory = driver_memory
        self.owner = owner
        self.java_options = f"{processes.MARKER}{owner} -Dairbricks.cluster={cluster_id} {java_options}".strip()
        conf = {
            **conf,
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        }
        self._dump = dump
        command = [
            install.spark_submit,
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name",
            f"airbricks cluster {cluster_id}",
            "--driver-memory",
            driver_memory,
            "--driver-java-options",
            " ".join([self.java_options, *(class_options or [])]),
        ]
        properties.sweep(2 * START_TIMEOUT_SECONDS)  # what a killed server's drivers never got to remove
        self._conf_file: Path | None = properties.write(conf)
        command += [properties.FLAG, str(self._conf_file)]
        full_env = {
            **os.environ,
            "SPARK_HOME": str(install.spark_home),
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
            **env,
        }
        full_env.pop("SPARK_REMOTE", None)
        full_env.pop("SPARK_CONNECT_MODE_ENABLED", None)
        try:
            self._proc: subprocess.Popen[bytes] = processes.spawn(command, log=self.log, env=full_env, cwd=directory)
        except BaseException:
            self._forget_conf()
            raise
        self.started = time.monotonic()
        #: The server's own session on the driver while it uses one (warm-up, settings): closed by a kill.
        self._own_session: Any = None
        self.ready_seconds: float | None = None
        self._thread = threading.Thread(
            target=self._become_ready, args=(metastore,), daemon=True, name=f"airbricks-driver-{cluster_id}"
        )
        self._thread.start()

    def _forget_conf(self) -> None:
        """Remove the properties file: the driver read it, or will never need it."""
        path, self._conf_file = self._conf_file, None
        properties.remove(path)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def remote(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    # -- readiness (a thread of its own: the ticker never waits) ------------------------------------------

    def _become_ready(self, metastore: Service) -> None:
        deadline = self.started + START_TIMEOUT_SECONDS
        try:
            # The warm-up query needs the metastore too (a fast driver can listen before it does).
            while not (processes.port_open(self.port) and metastore.ready()):
                if self._ended():
                    return
                problem = metastore.failed()
                if problem:
                    self._fail(TerminationReason.error("METASTORE_COMPONENT_UNHEALTHY", problem))
                    return
                if time.monotonic() > deadline:
                    self._fail(
                        TerminationReason.error(
                            "SPARK_STARTUP_FAILURE",
                            f"The Spark driver (or the metastore) did not "
                            f"listen within {START_TIMEOUT_SECONDS} s. Driver log: {self.log}",
                        )
                    )
                    return
                time.sleep(0.1)
            self._forget_conf()  # listening: SparkSubmit parsed the file long ago
            self._warm_up()
            if self._dump is not None:  # the first driver on this machine: archive its classes for the next
                self._dump.take(self.pid)
            metastore.warmed()
            self._change_pending()
        except Exception as exc:
            if not self._ended():
                self._fail(
                    TerminationReason.error(
                        "SPARK_STARTUP_FAILURE",
                        f"The Spark driver did not answer its first query: "
                        f"{type(exc).__name__}: {str(exc)[:500]}. Driver log: {self.log}",
                    )
                )
            return
        if self.state is DriverState.STARTING:
            self.ready_seconds = time.monotonic() - self.started
            self.state = DriverState.READY

    def _warm_up(self) -> None:
        with self._session() as session:
            session.sql("SHOW DATABASES").collect()

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        """A session of the server's own on the driver, closed after; a kill meanwhile closes its channel."""
        session = open_session(self.remote)
        self._own_session = session
        try:
            if self.state in (DriverState.STOPPED, DriverState.FAILED):  # killed meanwhile: never call a dead port
                raise ConnectionError(f"the Spark driver {self.pid} was stopped")
            yield session
        finally:
            self._own_session = None
            close_session(session)

    def _ended(self) -> bool:
        """Whether the process exited; marks the driver FAILED (or STOPPED when it was asked to stop)."""
        code = self._proc.poll()
        if code is None:
            return False
        self._forget_conf()
        if self.state in (DriverState.STOPPING, DriverState.STOPPED):
            self.state = DriverState.STOPPED
        elif self.state is not DriverState.FAILED:
            tail = processes.log_tail(self.log, 1500)
            self._fail(
                TerminationReason.error(
                    "DRIVER_UNREACHABLE",
                    f"The Spark driver's process exited (code {code}). Last lines of its log ({self.log}):\n{tail}",
                )
            )
        return True

    def _fail(self, reason: TerminationReason) -> None:
        self.reason = reason
        self.state = DriverState.FAILED
        self._forget_conf()
        self._abandon_own_session()
        processes.signal_group(self._proc, signal.SIGKILL)

    def _abandon_own_session(self) -> None:
        """Close the server's own client's channel, so a call waiting on a dead driver fails now instead of
        retrying for minutes (and blocking the server's exit in pyspark's atexit hook)."""
        session = self._own_session
        if session is not None:
            try:
                session.client.close()
            except Exception:
                pass

    # -- a pool's driver changing hands (driver_settings: the JVM's side) -----------------------------------

    def change_settings(self, set_: dict[str, str], unset: list[str]) -> None:
        """Make these the defaults of the driver's new sessions, as if it had started with them (READY only).
        Raises :class:`~airbricks.workspace.compute.spark.driver_settings.NeedsNewJvm` with the keys only a JVM
        start can set (nothing changed); a driver that does not answer fails (its pool replaces it) and raises."""
        try:
            with self._session() as session:
                driver_settings.change(session, set_=set_, unset=unset)
        except driver_settings.NeedsNewJvm:
            raise
        except Exception as exc:
            self._unreachable("take its cluster's settings", exc)
            raise
        self.conf.update(set_)
        for key in unset:
            self.conf.pop(key, None)

    def defer_settings(self, set_: dict[str, str], unset: list[str]) -> bool:
        """Change these settings once the driver answers, before it is READY (a cluster took it while it started).
        False: it answers already, and the caller changes them (:meth:`change_settings`)."""
        with self._pending_lock:
            if self._answered:
                return False
            self._pending = (set_, unset)
            return True

    def _change_pending(self) -> None:
        with self._pending_lock:
            self._answered = True
            pending, self._pending = self._pending, None
        if pending is not None:
            try:
                self.change_settings(*pending)
            except driver_settings.NeedsNewJvm as fixed:
                self.refused = fixed.keys

    def recycle(self) -> None:
        """Forget the cluster that used this driver (its sessions, jobs, cached tables, global temp views and
        settings) in the background, STARTING until done, then READY again for the next cluster of its pool."""
        set_ = {k: v for k, v in self.base_conf.items() if self.conf.get(k) != v}
        unset = [k for k in self.conf if k not in self.base_conf]
        self.state = DriverState.STARTING
        self._settled.clear()
        threading.Thread(
            target=self._recycle, args=(set_, unset), daemon=True, name=f"airbricks-driver-recycle-{self.pid}"
        ).start()

    def _recycle(self, set_: dict[str, str], unset: list[str]) -> None:
        try:
            with self._session() as session:
                driver_settings.change(session, set_=set_, unset=unset, recycle=True)
            self.conf = dict(self.base_conf)
            if self.state is DriverState.STARTING:
                self.state = DriverState.READY
        except Exception as exc:
            self._unreachable("forget its last cluster", exc)
        finally:
            self._settled.set()

    def settle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for a driver going back to its pool to be done with it."""
        self._settled.wait(timeout)

    def _unreachable(self, doing: str, exc: Exception) -> None:
        # The exception's type only: its text could quote the settings, which may be resolved secrets.
        if not self._ended():
            self._fail(
                TerminationReason.error(
                    "DRIVER_UNREACHABLE",
                    f"The Spark driver did not {doing} ({type(exc).__name__}). Driver log: {self.log}",
                )
            )

    # -- what the engine asks -----------------------------------------------------------------------------

    def report(self) -> DriverReport:
        self._ended()
        if (
            self.state is DriverState.STARTING
            and not self._answered
            and time.monotonic() > self.started + ANSWER_TIMEOUT_SECONDS
        ):
            # Listening, but its warm-up query never came back: fail it (the kill ends the call waiting on it).
            self._fail(
                TerminationReason.error(
                    "SPARK_STARTUP_FAILURE",
                    f"The Spark driver did not answer its first query within {ANSWER_TIMEOUT_SECONDS} s of "
                    f"starting. Driver log: {self.log}",
                )
            )
        if self.state is DriverState.READY:
            return DriverReport(DriverState.READY, remote=self.remote)
        return DriverReport(self.state, reason=self.reason)

    def stop(self) -> None:
        """Begin a graceful stop: SIGTERM, and a thread that kills the group after a grace period, so the
        driver stops even when nobody asks about it again (a permanently deleted cluster)."""
        if self.state in (DriverState.STOPPED, DriverState.STOPPING):
            return
        self.state = DriverState.STOPPING
        self._abandon_own_session()  # a warm-up or settings call would retry against the stopping JVM for minutes
        processes.signal_group(self._proc, signal.SIGTERM)
        threading.Thread(target=self._await_stop, daemon=True, name=f"airbricks-driver-stop-{self.cluster_id}").start()

    def _await_stop(self) -> None:
        try:
            self._proc.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            processes.signal_group(self._proc, signal.SIGKILL)
            self._proc.wait(timeout=10)
        self.state = DriverState.STOPPED

    def kill(self) -> None:
        """Kill now and reap (kill -9 of the whole group)."""
        self.state = DriverState.STOPPED
        self._forget_conf()
        self._abandon_own_session()
        processes.signal_group(self._proc, signal.SIGKILL)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None
