"""Jobs and runs over real HTTP: real notebook execution in a process per task run, as databricks-sdk, raw
``requests`` (the provider's legacy submit form) and a killed server see them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, InvalidState, OperationFailed, ResourceDoesNotExist
from databricks.sdk.service import jobs
from databricks.sdk.service.compute import ClusterSpec, State
from databricks.sdk.service.workspace import ImportFormat, Language

from airbricks.workspace.server.serve import LocalWorkspace, free_port
from waiting import wait_cluster_state

CLUSTER: dict[str, Any] = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
LOST = "The local workspace restarted while this run was in flight; the run was lost."
TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def _upload(sdk: WorkspaceClient, source: str) -> str:
    path = f"/Shared/jobs-tests/{uuid.uuid4().hex[:10]}"
    sdk.workspace.mkdirs("/Shared/jobs-tests")
    sdk.workspace.upload(
        path,
        f"# Databricks notebook source\n{source}".encode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    return path


def _wait_run(sdk: WorkspaceClient, run_id: int, states: tuple[str, ...] = TERMINAL, timeout: float = 30.0) -> jobs.Run:
    """Poll faster than the SDK's waiter (which sleeps 1 s, 2 s, ...), to keep the suite short."""
    deadline = time.monotonic() + timeout
    while True:
        run = sdk.jobs.get_run(run_id)
        if run.state.life_cycle_state.value in states or time.monotonic() > deadline:
            assert run.state.life_cycle_state.value in states, run.state
            return run
        time.sleep(0.02)


def _nb_task(key: str, path: str, cluster: str | None = None, **extra: Any) -> jobs.SubmitTask:
    return jobs.SubmitTask(
        task_key=key, existing_cluster_id=cluster, notebook_task=jobs.NotebookTask(notebook_path=path), **extra
    )


def _api(ws: LocalWorkspace, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, f"{ws.url}/api/{path}", headers={"Authorization": f"Bearer {ws.token}"}, timeout=10, **kwargs
    )


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _gone_soon(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


@pytest.fixture(scope="module")
def cluster(sdk: WorkspaceClient) -> Iterator[str]:
    cluster_id = sdk.clusters.create_and_wait(cluster_name="jobs-tests", **CLUSTER).cluster_id
    yield cluster_id
    sdk.clusters.permanent_delete(cluster_id)


def test_submit_and_wait_widget_and_exit_value(sdk: WorkspaceClient, local_ws: LocalWorkspace, cluster: str) -> None:
    path = _upload(
        sdk,
        "name = dbutils.widgets.get('who')\n# COMMAND ----------\n# MAGIC %md\n# MAGIC # Title\n"
        "# COMMAND ----------\ndbutils.notebook.exit({'greeting': 'hello ' + name})\n",
    )
    run = sdk.jobs.submit_and_wait(
        run_name="greet",
        tasks=[
            jobs.SubmitTask(
                task_key="greet",
                existing_cluster_id=cluster,
                notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters={"who": "world"}),
            )
        ],
    )
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert run.state.result_state == jobs.RunResultState.SUCCESS and run.state.state_message == ""
    assert run.run_type == jobs.RunType.SUBMIT_RUN and run.run_name == "greet"
    assert run.run_page_url == f"{local_ws.url}/?o={local_ws.workspace.workspace_id}#job/{run.job_id}/run/{run.run_id}"
    assert run.end_time >= run.start_time > 0 and run.creator_user_name
    assert run.status.state == jobs.RunLifecycleStateV2State.TERMINATED
    task = run.tasks[0]
    assert task.task_key == "greet" and task.run_id != run.run_id
    assert task.cluster_instance.cluster_id == cluster and task.existing_cluster_id == cluster
    output = sdk.jobs.get_run_output(task.run_id)
    assert output.notebook_output.result == "{'greeting': 'hello world'}"
    assert output.notebook_output.truncated is False
    assert output.metadata.run_id == task.run_id and output.error is None
    with pytest.raises(InvalidParameterValue) as refused:
        sdk.jobs.get_run_output(run.run_id)
    assert str(refused.value) == (
        "Retrieving the output of runs with multiple tasks is not supported. Please "
        "retrieve the output of each individual task run instead."
    )


