"""How a job is started without a client: ``schedule``, ``trigger`` (periodic, file arrival, table update) and
``continuous`` settings, validated as the Jobs service validates them, and what the scheduler reads of them.

Pure functions of settings and of files on disk (no clock of their own), so the rules are unit-tested
directly; :mod:`.scheduler` acts on them with the workspace clock.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs.quartz import QuartzSchedule
from airbricks.workspace.params import to_int

PAUSE_STATES = ("PAUSED", "UNPAUSED")
CONDITIONS = ("ANY_UPDATED", "ALL_UPDATED")
#: ``trigger.periodic.unit`` in milliseconds.
UNIT_MS = {"MINUTES": 60_000, "HOURS": 3_600_000, "DAYS": 86_400_000, "WEEKS": 7 * 86_400_000}
#: Databricks' minimum of ``min_time_between_triggers_seconds`` and ``wait_after_last_change_seconds``.
MIN_TRIGGER_SECONDS = 60
TIMINGS = ("min_time_between_triggers_seconds", "wait_after_last_change_seconds")


@dataclass(frozen=True)
class Plan:
    """What starts a job's runs: ``kind`` is ``schedule``, ``periodic``, ``file_arrival``, ``table_update`` or
    ``continuous``; ``signature`` changes whenever the settings that drive it do."""

    kind: str
    paused: bool
    config: dict[str, Any]
    signature: str


def _pause(block: dict[str, Any], field: str) -> None:
    status = block.setdefault("pause_status", "UNPAUSED")
    if status not in PAUSE_STATES:
        raise InvalidParameterValue(f"Invalid value for field '{field}.pause_status': use PAUSED or UNPAUSED.")


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParameterValue(f"Invalid value for field '{field}': expected an object.")
    return dict(value)


def _number(value: Any, field: str) -> int:
    """An integer field; the provider's operators send numbers as strings ("60"), the service stores numbers."""
    if isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid value for field '{field}': expected an integer, got {value!r}")
    return to_int(value, field)


def _timings(block: dict[str, Any], field: str) -> None:
    for name in TIMINGS:
        if block.get(name) is None:
            continue
        block[name] = _number(block[name], f"{field}.{name}")
        if block[name] < MIN_TRIGGER_SECONDS:
            raise InvalidParameterValue(
                f"Invalid value for field '{field}.{name}': the minimum allowed value is {MIN_TRIGGER_SECONDS} seconds."
            )


def _schedule(value: Any, now_ms: int) -> dict[str, Any]:
    schedule = _object(value, "schedule")
    for name in ("quartz_cron_expression", "timezone_id"):
        if not schedule.get(name):
            raise InvalidParameterValue(f"Missing required field: schedule.{name}")
    QuartzSchedule(schedule["quartz_cron_expression"], schedule["timezone_id"]).check_fires(now_ms)
    _pause(schedule, "schedule")
    return schedule


def _file_arrival(value: Any) -> dict[str, Any]:
    block = _object(value, "trigger.file_arrival")
    url = block.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidParameterValue("Missing required field: trigger.file_arrival.url")
    if not url.startswith("/Volumes/"):
        raise InvalidParameterValue(
            f"Invalid value for field 'trigger.file_arrival.url': {url}. The local workspace watches Unity Catalog "
            "volumes only (/Volumes/<catalog>/<schema>/<volume>/...); external locations are not built."
        )
    if any(part in (".", "..") for part in url.split("/")):
        raise InvalidParameterValue(
            f"Invalid value for field 'trigger.file_arrival.url': {url}. Use a path without '.' or '..'."
        )
    if len([p for p in url.split("/") if p]) < 4:
        raise InvalidParameterValue(
            f"Invalid value for field 'trigger.file_arrival.url': {url}. "
            "Name a volume: /Volumes/<catalog>/<schema>/<volume>/"
        )
    _timings(block, "trigger.file_arrival")
    return block


def _table_update(value: Any) -> dict[str, Any]:
    block = _object(value, "trigger.table_update")
    names = block.get("table_names")
    if not isinstance(names, list) or not names:
        raise InvalidParameterValue("Missing required field: trigger.table_update.table_names")
    for name in names:
        if not isinstance(name, str) or len(name.split(".")) != 3 or not all(name.split(".")):
            raise InvalidParameterValue(
                f"Invalid value for field 'trigger.table_update.table_names': {name!r}. "
                "Use the format catalog_name.schema_name.table_name."
            )
    block.setdefault("condition", "ANY_UPDATED")
    if block["condition"] not in CONDITIONS:
        raise InvalidParameterValue(
            "Invalid value for field 'trigger.table_update.condition': use ANY_UPDATED or ALL_UPDATED."
        )
    _timings(block, "trigger.table_update")
    return block


