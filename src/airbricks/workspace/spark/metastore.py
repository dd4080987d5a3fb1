"""The one Hive metastore every driver of the workspace shares: tables outlive clusters and restarts.

An embedded Derby database can be opened by one JVM only, so the workspace runs the metastore as its own
service (``org.apache.hadoop.hive.metastore.HiveMetaStore`` from pyspark's jars, Derby under the data dir)
and every driver connects to it over Thrift on loopback. Started with the first driver, stopped with the
workspace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path
from xml.sax.saxutils import escape

from airbricks.workspace.spark import processes
from airbricks.workspace.spark.install import SparkInstall


class Metastore:
    def __init__(self, install: SparkInstall, directory: Path, warehouse: Path, hadoop: dict[str, str],
                 owner: Path) -> None:
        self.install = install
        self.directory = directory
        self.warehouse = warehouse
        self.hadoop = hadoop
        self.owner = owner
        self.port = 0
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
                "<configuration>\n" + "".join(f"<property><name>{escape(k)}</name><value>{escape(v)}</value>"
                                              "</property>\n" for k, v in settings.items()) + "</configuration>\n")
            command = [self.install.java, "-Xmx512m", f"{processes.MARKER}{self.owner}",
                       "-Dhive.async.log.enabled=false", f"-Dderby.system.home={self.directory}",
                       f"-Dderby.stream.error.file={self.directory / 'derby.log'}",
                       "-cp", f"{conf}{os.pathsep}{self.install.jars}/*",
                       "org.apache.hadoop.hive.metastore.HiveMetaStore", "-p", str(self.port)]
            self._proc = processes.spawn(command, log=self.log, env=dict(os.environ), cwd=self.directory)

    def ready(self) -> bool:
        return self.port > 0 and processes.port_open(self.port)

    def failed(self) -> str | None:
        """Why the service died, if it did."""
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
