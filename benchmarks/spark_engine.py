"""The Spark engine on this machine: driver starts, warm notebook runs, query latency, memory, how many fit.

Starts a local workspace with Spark in this process and drives it only through its REST API (databricks-sdk):
* cluster create -> RUNNING (a Spark Connect driver answering its warm-up query), per cluster;
* a trivial notebook, submit -> TERMINATED on the warm cluster (with and without touching ``spark``);
* a trivial ``spark.sql("SELECT 1").collect()`` timed inside one notebook (after its first query);
* the driver JVM's memory (RSS) idle and after the notebooks, and the metastore's;
* K clusters running at once (default 3) and the engine's default capacity for this machine's memory;
* strategy (b) of the seed: N sequential jobs on one all-purpose cluster pay exactly one driver start;
* the peer, side by side: pyspark's own ``SparkConnectServer`` started bare with its defaults (no metastore
  service, no class-data archive, the JVM's default JIT), timed to listening and to its first catalog query,
  interleaved with the workspace's cluster starts - the ratio is what compares across machines.

The workspace gets a class-data cache of its own (a temp dir), so the first cluster also pays for writing the
archives and the next ones show starts from them.

Then pools and warm kernels, off and on side by side in the same run (two workspaces one after the other, both
starting from class-data archives already written - the temp cache above, or with ``--only pools`` the user's cache
- plus the bare server again): the first cluster after the workspace starts, a cluster from a pool with an idle
driver (or started cold), the next one right after it terminated, a notebook with one ``spark.sql`` on a warm
cluster, an idle pool driver's memory, and the wall time of ``examples/my_pipeline``'s tests with ``airbricks_spark
= on`` (and, as their floor, off). With ``--baseline OTHER_CHECKOUT`` (a checkout from before pools, e.g. ``git
worktree add /tmp/before <commit>``), that checkout's notebook row (its own ``airbricks serve``) and example
pipeline are timed in the same run too: the issue's targets are ratios to them.

Usage: python benchmarks/spark_engine.py [--runs 15] [--clusters 3] [--only pools] [--baseline OTHER_CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe

CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
#: This checkout.
ROOT = Path(__file__).resolve().parent.parent
TRIVIAL = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"
TRIVIAL_SPARK = "# Databricks notebook source\ndbutils.notebook.exit(str(spark.sql('SELECT 1 AS x').first().x))\n"
LATENCY = (
    "# Databricks notebook source\nimport json, time\nspark.sql('SELECT 1').collect()\nsamples = []\n"
    "for _ in range({n}):\n    t = time.perf_counter()\n    spark.sql('SELECT 1').collect()\n"
    "    samples.append((time.perf_counter() - t) * 1000)\ndbutils.notebook.exit(json.dumps(samples))\n"
)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_connect_server() -> tuple[float, float]:
    """pyspark's Spark Connect server with its defaults: seconds to listening, and to a first catalog query."""
    import pyspark
    from pyspark.sql import SparkSession

    home = Path(pyspark.__file__).resolve().parent
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="airbricks-bare-connect-") as tmp:
        started = time.monotonic()
        proc = subprocess.Popen(
            [
                str(home / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
                "--conf",
                "spark.connect.grpc.binding.address=127.0.0.1",
            ],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"},
        )
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    assert proc.poll() is None, "the bare Spark Connect server exited"
                    time.sleep(0.05)
            listening = time.monotonic() - started
            session = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").create()
            session.sql("SHOW DATABASES").collect()
            answered = time.monotonic() - started
            session.stop()
            session.client.close()
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return listening, answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--clusters", type=int, default=3)
    parser.add_argument("--only", choices=("all", "pools"), default="all", help="pools: the pools rows only")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of the project (one from before pools, say): its notebook row and examples/my_pipeline "
        "tests are timed in the same run, beside this checkout's",
    )
    args = parser.parse_args()
    if args.only == "pools":
        from airbricks.workspace.config import default_class_cache

        with tempfile.TemporaryDirectory(prefix="airbricks-spark-bench-") as tmp:
            rows = pools_rows(Path(tmp), args.runs, default_class_cache(), args.baseline)  # the users' archives
        _print(rows)
        return 0

    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import jobs
    from databricks.sdk.service.workspace import ImportFormat, Language

    from airbricks.workspace.compute.spark.engine import default_max_drivers
    from airbricks.workspace.server.serve import LocalWorkspace

    rows: list[tuple[str, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="airbricks-spark-bench-") as tmp,
        LocalWorkspace(
            Path(tmp) / "ws",
            spark=True,
            cluster_start_seconds=0,
            cluster_stop_seconds=0,
            spark_class_cache=Path(tmp) / "jvm-classes",
        ) as ws,
    ):
        sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        engine = ws.workspace.clusters.engine

        def start_cluster(name: str) -> tuple[str, float]:
            started = time.monotonic()
            cluster_id = sdk.clusters.create(cluster_name=name, **CLUSTER).response.cluster_id
            while (state := sdk.clusters.get(cluster_id).state.value) != "RUNNING":
                assert state not in ("TERMINATED", "ERROR"), sdk.clusters.get(cluster_id).state_message
                time.sleep(0.05)
            return cluster_id, time.monotonic() - started

        def upload(name: str, source: str) -> str:
            path = f"/Shared/bench/{name}"
            sdk.workspace.mkdirs("/Shared/bench")
            sdk.workspace.upload(
                path, source.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True
            )
            return path

        def run(cluster_id: str, path: str) -> tuple[float, str]:
            started = time.monotonic()
            run_id = sdk.jobs.submit(
                run_name="bench",
                tasks=[
                    jobs.SubmitTask(
                        task_key="t",
                        existing_cluster_id=cluster_id,
                        notebook_task=jobs.NotebookTask(notebook_path=path),
                    )
                ],
            ).response.run_id
            while (got := sdk.jobs.get_run(run_id)).state.life_cycle_state.value not in (
                "TERMINATED",
                "INTERNAL_ERROR",
            ):
                time.sleep(0.005)
            elapsed = time.monotonic() - started
            return elapsed, sdk.jobs.get_run_output(got.tasks[0].run_id).notebook_output.result

        # The first cluster also starts the shared metastore: reported on its own row.
        first, first_start = start_cluster("bench-first")
        rows.append(
            (
                "first cluster create -> RUNNING (also starts the metastore, writes the class archives)",
                f"{first_start:.2f} s",
            )
        )
        driver = engine.driver(first)
        rows.append(("driver RSS, idle after warm-up", f"{_rss_mb(driver.pid):.0f} MB"))

        trivial, trivial_spark = upload("trivial", TRIVIAL), upload("trivial_spark", TRIVIAL_SPARK)
        plain = [run(first, trivial)[0] for _ in range(args.runs)]
        with_spark = [run(first, trivial_spark)[0] for _ in range(args.runs)]
        rows.append(
            (
                f"trivial notebook, submit -> TERMINATED, warm cluster ({args.runs} runs, median / p90)",
                f"{statistics.median(plain):.2f} s / {sorted(plain)[int(0.9 * len(plain)) - 1]:.2f} s",
            )
        )
        rows.append(
            (
                f"same, the notebook runs one spark.sql (new Connect session) ({args.runs} runs)",
                f"{statistics.median(with_spark):.2f} s / {sorted(with_spark)[int(0.9 * len(with_spark)) - 1]:.2f} s",
            )
        )
        _, samples = run(first, upload("latency", LATENCY.format(n=50)))
        samples = json.loads(samples)
        rows.append(
            (
                "spark.sql('SELECT 1').collect() inside a notebook (50, median / p90)",
                f"{statistics.median(samples):.1f} ms / {sorted(samples)[44]:.1f} ms",
            )
        )
        rows.append(("driver RSS after these notebooks", f"{_rss_mb(driver.pid):.0f} MB"))
        metastore = engine._metastore
        if metastore is not None and metastore._proc is not None:
            rows.append(("metastore service RSS", f"{_rss_mb(metastore._proc.pid):.0f} MB"))

        starts, others, peer = [], [], []
        for i in range(args.clusters - 1):  # interleaved with the peer: the same load on both
            peer.append(bare_connect_server())
            cluster_id, seconds = start_cluster(f"bench-{i}")
            others.append(cluster_id)
            starts.append(seconds)
        rows.append(
            (
                f"next cluster create -> RUNNING (median of {len(starts)}, metastore already up)",
                f"{statistics.median(starts):.2f} s" if starts else "-",
            )
        )
        if peer:
            listening = statistics.median(p[0] for p in peer)
            answered = statistics.median(p[1] for p in peer)
            rows.append(
                (
                    f"peer: bare pyspark SparkConnectServer, start -> listening / -> first catalog query "
                    f"(median of {len(peer)})",
                    f"{listening:.2f} s / {answered:.2f} s",
                )
            )
            rows.append(
                (
                    "next cluster create -> RUNNING / peer's start -> listening (target: 6 s / 3.75 s = 1.6)",
                    f"{statistics.median(starts) / listening:.2f}",
                )
            )
        total = sum(_rss_mb(engine.driver(c).pid) for c in [first, *others])
        rows.append((f"{args.clusters} clusters RUNNING at once: drivers' RSS together", f"{total:.0f} MB"))
        rows.append(("default capacity on this machine (--max-spark-drivers)", f"{default_max_drivers()} drivers"))

        events = [e for e in sdk.clusters.events(first) if e.type.value == "RUNNING"]
        rows.append(
            (
                f"strategy (b): driver starts paid by {2 * args.runs + 1} sequential jobs on one cluster",
                str(len(events)),
            )
        )
        for cluster_id in [first, *others]:
            sdk.clusters.permanent_delete(cluster_id)
        rows += pools_rows(Path(tmp), args.runs, Path(tmp) / "jvm-classes", args.baseline)  # written above

    _print(rows)
    return 0


