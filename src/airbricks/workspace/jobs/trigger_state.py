"""What the scheduler remembers of one job between ticks and across restarts (one store document per job).

Kept apart from :mod:`.scheduler` so the record and its store form are read in one place: a restart,
even after ``kill -9``, finds the last fire time of every schedule, the files a file-arrival trigger has
already seen and a continuous job's failures, and so neither fires twice nor forgets what was missed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from airbricks.workspace.store import Store

KIND = "job_trigger"


@dataclass
class TriggerState:
    """The scheduler's memory of one job's schedule, trigger or continuous settings."""

    #: The settings it was made for (:attr:`.triggers.Plan.signature`): a change starts afresh.
    signature: str
    paused: bool
    #: Schedules: every fire time up to here is done (fired, skipped while paused, or caught up once).
    cursor_ms: int
    #: When the trigger last started a run (schedules: the fire time), None before the first.
    last_fire_ms: int | None = None
    #: File arrival: every file seen, relative path -> [mtime ns, size].
    seen: dict[str, list[int]] = field(default_factory=dict)
    #: Table update: each table's change marker at the last check (None: not found).
    markers: dict[str, str | None] = field(default_factory=dict)
    #: Table update: the tables updated since the trigger last fired.
    updated: list[str] = field(default_factory=list)
    #: Table update: False until the first check has taken the tables' markers as they were (the metastore is
    #: not called when the trigger is set, under the workspace lock).
    baseline: bool = True
    #: File arrival / table update: when the changes not yet answered by a run began, and the latest one.
    pending_since_ms: int | None = None
    last_change_ms: int | None = None
    #: Continuous: the run it keeps alive, the failures in a row, and whether the next start is a restart.
    run_id: int | None = None
    failures: int = 0
    restart: bool = False
    #: Continuous: when the next run may start (the last one's end plus the backoff); None: at once.
    next_start_ms: int | None = None

    def save(self, store: Store, job_id: int) -> None:
        store.put(KIND, job_id, asdict(self))

    @classmethod
    def load_all(cls, store: Store) -> dict[int, TriggerState]:
        states = {}
        for ident, doc in store.load(KIND):
            try:
                states[int(ident)] = cls(**doc)
            except TypeError:  # a document from an incompatible version: that job starts afresh
                continue
        return states

    @staticmethod
    def forget(store: Store, job_id: int) -> None:
        store.delete(KIND, job_id)


def fresh(signature: str, paused: bool, now_ms: int, **extra: Any) -> TriggerState:
    return TriggerState(signature=signature, paused=paused, cursor_ms=now_ms, **extra)
