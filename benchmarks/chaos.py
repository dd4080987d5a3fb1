"""Chaos run: the seed's pipeline N times under a real Airflow deployment, with faults, leaking no cluster.

``python benchmarks/chaos.py --runs 30 --seed 1 2 3 [--executor celery]``

Starts, in a temporary AIRFLOW_HOME (SQLite metadata DB, LocalExecutor), ``airflow scheduler``,
``airflow triggerer``, ``airflow dag-processor`` and ``airflow api-server`` (the task runners talk to its
execution API) as subprocesses, plus an in-process local workspace and an aiosmtpd server.  The DAGS_FOLDER
holds a thin wrapper around the example DAG: the same tasks under two DAG ids (``chaos_seed`` and
``chaos_seed_deferrable``), unscheduled, with several active runs allowed and short polls.

Each run gets faults drawn from a seeded RNG: 429 (with ``Retry-After``) and 503 answers on
``clusters/get``, ``jobs/runs/get`` and ``dbfs/get-status`` (count-limited, so the provider's retries can
win), dropped connections, cluster launch failures, a cluster dying under the notebook, slow starts; some
runs kill -9 the ``start_cluster`` task process while it waits for its cluster (Airflow's retry then adopts
the cluster), some run in deferrable mode.  The verdict rows must all be 0:

* clusters left: clusters not permanently deleted at the end;
* duplicated clusters: tasks (dag, run, task, map index) for which a cluster was created while an earlier
  one of the same task was still alive (a retry must adopt, not create; a new cluster after the first one
  failed to launch and was deleted is a replacement, counted on its own row);
* failed runs whose task log lacks the Databricks reason (error code, termination code or run
  ``state_message``) that caused the failure.

* DAG runs failed by a transient HTTP fault alone (429, 503, dropped connection): a failed run whose only
  Databricks cause is such a fault (no termination code, no failed run).  The DAGs' retry policy
  (:mod:`airbricks.retry`) must ride those out.

A task whose last try died with its worker (every task of the example DAG has one retry: both tries lost
their worker, or the first failed for a Databricks reason and the retry lost its worker) failed for no
Databricks reason: it is counted on its own row, like Airflow's defer/resume race, and listed.  Its cluster
must still be deleted (the create operator's failure callback does it).

``--executor celery`` runs the same on CeleryExecutor with two workers, PostgreSQL and Redis
(``airbricks.testing.deployment``) and adds the faults of :mod:`_chaos_distributed`: kill -9 of the worker
running a waiting ``start_cluster``, a warm shutdown of a worker mid-run, scheduler and triggerer restarts,
one PostgreSQL restart.  Each run's label is exact: its plan, then ``| went through:`` the deployment-wide
faults that happened while it was active and the cluster faults its own clusters met.

Importable: :func:`run_chaos` returns a :class:`ChaosResult` (the short variant in tests/test_chaos.py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import itertools
import random
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _chaos_distributed import DistributedFaults, draw
from _deployment import AirflowDeployment  # benchmarks/ is not a package

DAG_IDS = {False: "chaos_seed", True: "chaos_seed_deferrable"}
FAULTS = "/api/2.0/airbricks/faults"
#: Databricks error codes an exhausted HTTP fault leaves in a task log.
HTTP_REASONS = ("REQUEST_LIMIT_EXCEEDED", "TEMPORARILY_UNAVAILABLE", "INTERNAL_ERROR")
FIRST_DAY = datetime.date(2025, 1, 1)

PYTHON_NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "summarize_landing_python.py"
WRAPPER_DAG = textwrap.dedent('''\
    """Chaos variants of the seed pipeline: its tasks unchanged, unscheduled, many runs at once, short polls."""
    import base64
    import copy
    import datetime
    import pathlib

    from airflow.sdk.definitions._internal.contextmanager import DagContext
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    from airbricks.example_dags import example_seed_pipeline as _seed
    from airbricks.retry import databricks_retry

    _PYTHON_NOTEBOOK = pathlib.Path("__PYTHON_NOTEBOOK__")

    _EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)

    # Importing the example registers its DAG under this file too: keep only the variants.
    for _entry in [e for e in DagContext.autoregistered_dags if e[0] is _seed.dag]:
        DagContext.autoregistered_dags.discard(_entry)


    def _variant(dag_id, deferrable):
        dag = copy.deepcopy(_seed.dag)
        object.__setattr__(dag, "dag_id", dag_id)
        object.__setattr__(dag, "schedule", None)
        object.__setattr__(dag, "timetable", NullTimetable())
        dag.max_active_runs = 64
        # Runs get distinct past logical dates, before the example's start date: move it back.
        dag.start_date = _EPOCH
        for task in dag.tasks:
            task.start_date = _EPOCH
        # The chaos run is about the operators, not Spark: its workspace has no Spark engine, so the notebook
        # uploaded is a plain-Python stand-in with the same widgets and the same summary.
        upload = dag.task_dict["upload_notebook"]
        upload.json = {**upload.json, "content": base64.b64encode(_PYTHON_NOTEBOOK.read_bytes()).decode()}
        dag.task_dict["start_cluster"].poll_interval = 1
        for task_id in ("wait_for_landing", "start_cluster", "load_table", "run_notebook"):
            dag.task_dict[task_id].deferrable = deferrable
        if deferrable:
            # A trigger firing before the scheduler has handled the deferral's exit makes Airflow 3.3 fail
            # the task ("finished with state success, but the task instance's state attribute is queued"):
            # poll slowly enough that the scheduler, busy on two shared cores, sees the exit first.
            dag.task_dict["start_cluster"].poll_interval = 10
            dag.task_dict["run_notebook"].polling_period_seconds = 10
            dag.task_dict["load_table"].polling_period_seconds = 10
            for task_id in ("load_table", "run_notebook"):  # the triggerer takes plain numbers only
                for name, value in databricks_retry(deferrable=True).items():
                    setattr(dag.task_dict[task_id], name, value)
        return dag


    chaos_seed = _variant("chaos_seed", False)
    chaos_seed_deferrable = _variant("chaos_seed_deferrable", True)
''')


# ---------------------------------------------------------------------------------------------- plans


@dataclass
class Plan:
    """What one DAG run goes through: fault rules posted just before it is triggered, a kill, a mode."""

    deferrable: bool = False
    kill: bool = False
    rules: list[dict[str, Any]] = field(default_factory=list)
    #: Deployment-wide faults (Celery executor): see ``_chaos_distributed.DISTRIBUTED_FAULTS``.
    distributed: list[str] = field(default_factory=list)

    def label(self) -> str:
        kinds = [r.get("kind") or ("drop" if r.get("drop") else f"{r['status']} {r['path']}") for r in self.rules]
        return ", ".join(
            [
                *(["deferrable"] if self.deferrable else []),
                *(["kill -9"] if self.kill else []),
                *kinds,
                *self.distributed,
            ]
        )


def random_plan(rng: random.Random, executor: str = "local", distributed_rng: random.Random | None = None) -> Plan:
    """A seeded mix of faults; count-limited HTTP faults.  Celery: the worker kill replaces the task kill, and
    the distributed faults come from ``distributed_rng``, so both executors meet the same other faults."""
    plan = Plan(deferrable=rng.random() < 0.3)
    plan.kill = not plan.deferrable and rng.random() < 0.3
    http = [
        {"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 1, "count": rng.randint(1, 2)},
        {"path": "clusters/get", "method": "GET", "status": 503, "count": 1},
        {"path": "jobs/runs/get", "method": "GET", "status": rng.choice([429, 503]), "retry_after": 1, "count": 2},
        {"path": "dbfs/get-status", "method": "GET", "status": 429, "retry_after": 1, "count": rng.randint(1, 2)},
        {"path": "clusters/get", "method": "GET", "drop": True, "count": 1},
    ]
    plan.rules = [rule for rule in http if rng.random() < 0.3]
    if rng.random() < 0.25:  # twice in a row: the retry fails too and the run must say why
        plan.rules.append(
            {
                "kind": "cluster_launch_failure",
                "count": rng.choice([1, 1, 2]),
                "code": rng.choice(["CLOUD_PROVIDER_LAUNCH_FAILURE", "CLOUD_FAILURE"]),
            }
        )
    if rng.random() < 0.15:
        plan.rules.append({"kind": "cluster_death"})
    if plan.kill or rng.random() < 0.2:
        plan.rules.append({"kind": "slow_cluster_start", "count": 1, "seconds": 12 if plan.kill else 6})
    if executor == "celery":
        plan.distributed = draw(distributed_rng or rng, plan.deferrable)
        if plan.kill:  # the worker kill replaces the task-process kill, and needs a longer PENDING
            plan.kill = False
            plan.distributed = ["worker kill -9", *[k for k in plan.distributed if k != "worker kill -9"]]
        if "worker kill -9" in plan.distributed:
            plan.rules = [r for r in plan.rules if r.get("kind") != "slow_cluster_start"]
            plan.rules.append({"kind": "slow_cluster_start", "count": 1, "seconds": 40})
    return plan


def short_plans() -> list[Plan]:
    """The test suite's variant: a launch failure, a killed task process, a deferrable run."""
    return [
        Plan(
            rules=[
                {"kind": "cluster_launch_failure", "count": 1},
                {"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 1, "count": 1},
            ]
        ),
        Plan(kill=True, rules=[{"kind": "slow_cluster_start", "count": 1, "seconds": 12}]),
        Plan(deferrable=True, rules=[{"path": "jobs/runs/get", "method": "GET", "status": 503, "count": 1}]),
    ]


# ---------------------------------------------------------------------------------------------- deployment


class Deployment(AirflowDeployment):
    """The shared deployment (``_deployment.py``) over the wrapper DAG, plus an SMTP server for the seed's e-mail."""

    def __init__(self, root: Path, parallelism: int = 4, executor: str = "local") -> None:
        from aiosmtpd.controller import Controller

        from airbricks.demo import _Inbox
        from airbricks.workspace.server.serve import free_port

        super().__init__(
            root,
            {"chaos_seed_pipeline.py": WRAPPER_DAG.replace("__PYTHON_NOTEBOOK__", str(PYTHON_NOTEBOOK))},
            DAG_IDS.values(),
            parallelism=parallelism,
            cluster_start_seconds=2.0,
            cluster_stop_seconds=0.5,
            executor=executor,
            workers=2,
            heartbeat_timeout=20 if executor == "celery" else 60,
        )
        self.inbox = _Inbox()
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_port())

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{self.smtp.port}?disable_tls=true&disable_ssl=true",
        }

    def start(self) -> None:
        self.smtp.start()
        super().start()

    def stop(self) -> None:
        self.stop_airflow()
        with contextlib.suppress(Exception):
            self.smtp.stop()
        super().stop()  # PostgreSQL and Redis, the workspace, PostgreSQL's data directory


