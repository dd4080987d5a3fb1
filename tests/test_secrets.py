"""The token never leaks: run the demo pipeline, then look for the token everywhere Airflow and we write.

The demo runs in this process (its workspace and SMTP server do; Airflow runs as ``airflow dags test``), so
every log record of the workspace is captured to a file at DEBUG level, and its stdout/stderr (and its
children's) through ``capfd``.  Then the token is searched in every task log (``dags test`` writes them to its
output), every XCom value and rendered template field in the metadata DB, the raw metadata DB file,
``dag_test.log``, the demo's output and the workspace's log.  A positive control proves the scanner finds the
token where it legitimately is (the token file in the data dir) and in its base64 form.

The second test does the same for a value stored through the Secrets API and read by a notebook (printed and
returned by it) in a real Airflow DAG: the run shows ``[REDACTED]``, and the value is in no task log, XCom,
rendered field, run output, Airflow file or data-dir file (the store holds it encrypted).
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
        for table, column in (
            ("xcom", "value"),
            ("rendered_task_instance_fields", "rendered_fields"),
            ("rendered_task_instance_fields", "k8s_pod_yaml"),
        ):
            for task_id, value in conn.execute(f"SELECT task_id, {column} FROM {table}"):
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


SECRET_NOTEBOOK = """# Databricks notebook source
value = dbutils.secrets.get(dbutils.widgets.get("scope"), "api-key")
print("connecting with", value)
dbutils.notebook.exit(value)
"""


def test_values_stored_through_the_secrets_api_appear_nowhere_in_plain_text(
    run_dag, airflow_db: Path, local_ws, sdk, capfd
) -> None:
    """A secret put through the Secrets API, read by a notebook that prints it and returns it, run from a real
    Airflow DAG: the value is in no task log, XCom, rendered field, run output, Airflow file or data-dir file."""
    import datetime

    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG
    from databricks.sdk.service.workspace import ImportFormat, Language

    from airbricks.operators import DatabricksRunOutputOperator
    from secret_helpers import new_secret

    scope, value = new_secret(sdk, "scan", "api-key")
    path = f"/Shared/secret-scan/{scope}"
    sdk.workspace.mkdirs("/Shared/secret-scan")
    sdk.workspace.upload(path, SECRET_NOTEBOOK.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    with DAG(f"secret_scan_{scope.replace('-', '_')}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        run = DatabricksSubmitRunOperator(
            task_id="run_notebook",
            polling_period_seconds=0.2,
            json={
                "run_name": "scan",
                "tasks": [
                    {
                        "task_key": "use_key",
                        "notebook_task": {"notebook_path": path, "base_parameters": {"scope": scope}},
                    }
                ],
            },
        )
        run >> DatabricksRunOutputOperator(task_id="get_result", run_task_id="run_notebook")
    try:
        dr = run_dag(dag)
        assert {ti.task_id: ti.state for ti in dr.get_task_instances()} == {
            "run_notebook": "success",
            "get_result": "success",
        }
        out, err = capfd.readouterr()
        assert "connecting with [REDACTED]" in out  # the printed line reached the task log, redacted

        runs = [r for r in sdk.jobs.list_runs(expand_tasks=True) if r.run_name == "scan"]
        assert runs
        output = sdk.jobs.get_run_output(runs[0].tasks[0].run_id)
        assert output.notebook_output.result == "[REDACTED]"
        scanned = {
            "task logs (stdout)": out.count(value),
            "stderr": err.count(value),
            "get-output": str(output.as_dict()).count(value),
            "export": "".join(v.content for v in sdk.jobs.export_run(runs[0].tasks[0].run_id).views).count(value),
        }
        values = list(db_values(airflow_db / "airflow.db"))
        assert any(name.startswith("xcom.value of get_result") for name, _ in values)
        for name, stored in values:
            scanned[name] = stored.count(value.encode())
        roots = [airflow_db, local_ws.workspace.data_dir]
        for root in roots:
            for file in files_under(root):
                if "site-packages" not in file.parts:  # what pip installed for other tests' runs
                    scanned[str(file)] = file.read_bytes().count(value.encode())
        assert len(scanned) > 10
        leaks = {name: n for name, n in scanned.items() if n}
        assert not leaks, f"secret value found in: {leaks}"
    finally:
        sdk.secrets.delete_scope(scope)


WAITING_NOTEBOOK = """# Databricks notebook source
import os, pathlib, time
value = dbutils.secrets.get(dbutils.widgets.get("scope"), "api-key")
print("connecting with", value)
print("cluster env", os.environ["SCAN_ENV_SECRET"])
pathlib.Path(dbutils.widgets.get("printed")).write_text("printed")
marker = pathlib.Path(dbutils.widgets.get("marker"))
give_up = time.monotonic() + 180  # a failed test never writes the marker: the run must still end
while not marker.exists() and time.monotonic() < give_up:
    time.sleep(0.05)
