"""Isolation between tests, through the workspace's public REST API (and one admin listing), never its models.

Before a test a :class:`Snapshot` records what exists: clusters, jobs, runs, DBFS paths, workspace objects,
files in Volumes, secret scopes and SCIM principals. After it, whatever is new was the test's:
:func:`running_clusters_since` names the clusters it left running (the plugin fails the test with their ids),
and :func:`reset_to` removes all of it - runs cancelled and deleted, jobs deleted, clusters permanently deleted,
files and folders deleted, scopes and principals deleted - so the next test sees exactly what the one before it
saw. What existed before (a session's shared cluster, notebooks a session fixture uploaded) is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbricks.testing.workspace import Api

#: Cluster states that count as "left running" (TERMINATING is already on its way down).
RUNNING_STATES = ("PENDING", "RUNNING", "RESTARTING", "RESIZING", "UNKNOWN")
#: The admin listing of volumes: the Files API cannot list above ``/Volumes/<catalog>/<schema>/<volume>``.
VOLUMES = "/api/2.0/airbricks/volumes"
UC = "/api/2.1/unity-catalog"
SCIM = "/api/2.0/preview/scim/v2"


@dataclass(frozen=True)
class Snapshot:
    """Ids and paths that existed at one moment."""

    clusters: frozenset[str] = field(default_factory=frozenset)
    jobs: frozenset[int] = field(default_factory=frozenset)
    runs: frozenset[int] = field(default_factory=frozenset)
    dbfs: frozenset[str] = field(default_factory=frozenset)
    objects: frozenset[str] = field(default_factory=frozenset)
    volume_files: frozenset[str] = field(default_factory=frozenset)
    #: Unity Catalog objects by kind (``catalogs``, ``schemas``, ``volumes``), full names.
    catalog: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    repos: frozenset[int] = field(default_factory=frozenset)
    secret_scopes: frozenset[str] = field(default_factory=frozenset)
    #: SCIM resources as ``(Users|Groups|ServicePrincipals, id)``.
    principals: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def take_snapshot(api: Api) -> Snapshot:
    return Snapshot(
        clusters=frozenset(c["cluster_id"] for c in _clusters(api)),
        jobs=frozenset(j["job_id"] for j in _paged(api, "/api/2.1/jobs/list", "jobs")),
        runs=frozenset(r["run_id"] for r in _paged(api, "/api/2.1/jobs/runs/list", "runs")),
        dbfs=frozenset(path for path, _ in _dbfs_tree(api)),
        objects=frozenset(path for path, _ in _object_tree(api)),
        volume_files=frozenset(path for path, _ in _volume_tree(api)),
        catalog=frozenset(_catalog_objects(api)),
        repos=frozenset(r["id"] for r in _paged(api, "/api/2.0/repos", "repos")),
        secret_scopes=frozenset(_secret_scopes(api)),
        principals=frozenset(_principals(api)),
    )


def running_clusters_since(api: Api, since: Snapshot) -> list[dict[str, Any]]:
    return [c for c in _clusters(api) if c["cluster_id"] not in since.clusters and c.get("state") in RUNNING_STATES]


def reset_to(api: Api, snapshot: Snapshot) -> None:
    """Remove everything created after ``snapshot``; runs first, so no run is left on a deleted cluster."""
    for run in _paged(api, "/api/2.1/jobs/runs/list", "runs"):
        if run["run_id"] not in snapshot.runs:
            api.call("POST", "/api/2.1/jobs/runs/cancel", json={"run_id": run["run_id"]})
            api.call("POST", "/api/2.1/jobs/runs/delete", json={"run_id": run["run_id"]}, ok_missing=True)
    for job in _paged(api, "/api/2.1/jobs/list", "jobs"):
        if job["job_id"] not in snapshot.jobs:
            api.call("POST", "/api/2.1/jobs/delete", json={"job_id": job["job_id"]}, ok_missing=True)
    for cluster in _clusters(api):
        if cluster["cluster_id"] not in snapshot.clusters:
            api.call(
                "POST",
                "/api/2.1/clusters/permanent-delete",
                json={"cluster_id": cluster["cluster_id"]},
                ok_missing=True,
            )
    for path in _topmost_new(_dbfs_tree(api), snapshot.dbfs):
        api.call("POST", "/api/2.0/dbfs/delete", json={"path": path, "recursive": True}, ok_missing=True)
    for repo in _paged(api, "/api/2.0/repos", "repos"):  # Git folders, with their files
        if repo["id"] not in snapshot.repos:
            api.call("DELETE", f"/api/2.0/repos/{repo['id']}", ok_missing=True)
    for path in _topmost_new(_object_tree(api), snapshot.objects):
        api.call("POST", "/api/2.0/workspace/delete", json={"path": path, "recursive": True}, ok_missing=True)
    for scope in _secret_scopes(api):
        if scope not in snapshot.secret_scopes:
            api.call("POST", "/api/2.0/secrets/scopes/delete", json={"scope": scope}, ok_missing=True)
    for resource, ident in _principals(api):
        if (resource, ident) not in snapshot.principals:
            api.call("DELETE", f"{SCIM}/{resource}/{ident}", ok_missing=True)
    # The Files API deletes only empty directories: files first, then directories deepest first.
    new = [(path, is_dir) for path, is_dir in _volume_tree(api) if path not in snapshot.volume_files]
    for path, is_dir in sorted(new, key=lambda entry: (entry[1], -entry[0].count("/"))):
        kind = "directories" if is_dir else "files"
        api.call("DELETE", f"/api/2.0/fs/{kind}{path}", ok_missing=True)
    # Unity Catalog objects the test created: volumes, then schemas, then catalogs (each with what is in it).
    new_objects = [obj for obj in _catalog_objects(api) if obj not in snapshot.catalog]
    new_names = {name for _, name in new_objects}
    for kind in ("volumes", "schemas", "catalogs"):
        for _, name in (obj for obj in new_objects if obj[0] == kind):
            if name.rpartition(".")[0] not in new_names:  # else deleting its parent (forced) takes it along
                api.call(
                    "DELETE",
                    f"{UC}/{kind}/{name}",
                    params={"force": "true"} if kind != "volumes" else None,
                    ok_missing=True,
                )


def _catalog_objects(api: Api) -> Iterator[tuple[str, str]]:
    for catalog in api.call("GET", f"{UC}/catalogs").get("catalogs", []):
        yield "catalogs", catalog["name"]
        for schema in api.call("GET", f"{UC}/schemas", params={"catalog_name": catalog["name"]}).get("schemas", []):
            yield "schemas", schema["full_name"]
            found = api.call(
                "GET", f"{UC}/volumes", params={"catalog_name": catalog["name"], "schema_name": schema["name"]}
            )
            for volume in found.get("volumes", []):
                yield "volumes", volume["full_name"]


def _topmost_new(tree: Iterator[tuple[str, bool]], old: frozenset[str]) -> list[str]:
    """New paths whose parent is not new too (deleting those, recursively, removes the rest)."""
    new = [path for path, _ in tree if path not in old]
    new_set = set(new)
    return [path for path in new if path.rpartition("/")[0] not in new_set]


def _secret_scopes(api: Api) -> list[str]:
    return [s["name"] for s in (api.call("GET", "/api/2.0/secrets/scopes/list") or {}).get("scopes", [])]


def _principals(api: Api) -> list[tuple[str, str]]:
    return [
        (resource, doc["id"])
        for resource in ("Groups", "ServicePrincipals", "Users")
        for doc in (api.call("GET", f"{SCIM}/{resource}") or {}).get("Resources", [])
    ]


def _clusters(api: Api) -> list[dict[str, Any]]:
    return list(_paged(api, "/api/2.1/clusters/list", "clusters", size_field="page_size"))


def _paged(api: Api, path: str, key: str, *, size_field: str = "limit") -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {size_field: 100}
    while True:
        page = api.call("GET", path, params=params) or {}
        yield from page.get(key, [])
        token = page.get("next_page_token")
        if not token:
            return
        params["page_token"] = token


def _dbfs_tree(api: Api, root: str = "/") -> Iterator[tuple[str, bool]]:
    answer = api.call("GET", "/api/2.0/dbfs/list", params={"path": root}, ok_missing=True) or {}
    for entry in answer.get("files", []):
        yield entry["path"], entry["is_dir"]
        if entry["is_dir"]:
            yield from _dbfs_tree(api, entry["path"])


def _object_tree(api: Api, root: str = "/") -> Iterator[tuple[str, bool]]:
    answer = api.call("GET", "/api/2.0/workspace/list", params={"path": root}, ok_missing=True) or {}
    for entry in answer.get("objects", []):
        is_dir = entry.get("object_type") in ("DIRECTORY", "REPO")
        yield entry["path"], is_dir
        if is_dir:
            yield from _object_tree(api, entry["path"])


def _volume_tree(api: Api) -> Iterator[tuple[str, bool]]:
    for volume in (api.call("GET", VOLUMES) or {}).get("volumes", []):
        yield from _volume_dir(api, volume)


def _volume_dir(api: Api, directory: str) -> Iterator[tuple[str, bool]]:
    params: dict[str, Any] = {}
    while True:
        page = api.call("GET", f"/api/2.0/fs/directories{directory}", params=params, ok_missing=True) or {}
        for entry in page.get("contents", []):
            yield entry["path"], entry["is_directory"]
            if entry["is_directory"]:
                yield from _volume_dir(api, entry["path"])
        if not page.get("next_page_token"):
            return
        params["page_token"] = page["next_page_token"]
