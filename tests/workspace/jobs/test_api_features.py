"""Jobs as Databricks runs them, over real HTTP with databricks-sdk: every task type in one job (notebook,
wheel built here, condition branch, for-each, an unsupported type), retries, repair, concurrency limits,
task values, ``dbutils.notebook.run`` and ``run_job_task``. Tasks run without a cluster (local processes)."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


@pytest.fixture
def folder(sdk: WorkspaceClient) -> str:
    path = f"/Shared/job-features/{uuid.uuid4().hex[:8]}"
    sdk.workspace.mkdirs(path)
    return path


def upload(sdk: WorkspaceClient, path: str, source: str) -> str:
    sdk.workspace.upload(
        path,
        f"# Databricks notebook source\n{source}".encode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    return path


def wait(sdk: WorkspaceClient, run_id: int, states: tuple[str, ...] = TERMINAL, timeout: float = 60) -> jobs.Run:
    deadline = time.monotonic() + timeout
    while True:
        run = sdk.jobs.get_run(run_id)
        if run.state.life_cycle_state.value in states:
            return run
        assert time.monotonic() < deadline, run.state
        time.sleep(0.05)


def by_key(run: jobs.Run) -> dict[str, list[jobs.RunTask]]:
    out: dict[str, list[jobs.RunTask]] = {}
    for task in sorted(run.tasks, key=lambda t: t.attempt_number):
        out.setdefault(task.task_key, []).append(task)
    return out


def wheel(name: str) -> bytes:
    """A pure-Python wheel with a console-script entry point ``hello`` that prints its arguments."""
    dist = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": "import sys\n\ndef main():\n    print('wheel says', sys.argv[1:])\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[console_scripts]\nhello = {name}:main\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{dist}/RECORD"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return buffer.getvalue()


def test_a_mixed_job_runs_every_kind_of_task(sdk: WorkspaceClient, folder: str) -> None:
    name = f"hello_{uuid.uuid4().hex[:6]}"
    whl = f"dbfs:/tmp/job-features/{name}-1.0-py3-none-any.whl"
    sdk.dbfs.upload(whl, io.BytesIO(wheel(name)), overwrite=True)
    prep = upload(
        sdk,
        f"{folder}/prep",
        "dbutils.jobs.taskValues.set('count', 3)\ndbutils.jobs.taskValues.set('items', ['x', 'y'])\n",
    )
    reader = upload(
        sdk,
        f"{folder}/reader",
        (
            "n = dbutils.jobs.taskValues.get('prep', 'count')\n"
            "missing = dbutils.jobs.taskValues.get('prep', 'nope', default='dflt')\n"
            "child = dbutils.notebook.run('./child', 30, {'x': str(n * 2)})\n"
            "try:\n    dbutils.notebook.run('./bad', 30)\n    bad = 'no error'\n"
            "except Exception as err:\n    bad = str(err)\n"
            "try:\n    dbutils.notebook.run('./child', 1, {'x': 'sleep'})\n    slow = 'no timeout'\n"
            "except Exception as err:\n    slow = str(err)\n"
            "import json\n"
            "ctx = json.loads(dbutils.notebook.entry_point.getDbutils().notebook().getContext().toJson())\n"
            "ids = ctx['tags']['jobId'] + ',' + str(ctx['currentRunId']['id'])\n"
            "dbutils.notebook.exit(f'{n}|{missing}|{child}|{bad}|{slow}|{ids}')\n"
        ),
    )
    upload(
        sdk,
        f"{folder}/child",
        "x = dbutils.widgets.get('x')\nif x == 'sleep':\n    import time\n"
        "    time.sleep(20)\ndbutils.notebook.exit('child got ' + x)\n",
    )
    upload(sdk, f"{folder}/bad", "raise ValueError('child broke')\n")
    item = upload(sdk, f"{folder}/item", "dbutils.notebook.exit('item ' + dbutils.widgets.get('v'))\n")
    job_id = sdk.jobs.create(
        name="mixed",
        tasks=[
            jobs.Task(task_key="prep", notebook_task=jobs.NotebookTask(notebook_path=prep)),
            jobs.Task(
                task_key="reader",
                depends_on=[jobs.TaskDependency("prep")],
                notebook_task=jobs.NotebookTask(notebook_path=reader),
            ),
            jobs.Task(
                task_key="check",
                depends_on=[jobs.TaskDependency("prep")],
                condition_task=jobs.ConditionTask(
                    op=jobs.ConditionTaskOp.GREATER_THAN, left="{{tasks.prep.values.count}}", right="2"
                ),
            ),
            jobs.Task(
                task_key="wheel",
                depends_on=[jobs.TaskDependency("check", outcome="true")],
                python_wheel_task=jobs.PythonWheelTask(
                    package_name=name, entry_point="hello", parameters=["{{job.id}}", "{{job.parameters.day}}"]
                ),
                libraries=[jobs.compute.Library(whl=whl)],
            ),
            jobs.Task(
                task_key="untaken",
                depends_on=[jobs.TaskDependency("check", outcome="false")],
                notebook_task=jobs.NotebookTask(notebook_path=item),
            ),
            jobs.Task(
                task_key="loop",
                depends_on=[jobs.TaskDependency("prep")],
                for_each_task=jobs.ForEachTask(
                    inputs="{{tasks.prep.values.items}}",
                    concurrency=2,
                    task=jobs.Task(
                        task_key="loop_item",
                        notebook_task=jobs.NotebookTask(notebook_path=item, base_parameters={"v": "{{input}}"}),
                    ),
                ),
            ),
            jobs.Task(task_key="dbt", dbt_task=jobs.DbtTask(commands=["dbt run"])),
        ],
        parameters=[jobs.JobParameterDefinition(name="day", default="2026-01-01")],
    ).job_id
    run = wait(sdk, sdk.jobs.run_now(job_id, job_parameters={"day": "2026-12-02"}).run_id)
    tasks = {k: v[-1] for k, v in by_key(run).items()}
    states = {k: t.state.result_state.value for k, t in tasks.items()}
    assert states == {
        "prep": "SUCCESS",
        "reader": "SUCCESS",
        "check": "SUCCESS",
        "wheel": "SUCCESS",
        "untaken": "EXCLUDED",
        "loop": "SUCCESS",
        "dbt": "FAILED",
    }, (states, {k: sdk.jobs.get_run_output(t.run_id).error for k, t in tasks.items()})
    assert "no dbt runtime" in tasks["dbt"].state.state_message
    assert tasks["check"].condition_task.outcome == "true"
    n, missing, child, bad, slow, ids = sdk.jobs.get_run_output(tasks["reader"].run_id).notebook_output.result.split(
        "|"
    )
    assert ids == f"{job_id},{tasks['reader'].run_id}"
    assert (n, missing, child) == ("3", "dflt", "child got 6")
    assert "com.databricks.WorkflowException" in bad and "ValueError: child broke" in bad
    assert "timed out after 1 seconds" in slow
    logs = sdk.jobs.get_run_output(tasks["wheel"].run_id).logs
    assert f"wheel says ['{job_id}', '2026-12-02']" in logs
    loop = sdk.jobs.get_run(tasks["loop"].run_id)
    results = sorted(sdk.jobs.get_run_output(i.run_id).notebook_output.result for i in loop.iterations)
    assert results == ["item x", "item y"]
    assert tasks["loop"].for_each_task.stats.task_run_stats.succeeded_iterations == 2
    assert run.state.result_state == jobs.RunResultState.FAILED
    sdk.jobs.delete(job_id)


COUNTING = (
    "p = dbutils.widgets.get('counter')\ntry:\n    n = int(dbutils.fs.head(p))\nexcept Exception:\n    n = 0\n"
    "dbutils.fs.put(p, str(n + 1), True)\nif n < int(dbutils.widgets.get('fails')):\n"
    "    raise RuntimeError(f'attempt {n} fails')\ndbutils.notebook.exit(f'passed after {n}')\n"
)


def test_a_task_failing_twice_passes_on_its_third_attempt(sdk: WorkspaceClient, folder: str) -> None:
    flaky = upload(sdk, f"{folder}/flaky", COUNTING)
    counter = f"dbfs:/tmp/job-features/{uuid.uuid4().hex}"
    run = wait(
        sdk,
        sdk.jobs.submit(
            run_name="flaky",
            tasks=[
                jobs.SubmitTask(
                    task_key="flaky",
                    max_retries=2,
                    min_retry_interval_millis=50,
                    notebook_task=jobs.NotebookTask(
                        notebook_path=flaky, base_parameters={"counter": counter, "fails": "2"}
                    ),
                )
            ],
        ).run_id,
    )
    attempts = by_key(run)["flaky"]
    assert [(a.attempt_number, a.state.result_state.value) for a in attempts] == [
        (0, "FAILED"),
        (1, "FAILED"),
        (2, "SUCCESS"),
    ]
    assert sdk.jobs.get_run_output(attempts[2].run_id).notebook_output.result == "passed after 2"
    assert "attempt 1 fails" in sdk.jobs.get_run_output(attempts[1].run_id).error
    assert run.state.result_state == jobs.RunResultState.SUCCESS


def test_repair_reruns_only_the_failed_task_and_its_dependents(sdk: WorkspaceClient, folder: str) -> None:
    flaky = upload(sdk, f"{folder}/flaky", COUNTING)
    ok = upload(sdk, f"{folder}/ok", "dbutils.notebook.exit('ok')\n")
    counter = f"dbfs:/tmp/job-features/{uuid.uuid4().hex}"
    job_id = sdk.jobs.create(
        name="repairable",
        tasks=[
            jobs.Task(task_key="first", notebook_task=jobs.NotebookTask(notebook_path=ok)),
            jobs.Task(
                task_key="flaky",
                depends_on=[jobs.TaskDependency("first")],
                notebook_task=jobs.NotebookTask(
                    notebook_path=flaky, base_parameters={"counter": counter, "fails": "1"}
                ),
            ),
            jobs.Task(
                task_key="last",
                depends_on=[jobs.TaskDependency("flaky")],
                notebook_task=jobs.NotebookTask(notebook_path=ok),
            ),
        ],
    ).job_id
    run = wait(sdk, sdk.jobs.run_now(job_id).run_id)
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert by_key(run)["last"][0].state.result_state == jobs.RunResultState.UPSTREAM_FAILED
    repair = sdk.jobs.repair_run(run.run_id, rerun_tasks=["flaky"], rerun_dependent_tasks=True).response
    repaired = wait(sdk, run.run_id)
    assert repaired.state.result_state == jobs.RunResultState.SUCCESS
    tasks = by_key(repaired)
    assert [len(tasks[k]) for k in ("first", "flaky", "last")] == [1, 2, 2]
    history = sdk.jobs.get_run(run.run_id, include_history=True).repair_history
    assert [h.type.value for h in history] == ["ORIGINAL", "REPAIR"] and history[1].id == repair.repair_id
    assert set(history[1].task_run_ids) == {tasks["flaky"][1].run_id, tasks["last"][1].run_id}
    assert tasks["flaky"][1].run_id != tasks["flaky"][0].run_id
    sdk.jobs.delete(job_id)


def test_max_concurrent_runs_skips_without_queueing_and_queues_with_it(sdk: WorkspaceClient, folder: str) -> None:
    slow = upload(sdk, f"{folder}/slow", "import time\ntime.sleep(float(dbutils.widgets.get('s')))\n")
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=slow, base_parameters={"s": "1"}))
    plain = sdk.jobs.create(name="one-at-a-time", max_concurrent_runs=1, tasks=[task]).job_id
    first = sdk.jobs.run_now(plain).run_id
    skipped = wait(sdk, sdk.jobs.run_now(plain).run_id)
    assert skipped.state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED
    assert skipped.state.state_message == (
        "Skipping this run because the limit of 1 maximum concurrent runs has been reached."
    )
    assert wait(sdk, first).state.result_state == jobs.RunResultState.SUCCESS

    queued_job = sdk.jobs.create(
        name="queued", max_concurrent_runs=1, queue=jobs.QueueSettings(enabled=True), tasks=[task]
    ).job_id
    first = sdk.jobs.run_now(queued_job).run_id
    second = sdk.jobs.run_now(queued_job).run_id
    third = sdk.jobs.run_now(queued_job).run_id
    waiting = sdk.jobs.get_run(second)
    assert waiting.state.life_cycle_state == jobs.RunLifeCycleState.QUEUED
    assert waiting.state.queue_reason == "Queued due to reaching maximum concurrent runs of 1."
    assert wait(sdk, first).state.result_state == jobs.RunResultState.SUCCESS
    wait(sdk, second, states=("RUNNING", *TERMINAL))
    assert sdk.jobs.get_run(third).state.life_cycle_state == jobs.RunLifeCycleState.QUEUED
    sdk.jobs.cancel_all_runs(job_id=queued_job)
    assert [wait(sdk, r).state.result_state.value for r in (second, third)] == ["CANCELED", "CANCELED"]
    for job_id in (plain, queued_job):
        sdk.jobs.delete(job_id)


def test_a_run_job_task_runs_the_other_job_with_its_parameters(sdk: WorkspaceClient, folder: str) -> None:
    echo = upload(sdk, f"{folder}/echo", "dbutils.notebook.exit('echo ' + dbutils.widgets.get('who'))\n")
    inner = sdk.jobs.create(
        name="inner",
        tasks=[jobs.Task(task_key="echo", notebook_task=jobs.NotebookTask(notebook_path=echo))],
        parameters=[jobs.JobParameterDefinition(name="who", default="nobody")],
    ).job_id
    outer = sdk.jobs.create(
        name="outer",
        tasks=[
            jobs.Task(
                task_key="call", run_job_task=jobs.RunJobTask(job_id=inner, job_parameters={"who": "{{job.name}}"})
            )
        ],
    ).job_id
    run = wait(sdk, sdk.jobs.run_now(outer).run_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    output = sdk.jobs.get_run_output(run.tasks[0].run_id)
    inner_run = sdk.jobs.get_run(output.run_job_output.run_id)
    assert inner_run.job_id == inner
    assert sdk.jobs.get_run_output(inner_run.tasks[0].run_id).notebook_output.result == "echo outer"
    for job_id in (outer, inner):
        sdk.jobs.delete(job_id)


def test_api_2_2_pages_large_task_lists_and_the_sdk_reads_every_page(
    sdk: WorkspaceClient, local_ws: Any, folder: str
) -> None:
    import requests

    path = upload(sdk, f"{folder}/noop", "x = 1\n")
    job_id = sdk.jobs.create(
        name="wide",
        tasks=[jobs.Task(task_key=f"t{i:03}", notebook_task=jobs.NotebookTask(notebook_path=path)) for i in range(130)],
    ).job_id
    assert [t.task_key for t in sdk.jobs.get(job_id).settings.tasks] == [f"t{i:03}" for i in range(130)]
    headers = {"Authorization": f"Bearer {local_ws.token}"}
    first = requests.get(
        f"{local_ws.url}/api/2.2/jobs/get", params={"job_id": job_id}, headers=headers, timeout=10
    ).json()
    assert len(first["settings"]["tasks"]) == 100 and first["next_page_token"] == "100"
    second = requests.get(
        f"{local_ws.url}/api/2.2/jobs/get", params={"job_id": job_id, "page_token": "100"}, headers=headers, timeout=10
    ).json()
    assert len(second["settings"]["tasks"]) == 30 and "next_page_token" not in second
    whole = requests.get(
        f"{local_ws.url}/api/2.1/jobs/get", params={"job_id": job_id}, headers=headers, timeout=10
    ).json()
    assert len(whole["settings"]["tasks"]) == 130
    sdk.jobs.delete(job_id)
