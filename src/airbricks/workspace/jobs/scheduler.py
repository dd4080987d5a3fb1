"""Databricks' own job scheduler, inside the local workspace: cron schedules, periodic, file-arrival and
table-update triggers, and continuous jobs, driven by the workspace clock.

The workspace ticker calls :meth:`Scheduler.tick` every few milliseconds; the scheduler keeps each job's next
due time and does nothing until the earliest is reached, so a thousand scheduled jobs cost an idle server
one comparison a tick. Jobs tell it (:meth:`changed`) when a job is created, changed or deleted. Its memory of
each job (:class:`.trigger_state.TriggerState`) is in the store, written before a run starts, and a
schedule's run carries an idempotency token made of its fire time: a restart - even after ``kill -9`` -
neither fires a schedule twice nor forgets one missed while the server was down (that fires once, as on
Databricks). File-arrival and table-update triggers look at their files every ``check_ms`` (Databricks checks
about every minute; tests set a second).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.jobs import triggers
from airbricks.workspace.jobs.quartz import QuartzSchedule
from airbricks.workspace.jobs.trigger_state import TriggerState, fresh
from airbricks.workspace.shared import Shared

log = logging.getLogger("airbricks.workspace.jobs.scheduler")

#: How often a continuous job's run is looked at (its next run starts this soon after the last ends).
CONTINUOUS_POLL_MS = 1_000
#: The first wait after a continuous job's run failed; it doubles with each failure in a row, up to the cap.
BACKOFF_BASE_MS = 60_000
BACKOFF_CAP_MS = 3_600_000
#: Run results that end a continuous run well (anything else counts as a failure for the backoff).
GOOD_ENDINGS = ("SUCCESS", "SUCCESS_WITH_FAILURES", "CANCELED")
#: A schedule's run this late is a catch-up: the 10 s floor counts from when it started, not its fire time.
LATE_MS = 5_000
#: A continuous job's start SKIPPED because another run of it is active looks again this much later.
SKIPPED_WAIT_MS = 10_000
NEVER = 2**62


@dataclass(frozen=True)
class Observation:
    """What one check of a file-arrival or table-update trigger found, for the settings it was made for."""

    signature: str
    files: dict[str, list[int]]
    markers: dict[str, str | None]


StartRun = Callable[[int, str, "str | None"], "int | None"]
RunResult = Callable[[int], "str | None"]


def backoff_ms(failures: int) -> int:
    """How long a continuous job waits after ``failures`` failed runs in a row."""
    return 0 if failures <= 0 else min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_CAP_MS)


def _continuous_signature(settings: dict[str, Any]) -> str:
    """Every setting but the pause state: a continuous job restarts when any of them changes."""
    body = {k: v for k, v in settings.items() if k != "continuous"}
    return hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Scheduler:
    """Starts jobs' runs on their own.

    :param jobs: the jobs' documents by id (``job_id``, ``settings``), read under the workspace lock.
    :param start_run: ``(job_id, trigger, idempotency_token)`` -> the run started (None: the job is gone).
    :param run_result: a run's state: ``"ACTIVE"`` while it runs, its ``result_state`` once ended (None: gone).
    :param cancel_run: cancels a run (a continuous job's, on pause or restart).
    :param volume_path: the local directory of a ``/Volumes/...`` path (a file-arrival trigger's ``url``).
    :param table_location: a table's ``storage_location`` (None or an error: no such table, or the metastore is
        not running, so nothing can have changed it).
    :param check_ms: how often file-arrival and table-update triggers look for changes.
    """

    def __init__(
        self,
        shared: Shared,
        *,
        jobs: Callable[[], Mapping[int, dict[str, Any]]],
        start_run: StartRun,
        run_result: RunResult,
        cancel_run: Callable[[int], None],
        volume_path: Callable[[str], Path],
        table_location: Callable[[str], str | None],
        check_ms: int = 60_000,
    ) -> None:
        self.shared = shared
        self._jobs = jobs
        self._start_run = start_run
        self._run_result = run_result
        self._cancel_run = cancel_run
        self._volume_path = volume_path
        self._table_location = table_location
        self.check_ms = max(1, int(check_ms))
        self.states: dict[int, TriggerState] = {}
        self.due: dict[int, int] = {}
        self._next_due = NEVER
        self._started = False

    # -- what the workspace calls ----------------------------------------------------------------------------

    def start(self) -> None:
        """Read what the previous process remembered and plan every job (missed schedules fire on the first tick)."""
        with self.shared.lock:
            self.states = TriggerState.load_all(self.shared.store)
            for job_id, state in list(self.states.items()):
                if job_id not in self._jobs():
                    self._forget(job_id)
                elif state.run_id is not None and self._run_result(state.run_id) != "ACTIVE":
                    # A continuous run the previous process lost: not the job's failure, start again now.
                    state.run_id, state.next_start_ms = None, None
            self._started = True
            for job_id in list(self._jobs()):
                self._sync(job_id)

    def changed(self, job_id: int) -> None:
        """A job was created, changed or deleted: plan it again."""
        with self.shared.lock:
            if not self._started:
                return
            try:
                self._sync(job_id)
            except Exception:  # the job is saved: a scheduler bug must not turn its create or update into an error
                log.exception("the schedule or trigger of job %s could not be planned", job_id)

    def tick(self, now: int) -> None:
        if now < self._next_due:  # the idle path: one comparison
            return
        with self.shared.lock:
            ready = [job_id for job_id, due in sorted(self.due.items(), key=lambda item: item[1]) if due <= now]
            plans = {job_id: self._plan(job_id) for job_id in ready}
        for job_id in ready:
            plan = plans[job_id]
            try:
                # Files and tables are looked at outside the workspace lock: a large volume or a slow metastore
                # must not hold up the API.
                seen = self._observe(plan) if plan is not None and not plan.paused else None
                with self.shared.lock:
                    self._act(job_id, now, seen)
            except Exception:  # one job's trigger must not stop the others
                log.exception("the trigger of job %s failed", job_id)
                with self.shared.lock:
                    self._reschedule(job_id, now + self.check_ms)
        with self.shared.lock:
            self._next_due = min(self.due.values(), default=NEVER)

    def next_run_ms(self, job_id: int) -> int | None:
        """When the job's schedule or periodic trigger fires next (None: paused, or not time-driven)."""
        with self.shared.lock:
            state, plan = self.states.get(job_id), self._plan(job_id)
            if state is None or plan is None or plan.paused or plan.kind not in ("schedule", "periodic"):
                return None
            return self.due.get(job_id)

    # -- planning --------------------------------------------------------------------------------------------

    def _plan(self, job_id: int) -> triggers.Plan | None:
        job = self._jobs().get(job_id)
        return None if job is None else triggers.plan_of(job["settings"])

    def _signature(self, job_id: int, plan: triggers.Plan) -> str:
        if plan.kind == "continuous":
            return _continuous_signature(self._jobs()[job_id]["settings"])
        return plan.signature

    def _forget(self, job_id: int) -> None:
        self.states.pop(job_id, None)
        self.due.pop(job_id, None)
        TriggerState.forget(self.shared.store, job_id)

    def _sync(self, job_id: int) -> None:
        """Bring the job's state in line with its settings; set when it is next due."""
        plan, now = self._plan(job_id), self.shared.now_ms()
        state = self.states.get(job_id)
        if plan is None:
            if state is not None and state.run_id is not None:
                self._cancel_run(state.run_id)
            self._forget(job_id)
            self._reschedule(job_id, None)
            return
        signature = self._signature(job_id, plan)
        if state is None or state.signature != signature and plan.kind != "continuous":
            state = self._arm(plan, signature, now)
        elif plan.kind == "continuous":
            self._continuous_settings(state, plan, signature)
        elif state.paused and not plan.paused:  # resumed: what fell due while paused is not made up
            state = self._arm(plan, signature, now)
        state.paused = plan.paused
        self.states[job_id] = state
        state.save(self.shared.store, job_id)
        self._reschedule(job_id, None if plan.paused else self._due(job_id, plan, state, now))

    def _arm(self, plan: triggers.Plan, signature: str, now: int) -> TriggerState:
        """A fresh state: schedules count from now; file and table triggers take what exists as seen."""
        state = fresh(signature, plan.paused, now)
        if plan.kind == "file_arrival":
            try:
                state.seen = triggers.snapshot(self._volume_path(plan.config["url"]))
            except DatabricksError:  # a path the volumes refuse: nothing seen, nothing will arrive
                state.seen = {}
        elif plan.kind == "table_update":
            state.baseline = False  # taken by the first check, outside the workspace lock
        return state

    def _continuous_settings(self, state: TriggerState, plan: triggers.Plan, signature: str) -> None:
        """A continuous job's run is cancelled when it is paused, and restarted when its settings change."""
        active = state.run_id is not None and self._run_result(state.run_id) == "ACTIVE"
        if active and (plan.paused or state.signature != signature):
            assert state.run_id is not None
            self._cancel_run(state.run_id)
            state.restart = not plan.paused
            state.failures = 0
        state.signature = signature

    def _reschedule(self, job_id: int, due: int | None) -> None:
        if due is None:
            self.due.pop(job_id, None)
        else:
            self.due[job_id] = due
        self._next_due = min(self.due.values(), default=NEVER)

    def _due(self, job_id: int, plan: triggers.Plan, state: TriggerState, now: int) -> int | None:
        if plan.kind == "schedule":
            cron = QuartzSchedule(plan.config["quartz_cron_expression"], plan.config["timezone_id"])
            return cron.next_fire(state.cursor_ms, state.last_fire_ms)
        if plan.kind == "periodic":
            return (state.last_fire_ms or state.cursor_ms) + triggers.interval_ms(plan.config)
        if plan.kind == "continuous":
            return now
        return now + self.check_ms

    # -- acting ----------------------------------------------------------------------------------------------

    def _observe(self, plan: triggers.Plan) -> Observation | None:
        """What a file-arrival or table-update trigger looks at (None for the other kinds)."""
        if plan.kind == "file_arrival":
            return Observation(plan.signature, triggers.snapshot(self._volume_path(plan.config["url"])), {})
        if plan.kind == "table_update":
            return Observation(plan.signature, {}, {t: self._marker(t) for t in plan.config["table_names"]})
        return None

    def _act(self, job_id: int, now: int, seen: Observation | None) -> None:
        plan, state = self._plan(job_id), self.states.get(job_id)
        if plan is None or state is None or plan.paused:
            self._reschedule(job_id, None)
            return
        if job_id not in self.due or self.due[job_id] > now:
            return  # re-planned while its files or tables were looked at
        if plan.kind in ("schedule", "periodic"):
            self._fire_time(job_id, plan, state, now)
        elif plan.kind == "continuous":
            self._keep_running(job_id, state, now)
        elif seen is not None and seen.signature == plan.signature:
            self._check_changes(job_id, plan, state, now, seen)

    def _fire_time(self, job_id: int, plan: triggers.Plan, state: TriggerState, now: int) -> None:
        """A schedule's (or periodic trigger's) fire time has come: one run, then the next fire time after now
        (fire times missed while the server was down are not made up one by one)."""
        due = self.due[job_id]
        if plan.kind == "periodic":
            step = triggers.interval_ms(plan.config)
            state.last_fire_ms = due + (now - due) // step * step
        else:
            # The 10 s floor counts from the fire time, or from when a catch-up run really started (a tick a
            # little late must not push the next fire time past its mark).
            state.last_fire_ms = now if now - due > LATE_MS else due
        state.cursor_ms = max(due, now)
        self._start_run(job_id, "PERIODIC", f"airbricks-schedule-{job_id}-{due}")
        state.save(self.shared.store, job_id)
        self._reschedule(job_id, self._due(job_id, plan, state, now))

    def _check_changes(
        self, job_id: int, plan: triggers.Plan, state: TriggerState, now: int, seen: Observation
    ) -> None:
        """A file-arrival or table-update trigger's check: note changes, fire once their batch has settled."""
        if plan.kind == "file_arrival":
            changes = bool(triggers.changed_files(state.seen, seen.files))
            dirty = changes or seen.files.keys() != state.seen.keys()
            state.seen = seen.files
        else:
            # None: the table cannot be looked at now (no metastore running): its last marker stands.
            markers = {t: m if m is not None else state.markers.get(t) for t, m in seen.markers.items()}
            touched = [t for t in markers if state.baseline and markers[t] != state.markers.get(t)]
            changes, dirty = bool(touched), markers != state.markers or not state.baseline
            state.markers, state.baseline = markers, True
            state.updated = sorted(set(state.updated) | set(touched))
        if changes:
            state.last_change_ms = now
            state.pending_since_ms = state.pending_since_ms or now
        if self._ready(plan, state, now):
            trigger = "FILE_ARRIVAL" if plan.kind == "file_arrival" else "TABLE"
            token = f"airbricks-{plan.kind}-{job_id}-{state.pending_since_ms}"
            state.pending_since_ms = None
            state.updated = []
            state.last_fire_ms = now
            state.save(self.shared.store, job_id)
            self._start_run(job_id, trigger, token)
        elif dirty or changes:
            state.save(self.shared.store, job_id)
        self._reschedule(job_id, now + self.check_ms)

    @staticmethod
    def _ready(plan: triggers.Plan, state: TriggerState, now: int) -> bool:
        """Whether pending changes start a run now (``wait_after_last_change_seconds``,
        ``min_time_between_triggers_seconds``, and a table trigger's ``condition``)."""
        if state.pending_since_ms is None:
            return False
        config = plan.config
        if plan.kind == "table_update" and config.get("condition") == "ALL_UPDATED":
            if set(state.updated) != set(config["table_names"]):
                return False
        wait = config.get("wait_after_last_change_seconds")
        if wait and state.last_change_ms is not None and now - state.last_change_ms < wait * 1000:
            return False
        gap = config.get("min_time_between_triggers_seconds")
        return not (gap and state.last_fire_ms is not None and now - state.last_fire_ms < gap * 1000)

    def _keep_running(self, job_id: int, state: TriggerState, now: int) -> None:
        """A continuous job: one active run; the next starts soon after it ends, later after failures."""
        result = self._run_result(state.run_id) if state.run_id is not None else None
        if result == "ACTIVE":
            self._reschedule(job_id, now + CONTINUOUS_POLL_MS)
            return
        if state.run_id is not None:  # the run ended since the last look
            if result == "SKIPPED":  # another run of the job (a run-now) holds its slot: that one counts
                wait = SKIPPED_WAIT_MS
            else:
                state.failures = 0 if result in GOOD_ENDINGS or state.restart else state.failures + 1
                wait = backoff_ms(state.failures)
            state.next_start_ms, state.run_id = now + wait, None
        start_at = state.next_start_ms or now
        if now < start_at:
            state.save(self.shared.store, job_id)
            self._reschedule(job_id, start_at)
            return
        trigger = "CONTINUOUS_RESTART" if state.restart else "CONTINUOUS"
        state.run_id, state.restart = self._start_run(job_id, trigger, None), False
        state.last_fire_ms = now
        state.save(self.shared.store, job_id)
        self._reschedule(job_id, now + CONTINUOUS_POLL_MS)

    def _marker(self, table: str) -> str | None:
        try:
            return triggers.storage_marker(self._table_location(table))
        except DatabricksError:  # no such table (yet), or no metastore running
            return None