def test_failing_notebook_reports_error_and_trace(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "def divide():\n    return 1 / 0\n\ndivide()\n")
    run = _wait_run(sdk, sdk.jobs.submit(run_name="boom", tasks=[_nb_task("boom", path, cluster)]).run_id)
    assert run.state.result_state == jobs.RunResultState.FAILED
    task = run.tasks[0]
    assert task.state.result_state == jobs.RunResultState.FAILED
    assert task.state.state_message == "Workload failed, see run output for details"
    assert "boom" in run.state.state_message
    output = sdk.jobs.get_run_output(task.run_id)
    assert output.error == "ZeroDivisionError: division by zero"
    assert "return 1 / 0" in output.error_trace and "divide()" in output.error_trace
    assert "kernel.py" not in output.error_trace
    missing = _upload(sdk, "dbutils.widgets.get('nope')\n")
    run = _wait_run(sdk, sdk.jobs.submit(run_name="w", tasks=[_nb_task("w", missing, cluster)]).run_id)
    assert "InputWidgetNotDefined" in sdk.jobs.get_run_output(run.tasks[0].run_id).error


def test_depends_on_and_run_if(sdk: WorkspaceClient, cluster: str) -> None:
    ok = _upload(sdk, "dbutils.notebook.exit('ok')\n")
    bad = _upload(sdk, "raise ValueError('bad input')\n")
    run = _wait_run(
        sdk,
        sdk.jobs.submit(
            run_name="dag",
            tasks=[
                _nb_task("first", ok, cluster),
                _nb_task("fails", bad, cluster, depends_on=[jobs.TaskDependency("first")]),
                _nb_task("after_success", ok, cluster, depends_on=[jobs.TaskDependency("fails")]),
                _nb_task(
                    "all_done", ok, cluster, depends_on=[jobs.TaskDependency("fails")], run_if=jobs.RunIf.ALL_DONE
                ),
                _nb_task(
                    "on_failure",
                    ok,
                    cluster,
                    depends_on=[jobs.TaskDependency("fails")],
                    run_if=jobs.RunIf.AT_LEAST_ONE_FAILED,
                ),
                _nb_task(
                    "none_failed", ok, cluster, depends_on=[jobs.TaskDependency("first")], run_if=jobs.RunIf.NONE_FAILED
                ),
            ],
        ).run_id,
    )
    by_key = {t.task_key: t for t in run.tasks}
    results = {k: t.state.result_state.value for k, t in by_key.items()}
    assert results == {
        "first": "SUCCESS",
        "fails": "FAILED",
        "after_success": "UPSTREAM_FAILED",
        "all_done": "SUCCESS",
        "on_failure": "SUCCESS",
        "none_failed": "SUCCESS",
    }
    assert by_key["fails"].start_time >= by_key["first"].end_time
    assert by_key["all_done"].start_time >= by_key["fails"].end_time
    assert by_key["fails"].depends_on[0].task_key == "first"
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert run.state.state_message.startswith("Task fails failed with message: Workload failed")
    with pytest.raises(InvalidParameterValue, match="cycle"):
        sdk.jobs.submit(
            run_name="cycle",
            tasks=[
                _nb_task("a", ok, cluster, depends_on=[jobs.TaskDependency("b")]),
                _nb_task("b", ok, cluster, depends_on=[jobs.TaskDependency("a")]),
            ],
        )


def test_new_cluster_is_created_and_terminated(sdk: WorkspaceClient) -> None:
    path = _upload(sdk, "dbutils.notebook.exit('done')\n")
    run = _wait_run(
        sdk,
        sdk.jobs.submit(
            run_name="ephemeral",
            tasks=[
                jobs.SubmitTask(task_key="t", new_cluster=ClusterSpec(**CLUSTER), notebook_task=jobs.NotebookTask(path))
            ],
        ).run_id,
    )
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    cluster_id = run.tasks[0].cluster_instance.cluster_id
    info = wait_cluster_state(sdk, cluster_id, State.TERMINATED)
    assert info.termination_reason.code.value == "JOB_FINISHED"
    assert info.cluster_source.value == "JOB"


