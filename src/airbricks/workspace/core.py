"""The local workspace: its models composed over one store, lock and clock, and the ticker that drives them.

The ticker advances everything that moves with time - cluster lifecycles, run progress, timeouts,
auto-termination, pending faults - so a client polling ``clusters/get`` sees real transitions. With a
:class:`~airbricks.workspace.clock.ManualClock` and no ticker thread, :meth:`Workspace.step` moves time by
hand: the unit tests of the state machines run in milliseconds.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from airbricks.workspace.catalog.tables import Tables
from airbricks.workspace.catalog.unity_catalog import UnityCatalog
from airbricks.workspace.clock import Clock, SystemClock
from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.compute.commands import Contexts
from airbricks.workspace.compute.engine import NoEngine
from airbricks.workspace.compute.libraries import Libraries
from airbricks.workspace.compute.pools import InstancePools
from airbricks.workspace.compute.secrets import ClusterSecrets
from airbricks.workspace.config import TOKEN_FILE, WorkspaceConfig, load_or_create_token
from airbricks.workspace.faults.faults import Faults
from airbricks.workspace.identity.principals import Identity
from airbricks.workspace.jobs.execution import Launcher, TaskExecutor
from airbricks.workspace.jobs.git_source import GitCheckouts
from airbricks.workspace.jobs.jobs import Jobs
from airbricks.workspace.jobs.process import WarmKernels
from airbricks.workspace.jobs.run_as import RunIdentity
from airbricks.workspace.jobs.runs import Runs
from airbricks.workspace.jobs.scheduler import Scheduler
from airbricks.workspace.permissions.acls import Permissions
from airbricks.workspace.repos.git import GitRepos
from airbricks.workspace.repos.repos import Repos
from airbricks.workspace.secrets.scopes import SecretScopes
from airbricks.workspace.settings.workspace_conf import WorkspaceConf
from airbricks.workspace.shared import Shared
from airbricks.workspace.sql.execution import Executor
from airbricks.workspace.sql.queries import Queries
from airbricks.workspace.sql.sessions import SqlSessions
from airbricks.workspace.sql.statements import Statements
from airbricks.workspace.sql.warehouses import Warehouses
from airbricks.workspace.storage.dbfs import Dbfs
from airbricks.workspace.storage.local_paths import LocalPaths
from airbricks.workspace.storage.paths import volumes_dir
from airbricks.workspace.storage.volumes import Volumes
from airbricks.workspace.storage.workspace_objects import WorkspaceObjects
from airbricks.workspace.store import Store
from airbricks.workspace.ui.sessions import Sessions

if TYPE_CHECKING:
    from airbricks.workspace.compute.spark.engine import SparkEngine

__all__ = ["TOKEN_FILE", "Workspace", "WorkspaceConfig"]

log = logging.getLogger("airbricks.workspace")

#: A tick longer than this is logged with the model it was in (they all wait for each other).
SLOW_TICK_SECONDS = 5.0


def _workspace_id(store: Store) -> str:
    doc = store.get("meta", "workspace")
    if doc is None:
        doc = {"workspace_id": str(1_000_000_000_000 + secrets.randbelow(8_999_999_999_999))}
        store.put("meta", "workspace", doc)
    return doc["workspace_id"]


def _account_id(store: Store) -> str:
    """The account the workspace belongs to (``/.well-known/databricks-config``), fixed at first start."""
    doc = store.get("meta", "account")
    if doc is None:
        doc = {"account_id": str(uuid.uuid4())}
        store.put("meta", "account", doc)
    return doc["account_id"]


class Workspace:
    """One local workspace: all models over one store, plus the ticker thread.

    :param clock: where models read time (default: the system clock).
    :param launch: how task processes start (default: a real kernel process per task run).
    """

    def __init__(self, config: WorkspaceConfig, *, clock: Clock | None = None, launch: Launcher | None = None) -> None:
        self.config = config
        data_dir = Path(config.data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.token = load_or_create_token(data_dir, config.token)
        #: Sign-in links and browser sessions of the web UI (in memory: a restart signs browsers out).
        self.ui_sessions = Sessions(self.token, authenticate=lambda token: self.identity.authenticate(token))
        store = Store(data_dir / "state.db")
        self.shared = Shared(
            config=config,
            data_dir=data_dir,
            store=store,
            clock=clock or SystemClock(),
            workspace_id=_workspace_id(store),
        )
        self.identity = Identity(
            self.shared,
            token=self.token,
            run_principal=lambda token: self.run_identity.principal(token),
            on_user_created=lambda name: self.objects.mkdirs(f"/Users/{name}"),
        )
        self.secrets = SecretScopes(self.shared)
        self.workspace_conf = WorkspaceConf(self.shared)
        cluster_secrets = ClusterSecrets(self.secrets, self.identity)
        self.dbfs = Dbfs(self.shared)
        self.catalog = UnityCatalog(self.shared, volumes_dir(data_dir))
        self.volumes = Volumes(self.shared, require_volume=self.catalog.require_volume)
        engine = self._engine(config)
        #: Instance pools: their documents here, their idle drivers in the engine (so before the clusters, which
        #: may relaunch drivers from pools at recovery).
        self.pools = InstancePools(self.shared, engine=engine)
        self.clusters = Clusters(
            self.shared,
            engine=engine,
            require_pool=self.pools.require_active,
            launch_spec=cluster_secrets.launch_spec,
            is_busy=lambda cluster_id: self.runs.is_cluster_busy(cluster_id),
            on_fault=lambda kind: self.faults.count(kind),
        )
        self.faults = Faults(self.shared, self.clusters)
        self.tables = Tables(self.catalog, self.clusters.engine.metastore_port)
        self.objects = WorkspaceObjects(self.shared)
        self.git = GitRepos(self.shared.data_dir / "git")
        self.repos = Repos(self.shared, self.objects, self.git)
        self.objects.mkdirs(f"/Users/{self.identity.user_name}")
        # Who may act on what; the objects' own models answer whether an id exists (late-bound: made below).
        self.permissions = Permissions(
            self.shared,
            directory=self.identity,
            tree=self.objects,
            exists={
                "clusters": lambda ident: self.clusters.get(ident),
                "jobs": lambda ident: self.jobs.get(ident),
                "warehouses": lambda ident: self.warehouses.get(ident),
                "repos": lambda ident: self.repos.get(ident),
            },
        )
        self.local_paths = LocalPaths(self.dbfs, self.volumes, self.objects)
        self.contexts = Contexts(self.shared, self.clusters, self.local_paths)
        self.libraries = Libraries(self.shared, clusters=self.clusters, local_paths=self.local_paths)
        # SQL warehouses are drivers of the clusters' engine: one metastore, one capacity.
        # The executor runs the statements and watches the warehouses: late-bound, it is made last.
        self.warehouses = Warehouses(
            self.shared,
            engine=self.clusters.engine,
            is_busy=lambda warehouse_id: self.sql.is_busy(warehouse_id),
            on_running=lambda warehouse_id: self.sql.warm(warehouse_id),
            on_down=lambda warehouse_id: self.sql.abandon(warehouse_id),
        )
        self.sql_sessions = SqlSessions(self.shared, warehouses=self.warehouses)
        self.statements = Statements(
            self.shared,
            warehouses=self.warehouses,
            sessions=self.sql_sessions,
            enqueue=lambda statement: self.sql.enqueue(statement),
            interrupt=lambda statement: self.sql.interrupt(statement),
            owner=lambda: (self.identity.me.id, self.identity.me.name),
        )
        self.sql = Executor(
            self.statements, self.warehouses, catalogs=lambda: [c["name"] for c in self.catalog.list_catalogs()]
        )
        self.queries = Queries(self.shared)
        self.run_identity = RunIdentity(self.shared, self.identity, cluster_secrets)
        #: Kernel processes started ahead of notebook and Python runs (None: every run starts its own).
        self.kernels = (
            WarmKernels(config.warm_kernels, data_dir / "kernels", config.python_executable)
            if config.warm_kernels
            else None
        )
        executor = TaskExecutor(
            self.shared,
            clusters=self.clusters,
            notebooks=self.objects,
            local_paths=self.local_paths,
            identity=self.run_identity,
            cluster_libraries=self.libraries,
            git_checkouts=GitCheckouts(self.git),
            launch=launch,
            kernels=self.kernels,
        )
        self.runs = Runs(
            self.shared, executor=executor, jobs=lambda: self.jobs, statements=self.statements, queries=self.queries
        )
        self.jobs = Jobs(self.shared, runs=self.runs, on_change=lambda job_id: self.scheduler.changed(job_id))
        self.scheduler = Scheduler(
            self.shared,
            jobs=lambda: self.jobs.jobs,
            start_run=lambda job_id, trigger, token: self.jobs.start_triggered(job_id, trigger, token),
            run_result=lambda run_id: self.runs.result_of(run_id),
            cancel_run=lambda run_id: self.runs.cancel(run_id),
            volume_path=lambda url: self.volumes.local_path(url),
            # Only while the metastore runs (no table changes otherwise): a check never starts it.
            table_location=lambda name: (
                self.tables.get(name).get("storage_location") if self.clusters.engine.metastore_port(False) else None
            ),
            check_ms=int(config.trigger_check_seconds * 1000),
        )
        self._tickers: list[Callable[[int], None]] = [
            self.clusters.tick,
            self.pools.tick,
            self.runs.tick,
            self.faults.tick,
            self.libraries.tick,
            self.warehouses.tick,
            self.statements.tick,
            self.contexts.tick,
            self.sql_sessions.tick,
            self.scheduler.tick,
        ]
        if self.kernels is not None:
            self._tickers.append(self._refill_kernels)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _refill_kernels(self, now: int) -> None:
        if self.kernels is not None:
            self.kernels.refill()

    def _engine(self, config: WorkspaceConfig) -> NoEngine | SparkEngine:
        if not config.spark:
            return NoEngine()
        from airbricks.workspace.compute.spark.engine import SparkEngine

        return SparkEngine(
            self.shared.data_dir,
            dbfs_root=self.dbfs.root,
            volumes_root=self.volumes.root,
            max_drivers=config.max_spark_drivers,
            driver_memory=config.spark_driver_memory,
            packages=config.spark_packages,
            fast_start=config.spark_jit == "fast-start",
            class_cache=config.spark_class_cache,
            default_pool=config.spark_default_pool,
        )

    # Facts the server and tests read.
    data_dir = property(lambda self: self.shared.data_dir)
    store = property(lambda self: self.shared.store)
    lock = property(lambda self: self.shared.lock)
    clock = property(lambda self: self.shared.clock)
    workspace_id = property(lambda self: self.shared.workspace_id)
    account_id = property(lambda self: _account_id(self.shared.store))

    @property
    def url(self) -> str:
        """Base URL clients use (set by the server once bound); used for run_page_url and cluster links."""
        return self.shared.url

    @url.setter
    def url(self, value: str) -> None:
        self.shared.url = value

    @property
    def tls_url(self) -> str | None:
        """The HTTPS listener's base URL (set by the server when it runs one)."""
        return self.shared.tls_url

    @tls_url.setter
    def tls_url(self, value: str | None) -> None:
        self.shared.tls_url = value

    def start(self, *, ticker: bool = True) -> None:
        """Recover what a previous process left (runs in flight), install configured faults, start ticking."""
        self.clusters.recover()
        self.warehouses.recover()
        self.runs.recover()
        self.scheduler.start()
        self.faults.start()
        if ticker:
            self._thread = threading.Thread(target=self._tick_forever, name="airbricks-ticker", daemon=True)
            self._thread.start()

    def _tick_forever(self) -> None:
        interval = self.config.tick_seconds
        while not self._stop.wait(interval):
            self.tick()

    def tick(self) -> None:
        now = self.shared.now_ms()
        for tick in self._tickers:
            began = time.monotonic()
            try:
                tick(now)
            except Exception:  # a bug in one model must not stop time for the others
                log.exception("ticker failed in %s", getattr(tick, "__qualname__", tick))
            took = time.monotonic() - began
            if took > SLOW_TICK_SECONDS:  # every cluster, run and warehouse waited meanwhile: say where
                log.warning("the ticker spent %.1f s in %s", took, getattr(tick, "__qualname__", tick))

    def step(self, ms: int | float = 0) -> None:
        """Move a manual clock forward by ``ms`` and tick once (tests without the ticker thread)."""
        advance = getattr(self.shared.clock, "advance", None)
        if advance is None:
            raise TypeError("Workspace.step needs a ManualClock (pass clock=ManualClock() to Workspace)")
        advance(ms)
        self.tick()

    def stop(self) -> None:
        """Stop the ticker and any processes still running; state stays on disk."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.runs.shutdown()
        if self.kernels is not None:
            self.kernels.shutdown()
        self.contexts.shutdown()
        self.sql.shutdown()
        self.clusters.engine.shutdown()
        self.dbfs.shutdown()
        self.shared.store.close()
