"""Making runs (``jobs.submit``) on a bare :class:`Shared`: ids, page URLs, widgets and arguments of new task runs."""

from __future__ import annotations

from airbricks.workspace.jobs.submit import NewRun, build_run, iteration
from airbricks.workspace.shared import Shared


def _request(tasks: list[dict], **given: object) -> NewRun:
    fields: dict = {
        "job_id": 5,
        "run_name": "nightly",
        "run_type": "JOB_RUN",
        "tasks": tasks,
        "job_clusters": None,
        "timeout_seconds": None,
        "token": None,
        "widgets": {},
        "python_params": None,
        "creator": "me@example.com",
    }
    return NewRun(**{**fields, **given})


def test_a_run_takes_the_first_id_and_its_tasks_the_next_ones(shared: Shared) -> None:
    run = build_run(shared, _request([{"task_key": "a"}, {"task_key": "b", "run_if": "ALL_DONE"}]))
    assert run.run_id == 1001 and [t.run_id for t in run.tasks] == [1002, 1003]
    assert run.page_url.endswith("#job/5/run/1001") and run.tasks[1].page_url.endswith("#job/5/run/1003")
    assert [t.run_if for t in run.tasks] == ["ALL_SUCCESS", "ALL_DONE"]
    assert run.timeout_seconds == 0 and run.job_clusters is None


def test_parameters_overlay_base_parameters_and_replace_arguments(shared: Shared) -> None:
    notebook = {"task_key": "nb", "notebook_task": {"notebook_path": "/n", "base_parameters": {"x": 1, "y": "b"}}}
    python = {"task_key": "py", "spark_python_task": {"python_file": "f.py", "parameters": ["p", 2]}}
    jar = {"task_key": "jar", "spark_jar_task": {"main_class_name": "M", "parameters": ["j"]}}
    plain = build_run(shared, _request([notebook, python, jar], widgets={"y": "job"}))
    assert plain.tasks[0].widgets == {"x": "1", "y": "job"}
    assert [t.argv for t in plain.tasks] == [[], ["p", "2"], ["j"]]
    given = build_run(shared, _request([python, jar], python_params=["a"], jar_params=["b"]))
    assert [t.argv for t in given.tasks] == [["a"], ["b"]]


def test_an_iteration_runs_the_nested_task_with_its_item(shared: Shared) -> None:
    nested = {"task_key": "inner", "notebook_task": {"notebook_path": "/n", "base_parameters": {"k": "base"}}}
    run = build_run(shared, _request([{"task_key": "loop", "for_each_task": {"inputs": "[1]", "task": nested}}]))
    parent = run.tasks[0]
    parent.widgets = {"k": "job"}
    it = iteration(parent, 3, {"n": 1}, 2000, "url")
    assert (it.run_id, it.iteration_of, it.extra) == (2000, parent.run_id, {"input": {"n": 1}, "index": 3})
    assert it.settings["depends_on"] == [] and it.settings["run_if"] == "ALL_SUCCESS"
    assert it.widgets == {"k": "job"}
