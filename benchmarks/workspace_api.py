"""Throughput and latency of the local workspace (issue 2's targets), on this machine.

Starts ``airbricks serve`` in its own process, then:
* ``wrk`` (a separate process, 2 threads, 16 connections; twice ``--seconds``/2 per server and endpoint, the
  servers taking turns A B B A, figures averaged) against ``clusters/get``, ``runs/get``,
  ``dbfs/put`` and ``dbfs/get-status``: requests/s, p50 and p99 latency. Falls back to a Python client when wrk
  is not installed.
  ``dbfs/put`` is a JSON body with 100 bytes of base64 ``contents`` and ``overwrite: true``, each request to a
  new path (``/bench/put-<time>/t<wrk thread>-<n>``): real clients write distinct files, and one path rewritten
  over and over would measure a single hot inode and directory entry instead of file creation. ``dbfs/get-status``
  asks about one existing file.
* with ``--peer-url`` (and ``--peer-token``), the same ``dbfs/put`` and ``dbfs/get-status`` load against another
  local Databricks emulator already listening there, in the same run (rows tagged ``[peer]``), so the two are
  compared on the same machine at the same moment. The script does not install or start the peer.
* submit -> TERMINATED latency of a trivial notebook on a RUNNING cluster (client-side, polling runs/get
  every 5 ms), median and p90 over N runs.

Prints a table. Targets: >= 1,500 req/s on clusters/get with p99 < 20 ms; trivial notebook < 250 ms median.
Usage: python benchmarks/workspace_api.py [--seconds 10] [--runs 30] [--peer-url URL --peer-token TOKEN]
       [--baseline-src OTHER_CHECKOUT/src]   (this checkout and another, side by side in one run)
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

TOKEN = "dapi-benchmark-token"
NOTEBOOK = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"
PUT_CONTENTS = base64.b64encode(bytes(range(100))).decode()

#: wrk script for dbfs/put: every request a POST to a new path (per-thread prefix, per-thread counter).
#: Passing ``headers`` to wrk.format replaces wrk.headers, so the -H Authorization header is copied in.
PUT_LUA = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  prefix = args[1]
  contents = args[2]
  n = 0
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end
function request()
  n = n + 1
  local body = '{"path": "' .. prefix .. '/t' .. tid .. '-' .. n .. '", "contents": "' .. contents
               .. '", "overwrite": true}'
  return wrk.format("POST", "/api/2.0/dbfs/put", headers, body)
end
"""


def start_server(data_dir: Path, port: int, src: Path | None = None) -> subprocess.Popen[bytes]:
    """``airbricks serve`` in its own process; with ``src``, the airbricks of that checkout's ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airbricks.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--cluster-start-seconds",
            "0.5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(400):
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


def wrk(
    url: str, seconds: int, token: str = TOKEN, lua: Path | None = None, lua_args: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    script = ["-s", str(lua)] if lua else []
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            *script,
            url,
            *(["--", *lua_args] if lua_args else []),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rps, pct("50"), pct("99")


def python_load(
    url: str, seconds: int, token: str = TOKEN, lua: Path | None = None, lua_args: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    """A thread-pool client when wrk is missing (the client then shares the 2 cores and reads lower).

    With ``lua`` (the dbfs/put script) it POSTs the same bodies as the wrk script: ``lua_args`` are the path
    prefix and the base64 contents.
    """
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + seconds
    latencies: list[float] = []

    def worker(tid: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            if lua is None:
                session.get(url, timeout=10).raise_for_status()
            else:
                n += 1
                prefix, contents = lua_args
                session.post(
                    f"{url}/api/2.0/dbfs/put",
                    timeout=10,
                    json={"path": f"{prefix}/t{tid}-{n}", "contents": contents, "overwrite": True},
                ).raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)

    with ThreadPoolExecutor(16) as pool:
        for tid in range(16):
            pool.submit(worker, tid)
    latencies.sort()
    return len(latencies) / seconds, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def notebook_latency(session: requests.Session, base: str, cluster_id: str, runs: int) -> list[float]:
    timings = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        run_id = api(
            session,
            base,
            "POST",
            "2.1/jobs/runs/submit",
            json={
                "run_name": f"trivial-{i}",
                "tasks": [
                    {
                        "task_key": "t",
                        "existing_cluster_id": cluster_id,
                        "notebook_task": {"notebook_path": "/Shared/trivial"},
                    }
                ],
            },
        )["run_id"]
        while True:
            state = api(session, base, "GET", "2.1/jobs/runs/get", params={"run_id": run_id})["state"]
            if state["life_cycle_state"] in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
                break
            time.sleep(0.005)
        assert state.get("result_state") == "SUCCESS", state
        if i:  # the first run warms the interpreter's file cache
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


@dataclass
class Target:
    """One server under load: this checkout's (tag ``""``), a baseline checkout's, or a peer emulator's."""

    tag: str
    base: str
    token: str
    session: requests.Session
    server: subprocess.Popen[bytes] | None = None
    data_dir: Path | None = None
    cluster_id: str = ""
    run_id: int = 0
    timings: list[float] = field(default_factory=list)


def serve(tag: str, src: Path | None) -> Target:
    from airbricks.utils.processes import free_port

    data_dir = Path(tempfile.mkdtemp(prefix="airbricks-bench-"))
    port = free_port()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    server = start_server(data_dir, port, src)
    return Target(tag, f"http://127.0.0.1:{port}", TOKEN, session, server, data_dir)