def _print(rows: list[tuple[str, str]]) -> None:
    print(describe())
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _one_side(tmp: Path, cache: Path, runs: int, on: bool) -> dict[str, float]:
    """One workspace with pools and warm kernels ``on`` (a default pool of 1, a pool of 1, 1 warm kernel) or off."""
    from databricks.sdk import WorkspaceClient

    from airbricks.workspace.server.serve import LocalWorkspace

    found: dict[str, float] = {}
    started = time.monotonic()
    settings = {"spark_default_pool": 1 if on else 0, "warm_kernels": 1 if on else 0}
    with LocalWorkspace(
        tmp / ("on" if on else "off"),
        spark=True,
        cluster_start_seconds=0,
        cluster_stop_seconds=0,
        spark_class_cache=cache,
        **settings,
    ) as ws:
        sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")

        first, _ = _running(sdk, cluster_name="first")
        found["first"] = time.monotonic() - started
        pool_id = sdk.instance_pools.create(
            instance_pool_name="bench", node_type_id="i3.xlarge", min_idle_instances=1 if on else 0
        ).instance_pool_id
        if on:
            deadline = time.monotonic() + 180
            while sdk.instance_pools.get(pool_id).stats.idle_count != 1:
                assert time.monotonic() < deadline, "the pool's idle driver did not start"
                time.sleep(0.2)
            idle = ws.workspace.clusters.engine._pools.pools[pool_id].idle[0]
            found["idle_rss"] = _rss_mb(idle.pid)
        second, found["from_pool"] = _running(sdk, cluster_name="second", instance_pool_id=pool_id)

        def kernel_ready() -> None:
            if ws.workspace.kernels is not None:  # the pool refills between runs, as between a suite's tests
                while ws.workspace.kernels.idle_count() < 1:
                    time.sleep(0.05)
                time.sleep(2.5)  # its imports done

        times = _notebook_runs(sdk, first, runs, kernel_ready)
        found["notebook"] = statistics.median(times)
        sdk.clusters.delete(second)  # with a pool: its driver goes back to the pool, which wants one idle
        while sdk.clusters.get(second).state.value != "TERMINATED":
            time.sleep(0.02)
        third, found["after_return"] = _running(sdk, cluster_name="third", instance_pool_id=pool_id)
        for cluster_id in (first, second, third):
            sdk.clusters.permanent_delete(cluster_id)
    return found


