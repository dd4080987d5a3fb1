"""The web UI in a real browser, reached the way users reach it: through the links Airflow's operators put
in XCom (``run_page_url`` of the provider's submit operator, ``cluster_page_url`` of airbricks' create
operator), after a real ``dag.test()`` run against the session's workspace.

Set ``AIRBRICKS_UI_SCREENSHOTS=<folder>`` to save the run and cluster pages as PNGs (the README's pictures).
"""

from __future__ import annotations

import base64
import datetime
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture fails (CI) or skips, naming what is missing
    expect = None

NOTEBOOK_PATH = "/Shared/airbricks-ui-tests/orders"
NOTEBOOK = """# Databricks notebook source
dbutils.widgets.text("fail", "false")
print("reading the landed orders")

# COMMAND ----------

import pandas as pd
orders = pd.DataFrame({"order_id": [1, 2], "amount": [19.5, 42.0]})
display(orders)

# COMMAND ----------

if dbutils.widgets.get("fail") == "true":
    raise ValueError("orders file is empty: nothing to summarize")
dbutils.notebook.exit(f"rows={len(orders)}")
"""
CLUSTER = {
    "cluster_name": "ui-tests",
    "spark_version": "15.4.x-scala2.12",
    "node_type_id": "i3.xlarge",
    "num_workers": 1,
}


