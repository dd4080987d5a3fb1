"""``airbricks demo``: the seed article's pipeline end to end on this machine, with no Databricks account.

It starts a local workspace and a local SMTP server on free loopback ports, runs the example DAG with real
Airflow (``airflow dags test``, its own AIRFLOW_HOME under ``.demo/`` in the current directory), and has a
separate process land the batch and its ``_SUCCESS`` marker a few seconds after the sensor starts - the
seed's "external process". It prints progress while it runs and, at the end, the task states, the
notebook's result, the email as received, the cluster's timeline and how many clusters are left.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

DAG_ID = "airbricks_seed_pipeline"
EXAMPLE_DAGS = Path(__file__).parent / "example_dags"
_TIMELINE_LABELS = {"PENDING": "  (created)", "DELETED": "  (permanently deleted)"}
LANDED_CSV = "order_id,amount\n1,19.99\n2,5.01\n3,75.00\n"


class _Inbox:
    """aiosmtpd handler keeping every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def _say(text: str) -> None:
    print(text, flush=True)


def _api(url: str, token: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    import requests

    response = requests.request(
        method, f"{url}/api/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs
    )
    response.raise_for_status()
    return response.json()


def drop_marker(url: str, day: str, delay: float) -> None:
    """The external process: after ``delay`` seconds, land a CSV batch then its ``_SUCCESS`` marker."""
    import base64

    token = os.environ["AIRBRICKS_DEMO_TOKEN"]
    time.sleep(delay)
    for name, content in (("orders.csv", LANDED_CSV), ("_SUCCESS", "")):
        _api(
            url,
            token,
            "POST",
            "2.0/dbfs/put",
            json={
                "path": f"dbfs:/landing/{day}/{name}",
                "overwrite": True,
                "contents": base64.b64encode(content.encode()).decode(),
            },
        )
    print(f"[external process] landed dbfs:/landing/{day}/orders.csv and _SUCCESS", flush=True)


class _ClusterWatcher(threading.Thread):
    """Prints each cluster state change the local workspace records, while the DAG runs."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True, name="cluster-watcher")
        self.url, self.token = url, token
        self.stop = threading.Event()
        self.seen: dict[str, str] = {}

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                clusters = _api(self.url, self.token, "GET", "2.0/airbricks/clusters")["clusters"]
            except Exception:  # the workspace is local; a hiccup here only delays a progress line
                continue
            for cluster in clusters:
                state = "DELETED" if cluster.get("deleted") else cluster["state"]
                if self.seen.get(cluster["cluster_id"]) != state:
                    self.seen[cluster["cluster_id"]] = state
                    _say(f"  cluster {cluster['cluster_id']} ({cluster.get('cluster_name')}): {state}")


def _airflow_env(home: Path, conn_uri: str, smtp_port: int) -> dict[str, str]:
    from airbricks.testing.airflow_env import AirflowEnvironment

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AirflowEnvironment(home, EXAMPLE_DAGS).variables())  # the testing kit's isolated Airflow
    env.update(
        {
            "AIRFLOW_CONN_DATABRICKS_DEFAULT": conn_uri,
            "AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{smtp_port}?disable_tls=true&disable_ssl=true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _run_states(db: Path) -> tuple[str, dict[str, str], Any, int | None]:
    """The DAG run's state, its tasks' states, the mailed result, and the notebook's Databricks run id."""
    with sqlite3.connect(db) as conn:
        run_id, state = conn.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchone()
        tasks = dict(
            conn.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
                (DAG_ID, run_id),
            ).fetchall()
        )
        row = conn.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'get_result'"
            " AND key = 'return_value'",
            (DAG_ID, run_id),
        ).fetchone()
        notebook = conn.execute(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'run_notebook' AND key = 'run_id'",
            (DAG_ID, run_id),
        ).fetchone()
    result = json.loads(row[0]) if row and row[0] is not None else None
    return (
        state,
        tasks,
        result,
        int(notebook[0]) if notebook and notebook[0] is not None else None,
    )  # stored as a number


