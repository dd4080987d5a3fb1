"""Fixtures for the operator tests: a unique DAG id per test, a value sink, and the session-end leak check."""

from __future__ import annotations

import re
from typing import Any

import pytest

#: A cluster carrying this tag was kept on purpose by a test; the leak check ignores it.
KEEP_TAG = "airbricks_test_keep"


@pytest.fixture
def dag_id(request: pytest.FixtureRequest) -> str:
    return "test_" + re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:200]


@pytest.fixture
def sink() -> dict[str, Any]:
    """Values recorded by ``@task`` callables in the DAG (``dag.test()`` runs them in this process)."""
    return {}


@pytest.fixture(scope="session", autouse=True)
def no_leaked_clusters(sdk):
    """After the operator tests, no cluster created by a test DAG may still exist (running or not)."""
    yield
    leaked = [(c.cluster_id, c.state, (c.custom_tags or {}).get("airflow_dag_id"))
              for c in sdk.clusters.list()
              if str((c.custom_tags or {}).get("airflow_dag_id", "")).startswith("test_")
              and (c.custom_tags or {}).get(KEEP_TAG) != "true"]
    assert not leaked, f"test clusters left behind (id, state, dag): {leaked}"


@pytest.fixture
def ti_states():
    """``{task_id: state}`` of a finished DagRun."""
    def states(dag_run) -> dict[str, str]:
        return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    return states
