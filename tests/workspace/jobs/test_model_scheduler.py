"""The job scheduler on the manual clock: schedules, pause, concurrency, restarts, periodic and file-arrival
triggers, continuous jobs and the validation of their settings (milliseconds, no sleeping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.workspace.model_kit import Processes, make_workspace

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue
from airbricks.workspace.jobs.scheduler import Scheduler
from airbricks.workspace.jobs.triggers import check_settings
from airbricks.workspace.shared import Shared

NOTEBOOK = "/Shared/unit/nb"
VOLUME = "/Volumes/main/default/landing"


@pytest.fixture(autouse=True)
def notebook(ws: Workspace) -> None:
    ws.objects.mkdirs("/Shared/unit")
    ws.objects.import_(NOTEBOOK, b"x = 1\n", "SOURCE", "PYTHON", False)


def restartable(tmp_path: Path, clock: ManualClock, procs: Processes) -> Workspace:
    """A second workspace of the test (apart from the ``ws`` fixture's), to stop and start again."""
    made = make_workspace(tmp_path / "restarted", clock, procs)
    made.objects.mkdirs("/Shared/unit")
    made.objects.import_(NOTEBOOK, b"x = 1\n", "SOURCE", "PYTHON", False)
    return made


def job(ws: Workspace, **settings: Any) -> int:
    tasks = [{"task_key": "t", "notebook_task": {"notebook_path": NOTEBOOK}}]
    return ws.jobs.create({"name": "scheduled", "tasks": tasks, **settings})


def runs(ws: Workspace, job_id: int) -> list[dict[str, Any]]:
    """The job's runs, oldest first."""
    return list(reversed(ws.runs.list(job_id=job_id, limit=1000).items))


def triggers(ws: Workspace, job_id: int) -> list[str]:
    return [r["trigger"] for r in runs(ws, job_id)]


def every_10s() -> dict[str, Any]:
    return {"quartz_cron_expression": "0/10 * * * * ?", "timezone_id": "UTC"}


def to_next_10s(ws: Workspace) -> None:
    """Step the clock to the next multiple of 10 s (ManualClock starts at ...20.000 s)."""
    ws.step(10_000 - ws.clock.now_ms() % 10_000)


def finish_all(ws: Workspace, procs: Processes, status: str = "SUCCESS") -> None:
    """End every task process (those of runs started this tick are launched first) and let the runs end."""
    ws.step(0)
    for proc in procs:
        if proc.outcome is None:
            proc.finish(status)
    ws.step(0)


# -- cron schedules -------------------------------------------------------------------------------------------


def test_a_schedule_fires_at_its_times_with_trigger_periodic(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, schedule=every_10s())
    assert ws.jobs.get(job_id)["settings"]["schedule"]["pause_status"] == "UNPAUSED"
    ws.step(9_999 - ws.clock.now_ms() % 10_000)
    assert runs(ws, job_id) == []
    ws.step(1)
    first = runs(ws, job_id)
    assert [(r["trigger"], r["start_time"] % 10_000) for r in first] == [("PERIODIC", 0)]
    finish_all(ws, procs)
    for _ in range(3):
        to_next_10s(ws)
        finish_all(ws, procs)
    starts = [r["start_time"] for r in runs(ws, job_id)]
    assert [b - a for a, b in zip(starts, starts[1:], strict=False)] == [10_000, 10_000, 10_000]
    assert scheduler_next(ws, job_id) == starts[-1] + 10_000


def test_a_late_tick_does_not_push_the_next_fire_time_past_its_mark(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, schedule=every_10s())
    ws.step(10_000 - ws.clock.now_ms() % 10_000 + 300)  # the ticker came 300 ms late
    finish_all(ws, procs)
    assert scheduler_next(ws, job_id) == runs(ws, job_id)[0]["start_time"] - 300 + 10_000


def scheduler_next(ws: Workspace, job_id: int) -> int | None:
    return ws.scheduler.next_run_ms(job_id)


def test_pause_stops_runs_and_resume_does_not_make_up_missed_ones(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, schedule=every_10s())
    to_next_10s(ws)
    finish_all(ws, procs)
    ws.jobs.update(job_id, {"schedule": {**every_10s(), "pause_status": "PAUSED"}}, None)
    assert scheduler_next(ws, job_id) is None
    for _ in range(5):
        to_next_10s(ws)
    assert len(runs(ws, job_id)) == 1
    ws.jobs.update(job_id, {"schedule": {**every_10s(), "pause_status": "UNPAUSED"}}, None)
    ws.step(1)
    assert len(runs(ws, job_id)) == 1  # nothing made up for the paused minute
    to_next_10s(ws)
    assert triggers(ws, job_id) == ["PERIODIC", "PERIODIC"]


def test_max_concurrent_runs_skips_or_queues_scheduled_runs(ws: Workspace, procs: Processes) -> None:
    skipping = job(ws, schedule=every_10s())
    queueing = job(ws, schedule=every_10s(), queue={"enabled": True})
    to_next_10s(ws)
    to_next_10s(ws)  # the first runs never end: the second fire time finds the limit of 1 reached
    skipped = runs(ws, skipping)[1]["state"]
    assert (skipped["life_cycle_state"], skipped["state_message"]) == (
        "SKIPPED",
        "Skipping this run because the limit of 1 maximum concurrent runs has been reached.",
    )
    assert runs(ws, queueing)[1]["state"]["life_cycle_state"] == "QUEUED"
    assert triggers(ws, skipping) == triggers(ws, queueing) == ["PERIODIC", "PERIODIC"]


def test_a_restart_neither_fires_twice_nor_forgets_a_missed_schedule(
    tmp_path: Path, clock: ManualClock, procs: Processes
) -> None:
    first = restartable(tmp_path, clock, procs)
    job_id = job(first, schedule={"quartz_cron_expression": "0 * * * * ?", "timezone_id": "UTC"})
    first.step(60_000 - clock.now_ms() % 60_000)
    assert len(runs(first, job_id)) == 1
    first.stop()

    again = make_workspace(tmp_path / "restarted", clock, procs)  # same instant: that minute already fired
    again.step(0)
    again.step(30_000)
    assert len(runs(again, job_id)) == 1
    again.stop()

    clock.advance(5 * 60_000)  # down for five minutes: five fire times missed
    back = make_workspace(tmp_path / "restarted", clock, procs)
    back.step(0)
    assert triggers(back, job_id) == ["PERIODIC", "PERIODIC"]  # made up once
    back.step(500)
    assert len(runs(back, job_id)) == 2
    assert clock.now_ms() % 60_000 == 30_500  # the catch-up ran at :30; the next minute fires as usual
    back.step(60_000 - clock.now_ms() % 60_000)
    assert len(runs(back, job_id)) == 3
    back.stop()


def test_a_scheduled_run_started_before_a_crash_is_not_started_again(ws: Workspace) -> None:
    # The run is made before the scheduler's memory is written; after a crash the same fire time is tried
    # again and its idempotency token answers the run already made.
    job_id = job(ws)
    token = f"airbricks-schedule-{job_id}-123"
    assert ws.jobs.start_triggered(job_id, "PERIODIC", token) == ws.jobs.start_triggered(job_id, "PERIODIC", token)
    assert len(runs(ws, job_id)) == 1


# -- periodic -----------------------------------------------------------------------------------------------


def test_a_periodic_trigger_fires_every_interval(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, trigger={"periodic": {"interval": "2", "unit": "MINUTES"}})  # as the provider sends numbers
    assert ws.jobs.get(job_id)["settings"]["trigger"]["periodic"]["interval"] == 2
    start = ws.clock.now_ms()
    assert scheduler_next(ws, job_id) == start + 120_000
    ws.step(119_999)
    assert runs(ws, job_id) == []
    ws.step(1)
    finish_all(ws, procs)
    ws.step(120_000)
    assert [r["start_time"] - start for r in runs(ws, job_id)] == [120_000, 240_000]
    assert triggers(ws, job_id) == ["PERIODIC", "PERIODIC"]


# -- file arrival -------------------------------------------------------------------------------------------


def volume(ws: Workspace) -> Path:
    """The volume file-arrival tests watch, made through the catalog (as ``volumes/create`` makes it)."""
    for make in (lambda: ws.catalog.create_catalog("main"), lambda: ws.catalog.create_schema("main", "default")):
        try:
            make()
        except DatabricksError:  # the workspace's own main.default
            pass
    ws.catalog.create_volume("main", "default", "landing", "MANAGED")
    root = ws.volumes.local_path(VOLUME)
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_file_arrival_fires_once_per_batch_not_for_files_already_there(ws: Workspace, procs: Processes) -> None:
    root = volume(ws)
    (root / "old.csv").write_text("there before the trigger")
    job_id = job(ws, trigger={"file_arrival": {"url": f"{VOLUME}/"}})
    ws.step(60_000)
    assert runs(ws, job_id) == []  # files already there do not fire
    (root / "in").mkdir()
    for name in ("a.csv", "b.csv", "c.csv"):
        (root / "in" / name).write_text(name)  # recursive: a subdirectory counts
    ws.step(59_999)
    assert runs(ws, job_id) == []  # checked about every minute
    ws.step(1)
    assert triggers(ws, job_id) == ["FILE_ARRIVAL"]
    finish_all(ws, procs)
    ws.step(60_000)
    assert len(runs(ws, job_id)) == 1  # nothing new: no run
    (root / "a.csv").write_text("changed")
    ws.step(60_000)
    assert triggers(ws, job_id) == ["FILE_ARRIVAL", "FILE_ARRIVAL"]


def test_file_arrival_timings_wait_for_quiet_and_space_runs(ws: Workspace, procs: Processes) -> None:
    root = volume(ws)
    timings = {"wait_after_last_change_seconds": 120, "min_time_between_triggers_seconds": 600}
    job_id = job(ws, trigger={"file_arrival": {"url": VOLUME, **timings}})
    (root / "1").write_text("1")
    ws.step(60_000)
    (root / "2").write_text("2")
    ws.step(60_000)  # still arriving: no run
    ws.step(60_000)
    assert runs(ws, job_id) == []
    ws.step(60_000)  # two minutes without a change
    assert triggers(ws, job_id) == ["FILE_ARRIVAL"]
    finish_all(ws, procs)
    (root / "3").write_text("3")
    for _ in range(8):
        ws.step(60_000)
    assert len(runs(ws, job_id)) == 1  # ten minutes between triggers
    ws.step(60_000)
    ws.step(60_000)
    assert triggers(ws, job_id) == ["FILE_ARRIVAL", "FILE_ARRIVAL"]


def test_file_arrival_state_survives_a_restart(tmp_path: Path, clock: ManualClock, procs: Processes) -> None:
    first = restartable(tmp_path, clock, procs)
    root = volume(first)
    job_id = job(first, trigger={"file_arrival": {"url": VOLUME}})
    (root / "a").write_text("a")
    first.step(60_000)
    assert len(runs(first, job_id)) == 1
    first.stop()
    (root / "b").write_text("arrived while the server was down")
    back = make_workspace(tmp_path / "restarted", clock, procs)
    back.step(60_000)
    back.step(60_000)
    assert triggers(back, job_id) == ["FILE_ARRIVAL", "FILE_ARRIVAL"]  # b once; a never again
    back.stop()


def test_a_paused_file_trigger_ignores_arrivals(ws: Workspace) -> None:
    root = volume(ws)
    job_id = job(ws, trigger={"file_arrival": {"url": VOLUME}, "pause_status": "PAUSED"})
    (root / "a").write_text("a")
    ws.step(120_000)
    assert runs(ws, job_id) == []


# -- continuous ---------------------------------------------------------------------------------------------


def test_a_continuous_job_keeps_one_run_and_restarts_it_when_it_ends(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, continuous={})
    ws.step(0)
    assert triggers(ws, job_id) == ["CONTINUOUS"]
    ws.step(5_000)
    assert len(runs(ws, job_id)) == 1  # one active run at a time
    finish_all(ws, procs)
    ws.step(1_000)
    assert triggers(ws, job_id) == ["CONTINUOUS", "CONTINUOUS"]


def test_continuous_failures_back_off_exponentially(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, continuous={})
    ws.step(0)
    finish_all(ws, procs, "FAILED")
    ws.step(1_000)
    ws.step(58_000)
    assert len(runs(ws, job_id)) == 1  # the first failure: a minute's wait
    ws.step(2_000)
    assert len(runs(ws, job_id)) == 2
    finish_all(ws, procs, "FAILED")
    ws.step(1_000)
    ws.step(110_000)
    assert len(runs(ws, job_id)) == 2  # the second in a row: two minutes
    ws.step(10_000)
    assert len(runs(ws, job_id)) == 3
    finish_all(ws, procs)
    ws.step(1_000)
    ws.step(1_000)
    assert len(runs(ws, job_id)) == 4  # a success resets the backoff


def test_a_continuous_job_waits_while_a_run_now_holds_its_slot(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, continuous={"pause_status": "PAUSED"})
    ws.jobs.run_now(job_id)  # Databricks: "Run now" on a paused continuous job
    ws.jobs.update(job_id, {"continuous": {"pause_status": "UNPAUSED"}}, None)
    ws.step(0)
    ws.step(1_000)
    assert [r["state"]["life_cycle_state"] for r in runs(ws, job_id)] == ["RUNNING", "SKIPPED"]
    ws.step(5_000)
    assert len(runs(ws, job_id)) == 2  # no run every second while the other one runs
    finish_all(ws, procs)
    ws.step(5_000)
    assert triggers(ws, job_id) == ["ONE_TIME", "CONTINUOUS", "CONTINUOUS"]
    assert runs(ws, job_id)[2]["state"]["life_cycle_state"] in ("PENDING", "RUNNING")


def test_a_settings_change_restarts_and_pause_cancels_the_continuous_run(ws: Workspace, procs: Processes) -> None:
    job_id = job(ws, continuous={})
    ws.step(0)
    ws.jobs.update(job_id, {"timeout_seconds": 3600}, None)
    assert runs(ws, job_id)[0]["state"]["result_state"] == "CANCELED"
    ws.step(1_000)
    assert triggers(ws, job_id) == ["CONTINUOUS", "CONTINUOUS_RESTART"]
    ws.jobs.update(job_id, {"continuous": {"pause_status": "PAUSED"}}, None)
    ws.step(10_000)
    assert [r["state"]["life_cycle_state"] for r in runs(ws, job_id)] == ["TERMINATED", "TERMINATED"]
    ws.jobs.update(job_id, {"continuous": {"pause_status": "UNPAUSED"}}, None)
    ws.step(1_000)
    assert triggers(ws, job_id) == ["CONTINUOUS", "CONTINUOUS_RESTART", "CONTINUOUS"]


# -- how runs say they started, and what is refused ---------------------------------------------------------


def test_run_now_is_one_time(ws: Workspace) -> None:
    job_id = job(ws)
    ws.jobs.run_now(job_id)
    assert triggers(ws, job_id) == ["ONE_TIME"]
    assert "trigger_info" not in runs(ws, job_id)[0]


def test_a_run_job_task_run_names_the_task_run_that_started_it(ws: Workspace) -> None:
    inner = job(ws)
    outer = ws.jobs.create({"name": "outer", "tasks": [{"task_key": "call", "run_job_task": {"job_id": inner}}]})
    ws.jobs.run_now(outer)
    ws.step(0)
    ws.step(0)
    (child,) = runs(ws, inner)
    caller = ws.runs.get(runs(ws, outer)[0]["run_id"])["tasks"][0]["run_id"]
    assert (child["trigger"], child["trigger_info"]) == ("RUN_JOB_TASK", {"run_id": caller})


def test_a_continuous_run_lost_to_a_restart_is_started_again_at_once(
    tmp_path: Path, clock: ManualClock, procs: Processes
) -> None:
    first = restartable(tmp_path, clock, procs)
    job_id = job(first, continuous={})
    first.step(0)
    first.stop()  # the run is in flight: the restarted workspace ends it as lost
    back = make_workspace(tmp_path / "restarted", clock, procs)
    back.step(0)
    lost, again = runs(back, job_id)
    assert lost["state"]["life_cycle_state"] == "INTERNAL_ERROR"
    assert again["trigger"] == "CONTINUOUS"  # no backoff: the run did not fail, the server stopped
    back.stop()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"schedule": every_10s(), "continuous": {}}, "only one of schedule, trigger and continuous"),
        ({"schedule": {"quartz_cron_expression": "0 * * * *", "timezone_id": "UTC"}}, "Invalid quartz_cron_"),
        ({"schedule": {"quartz_cron_expression": "0 * * * * ?"}}, "schedule.timezone_id"),
        ({"schedule": {**every_10s(), "pause_status": "STOPPED"}}, "schedule.pause_status"),
        ({"trigger": {"periodic": {"interval": 1, "unit": "SECONDS"}}}, "trigger.periodic.unit"),
        ({"trigger": {"file_arrival": {"url": "s3://bucket/in/"}}}, "external locations are not built"),
        ({"trigger": {"file_arrival": {"url": f"{VOLUME}/../../x/y/"}}}, "without '.' or '..'"),
        (
            {"trigger": {"file_arrival": {"url": VOLUME, "wait_after_last_change_seconds": 30}}},
            "minimum allowed value is 60 seconds",
        ),
        ({"trigger": {"table_update": {"table_names": ["just_a_name"]}}}, "catalog_name.schema_name.table_name"),
        ({"trigger": {"periodic": {"interval": "often", "unit": "HOURS"}}}, "trigger.periodic.interval"),
        ({"trigger": {}}, "set exactly one of periodic, file_arrival or table_update"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(ws: Workspace, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        job(ws, **settings)


# -- table update (the scheduler alone: its table lister reads directories standing for tables' storage) ------


def table_scheduler(shared: Shared, tmp_path: Path, condition: str, **timings: int) -> tuple[Scheduler, list[str]]:
    tables = {name: tmp_path / name for name in ("main.s.a", "main.s.b")}
    for folder in tables.values():
        folder.mkdir()
        (folder / "part-0").write_text("v0")
    trigger = {"table_update": {"table_names": list(tables), "condition": condition, **timings}}
    jobs = {7: {"job_id": 7, "settings": check_settings({"trigger": trigger}, shared.now_ms())}}
    started: list[str] = []
    scheduler = Scheduler(
        shared,
        jobs=lambda: jobs,
        start_run=lambda job_id, trigger, token: started.append(trigger) or len(started),
        run_result=lambda run_id: "SUCCESS",
        cancel_run=lambda run_id: None,
        volume_path=lambda url: tmp_path / "none",
        table_location=lambda name: f"file:{tables[name]}",
        check_ms=1_000,
    )
    scheduler.start()
    return scheduler, started


def step(shared: Shared, scheduler: Scheduler, ms: int) -> None:
    assert isinstance(shared.clock, ManualClock)
    scheduler.tick(shared.clock.advance(ms))


def test_table_update_any_fires_once_per_update(shared: Shared, tmp_path: Path) -> None:
    scheduler, started = table_scheduler(shared, tmp_path, "ANY_UPDATED")
    step(shared, scheduler, 1_000)
    assert started == []  # the tables as the first check finds them do not fire
    (tmp_path / "main.s.a" / "part-1").write_text("v1")
    step(shared, scheduler, 1_000)
    assert started == ["TABLE"]
    step(shared, scheduler, 5_000)
    assert started == ["TABLE"]


def test_table_update_all_waits_for_every_table(shared: Shared, tmp_path: Path) -> None:
    scheduler, started = table_scheduler(shared, tmp_path, "ALL_UPDATED", wait_after_last_change_seconds=60)
    step(shared, scheduler, 1_000)  # the first check takes the tables as they are
    (tmp_path / "main.s.a" / "part-1").write_text("v1")
    step(shared, scheduler, 1_000)
    step(shared, scheduler, 120_000)
    assert started == []  # b has not changed yet
    (tmp_path / "main.s.b" / "part-1").write_text("v1")
    step(shared, scheduler, 1_000)
    step(shared, scheduler, 30_000)
    assert started == []  # not yet a minute without updates
    step(shared, scheduler, 30_000)
    assert started == ["TABLE"]
