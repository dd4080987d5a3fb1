"""Waiting at scale (issue 6): K concurrent waits for DBFS files and for cluster starts, deferrable vs poke.

* deferrable: the airbricks triggers (``DatabricksFileTrigger``, ``DatabricksClusterStateTrigger``) all run in ONE
  asyncio event loop in a separate process, as Airflow's triggerer runs them: each is re-instantiated from its
  ``serialize()`` (class path + kwargs), ``run()`` is iterated and its first event collected.
* poke: one blocking poll loop per waiter, as a sensor / ``DatabricksCreateClusterOperator`` holds a worker
  slot: the same ``FileTarget.find`` / ``hook.get_cluster`` calls through ``AirbricksDatabricksHook``.  For
  K = 10 each waiter is its own process (as each poking task is a worker process), so memory and CPU are
  measured, not guessed; for larger K the K loops run as threads of one process (for the API load, CPU and
  latency) and memory is extrapolated as K x the per-process memory measured at K = 10 (``~`` in the table).
  Airflow's own per-task supervisor process would come on top; it is not counted.

Both modes poll every ``--poll`` seconds with a random initial offset (tasks do not start in lock-step).  The
waiting side's RSS (and USS) and CPU come from psutil, sampled during a steady window before anything appears;
API requests are counted at the server by a small ASGI wrapper around the local workspace's app.  Latency is
the time from the file's upload answer / the cluster's RUNNING transition (the workspace's usage records) to
the wait ending in the waiting process.

``--compare-src DIR`` adds, next to each deferrable row, the same waits run by the airbricks found in ``DIR``
(e.g. ``git archive main src | tar -x -C /tmp/before``, then ``--compare-src /tmp/before/src``), interleaved in
the same run: on a shared, loaded machine only figures measured side by side compare.

Usage: python benchmarks/deferrable_waits.py [--ks 10,100,500] [--poll 5] [--window 15] [--compare-src DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from _machine import describe

HERE = Path(__file__).resolve().parent

warnings.filterwarnings("ignore")
MIB = 2**20


# ============================================================================================ waiting side
def child_main(mode: str, kind: str, targets_file: str, poll: float, out_file: str) -> None:
    """The waiting process: prints READY after its imports, reads its targets (written by the parent once every
    waiter is READY, so a slow start-up never eats the measured window), then waits for every target."""
    if mode == "deferrable":
        from airflow.triggers.base import BaseTrigger  # noqa: F401  (the triggerer has Airflow loaded)

        from airbricks.triggers import DatabricksClusterStateTrigger, DatabricksFileTrigger
    else:
        from airbricks.hooks import AirbricksDatabricksHook
        from airbricks.sensors.files import FileTarget
    print("READY", flush=True)
    while not Path(targets_file).exists():
        time.sleep(0.05)
    targets: list[str] = json.loads(Path(targets_file).read_text())
    time.sleep(READY_PAUSE)
    done: dict[str, float] = {}
    errors: list[str] = []

    if mode == "deferrable":
        from airflow.sdk._shared.module_loading import import_string

        def make(target: str):
            trigger = (
                DatabricksFileTrigger(path=target, poll_interval=poll)
                if kind == "file"
                else DatabricksClusterStateTrigger(target, poll_interval=poll)
            )
            classpath, kwargs = trigger.serialize()  # what the triggerer stores ...
            return import_string(classpath)(**kwargs)  # ... and re-creates

        async def one(target: str) -> None:
            await asyncio.sleep(random.uniform(0, poll))
            async for event in make(target).run():
                if event.payload.get("status") != "success":
                    errors.append(f"{target}: {event.payload}")
                done[target] = time.time()
                break

        async def all_of() -> None:
            await asyncio.gather(*(one(t) for t in targets))

        asyncio.run(all_of())
    else:

        def one_sync(target: str) -> None:
            hook = AirbricksDatabricksHook(caller="bench")
            time.sleep(random.uniform(0, poll))
            while True:
                try:
                    if kind == "file":
                        ready = FileTarget.parse(target).find(hook, None) is not None
                    else:
                        state = hook.get_cluster(target).get("state")
                        if state not in ("PENDING", "RUNNING"):
                            errors.append(f"{target}: {state}")
                        ready = state != "PENDING"
                except Exception as exc:  # a failed poke fails the task in Airflow; record and stop
                    errors.append(f"{target}: {exc}")
                    ready = True
                if ready:
                    done[target] = time.time()
                    return
                time.sleep(poll)

        threads = [threading.Thread(target=one_sync, args=(t,), daemon=True) for t in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    Path(out_file).write_text(json.dumps({"done": done, "errors": errors[:5], "n_errors": len(errors)}))


READY_PAUSE = 2.0


# ============================================================================================ server side
class CountingApp:
    """ASGI wrapper counting the requests that reach the local workspace."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.count += 1
        await self.app(scope, receive, send)


