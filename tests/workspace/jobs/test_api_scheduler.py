"""The job scheduler in real time, over HTTP with unmodified databricks-sdk: a 10-second cron schedule (and the
UI's job and run pages of it), a file-arrival trigger on a volume, a continuous job, a schedule across a
``kill -9`` of ``airbricks serve``, and a schedule set by the provider's ``DatabricksCreateJobsOperator`` in a
real ``dag.test()``.

Tasks are condition tasks (the service evaluates them itself): the scheduler is what is tested, so no kernel
process is started per run. The module's own workspace checks file arrivals every half second.
"""

from __future__ import annotations

import datetime
import html
import io
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from airbricks.workspace.server.serve import LocalWorkspace

# The operator tests' fixtures (unique dag_id per test, task states), reused as they are.
from operators.conftest import dag_id, ti_states  # noqa: F401

TASK = jobs.Task(
    task_key="check",
    condition_task=jobs.ConditionTask(op=jobs.ConditionTaskOp.EQUAL_TO, left="1", right="1"),
)
EVERY_10S = "0/10 * * * * ?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspace]:
    with LocalWorkspace(
        tmp_path_factory.mktemp("scheduler"),
        spark=False,
        cluster_start_seconds=0,
        cluster_stop_seconds=0,
        trigger_check_seconds=0.5,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def client(served: LocalWorkspace) -> WorkspaceClient:
    return WorkspaceClient(host=served.url, token=served.token)


def until(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            assert done(value), value
            return value
        time.sleep(0.1)


def job_runs(client: WorkspaceClient, job_id: int) -> list[jobs.BaseRun]:
    return sorted(client.jobs.list_runs(job_id=job_id), key=lambda r: r.run_id or 0)


def ui_page(served: LocalWorkspace, path: str) -> str:
    """A page of the web UI, as a signed-in browser gets it (sign-in link asked of the API, as a script would)."""
    session = requests.Session()
    link = session.post(
        f"{served.url}/api/2.0/airbricks/ui/login-links", headers={"Authorization": f"Bearer {served.token}"}
    )
    session.get(link.json()["url"], timeout=10).raise_for_status()
    answer = session.get(f"{served.url}{path}", timeout=10)
    answer.raise_for_status()
    return html.unescape(answer.text)


def test_a_cron_schedule_runs_every_10_seconds_until_paused(client: WorkspaceClient, served: LocalWorkspace) -> None:
    schedule = jobs.CronSchedule(quartz_cron_expression=EVERY_10S, timezone_id="UTC")
    job_id = client.jobs.create(name="every-10s", tasks=[TASK], schedule=schedule).job_id
    assert job_id is not None
    try:
        two = until(lambda: job_runs(client, job_id), lambda r: len(r) >= 2, timeout=25)
        assert [r.trigger for r in two] == [jobs.TriggerType.PERIODIC] * 2
        starts = [r.start_time or 0 for r in two]
        assert 9_000 <= starts[1] - starts[0] <= 11_000
        assert all(s % 10_000 < 1_500 for s in starts)  # on the schedule's seconds 0, 10, 20...
        job_page = ui_page(served, f"/ui/jobs/{job_id}")
        assert "Scheduled: <code>0/10 * * * * ? (UTC)</code>" in job_page and "Active" in job_page
        next_run = re.search(r"<th>Next run</th><td>([^<]+)</td>", job_page)
        assert next_run is not None and next_run.group(1).endswith("0 UTC")
        assert re.search(r'id="run-trigger">PERIODIC<', ui_page(served, f"/ui/runs/{two[0].run_id}"))
        paused = jobs.CronSchedule(
            quartz_cron_expression=EVERY_10S, timezone_id="UTC", pause_status=jobs.PauseStatus.PAUSED
        )
        client.jobs.update(job_id, new_settings=jobs.JobSettings(schedule=paused))
        count = len(job_runs(client, job_id))
        time.sleep(11 - (time.time() % 10))  # past the next fire time
        assert len(job_runs(client, job_id)) == count
        job_page = ui_page(served, f"/ui/jobs/{job_id}")
        assert "<th>Status</th><td>Paused</td>" in job_page and "Next run" not in job_page
    finally:
        client.jobs.delete(job_id)


def test_a_batch_of_files_on_a_volume_starts_one_file_arrival_run(
    client: WorkspaceClient, served: LocalWorkspace
) -> None:
    client.catalogs.create("sched")
    client.schemas.create("landing", catalog_name="sched")
    client.volumes.create("sched", "landing", "inbox", jobs_volume_type())
    url = "/Volumes/sched/landing/inbox/incoming/"
    client.files.upload("/Volumes/sched/landing/inbox/incoming/old.csv", io.BytesIO(b"there before the trigger"))
    trigger = jobs.TriggerSettings(file_arrival=jobs.FileArrivalTriggerConfiguration(url=url))
    job_id = client.jobs.create(name="on-arrival", tasks=[TASK], trigger=trigger).job_id
    assert job_id is not None
    try:
        time.sleep(1.5)  # three checks: the file already there does not start a run
        assert job_runs(client, job_id) == []
        # A batch lands at once, as a copy tool lands a prepared folder: three files in a subfolder.
        for name in ("a.csv", "b.csv", "c.csv"):
            client.files.upload(f"/Volumes/sched/landing/inbox/staging/batch/{name}", io.BytesIO(name.encode()))
        assert served.workspace is not None
        root = served.workspace.volumes.local_path("/Volumes/sched/landing/inbox")
        (root / "staging" / "batch").rename(root / "incoming" / "batch")
        (run,) = until(lambda: job_runs(client, job_id), lambda r: len(r) >= 1, timeout=5)
        assert run.trigger == jobs.TriggerType.FILE_ARRIVAL
        time.sleep(1.5)
        assert len(job_runs(client, job_id)) == 1  # one run for the batch
    finally:
        client.jobs.delete(job_id)


def jobs_volume_type() -> Any:
    from databricks.sdk.service.catalog import VolumeType

    return VolumeType.MANAGED


def test_a_continuous_job_starts_its_next_run_after_the_last_ends(client: WorkspaceClient) -> None:
    job_id = client.jobs.create(name="always-on", tasks=[TASK], continuous=jobs.Continuous()).job_id
    assert job_id is not None
    try:
        runs = until(lambda: job_runs(client, job_id), lambda r: len(r) >= 2, timeout=10)
        assert [r.trigger for r in runs[:2]] == [jobs.TriggerType.CONTINUOUS] * 2
        assert (runs[1].start_time or 0) >= (runs[0].end_time or 0)
        assert sum(1 for r in job_runs(client, job_id) if r.state and r.state.life_cycle_state in ACTIVE) <= 1
        client.jobs.update(
            job_id, new_settings=jobs.JobSettings(continuous=jobs.Continuous(pause_status=jobs.PauseStatus.PAUSED))
        )
        time.sleep(0.5)
        count = len(job_runs(client, job_id))
        time.sleep(2)
        assert len(job_runs(client, job_id)) == count
    finally:
        client.jobs.delete(job_id)


ACTIVE = (jobs.RunLifeCycleState.PENDING, jobs.RunLifeCycleState.RUNNING, jobs.RunLifeCycleState.QUEUED)


def test_create_jobs_operator_schedule_is_run_by_the_workspace(run_dag, dag_id, ti_states, sdk) -> None:
    from airflow.providers.databricks.operators.databricks import DatabricksCreateJobsOperator
    from airflow.sdk import DAG

    name = f"{dag_id}-{uuid.uuid4().hex[:6]}"
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        DatabricksCreateJobsOperator(
            task_id="create",
            name=name,
            tasks=[TASK.as_dict()],
            # Every second, as written; the service's 10 s floor spaces the runs (the first comes within a second).
            schedule={"quartz_cron_expression": "* * * * * ?", "timezone_id": "UTC"},
        )
    dr = run_dag(dag)
    assert ti_states(dr) == {"create": "success"}
    (job,) = list(sdk.jobs.list(name=name))
    try:
        assert job.settings.schedule.pause_status == jobs.PauseStatus.UNPAUSED
        (run, *_) = until(lambda: list(sdk.jobs.list_runs(job_id=job.job_id)), lambda r: len(r) >= 1, timeout=5)
        assert run.trigger == jobs.TriggerType.PERIODIC
    finally:
        sdk.jobs.delete(job.job_id)


def test_after_kill_9_a_schedule_neither_fires_twice_nor_forgets_the_missed_time(
    tmp_path: Path, serve_process: Callable[..., Any]
) -> None:
    data_dir = tmp_path / "killed"
    server = serve_process(data_dir, "--token", "dapi-sched")
    client = WorkspaceClient(host=server.url, token="dapi-sched")
    # Every second as written: the 10 s floor spaces the runs, and the first comes within a second.
    schedule = jobs.CronSchedule(quartz_cron_expression="* * * * * ?", timezone_id="UTC")
    job_id = client.jobs.create(name="survives", tasks=[TASK], schedule=schedule).job_id
    assert job_id is not None
    (first,) = until(lambda: job_runs(client, job_id), lambda r: len(r) >= 1, timeout=5)
    server.kill9()
    time.sleep(max(0.0, (first.start_time or 0) / 1000 + 11 - time.time()))  # its next fire time passes unserved
    again = serve_process(data_dir, "--token", "dapi-sched")
    client = WorkspaceClient(host=again.url, token="dapi-sched")
    runs = until(lambda: job_runs(client, job_id), lambda r: len(r) >= 2, timeout=5)
    assert [r.trigger for r in runs] == [jobs.TriggerType.PERIODIC] * 2
    time.sleep(2)
    assert len(job_runs(client, job_id)) == 2  # the missed time once, the fired one not again