def test_job_clusters_shared_by_tasks(sdk: WorkspaceClient) -> None:
    path = _upload(sdk, "dbutils.notebook.exit('x')\n")
    tasks = [
        {"task_key": k, "job_cluster_key": "shared", "notebook_task": {"notebook_path": path}} for k in ("one", "two")
    ]
    body = {
        "run_name": "shared",
        "tasks": tasks,
        "job_clusters": [{"job_cluster_key": "shared", "new_cluster": CLUSTER}],
    }
    run_id = sdk.api_client.do("POST", "/api/2.2/jobs/runs/submit", body=body)["run_id"]
    run = _wait_run(sdk, run_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    ids = {t.cluster_instance.cluster_id for t in run.tasks}
    assert len(ids) == 1
    assert wait_cluster_state(sdk, ids.pop(), State.TERMINATED).termination_reason.code.value == "JOB_FINISHED"
    assert run.job_clusters[0].job_cluster_key == "shared"


def test_timeout_and_cancel_kill_the_process(sdk: WorkspaceClient, local_ws: LocalWorkspace, cluster: str) -> None:
    marker = f"/pids/{uuid.uuid4().hex}"
    path = _upload(
        sdk,
        f"import os, time\ndbutils.fs.put('{marker}-' + dbutils.widgets.get('n'), str(os.getpid()))\ntime.sleep(60)\n",
    )
    dbfs = local_ws.workspace.data_dir / "dbfs"

    def pid_of(n: str) -> int:
        target = dbfs / f"{marker.lstrip('/')}-{n}"
        deadline = time.monotonic() + 15
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return int(target.read_text())

    task = jobs.SubmitTask(
        task_key="slow",
        existing_cluster_id=cluster,
        timeout_seconds=1,
        notebook_task=jobs.NotebookTask(path, base_parameters={"n": "timeout"}),
    )
    run_id = sdk.jobs.submit(run_name="slow", tasks=[task]).run_id
    pid = pid_of("timeout")
    run = _wait_run(sdk, run_id)
    assert run.tasks[0].state.result_state == jobs.RunResultState.TIMEDOUT
    assert run.state.result_state == jobs.RunResultState.TIMEDOUT
    assert run.tasks[0].state.user_cancelled_or_timedout is True
    assert _gone_soon(pid)

    task.notebook_task.base_parameters = {"n": "cancel"}
    task.timeout_seconds = None
    run_id = sdk.jobs.submit(run_name="slow", tasks=[task]).run_id
    pid = pid_of("cancel")
    assert sdk.jobs.get_run(run_id).state.life_cycle_state == jobs.RunLifeCycleState.RUNNING
    assert [r.run_id for r in sdk.jobs.list_runs(active_only=True)] == [run_id]
    with pytest.raises(InvalidState):
        sdk.jobs.delete_run(run_id)
    sdk.jobs.cancel_run(run_id)
    run = _wait_run(sdk, run_id)
    assert run.state.result_state == jobs.RunResultState.CANCELED
    assert run.tasks[0].state.result_state == jobs.RunResultState.CANCELED
    assert _gone_soon(pid)
    sdk.jobs.delete_run(run_id)
    with pytest.raises(ResourceDoesNotExist, match=f"Run {run_id} does not exist"):
        sdk.jobs.get_run(run_id)


def test_idempotency_token_returns_the_same_run(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "pass\n")
    token = uuid.uuid4().hex
    first = sdk.jobs.submit(run_name="once", idempotency_token=token, tasks=[_nb_task("t", path, cluster)]).run_id
    again = sdk.jobs.submit(run_name="once", idempotency_token=token, tasks=[_nb_task("t", path, cluster)]).run_id
    assert first == again
    assert _wait_run(sdk, first).state.result_state == jobs.RunResultState.SUCCESS
    with pytest.raises(InvalidParameterValue, match="idempotency_token.*at most 64 characters"):
        sdk.jobs.submit(run_name="long", idempotency_token="x" * 65, tasks=[_nb_task("t", path, cluster)])


def test_jobs_create_run_now_list_reset_delete(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "dbutils.notebook.exit(dbutils.widgets.get('a') + dbutils.widgets.get('b'))\n")
    name = f"job-{uuid.uuid4().hex[:6]}"
    task = jobs.Task(
        task_key="main",
        existing_cluster_id=cluster,
        notebook_task=jobs.NotebookTask(path, base_parameters={"a": "1", "b": "2"}),
    )
    job_id = sdk.jobs.create(name=name, tasks=[task]).job_id
    other = sdk.jobs.create(name=name, tasks=[task]).job_id
    job = sdk.jobs.get(job_id)
    assert job.settings.name == name and job.settings.tasks[0].task_key == "main"
    listed = list(sdk.jobs.list(name=name, limit=1))  # pages through next_page_token
    assert [j.job_id for j in listed] == [job_id, other]
    assert not listed[0].settings.tasks  # only with expand_tasks
    assert list(sdk.jobs.list(name=name, expand_tasks=True))[0].settings.tasks[0].task_key == "main"
    waiter = sdk.jobs.run_now(job_id, notebook_params={"b": "X"}, idempotency_token=uuid.uuid4().hex)
    run = _wait_run(sdk, waiter.run_id)
    assert run.run_type == jobs.RunType.JOB_RUN and run.job_id == job_id
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "1X"
    assert [r.run_id for r in sdk.jobs.list_runs(job_id=job_id, completed_only=True)] == [run.run_id]
    sdk.jobs.reset(job_id, jobs.JobSettings(name=f"{name}-renamed", tasks=[task], timeout_seconds=5))
    assert sdk.jobs.get(job_id).settings.name == f"{name}-renamed"
    sdk.jobs.update(job_id, new_settings=jobs.JobSettings(max_concurrent_runs=3))
    assert sdk.jobs.get(job_id).settings.max_concurrent_runs == 3
    sdk.jobs.delete(job_id)
    sdk.jobs.delete(other)
    with pytest.raises(ResourceDoesNotExist, match=f"Job {job_id} does not exist"):
        sdk.jobs.get(job_id)
    with pytest.raises(InvalidParameterValue, match="notebook_task, spark_python_task"):
        sdk.jobs.create(name="empty", tasks=[jobs.Task(task_key="x", existing_cluster_id=cluster)])


def test_legacy_single_task_submit_over_raw_http(local_ws: LocalWorkspace, sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "dbutils.notebook.exit(dbutils.widgets.get('x'))\n")
    body = {
        "run_name": "legacy run",
        "existing_cluster_id": cluster,
        "notebook_task": {"notebook_path": path, "base_parameters": {"x": "42"}},
    }
    response = _api(local_ws, "POST", "2.2/jobs/runs/submit", json=body)
    assert response.status_code == 200, response.text
    run_id = response.json()["run_id"]
    run = _wait_run(sdk, run_id)
    assert run.tasks[0].task_key == "legacy_run" and run.tasks[0].existing_cluster_id == cluster
    as_body = _api(local_ws, "GET", "2.2/jobs/runs/get", json={"run_id": str(run_id)}).json()
    assert as_body["state"]["result_state"] == "SUCCESS" and as_body["cluster_instance"]["cluster_id"] == cluster
    legacy = _api(local_ws, "GET", "2.0/jobs/runs/get-output", params={"run_id": run_id}).json()
    assert legacy["notebook_output"]["result"] == "42"
    refused = _api(local_ws, "GET", "2.1/jobs/runs/get-output", params={"run_id": run_id})
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    missing = _api(local_ws, "GET", "2.2/jobs/runs/get", params={"run_id": "987654321"})
    assert missing.status_code == 400 and missing.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Run 987654321 does not exist",
    }