class Server:
    def __init__(self, data_dir: Path, cluster_start_seconds: float) -> None:
        import uvicorn

        from airbricks.workspace.core import Workspace, WorkspaceConfig
        from airbricks.workspace.server.app import create_app
        from airbricks.workspace.server.serve import connection_uri, free_port

        self.port = free_port()
        self.workspace = Workspace(
            WorkspaceConfig(data_dir=data_dir, cluster_start_seconds=cluster_start_seconds, cluster_stop_seconds=0.1)
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.workspace.url = self.url
        self.workspace.start()
        self.app = CountingApp(create_app(self.workspace))
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                backlog=4096,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.connection_uri = connection_uri("127.0.0.1", self.port, self.workspace.token)
        import requests

        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.workspace.token}"

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        resp = self.http.request(method, f"{self.url}/api/{path}", timeout=60, **kw)
        resp.raise_for_status()
        return resp.json() if resp.content else {}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.workspace.stop()


# ============================================================================================ one scenario
class Sampler:
    """RSS/USS and CPU of a set of processes, sampled in the background."""

    def __init__(self, procs: list[Any]) -> None:
        import psutil

        self.procs = [psutil.Process(p.pid) for p in procs]
        self.rss: list[float] = []
        self.uss: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def cpu(self) -> float:
        total = 0.0
        for p in self.procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except Exception:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss = uss = 0
            for p in self.procs:
                try:
                    m = p.memory_full_info()
                    rss += m.rss
                    uss += m.uss
                except Exception:
                    pass
            self.rss.append(rss / MIB)
            self.uss.append(uss / MIB)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def scenario(
    server: Server,
    tmp: Path,
    mode: str,
    kind: str,
    k: int,
    poll: float,
    window: float,
    processes: int,
    src: str | None = None,
) -> dict[str, Any]:
    """Start the waiters (``processes`` processes sharing the K targets), measure, make targets appear.

    ``src``: run the waiters with the airbricks package found in this directory (first on ``PYTHONPATH``)."""
    tag = f"{mode}-{kind}-{k}-{processes}{'-compared' if src else ''}"
    env = {**os.environ, "AIRFLOW_CONN_DATABRICKS_DEFAULT": server.connection_uri}
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])
    procs, outs, tfs = [], [], []
    for j in range(processes):
        tf, of = tmp / f"{tag}-{j}.targets.json", tmp / f"{tag}-{j}.out.json"
        tfs.append(tf)
        outs.append(of)
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--child", mode, kind, str(tf), str(poll), str(of)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "READY", "waiter did not start"
    if kind == "file":
        targets = [f"dbfs:/bench/{tag}/f{i:04d}/_SUCCESS" for i in range(k)]
    else:  # created only now that every waiter is up, so the clusters are PENDING for the whole window
        created = time.time()
        targets = [
            server.call(
                "POST",
                "2.1/clusters/create",
                json={
                    "cluster_name": f"{tag}-{i}",
                    "spark_version": "15.4.x-scala2.12",
                    "node_type_id": "i3.xlarge",
                    "num_workers": 0,
                },
            )["cluster_id"]
            for i in range(k)
        ]
    for j, tf in enumerate(tfs):
        tmp_file = tf.with_suffix(".tmp")
        tmp_file.write_text(json.dumps(targets[j::processes]))
        tmp_file.replace(tf)
    import psutil

    idle_rss = sum(psutil.Process(p.pid).memory_info().rss for p in procs) / MIB
    sampler = Sampler(procs)
    time.sleep(READY_PAUSE + poll)  # every waiter has started and polled at least once
    cpu0, req0, t0 = sampler.cpu(), server.app.count, time.monotonic()
    if kind == "file":
        time.sleep(window)
    else:  # measure while the clusters are still PENDING
        time.sleep(max(0.5, created + server.workspace.config.cluster_start_seconds - time.time() - 0.5))
    elapsed = time.monotonic() - t0
    cpu = (sampler.cpu() - cpu0) / elapsed
    rate = (server.app.count - req0) / elapsed * 60
    steady_rss, steady_uss = max(sampler.rss), max(sampler.uss)

    appeared: dict[str, float] = {}
    if kind == "file":
        import base64

        for t in targets:
            server.call(
                "POST",
                "2.0/dbfs/put",
                json={"path": t, "contents": base64.b64encode(b"ok").decode(), "overwrite": True},
            )
            appeared[t] = time.time()
    for p in procs:
        p.wait(timeout=window + 10 * poll + 60)
    sampler.stop()
    done: dict[str, float] = {}
    n_errors = 0
    for of in outs:
        data = json.loads(of.read_text())
        done.update(data["done"])
        n_errors += data["n_errors"]
        if data["errors"]:
            print(f"    errors ({mode} {kind} K={k}): {data['errors'][:2]}", flush=True)
    if kind == "cluster":
        usage = {c["cluster_id"]: c for c in server.call("GET", "2.0/airbricks/clusters")["clusters"]}
        for cid in targets:
            running = next((s["timestamp"] for s in usage[cid]["transitions"] if s["state"] == "RUNNING"), None)
            if running is not None:
                appeared[cid] = running / 1000
        for cid in targets:
            server.call("POST", "2.1/clusters/permanent-delete", json={"cluster_id": cid})
    latencies = [done[t] - appeared[t] for t in targets if t in done and t in appeared]
    return {
        "mode": f"{mode} ({src})" if src else mode,
        "kind": kind,
        "k": k,
        "processes": processes,
        "idle_rss": idle_rss,
        "rss": steady_rss,
        "uss": steady_uss,
        "cpu": cpu,
        "req_per_min": rate,
        "lat_p50": statistics.median(latencies) if latencies else float("nan"),
        "lat_p95": pct(latencies, 0.95),
        "lat_max": max(latencies, default=float("nan")),
        "completed": len(latencies),
        "errors": n_errors,
    }