def _running(sdk: Any, **spec: object) -> tuple[str, float]:
    """A new cluster of ``spec`` (over :data:`CLUSTER`), once RUNNING; and its create -> RUNNING time."""
    begun = time.monotonic()
    cluster_id = sdk.clusters.create(**{**CLUSTER, **spec}).response.cluster_id
    while (state := sdk.clusters.get(cluster_id).state.value) != "RUNNING":
        assert state not in ("TERMINATED", "ERROR"), sdk.clusters.get(cluster_id).state_message
        time.sleep(0.02)
    return cluster_id, time.monotonic() - begun


def _notebook_runs(sdk: Any, cluster_id: str, runs: int, before_each: Callable[[], None] = lambda: None) -> list[float]:
    """Submit -> TERMINATED of a notebook with one ``spark.sql`` on a running cluster, ``runs`` times."""
    from databricks.sdk.service import jobs
    from databricks.sdk.service.workspace import ImportFormat, Language

    sdk.workspace.mkdirs("/Shared/bench")
    sdk.workspace.upload(
        "/Shared/bench/spark", TRIVIAL_SPARK.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON
    )
    task = jobs.SubmitTask(
        task_key="t", existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask("/Shared/bench/spark")
    )
    times = []
    for _ in range(runs):
        before_each()
        begun = time.monotonic()
        run_id = sdk.jobs.submit(run_name="bench", tasks=[task]).response.run_id
        while sdk.jobs.get_run(run_id).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR"):
            time.sleep(0.005)
        times.append(time.monotonic() - begun)
    return times


