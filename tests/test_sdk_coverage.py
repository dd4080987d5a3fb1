"""docs/sdk-coverage.md is what scripts/sdk_coverage.py makes of the installed databricks-sdk and the current
route tables: a route added or removed without regenerating the table fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_table_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sdk_coverage.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "docs" / "sdk-coverage.md").read_text(encoding="utf-8")
    assert "| `w.workspace_conf.get_status` | `GET /api/2.0/workspace-conf` | **yes** |" in text
    assert "| `w.clusters.pin` | `POST /api/2.1/clusters/pin` | no |" in text or "clusters/pin` | **yes**" in text
