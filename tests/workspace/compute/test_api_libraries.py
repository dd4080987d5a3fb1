"""Cluster libraries through databricks-sdk: installed for real with pip once the cluster runs, importable by
every notebook on that cluster, FAILED with pip's message when they cannot be installed."""

from __future__ import annotations

import time
import uuid

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service.compute import Library, LibraryInstallStatus, MavenLibrary, PythonPyPiLibrary
from tests.workspace.jobs.test_api import CLUSTER, _nb_task, _upload, _wait_run


def _statuses(sdk: WorkspaceClient, cluster_id: str, until: set[str], timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = {
            (
                s.library.pypi.package
                if s.library.pypi
                else s.library.maven.coordinates
                if s.library.maven
                else s.library.jar or s.library.whl
            ): s
            for s in sdk.libraries.cluster_status(cluster_id)
        }
        if statuses and all(s.status.value in until for s in statuses.values()):
            return statuses
        assert time.monotonic() < deadline, {k: v.status for k, v in statuses.items()}
        time.sleep(0.2)


def test_cluster_libraries_are_installed_and_importable(sdk: WorkspaceClient) -> None:
    cluster_id = sdk.clusters.create_and_wait(cluster_name="libraries", **CLUSTER).cluster_id
    try:
        missing = f"airbricks-no-such-package-{uuid.uuid4().hex[:6]}"
        sdk.libraries.install(
            cluster_id,
            [
                Library(pypi=PythonPyPiLibrary(package="tinydb==4.8.2")),
                Library(pypi=PythonPyPiLibrary(package=missing)),
                Library(jar="dbfs:/jars/nothing.jar"),
                Library(maven=MavenLibrary(coordinates="org.example:nothing:1.0")),
            ],
        )
        statuses = _statuses(sdk, cluster_id, {"INSTALLED", "FAILED"})
        assert statuses["tinydb==4.8.2"].status == LibraryInstallStatus.INSTALLED
        assert statuses[missing].status == LibraryInstallStatus.FAILED
        assert "No matching distribution found" in statuses[missing].messages[0]
        assert statuses["dbfs:/jars/nothing.jar"].messages == [
            "Cannot read the jar dbfs:/jars/nothing.jar: it does not exist."
        ]
        assert "--spark-packages" in statuses["org.example:nothing:1.0"].messages[0]
        path = _upload(sdk, "import tinydb\ndbutils.notebook.exit(tinydb.__version__)\n")
        run = _wait_run(sdk, sdk.jobs.submit(run_name="libs", tasks=[_nb_task("t", path, cluster_id)]).run_id)
        assert sdk.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "4.8.2"
        listed = {s.cluster_id for s in sdk.libraries.all_cluster_statuses()}
        assert cluster_id in listed
    finally:
        sdk.clusters.permanent_delete(cluster_id)


def test_library_requests_are_validated(sdk: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="Cluster 0000-000000-nosuchcl does not exist"):
        sdk.libraries.install("0000-000000-nosuchcl", [Library(pypi=PythonPyPiLibrary(package="six"))])
    cluster_id = sdk.clusters.create(cluster_name="libraries-bad", **CLUSTER).response.cluster_id
    try:
        with pytest.raises(InvalidParameterValue, match="libraries\\[0\\]"):
            sdk.api_client.do(
                "POST", "/api/2.0/libraries/install", body={"cluster_id": cluster_id, "libraries": [{"pypi": {}}]}
            )
    finally:
        sdk.clusters.permanent_delete(cluster_id)
