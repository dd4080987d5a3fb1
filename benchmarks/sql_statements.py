"""SQL warehouses on this machine: warehouse start time and statement round trips (Statement Execution API).

Starts a local workspace with Spark in this process and drives it only through its REST API (databricks-sdk):
* warehouse create -> RUNNING (a Spark Connect driver answering, polled every 50 ms), the first start on the
  data dir (it also starts the shared metastore) and a stop -> start of the same warehouse;
* ``SELECT 1`` round trip (submit with wait_timeout=10s -> SUCCEEDED result in the answer) on the running
  warehouse, median and p90;
* a 100k-row aggregate (``GROUP BY`` over a 100,000-row table written once with CTAS) round trip;
* fetching 100k rows back (JSON_ARRAY INLINE, all chunks) for scale;
* the same through ``databricks-sql-connector`` (what DatabricksSqlOperator uses) on the HTTPS listener, over
  its default Thrift protocol and its REST session protocol (``use_sea``): connect (open a session), then
  ``SELECT 1``, the aggregate and the 100k rows (Arrow) on one open connection.

With ``--baseline-src OTHER_CHECKOUT/src`` it measures only the ``SELECT 1`` round trips (statements API and
the connector's Thrift), for this checkout and for the other one (run in a subprocess on its own sources), side
by side: the cost of what this checkout adds per statement (e.g. the SQL dialect layer and the catalog plugin).
The dialect layer's own cost per statement (``prepare``, no Spark) is printed too.

Usage: python benchmarks/sql_statements.py [--runs 20] [--baseline-src OTHER_CHECKOUT/src]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe


def _wait(sdk, warehouse_id: str, state: str, timeout: float = 300) -> float:
    started = time.perf_counter()
    while True:
        info = sdk.warehouses.get(warehouse_id)
        if info.state.value == state:
            return time.perf_counter() - started
        if info.health and info.health.status and info.health.status.value == "FAILED":
            raise RuntimeError(f"warehouse failed: {info.health.summary}")
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"warehouse still {info.state} after {timeout} s")
        time.sleep(0.05)


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def _round_trips(sdk, warehouse_id: str, statement: str, runs: int, fetch_all: bool = False) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = sdk.statement_execution.execute_statement(statement, warehouse_id, wait_timeout="30s")
        assert response.status.state.value == "SUCCEEDED", response.status
        if fetch_all:
            for index in range(1, response.manifest.total_chunk_count):
                sdk.statement_execution.get_statement_result_chunk_n(response.statement_id, index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _connector_trips(connect, statement: str, runs: int) -> list[float]:
    samples = []
    with connect() as conn, conn.cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(statement)
            cursor.fetchall()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _connector_rows(connect, runs: int, aggregate: str) -> list[tuple[str, str]]:
    rows = []
    for label, use_sea in (("Thrift", False), ("REST sessions, use_sea", True)):
        opened = []
        for _ in range(max(3, runs // 4)):
            started = time.perf_counter()
            connect(use_sea=use_sea).close()
            opened.append((time.perf_counter() - started) * 1000)
        rows.append((f"connector ({label}): connect + close, median", f"{statistics.median(opened):.0f} ms"))
        for name, statement, count in (
            ("SELECT 1", "SELECT 1", runs),
            ("100k-row aggregate", aggregate, runs),
            ("100k rows fetched", "SELECT * FROM bench_rows", max(3, runs // 4)),
        ):
            samples = _connector_trips(functools.partial(connect, use_sea=use_sea), statement, count)
            rows.append(
                (
                    f"connector ({label}): {name}, median / p90 ({count} runs)",
                    f"{statistics.median(samples):.0f} / {_p90(samples):.0f} ms",
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's src directory: SELECT 1 round trips of both, side by side",
    )
    parser.add_argument("--select-only-json", action="store_true", help=argparse.SUPPRESS)  # the baseline's run
    args = parser.parse_args()
    if args.select_only_json:
        print(json.dumps(_select_one(args.runs)))
        return 0
    if args.baseline_src:
        return _side_by_side(args.runs, args.baseline_src.resolve())

    from databricks.sdk import WorkspaceClient

    from airbricks.workspace.server.serve import LocalWorkspace

    rows: list[tuple[str, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="airbricks-sql-bench-") as tmp,
        LocalWorkspace(Path(tmp) / "ws", spark=True, cluster_start_seconds=0, cluster_stop_seconds=0, tls=True) as ws,
    ):
        sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        started = time.perf_counter()
        warehouse_id = sdk.warehouses.create(name="bench", cluster_size="Small", auto_stop_mins=0).response.id
        first = time.perf_counter() - started + _wait(sdk, warehouse_id, "RUNNING")
        rows.append(("warehouse create -> RUNNING (first, incl. metastore start)", f"{first:.1f} s"))
        sdk.warehouses.stop(warehouse_id)
        _wait(sdk, warehouse_id, "STOPPED")
        started = time.perf_counter()
        sdk.warehouses.start(warehouse_id)
        again = time.perf_counter() - started + _wait(sdk, warehouse_id, "RUNNING")
        rows.append(("warehouse stop -> start -> RUNNING", f"{again:.1f} s"))
        time.sleep(1)  # the worker's session connects right after RUNNING

        one = _round_trips(sdk, warehouse_id, "SELECT 1", args.runs)
        rows.append(
            (
                f"SELECT 1 round trip, median / p90 ({args.runs} runs)",
                f"{statistics.median(one):.0f} / {_p90(one):.0f} ms",
            )
        )
        created = sdk.statement_execution.execute_statement(
            "CREATE TABLE bench_rows USING parquet AS SELECT id, id % 100 AS bucket, rand() AS value "
            "FROM range(100000)",
            warehouse_id,
            wait_timeout="50s",
        )
        assert created.status.state.value == "SUCCEEDED", created.status
        aggregate_sql = "SELECT bucket, count(*), avg(value) FROM bench_rows GROUP BY bucket ORDER BY bucket"
        aggregate = _round_trips(sdk, warehouse_id, aggregate_sql, args.runs)
        rows.append(
            (
                f"100k-row aggregate (GROUP BY, 100 rows out), median / p90 ({args.runs} runs)",
                f"{statistics.median(aggregate):.0f} / {_p90(aggregate):.0f} ms",
            )
        )
        fetch = _round_trips(sdk, warehouse_id, "SELECT * FROM bench_rows", max(3, args.runs // 4), fetch_all=True)
        rows.append(("100k rows fetched (JSON_ARRAY INLINE, all chunks), median", f"{statistics.median(fetch):.0f} ms"))
        from databricks import sql

        def connect(**kwargs):
            return sql.connect(
                ws.host, f"/sql/1.0/warehouses/{warehouse_id}", ws.token, **{**ws.connector_extra, **kwargs}
            )

        rows += _connector_rows(connect, args.runs, aggregate_sql)
        sdk.warehouses.delete(warehouse_id)

    width = max(len(name) for name, _ in rows)
    print(f"SQL warehouses and statements - {describe()}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return 0


def _select_one(runs: int) -> dict[str, list[float]]:
    """``SELECT 1`` round trips on a fresh workspace and warehouse of the checkout on ``sys.path``."""
    from databricks import sql
    from databricks.sdk import WorkspaceClient

    from airbricks.workspace.server.serve import LocalWorkspace

    with (
        tempfile.TemporaryDirectory(prefix="airbricks-sql-bench-") as tmp,
        LocalWorkspace(Path(tmp) / "ws", spark=True, cluster_start_seconds=0, cluster_stop_seconds=0, tls=True) as ws,
    ):
        sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        warehouse_id = sdk.warehouses.create(name="bench", cluster_size="Small", auto_stop_mins=0).response.id
        _wait(sdk, warehouse_id, "RUNNING")
        time.sleep(1)
        _round_trips(sdk, warehouse_id, "SELECT 1", 3)  # warm
        api = _round_trips(sdk, warehouse_id, "SELECT 1", runs)
        thrift = _connector_trips(
            lambda: sql.connect(ws.host, f"/sql/1.0/warehouses/{warehouse_id}", ws.token, **ws.connector_extra),
            "SELECT 1",
            runs,
        )
        sdk.warehouses.delete(warehouse_id)
    return {"api": api, "thrift": thrift}


def _side_by_side(runs: int, baseline: Path) -> int:
    import os
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(baseline)}
    answer = subprocess.run(
        [sys.executable, __file__, "--runs", str(runs), "--select-only-json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(answer.stdout.strip().splitlines()[-1])
    ours = _select_one(runs)
    from airbricks.workspace.sql.dialect import prepare

    started = time.perf_counter()
    for _ in range(10000):
        prepare("SELECT 1")
    per_call_us = (time.perf_counter() - started) / 10000 * 1e6
    print(f"SQL statements, this checkout vs {baseline} - {describe()}")
    print(
        f"  {'SELECT 1 round trip, median / p90 (' + str(runs) + ' runs)':<58}  {'this checkout':>16}  {'baseline':>16}"
    )
    for key, name in (("api", "Statement Execution API"), ("thrift", "SQL connector (Thrift, open connection)")):
        print(
            f"  {name:<58}  {statistics.median(ours[key]):>7.0f} / {_p90(ours[key]):>4.0f} ms"
            f"  {statistics.median(theirs[key]):>7.0f} / {_p90(theirs[key]):>4.0f} ms"
        )
    print(f"  {'SQL dialect layer (prepare, no Spark), per statement':<58}  {per_call_us:>13.1f} us  {'-':>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