def _stream(proc: subprocess.Popen[str], log_path: Path, on_task_start: Any) -> None:
    """Copy the DAG run's output to a log file and surface which task runs."""
    state = ""
    with open(log_path, "w") as log:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if "[DAG TEST] starting task_id=" in line:
                task, state = line.split("task_id=")[1].split()[0], ""
                _say(f"> task {task} started")
                on_task_start(task)
            elif "new_state=" in line:  # the task runner's "Task instance state updated ... new_state=failed"
                state = line.split("new_state=")[1].split()[0]
            elif "[DAG TEST] end task task_id=" in line:
                _say(f"  task {line.split('task_id=')[1].split()[0]} {state or 'ended'}")


def run_demo(marker_delay: float = 5.0, fail_notebook: bool = False, workdir: Path | None = None) -> int:
    from aiosmtpd.controller import Controller

    from airbricks.workspace.server.serve import LocalWorkspace, free_port

    root = (workdir or Path.cwd()) / ".demo"
    shutil.rmtree(root, ignore_errors=True)
    home = root / "airflow"
    home.mkdir(parents=True)
    day = datetime.datetime.now(datetime.timezone.utc).date().isoformat()

    from airbricks.workspace.compute.spark.install import SparkNotAvailable, find_spark

    try:
        install = find_spark()
    except SparkNotAvailable as missing:
        _say(f"airbricks demo needs Spark: {missing}")
        return 1
    _say(f"Spark: pyspark {install.pyspark_version} on Java {install.java_major} (a cluster is a real driver)")
    workspace = LocalWorkspace(root / "workspace", spark=True, cluster_start_seconds=0, cluster_stop_seconds=0)
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    children: list[subprocess.Popen[Any]] = []
    watcher: _ClusterWatcher | None = None
    try:
        workspace.start()
        smtp.start()
        _say(f"local Databricks workspace on {workspace.url} (data in {workspace.config.data_dir})")
        _say(f"local SMTP server on 127.0.0.1:{smtp.port}")
        env = _airflow_env(home, workspace.connection_uri, smtp.port)
        _say("preparing Airflow's metadata DB (.demo/airflow) ...")
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def on_task_start(task: str) -> None:
            if task == "wait_for_landing":
                _say(f"  (an external process lands the batch in {marker_delay:g} s)")
                marker_env = {**os.environ, "AIRBRICKS_DEMO_TOKEN": workspace.token}
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "airbricks.demo", workspace.url, day, str(marker_delay)], env=marker_env
                    )
                )

        watcher = _ClusterWatcher(workspace.url, workspace.token)
        watcher.start()
        _say(f"running DAG {DAG_ID} for {day} with real Airflow (airflow dags test) ...")
        conf = json.dumps({"fail_notebook": fail_notebook})
        dag_test = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", DAG_ID, day, "-c", conf],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        children.append(dag_test)
        _stream(dag_test, root / "dag_test.log", on_task_start)
        dag_test.wait()
        time.sleep(1.0)  # let the watcher print the final cluster state
        watcher.stop.set()
        return _report(workspace, inbox, home / "airflow.db", root)
    finally:
        if watcher is not None:
            watcher.stop.set()
        for child in children:
            _stop_process(child)
        smtp.stop()
        workspace.stop()
        if workspace.workspace is not None:
            from airbricks.workspace.compute.spark.processes import owned_processes

            left = owned_processes(workspace.workspace.data_dir / "spark")
            _say(f"{len(left)} Spark processes left")


def _stop_process(child: subprocess.Popen[Any]) -> None:
    """Stop a child we started, with its process group (the DAG run's task processes) when it leads one."""
    if child.poll() is not None:
        return
    try:
        if os.getpgid(child.pid) == child.pid:
            os.killpg(child.pid, signal.SIGTERM)
        else:
            child.terminate()
        child.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        child.kill()


