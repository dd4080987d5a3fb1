"""The token never leaks: run the demo pipeline, then look for the token everywhere Airflow and we write.

The demo runs in this process (its workspace and SMTP server do; Airflow runs as ``airflow dags test``), so
every log record of the workspace is captured to a file at DEBUG level, and its stdout/stderr (and its
children's) through ``capfd``.  Then the token is searched in every task log (``dags test`` writes them to its output), every XCom value and rendered
template field in the metadata DB, the raw metadata DB file, ``dag_test.log``, the demo's output and the
workspace's log.  A positive control proves the scanner finds the token where it legitimately is (the
token file in the data dir) and in its base64 form.
"""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from airbricks.demo import run_demo
from airbricks.workspace.core import TOKEN_FILE


def forms(token: str) -> list[bytes]:
    """The token as written, and base64-encoded (how a value would hide in a JSON or a header dump)."""
    raw = token.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(b":" + raw)[:-4]]


def hits_in(data: bytes, token: str) -> int:
    return sum(data.count(form) for form in forms(token))


def files_under(root: Path, exclude: Path | None = None) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (exclude and path.is_relative_to(exclude)):
            yield path


def db_values(db: Path) -> Iterator[tuple[str, bytes]]:
    """Every XCom value and rendered template field, as stored."""
    with sqlite3.connect(db) as conn:
        for table, column in (("xcom", "value"), ("rendered_task_instance_fields", "rendered_fields"),
                              ("rendered_task_instance_fields", "k8s_pod_yaml")):
            for task_id, value in conn.execute(f"SELECT task_id, {column} FROM {table}"):  # noqa: S608 (fixed names)
                if value is not None:
                    yield f"{table}.{column} of {task_id}", value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture
def workspace_log(tmp_path: Path) -> Iterator[Path]:
    """Every log record of this process (the workspace, its routes and models) at DEBUG, to a file."""
    path = tmp_path / "workspace.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.mark.timeout(600)
def test_demo_pipeline_leaves_the_token_nowhere(tmp_path: Path, workspace_log: Path, capfd, monkeypatch) -> None:
    for name in [k for k in os.environ if k.startswith("AIRFLOW")]:
        monkeypatch.delenv(name)
    workdir = tmp_path / "work"
    workdir.mkdir()
    code = run_demo(marker_delay=2.0, workdir=workdir)
    out, err = capfd.readouterr()
    assert code == 0, out + err

    root = workdir / ".demo"
    data_dir = root / "workspace"
    token = (data_dir / TOKEN_FILE).read_text().strip()
    assert token.startswith("dapi") and len(token) > 20

    # Positive control: the scanner sees the token where it belongs, and would see an encoded copy.
    assert hits_in((data_dir / TOKEN_FILE).read_bytes(), token) == 1
    assert hits_in(b"header: " + base64.b64encode(token.encode()), token) >= 1

    scanned: dict[str, int] = {}
    # ``airflow dags test`` writes the task logs to its output (dag_test.log), not to files under logs/.
    dag_test_log = (root / "dag_test.log").read_text()
    for line in ("Created cluster", "Permanently deleted", "Run submitted with run_id"):
        assert line in dag_test_log, f"task log line {line!r} missing from dag_test.log"
    for path in files_under(root, exclude=data_dir):  # dag_test.log, logs/, airflow.db, airflow.cfg
        scanned[str(path.relative_to(root))] = hits_in(path.read_bytes(), token)
    assert "dag_test.log" in scanned and "airflow/airflow.db" in scanned

    values = list(db_values(root / "airflow" / "airflow.db"))
    assert any(name.startswith("xcom.value of start_cluster") for name, _ in values), [n for n, _ in values]
    assert any(name.startswith("rendered_task_instance_fields") for name, _ in values)
    for name, value in values:
        scanned[name] = hits_in(value, token)

    scanned["workspace log"] = hits_in(workspace_log.read_bytes(), token)
    server_log = data_dir / "server.log"
    if server_log.exists():
        scanned["server.log"] = hits_in(server_log.read_bytes(), token)
    scanned["demo stdout"] = hits_in(out.encode(), token)
    scanned["demo stderr"] = hits_in(err.encode(), token)
    assert "0 clusters left" in out

    leaks = {name: n for name, n in scanned.items() if n}
    assert not leaks, f"token found in: {leaks}"
    assert len(scanned) > 10, scanned  # the scan covered the task logs, the DB and the logs