# ---------------------------------------------------------------------------------------------- one run


@dataclass
class Run:
    index: int
    plan: Plan
    dag_id: str
    run_id: str
    day: datetime.date
    state: str = "queued"
    killed: bool = False
    failed_tasks: list[str] = field(default_factory=list)
    #: Deployment-wide faults that happened while this run was active (exact, whichever run asked).
    events: list[str] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    #: The injected HTTP faults that answered this run's own requests (``_attribute_http_hits``).
    http: list[str] = field(default_factory=list)
    #: Tries lost with their worker (kill -9), by task id.
    lost: dict[str, set[int]] = field(default_factory=dict)


def land_batch(dep: Deployment, day: datetime.date) -> None:
    """The seed's external process: the batch, then its ``_SUCCESS`` marker, over DBFS ``put``."""
    from airbricks.demo import LANDED_CSV

    for name, content in (("orders.csv", LANDED_CSV), ("_SUCCESS", "")):
        dep.ws(
            "POST",
            "/api/2.0/dbfs/put",
            json={
                "path": f"dbfs:/landing/{day.isoformat()}/{name}",
                "overwrite": True,
                "contents": base64.b64encode(content.encode()).decode(),
            },
        )


def try_kill(dep: Deployment, run: Run) -> None:
    """kill -9 the ``start_cluster`` task process (first try) once its cluster exists and is still PENDING."""
    rows = dep.query(
        "SELECT id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = 'start_cluster'",
        run.dag_id,
        run.run_id,
    )
    if not rows or rows[0][1] != "running" or rows[0][2] != 1:
        return
    ti_id = str(uuid.UUID(str(rows[0][0])))  # SQLite keeps it as 32 hex digits; the title has dashes
    pending = [
        c
        for c in dep.ws("GET", "/api/2.0/airbricks/clusters")["clusters"]
        if (c.get("custom_tags") or {}).get("airflow_run_id") == run.run_id and c["state"] == "PENDING"
    ]
    if not pending:
        return
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if ti_id in " ".join(proc.info["cmdline"] or ()) and "worker" in " ".join(proc.info["cmdline"] or ()):
                proc.kill()
                run.killed = True