def prepare(target: Target, runs: int) -> None:
    """A RUNNING cluster, the trivial notebook, and its submit -> TERMINATED latency over ``runs`` runs."""
    session, base = target.session, target.base
    target.cluster_id = api(
        session,
        base,
        "POST",
        "2.0/clusters/create",
        json={
            "cluster_name": "bench",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge",
            "num_workers": 1,
        },
    )["cluster_id"]
    while api(session, base, "GET", "2.0/clusters/get", params={"cluster_id": target.cluster_id})["state"] != "RUNNING":
        time.sleep(0.1)
    api(
        session,
        base,
        "POST",
        "2.0/workspace/import",
        json={
            "path": "/Shared/trivial",
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": True,
            "content": base64.b64encode(NOTEBOOK.encode()).decode(),
        },
    )
    target.timings = sorted(notebook_latency(session, base, target.cluster_id, runs))
    target.run_id = api(session, base, "GET", "2.1/jobs/runs/list", params={"limit": 1})["runs"][0]["run_id"]


def take_turns(
    targets: list[Target], measure: Callable[[Target], tuple[float, float, float]]
) -> list[tuple[Target, tuple[float, float, float]]]:
    """Each target measured twice, in the order A B .. B A (so none always goes first, on a warmer or colder
    machine), and the two figures averaged: a side-by-side comparison in one run."""
    figures: dict[int, list[tuple[float, float, float]]] = {i: [] for i in range(len(targets))}
    for i in [*range(len(targets)), *reversed(range(len(targets)))]:
        figures[i].append(measure(targets[i]))
    return [(t, _mean(figures[i])) for i, t in enumerate(targets)]


def _mean(samples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    rps, p50, p99 = (statistics.mean(column) for column in zip(*samples, strict=True))
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--peer-url",
        help="another local Databricks emulator, already running (e.g."
        " http://127.0.0.1:5000): dbfs/put and dbfs/get-status are measured against it too",
    )
    parser.add_argument("--peer-token", default="dapi-peer", help="the peer's token (sent as Bearer)")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="the src/ of another airbricks checkout (e.g. an older commit's worktree): every row is measured"
        " against it too, the two servers taking turns (rows tagged [baseline])",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _machine import describe

    served = [serve("", None)]
    if args.baseline_src:
        served.append(serve(" [baseline]", args.baseline_src.resolve()))
    try:
        for target in served:
            prepare(target, args.runs)
        load = wrk if shutil.which("wrk") else python_load
        half = max(1, args.seconds // 2)
        rows = []
        for name, path in (
            ("clusters/get", "2.0/clusters/get?cluster_id={t.cluster_id}"),
            ("runs/get", "2.1/jobs/runs/get?run_id={t.run_id}"),
        ):
            for t, figures in take_turns(served, lambda t, path=path: load(f"{t.base}/api/" + path.format(t=t), half)):
                rows.append((f"{name}{t.tag}", *figures))

        targets = list(served)
        if args.peer_url:
            peer = requests.Session()
            peer.headers["Authorization"] = f"Bearer {args.peer_token}"
            targets.append(Target(" [peer]", args.peer_url.rstrip("/"), args.peer_token, peer))
        assert served[0].data_dir is not None
        lua = served[0].data_dir / "dbfs_put.lua"
        lua.write_text(PUT_LUA)
        prefix = f"/bench/put-{int(time.time())}"  # a fresh directory each run (a peer may keep its files)
        status_path = f"{prefix}/status-probe"
        for t in targets:
            api(
                t.session,
                t.base,
                "POST",
                "2.0/dbfs/put",
                json={"path": status_path, "contents": PUT_CONTENTS, "overwrite": True},
            )
        for t, figures in take_turns(targets, lambda t: load(t.base, half, t.token, lua, (prefix, PUT_CONTENTS))):
            rows.append((f"dbfs/put{t.tag}", *figures))
        status_url = "{t.base}/api/2.0/dbfs/get-status?path=" + status_path
        for t, figures in take_turns(targets, lambda t: load(status_url.format(t=t), half, t.token)):
            rows.append((f"dbfs/get-status{t.tag}", *figures))
    finally:
        for t in served:
            if t.server is not None:
                t.server.terminate()
                t.server.wait(timeout=10)
            if t.data_dir is not None:
                shutil.rmtree(t.data_dir, ignore_errors=True)

    print(f"machine: {describe()}; load generator: {load.__name__} (16 connections, {args.seconds} s)")
    if args.peer_url:
        print(f"peer: {args.peer_url} (rows tagged [peer])")
    if args.baseline_src:
        print(f"baseline: {args.baseline_src} (rows tagged [baseline])")
    width = max(16, *(len(name) + 2 for name, *_ in rows))
    print(f"{'endpoint':<{width}}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, rps, p50, p99 in rows:
        print(f"{name:<{width}}{rps:>10.0f}{p50:>10.2f}{p99:>10.2f}")
    for t in served:
        timings = t.timings
        print(f"\ntrivial notebook{t.tag}, submit -> TERMINATED on a RUNNING cluster ({len(timings)} runs):")
        print(f"{'median ms':>12}{'p90 ms':>10}{'min ms':>10}{'max ms':>10}")
        print(
            f"{statistics.median(timings):>12.1f}{timings[int(len(timings) * 0.9)]:>10.1f}"
            f"{timings[0]:>10.1f}{timings[-1]:>10.1f}"
        )


if __name__ == "__main__":
    main()