def _baseline_notebook(baseline: Path, tmp: Path, runs: int) -> float:
    """The notebook row of another checkout: its own ``airbricks serve`` (its ``src``, this venv) with Spark, one
    cluster, the same notebook runs as :func:`_notebook_runs`; the median."""
    from databricks.sdk import WorkspaceClient

    from airbricks.utils.processes import free_port
    from airbricks.workspace.compute.spark.processes import port_open

    data_dir, port = tmp / "baseline", free_port()
    command = [
        sys.executable,
        "-c",
        "import sys; from airbricks.cli import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    command += ["--spark", "on", "--cluster-start-seconds", "0", "--cluster-stop-seconds", "0"]
    env = {**os.environ, "PYTHONPATH": str(baseline.resolve() / "src")}
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not ((data_dir / "token").is_file() and port_open(port)):
            assert server.poll() is None and time.monotonic() < deadline, "the baseline's server did not start"
            time.sleep(0.1)
        sdk = WorkspaceClient(
            host=f"http://127.0.0.1:{port}", token=(data_dir / "token").read_text().strip(), auth_type="pat"
        )
        cluster_id, _ = _running(sdk, cluster_name="baseline")
        times = _notebook_runs(sdk, cluster_id, runs)
        sdk.clusters.permanent_delete(cluster_id)
        return statistics.median(times)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _example_pipeline(on: bool, spark: bool = True, root: Path = ROOT) -> float:
    """Wall time of ``examples/my_pipeline``'s tests with ``airbricks_spark = on``, pools and warm kernels on/off
    (``spark=False``: with Spark off, the floor - Airflow, the workspace and the polls without any JVM), of this
    checkout or another one (``root``: its own ``src`` and example; options it does not know only warn)."""
    value = "1" if on else "0"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    begun = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            f"airbricks_spark={'on' if spark else 'off'}",
        ]
        + ["-o", f"airbricks_default_pool={value}", "-o", f"airbricks_warm_kernels={value}"],
        cwd=root / "examples" / "my_pipeline",
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.monotonic() - begun


def pools_rows(tmp: Path, runs: int, cache: Path, baseline: Path | None = None) -> list[tuple[str, str]]:
    """Pools and warm kernels off and on, side by side, with the bare Spark Connect server as the anchor. Both
    sides start from the class-data archives in ``cache`` (written before), so neither pays for writing them.
    With a ``baseline`` checkout, its example pipeline's wall time too (the issue's "today")."""
    off = _one_side(tmp, cache, runs, on=False)
    on = _one_side(tmp, cache, runs, on=True)
    listening, answered = bare_connect_server()
    pipeline_off, pipeline_on = _example_pipeline(on=False), _example_pipeline(on=True)
    floor = _example_pipeline(on=False, spark=False)
    before = (
        [] if baseline is None else [(_baseline_notebook(baseline, tmp, runs), _example_pipeline(False, root=baseline))]
    )
    rows = [
        ("-- pools and warm kernels: off / on (same run) --", ""),
        ("first cluster after the workspace starts: start -> RUNNING", f"{off['first']:.2f} s / {on['first']:.2f} s"),
        (
            "cluster create -> RUNNING: cold / from a pool with an idle driver",
            f"{off['from_pool']:.2f} s / {on['from_pool']:.2f} s",
        ),
        (
            "next cluster of the pool right after the last terminated: cold / the driver it gave back",
            f"{off['after_return']:.2f} s / {on['after_return']:.2f} s",
        ),
        ("peer: bare SparkConnectServer start -> listening / -> first query", f"{listening:.2f} s / {answered:.2f} s"),
        ("from a pool / peer's start -> listening (target <= 0.1)", f"{on['from_pool'] / listening:.3f}"),
        (
            f"notebook with one spark.sql, submit -> TERMINATED, warm cluster (median of {runs}): cold / warm kernels",
            f"{off['notebook']:.2f} s / {on['notebook']:.2f} s (x{on['notebook'] / off['notebook']:.2f})",
        ),
        ("idle pool driver RSS", f"{on['idle_rss']:.0f} MB"),
        (
            "examples/my_pipeline tests, airbricks_spark = on: wall time off / on",
            f"{pipeline_off:.1f} s / {pipeline_on:.1f} s (x{pipeline_on / pipeline_off:.2f})",
        ),
        (
            "  floor: the same tests with airbricks_spark = off / Spark's share off -> on",
            f"{floor:.1f} s / {pipeline_off - floor:.1f} s -> {pipeline_on - floor:.1f} s",
        ),
    ]
    for notebook, pipeline in before:
        rows += [
            (f"-- the same in {baseline} (before pools), same run: it / this checkout with pools on --", ""),
            (
                "notebook with one spark.sql, submit -> TERMINATED, warm cluster (target x0.35)",
                f"{notebook:.2f} s / {on['notebook']:.2f} s (x{on['notebook'] / notebook:.2f})",
            ),
            (
                "examples/my_pipeline tests, airbricks_spark = on (target x0.3)",
                f"{pipeline:.1f} s / {pipeline_on:.1f} s (x{pipeline_on / pipeline:.2f})",
            ),
        ]
    return rows


if __name__ == "__main__":
    sys.exit(main())
