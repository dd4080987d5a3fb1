"""Task values as a notebook sees them, and dynamic value references resolved against a run (pure objects)."""

from __future__ import annotations

import pytest

from airbricks.workspace.jobs.references import References
from airbricks.workspace.jobs.run import Phase, Run, TaskRun
from airbricks.workspace.kernel.job import TaskValues

# 2026-12-02T06:30:00Z, a Wednesday
START_MS = 1_796_193_000_000


def test_task_values_in_a_job_read_upstream_values_and_defaults() -> None:
    values = TaskValues({"prep": {"n": 3, "rows": [1, 2]}}, in_job=True)
    assert values.get("prep", "n") == 3 and values.get(taskKey="prep", key="rows") == [1, 2]
    assert values.get("prep", "missing", default=0) == 0
    with pytest.raises(ValueError, match="No task value found for key 'missing' of task 'prep'"):
        values.get("prep", "missing")
    values.set("flag", True)
    assert values.values == {"flag": True}
    with pytest.raises(TypeError, match="JSON serializable"):
        values.set("bad", object())
    with pytest.raises(ValueError, match="larger than 48 KiB"):
        values.set("big", "x" * 50_000)


def test_task_values_outside_a_job_need_a_debug_value() -> None:
    values = TaskValues({}, in_job=False)
    assert values.get("prep", "n", default=1, debugValue=42) == 42
    with pytest.raises(TypeError, match="Must pass debugValue when calling get outside of a job context"):
        values.get("prep", "n", default=1)


def _run() -> tuple[Run, TaskRun]:
    prep = TaskRun(
        run_id=11,
        settings={"task_key": "prep"},
        page_url="",
        phase=Phase.DONE,
        output={"status": "SUCCESS", "task_values": {"items": ["a", "b"], "name": "x"}},
    )
    prep.state.result_state = "SUCCESS"
    task = TaskRun(run_id=12, settings={"task_key": "use"}, page_url="", attempt_number=1)
    run = Run(
        run_id=10,
        job_id=7,
        run_name="nightly",
        run_type="JOB_RUN",
        creator_user_name="me",
        page_url="",
        tasks=[prep, task],
        job_parameters=[{"name": "day", "value": "2026-12-02"}],
    )
    run.timing.start_time = START_MS
    return run, task


def test_references_resolve_job_task_and_time_values() -> None:
    run, task = _run()
    refs = References(run, task, workspace_id=123, workspace_url="http://ws")
    text = refs.text(
        "{{job.id}}/{{job.run_id}}/{{task.name}}/{{task.run_id}}/{{task.execution_count}}/"
        "{{job.parameters.day}}/{{ job.start_time.iso_date }}/{{job.start_time.day_of_week}}/"
        "{{job.start_time.is_weekday}}/{{workspace.id}}"
    )
    assert text == "7/10/use/12/2/2026-12-02/2026-12-02/3/true/123"
    assert (
        refs.text("{{tasks.prep.values.items}} {{tasks.prep.values.name}} {{tasks.prep.result_state}}")
        == '["a", "b"] x success'
    )
    assert refs.text("{{tasks.prep.values.nope}} {{no.such}}") == "{{tasks.prep.values.nope}} {{no.such}}"
    assert refs.deep({"a": ["{{job.name}}"], "n": 1}) == {"a": ["nightly"], "n": 1}
    assert refs.text("{{job.trigger.type}}") == "ONE_TIME"
    run.trigger = "RUN_JOB_TASK"
    assert refs.text("{{job.trigger.type}}") == "RUN_JOB_TASK"


def test_the_for_each_input_and_its_fields() -> None:
    run, task = _run()
    refs = References(run, task, workspace_id=1, workspace_url="", item={"city": "Oslo", "n": 2}, has_item=True)
    assert refs.text("{{input}}") == '{"city": "Oslo", "n": 2}'
    assert refs.text("{{input.city}}-{{input.n}}") == "Oslo-2"


def test_run_pages_carry_every_paged_array_until_the_longest_ends() -> None:
    from airbricks.workspace.jobs.paging import run_page

    view = {"run_id": 1, "tasks": [{"task_key": "loop"}], "iterations": [{"n": i} for i in range(230)]}
    assert run_page({"run_id": 1, "tasks": [{}] * 100}, 0) == {"run_id": 1, "tasks": [{}] * 100}
    pages = [run_page(view, offset) for offset in (0, 100, 200)]
    assert [len(p["iterations"]) for p in pages] == [100, 100, 30]
    assert [p.get("next_page_token") for p in pages] == ["100", "200", None]
    assert pages[0]["tasks"] == [{"task_key": "loop"}] and pages[1]["tasks"] == [] and pages[1]["job_clusters"] == []