def test_deleted_cluster_fails_clearly_and_terminated_cluster_is_started(sdk: WorkspaceClient) -> None:
    path = _upload(sdk, "dbutils.notebook.exit('ran')\n")
    stopped = sdk.clusters.create_and_wait(cluster_name="stopped", **CLUSTER).cluster_id
    sdk.clusters.delete(stopped)
    wait_cluster_state(sdk, stopped, State.TERMINATED)
    run = _wait_run(sdk, sdk.jobs.submit(run_name="wake", tasks=[_nb_task("t", path, stopped)]).run_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert sdk.clusters.get(stopped).state == State.RUNNING
    sdk.clusters.permanent_delete(stopped)
    with pytest.raises(OperationFailed, match=f"Cluster {stopped} does not exist"):
        sdk.jobs.submit_and_wait(run_name="gone", tasks=[_nb_task("t", path, stopped)])


def test_cluster_terminated_during_run_fails_the_task(sdk: WorkspaceClient) -> None:
    path = _upload(sdk, "import time\ntime.sleep(60)\n")
    doomed = sdk.clusters.create_and_wait(cluster_name="doomed", **CLUSTER).cluster_id
    run_id = sdk.jobs.submit(run_name="doomed", tasks=[_nb_task("t", path, doomed)]).run_id
    _wait_run(sdk, run_id, ("RUNNING",))
    sdk.clusters.delete(doomed)
    run = _wait_run(sdk, run_id)
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert run.tasks[0].state.state_message.startswith(f"Cluster {doomed} was terminated")
    assert "USER_REQUEST" in run.tasks[0].state.state_message
    sdk.clusters.permanent_delete(doomed)


def test_spark_access_is_a_clear_error(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "df = spark.range(3)\n")
    run = _wait_run(sdk, sdk.jobs.submit(run_name="spark", tasks=[_nb_task("t", path, cluster)]).run_id)
    error = sdk.jobs.get_run_output(run.tasks[0].run_id).error
    assert error.startswith("SparkUnavailableError: spark.range is not available")
    assert "no Spark engine" in error and "airbricks serve --spark" in error  # what to do about it
    sql = _upload(sdk, "x = 1\n# COMMAND ----------\n# MAGIC %sql\n# MAGIC SELECT 1\n")
    run = _wait_run(sdk, sdk.jobs.submit(run_name="sql", tasks=[_nb_task("t", sql, cluster)]).run_id)
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).error.startswith(
        "SparkUnavailableError: spark.sql is not available"
    )