def _periodic(value: Any) -> dict[str, Any]:
    block = _object(value, "trigger.periodic")
    if block.get("interval") is None:
        raise InvalidParameterValue("Missing required field: trigger.periodic.interval")
    interval, unit = _number(block["interval"], "trigger.periodic.interval"), block.get("unit")
    if interval < 1:
        raise InvalidParameterValue("Invalid value for field 'trigger.periodic.interval': a positive integer.")
    block["interval"] = interval
    if unit not in UNIT_MS:
        raise InvalidParameterValue(
            f"Invalid value for field 'trigger.periodic.unit': use one of {', '.join(UNIT_MS)}."
        )
    return block


def _trigger(value: Any) -> dict[str, Any]:
    trigger = _object(value, "trigger")
    kinds = [k for k in ("periodic", "file_arrival", "table_update", "model") if trigger.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidParameterValue(
            "Invalid value for field 'trigger': set exactly one of periodic, file_arrival or table_update."
        )
    kind = kinds[0]
    if kind == "model":
        raise InvalidParameterValue("Model triggers are not available in the local workspace.")
    trigger[kind] = {"periodic": _periodic, "file_arrival": _file_arrival, "table_update": _table_update}[kind](
        trigger[kind]
    )
    _pause(trigger, "trigger")
    return trigger


def check_settings(settings: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """``settings`` with its schedule, trigger or continuous block validated and ``pause_status`` filled in."""
    out = dict(settings)
    present = [k for k in ("schedule", "trigger", "continuous") if out.get(k) is not None]
    if len(present) > 1:
        raise InvalidParameterValue(
            f"A job can have only one of schedule, trigger and continuous; this one sets {' and '.join(present)}."
        )
    if out.get("schedule") is not None:
        out["schedule"] = _schedule(out["schedule"], now_ms)
    if out.get("trigger") is not None:
        out["trigger"] = _trigger(out["trigger"])
    if out.get("continuous") is not None:
        continuous = _object(out["continuous"], "continuous")
        _pause(continuous, "continuous")
        out["continuous"] = continuous
    return out


def plan_of(settings: dict[str, Any]) -> Plan | None:
    """What starts the job on its own (None: only clients do)."""
    for key in ("schedule", "continuous"):
        block = settings.get(key)
        if isinstance(block, dict):
            return Plan(key, block.get("pause_status") == "PAUSED", block, _signature(key, block))
    trigger = settings.get("trigger")
    if isinstance(trigger, dict):
        for kind in ("periodic", "file_arrival", "table_update"):
            block = trigger.get(kind)
            if isinstance(block, dict):
                return Plan(kind, trigger.get("pause_status") == "PAUSED", block, _signature(kind, block))
    return None


def _signature(kind: str, block: dict[str, Any]) -> str:
    fields = sorted((k, str(v)) for k, v in block.items() if k != "pause_status")
    return hashlib.sha1(f"{kind}:{fields}".encode()).hexdigest()[:16]


def interval_ms(periodic: dict[str, Any]) -> int:
    return int(periodic["interval"]) * UNIT_MS[periodic["unit"]]


def snapshot(root: Path) -> dict[str, list[int]]:
    """Every file under ``root``, recursively: relative path -> [mtime in ns, size] (a missing root: none)."""
    found: dict[str, list[int]] = {}
    if not root.is_dir():
        return found
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            try:
                stat = path.stat()
            except OSError:  # removed while listed
                continue
            found[str(path.relative_to(root))] = [stat.st_mtime_ns, stat.st_size]
    return found


def changed_files(seen: dict[str, list[int]], now: dict[str, list[int]]) -> list[str]:
    """Files new since ``seen``, or changed (modification time or size)."""
    return sorted(path for path, stat in now.items() if seen.get(path) != stat)


def storage_marker(location: str | None) -> str | None:
    """A token that changes whenever a table's files do (None: no such table, or no local storage)."""
    if not location:
        return None
    path = Path(location.removeprefix("file:"))
    files = snapshot(path)
    if not files and not path.exists():
        return None
    return hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()


@dataclass(frozen=True)
class Summary:
    """What the UI's job page shows of a job's schedule or trigger."""

    kind: str
    detail: str
    paused: bool
    next_run_ms: int | None


def summary(settings: dict[str, Any], next_run_ms: int | None) -> Summary | None:
    """The schedule or trigger in words (None: the job only runs when a client asks)."""
    plan = plan_of(settings)
    if plan is None:
        return None
    config = plan.config
    detail = {
        "schedule": lambda: f"{config.get('quartz_cron_expression')} ({config.get('timezone_id')})",
        "periodic": lambda: f"every {config.get('interval')} {str(config.get('unit')).lower()}",
        "file_arrival": lambda: f"new files under {config.get('url')}",
        "table_update": lambda: f"{config.get('condition')} of {', '.join(config.get('table_names') or [])}",
        "continuous": lambda: "one run always active",
    }[plan.kind]()
    kind = {
        "schedule": "Scheduled",
        "periodic": "Periodic",
        "file_arrival": "File arrival",
        "table_update": "Table update",
        "continuous": "Continuous",
    }[plan.kind]
    return Summary(kind, detail, plan.paused, None if plan.paused else next_run_ms)
