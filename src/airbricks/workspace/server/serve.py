"""Running the local workspace: in-process (tests, the demo) or in the foreground (``airbricks serve``)."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from airbricks.utils.processes import free_port
from airbricks.workspace.core import Workspace, WorkspaceConfig
from airbricks.workspace.fixtures import FixtureError, apply_fixtures, load_fixtures, summary
from airbricks.workspace.server.app import create_app
from airbricks.workspace.server.tls import TlsFiles, ensure_tls_files
from airbricks.workspace.ui import login_url

#: How long an idle keep-alive connection stays open. uvicorn's default (5 s) is shorter than the gaps clients
#: leave between polls (the SDK's pooled session, the provider's 30 s poll), so a reused connection was reset.
KEEP_ALIVE_SECONDS = 120


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

    def __init__(
        self,
        data_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        tls_port: int = 0,
        fixtures: str | Path | None = None,
        **settings: Any,
    ) -> None:
        self.host = host
        #: A workspace fixtures file (YAML or JSON) applied at every start: objects with the ids it gives.
        self.fixtures = Path(fixtures) if fixtures else None
        self.port = port or free_port(host)
        #: With ``tls``, a second listener serves the same workspace over HTTPS (what the SQL connector needs).
        self.tls_port = (tls_port or free_port(host)) if tls else None
        self.tls_files: TlsFiles | None = None
        self.config = WorkspaceConfig(data_dir=Path(data_dir), **settings)
        self.workspace: Workspace | None = None
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def tls_url(self) -> str | None:
        return f"https://{self.host}:{self.tls_port}" if self.tls_port else None

    @property
    def ca_file(self) -> Path | None:
        """The CA certificate HTTPS clients trust (``_tls_trusted_ca_file`` of the SQL connector)."""
        return self.tls_files.ca_file if self.tls_files else None

    @property
    def connector_extra(self) -> dict[str, Any]:
        """The Databricks connection extra that takes ``databricks-sql-connector`` to the HTTPS listener."""
        assert self.tls_port and self.ca_file, "start the workspace with tls=True first"
        return connector_extra(self.tls_port, self.ca_file)

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
        fixtures = load_fixtures(self.fixtures) if self.fixtures else None  # a bad file fails before anything runs
        self.workspace = Workspace(self.config)
        self.workspace.url = self.url
        self.workspace.start()
        app = create_app(self.workspace)
        try:
            if fixtures is not None:
                apply_fixtures(self.workspace, fixtures)
            self._servers.append(serve_in_thread(app, self.host, self.port))
            if self.tls_port:
                self.tls_files = ensure_tls_files(self.workspace.data_dir, [self.host])
                self.workspace.tls_url = self.tls_url
                self._servers.append(serve_in_thread(app, self.host, self.tls_port, tls=self.tls_files))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        if self.workspace is not None:
            self.workspace.stop()
        self._servers = []

    def __enter__(self) -> LocalWorkspace:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: Any, host: str, port: int, *, tls: TlsFiles | None = None, log_level: str = "warning", access_log: bool = False
) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``app`` from a daemon thread (HTTPS with ``tls``); returns once it listens."""
    # An idle TLS connection is not closed until its client answers the close: that would always cost the whole
    # grace period at stop, so the HTTPS listener waits less. uvicorn annotates the grace as an int but uses it
    # as asyncio.wait_for's timeout, where half a second works.
    grace: Any = 0.5 if tls else 2
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=grace,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        ssl_certfile=str(tls.cert_file) if tls else None,
        ssl_keyfile=str(tls.key_file) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"airbricks-http{'s' if tls else ''}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the local workspace could not listen on {'https' if tls else 'http'}://{host}:{port}")
        time.sleep(0.01)
    return server, thread


