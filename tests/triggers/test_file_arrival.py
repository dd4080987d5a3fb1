"""The file-arrival watcher (``DatabricksFileArrivalTrigger``): one event per new or updated file, none for stale.

The mark's rules run without HTTP; the trigger runs in an event loop against the session's local workspace,
as the triggerer runs it (re-created from ``serialize()``).  The real scheduler + triggerer test is in
``tests/test_file_arrival_deployment.py``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import time
import uuid
from typing import Any

import pytest
import requests
from airflow.sdk._shared.module_loading import import_string

from airbricks.triggers import DatabricksFileArrivalTrigger
from airbricks.utils.files import ArrivalMark


def _file(path: str, mtime: int | None, is_dir: bool = False) -> dict[str, Any]:
    return {"path": path, "size": 1, "modification_time": mtime, "is_dir": is_dir}


# ------------------------------------------------------------------ the mark (no HTTP)
def test_each_new_or_updated_file_is_new_once() -> None:
    mark = ArrivalMark()
    assert [f["path"] for f in mark.new_files([_file("/b", 20), _file("/a", 10)])] == ["/a", "/b"]  # oldest first
    mark = mark.after(_file("/a", 10)).after(_file("/b", 20))
    assert mark.new_files([_file("/a", 10), _file("/b", 20)]) == []  # the same files: nothing
    assert [f["path"] for f in mark.new_files([_file("/a", 30), _file("/b", 20)])] == ["/a"]  # /a updated


def test_a_file_landing_in_the_same_millisecond_under_another_name_is_new() -> None:
    mark = ArrivalMark().after(_file("/a", 10))
    assert [f["path"] for f in mark.new_files([_file("/a", 10), _file("/c", 10)])] == ["/c"]
    assert mark.after(_file("/c", 10)).new_files([_file("/a", 10), _file("/c", 10)]) == []


def test_newer_than_is_strict_and_directories_never_fire() -> None:
    mark = ArrivalMark(1000)
    assert mark.new_files([_file("/old", 999), _file("/at", 1000), _file("/dir", 2000, is_dir=True)]) == []
    assert [f["path"] for f in mark.new_files([_file("/new", 1001)])] == ["/new"]


def test_a_stored_mark_round_trips_and_the_later_mark_wins() -> None:
    stored = ArrivalMark(5000, frozenset({"/x"}))
    assert ArrivalMark.from_json(stored.to_json()) == stored
    assert ArrivalMark.from_json(None) is None and ArrivalMark.from_json({"modification_time": "x"}) is None
    assert ArrivalMark(1000).later_of(stored) == stored  # a stored mark past newer_than wins
    assert stored.later_of(ArrivalMark(9000)) == ArrivalMark(9000)  # newer_than moved past what was stored
    assert ArrivalMark(1000).later_of(None) == ArrivalMark(1000)


def test_a_bad_path_or_newer_than_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="absolute"):
        DatabricksFileArrivalTrigger("landing/_SUCCESS")
    with pytest.raises(ValueError, match="only in the last path segment"):
        DatabricksFileArrivalTrigger("/landing/*/_SUCCESS")
    with pytest.raises(ValueError, match="ISO-8601"):
        DatabricksFileArrivalTrigger("/landing/_SUCCESS", newer_than="{{ data_interval_start }}")


def test_serialize_is_stable_and_recreates_the_same_trigger() -> None:
    trigger = DatabricksFileArrivalTrigger(
        "dbfs:/landing/_SUCCESS*", newer_than=datetime.datetime(2026, 1, 2), poll_interval=5
    )
    classpath, kwargs = trigger.serialize()
    assert kwargs["newer_than"] == "2026-01-02T00:00:00+00:00"
    again = import_string(classpath)(**kwargs)
    assert again.serialize() == (classpath, kwargs) and again.newer_than_ms == trigger.newer_than_ms


# ------------------------------------------------------------------ the trigger against the local workspace
def _put(local_ws, path: str, content: bytes = b"ok") -> None:
    response = requests.post(
        f"{local_ws.url}/api/2.0/dbfs/put",
        timeout=10,
        headers={"Authorization": f"Bearer {local_ws.token}"},
        json={"path": path, "contents": base64.b64encode(content).decode(), "overwrite": True},
    )
    assert response.status_code == 200, response.text


class _Store:
    """Stands in for the asset state accessor Airflow 3.3+ gives a watcher (``aget``/``aset``)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


async def _events(trigger: DatabricksFileArrivalTrigger, seconds: float, on_start=None) -> list[dict[str, Any]]:
    """Run the trigger for ``seconds`` (calling ``on_start`` in a thread once it polls); its events' payloads."""
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.ensure_future(collect())
    if on_start is not None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(on_start)
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return events


def test_the_watcher_fires_once_per_new_or_updated_file_and_never_for_a_stale_one(local_ws) -> None:
    folder = f"/arrival/{uuid.uuid4().hex}"
    _put(local_ws, f"{folder}/_SUCCESS-stale")
    time.sleep(0.05)
    newer_than = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.05)
    store = _Store()
    trigger = DatabricksFileArrivalTrigger(f"dbfs:{folder}/_SUCCESS*", newer_than=newer_than, poll_interval=0.1)
    trigger.asset_state_store = store

    def land_two() -> None:
        _put(local_ws, f"{folder}/_SUCCESS-1")
        _put(local_ws, f"{folder}/_SUCCESS-2")

    first = asyncio.run(_events(trigger, 1.0, land_two))  # ~10 polls after the files landed
    assert [e["path"] for e in first] == [f"{folder}/_SUCCESS-1", f"{folder}/_SUCCESS-2"], first
    assert all(e["size"] == 2 and e["modification_time"] > newer_than.timestamp() * 1000 for e in first)
    assert first[0]["modified"].startswith(str(newer_than.date()))

    # A restarted triggerer (a new instance, same store) does not fire for them again; an update fires once.
    again = DatabricksFileArrivalTrigger(**trigger.serialize()[1])
    again.asset_state_store = store
    second = asyncio.run(_events(again, 1.0, lambda: _put(local_ws, f"{folder}/_SUCCESS-1", b"new!")))
    assert [(e["path"], e["size"]) for e in second] == [(f"{folder}/_SUCCESS-1", 4)], second


def test_the_watcher_keeps_watching_after_an_api_error(local_ws, capsys) -> None:
    # /Volumes/only_catalog is no Volume path: Databricks answers 400, not "not found", at every poll
    trigger = DatabricksFileArrivalTrigger("/Volumes/only_catalog/_SUCCESS", poll_interval=0.1)
    events = asyncio.run(_events(trigger, 0.5))
    assert events == []
    logged = capsys.readouterr()
    text = logged.out + logged.err  # Airflow's structlog writes the trigger's log lines to stdout
    assert text.count("Watching /Volumes/only_catalog/_SUCCESS: HEAD") >= 2, text  # it polled again after one
    assert "(HTTP 400)" in text and local_ws.token not in text
