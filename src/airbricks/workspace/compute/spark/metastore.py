"""The one Hive metastore every driver of the workspace shares: tables outlive clusters and restarts.

An embedded Derby database can be opened by one JVM only, so the workspace runs the metastore as its own
service (Hive 2.3's metastore handler from pyspark's jars, Derby under the data dir) and every driver connects
to it over Thrift on loopback. Started with the first driver, stopped with the workspace.

The service has no authentication: whoever reaches its port can create, alter or drop every table definition.
Hive's own ``HiveMetaStore`` main listens on every interface and has no setting for the address, so the
service is started through the project's launcher (``java/airbricks/metastore/LoopbackMetastore.java``,
compiled against pyspark's jars by :mod:`~airbricks.workspace.compute.spark.javac`), which serves the same
handler on a socket bound to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from airbricks.workspace.compute.spark import processes
from airbricks.workspace.compute.spark.class_cache import Dump
from airbricks.workspace.compute.spark.install import SparkInstall, SparkNotAvailable
from airbricks.workspace.compute.spark.javac import project_jar
from airbricks.workspace.config import default_java_build

#: The launcher's class (under ``java/``): Hive's metastore handler on a Thrift socket bound to one address.
LAUNCHER = "airbricks.metastore.LoopbackMetastore"
#: The only address the service listens on: every client is a driver or the workspace on this machine.
BIND_ADDRESS = "127.0.0.1"


class Metastore:
    def __init__(
        self,
        install: SparkInstall,
        directory: Path,
        warehouse: Path,
        hadoop: dict[str, str],
        owner: Path,
        java_options: str = "",
        class_options: Callable[[], tuple[list[str], Dump | None]] = lambda: ([], None),
        java_build: Path | None = None,
    ) -> None:
        self.install = install
        self.java_options = java_options.split()
        self.class_options = class_options
        self._dump: Dump | None = None
        self.directory = directory
        self.warehouse = warehouse
        self.hadoop = hadoop
        self.owner = owner
        self.java_build = java_build or default_java_build()
        self.port = 0
        self._problem: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return f"thrift://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "metastore.log"

    def ensure_started(self) -> None:
        """Start the service if it is not running (non-blocking: drivers wait for :meth:`ready`)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            try:
                launcher = project_jar(self.install, self.java_build)
            except SparkNotAvailable as missing:
                self._problem = f"The Hive metastore service could not be built: {missing}"
                return
            self._problem = None
            self.port = processes.free_port()
            conf = self.directory / "conf"
            conf.mkdir(parents=True, exist_ok=True)
            settings = {
                "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={self.directory / 'metastore_db'};"
                "create=true",
                "datanucleus.schema.autoCreateAll": "true",
                "hive.metastore.schema.verification": "false",
                "hive.metastore.warehouse.dir": f"file://{self.warehouse}",
                **self.hadoop,
            }
            (conf / "hive-site.xml").write_text(
                "<configuration>\n"
                + "".join(
                    f"<property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
                    for k, v in settings.items()
                )
                + "</configuration>\n"
            )
            sharing, self._dump = self.class_options()
            command = [
                self.install.java,
                "-Xmx512m",
                f"{processes.MARKER}{self.owner}",
                *self.java_options,
                *sharing,
                "-Dhive.async.log.enabled=false",
                f"-Dderby.system.home={self.directory}",
                f"-Dderby.stream.error.file={self.directory / 'derby.log'}",
                "-cp",
                # The launcher last: an archive of Spark's jars alone still maps (appended entries are allowed).
                f"{self.install.jars}/*:{launcher}",
                LAUNCHER,
                str(self.port),
                BIND_ADDRESS,
            ]
            # hive-site.xml found through HIVE_CONF_DIR, not the class path: a class-data archive cannot be built
            # over a class path holding a non-empty directory.
            self._proc = processes.spawn(
                command, log=self.log, env={**os.environ, "HIVE_CONF_DIR": str(conf)}, cwd=self.directory
            )

    def ready(self) -> bool:
        return self.port > 0 and processes.port_open(self.port)

    def warmed(self) -> None:
        """A driver's first query went through this service: archive its classes if it is the first one."""
        with self._lock:
            dump, self._dump = self._dump, None
            proc = self._proc
        if dump is not None and proc is not None and proc.poll() is None:
            dump.take(proc.pid)

    def failed(self) -> str | None:
        """Why the service died (or could not be built), if it did."""
        if self._problem is not None:
            return self._problem
        if self._proc is not None and self._proc.poll() is not None:
            return f"The Hive metastore service exited (code {self._proc.returncode}): {processes.log_tail(self.log)}"
        return None

    def stop(self) -> None:
        with self._lock:
            if self._proc is None:
                return
            processes.signal_group(self._proc, signal.SIGKILL)
            self._proc.wait(timeout=10)
            self._proc = None
