"""Git folders (``/api/2.0/repos``) and jobs with ``git_source`` over real HTTP with databricks-sdk, against a
real git repository the test creates (the ``git`` binary, a ``file://`` URL)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ObjectType
from tests.workspace.jobs.test_api import _wait_run

NOTEBOOK = "# Databricks notebook source\nimport helper\ndbutils.notebook.exit(helper.VERSION)\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@x",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@x",
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """main (tagged v1) has VERSION v1; the branch feature has v2. Returns the URL and the commits."""
    repo = tmp_path_factory.mktemp("remote")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "nb.py").write_text(NOTEBOOK)
    (repo / "helper.py").write_text("VERSION = 'v1'\n")
    (repo / "jobs").mkdir()
    (repo / "jobs" / "main.py").write_text("import sys, helper\nprint('file-task', helper.VERSION, sys.argv[1:])\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "v1")
    _git(repo, "tag", "v1")
    v1 = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "helper.py").write_text("VERSION = 'v2'\n")
    _git(repo, "commit", "-qam", "v2")
    v2 = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "main")
    return {"url": f"file://{repo}", "v1": v1, "v2": v2}


def test_git_folder_checks_out_a_branch_then_a_tag_and_its_notebook_runs(
    sdk: WorkspaceClient, remote: dict[str, str]
) -> None:
    repo = sdk.repos.create(url=remote["url"], provider="gitHub", path="/Repos/team/project")
    assert (repo.path, repo.branch, repo.head_commit_id) == ("/Repos/team/project", "main", remote["v1"])
    assert sdk.workspace.get_status("/Repos/team/project/nb").object_type == ObjectType.NOTEBOOK
    assert sdk.workspace.get_status("/Repos/team/project/helper.py").object_type == ObjectType.FILE

    def run_nb() -> str:
        run = _wait_run(
            sdk,
            sdk.jobs.submit(
                run_name="repo-nb",
                tasks=[
                    jobs.SubmitTask(
                        task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Repos/team/project/nb")
                    )
                ],
            ).run_id,
        )
        output = sdk.jobs.get_run_output(run.tasks[0].run_id)
        assert output.error is None, output.error_trace
        return output.notebook_output.result

    assert run_nb() == "v1"
    sdk.repos.update(repo.id, branch="feature")
    switched = sdk.repos.get(repo.id)
    assert (switched.branch, switched.head_commit_id) == ("feature", remote["v2"])
    assert run_nb() == "v2"  # the notebook imports helper.py from the folder: the branch's version
    sdk.repos.update(repo.id, tag="v1")
    tagged = sdk.repos.get(repo.id)
    assert tagged.head_commit_id == remote["v1"] and tagged.branch is None
    assert run_nb() == "v1"
    assert [r.path for r in sdk.repos.list(path_prefix="/Repos/team")] == ["/Repos/team/project"]
    assert sdk.repos.get(repo.id).head_commit_id == remote["v1"]
    with pytest.raises(InvalidParameterValue, match="branch nope does not exist"):
        sdk.repos.update(repo.id, branch="nope")
    sdk.repos.delete(repo.id)
    with pytest.raises(NotFound):
        sdk.repos.get(repo.id)
    with pytest.raises(NotFound):
        sdk.workspace.get_status("/Repos/team/project/nb")


def test_unreachable_remote_is_a_clear_error(sdk: WorkspaceClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterValue, match="Failed to clone the Git repository"):
        sdk.repos.create(url=f"file://{tmp_path}/missing.git", provider="gitHub", path="/Repos/team/missing")


def test_job_with_git_source_runs_the_notebook_and_file_at_that_ref(
    sdk: WorkspaceClient, remote: dict[str, str]
) -> None:
    job = sdk.jobs.create(
        name="git-job",
        git_source=jobs.GitSource(git_url=remote["url"], git_provider=jobs.GitProvider.GIT_HUB, git_branch="feature"),
        tasks=[
            jobs.Task(task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="nb", source=jobs.Source.GIT)),
            jobs.Task(
                task_key="file", spark_python_task=jobs.SparkPythonTask(python_file="jobs/main.py", parameters=["a"])
            ),
        ],
    )
    try:
        run = _wait_run(sdk, sdk.jobs.run_now(job.job_id).run_id)
        assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
        assert run.git_source.git_branch == "feature" and run.git_source.git_snapshot.used_commit == remote["v2"]
        by_key = {t.task_key: t.run_id for t in run.tasks}
        assert sdk.jobs.get_run_output(by_key["nb"]).notebook_output.result == "v2"
        assert "file-task v2 ['a']" in sdk.jobs.get_run_output(by_key["file"]).logs
    finally:
        sdk.jobs.delete(job.job_id)
    tagged = _wait_run(
        sdk,
        sdk.jobs.submit(
            run_name="git-tag",
            git_source=jobs.GitSource(git_url=remote["url"], git_provider=jobs.GitProvider.GIT_HUB, git_tag="v1"),
            tasks=[jobs.SubmitTask(task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="nb"))],
        ).run_id,
    )
    assert sdk.jobs.get_run_output(tagged.tasks[0].run_id).notebook_output.result == "v1"
    assert tagged.git_source.git_snapshot.used_commit == remote["v1"]


def test_git_source_errors(sdk: WorkspaceClient, remote: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterValue, match="exactly one of git_branch, git_tag or git_commit"):
        sdk.jobs.create(
            name="bad",
            git_source=jobs.GitSource(git_url=remote["url"], git_provider=jobs.GitProvider.GIT_HUB),
            tasks=[jobs.Task(task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="nb"))],
        )
    gone = _wait_run(
        sdk,
        sdk.jobs.submit(
            run_name="gone",
            git_source=jobs.GitSource(
                git_url=f"file://{tmp_path}/nowhere", git_provider=jobs.GitProvider.GIT_HUB, git_branch="main"
            ),
            tasks=[jobs.SubmitTask(task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="nb"))],
        ).run_id,
    )
    assert gone.state.result_state != jobs.RunResultState.SUCCESS
    assert "Failed to clone the Git repository" in gone.tasks[0].state.state_message
