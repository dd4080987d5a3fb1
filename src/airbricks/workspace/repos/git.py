"""Git checkouts with the ``git`` binary, for Git folders (``/api/2.0/repos``) and jobs with ``git_source``.

Each remote is fetched into one bare mirror under ``<data dir>/git/mirrors`` (fetched again before every
checkout, so a new commit on a branch is seen); a commit's files are exported once into
``<data dir>/git/commits/<sha>`` and shared by every run and folder at that commit. Locally reachable remotes
are absolute paths and ``file://`` URLs of real repositories; any other URL is tried as git would (with no
prompts, and a timeout). Failures are Databricks-shaped errors carrying git's own message.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Any, NamedTuple

from airbricks.workspace.errors import InvalidParameterValue

#: git_provider values the Jobs and Repos APIs accept (case-insensitive on Databricks).
PROVIDERS = (
    "gitHub",
    "bitbucketCloud",
    "azureDevOpsServices",
    "gitHubEnterprise",
    "bitbucketServer",
    "gitLab",
    "gitLabEnterpriseEdition",
    "awsCodeCommit",
)
GIT_TIMEOUT = 60


class GitError(InvalidParameterValue):
    """A git command failed (unreachable remote, unknown ref): git's message is in the text."""


class Checkout(NamedTuple):
    commit: str
    directory: Path


def provider_for(url: str, given: object) -> str:
    """The ``provider`` of a Git folder or ``git_source``: the one given (validated), else guessed from the URL."""
    if given:
        match = next((p for p in PROVIDERS if p.lower() == str(given).lower()), None)
        if match is None:
            raise InvalidParameterValue(f"Invalid git_provider '{given}': use one of {', '.join(PROVIDERS)}.")
        return match
    lowered = url.lower()
    for needle, provider in (
        ("gitlab", "gitLab"),
        ("bitbucket", "bitbucketCloud"),
        ("dev.azure", "azureDevOpsServices"),
    ):
        if needle in lowered:
            return provider
    return "gitHub"


def check_git_source(git_source: Any) -> dict[str, Any] | None:
    """A job's ``git_source``: ``git_url``, ``git_provider`` and exactly one of branch, tag or commit."""
    if git_source is None:
        return None
    if not isinstance(git_source, dict) or not git_source.get("git_url"):
        raise InvalidParameterValue("Invalid git_source: git_url is required.")
    refs = [k for k in ("git_branch", "git_tag", "git_commit") if git_source.get(k)]
    if len(refs) != 1:
        raise InvalidParameterValue(
            "Invalid git_source: exactly one of git_branch, git_tag or git_commit must be set"
            f" (got {', '.join(refs) or 'none'})."
        )
    return {**git_source, "git_provider": provider_for(git_source["git_url"], git_source.get("git_provider"))}


def with_git_source(tasks: list[dict[str, Any]], git_source: Any) -> list[dict[str, Any]]:
    """The tasks a run starts with: those whose notebook or Python file come from Git (``source`` GIT, the
    default when the job has a ``git_source``) carry the job's ``git_source``, which task execution checks out."""
    checked = check_git_source(git_source)
    if checked is None:
        return tasks
    out = []
    for task in tasks:
        kind = task.get("notebook_task") or task.get("spark_python_task")
        uses_git = isinstance(kind, dict) and str(kind.get("source", "GIT")).upper() == "GIT"
        out.append({**task, "git_source": checked} if uses_git else task)
    return out


class GitRepos:
    """Mirrors and per-commit exports under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def checkout(
        self, url: str, *, branch: str | None = None, tag: str | None = None, commit: str | None = None
    ) -> Checkout:
        """Fetch ``url`` and export the commit that ``branch``, ``tag`` or ``commit`` names (default: HEAD)."""
        with self._lock:
            mirror = self._fetch(url)
            if branch:
                ref, what = f"refs/heads/{branch}", f"branch {branch}"
            elif tag:
                ref, what = f"refs/tags/{tag}", f"tag {tag}"
            elif commit:
                ref, what = commit, f"commit {commit}"
            else:
                ref, what = "HEAD", "the default branch"
            sha = self._git(
                ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], mirror, f"{what} does not exist in {url}"
            ).strip()
            target = self.root / "commits" / sha
            if not target.is_dir():
                archive = self._git(
                    ["archive", "--format=tar", sha], mirror, f"cannot read {what} of {url}", binary=True
                )
                staging = target.with_name(f".{sha}.tmp-{os.getpid()}")
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                    tar.extractall(staging, filter="data")
                staging.rename(target)
            return Checkout(sha, target)

    def branch_of_head(self, url: str) -> str | None:
        """The remote's default branch (what a new Git folder checks out)."""
        mirror = self.root / "mirrors" / _key(url)
        try:
            head = self._git(["symbolic-ref", "HEAD"], mirror, "").strip()
        except GitError:
            return None
        return head.removeprefix("refs/heads/")

    def _fetch(self, url: str) -> Path:
        mirror = self.root / "mirrors" / _key(url)
        source = url.removeprefix("file://") if url.startswith("file://") else url
        if not mirror.is_dir():
            staging = mirror.with_name(mirror.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            staging.parent.mkdir(parents=True, exist_ok=True)
            self._git(
                ["clone", "--mirror", "--quiet", source, str(staging)],
                self.root,
                f"Failed to clone the Git repository {url}",
            )
            staging.rename(mirror)
        else:
            self._git(
                ["fetch", "--prune", "--quiet", "origin", "+refs/*:refs/*"],
                mirror,
                f"Failed to fetch the Git repository {url}",
            )
        return mirror

    def _git(self, args: list[str], cwd: Path, failure: str, binary: bool = False) -> Any:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                timeout=GIT_TIMEOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("Git folders and git_source need the git binary on the workspace's PATH.") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"{failure}: git did not answer within {GIT_TIMEOUT} s.") from None
        if done.returncode:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"{failure}: {detail[-1]}" if detail else f"{failure}.")
        return done.stdout if binary else done.stdout.decode("utf-8", "replace")


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:24]
