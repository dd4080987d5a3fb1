"""The file-arrival example DAG under a real Airflow deployment: scheduler, triggerer, dag-processor, api-server.

One deployment for the module (a start costs a minute).  The example DAG (``example_file_arrival.py``) runs with
its landing path, ``newer_than`` and poll interval set for the test: a marker older than ``newer_than`` is
there first and must start nothing; a new marker must start the DAG within one poll interval, with the file
in the asset event's extra and in the run; the same file must not start it again; an update starts it once more.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _deployment import AirflowDeployment

import airbricks.example_dags.example_file_arrival as example
from waiting import wait_for as _wait

DAG_ID = "airbricks_file_arrival"
POLL = 4.0
#: What the triggerer and scheduler add after the poll that sees the file: the triggerer hands the event
#: over and the scheduler's next loop (heartbeat 2 s here) creates the run; on a loaded 2-core machine.
HANDOVER = 6.0


def _example_source(landing: str, newer_than: str) -> str:
    source = Path(example.__file__).read_text()
    for name, value in (("LANDING", repr(landing)), ("NEWER_THAN", repr(newer_than)), ("POLL_SECONDS", repr(POLL))):
        source, n = re.subn(rf"^{name} = .*$", f"{name} = {value}", source, count=1, flags=re.MULTILINE)
        assert n == 1, f"the example DAG no longer sets {name} on one line"
    return source


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, request) -> Any:
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("AIRFLOW")]}
    dep = AirflowDeployment(tmp_path_factory.mktemp("arrival"), {}, [], parallelism=2)
    request.addfinalizer(lambda: os.environ.update(saved))
    try:
        dep.start()
        yield dep
    finally:
        dep.stop()


def _put(dep: AirflowDeployment, path: str, content: bytes) -> float:
    dep.ws(
        "POST",
        "/api/2.0/dbfs/put",
        json={"path": path, "contents": base64.b64encode(content).decode(), "overwrite": True},
    )
    return time.time()


def _runs(dep: AirflowDeployment) -> list[tuple[str, str, str]]:
    return dep.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = ? ORDER BY id", DAG_ID)


def _asset_events(dep: AirflowDeployment) -> list[tuple[dict[str, Any], datetime.datetime]]:
    rows = dep.query(
        "SELECT e.extra, e.timestamp FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "WHERE a.name = ? ORDER BY e.id",
        example.landed_orders.name,
    )
    return [
        (json.loads(extra), datetime.datetime.fromisoformat(ts).replace(tzinfo=datetime.timezone.utc))
        for extra, ts in rows
    ]


def _created(dep: AirflowDeployment, run_id: str) -> float:
    ((queued,),) = dep.query("SELECT queued_at FROM dag_run WHERE dag_id = ? AND run_id = ?", DAG_ID, run_id)
    return datetime.datetime.fromisoformat(queued).replace(tzinfo=datetime.timezone.utc).timestamp()


def _returned(dep: AirflowDeployment, run_id: str) -> Any:
    ((value,),) = dep.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'landed_files' AND key = 'return_value'",
        DAG_ID,
        run_id,
    )
    return json.loads(value)


@pytest.mark.timeout(600)
def test_a_landing_file_starts_the_dag_once_within_a_poll_interval_and_a_stale_one_never(deployment) -> None:
    dep = deployment
    folder = f"/landing/{uuid.uuid4().hex}"
    _put(dep, f"{folder}/_SUCCESS-yesterday", b"old")
    time.sleep(0.05)
    newer_than = datetime.datetime.now(datetime.timezone.utc).isoformat()
    (dep.dags / "example_file_arrival.py").write_text(_example_source(f"dbfs:{folder}/_SUCCESS*", newer_than))
    dep.dag_ids = {DAG_ID}
    _wait("the example DAG parsed and unpaused", dep._dags_parsed, 120)
    watching = f"Watching {folder}/_SUCCESS* every {POLL:g}s for files modified after"
    _wait("the watcher running in the triggerer", lambda: watching in (dep.root / "triggerer.log").read_text(), 180)

    time.sleep(3 * POLL)  # the watcher has polled the stale marker several times
    assert _asset_events(dep) == [] and _runs(dep) == [], "a marker older than newer_than started the DAG"

    landed = _put(dep, f"{folder}/_SUCCESS", b"done")
    ((run_id, run_type, _),) = _wait("a run started by the new marker", lambda: _runs(dep), POLL + HANDOVER + 30)
    started_after = _created(dep, run_id) - landed
    ((extra, event_at),) = _asset_events(dep)
    event_after = event_at.timestamp() - landed
    print(f"file landed -> asset event {event_after:.2f} s, -> DAG run queued {started_after:.2f} s (poll {POLL} s)")
    assert run_type == "asset_triggered"
    # within one poll, plus the triggerer's hand-over to the DB (< 3 s here); a missed poll would be >= 2 x POLL
    assert event_after <= POLL + 3.0, f"the asset event came {event_after:.1f} s after the file (poll {POLL} s)"
    assert started_after <= POLL + HANDOVER, f"the run started {started_after:.1f} s after the file"
    payload = extra["payload"]
    assert extra["from_trigger"] is True
    assert (payload["path"], payload["size"]) == (f"{folder}/_SUCCESS", 4)
    assert payload["modification_time"] >= int(landed * 1000) - 1000 and payload["modified"].endswith("+00:00")

    assert dep.wait_run(DAG_ID, run_id, timeout=120) == "success"
    (returned,) = _returned(dep, run_id)
    assert (returned["path"], returned["folder"]) == (payload["path"], folder)

    time.sleep(3 * POLL)  # the same file, polled again and again: no new event, no new run
    assert len(_asset_events(dep)) == 1 and len(_runs(dep)) == 1, (_asset_events(dep), _runs(dep))
    ((stored,),) = dep.query(
        "SELECT s.value FROM asset_state_store s JOIN asset a ON a.id = s.asset_id WHERE a.name = ?",
        example.landed_orders.name,
    )
    assert json.loads(stored)["paths"] == [f"{folder}/_SUCCESS"]  # a restarted triggerer starts from there

    _put(dep, f"{folder}/_SUCCESS", b"done again")  # the marker rewritten: one more run
    _wait("a second run for the updated marker", lambda: len(_runs(dep)) == 2, POLL + HANDOVER + 30)
    time.sleep(2 * POLL)
    assert len(_asset_events(dep)) == 2 and len(_runs(dep)) == 2, (_asset_events(dep), _runs(dep))
    assert _asset_events(dep)[1][0]["payload"]["size"] == 10
