"""Cluster libraries, model only: validation, the statuses a library goes through on the manual clock, what a
failed install says, uninstall. The installer is a recording stand-in for pip (pip itself: test_api_libraries)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tests.workspace.compute.kit import LocalFiles, running_cluster, step
from tests.workspace.model_kit import SPEC, START_MS, STOP_MS

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.compute.libraries import Libraries
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.kernel.cells import InstallError
from airbricks.workspace.shared import Shared

SIX = {"pypi": {"package": "six==1.16.0"}}


class Pip:
    """Records what it is asked to install; a package named in ``missing`` fails as pip would."""

    def __init__(self, *missing: str) -> None:
        self.missing = set(missing)
        self.calls: list[tuple[list[str], Path]] = []

    def __call__(self, packages: list[str], target: Path) -> None:
        self.calls.append((packages, target))
        if self.missing & set(packages):
            raise InstallError(f"ERROR: No matching distribution found for {packages[0]}")


@pytest.fixture
def pip() -> Pip:
    return Pip("nosuchpackage")


@pytest.fixture
def libraries(shared: Shared, clusters: Clusters, pip: Pip, tmp_path: Path) -> Libraries:
    return Libraries(shared, clusters=clusters, local_paths=LocalFiles(tmp_path / "files"), installer=pip)


def installed(libraries: Libraries, clusters: Clusters, clock: ManualClock, cluster_id: str) -> dict[str, dict]:
    """Tick once (installs start), wait for the install thread, and the statuses by library kind and name."""
    step(clusters, clock, 0)
    libraries.tick(clock.now_ms())
    for thread in threading.enumerate():
        if thread.name == f"airbricks-libraries-{cluster_id}":
            thread.join(10)
    return {_name(s["library"]): s for s in libraries.cluster_status(cluster_id).get("library_statuses", [])}


def _name(library: dict) -> str:
    value = next(iter(library.values()))
    return value if isinstance(value, str) else value.get("package") or value["coordinates"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "Missing required field: libraries"),
        ([], "Missing required field: libraries"),
        ([{"pypi": {"package": "six"}, "jar": "dbfs:/a.jar"}], r"'libraries\[0\]': exactly one of pypi"),
        ([SIX, {"unknown": 1}], r"'libraries\[1\]': exactly one of"),
        ([{"pypi": {"repo": "https://pypi.example"}}], r"Missing required field: libraries\[0\].pypi.package"),
    ],
)
def test_install_refuses_bad_library_lists(
    libraries: Libraries, clusters: Clusters, given: object, message: str
) -> None:
    cluster_id = clusters.create(dict(SPEC))
    with pytest.raises(InvalidParameterValue, match=message):
        libraries.install(cluster_id, given)
    assert libraries.cluster_status(cluster_id) == {"cluster_id": cluster_id}


def test_install_on_a_missing_cluster_is_the_clusters_error(libraries: Libraries) -> None:
    with pytest.raises(InvalidParameterValue, match="Cluster 0000-000000-nosuchcl does not exist"):
        libraries.install("0000-000000-nosuchcl", [SIX])
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        libraries.cluster_status("0000-000000-nosuchcl")


def test_a_library_waits_pending_until_the_cluster_runs_then_is_installed_into_its_site_dir(
    libraries: Libraries, clusters: Clusters, clock: ManualClock, pip: Pip
) -> None:
    cluster_id = clusters.create(dict(SPEC))
    libraries.install(cluster_id, [SIX])
    libraries.install(cluster_id, [SIX])  # again: still one
    assert installed(libraries, clusters, clock, cluster_id)["six==1.16.0"] == {
        "library": SIX,
        "status": "PENDING",
        "is_library_for_all_clusters": False,
    }
    assert pip.calls == []
    step(clusters, clock, START_MS)
    assert installed(libraries, clusters, clock, cluster_id)["six==1.16.0"]["status"] == "INSTALLED"
    assert pip.calls == [(["six==1.16.0"], libraries.site_dir(cluster_id))]
    assert libraries.site_dir(cluster_id).parts[-3:] == ("clusters", cluster_id, "site-packages")
    installed(libraries, clusters, clock, cluster_id)
    assert len(pip.calls) == 1  # installed once, not on every tick


def test_failed_installs_say_why(libraries: Libraries, clusters: Clusters, clock: ManualClock, tmp_path: Path) -> None:
    cluster_id = running_cluster(clusters, clock)
    jar = tmp_path / "files" / "dbfs" / "jars" / "there.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK")
    libraries.install(
        cluster_id,
        [
            {"pypi": {"package": "nosuchpackage"}},
            {"jar": "dbfs:/jars/missing.jar"},
            {"jar": "dbfs:/jars/there.jar"},
            {"maven": {"coordinates": "org.example:lib:1.0"}},
            {"cran": {"package": "forecast"}},
        ],
    )
    statuses = installed(libraries, clusters, clock, cluster_id)
    assert {name: s["status"] for name, s in statuses.items()} == {
        "nosuchpackage": "FAILED",
        "dbfs:/jars/missing.jar": "FAILED",
        "dbfs:/jars/there.jar": "INSTALLED",
        "org.example:lib:1.0": "FAILED",
        "forecast": "FAILED",
    }
    assert statuses["nosuchpackage"]["messages"] == ["ERROR: No matching distribution found for nosuchpackage"]
    assert statuses["dbfs:/jars/missing.jar"]["messages"] == [
        "Cannot read the jar dbfs:/jars/missing.jar: it does not exist."
    ]
    assert "--spark-packages" in statuses["org.example:lib:1.0"]["messages"][0]
    assert statuses["forecast"]["messages"][0].startswith("cran libraries are not supported")
    assert "messages" not in statuses["dbfs:/jars/there.jar"]
    assert libraries.jars(cluster_id) == [jar]  # only the INSTALLED jar reaches runs


def test_uninstall_marks_uninstall_on_restart_and_a_restart_does_not_install_it_again(
    libraries: Libraries, clusters: Clusters, clock: ManualClock, pip: Pip, tmp_path: Path
) -> None:
    cluster_id = running_cluster(clusters, clock)
    jar = tmp_path / "files" / "lib.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK")
    libraries.install(cluster_id, [SIX, {"jar": "lib.jar"}])
    installed(libraries, clusters, clock, cluster_id)
    libraries.uninstall(cluster_id, [SIX, {"jar": "lib.jar"}, {"pypi": {"package": "never-installed"}}])
    statuses = installed(libraries, clusters, clock, cluster_id)
    assert {name: s["status"] for name, s in statuses.items()} == {
        "six==1.16.0": "UNINSTALL_ON_RESTART",
        "lib.jar": "UNINSTALL_ON_RESTART",
    }
    assert libraries.jars(cluster_id) == []
    clusters.restart(cluster_id)
    step(clusters, clock, STOP_MS + START_MS)
    assert clusters.state(cluster_id) == "RUNNING"
    installed(libraries, clusters, clock, cluster_id)
    assert pip.calls == [(["six==1.16.0"], libraries.site_dir(cluster_id))]
    with pytest.raises(InvalidParameterValue, match="Missing required field: libraries"):
        libraries.uninstall(cluster_id, [])


def test_all_statuses_lists_live_clusters_with_libraries_and_statuses_survive_a_restart(
    libraries: Libraries, clusters: Clusters, shared: Shared, tmp_path: Path
) -> None:
    with_libraries, without, deleted = (clusters.create(dict(SPEC)) for _ in range(3))
    libraries.install(with_libraries, [SIX])
    libraries.install(deleted, [SIX])
    clusters.permanent_delete(deleted)
    assert [s["cluster_id"] for s in libraries.all_statuses()["statuses"]] == [with_libraries]
    assert libraries.cluster_status(without) == {"cluster_id": without}
    again = Libraries(shared, clusters=clusters, local_paths=LocalFiles(tmp_path / "files"), installer=Pip())
    assert again.cluster_status(with_libraries)["library_statuses"][0]["status"] == "PENDING"
