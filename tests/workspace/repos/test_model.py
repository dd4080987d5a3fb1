"""The Git folders model without HTTP or a workspace: ``Repos`` over ``WorkspaceObjects`` and ``GitRepos``, and
a real git repository made in ``tmp_path`` with the ``git`` binary (a ``file://`` URL): clone, checkout of a
branch then a tag, a new commit seen on update, delete, and the errors for bad URLs, paths and refs."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.workspace.model_kit import make_shared

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.repos.git import GitRepos
from airbricks.workspace.repos.repos import Repos
from airbricks.workspace.storage.workspace_objects import WorkspaceObjects

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")

NOTEBOOK = "# Databricks notebook source\nprint('hello')\n"


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env)
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> dict[str, str]:
    """``main`` (tagged ``v1``): a notebook and ``lib/helper.py`` at v1; branch ``feature``: helper at v2."""
    repo = tmp_path / "remote"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "nb.py").write_text(NOTEBOOK)
    (repo / "lib").mkdir()
    (repo / "lib" / "helper.py").write_text("VERSION = 'v1'\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "v1")
    _git(repo, "tag", "v1")
    v1 = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "lib" / "helper.py").write_text("VERSION = 'v2'\n")
    (repo / "extra.txt").write_text("only on feature\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "v2")
    v2 = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "main")
    return {"dir": str(repo), "url": f"file://{repo}", "v1": v1, "v2": v2}


@pytest.fixture
def objects_and_repos(tmp_path: Path) -> Iterator[tuple[WorkspaceObjects, Repos]]:
    data_dir = tmp_path / "data"
    shared = make_shared(data_dir, ManualClock())
    store = shared.store
    objects = WorkspaceObjects(shared)
    yield objects, Repos(shared, objects, GitRepos(data_dir / "git"))
    store.close()


def _text(objects: WorkspaceObjects, path: str) -> str:
    return objects.local_path(path).read_text()


def test_create_checks_out_the_default_branch_with_notebooks_recognised(objects_and_repos, remote) -> None:
    objects, repos = objects_and_repos
    repo = repos.create(remote["url"], "GITHUB", "/Repos/team/project")
    assert (repo["path"], repo["branch"], repo["head_commit_id"]) == ("/Repos/team/project", "main", remote["v1"])
    assert repo["provider"] == "gitHub"  # the given provider, spelled as the API spells it
    assert objects.get_status("/Repos/team/project/nb")["object_type"] == "NOTEBOOK"
    assert objects.get_status("/Repos/team/project/lib/helper.py")["object_type"] == "FILE"
    assert "v1" in _text(objects, "/Repos/team/project/lib/helper.py")
    assert repos.get(repo["id"]) == repo
    assert repos.get(str(repo["id"])) == repo  # ids arrive as strings in paths


def test_without_a_path_the_folder_is_under_the_users_repos_named_after_the_url(objects_and_repos, remote) -> None:
    _, repos = objects_and_repos
    bare = Path(remote["dir"]).with_name("project.git")
    _git(bare.parent, "clone", "-q", "--bare", remote["dir"], bare.name)
    repo = repos.create(f"file://{bare}/", None, None)
    assert (repo["path"], repo["head_commit_id"]) == ("/Repos/airbricks@localhost/project", remote["v1"])
    assert repo["provider"] == "gitHub"  # guessed from the URL


def test_update_checks_out_a_branch_then_a_tag_and_replaces_the_tree(objects_and_repos, remote) -> None:
    objects, repos = objects_and_repos
    repo = repos.create(remote["url"], None, "/Repos/team/project")
    updated = repos.update(repo["id"], "feature", None)
    assert (updated["branch"], updated["head_commit_id"]) == ("feature", remote["v2"])
    assert repos.get(repo["id"]) == updated
    assert "v2" in _text(objects, "/Repos/team/project/lib/helper.py")
    assert objects.local_path("/Repos/team/project/extra.txt").exists()
    tagged = repos.update(repo["id"], None, "v1")
    assert tagged["head_commit_id"] == remote["v1"] and "branch" not in tagged
    assert "v1" in _text(objects, "/Repos/team/project/lib/helper.py")
    assert not objects.local_path("/Repos/team/project/extra.txt").exists()  # files of the branch are gone


def test_update_fetches_so_a_new_commit_on_the_branch_is_seen(objects_and_repos, remote) -> None:
    objects, repos = objects_and_repos
    repo = repos.create(remote["url"], None, "/Repos/team/project")
    (Path(remote["dir"]) / "lib" / "helper.py").write_text("VERSION = 'v3'\n")
    _git(Path(remote["dir"]), "commit", "-qam", "v3")
    v3 = _git(Path(remote["dir"]), "rev-parse", "HEAD")
    assert repos.update(repo["id"], "main", None)["head_commit_id"] == v3
    assert "v3" in _text(objects, "/Repos/team/project/lib/helper.py")


def test_list_filters_by_prefix_in_path_order(objects_and_repos, remote) -> None:
    _, repos = objects_and_repos
    repos.create(remote["url"], None, "/Repos/team/b")
    repos.create(remote["url"], None, "/Repos/team/a")
    repos.create(remote["url"], None, "/Repos/other/c")
    assert [r["path"] for r in repos.list("/Repos/team")] == ["/Repos/team/a", "/Repos/team/b"]
    assert [r["path"] for r in repos.list("/Workspace/Repos/other")] == ["/Repos/other/c"]
    assert len(repos.list(None)) == 3


def test_delete_removes_the_folder_and_its_files(objects_and_repos, remote) -> None:
    objects, repos = objects_and_repos
    repo = repos.create(remote["url"], None, "/Repos/team/project")
    repos.delete(repo["id"])
    with pytest.raises(ResourceDoesNotExist, match=f"Repo {repo['id']} does not exist"):
        repos.get(repo["id"])
    assert not objects.local_path("/Repos/team/project").exists()
    assert repos.list(None) == []
    with pytest.raises(ResourceDoesNotExist):
        repos.delete(repo["id"])


def test_bad_url_path_provider_and_refs_are_refused(objects_and_repos, remote, tmp_path) -> None:
    objects, repos = objects_and_repos
    with pytest.raises(InvalidParameterValue, match="Missing required field: url"):
        repos.create("", None, "/Repos/team/project")
    with pytest.raises(InvalidParameterValue, match="Failed to clone the Git repository"):
        repos.create(f"file://{tmp_path}/missing.git", None, "/Repos/team/missing")
    with pytest.raises(InvalidParameterValue, match="Invalid path /Shared/project: a Git folder lives at"):
        repos.create(remote["url"], None, "/Shared/project")
    with pytest.raises(InvalidParameterValue, match="Invalid path /Repos/project"):
        repos.create(remote["url"], None, "/Repos/project")  # one level too shallow
    with pytest.raises(InvalidParameterValue, match="Invalid git_provider 'svn'"):
        repos.create(remote["url"], "svn", "/Repos/team/project")
    assert repos.list(None) == [] and not objects.local_path("/Repos/team/project").exists()

    repo = repos.create(remote["url"], None, "/Repos/team/project")
    with pytest.raises(ResourceAlreadyExists, match="A Git folder already exists at /Repos/team/project"):
        repos.create(remote["url"], None, "/Repos/team/project")
    objects.mkdirs("/Repos/team/taken")
    with pytest.raises(ResourceAlreadyExists, match="/Repos/team/taken already exists"):
        repos.create(remote["url"], None, "/Repos/team/taken")
    with pytest.raises(InvalidParameterValue, match="branch nope does not exist in"):
        repos.update(repo["id"], "nope", None)
    with pytest.raises(InvalidParameterValue, match="tag v9 does not exist in"):
        repos.update(repo["id"], None, "v9")
    with pytest.raises(InvalidParameterValue, match="exactly one of branch or tag"):
        repos.update(repo["id"], "main", "v1")
    with pytest.raises(InvalidParameterValue, match="exactly one of branch or tag"):
        repos.update(repo["id"], None, None)
    assert repos.get(repo["id"])["head_commit_id"] == remote["v1"]  # failed updates changed nothing
    with pytest.raises(ResourceDoesNotExist, match="Repo abc does not exist"):
        repos.get("abc")
