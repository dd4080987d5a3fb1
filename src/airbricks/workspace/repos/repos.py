"""Git folders (``/api/2.0/repos``): a real git checkout materialized in the workspace under ``/Repos/...``.

Creating a folder clones the remote (see :mod:`airbricks.workspace.repos.git`) and imports the files of its
default branch at the folder's path: files with a ``Databricks notebook source`` header become notebooks
(named without their extension, as on Databricks), so notebook tasks run them; every other file stays a
workspace file. ``update`` with a ``branch`` or ``tag`` checks that out (the tree is replaced); ``delete``
removes the folder and its files. Kept in the store under kind ``repo``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.repos.git import GitRepos, provider_for
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.workspace_objects import WorkspaceObjects

KIND = "repo"
#: Where Git folders may live.
ROOTS = ("/Repos/", "/Users/")


class Repos:
    def __init__(self, shared: Shared, objects: WorkspaceObjects, git: GitRepos) -> None:
        self.shared = shared
        self.objects = objects
        self.git = git

    def create(self, url: object, provider: object, path: object) -> dict[str, Any]:
        if not isinstance(url, str) or not url:
            raise InvalidParameterValue("Missing required field: url")
        name = posixpath.basename(url.rstrip("/")).removesuffix(".git") or "repo"
        norm = self.objects.normalize(path if path else f"/Repos/{self.shared.user_name}/{name}")
        if not norm.startswith(ROOTS) or norm.count("/") < 3:
            raise InvalidParameterValue(
                f"Invalid path {norm}: a Git folder lives at /Repos/<folder>/<name> or "
                "/Users/<user>/<name> (also /Workspace/...)."
            )
        with self.shared.lock:
            if any(doc["path"] == norm for _, doc in self.shared.store.load(KIND)):
                raise ResourceAlreadyExists(f"A Git folder already exists at {norm}.")
            if self._exists(norm):
                raise ResourceAlreadyExists(f"{norm} already exists: a Git folder needs a new path.")
        checkout = self.git.checkout(url)
        repo_id = self.shared.store.next_id("repo_id", start=1_000_000_001)
        doc = {
            "id": repo_id,
            "path": norm,
            "url": url,
            "provider": provider_for(url, provider),
            "branch": self.git.branch_of_head(url),
            "head_commit_id": checkout.commit,
        }
        with self.shared.lock:
            self._materialize(norm, checkout.directory)
            self.shared.store.put(KIND, repo_id, {k: v for k, v in doc.items() if v is not None})
        return self.get(repo_id)

    def get(self, repo_id: object) -> dict[str, Any]:
        doc = self.shared.store.get(KIND, _id(repo_id)) if str(repo_id).isdigit() else None
        if doc is None:
            raise ResourceDoesNotExist(f"Repo {repo_id} does not exist.")
        return doc

    def list(self, path_prefix: str | None) -> list[dict[str, Any]]:
        prefix = self.objects.normalize(path_prefix) if path_prefix else ""
        docs = [doc for _, doc in self.shared.store.load(KIND)]
        return sorted((d for d in docs if d["path"].startswith(prefix)), key=lambda d: d["path"])

    def update(self, repo_id: object, branch: str | None, tag: str | None) -> dict[str, Any]:
        doc = self.get(repo_id)
        if bool(branch) == bool(tag):
            raise InvalidParameterValue("Pass exactly one of branch or tag to check out.")
        checkout = self.git.checkout(doc["url"], branch=branch, tag=tag)
        updated = {
            **{k: v for k, v in doc.items() if k != "branch"},
            "head_commit_id": checkout.commit,
            **({"branch": branch} if branch else {}),
        }
        with self.shared.lock:
            self._materialize(doc["path"], checkout.directory)
            self.shared.store.put(KIND, doc["id"], updated)
        return updated

    def delete(self, repo_id: object) -> None:
        doc = self.get(repo_id)
        with self.shared.lock:
            if self._exists(doc["path"]):
                self.objects.delete(doc["path"], recursive=True)
            self.shared.store.delete(KIND, doc["id"])

    def _exists(self, norm: str) -> bool:
        return self.objects.local_path(norm).exists()

    def _materialize(self, norm: str, directory: Path) -> None:
        """The folder at ``norm`` holds exactly the checkout's files (notebooks recognised by their header)."""
        if self._exists(norm):
            self.objects.delete(norm, recursive=True)
        self.objects.mkdirs(norm)
        for file in sorted(p for p in directory.rglob("*") if p.is_file() and ".git" not in p.parts):
            relative = file.relative_to(directory).as_posix()
            if "/" in relative:
                self.objects.mkdirs(f"{norm}/{posixpath.dirname(relative)}")
            self.objects.import_(f"{norm}/{relative}", file.read_bytes(), "AUTO", None, True)


def _id(value: object) -> int:
    return int(str(value))