# ============================================================================================ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", default="10,100,500")
    parser.add_argument("--kinds", default="file,cluster")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between two checks, both modes")
    parser.add_argument("--window", type=float, default=15.0, help="steady waiting window measured (file waits)")
    parser.add_argument(
        "--sample-processes",
        type=int,
        default=10,
        help="poke mode: measure this many waiters as one process each, extrapolate beyond",
    )
    parser.add_argument(
        "--compare-src", default=None, help="also run each deferrable row with the airbricks package in this directory"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    ks = [int(x) for x in args.ks.split(",")]
    kinds = [x for x in args.kinds.split(",") if x]
    tmp = Path(tempfile.mkdtemp(prefix="airbricks-bench-waits-"))
    os.environ["AIRFLOW_HOME"] = str(tmp / "airflow")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # cluster waits: the clusters start after the waiters' start-up plus the measured window
    server = Server(tmp / "ws", cluster_start_seconds=READY_PAUSE + args.poll + args.window + 2)
    print(f"machine: {describe()}")
    print(
        f"poll every {args.poll:g} s (both modes), steady window {args.window:g} s; server: the local workspace "
        f"in the benchmark's process (not counted)",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    per_process: dict[str, tuple[float, float]] = {}
    try:
        for kind in kinds:
            for k in ks:
                variants = [("deferrable", args.compare_src)] if args.compare_src else []
                for mode, src in [("deferrable", None), *variants, ("poke", None)]:
                    processes = 1
                    if mode == "poke" and k <= args.sample_processes:
                        processes = k
                    row = scenario(server, tmp, mode, kind, k, args.poll, args.window, processes, src)
                    if mode == "poke" and processes == k:
                        per_process[kind] = (row["rss"] / k, row["uss"] / k)
                        row["mem_note"] = "measured, 1 process per waiter"
                    elif mode == "poke" and kind in per_process:
                        rss1, uss1 = per_process[kind]
                        row["rss_threads"], row["uss_threads"] = row["rss"], row["uss"]
                        row["rss"], row["uss"] = rss1 * k, uss1 * k
                        row["mem_note"] = f"~ K x per-process (threads measured: {row['rss_threads']:.0f} MiB RSS)"
                    else:
                        row["mem_note"] = "measured, 1 process (triggerer)"
                    rows.append(row)
                    print(
                        f"  {kind} K={k} {mode}: RSS {row['rss']:.0f} MiB, CPU {row['cpu'] * 100:.1f}% core, "
                        f"{row['req_per_min']:.0f} req/min, latency p50 {row['lat_p50']:.2f} s, "
                        f"done {row['completed']}/{k}",
                        flush=True,
                    )
    finally:
        server.stop()

    print()
    print(
        "| wait for | K | mode | idle RSS before waiting (MiB) | waiting-side RSS (MiB) | USS (MiB) "
        "| CPU (% of one core) | API requests/min | latency p50 / p95 / max (s) | done | memory |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['kind']} | {r['k']} | {r['mode']} | {r['idle_rss']:.0f} | {r['rss']:.0f} | {r['uss']:.0f} "
            f"| {r['cpu'] * 100:.1f} | {r['req_per_min']:.0f} "
            f"| {r['lat_p50']:.2f} / {r['lat_p95']:.2f} / {r['lat_max']:.2f} "
            f"| {r['completed']}/{r['k']} | {r['mem_note']} |"
        )
    for r in rows:
        if r["mode"].startswith("deferrable") and r["k"] == 500:
            ok = r["rss"] < 150 and r["cpu"] < 0.10
            print(
                f"target ({r['mode']}: 500 deferred {r['kind']} waits < 150 MB and < 10% of a core): "
                f"{'meets' if ok else 'MISSES'} ({r['rss']:.0f} MiB, {r['cpu'] * 100:.1f}%)"
            )
    if args.json:
        args.json.write_text(json.dumps({"machine": describe(), "rows": rows}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6])
    else:
        main()
