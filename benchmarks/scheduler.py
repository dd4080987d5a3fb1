"""The job scheduler's cost on an idle server: CPU of ``airbricks serve`` holding 1,000 jobs, unscheduled,
on a cron schedule, and with a file-arrival trigger, measured side by side in one run.

Starts three ``airbricks serve --spark off`` processes (fresh data dirs), creates 1,000 jobs in each over
HTTP - no schedule; a daily Quartz schedule (``0 0 3 * * ?``: it never fires during the measurement, so
what is measured is the scheduler's waiting); a file-arrival trigger on a volume folder each (checked every
``--check-seconds``, Databricks' minute by default, so each check lists 1,000 folders) - then reads each
process's CPU time (``/proc/<pid>/stat``, user + system) over the same window while nothing else happens.

Usage: python benchmarks/scheduler.py [--jobs 1000] [--seconds 60] [--check-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from airbricks.workspace.server.serve import free_port

TOKEN = "dapi-benchmark"
TASK = {"task_key": "check", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Server:
    def __init__(self, data_dir: Path, check_seconds: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airbricks.cli", "serve", "--data-dir", str(data_dir), "--port", str(self.port)]
            + ["--spark", "off", "--token", TOKEN, "--trigger-check-seconds", str(check_seconds)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {TOKEN}"
        deadline = time.monotonic() + 60
        while True:
            try:
                self.api.get(f"{self.url}/.well-known/databricks-config", timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.api.post(f"{self.url}/api/{path}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def get(self, path: str) -> dict[str, Any]:
        answer = self.api.get(f"{self.url}/api/{path}", timeout=30)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def settings(kind: str, i: int) -> dict[str, Any]:
    job: dict[str, Any] = {"name": f"{kind}-{i}", "tasks": [TASK]}
    if kind == "cron":
        job["schedule"] = {"quartz_cron_expression": "0 0 3 * * ?", "timezone_id": "UTC"}
    elif kind == "file arrival":
        job["trigger"] = {"file_arrival": {"url": f"/Volumes/main/default/landing/job-{i}/"}}
    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--check-seconds", type=float, default=60.0)
    args = parser.parse_args()
    kinds = ("unscheduled", "cron", "file arrival")
    with tempfile.TemporaryDirectory() as data:
        servers = {kind: Server(Path(data) / kind.replace(" ", "-"), args.check_seconds) for kind in kinds}
        try:
            for kind, server in servers.items():
                if kind == "file arrival":
                    volume = {"catalog_name": "main", "schema_name": "default", "name": "landing"}
                    server.post("2.1/unity-catalog/volumes", {**volume, "volume_type": "MANAGED"})
                started = time.monotonic()
                for i in range(args.jobs):
                    server.post("2.1/jobs/create", settings(kind, i))
                print(f"{kind}: {args.jobs} jobs created in {time.monotonic() - started:.1f} s", file=sys.stderr)
            time.sleep(2)
            before = {kind: cpu_seconds(s.proc.pid) for kind, s in servers.items()}
            time.sleep(args.seconds)
            used = {kind: cpu_seconds(s.proc.pid) - before[kind] for kind, s in servers.items()}
            runs = {kind: len(s.get("2.1/jobs/runs/list").get("runs") or []) for kind, s in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    from _machine import describe

    print(f"Idle server CPU, {args.jobs} jobs each, same {args.seconds:.0f} s window ({describe()})")
    print(f"file-arrival check every {args.check_seconds:g} s\n")
    print("| server holds | CPU s | % of one core | runs started |")
    print("|---|---|---|---|")
    for kind in kinds:
        share = 100 * used[kind] / args.seconds
        print(f"| {args.jobs} jobs, {kind} | {used[kind]:.2f} | {share:.1f} % | {runs[kind]} |")


if __name__ == "__main__":
    main()
