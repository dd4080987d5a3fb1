"""Start a DAG when a file lands: the seed's "emergence of a ``_SUCCESS`` file", event-driven.

No sensor holds a slot per run: Airflow's triggerer watches the landing folder through an ``AssetWatcher``
(:class:`~airbricks.triggers.DatabricksFileArrivalTrigger`), and every new or updated ``_SUCCESS*`` file there
is one asset event.  The scheduler starts a run for the events queued since the last run (usually one; two
files landing within one scheduler loop share a run), and the run reads the files from its events (path,
size, modification time) to hand their folders to whatever processes them, e.g. the seed pipeline's notebook.

``newer_than`` is a fixed time (the day the pipeline went live): markers older than that, left by earlier
loads, never start it.  Runs unchanged against a real workspace or the local one (``airbricks serve``).
"""

from __future__ import annotations

import posixpath
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airbricks.triggers import DatabricksFileArrivalTrigger

LANDING = "dbfs:/landing/orders/_SUCCESS*"  # or /Volumes/<catalog>/<schema>/<volume>/orders/_SUCCESS*
NEWER_THAN = "2026-12-01T00:00:00+00:00"  # markers from before the pipeline went live never fire
POLL_SECONDS = 30.0  # one DBFS call per poll, for all the DAGs on the asset

landed_orders = Asset(
    "airbricks_landed_orders",
    watchers=[
        AssetWatcher(
            name="orders_success_marker",
            trigger=DatabricksFileArrivalTrigger(path=LANDING, newer_than=NEWER_THAN, poll_interval=POLL_SECONDS),
        )
    ],
)

with DAG(
    dag_id="airbricks_file_arrival",
    schedule=[landed_orders],
    catchup=False,
    tags=["airbricks", "example"],
    doc_md=__doc__,
):

    @task
    def landed_files(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        """The files that started this run, from the asset events (``extra["payload"]``), each with its folder."""
        files = []
        for event in triggering_asset_events[landed_orders]:
            found = dict(event.extra["payload"])
            print(f"{found['path']} landed: {found['size']} bytes, modified {found['modified']}")
            files.append({**found, "folder": posixpath.dirname(found["path"])})
        return files

    landed_files()
