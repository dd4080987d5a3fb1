"""A local workspace for one test session or script: started in a temporary data dir, reached over real HTTP.

:class:`TestWorkspace` owns an in-process :class:`~airbricks.workspace.server.serve.LocalWorkspace` and offers what a
test of a user's DAGs needs through the workspace's public REST API only (never its models): a
``databricks-sdk`` client, notebook uploads, files landed in DBFS or a Volume, a run's notebook output. What
makes tests independent of each other (snapshot, reset, the running-cluster check) is in
:mod:`airbricks.testing.isolation`.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from typing import Any

import requests

from airbricks.testing.isolation import Snapshot, reset_to, running_clusters_since, take_snapshot

#: Scaled lifecycle defaults: a PENDING cluster is RUNNING after half a second, as fast as a test wants.
DEFAULT_START_SECONDS = 0.5
DEFAULT_STOP_SECONDS = 0.2


class WorkspaceApiError(RuntimeError):
    """A call to the local workspace's REST API answered with an error (the message carries its body)."""


class Api:
    """A tiny authenticated client of the workspace's REST API (one keep-alive session)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        data: bytes | None = None,
        ok_missing: bool = False,
    ) -> Any:
        """``method path`` (``/api/...``); the decoded answer (None for an empty one, or a 404 when allowed)."""
        response = self._session.request(method, self.url + path, json=json, params=params, data=data, timeout=60)
        if ok_missing and (response.status_code == 404 or "RESOURCE_DOES_NOT_EXIST" in response.text):
            return None
        if response.status_code >= 400:
            raise WorkspaceApiError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None

    def close(self) -> None:
        self._session.close()


class TestWorkspace:
    """A running local workspace plus the helpers tests use; a context manager (stops and cleans up on exit).

    :param data_dir: where the workspace keeps its state; None: a temporary dir, removed on exit.
    :param spark: real Spark behind clusters (``airbricks[spark]`` and Java 17+); off, notebooks run in plain
        Python processes and ``spark`` is not defined in them.
    :param settings: ``tls=True`` (an HTTPS listener too, for the SQL connector), ``fixtures=FILE`` (a workspace
        fixtures file, applied at start: see :mod:`airbricks.workspace.fixtures`), or any other
        :class:`~airbricks.workspace.config.WorkspaceConfig` field (``token``, ``cluster_start_seconds``,
        ``cluster_stop_seconds``, ``max_spark_drivers``...).
    """

    __test__ = False  # not a test class, whatever pytest's name patterns say

    def __init__(self, data_dir: str | Path | None = None, *, spark: bool = False, **settings: Any) -> None:
        from airbricks.workspace.server.serve import LocalWorkspace

        # A temporary data dir sits in a private parent folder, so nothing else shares the folder around it.
        self._temporary: Path | None = None
        if data_dir is None:
            self._temporary = Path(tempfile.mkdtemp(prefix="airbricks-ws-"))
            self.data_dir = self._temporary / "workspace"
        else:
            self.data_dir = Path(data_dir)
        settings.setdefault("cluster_start_seconds", DEFAULT_START_SECONDS)
        settings.setdefault("cluster_stop_seconds", DEFAULT_STOP_SECONDS)
        self.server = LocalWorkspace(self.data_dir, spark=spark, **settings)
        self._api: Api | None = None
        self._client: Any = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> TestWorkspace:
        try:
            self.server.start()
        except BaseException:
            self._remove_temporary()
            raise
        self._api = Api(self.server.url, self.server.token)
        return self

    def stop(self) -> None:
        """Stop the server and every process it started (drivers, notebook runs); a temporary data dir goes."""
        if self._api is not None:
            self._api.close()
        self.server.stop()
        self._remove_temporary()

    def _remove_temporary(self) -> None:
        if self._temporary:
            shutil.rmtree(self._temporary, ignore_errors=True)

    def __enter__(self) -> TestWorkspace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- how clients reach it ----------------------------------------------------------------------------
    url = property(lambda self: self.server.url)
    token = property(lambda self: self.server.token)
    #: ``AIRFLOW_CONN_<ID>`` value (``databricks://:TOKEN@127.0.0.1:PORT/http``).
    connection_uri = property(lambda self: self.server.connection_uri)
    #: With ``tls=True``: the HTTPS listener, its CA file, and the connection extra of databricks-sql-connector
    #: (``DatabricksSqlOperator``): ``_port``, ``_tls_trusted_ca_file``, ``enable_telemetry``.
    tls_url = property(lambda self: self.server.tls_url)
    ca_file = property(lambda self: self.server.ca_file)
    connector_extra = property(lambda self: self.server.connector_extra)

    @property
    def api(self) -> Api:
        assert self._api is not None, "start the workspace first (use it as a context manager)"
        return self._api

    def client(self) -> Any:
        """A ``databricks-sdk`` ``WorkspaceClient`` for this workspace (one per workspace, made on first use)."""
        if self._client is None:
            from databricks.sdk import WorkspaceClient

            self._client = WorkspaceClient(host=self.url, token=self.token, auth_type="pat")
        return self._client

    # -- helpers -----------------------------------------------------------------------------------------
    def upload_notebooks(self, folder: str | Path, target: str) -> list[str]:
        """Import every file under the local ``folder`` below the workspace path ``target``.

        ``target`` is what the DAGs name: ``/Workspace/Shared/x``, ``/Shared/x``, ``/Repos/team/project/...``.
        As the workspace's AUTO import does, a ``.py``/``.sql``/``.scala``/``.r`` file that starts with the
        ``Databricks notebook source`` header (and any ``.ipynb``) becomes a notebook named without its
        extension; every other file stays a workspace file. Returns the workspace paths, sorted.
        """
        root = Path(folder)
        if not root.is_dir():
            raise NotADirectoryError(f"upload_notebooks: {root} is not a folder of notebooks")
        if not target.startswith("/"):
            raise ValueError(
                f"upload_notebooks: target {target!r} must be an absolute workspace path, "
                "e.g. /Workspace/Shared/my_pipeline"
            )
        target = target.rstrip("/")
        uploaded = []
        for local in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            relative = local.relative_to(root).as_posix()
            path = f"{target}/{relative}"
            self.api.call("POST", "/api/2.0/workspace/mkdirs", json={"path": path.rpartition("/")[0]})
            self.api.call(
                "POST",
                "/api/2.0/workspace/import",
                json={
                    "path": path,
                    "format": "AUTO",
                    "overwrite": True,
                    "content": base64.b64encode(local.read_bytes()).decode(),
                },
            )
            status = self.api.call(
                "GET", "/api/2.0/workspace/get-status", params={"path": _notebook_name(path)}, ok_missing=True
            )
            uploaded.append(_notebook_name(path) if status else path)
        return uploaded

    def create_volume(self, full_name: str, volume_type: str = "MANAGED") -> str:
        """Make sure the volume ``catalog.schema.volume`` exists (its catalog and schema too), as a real
        workspace needs before ``/Volumes/...`` paths work; returns ``/Volumes/catalog/schema/volume``.
        What a test creates is removed after it, like its files."""
        parts = full_name.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"create_volume: {full_name!r} is not catalog.schema.volume")
        catalog, schema, volume = parts
        uc = "/api/2.1/unity-catalog"
        if self.api.call("GET", f"{uc}/catalogs/{catalog}", ok_missing=True) is None:
            self.api.call("POST", f"{uc}/catalogs", json={"name": catalog})
        if self.api.call("GET", f"{uc}/schemas/{catalog}.{schema}", ok_missing=True) is None:
            self.api.call("POST", f"{uc}/schemas", json={"catalog_name": catalog, "name": schema})
        if self.api.call("GET", f"{uc}/volumes/{full_name}", ok_missing=True) is None:
            self.api.call(
                "POST",
                f"{uc}/volumes",
                json={"catalog_name": catalog, "schema_name": schema, "name": volume, "volume_type": volume_type},
            )
        return f"/Volumes/{catalog}/{schema}/{volume}"

    def land_file(self, path: str, content: bytes | str) -> str:
        """Write ``content`` at ``path`` in DBFS (``dbfs:/x`` or ``/x``) or a Volume (``/Volumes/c/s/v/x``, which
        must exist: :meth:`create_volume` first).

        Parent folders are created; an existing file is replaced. Returns the path as given.
        """
        data = content.encode() if isinstance(content, str) else content
        if path.startswith("/Volumes/"):
            self.api.call("PUT", f"/api/2.0/fs/files{path}", params={"overwrite": "true"}, data=data)
            return path
        dbfs_path = path[len("dbfs:") :] if path.startswith("dbfs:") else path
        if not dbfs_path.startswith("/"):
            raise ValueError(
                f"land_file: {path!r} is neither dbfs:/..., /... nor /Volumes/<catalog>/<schema>/<volume>/..."
            )
        handle = self.api.call("POST", "/api/2.0/dbfs/create", json={"path": dbfs_path, "overwrite": True})["handle"]
        block = 1024 * 1024  # add-block takes at most 1 MB a call
        for start in range(0, len(data), block):
            self.api.call(
                "POST",
                "/api/2.0/dbfs/add-block",
                json={"handle": handle, "data": base64.b64encode(data[start : start + block]).decode()},
            )
        self.api.call("POST", "/api/2.0/dbfs/close", json={"handle": handle})
        return path

    def notebook_output(self, run_id: int, task_key: str | None = None) -> dict[str, Any]:
        """``runs/get-output`` of a notebook task run: pass a task run's id, or a (parent) run id and its
        ``task_key`` (optional when the run has one task). Returns the answer, ``notebook_output.result`` and
        ``error``/``error_trace`` included."""
        run = self.api.call("GET", "/api/2.1/jobs/runs/get", params={"run_id": run_id})
        tasks = run.get("tasks") or []
        if tasks and run.get("run_id") == run_id:
            chosen = [t for t in tasks if task_key is None or t.get("task_key") == task_key]
            if len(chosen) != 1:
                keys = [t.get("task_key") for t in tasks]
                raise ValueError(f"notebook_output: run {run_id} has tasks {keys}; pass task_key= one of them")
            run_id = chosen[0]["run_id"]
        return self.api.call("GET", "/api/2.1/jobs/runs/get-output", params={"run_id": run_id})

    # -- isolation (see airbricks.testing.isolation) -----------------------------------------------------
    def snapshot(self) -> Snapshot:
        """What exists now: clusters, jobs, runs, files. Pass it to :meth:`reset` to remove what came later."""
        return take_snapshot(self.api)

    def running_clusters(self, since: Snapshot) -> list[dict[str, Any]]:
        """Clusters created after ``since`` that are not TERMINATED (the leak a test must not leave)."""
        return running_clusters_since(self.api, since)

    def reset(self, to: Snapshot) -> None:
        """Remove every cluster, job, run and file created after ``to`` (through the public API)."""
        reset_to(self.api, to)


def _notebook_name(path: str) -> str:
    """The name a notebook file gets once imported (its extension dropped)."""
    stem, dot, suffix = path.rpartition(".")
    return stem if dot and "/" not in suffix and suffix.lower() in ("py", "sql", "scala", "r", "ipynb") else path


def local_workspace(data_dir: str | Path | None = None, *, spark: bool = False, **settings: Any) -> TestWorkspace:
    """A local workspace as a context manager, for scripts and any test runner::

        with local_workspace() as ws:
            ws.client().clusters.list()

    Arguments as :class:`TestWorkspace`.
    """
    return TestWorkspace(data_dir, spark=spark, **settings)
