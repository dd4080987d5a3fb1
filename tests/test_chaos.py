"""The chaos harness, short: three runs of the seed's pipeline under a real Airflow deployment.

One run meets a cluster launch failure (and a 429 on ``clusters/get``), one has its ``start_cluster`` task
process killed with SIGKILL while the cluster starts (Airflow retries, the retry adopts the cluster), one
runs deferrable.  Runs go one at a time so each meets its own faults.  Whatever happens, no cluster is
left, none is duplicated and every failed run says why in its task log.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import chaos


@pytest.mark.timeout(420)
def test_short_chaos_run_leaks_nothing(tmp_path: Path, monkeypatch) -> None:
    for name in [k for k in os.environ if k.startswith("AIRFLOW")]:
        monkeypatch.delenv(name)
    result = chaos.run_chaos(plans=chaos.short_plans(), seed=7, concurrency=1, workdir=tmp_path, verbose=False)
    report = "\n".join(
        [result.table(), *result.run_lines, *result.clusters_left, *result.duplicated, *result.missing_reason]
    )

    assert result.runs == 3, report
    assert result.clusters_left == [], report
    assert result.duplicated == [], report
    assert result.missing_reason == [], report
    assert result.transient_failed == [], report  # the 429 and 503 were ridden out
    assert result.ok

    # The faults really happened: a launch failure, a killed task process that was retried, a deferred run.
    assert result.faults.get("cluster_launch_failure", 0) >= 1, report
    assert result.faults.get("http_429", 0) >= 1, report
    assert result.faults["kill -9 of start_cluster"] == 1, report
    assert result.faults["deferrable runs (mode)"] == 1, report
    # The launch failure was retried into a new cluster, after the failed one was deleted: a replacement.
    assert len(result.replaced) == 1, report
    assert result.clusters_created >= 4, report