def _notebook_error(workspace: Any, run_id: int | None) -> str:
    """Why the summarizing notebook gave no result: its task run's error, as runs/get-output says it."""
    if run_id is None:
        return "the notebook did not run"
    run = _api(workspace.url, workspace.token, "GET", "2.2/jobs/runs/get", params={"run_id": run_id})
    errors = [
        _api(workspace.url, workspace.token, "GET", "2.2/jobs/runs/get-output", params={"run_id": task["run_id"]}).get(
            "error"
        )
        for task in run.get("tasks", [])
    ]
    return "; ".join(e for e in errors if e) or run.get("state", {}).get("state_message", "no error reported")


def _say_run_page(workspace: Any, run_id: int | None) -> None:
    """The notebook run's page in the workspace UI (its ``run_page_url``), and how to open it after the demo."""
    if run_id is None:
        return
    run = _api(workspace.url, workspace.token, "GET", "2.2/jobs/runs/get", params={"run_id": run_id})
    _say("\n== the notebook run in the workspace UI ==")
    _say(f"  {run['run_page_url']}")
    _say(
        f"  (the demo's workspace stops now; `airbricks serve --data-dir {workspace.config.data_dir} --port "
        f"{workspace.port}` serves it again: open the sign-in link it prints, then this link)"
    )


def _report(workspace: Any, inbox: _Inbox, db: Path, root: Path) -> int:
    state, tasks, result, notebook_run = _run_states(db)
    _say("\n== task states ==")
    for task, task_state in tasks.items():
        _say(f"  {task:<18} {task_state}")
    _say(f"  DAG run: {state}")
    _say("\n== notebook result (dbutils.notebook.exit, via XCom) ==")
    _say(f"  {result}" if result is not None else f"  (none) - {_notebook_error(workspace, notebook_run)}")
    _say_run_page(workspace, notebook_run)
    _say("\n== email received by the SMTP server ==")
    for message in inbox.messages:
        _say(f"  From: {message['From']}\n  To: {message['To']}\n  Subject: {message['Subject']}")
        body = message.get_body(("html", "plain"))
        _say("  " + (body.get_content().strip().replace("\n", "\n  ") if body else ""))
    if not inbox.messages:
        _say("  (none)")
    clusters = _api(workspace.url, workspace.token, "GET", "2.0/airbricks/clusters")["clusters"]
    _say("\n== cluster timeline ==")
    for cluster in clusters:
        _say(f"  {cluster['cluster_id']} {cluster.get('cluster_name')} ({cluster.get('compute_type')})")
        for step in cluster.get("transitions", []):
            stamp = datetime.datetime.fromtimestamp(step["timestamp"] / 1000).strftime("%H:%M:%S.%f")[:-3]
            _say(f"    {stamp}  {step['state']}{_TIMELINE_LABELS.get(step['state'], '')}")
    for cluster in clusters:
        steps = cluster.get("transitions", [])
        pending = next((s["timestamp"] for s in steps if s["state"] == "PENDING"), None)
        running = next((s["timestamp"] for s in steps if s["state"] == "RUNNING"), None)
        if pending is not None and running is not None:
            _say(
                f"  driver start (PENDING -> RUNNING, a Spark Connect server answering): "
                f"{(running - pending) / 1000:.1f} s"
            )
    left = [c for c in clusters if not c.get("deleted")]
    _say(f"\n{len(left)} clusters left")
    _say(f"(Airflow output: {root / 'dag_test.log'})")
    ok = state == "success" and not left and bool(inbox.messages)
    return 0 if ok else 1


if __name__ == "__main__":
    # The marker-dropping "external process": python -m airbricks.demo URL DAY DELAY
    drop_marker(sys.argv[1], sys.argv[2], float(sys.argv[3]))
