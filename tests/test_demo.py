"""The README's main job, end to end: ``airbricks demo`` runs the seed's pipeline on a local workspace.

Runs the real command in a fresh working directory (real Airflow via ``airflow dags test``, real HTTP, a
real SMTP server) and checks what it prints: the notebook's result, the email as received, the cluster
timeline, and that no cluster is left - for the success path and for a failing notebook.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXPECTED_SUMMARY = {"files": 1, "rows": 3, "total_amount": 100.0}


def run_demo(workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return subprocess.run(
        [sys.executable, "-m", "airbricks.cli", "demo", "--marker-delay", "2", *extra],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def section(output: str, title: str) -> str:
    match = re.search(rf"== {re.escape(title)} ==\n(.*?)(?:\n\n|\Z)", output, re.S)
    assert match, f"section {title!r} missing from demo output:\n{output}"
    return match.group(1)


@pytest.mark.timeout(600)
def test_demo_runs_the_seed_pipeline_end_to_end(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr

    states = section(out, "task states")
    for task in (
        "wait_for_landing",
        "upload_notebook",
        "start_cluster",
        "load_table",
        "run_notebook",
        "get_result",
        "send_result",
        "delete_cluster",
    ):
        assert re.search(rf"{task}\s+success", states), states
    assert "DAG run: success" in states

    result = json.loads(section(out, "notebook result (dbutils.notebook.exit, via XCom)").strip())
    assert result == EXPECTED_SUMMARY

    page = section(out, "the notebook run in the workspace UI")
    assert re.match(r"\s+http://127\.0\.0\.1:\d+/\?o=\d+#job/\d+/run/\d+\n", page), page

    mail = section(out, "email received by the SMTP server")
    assert "To: data-team@example.com" in mail
    assert '"total_amount": 100.0' in mail  # the notebook's result is in the body

    timeline = section(out, "cluster timeline")
    assert timeline.count("(ALL_PURPOSE)") == 1, timeline  # one cluster, created once
    for state in ("PENDING", "RUNNING", "TERMINATED", "permanently deleted"):
        assert state in timeline, timeline
    assert "0 clusters left" in out
    assert re.search(r"driver start \(PENDING -> RUNNING, a Spark Connect server answering\): \d+\.\d s", out)
    assert "0 Spark processes left" in out
    assert "[external process] landed" in out


@pytest.mark.timeout(600)
def test_demo_with_failing_notebook_still_deletes_the_cluster(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--fail-notebook")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr

    states = section(out, "task states")
    assert re.search(r"load_table\s+success", states), states  # the Spark job before it did its work
    assert re.search(r"run_notebook\s+failed", states), states
    assert re.search(r"delete_cluster\s+success", states), states
    assert "DAG run: failed" in states
    assert "permanently deleted" in section(out, "cluster timeline")
    assert "0 clusters left" in out and "0 Spark processes left" in out
    assert "(none)" in section(out, "email received by the SMTP server")
    # The notebook's own error, where the result would be, and the failed task said as failed while it runs.
    assert "ValueError: Refusing to summarize" in section(out, "notebook result (dbutils.notebook.exit, via XCom)")
    assert "  task run_notebook failed" in out
