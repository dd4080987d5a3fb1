"""DatabricksFileSensor: DBFS and Volume paths, globs, freshness, poke/reschedule/deferrable, real HTTP."""

from __future__ import annotations

import datetime
import io
import logging
import threading
import time

import pytest


def _dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)


def _later(delay: float, fn) -> threading.Thread:
    def run():
        time.sleep(delay)
        fn()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _sensor_dag(dag_id: str, sink: dict, **sensor_kwargs):
    from airflow.sdk import task

    from airbricks.sensors.files import DatabricksFileSensor

    with _dag(dag_id) as dag:
        sensor = DatabricksFileSensor(task_id="wait", **{"poke_interval": 0.2, "timeout": 30, **sensor_kwargs})

        @task
        def record(value):
            sink["found"] = value

        record(sensor.output)
    return dag


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_dbfs_file_missing_then_arrives(run_dag, dag_id, sink, sdk, ti_states, mode):
    path = f"/landing/{dag_id}/_SUCCESS"
    writer = _later(1.0, lambda: sdk.dbfs.upload(path, io.BytesIO(b"done"), overwrite=True))
    dr = run_dag(_sensor_dag(dag_id, sink, path=f"dbfs:{path}", mode=mode))
    writer.join()
    assert ti_states(dr) == {"wait": "success", "record": "success"}
    assert sink["found"]["path"] == path
    assert sink["found"]["size"] == 4
    assert sink["found"]["modification_time"] > 0


def test_glob_matches_newest_file_in_dbfs(run_dag, dag_id, sink, sdk, ti_states):
    sdk.dbfs.upload(f"/landing/{dag_id}/other.txt", io.BytesIO(b"x"), overwrite=True)
    writer = _later(
        0.8, lambda: sdk.dbfs.upload(f"/landing/{dag_id}/part-0001.csv", io.BytesIO(b"a,b\n"), overwrite=True)
    )
    dr = run_dag(_sensor_dag(dag_id, sink, path=f"/landing/{dag_id}/part-*.csv"))
    writer.join()
    assert ti_states(dr)["wait"] == "success"
    assert sink["found"]["path"] == f"/landing/{dag_id}/part-0001.csv"


def test_stale_file_does_not_fire_until_rewritten(run_dag, dag_id, sink, sdk, ti_states):
    path = f"/landing/{dag_id}/_SUCCESS"
    sdk.dbfs.upload(path, io.BytesIO(b"old"), overwrite=True)
    stale_mtime = sdk.dbfs.get_status(path).modification_time
    time.sleep(0.05)
    cutoff = datetime.datetime.now(datetime.timezone.utc)
    writer = _later(1.0, lambda: sdk.dbfs.upload(path, io.BytesIO(b"fresh!"), overwrite=True))
    dr = run_dag(_sensor_dag(dag_id, sink, path=path, newer_than=cutoff.isoformat()))
    writer.join()
    assert ti_states(dr)["wait"] == "success"
    assert sink["found"]["modification_time"] > stale_mtime
    assert sink["found"]["modification_time"] > cutoff.timestamp() * 1000
    assert sink["found"]["size"] == 6


def test_volume_file_via_files_api(run_dag, dag_id, sink, sdk, ti_states, create_volume):
    create_volume("main.landing.raw")  # the sensor waits for the file; the volume must exist, as on Databricks
    path = f"/Volumes/main/landing/raw/{dag_id}/_SUCCESS"
    writer = _later(0.8, lambda: sdk.files.upload(path, io.BytesIO(b"vol"), overwrite=True))
    dr = run_dag(_sensor_dag(dag_id, sink, path=path))
    writer.join()
    assert ti_states(dr)["wait"] == "success"
    assert sink["found"] == {"path": path, "size": 3, "modification_time": sink["found"]["modification_time"]}
    assert sink["found"]["modification_time"] > 0


def test_volume_glob_via_directory_listing(run_dag, dag_id, sink, sdk, ti_states, create_volume):
    create_volume("main.landing.raw")
    base = f"/Volumes/main/landing/raw/{dag_id}"
    writer = _later(0.8, lambda: sdk.files.upload(f"{base}/batch_7.json", io.BytesIO(b"{}"), overwrite=True))
    dr = run_dag(_sensor_dag(dag_id, sink, path=f"{base}/batch_*.json"))
    writer.join()
    assert ti_states(dr)["wait"] == "success"
    assert sink["found"]["path"].endswith("/batch_7.json")
    assert sink["found"]["size"] == 2


