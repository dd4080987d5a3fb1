"""Throughput and latency of the local workspace (issue 2's targets), on this machine.

Starts ``airbricks serve`` in its own process, then:
* ``wrk`` (a separate process, 2 threads, 16 connections) against ``clusters/get`` and ``runs/get``:
  requests/s, p50 and p99 latency. Falls back to a Python client when wrk is not installed.
* submit -> TERMINATED latency of a trivial notebook on a RUNNING cluster (client-side, polling runs/get
  every 5 ms), median and p90 over N runs.

Prints a table. Targets: >= 1,500 req/s on clusters/get with p99 < 20 ms; trivial notebook < 250 ms median.
Usage: python benchmarks/workspace_api.py [--seconds 10] [--runs 30]
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

TOKEN = "dapi-benchmark-token"
NOTEBOOK = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airbricks.cli", "serve", "--data-dir", str(data_dir), "--port", str(port),
         "--token", TOKEN, "--cluster-start-seconds", "0.5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/.well-known/databricks-config", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the local workspace did not start")


def api(session: requests.Session, base: str, method: str, path: str, **kw):
    response = session.request(method, f"{base}/api/{path}", timeout=30, **kw)
    response.raise_for_status()
    return response.json()


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {TOKEN}", url],
        capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rps, pct("50"), pct("99")


def python_load(url: str, seconds: int) -> tuple[float, float, float]:
    """A thread-pool client when wrk is missing (the client then shares the 2 cores and reads lower)."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            session.get(url, timeout=10).raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)

    with ThreadPoolExecutor(16) as pool:
        for _ in range(16):
            pool.submit(worker)
    latencies.sort()
    return len(latencies) / seconds, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def notebook_latency(session: requests.Session, base: str, cluster_id: str, runs: int) -> list[float]:
    timings = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        run_id = api(session, base, "POST", "2.1/jobs/runs/submit", json={
            "run_name": f"trivial-{i}", "tasks": [{"task_key": "t", "existing_cluster_id": cluster_id,
                                                    "notebook_task": {"notebook_path": "/Shared/trivial"}}]})["run_id"]
        while True:
            state = api(session, base, "GET", "2.1/jobs/runs/get", params={"run_id": run_id})["state"]
            if state["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
                break
            time.sleep(0.005)
        assert state.get("result_state") == "SUCCESS", state
        if i:  # the first run warms the interpreter's file cache
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _machine import describe  # noqa: E402

    from airbricks.workspace.server import free_port

    data_dir = Path(tempfile.mkdtemp(prefix="airbricks-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        cluster_id = api(session, base, "POST", "2.0/clusters/create", json={
            "cluster_name": "bench", "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge",
            "num_workers": 1})["cluster_id"]
        while api(session, base, "GET", "2.0/clusters/get", params={"cluster_id": cluster_id})["state"] != "RUNNING":
            time.sleep(0.1)
        api(session, base, "POST", "2.0/workspace/import", json={
            "path": "/Shared/trivial", "format": "SOURCE", "language": "PYTHON", "overwrite": True,
            "content": base64.b64encode(NOTEBOOK.encode()).decode()})
        timings = notebook_latency(session, base, cluster_id, args.runs)
        run_id = api(session, base, "GET", "2.1/jobs/runs/list", params={"limit": 1})["runs"][0]["run_id"]

        load = wrk if shutil.which("wrk") else python_load
        rows = []
        for name, url in (("clusters/get", f"{base}/api/2.0/clusters/get?cluster_id={cluster_id}"),
                          ("runs/get", f"{base}/api/2.1/jobs/runs/get?run_id={run_id}")):
            rps, p50, p99 = load(url, args.seconds)
            rows.append((name, rps, p50, p99))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"machine: {describe()}; load generator: {load.__name__} (16 connections, {args.seconds} s)")
    print(f"{'endpoint':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, rps, p50, p99 in rows:
        print(f"{name:<16}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    timings.sort()
    print(f"\ntrivial notebook, submit -> TERMINATED on a RUNNING cluster ({len(timings)} runs):")
    print(f"{'median ms':>12}{'p90 ms':>10}{'min ms':>10}{'max ms':>10}")
    print(f"{statistics.median(timings):>12.1f}{timings[int(len(timings) * 0.9)]:>10.1f}"
          f"{timings[0]:>10.1f}{timings[-1]:>10.1f}")


if __name__ == "__main__":
    main()