def test_dbutils_fs_and_spark_python_task(sdk: WorkspaceClient, local_ws: LocalWorkspace, cluster: str) -> None:
    folder = uuid.uuid4().hex
    path = _upload(
        sdk,
        f"dbutils.fs.mkdirs('dbfs:/{folder}')\ndbutils.fs.put('dbfs:/{folder}/a.txt', 'hello')\n"
        f"dbutils.fs.cp('/{folder}/a.txt', '/{folder}/b.txt')\n"
        f"names = sorted(f.name for f in dbutils.fs.ls('/{folder}'))\n"
        f"dbutils.notebook.exit(','.join(names) + ':' + dbutils.fs.head('/{folder}/b.txt'))\n",
    )
    run = _wait_run(sdk, sdk.jobs.submit(run_name="fs", tasks=[_nb_task("t", path, cluster)]).run_id)
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "a.txt,b.txt:hello"
    assert (local_ws.workspace.data_dir / "dbfs" / folder / "b.txt").read_text() == "hello"
    script = local_ws.workspace.data_dir / "dbfs" / folder / "main.py"
    script.write_text("import sys\nprint('args', sys.argv[1:])\nif sys.argv[1] != 'go':\n    sys.exit(3)\n")
    task = jobs.SubmitTask(
        task_key="py",
        existing_cluster_id=cluster,
        spark_python_task=jobs.SparkPythonTask(python_file=f"dbfs:/{folder}/main.py", parameters=["go", "2"]),
    )
    run = _wait_run(sdk, sdk.jobs.submit(run_name="py", tasks=[task]).run_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert "args ['go', '2']" in sdk.jobs.get_run_output(run.tasks[0].run_id).logs
    task.spark_python_task.parameters = ["stop"]
    run = _wait_run(sdk, sdk.jobs.submit(run_name="py", tasks=[task]).run_id)
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).error == "SystemExit: 3"


def test_run_in_flight_when_server_is_killed_ends_internal_error(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airbricks.cli",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            str(port),
            "--cluster-start-seconds",
            "0.2",
            "--token",
            "dapitest",
            "--spark",
            "off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client = WorkspaceClient(host=f"http://127.0.0.1:{port}", token="dapitest", auth_type="pat")
        deadline = time.monotonic() + 30
        while True:
            try:
                client.jobs.list_runs()
                break
            except Exception:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        cluster_id = client.clusters.create_and_wait(cluster_name="c", **CLUSTER).cluster_id
        path = _upload(client, "import os, time\ndbutils.fs.put('/pid', str(os.getpid()))\ntime.sleep(120)\n")
        run_id = client.jobs.submit(
            run_name="long",
            tasks=[
                _nb_task("t", path, cluster_id),
                jobs.SubmitTask(
                    task_key="eph", new_cluster=ClusterSpec(**CLUSTER), notebook_task=jobs.NotebookTask(path)
                ),
            ],
        ).run_id
        _wait_run(client, run_id, ("RUNNING",))
        pid_file = tmp_path / "dbfs" / "pid"
        while not pid_file.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.1)
        pid = int(pid_file.read_text())
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        assert _alive(pid)  # the kernel outlived the server (its own session)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    with LocalWorkspace(tmp_path, cluster_start_seconds=0.2) as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        run = client.jobs.get_run(run_id)
        assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
        assert run.state.state_message == LOST
        assert {t.state.state_message for t in run.tasks} == {LOST}
        assert _gone_soon(pid)
        job_cluster = next(t.cluster_instance.cluster_id for t in run.tasks if t.task_key == "eph")
        wait_cluster_state(client, job_cluster, State.TERMINATED)