def test_other_api_error_fails_instead_of_waiting(run_dag, dag_id, sink, ti_states):
    # Not a volume path (no catalog/schema/volume): the Files API answers 400, which must fail the sensor.
    dr = run_dag(_sensor_dag(dag_id, sink, path="/Volumes/only_catalog/_SUCCESS"))
    assert ti_states(dr)["wait"] == "failed"
    assert "found" not in sink


class _OnceLogged(logging.Handler):
    """Runs ``fn`` once ``text`` is logged: to land a file only after the sensor has deferred (on a slow or busy
    machine the task's start alone can outlast a fixed delay, and the first check would find the file)."""

    def __init__(self, text: str, fn) -> None:
        super().__init__(level=logging.INFO)
        self.text, self.fn, self.done = text, fn, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if not self.done.is_set() and self.text in record.getMessage():
            self.done.set()
            _later(0.5, self.fn)


@pytest.mark.parametrize("kind", ["dbfs", "volume"])
def test_deferrable_waits_in_trigger(run_dag, dag_id, sink, sdk, ti_states, kind, create_volume):
    if kind == "dbfs":
        path = f"/landing/{dag_id}/_SUCCESS"
        writer = _OnceLogged(
            "running trigger in line", lambda: sdk.dbfs.upload(path, io.BytesIO(b"done"), overwrite=True)
        )
    else:
        create_volume("main.landing.raw")
        path = f"/Volumes/main/landing/raw/{dag_id}/_SUCCESS"
        writer = _OnceLogged(
            "running trigger in line", lambda: sdk.files.upload(path, io.BytesIO(b"done"), overwrite=True)
        )
    dag_log = logging.getLogger("airflow.sdk.definitions.dag")
    dag_log.addHandler(writer)
    try:
        dr = run_dag(_sensor_dag(dag_id, sink, path=path, deferrable=True))
    finally:
        dag_log.removeHandler(writer)
    assert writer.done.is_set(), "the sensor never deferred"
    assert ti_states(dr) == {"wait": "success", "record": "success"}
    assert sink["found"]["path"] == path
    assert sink["found"]["size"] == 4


def test_deferrable_trigger_reports_other_errors(run_dag, dag_id, sink, ti_states):
    dr = run_dag(_sensor_dag(dag_id, sink, path="/Volumes/only_catalog/x*", deferrable=True))
    assert ti_states(dr)["wait"] == "failed"


@pytest.mark.parametrize("soft_fail", [False, True])
def test_deferrable_wait_ends_at_the_sensor_timeout_under_dag_test(run_dag, dag_id, sink, soft_fail):
    """``dag.test()`` (and ``airflow dags test``) run the trigger in line, where no scheduler enforces the
    deferral timeout: the trigger carries the sensor's deadline, so ``timeout`` ends the wait there too."""
    started = time.monotonic()
    dr = run_dag(
        _sensor_dag(
            dag_id, sink, path=f"/landing/{dag_id}/never/_SUCCESS", deferrable=True, timeout=2, soft_fail=soft_fail
        )
    )
    waited = time.monotonic() - started
    assert dr.task_states["wait"] == ("skipped" if soft_fail else "failed")
    assert "Sensor timed out after 2s: no file at" in dr.log("wait"), dr.log("wait")
    assert "found" not in sink
    assert waited < 60, f"the run took {waited:.0f}s for a 2 s sensor timeout"


def test_newer_than_parsing():
    from airbricks.sensors.files import FileTarget, to_epoch_ms

    assert to_epoch_ms(None) is None
    assert to_epoch_ms("None") is None
    assert to_epoch_ms("2026-01-01T00:00:00+00:00") == 1767225600000
    assert to_epoch_ms(datetime.datetime(2026, 1, 1)) == 1767225600000
    with pytest.raises(ValueError, match="ISO-8601"):
        to_epoch_ms("yesterday")
    assert FileTarget.parse("dbfs:/a/b/*.csv") == FileTarget("/a/b", False, "*.csv")
    assert FileTarget.parse("/Volumes/c/s/v/f").volume
    with pytest.raises(ValueError, match="last path segment"):
        FileTarget.parse("/a/*/f")
    with pytest.raises(ValueError, match=r"'s3://bucket/landing/_SUCCESS' is a s3: URI; this watches dbfs:/"):
        FileTarget.parse("s3://bucket/landing/_SUCCESS")
    with pytest.raises(ValueError, match=r"starts with /Volume/: a volume path is /Volumes/<catalog>"):
        FileTarget.parse("/Volume/c/s/v/_SUCCESS")
    assert FileTarget.parse("/Volumes/c/s/v") == FileTarget("/Volumes/c/s/v", True, None)