# ---------------------------------------------------------------------------------------------- verdict


@dataclass
class ChaosResult:
    runs: int
    seconds: float
    faults: dict[str, int]
    outcomes: dict[str, int]
    clusters_created: int
    clusters_left: list[str]
    duplicated: list[str]
    replaced: list[str]
    missing_reason: list[str]
    airflow_races: list[str]
    run_lines: list[str]
    transient_failed: list[str] = field(default_factory=list)
    executor: str = "local"
    startup_seconds: float = 0.0
    crash_restarts: dict[str, int] = field(default_factory=dict)
    unattributed_http: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    worker_lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.clusters_left or self.duplicated or self.missing_reason or self.transient_failed)

    def table(self) -> str:
        rows = [
            ("executor", self.executor),
            ("runs", str(self.runs)),
            ("wall time", f"{self.seconds:.0f} s"),
            ("deployment start-up", f"{self.startup_seconds:.0f} s"),
            ("deployment peak memory (sum of RSS, sampled every 5 s)", f"{self.peak_rss_mb:.0f} MB"),
        ]
        rows += [(f"faults injected: {kind}", str(n)) for kind, n in sorted(self.faults.items())]
        rows += [(f"DAG runs {state}", str(n)) for state, n in sorted(self.outcomes.items())]
        rows += [
            (f"services started again after dying of a fault: {name}", str(n))
            for name, n in sorted(self.crash_restarts.items())
        ]
        rows += [
            ("clusters created", str(self.clusters_created)),
            ("tasks that replaced a cluster that failed to launch", str(len(self.replaced))),
            ("tasks failed by Airflow's defer/resume race (no Databricks cause)", str(len(self.airflow_races))),
            ("tasks failed by losing their worker on their last try (no Databricks cause)", str(len(self.worker_lost))),
            ("clusters left at the end (must be 0)", str(len(self.clusters_left))),
            ("tasks that created more than one live cluster (must be 0)", str(len(self.duplicated))),
            ("failed runs whose task log lacks the Databricks reason (must be 0)", str(len(self.missing_reason))),
            ("DAG runs failed by a transient HTTP fault alone (must be 0)", str(len(self.transient_failed))),
            ("HTTP faults no run's label holds (the labels are exact when 0)", str(len(self.unattributed_http))),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v:>6}" for k, v in rows)