def serve_forever(
    data_dir: Path,
    host: str,
    port: int,
    *,
    tls_port: int | None = None,
    fixtures: Path | None = None,
    **settings: Any,
) -> None:
    """Run in the foreground until SIGINT/SIGTERM (``airbricks serve``); ``tls_port`` adds the HTTPS listener,
    ``fixtures`` a workspace fixtures file applied once the models are up (a bad one stops the start)."""
    try:
        loaded = load_fixtures(fixtures) if fixtures else None
    except FixtureError as err:
        raise SystemExit(f"airbricks serve: --fixtures: {err}") from None
    for what, number in (("--port", port), ("--tls-port", tls_port)):
        if number and not _can_bind(host, number):
            raise SystemExit(
                f"airbricks serve: port {number} on {host} is in use (another airbricks serve?): pass "
                f"{what} N, or {what} 0 for any free port."
            )
    config = WorkspaceConfig(data_dir=data_dir, **settings)
    workspace = Workspace(config)
    port = port or free_port(host)
    workspace.url = f"http://{host}:{port}"
    _log_to_data_dir(workspace.data_dir)
    _log_to_terminal()
    workspace.start()
    if loaded is not None:
        try:
            outcomes = apply_fixtures(workspace, loaded)
        except FixtureError as err:
            workspace.stop()
            raise SystemExit(f"airbricks serve: --fixtures: {err}") from None
    print("airbricks local Databricks workspace")
    print(f"  listening on      {workspace.url}")
    print(f"  data dir          {workspace.data_dir}")
    print(f"  clusters          {workspace.clusters.engine.describe()}")
    print(f"  user, cloud       {workspace.identity.user_name} (the token's), {config.cloud.upper()} node types")
    if loaded is not None:
        print(f"  fixtures          {loaded.source}: {summary(outcomes)}")
    uri = connection_uri(host, port, workspace.token)
    print(f"  Airflow:          export AIRFLOW_CONN_DATABRICKS_DEFAULT='{uri}'")
    print(f"  Airflow CLI:      airflow connections add databricks_default --conn-uri '{uri}'")
    print(
        f"  Airflow UI form:  Connection Type Databricks, Host {host}, Port {port}, Schema http (plain HTTP: "
        "leave it empty and clients try HTTPS), Password the token"
    )
    print(f"  databricks-sdk:   export DATABRICKS_HOST={workspace.url} DATABRICKS_TOKEN={workspace.token}")
    print(f"  web UI:           {login_url(workspace)}  (signs one browser in, once)")
    app = create_app(workspace)
    tls_server = None
    try:
        if tls_port is not None:
            tls_port = tls_port or free_port(host)
            files = ensure_tls_files(workspace.data_dir, [host])
            workspace.tls_url = f"https://{host}:{tls_port}"
            tls_server = serve_in_thread(app, host, tls_port, tls=files, log_level="info", access_log=True)
            print_tls_settings(workspace, host, port, tls_port, files)
        print("  (the token is kept in the data dir, readable by you only)", flush=True)
        # Each request (method, path, status) and each cluster/run state change in the terminal; tokens travel
        # in headers, which neither log.
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            access_log=True,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        if tls_server is not None:
            tls_server[0].should_exit = True
            tls_server[1].join(timeout=5)
        workspace.stop()


def print_tls_settings(workspace: Workspace, host: str, port: int, tls_port: int, files: TlsFiles) -> None:
    """How the SQL connector (DatabricksSqlOperator) reaches the HTTPS listener, and how REST clients trust it."""
    connection = json.dumps(
        {
            "conn_type": "databricks",
            "host": host,
            "port": port,
            "schema": "http",
            "password": workspace.token,
            "extra": connector_extra(tls_port, files.ca_file),
        }
    )
    print(f"  HTTPS listener    {workspace.tls_url} (same workspace; CA certificate {files.ca_file})")
    print(f"  SQL connector:    export AIRFLOW_CONN_DATABRICKS_DEFAULT='{connection}'")
    print(
        "                    (the same connection with the connector's extra; add http_path "
        "/sql/1.0/warehouses/<id> to it, or give the operator sql_endpoint_name)"
    )
    print(
        f"  HTTPS REST:       export REQUESTS_CA_BUNDLE={files.bundle_file} (the CA plus the public roots), then "
        f"DATABRICKS_HOST={workspace.tls_url}"
    )


def connector_extra(tls_port: int, ca_file: Path) -> dict[str, Any]:
    """The Databricks connection's extra for ``databricks-sql-connector``: the HTTPS port, the CA to trust, and
    telemetry off (the connector sends it, and first asks for feature flags, on port 443 of the host whatever
    ``_port`` says: nothing listens there, and its retries cost about 30 s per process)."""
    return {"_port": tls_port, "_tls_trusted_ca_file": str(ca_file), "enable_telemetry": False}


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