print("done with", value)
dbutils.notebook.exit(value)
"""


def kernels_of(data_dir: Path) -> list[int]:
    """Live kernel processes of the runs of this data dir (their spec files are under it); own sessions, so
    not in the server's tree once it is gone."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"airbricks.workspace.kernel.task" in args and any(str(data_dir).encode() in a for a in args):
            found.append(int(entry.name))
    return found


def leaks_in(value: str, data_dir: Path, pids: set[int]) -> dict[str, int]:
    """Where the value is, in plain text: every file of the data dir, every command line of ``pids``."""
    raw = value.encode()
    found = {str(f): f.read_bytes().count(raw) for f in files_under(data_dir) if "site-packages" not in f.parts}
    for pid in pids:
        try:
            found[f"/proc/{pid}/cmdline"] = Path(f"/proc/{pid}/cmdline").read_bytes().count(raw)
        except OSError:
            pass
    return {name: n for name, n in found.items() if n}


@pytest.mark.timeout(300)
def test_no_secret_on_disk_or_command_line_mid_run_nor_after_a_kill_9(tmp_path: Path, serve_process) -> None:
    """A notebook on a cluster whose ``spark_env_vars`` take a secret reads another through ``dbutils.secrets``,
    prints both, and waits: mid-run no command line of the server's tree and no file of the data dir holds either
    value (its ``output.log`` already shows the lines, redacted). Then the server dies by ``kill -9``; the run
    goes on to its end in its own process, and still no file of the data dir holds a value."""
    import os
    import signal
    import time

    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import compute, jobs
    from databricks.sdk.service.workspace import ImportFormat, Language

    from secret_helpers import new_secret, process_tree

    data_dir = (tmp_path / "ws").resolve()
    server = serve_process(data_dir, "--cluster-start-seconds", "0", "--cluster-stop-seconds", "0")
    sdk = WorkspaceClient(host=server.url, token=(data_dir / TOKEN_FILE).read_text().strip(), auth_type="pat")
    scope, value = new_secret(sdk, "midrun", "api-key")
    env_value = f"env-{value}"
    sdk.secrets.put_secret(scope, "env", string_value=env_value)
    sdk.workspace.mkdirs("/Shared/scan")
    sdk.workspace.upload(
        "/Shared/scan/wait", WAITING_NOTEBOOK.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON
    )
    printed, marker = tmp_path / "printed", tmp_path / "marker"
    run_id = sdk.jobs.submit(
        run_name="mid-run scan",
        tasks=[
            jobs.SubmitTask(
                task_key="wait",
                new_cluster=compute.ClusterSpec(
                    spark_version="15.4.x-scala2.12",
                    node_type_id="i3.xlarge",
                    num_workers=0,
                    spark_env_vars={"SCAN_ENV_SECRET": f"{{{{secrets/{scope}/env}}}}"},
                ),
                notebook_task=jobs.NotebookTask(
                    notebook_path="/Shared/scan/wait",
                    base_parameters={"scope": scope, "printed": str(printed), "marker": str(marker)},
                ),
            )
        ],
    ).response.run_id
    deadline = time.monotonic() + 120
    while not printed.exists():
        state = sdk.jobs.get_run(run_id).state
        assert state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"), state
        assert time.monotonic() < deadline, "the notebook never printed"
        time.sleep(0.1)
    task_run = sdk.jobs.get_run(run_id).tasks[0].run_id
    log = data_dir / "runs" / str(task_run) / "output.log"
    deadline = time.monotonic() + 10
    while b"cluster env" not in log.read_bytes():  # the pump writes within moments of the print
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    written = log.read_text()
    assert "connecting with [REDACTED]" in written and "cluster env [REDACTED]" in written, written
    kernels = kernels_of(data_dir)
    assert kernels, "no kernel process found"
    tree = process_tree(server.proc.pid) | {p for k in kernels for p in process_tree(k)}
    for secret in (value, env_value):
        assert leaks_in(secret, data_dir, tree) == {}, f"mid-run: {secret[:8]}... in plain text"

    server.kill9()  # no shutdown code runs: the run's process is on its own now
    marker.write_text("go")
    deadline = time.monotonic() + 60
    while any(kernels_of(data_dir)):
        assert time.monotonic() < deadline, "the notebook did not end after the marker"
        time.sleep(0.1)
    outcome = (data_dir / "runs" / str(task_run) / "result.json").read_text()
    assert '"[REDACTED]"' in outcome, outcome  # the kernel finished, and wrote its outcome redacted
    assert "done with [REDACTED]" in log.read_text()
    for secret in (value, env_value):
        assert leaks_in(secret, data_dir, set()) == {}, f"after kill -9: {secret[:8]}... in plain text"
    for pid in kernels_of(data_dir):
        os.kill(pid, signal.SIGKILL)