def _cluster_docs(clusters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every cluster ever created, by id, permanently deleted ones too (their termination reason is the
    evidence), as the workspace's usage endpoint lists them."""
    return {c["cluster_id"]: c for c in clusters}


def _duplicates(clusters: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Tasks with a cluster created while an earlier one of theirs was alive; tasks that replaced one."""
    by_task: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for cluster in clusters:
        tags = cluster.get("custom_tags") or {}
        if cluster.get("compute_type") == "ALL_PURPOSE" and "airflow_run_id" in tags:
            key = tuple(
                tags.get(k, "") for k in ("airflow_dag_id", "airflow_run_id", "airflow_task_id", "airflow_map_index")
            )
            by_task[key].append(cluster)
    duplicated, replaced = [], []
    for key, group in by_task.items():
        if len(group) < 2:
            continue
        group.sort(key=lambda c: c["created_time"])
        for earlier, later in itertools.pairwise(group):
            gone = next(
                (t["timestamp"] for t in earlier["transitions"] if t["state"] in ("TERMINATED", "DELETED")), None
            )
            target = duplicated if gone is None or gone > later["created_time"] else replaced
            target.append(f"{'/'.join(key)}: {earlier['cluster_id']} then {later['cluster_id']}")
    return duplicated, replaced


def _latest_log(dep: Deployment, run: Run, task_id: str) -> str:
    folder = dep.home / "logs" / f"dag_id={run.dag_id}" / f"run_id={run.run_id}" / f"task_id={task_id}"
    attempts = sorted(
        int(p.name[len("attempt=") : -len(".log")])
        for p in folder.glob("attempt=*.log")
        if p.name[len("attempt=") : -len(".log")].isdigit()
    )
    if not attempts:
        return ""
    # The try's own log and its triggers' logs (deferrable mode).
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob(f"attempt={attempts[-1]}.log*")))


def _airflow_race(dep: Deployment, run: Run, task_id: str) -> bool:
    """The scheduler failed this task itself: the executor's report of the deferral came after the resume."""
    text = (dep.root / "scheduler.log").read_text(errors="replace")
    return f"reported that the task instance <TaskInstance: {run.dag_id}.{task_id} {run.run_id} [queued]" in text


def _reasons(dep: Deployment, run: Run, docs: dict[str, dict[str, Any]], db_runs: list[dict[str, Any]]) -> set[str]:
    """What Databricks said about this DAG run's failures: termination codes, run state messages, error codes."""
    reasons = set(HTTP_REASONS)
    for doc in docs.values():
        if (doc.get("custom_tags") or {}).get("airflow_run_id") == run.run_id and doc.get("termination_reason"):
            code = doc["termination_reason"].get("code")
            if code and code not in ("USER_REQUEST", "INACTIVITY"):
                reasons.add(code)
    for db_run in db_runs:
        if db_run.get("run_name") == f"summarize {run.day.isoformat()}":
            message = (db_run.get("state") or {}).get("state_message")
            if message and (db_run.get("state") or {}).get("result_state") != "SUCCESS":
                reasons.add(message)
    return reasons


def _list_db_runs(dep: Deployment) -> list[dict[str, Any]]:
    out, token = [], None
    while True:
        page = dep.ws(
            "GET", "/api/2.1/jobs/runs/list", params={"limit": 25, **({"page_token": token} if token else {})}
        )
        out += page.get("runs", [])
        token = page.get("next_page_token")
        if not token or not page.get("has_more", True):
            return out


# ---------------------------------------------------------------------------------------------- the run


def run_chaos(
    runs: int = 30,
    seed: int = 0,
    concurrency: int = 3,
    plans: list[Plan] | None = None,
    workdir: Path | None = None,
    timeout: float = 1800.0,
    verbose: bool = True,
    executor: str = "local",
    postgres_restart: bool = True,
) -> ChaosResult:
    """Run the chaos experiment; ``plans`` (one per run) replaces the random draw."""
    rng = random.Random(seed)
    distributed_rng = random.Random(f"distributed-{seed}")
    plans = plans or [random_plan(rng, executor, distributed_rng) for _ in range(runs)]
    say = print if verbose else (lambda *a, **k: None)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        root = Path(workdir) if workdir else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        dep = Deployment(root, executor=executor)
        stack.callback(dep.stop)
        dep.start()
        startup = time.monotonic() - started
        distributed = None
        if executor == "celery":
            distributed = DistributedFaults(
                dep,
                lambda text: say(f"[{time.monotonic() - started:5.0f}s] {text}", flush=True),
                postgres_restart_at=len(plans) // 2 if postgres_restart else None,
            )
        dep.ws("POST", FAULTS, json={"rules": [], "seed": seed})
        say(f"deployment ready in {time.monotonic() - started:.0f} s (AIRFLOW_HOME={dep.home})", flush=True)
        todo = [
            Run(i, plan, DAG_IDS[plan.deferrable], f"chaos_{seed}_{i:03d}", FIRST_DAY + datetime.timedelta(i))
            for i, plan in enumerate(plans)
        ]
        queue, active, done = list(todo), [], []
        started_runs, peak_rss, sampled = 0, dep.rss_bytes(), time.monotonic()
        deadline = time.monotonic() + timeout
        while queue or active:
            if time.monotonic() > deadline:
                raise RuntimeError(f"chaos run timed out with {len(active)} DAG runs still active")
            while queue and len(active) < concurrency:
                run = queue.pop(0)
                if run.plan.rules:
                    dep.ws("POST", FAULTS, json={"rules": run.plan.rules})
                logical = datetime.datetime.combine(run.day, datetime.time(), tzinfo=datetime.timezone.utc)
                dep.trigger(run.dag_id, run.run_id, logical)
                land_batch(dep, run.day)
                say(
                    f"[{time.monotonic() - started:5.0f}s] run {run.index:3d} {run.dag_id}: {run.plan.label() or '-'}",
                    flush=True,
                )
                active.append(run)
                started_runs += 1
            if distributed is not None:
                distributed.step(active, started_runs)
            if time.monotonic() - sampled > 5:
                peak_rss, sampled = max(peak_rss, dep.rss_bytes()), time.monotonic()
            for run in list(active):
                if run.plan.kill and not run.killed and executor == "local":
                    try_kill(dep, run)
                    if run.killed:
                        say(
                            f"[{time.monotonic() - started:5.0f}s] run {run.index:3d}: killed start_cluster (kill -9)",
                            flush=True,
                        )
                [(state,)] = dep.query(
                    "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", run.dag_id, run.run_id
                )
                if state in ("success", "failed"):
                    run.state = state
                    run.failed_tasks = [
                        r[0]
                        for r in dep.query(
                            "SELECT task_id FROM task_instance WHERE dag_id = ? AND run_id = ? AND state = 'failed'",
                            run.dag_id,
                            run.run_id,
                        )
                    ]
                    active.remove(run)
                    done.append(run)
                    say(
                        f"[{time.monotonic() - started:5.0f}s] run {run.index:3d}: {state}"
                        f"{' (' + ', '.join(run.failed_tasks) + ' failed)' if run.failed_tasks else ''}",
                        flush=True,
                    )
            time.sleep(0.3)
        time.sleep(2.0)  # let the last permanent deletes land in the usage record
        if distributed is not None:
            distributed.settle()
        result = _verdict(dep, done, time.monotonic() - started)
        result.executor, result.startup_seconds, result.peak_rss_mb = executor, startup, peak_rss / 2**20
        if distributed is not None:  # the worker kill replaces the task-process kill
            result.faults.pop("kill -9 of start_cluster", None)
            result.faults.update(distributed.counts)
            result.crash_restarts = dict(distributed.crash_restarts)
        return result
    raise AssertionError("unreachable")


def _verdict(dep: Deployment, done: list[Run], seconds: float) -> ChaosResult:
    clusters = dep.ws("GET", "/api/2.0/airbricks/clusters")["clusters"]
    docs = _cluster_docs(clusters)
    db_runs = _list_db_runs(dep)
    state = dep.ws("GET", FAULTS)
    faults = dict(state.get("injected", {}))
    unattributed = _attribute_http_hits(state.get("hits", []), done, docs, db_runs)
    faults["kill -9 of start_cluster"] = sum(r.killed for r in done)
    faults["deferrable runs (mode)"] = sum(r.plan.deferrable for r in done)
    duplicated, replaced = _duplicates(clusters)
    missing, races, transient, worker_lost = [], [], [], []
    for run in done:
        if run.state != "failed":
            continue
        reasons = _reasons(dep, run, docs, db_runs)
        if reasons == set(HTTP_REASONS) and any(_transient_http(_latest_log(dep, run, t)) for t in run.failed_tasks):
            transient.append(f"{run.run_id}: {', '.join(run.failed_tasks)} failed on a transient HTTP fault")
        for task_id in run.failed_tasks or ["(no failed task)"]:
            log = _latest_log(dep, run, task_id)
            if any(reason in log for reason in reasons):
                continue
            if _airflow_race(dep, run, task_id):
                races.append(f"{run.run_id}/{task_id}")
            elif (last := _tries(dep, run, task_id)) in run.lost.get(task_id, set()):
                worker_lost.append(
                    f"{run.run_id}/{task_id}: its worker was killed on its last try ({last}; "
                    f"tries lost: {sorted(run.lost[task_id])})"
                )
            else:
                missing.append(f"{run.run_id}/{task_id}: none of {sorted(reasons)} in its log")
    lines = [
        f"{r.run_id} {r.dag_id:<22} {r.state:<8} {r.plan.label() or '-'}{_went_through(r, docs)}"
        f"{' | failed: ' + ', '.join(r.failed_tasks) if r.failed_tasks else ''}"
        for r in done
    ]
    return ChaosResult(
        runs=len(done),
        seconds=seconds,
        faults=faults,
        outcomes=dict(Counter(r.state for r in done)),
        clusters_created=sum(c.get("compute_type") == "ALL_PURPOSE" for c in clusters),
        clusters_left=[c["cluster_id"] for c in clusters if not c.get("deleted")],
        duplicated=duplicated,
        replaced=replaced,
        missing_reason=missing,
        airflow_races=races,
        run_lines=sorted(lines),
        transient_failed=transient,
        unattributed_http=unattributed,
        worker_lost=worker_lost,
    )


def _tries(dep: Deployment, run: Run, task_id: str) -> int:
    rows = dep.query(
        "SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
        run.dag_id,
        run.run_id,
        task_id,
    )
    return int(rows[0][0]) if rows else 1


def _attribute_http_hits(
    hits: list[dict[str, Any]], done: list[Run], docs: dict[str, dict[str, Any]], db_runs: list[dict[str, Any]]
) -> list[str]:
    """Put each injected HTTP fault on the DAG run whose request it answered (``Run.http``), by the request's
    subject as the workspace recorded it: a cluster (its owner tags), a job run (its run name names the day),
    a DBFS path (the landing folder names the day).  Returns the hits no run can be found for."""
    by_run_id = {run.run_id: run for run in done}
    by_day = {run.day.isoformat(): run for run in done}
    run_names = {str(r.get("run_id")): r.get("run_name") or "" for r in db_runs}
    unattributed = []
    for hit in hits:
        owner = None
        if "cluster_id" in hit:
            owner = by_run_id.get(((docs.get(hit["cluster_id"]) or {}).get("custom_tags") or {}).get("airflow_run_id"))
        elif "run_id" in hit:
            name = run_names.get(hit["run_id"], "")
            owner = next((run for day, run in by_day.items() if day in name), None)
        elif "path" in hit:
            owner = next((run for day, run in by_day.items() if f"/landing/{day}/" in hit["path"]), None)
        endpoint = hit["request"].split("/api/", 1)[-1].split("/", 1)[-1]
        if owner is None:
            unattributed.append(f"{hit['kind']} {hit['method']} {hit['request']} {hit}")
        else:
            owner.http.append(f"{hit['kind']} {endpoint}")
    return unattributed


#: What a task log shows when an HTTP call failed on a transient fault (the provider's and requests' words).
TRANSIENT_SIGNS = (
    "429 Client Error",
    "503 Server Error",
    "REQUEST_LIMIT_EXCEEDED",
    "TEMPORARILY_UNAVAILABLE",
    "Connection aborted",
    "RemoteDisconnected",
    "ServerDisconnectedError",
    "ConnectionError",
)


def _transient_http(log: str) -> bool:
    return any(sign in log for sign in TRANSIENT_SIGNS)


def _went_through(run: Run, docs: dict[str, dict[str, Any]]) -> str:
    """What this run met, exactly: deployment-wide faults while it was active, its own clusters' faults."""
    met = [*run.http, *run.events]
    for doc in docs.values():
        if (doc.get("custom_tags") or {}).get("airflow_run_id") != run.run_id:
            continue
        code = (doc.get("termination_reason") or {}).get("code")
        if code and code not in ("USER_REQUEST", "INACTIVITY"):
            met.append(f"cluster {code}")
    return f" | went through: {', '.join(met)}" if met else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[0],
        help="one or more seeds: one deployment and one table each, then a summary",
    )
    parser.add_argument("--concurrency", type=int, default=3, help="DAG runs active at once")
    parser.add_argument("--workdir", type=Path, help="keep AIRFLOW_HOME and logs here (default: a temp dir)")
    parser.add_argument(
        "--executor",
        choices=("local", "celery"),
        default="local",
        help="local: LocalExecutor on SQLite; celery: CeleryExecutor, 2 workers, PostgreSQL, Redis",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    from _machine import describe

    results = []
    for seed in args.seed:
        workdir = args.workdir / f"seed-{seed}" if args.workdir and len(args.seed) > 1 else args.workdir
        result = run_chaos(args.runs, seed, args.concurrency, workdir=workdir, executor=args.executor)
        results.append(result)
        print("\n== runs ==\n" + "\n".join(result.run_lines))
        for title, items in (
            ("clusters left", result.clusters_left),
            ("duplicated clusters", result.duplicated),
            ("replaced after a failed launch", result.replaced),
            ("failed runs lacking the reason", result.missing_reason),
            ("failed by a transient HTTP fault alone", result.transient_failed),
            ("HTTP faults attributed to no run", result.unattributed_http),
            ("failed by Airflow's defer/resume race", result.airflow_races),
            ("failed by losing their worker on their last try", result.worker_lost),
        ):
            if items:
                print(f"\n== {title} ==\n" + "\n".join(items))
        print(f"\n== chaos: seed {seed}, {describe()} ==\n{result.table()}", flush=True)
    if len(results) > 1:
        print(f"\n== chaos summary: {args.executor}, seeds {args.seed}, {args.runs} runs each ==")
        print("seed  wall s  start s  peak MB  failed  left  duplicated  no-reason  transient-HTTP")
        for seed, r in zip(args.seed, results, strict=True):  # one result per seed
            print(
                f"{seed:>4}  {r.seconds:>6.0f}  {r.startup_seconds:>7.0f}  {r.peak_rss_mb:>7.0f}  "
                f"{r.outcomes.get('failed', 0):>6}  {len(r.clusters_left):>4}  {len(r.duplicated):>10}  "
                f"{len(r.missing_reason):>9}  {len(r.transient_failed):>14}"
            )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
