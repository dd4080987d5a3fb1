"""Running the local workspace: in-process (tests, the demo) or in the foreground (``airbricks serve``)."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from airbricks.workspace.app import create_app
from airbricks.workspace.core import Workspace, WorkspaceConfig
from airbricks.workspace.ui import login_url

#: How long an idle keep-alive connection stays open. uvicorn's default (5 s) is shorter than the gaps clients
#: leave between polls (the SDK's pooled session, the provider's 30 s poll), so a reused connection was reset.
KEEP_ALIVE_SECONDS = 120


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _can_bind(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def connection_uri(host: str, port: int, token: str) -> str:
    """The ``AIRFLOW_CONN_DATABRICKS_DEFAULT`` value: plain HTTP needs schema ``http`` and a separate port."""
    return f"databricks://:{token}@{host}:{port}/http"


class LocalWorkspace:
    """A local workspace served over HTTP from a background thread.

    Use as a context manager (tests) or call :meth:`start` / :meth:`stop`::

        with LocalWorkspace(data_dir=tmp_path) as ws:
            os.environ["AIRFLOW_CONN_DATABRICKS_DEFAULT"] = ws.connection_uri
    """

    def __init__(self, data_dir: str | Path, *, host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = WorkspaceConfig(data_dir=Path(data_dir), **settings)
        self.workspace: Workspace | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        assert self.workspace is not None, "start the workspace first"
        return self.workspace.token

    @property
    def connection_uri(self) -> str:
        return connection_uri(self.host, self.port, self.token)

    def ui_login_url(self) -> str:
        """A one-time sign-in link of the web UI (what ``airbricks serve`` prints)."""
        assert self.workspace is not None, "start the workspace first"
        return login_url(self.workspace)

    def start(self) -> LocalWorkspace:
        self.workspace = Workspace(self.config)
        self.workspace.url = self.url
        self.workspace.start()
        config = uvicorn.Config(
            create_app(self.workspace), host=self.host, port=self.port, log_level="warning",
            access_log=False, lifespan="off", timeout_graceful_shutdown=2, timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="airbricks-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.workspace.stop()
                raise RuntimeError(f"the local workspace could not listen on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.workspace is not None:
            self.workspace.stop()
        self._server = self._thread = None

    def __enter__(self) -> LocalWorkspace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(data_dir: Path, host: str, port: int, **settings: Any) -> None:
    """Run in the foreground until SIGINT/SIGTERM (``airbricks serve``)."""
    if port and not _can_bind(host, port):
        raise SystemExit(f"airbricks serve: port {port} on {host} is in use (another airbricks serve?): pass "
                         "--port N, or --port 0 for any free port.")
    config = WorkspaceConfig(data_dir=data_dir, **settings)
    workspace = Workspace(config)
    port = port or free_port(host)
    workspace.url = f"http://{host}:{port}"
    _log_to_data_dir(workspace.data_dir)
    _log_to_terminal()
    workspace.start()
    print("airbricks local Databricks workspace")
    print(f"  listening on      {workspace.url}")
    print(f"  data dir          {workspace.data_dir}")
    print(f"  clusters          {workspace.clusters.engine.describe()}")
    uri = connection_uri(host, port, workspace.token)
    print(f"  Airflow:          export AIRFLOW_CONN_DATABRICKS_DEFAULT='{uri}'")
    print(f"  Airflow CLI:      airflow connections add databricks_default --conn-uri '{uri}'")
    print(f"  Airflow UI form:  Connection Type Databricks, Host {host}, Port {port}, Schema http (plain HTTP: "
          "leave it empty and clients try HTTPS), Password the token")
    print(f"  databricks-sdk:   export DATABRICKS_HOST={workspace.url} "
          f"DATABRICKS_TOKEN={workspace.token}")
    print(f"  web UI:           {login_url(workspace)}  (signs one browser in, once)")
    print("  (the token is kept in the data dir, readable by you only)", flush=True)
    try:
        # Each request (method, path, status) and each cluster/run state change in the terminal; tokens travel
        # in headers, which neither log.
        uvicorn.run(create_app(workspace), host=host, port=port, log_level="info", access_log=True,
                    lifespan="off", timeout_keep_alive=KEEP_ALIVE_SECONDS)
    finally:
        workspace.stop()


def _log_to_terminal() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("airbricks").addHandler(handler)


def _log_to_data_dir(data_dir: Path) -> None:
    handler = logging.FileHandler(data_dir / "server.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("airbricks")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
