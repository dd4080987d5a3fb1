"""A DAG written for a real workspace (hard-coded cluster, warehouse, job and saved query ids) succeeds in
``dag.test()`` against a local workspace started with its fixtures file; only the connection changes.

The workspace is the testing kit's, started with ``fixtures=``: the DAG needs Spark for its saved query on the
warehouse, and the fixtures are applied at start, so it is a workspace of its own (its cluster and warehouse
are the two drivers the file asks for).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import airbricks.example_dags

from .conftest import require_spark

FIXTURES = Path(airbricks.example_dags.__file__).parent / "example_fixed_ids.yaml"
#: A table too (it needs Spark's metastore): the example's file plus these lists.
TABLES = """
schemas:
  - catalog_name: main
    name: sales
tables:
  - catalog_name: main
    schema_name: sales
    name: orders
    columns:
      - {name: id, type_name: LONG}
      - {name: amount, type_name: DOUBLE, comment: in EUR}
"""


@pytest.fixture
def fixtures_ws(session_dir: Path) -> Any:
    require_spark()
    from airbricks.testing import local_workspace

    fixtures = session_dir / "fixtures-with-tables.yaml"
    fixtures.write_text(FIXTURES.read_text() + TABLES)
    with local_workspace(
        session_dir / "fixtures-workspace",
        spark=True,
        fixtures=fixtures,
        cluster_start_seconds=0,
        cluster_stop_seconds=0,
        max_spark_drivers=2,
    ) as ws:
        yield ws, fixtures


def test_a_dag_with_hard_coded_ids_runs_against_the_fixtures(
    run_dag: Any, fixtures_ws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airbricks.workspace.fixtures import apply_fixtures, load_fixtures

    fixtures_ws, fixtures = fixtures_ws
    from airbricks.example_dags.example_fixed_ids import CLUSTER_ID, JOB_ID, QUERY_ID, WAREHOUSE_ID, dag

    monkeypatch.setenv("AIRFLOW_CONN_DATABRICKS_DEFAULT", fixtures_ws.connection_uri)  # the only change
    for task in dag.tasks:  # polling faster than a production DAG's 30 s, for the test's wall time
        for name in ("polling_period_seconds", "poll_interval"):
            if hasattr(task, name):
                monkeypatch.setattr(task, name, 0.3)
    result = run_dag(dag, logical_date="2026-03-01")
    assert result.task_states == {
        "start_cluster": "success",
        "summarize": "success",
        "summary": "success",
        "daily_totals": "success",
        "nightly_job": "success",
    }, {task: result.log(task)[-3000:] for task in result.failed_tasks}
    assert result.xcom("summary") == "summarized 2026-03-01"
    assert result.xcom("start_cluster") == CLUSTER_ID
    sdk = fixtures_ws.client()
    nightly = sdk.jobs.get_run(result.xcom("nightly_job", key="run_id"))
    assert nightly.job_id == int(JOB_ID) and nightly.tasks[0].existing_cluster_id == CLUSTER_ID
    totals = sdk.jobs.get_run(result.xcom("daily_totals", key="run_id"))
    output = sdk.jobs.get_run_output(totals.tasks[0].run_id).sql_output.query_output
    assert output.warehouse_id == WAREHOUSE_ID and "range(42)" in output.query_text
    assert sdk.queries.get(QUERY_ID).display_name == "daily totals"

    # The fixture table is a table Spark and the tables API see, on the fixture warehouse.
    table = sdk.tables.get("main.sales.orders")
    assert [(c.name, c.type_name.value) for c in table.columns] == [("id", "LONG"), ("amount", "DOUBLE")]
    for sql in ("INSERT INTO sales.orders VALUES (1, 2.5), (2, 4.0)", "SELECT sum(amount) FROM sales.orders"):
        done = sdk.statement_execution.execute_statement(statement=sql, warehouse_id=WAREHOUSE_ID, wait_timeout="30s")
        assert done.status.state.value == "SUCCEEDED", done.status
    assert done.result.data_array == [["6.5"]]
    # Applying the file again (what a restart does) finds every object, the table included, and changes nothing.
    outcomes = apply_fixtures(fixtures_ws.server.workspace, load_fixtures(fixtures))
    assert {o.action for o in outcomes} == {"exists"} and len(outcomes) == 7
