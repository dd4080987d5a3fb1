"""Fixtures of the tests that run DAGs (tests/operators, hooks, sensors, triggers): a unique DAG id per test,
a value sink, task states, and the session-end leak check.

Each of those folders' ``conftest.py`` imports them, so they apply there and nowhere else (the leak check
needs the session's local workspace, which the model tests never start).
"""

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


def _usage(local_ws) -> list[dict[str, Any]]:
    """Every cluster the workspace ever had (deleted ones too): the airbricks usage endpoint."""
    import requests

    resp = requests.get(
        f"{local_ws.url}/api/2.0/airbricks/clusters", headers={"Authorization": f"Bearer {local_ws.token}"}, timeout=10
    )
    resp.raise_for_status()
    return resp.json()["clusters"]


@pytest.fixture
def clusters_ever(local_ws):
    """``clusters_ever(dag_id)``: every cluster a DAG's tasks ever created, from the usage endpoint."""

    def of(dag_id: str) -> list[dict[str, Any]]:
        return [c for c in _usage(local_ws) if c["custom_tags"].get("airflow_dag_id") == dag_id]

    return of


@pytest.fixture(scope="session", autouse=True)
def no_leaked_clusters(local_ws):
    """After the operator tests, every cluster created by a test DAG must be permanently deleted."""
    yield
    leaked = [
        (c["cluster_id"], c["state"], c["custom_tags"].get("airflow_dag_id"))
        for c in _usage(local_ws)
        if str(c["custom_tags"].get("airflow_dag_id", "")).startswith("test_")
        and not c["deleted"]
        and c["custom_tags"].get(KEEP_TAG) != "true"
    ]
    assert not leaked, f"test clusters left behind (id, state, dag): {leaked}"


@pytest.fixture
def ti_states():
    """``{task_id: state}`` of a finished DagRun."""

    def states(dag_run) -> dict[str, str]:
        return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    return states
