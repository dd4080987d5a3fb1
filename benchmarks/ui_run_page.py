"""Server time of the web UI's run page for a 50-task run (issue 15's target: under 100 ms).

Starts a local workspace in process (no Spark), submits one run of 50 notebook tasks - ``t00`` runs a notebook
that prints, displays a 200-row table and fails in its third cell; ``t01``..``t49`` depend on it in a
five-wide fan so they end UPSTREAM_FAILED - then requests the run page (the failed task's notebook rendered
cell by cell, the 50-task graph) N times over HTTP with a signed-in session. Reports the server's own time
(the page's ``Server-Timing: render`` header: model read + template render) and the client's wall time, beside
``runs/get`` of the same run (the API's JSON of all 50 tasks) measured in the same loop, median and p95.

Usage: python benchmarks/ui_run_page.py [--requests 200]
"""

from __future__ import annotations

import argparse
import base64
import re
import statistics
import tempfile
import time

import requests

from airbricks.workspace.server.serve import LocalWorkspace

NOTEBOOK = """# Databricks notebook source
print("start")
# COMMAND ----------
import pandas as pd
display(pd.DataFrame({"id": range(200), "name": [f"row {i}" for i in range(200)]}))
# COMMAND ----------
raise ValueError("the benchmark's failing cell")
"""
CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}


def _tasks() -> list[dict]:
    tasks = [{"task_key": "t00", "new_cluster": CLUSTER, "notebook_task": {"notebook_path": "/Shared/bench/nb"}}]
    for i in range(1, 50):
        upstream = "t00" if i <= 5 else f"t{i - 5:02d}"
        tasks.append(
            {
                "task_key": f"t{i:02d}",
                "depends_on": [{"task_key": upstream}],
                "new_cluster": CLUSTER,
                "notebook_task": {"notebook_path": "/Shared/bench/nb"},
            }
        )
    return tasks


def _stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as data,
        LocalWorkspace(data, cluster_start_seconds=0, cluster_stop_seconds=0) as ws,
    ):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {ws.token}"
        api.post(f"{ws.url}/api/2.0/workspace/mkdirs", json={"path": "/Shared/bench"}).raise_for_status()
        api.post(
            f"{ws.url}/api/2.0/workspace/import",
            json={
                "path": "/Shared/bench/nb",
                "format": "SOURCE",
                "language": "PYTHON",
                "overwrite": True,
                "content": base64.b64encode(NOTEBOOK.encode()).decode(),
            },
        ).raise_for_status()
        run_id = api.post(f"{ws.url}/api/2.1/jobs/runs/submit", json={"run_name": "bench", "tasks": _tasks()}).json()[
            "run_id"
        ]
        deadline = time.monotonic() + 120
        while api.get(f"{ws.url}/api/2.1/jobs/runs/get", params={"run_id": run_id}).json()["state"][
            "life_cycle_state"
        ] not in ("TERMINATED", "INTERNAL_ERROR"):
            if time.monotonic() > deadline:
                raise SystemExit("the benchmark run did not end within 120 s")
            time.sleep(0.1)
        browser = requests.Session()
        browser.get(ws.ui_login_url()).raise_for_status()
        page_url = f"{ws.url}/ui/runs/{run_id}"
        first = browser.get(page_url)
        assert first.status_code == 200 and first.text.count('class="task ') == 50 and "cell failed" in first.text
        server, page_wall, api_wall = [], [], []
        for _ in range(args.requests):
            started = time.perf_counter()
            answer = browser.get(page_url)
            page_wall.append((time.perf_counter() - started) * 1000)
            server.append(float(re.search(r"dur=([\d.]+)", answer.headers["server-timing"]).group(1)))
            started = time.perf_counter()
            api.get(f"{ws.url}/api/2.1/jobs/runs/get", params={"run_id": run_id}).raise_for_status()
            api_wall.append((time.perf_counter() - started) * 1000)
        size = len(first.content)
    print(f"run page of a 50-task run ({size // 1024} KiB of HTML, a 200-row table), {args.requests} requests")
    print(f"{'what':<44}{'median ms':>11}{'p95 ms':>9}")
    for label, values in (
        ("run page, server time (Server-Timing)", server),
        ("run page, client wall time", page_wall),
        ("runs/get of the same run, wall", api_wall),
    ):
        median, p95 = _stats(values)
        print(f"{label:<44}{median:>11.2f}{p95:>9.2f}")


if __name__ == "__main__":
    main()
