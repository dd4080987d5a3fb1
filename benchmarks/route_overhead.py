"""What the local workspace's HTTP layer costs per request, with no network and no load generator in the way.

The whole ASGI application (authentication, fault layer, route table, parameters, the model, JSON) is called
in-process for ``clusters/get``, ``runs/get`` and ``dbfs/get-status``, 5,000 times per round, best of 5 rounds.
With ``--baseline-src``, the same measurement runs in a second process on another checkout's ``src`` (e.g. an
older commit's worktree), the two alternating A B B A, so a change to the routes or the models is compared side
by side in one run. Prints a table of microseconds per request and the ratio new / baseline.

Usage: python benchmarks/route_overhead.py [--requests 5000] [--baseline-src OTHER_CHECKOUT/src]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPEC = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
TOKEN = "dapi-route-overhead"


def _app() -> tuple[Any, dict[str, tuple[str, str]]]:
    """The application over a workspace on a manual clock, and the endpoints to call (path, query string)."""
    from airbricks.workspace.clock import ManualClock
    from airbricks.workspace.config import WorkspaceConfig
    from airbricks.workspace.core import Workspace

    try:
        from airbricks.workspace.server.app import create_app
    except ImportError:  # a checkout from before the per-service layout
        from airbricks.workspace.app import create_app  # type: ignore[no-redef]

    ws = Workspace(
        WorkspaceConfig(
            data_dir=tempfile.mkdtemp(prefix="airbricks-routes-"), token=TOKEN, cluster_start_seconds=0.001
        ),
        clock=ManualClock(),
        launch=lambda directory, spec: _Done(),
    )
    ws.start(ticker=False)
    cluster_id = ws.clusters.create(dict(SPEC))
    ws.step(10)
    task = {"task_key": "t", "existing_cluster_id": cluster_id, "notebook_task": {"notebook_path": "/Shared/n"}}
    run_id = ws.jobs.submit(run_name="bench", tasks=[task])["run_id"]
    for _ in range(20):  # until the run is over: runs/get then reads a finished run
        ws.step(100)
    return create_app(ws), {
        "clusters/get": ("/api/2.0/clusters/get", f"cluster_id={cluster_id}"),
        "runs/get": ("/api/2.1/jobs/runs/get", f"run_id={run_id}"),
        "dbfs/get-status": ("/api/2.0/dbfs/get-status", "path=/"),
    }


class _Done:
    """A task process that has already finished (no kernel is started)."""

    pid = 0
    pgid = 0

    def poll(self) -> dict[str, Any]:
        return {"status": "SUCCESS"}

    def kill(self) -> None:
        pass

    def reaped(self) -> bool:
        return True


async def _call(app: Any, path: str, query: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"{path}: {sent[0]['status']} {sent[-1].get('body', b'')[:200]!r}")


async def _measure(requests: int) -> dict[str, float]:
    app, endpoints = _app()
    best: dict[str, float] = {}
    for name, (path, query) in endpoints.items():
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(requests):
                await _call(app, path, query)
            per_request = (time.perf_counter() - start) / requests * 1e6
            best[name] = min(best.get(name, per_request), per_request)
    return best


def _run(src: Path | None, requests: int) -> dict[str, float]:
    """One measurement in a fresh process (this checkout's airbricks, or the one under ``src``)."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--requests", str(requests)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--baseline-src", type=Path, help="the src/ of another airbricks checkout")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_measure(args.requests))))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import describe

    sources: list[Path | None] = [None]
    if args.baseline_src:
        sources.append(args.baseline_src.resolve())
    samples: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(sources))}
    for i in [*range(len(sources)), *reversed(range(len(sources)))]:
        samples[i].append(_run(sources[i], args.requests))
    best = [{name: min(s[name] for s in samples[i]) for name in samples[i][0]} for i in range(len(sources))]

    print(f"machine: {describe()}; in-process ASGI, {args.requests} requests a round, best of 10 rounds")
    if args.baseline_src:
        print(f"baseline: {args.baseline_src}")
    header = f"{'endpoint':<18}{'us/request':>12}"
    if args.baseline_src:
        header += f"{'baseline':>12}{'ratio':>8}"
    print(header)
    for name, micros in best[0].items():
        line = f"{name:<18}{micros:>12.1f}"
        if args.baseline_src:
            base = best[1][name]
            line += f"{base:>12.1f}{micros / base:>8.2f}"
        print(line)


if __name__ == "__main__":
    main()
