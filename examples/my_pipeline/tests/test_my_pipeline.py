"""my_pipeline against a local Databricks workspace, with the airbricks pytest plugin's fixtures only."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.fixture(autouse=True)
def notebooks(upload_notebooks):
    """Every test gets the notebooks where the DAG names them (and the plugin removes them afterwards)."""
    return upload_notebooks(NOTEBOOKS, "/Workspace/Shared/my_pipeline")


def test_summarizes_the_landed_file(run_dag, land_file):
    land_file("dbfs:/landing/2026-01-05/sales.csv", "id,amount\n1,40\n2,60\n")

    result = run_dag("my_pipeline", logical_date="2026-01-05")

    result.assert_success()
    assert json.loads(result.xcom("get_result")) == {"rows": 2, "total_amount": 100.0}  # dbutils.notebook.exit


def test_a_negative_amount_fails_the_notebook_and_the_cluster_is_still_deleted(
    run_dag, land_file, notebook_output, workspace_client
):
    land_file("dbfs:/landing/2026-01-06/sales.csv", "id,amount\n1,40\n2,-5\n")

    result = run_dag("my_pipeline", logical_date="2026-01-06")

    assert result.state == "failed"
    assert result.task_states["summarize"] == "failed"
    assert "negative amount in row 2: -5" in result.log("summarize")
    output = notebook_output(result.xcom("summarize", key="run_id"))
    assert "negative amount in row 2" in output["error"]
    # The teardown deleted the cluster, then failed on purpose so the run is not judged by it alone.
    assert "was deleted" in result.log("delete_cluster")
    assert list(workspace_client.clusters.list()) == []


def test_each_test_starts_from_an_empty_workspace(workspace_client):
    # The tests above created clusters, runs and files; none of it is visible here.
    assert list(workspace_client.clusters.list()) == []
    assert list(workspace_client.jobs.list_runs()) == []
    assert not any(f.path.startswith("/landing") for f in workspace_client.dbfs.list("/"))
    assert [o.path for o in workspace_client.workspace.list("/Shared")] == ["/Shared/my_pipeline"]
