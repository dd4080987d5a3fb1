"""Cluster libraries (``/api/2.0/libraries``): PyPI packages and wheels installed on a cluster, for real.

``install`` attaches libraries to a cluster; once it is RUNNING they are installed with pip into the cluster's
own directory (``<data dir>/clusters/<id>/site-packages``), which every task run on that cluster puts on its
``sys.path`` - a notebook then imports them as on Databricks. A jar (from DBFS, a volume or the workspace) is
INSTALLED once its file is there, and every later run on the cluster gets it: added to the run's Spark
Connect session (its classes serve Java UDFs and data sources) and to a jar task's ``--jars``. Statuses
follow the real API: PENDING -> INSTALLING -> INSTALLED, or FAILED with pip's own message. Maven, egg, CRAN
and requirements libraries are FAILED with a message saying what works instead (Maven needs a repository the
driver resolves at start: ``airbricks serve --spark-packages``). Installs run in a thread of their own (pip
takes seconds); the ticker only starts them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.kernel.cells import InstallError, install
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.local_paths import LocalPaths

KIND = "cluster_libraries"
PYTHON_KINDS = ("pypi", "whl")
KNOWN_KINDS = ("pypi", "whl", "jar", "maven", "egg", "cran", "requirements")

Installer = Callable[[list[str], Path], None]


class Libraries:
    def __init__(
        self, shared: Shared, *, clusters: Clusters, local_paths: LocalPaths, installer: Installer = install
    ) -> None:
        self.shared = shared
        self.clusters = clusters
        self.local_paths = local_paths
        self.installer = installer
        self._statuses: dict[str, list[dict[str, Any]]] = {cid: doc["statuses"] for cid, doc in shared.store.load(KIND)}
        self._busy: set[str] = set()

    def site_dir(self, cluster_id: str) -> Path:
        return self.shared.data_dir / "clusters" / cluster_id / "site-packages"

    def jars(self, cluster_id: str) -> list[Path]:
        """The cluster's INSTALLED jars, as local files."""
        with self.shared.lock:
            statuses = list(self._statuses.get(cluster_id, []))
        return [
            self.local_paths.local_file(s["library"]["jar"], field="jar")
            for s in statuses
            if s["status"] == "INSTALLED" and s["library"].get("jar")
        ]

    def _save(self, cluster_id: str) -> None:
        self.shared.store.put(KIND, cluster_id, {"statuses": self._statuses[cluster_id]})

    @staticmethod
    def _validate(libraries: Any) -> list[dict[str, Any]]:
        if not isinstance(libraries, list) or not libraries:
            raise InvalidParameterValue(
                'Missing required field: libraries (a list such as [{"pypi": {"package": "requests==2.32.3"}}])'
            )
        for i, library in enumerate(libraries):
            kinds = [k for k in KNOWN_KINDS if isinstance(library, dict) and library.get(k)]
            if len(kinds) != 1:
                raise InvalidParameterValue(
                    f"Invalid value for field 'libraries[{i}]': exactly one of {', '.join(KNOWN_KINDS)} is required"
                )
            if kinds[0] == "pypi" and not (isinstance(library["pypi"], dict) and library["pypi"].get("package")):
                raise InvalidParameterValue(f"Missing required field: libraries[{i}].pypi.package")
        return libraries

    def install(self, cluster_id: str, libraries: Any) -> None:
        """``libraries/install``: attach (installed once the cluster is RUNNING)."""
        valid = self._validate(libraries)
        with self.shared.lock:
            self.clusters.get(cluster_id)  # a missing cluster is the usual 400
            statuses = self._statuses.setdefault(cluster_id, [])
            known = [s["library"] for s in statuses]
            for library in valid:
                if library not in known:
                    statuses.append({"library": library, "status": "PENDING", "is_library_for_all_clusters": False})
            self._save(cluster_id)

    def uninstall(self, cluster_id: str, libraries: Any) -> None:
        valid = self._validate(libraries)
        with self.shared.lock:
            for status in self._statuses.get(cluster_id, []):
                if status["library"] in valid:
                    status["status"] = "UNINSTALL_ON_RESTART"
            self._save(cluster_id)

    def cluster_status(self, cluster_id: str) -> dict[str, Any]:
        with self.shared.lock:
            self.clusters.get(cluster_id)
            statuses = [dict(s) for s in self._statuses.get(cluster_id, [])]
        return {"cluster_id": cluster_id, **({"library_statuses": statuses} if statuses else {})}

    def all_statuses(self) -> dict[str, Any]:
        with self.shared.lock:
            live = {c["cluster_id"] for c in self.clusters.list()}
            return {
                "statuses": [
                    {"cluster_id": cid, "library_statuses": [dict(s) for s in statuses]}
                    for cid, statuses in self._statuses.items()
                    if cid in live and statuses
                ]
            }

    def tick(self, now: int) -> None:
        """Start installing the PENDING libraries of RUNNING clusters (one install thread per cluster)."""
        with self.shared.lock:
            for cluster_id, statuses in self._statuses.items():
                pending = [s for s in statuses if s["status"] == "PENDING"]
                if not pending or cluster_id in self._busy:
                    continue
                try:
                    if self.clusters.state(cluster_id) != "RUNNING":
                        continue
                except InvalidParameterValue:
                    continue
                for status in pending:
                    status["status"] = "INSTALLING"
                self._save(cluster_id)
                self._busy.add(cluster_id)
                threading.Thread(
                    target=self._install,
                    args=(cluster_id, pending),
                    daemon=True,
                    name=f"airbricks-libraries-{cluster_id}",
                ).start()

    def _install(self, cluster_id: str, pending: list[dict[str, Any]]) -> None:
        for status in pending:
            library = status["library"]
            try:
                if library.get("pypi"):
                    self.installer([str(library["pypi"]["package"])], self.site_dir(cluster_id))
                elif library.get("whl"):
                    self.installer(
                        [str(self.local_paths.local_file(library["whl"], field="whl"))], self.site_dir(cluster_id)
                    )
                elif library.get("jar"):
                    if not self.local_paths.local_file(library["jar"], field="jar").is_file():
                        raise InstallError(f"Cannot read the jar {library['jar']}: it does not exist.")
                elif library.get("maven"):
                    raise InstallError(
                        "Maven libraries cannot be installed on a running cluster of the local "
                        "workspace: start it with airbricks serve --spark-packages <coordinates> "
                        "(every driver resolves them at start), or install the jar itself."
                    )
                else:
                    raise InstallError(
                        f"{next(iter(library))} libraries are not supported by the local "
                        "workspace: use pypi, whl or jar."
                    )
                result, messages = "INSTALLED", []
            except (InstallError, InvalidParameterValue) as exc:
                result, messages = "FAILED", [str(exc)]
            with self.shared.lock:
                status["status"] = result
                if messages:
                    status["messages"] = messages
                self._save(cluster_id)
        with self.shared.lock:
            self._busy.discard(cluster_id)
