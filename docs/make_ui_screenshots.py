"""Make the README's pictures of the workspace UI from a real run: docs/ui-run-page.png, docs/ui-cluster-page.png.

Starts a Spark-backed local workspace in a temporary folder, one all-purpose cluster (a real Spark Connect
driver), and a three-task notebook run on it whose ``summarize`` task fails in its third cell; then opens the
run page and the cluster page in headless Chromium (Playwright, ``/usr/bin/chromium``) and saves both. Needs
``airbricks[dev]``, Java 17+ and chromium. Usage: python docs/make_ui_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import base64
import shutil
import tempfile
import time
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from airbricks.workspace.server.serve import LocalWorkspace

NOTEBOOK = """# Databricks notebook source
dbutils.widgets.text("step", "load")
step = dbutils.widgets.get("step")
print(f"step {step}: reading dbfs:/landing/orders")

# COMMAND ----------

orders = spark.createDataFrame([(1, "books", 19.5), (2, "games", 42.0), (3, "books", 38.5)],
                               "order_id INT, category STRING, amount DOUBLE")
orders.createOrReplaceTempView("orders")
display(spark.sql("SELECT category, count(*) AS orders, sum(amount) AS total FROM orders GROUP BY category"))

# COMMAND ----------

if step == "summarize":
    raise ValueError("no orders for 2026-12-02: the landing folder is empty")
dbutils.notebook.exit(f"{orders.count()} orders")
"""
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent))
    out = Path(parser.parse_args().out)
    from playwright.sync_api import sync_playwright

    data = tempfile.mkdtemp(prefix="airbricks-ui-shots-")
    try:
        with LocalWorkspace(data, spark=True, cluster_start_seconds=0, cluster_stop_seconds=0) as ws:
            sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
            sdk.workspace.mkdirs("/Shared/pipelines")
            sdk.workspace.import_(
                "/Shared/pipelines/orders",
                content=base64.b64encode(NOTEBOOK.encode()).decode(),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
                overwrite=True,
            )
            cluster_id = sdk.clusters.create_and_wait(
                cluster_name="nightly-orders",
                spark_version="15.4.x-scala2.12",
                node_type_id="i3.xlarge",
                num_workers=1,
                autotermination_minutes=30,
            ).cluster_id

            def task(key: str, step: str, after: list[str]) -> jobs.SubmitTask:
                return jobs.SubmitTask(
                    task_key=key,
                    existing_cluster_id=cluster_id,
                    depends_on=[jobs.TaskDependency(task_key=a) for a in after],
                    notebook_task=jobs.NotebookTask(
                        notebook_path="/Shared/pipelines/orders", base_parameters={"step": step}
                    ),
                )

            run = sdk.jobs.submit(
                run_name="nightly orders",
                tasks=[
                    task("load", "load", []),
                    task("summarize", "summarize", ["load"]),
                    task("report", "report", ["load"]),
                ],
            ).result()
            time.sleep(1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=FLAGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(ws.ui_login_url())
                page.goto(run.run_page_url)
                page.wait_for_selector(".cell.failed")
                page.screenshot(path=str(out / "ui-run-page.png"), full_page=True)
                page.goto(f"{ws.url}/#setting/clusters/{cluster_id}/configuration")
                page.wait_for_selector("#spark-ui a")
                page.screenshot(path=str(out / "ui-cluster-page.png"))
                browser.close()
            sdk.clusters.permanent_delete(cluster_id)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"wrote {out / 'ui-run-page.png'} and {out / 'ui-cluster-page.png'}")


if __name__ == "__main__":
    main()
