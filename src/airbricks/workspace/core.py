"""The local workspace's state: configuration, the store, the models, and the clock that drives them.

Models share one re-entrant lock (:attr:`Workspace.lock`): requests and the background ticker mutate state
under it, briefly. The ticker advances everything that moves with time - cluster lifecycles, run progress,
timeouts, auto-termination - so a client polling ``clusters/get`` sees real transitions.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from airbricks.workspace.store import Store

log = logging.getLogger("airbricks.workspace")


@dataclass
class WorkspaceConfig:
    """Settings of one local workspace. Durations are in (possibly scaled) seconds."""

    data_dir: Path
    token: str | None = None
    cluster_start_seconds: float = 2.0
    cluster_stop_seconds: float = 0.5
    cluster_restart_seconds: float | None = None
    cluster_resize_seconds: float = 0.5
    #: Auto-termination minutes are multiplied by this, so tests can watch INACTIVITY happen (60 = real time).
    seconds_per_minute: float = 60.0
    tick_seconds: float = 0.02
    #: The interpreter that runs notebooks (default: the server's own, ``sys.executable``).
    python_executable: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    #: Seed of the fault rules' random decisions (None: unseeded), so chaos runs can be replayed.
    fault_seed: int | None = None

    @property
    def restart_seconds(self) -> float:
        return self.cluster_restart_seconds if self.cluster_restart_seconds is not None else (
            self.cluster_stop_seconds + self.cluster_start_seconds)


class Ticking(Protocol):
    def tick(self, now_ms: int) -> None: ...


def now_ms() -> int:
    return int(time.time() * 1000)


TOKEN_FILE = "token"


def load_or_create_token(data_dir: Path, token: str | None) -> str:
    """The token every request must carry: the one given, else the one kept in the data dir (0600)."""
    if token:
        return token
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = "dapi" + secrets.token_hex(16)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the token is never readable by others, not even for a moment.
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(value + "\n")
    tmp.replace(path)
    return value


class Workspace:
    """One local workspace: all models over one store, plus the ticker thread."""

    def __init__(self, config: WorkspaceConfig) -> None:
        from airbricks.workspace.clusters import Clusters
        from airbricks.workspace.dbfs import Dbfs
        from airbricks.workspace.faults import Faults
        from airbricks.workspace.files import Volumes
        from airbricks.workspace.jobs import Jobs
        from airbricks.workspace.objects import WorkspaceObjects

        self.config = config
        self.data_dir = Path(config.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.token = load_or_create_token(self.data_dir, config.token)
        self.store = Store(self.data_dir / "state.db")
        self.lock = threading.RLock()
        self.workspace_id = self._workspace_id()
        #: Base URL clients use (set by the server once bound); used for run_page_url and cluster links.
        self.url = "http://127.0.0.1"
        self.faults = Faults(self)
        self.clusters = Clusters(self)
        self.dbfs = Dbfs(self)
        self.volumes = Volumes(self)
        self.objects = WorkspaceObjects(self)
        self.jobs = Jobs(self)
        self._tickers: list[Ticking] = [self.clusters, self.jobs, self.faults]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _workspace_id(self) -> str:
        doc = self.store.get("meta", "workspace")
        if doc is None:
            doc = {"workspace_id": str(1_000_000_000_000 + secrets.randbelow(8_999_999_999_999))}
            self.store.put("meta", "workspace", doc)
        return doc["workspace_id"]

    def start(self) -> None:
        """Recover what a previous process left (runs in flight), then start the ticker."""
        with self.lock:
            for model in (self.clusters, self.jobs):
                model.recover()
            self.faults.start()
        self._thread = threading.Thread(target=self._tick_forever, name="airbricks-ticker", daemon=True)
        self._thread.start()

    def _tick_forever(self) -> None:
        interval = self.config.tick_seconds
        while not self._stop.wait(interval):
            self.tick()

    def tick(self) -> None:
        now = now_ms()
        for model in self._tickers:
            try:
                with self.lock:
                    model.tick(now)
            except Exception:  # a bug in one model must not stop time for the others
                log.exception("ticker failed in %s", type(model).__name__)

    def stop(self) -> None:
        """Stop the ticker and any processes still running; state stays on disk."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.lock:
            self.jobs.shutdown()
            self.dbfs.shutdown()
        self.store.close()