@pytest.fixture(scope="module")
def pipeline(airflow_env: Any, sdk: Any, local_ws: Any) -> Iterator[dict[str, Any]]:
    """One DAG run: start a cluster, then a two-task notebook run on it whose second task fails."""
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG
    from databricks.sdk.service.workspace import ImportFormat, Language

    from airbricks.operators.clusters import DatabricksCreateClusterOperator

    sdk.workspace.mkdirs(NOTEBOOK_PATH.rsplit("/", 1)[0])
    sdk.workspace.import_(
        NOTEBOOK_PATH,
        content=base64.b64encode(NOTEBOOK.encode()).decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    cluster = "{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"
    with DAG(
        dag_id="ui_browser_pipeline", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False
    ) as dag:
        start = DatabricksCreateClusterOperator(task_id="start_cluster", cluster_spec=CLUSTER, poll_interval=0.2)
        run = DatabricksSubmitRunOperator(
            task_id="run_notebooks",
            polling_period_seconds=0.2,
            json={
                "run_name": "orders summary",
                "tasks": [
                    {
                        "task_key": "prepare",
                        "existing_cluster_id": cluster,
                        "notebook_task": {"notebook_path": NOTEBOOK_PATH, "base_parameters": {"fail": "false"}},
                    },
                    {
                        "task_key": "summarize",
                        "existing_cluster_id": cluster,
                        "depends_on": [{"task_key": "prepare"}],
                        "notebook_task": {"notebook_path": NOTEBOOK_PATH, "base_parameters": {"fail": "true"}},
                    },
                ],
            },
        )
        start >> run
    result = airflow_env.run_dag(dag)
    cluster_id = result.xcom("start_cluster", key="all_purpose_cluster_id")
    facts = {
        "result": result,
        "cluster_id": cluster_id,
        "run_page_url": result.xcom("run_notebooks", key="run_page_url"),
        "cluster_page_url": result.xcom("start_cluster", key="cluster_page_url"),
    }
    yield facts
    if cluster_id:
        sdk.clusters.permanent_delete(cluster_id)


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("AIRBRICKS_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_run_page_url_shows_the_failing_cell_and_its_error(pipeline: dict[str, Any], signed_in: Any) -> None:
    result = pipeline["result"]
    assert result.task_states == {"start_cluster": "success", "run_notebooks": "failed"}
    url = pipeline["run_page_url"]
    assert re.search(r"/\?o=\d+#job/\d+/run/\d+$", url), url  # the Databricks shape, from the provider's XCom
    page = signed_in
    page.goto(url)
    page.wait_for_url(re.compile(r"/ui/runs/\d+$"))
    detail = page.locator("#task-detail")
    assert detail.get_attribute("data-task") == "summarize"  # the failed task is shown first
    failed = page.locator(".cell.failed")
    assert failed.count() == 1
    assert failed.get_attribute("data-cell") == "3"
    assert "ValueError: orders file is empty: nothing to summarize" in failed.inner_text()
    assert "Traceback" in failed.locator(".trace").inner_text()
    assert page.locator(".cell:not(.failed)").count() == 2
    table = page.locator("#cell-2 table.display")
    assert table.locator("th").all_inner_texts() == ["order_id", "amount"]
    assert table.locator("tbody tr").count() == 2
    assert "reading the landed orders" in page.locator("#task-log").inner_text()
    graph = page.locator("#task-graph")
    assert graph.locator(".task.success").get_attribute("data-task") == "prepare"
    assert graph.locator(".task.failed").get_attribute("data-task") == "summarize"
    assert "FAILED" in page.locator("#run-state").inner_text()
    _screenshot(page, "ui-run-page.png")

    graph.locator(".task.success").click()
    page.wait_for_selector("#task-detail[data-task='prepare']")
    assert page.locator("#exit-value").inner_text() == "rows=2"
    assert page.locator(".cell.failed").count() == 0


def test_cluster_link_shows_running_and_its_events_then_terminates(
    pipeline: dict[str, Any], signed_in: Any, sdk: Any
) -> None:
    url = pipeline["cluster_page_url"]
    cluster_id = pipeline["cluster_id"]
    assert url.endswith(f"/#setting/clusters/{cluster_id}/configuration"), url
    page = signed_in
    page.goto(url)
    page.wait_for_url(re.compile(f"/ui/clusters/{cluster_id}$"))
    assert "RUNNING" in page.locator("#cluster-state").inner_text()
    types = page.locator("#events .event").evaluate_all("items => items.map(e => e.dataset.type)")
    assert types[:2] == ["CREATING", "RUNNING"], types
    assert "ui-tests" in page.locator("h1").inner_text()
    _screenshot(page, "ui-cluster-page.png")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Terminate").click()
    expect(page.locator("#cluster-state")).to_contain_text("TERMINATED")  # live refresh, no reload
    assert sdk.clusters.get(cluster_id).state.value == "TERMINATED"  # the button called the real API
    assert "USER_REQUEST" in page.locator("#termination-reason").inner_text()
    types = page.locator("#events .event").evaluate_all("items => items.map(e => e.dataset.type)")
    assert types == ["CREATING", "RUNNING", "TERMINATING"], types  # the API has no TERMINATED event type


def test_dbfs_browser_reaches_the_landed_file_and_downloads_it(land_file: Any, signed_in: Any, local_ws: Any) -> None:
    content = b"order_id,amount\n1,19.5\n2,42.0\n"
    land_file("dbfs:/landing/ui-browser/orders.csv", content)
    page = signed_in
    page.goto(f"{local_ws.url}/ui/dbfs")
    page.get_by_role("link", name="landing/", exact=True).click()
    page.get_by_role("link", name="ui-browser/", exact=True).click()
    page.get_by_role("link", name="orders.csv", exact=True).click()
    assert page.locator("#preview").inner_text().strip() == content.decode().strip()
    with page.expect_download() as info:
        page.locator("#download").click()
    download = info.value
    assert download.suggested_filename == "orders.csv"
    assert Path(download.path()).read_bytes() == content


def test_signed_out_browser_gets_the_sign_in_page_and_then_lands_on_the_link(
    pipeline: dict[str, Any], anonymous: Any, local_ws: Any
) -> None:
    page = anonymous
    for url in (
        pipeline["run_page_url"],
        pipeline["cluster_page_url"],
        f"{local_ws.url}/ui/runs",
        f"{local_ws.url}/ui/dbfs/landing",
    ):
        response = page.goto(url)
        assert response.status == 401
        assert page.locator("#signin h1").inner_text() == "Sign in to the local workspace"
        text = page.content()
        for secret in ("orders summary", "ui-tests", "CREATING", "summarize", local_ws.token):  # no data, no token
            assert secret not in text, (url, secret)
    page.goto(pipeline["run_page_url"])
    page.fill("input[name=token]", local_ws.token)
    page.click("#signin-form button")
    page.wait_for_url(re.compile(r"/ui/runs/\d+$"))  # the fragment survived the sign-in
    assert page.locator("h1").inner_text().startswith("orders summary")
    assert local_ws.token not in page.content()


def test_live_refresh_and_the_cancel_button(sdk: Any, signed_in: Any, local_ws: Any) -> None:
    from databricks.sdk.service import compute, jobs
    from databricks.sdk.service.workspace import ImportFormat, Language

    sdk.workspace.import_(
        "/Shared/airbricks-ui-tests/sleeper",
        content=base64.b64encode(
            b"# Databricks notebook source\nimport time\nprint('sleeping')\ntime.sleep(60)\n"
        ).decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    waiter = sdk.jobs.submit(
        run_name="sleepy",
        tasks=[
            jobs.SubmitTask(
                task_key="sleep",
                notebook_task=jobs.NotebookTask(notebook_path="/Shared/airbricks-ui-tests/sleeper"),
                new_cluster=compute.ClusterSpec(
                    spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
                ),
            )
        ],
    )
    page = signed_in
    page.goto(f"{local_ws.url}/ui/runs/{waiter.run_id}")
    expect(page.locator("#run-state")).to_contain_text("RUNNING")
    assert page.locator("#main").get_attribute("data-refresh") == "2000"
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("#run-state")).to_contain_text("CANCELED")
    assert sdk.jobs.get_run(waiter.run_id).state.result_state.value == "CANCELED"
    assert page.locator("#main").get_attribute("data-refresh") is None  # refreshing stops once it ended


def test_fragment_links_land_on_their_pages(pipeline: dict[str, Any], signed_in: Any, local_ws: Any) -> None:
    page = signed_in
    page.goto(f"{local_ws.url}/#workspace{NOTEBOOK_PATH}")
    page.wait_for_url(re.compile("/ui/workspace/Shared/airbricks-ui-tests/orders$"))
    assert 'raise ValueError("orders file is empty' in page.locator("#notebook-source").inner_text()
    job_id = re.search(r"#job/(\d+)/run/", pipeline["run_page_url"]).group(1)
    page.goto(f"{local_ws.url}/?o=1#job/{job_id}")
    page.wait_for_url(re.compile(f"/ui/jobs/{job_id}$"))
    assert page.locator("#job-runs tbody tr").count() == 1  # the one-time run of that job id
    page.goto(f"{local_ws.url}/#no/such/page")
    expect(page.locator("#notice")).to_contain_text("No page here for the link #no/such/page")
