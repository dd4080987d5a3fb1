"""kill -9 durability: everything the server acknowledged is there after a restart on the same data dir, the
run in flight ends INTERNAL_ERROR saying why, its notebook process is gone, and ids are never reused."""

from __future__ import annotations

import base64
import io
import time

import psutil
import pytest

TOKEN = "dapi-durability-test-token"
ARGS = ("--token", TOKEN, "--cluster-start-seconds", "0.3", "--cluster-stop-seconds", "0.1")
SPEC = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
SLEEPER = "# Databricks notebook source\nimport time\ntime.sleep(60)\ndbutils.notebook.exit('woke up')\n"


def _client(server):
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")


def _wait(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _kernels_of(spec_path: str) -> list[psutil.Process]:
    """Live processes whose command line runs this task run's spec file (zombies count as gone)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if spec_path in (proc.info["cmdline"] or []) and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def state(tmp_path, serve_process):
    """A server holding one of everything, including a notebook run in flight; then kill -9."""
    from databricks.sdk.service import compute, jobs
    from databricks.sdk.service.catalog import VolumeType
    from databricks.sdk.service.workspace import ImportFormat, Language

    data = tmp_path / "ws"
    server = serve_process(data, *ARGS)
    w = _client(server)
    running = w.clusters.create_and_wait(
        cluster_name="durable-running", **SPEC, custom_tags={"team": "durability"}
    ).cluster_id
    stopped = w.clusters.create_and_wait(cluster_name="durable-stopped", **SPEC).cluster_id
    w.clusters.delete_and_wait(stopped)
    gone = w.clusters.create(cluster_name="durable-gone", **SPEC).cluster_id
    w.clusters.permanent_delete(gone)

    w.workspace.mkdirs("/Shared/durable")
    w.workspace.upload(
        "/Shared/durable/sleeper",
        io.BytesIO(SLEEPER.encode()),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    w.dbfs.upload("/durable/data.bin", io.BytesIO(bytes(range(256)) * 4000), overwrite=True)
    w.volumes.create(catalog_name="main", schema_name="default", name="landing", volume_type=VolumeType.MANAGED)
    w.files.upload("/Volumes/main/default/landing/durable.csv", io.BytesIO(b"a,b\n1,2\n"), overwrite=True)
    job_id = w.jobs.create(
        name="durable-job",
        tasks=[
            jobs.Task(
                task_key="t",
                existing_cluster_id=running,
                notebook_task=jobs.NotebookTask(notebook_path="/Shared/durable/sleeper", base_parameters={"x": "1"}),
            )
        ],
    ).job_id
    w.workspace.upload(
        "/Shared/durable/quick",
        io.BytesIO(b"# Databricks notebook source\ndbutils.notebook.exit('done')\n"),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    finished = w.jobs.submit_and_wait(
        run_name="quick",
        tasks=[
            jobs.SubmitTask(
                task_key="q",
                existing_cluster_id=running,
                notebook_task=jobs.NotebookTask(notebook_path="/Shared/durable/quick"),
            )
        ],
    )
    assert finished.state.result_state == jobs.RunResultState.SUCCESS

    in_flight = w.jobs.run_now(job_id=job_id).run_id
    task_run = _wait(
        lambda: next(
            (t for t in w.jobs.get_run(in_flight).tasks if t.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING),
            None,
        ),
        "the sleeper task to run",
    )
    spec_path = str(data.resolve() / "runs" / str(task_run.run_id) / "spec.json")
    _wait(lambda: _kernels_of(spec_path), "the notebook process to appear")

    before = {
        "clusters": {c: w.clusters.get(c).as_dict() for c in (running, stopped)},
        "job": w.jobs.get(job_id).as_dict(),
        "finished": w.jobs.get_run(finished.run_id).as_dict(),
        "output": w.jobs.get_run_output(finished.tasks[0].run_id).notebook_output.result,
        "notebook": w.workspace.export("/Shared/durable/sleeper").content,
        "dbfs": w.dbfs.read("/durable/data.bin", length=1_000_000).data,
    }
    server.kill9()
    return {
        "data": data,
        "serve": serve_process,
        "running": running,
        "stopped": stopped,
        "gone": gone,
        "job_id": job_id,
        "in_flight": in_flight,
        "task_run": task_run.run_id,
        "spec_path": spec_path,
        "finished": finished.run_id,
        "before": before,
        "compute": compute,
        "jobs": jobs,
    }


def test_everything_acknowledged_survives_kill_9(state):
    server = state["serve"](state["data"], *ARGS)
    w = _client(server)
    before = state["before"]

    for cid, old in before["clusters"].items():
        new = w.clusters.get(cid).as_dict()
        for key in (
            "cluster_name",
            "spark_version",
            "node_type_id",
            "num_workers",
            "custom_tags",
            "creator_user_name",
            "cluster_source",
            "start_time",
            "default_tags",
        ):
            assert new.get(key) == old.get(key), (cid, key)
    assert w.clusters.get(state["stopped"]).state.value == "TERMINATED"
    assert w.clusters.get(state["running"]).custom_tags == {"team": "durability"}
    listed = {c.cluster_id for c in w.clusters.list()}
    assert {state["running"], state["stopped"]} <= listed
    assert state["gone"] not in listed
    from databricks.sdk.errors import ResourceDoesNotExist

    with pytest.raises(ResourceDoesNotExist):
        w.clusters.get(state["gone"])
    assert len(list(w.clusters.events(state["running"]))) >= 2

    assert w.jobs.get(state["job_id"]).as_dict() == before["job"]
    assert [j.job_id for j in w.jobs.list(name="durable-job")] == [state["job_id"]]
    assert w.jobs.get_run(state["finished"]).as_dict() == before["finished"]
    finished_task = w.jobs.get_run(state["finished"]).tasks[0].run_id
    assert w.jobs.get_run_output(finished_task).notebook_output.result == before["output"] == "done"

    assert w.workspace.export("/Shared/durable/sleeper").content == before["notebook"]
    assert base64.b64decode(before["notebook"]).decode().count("time.sleep(60)") == 1
    assert w.dbfs.read("/durable/data.bin", length=1_000_000).data == before["dbfs"]
    assert w.dbfs.get_status("/durable/data.bin").file_size == 256 * 4000
    assert w.files.download("/Volumes/main/default/landing/durable.csv").contents.read() == b"a,b\n1,2\n"


def test_run_in_flight_ends_internal_error_and_its_process_is_gone(state):
    jobs = state["jobs"]
    server = state["serve"](state["data"], *ARGS)
    w = _client(server)
    run = w.jobs.get_run(state["in_flight"])
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert "restart" in run.state.state_message.lower()
    task = run.tasks[0]
    assert task.run_id == state["task_run"]
    assert task.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert "restart" in task.state.state_message.lower()
    assert run.end_time >= run.start_time > 0
    output = w.jobs.get_run_output(task.run_id)
    assert output.notebook_output is None or output.notebook_output.result is None
    assert "restart" in (output.error or "").lower()
    _wait(lambda: not _kernels_of(state["spec_path"]), "the orphaned notebook process to be killed", timeout=15)
    assert not [r for r in w.jobs.list_runs(active_only=True)]
    # the cluster that ran it is usable again: a new run on it succeeds
    rerun = w.jobs.submit_and_wait(
        run_name="after",
        tasks=[
            jobs.SubmitTask(
                task_key="a",
                existing_cluster_id=state["running"],
                notebook_task=jobs.NotebookTask(notebook_path="/Shared/durable/quick"),
            )
        ],
    )
    assert rerun.state.result_state == jobs.RunResultState.SUCCESS


def test_ids_are_not_reused_after_restart(state):
    jobs = state["jobs"]
    server = state["serve"](state["data"], *ARGS)
    w = _client(server)
    old_clusters = {state["running"], state["stopped"], state["gone"]}
    new_cluster = w.clusters.create(cluster_name="after-restart", **SPEC).cluster_id
    try:
        assert new_cluster not in old_clusters
        new_job = w.jobs.create(
            name="after-restart",
            tasks=[
                jobs.Task(
                    task_key="t",
                    existing_cluster_id=new_cluster,
                    notebook_task=jobs.NotebookTask(notebook_path="/Shared/durable/quick"),
                )
            ],
        ).job_id
        assert new_job > state["job_id"]
        run = w.jobs.run_now(job_id=new_job).run_id
        old_runs = {state["in_flight"], state["task_run"], state["finished"]}
        assert run not in old_runs and run > max(old_runs)
        done = w.jobs.wait_get_run_job_terminated_or_skipped(run)
        assert done.tasks[0].run_id > max(old_runs)
        assert done.state.result_state == jobs.RunResultState.SUCCESS
    finally:
        w.clusters.permanent_delete(new_cluster)
    for cid in (state["running"], state["stopped"]):
        w.clusters.permanent_delete(cid)
    assert not [c for c in w.clusters.list()]
