"""The ``spark`` a notebook or Python task sees in the kernel process, and the FUSE paths of a driver.

On a cluster with a Spark engine, ``spark`` is a Spark Connect session to the cluster's driver, opened on
first use (a notebook that never touches Spark pays nothing) with its own session id: temp views are per
notebook run while global temp views, cached tables and the catalog are shared on the cluster, as on
Databricks. ``SPARK_REMOTE`` carries the same session, so ``SparkSession.builder.getOrCreate()`` in a Python
file gets it too. Elsewhere ``spark`` explains why there is none. Standard library only until first use.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airbricks.workspace.storage import paths


class SparkUnavailableError(RuntimeError):
    """Raised on any use of ``spark`` where the task's compute has no Spark engine."""


class UnavailableSpark:
    """Stands in for ``spark`` without an engine: any attribute access says why and what to do."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise SparkUnavailableError(f"spark.{name} is not available: {self._reason}")

    def __repr__(self) -> str:
        return "<spark: not available>"


class SparkProxy:
    """A Spark Connect session to ``remote``, created on first attribute access, with the cluster's and the
    task's jars added to it (as on Databricks, where installed jars are on every notebook's class path)."""

    def __init__(
        self, remote: str, jars: list[str] | None = None, catalogs: Callable[[], Iterable[str]] | None = None
    ) -> None:
        self._remote = remote
        #: The workspace's Unity Catalog catalogs (three-part names of catalogs other than main/hive_metastore).
        self._catalogs = catalogs
        self._jars = list(jars or [])
        self._session: Any = None
        self._delta: bool | None = None

    def _get(self) -> Any:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise SparkUnavailableError(
                    "spark needs pyspark in the kernel's environment: pip install 'airbricks[spark]'"
                ) from exc
            self._session = SparkSession.builder.remote(self._remote).getOrCreate()
            # The driver is on loopback: a result stream never breaks, so the reattach protocol (an extra
            # ReleaseExecute call per query from a thread pool) only adds latency - ~35% of a trivial query.
            self._session.client.disable_reattachable_execute()
            if self._jars:
                self._session.addArtifacts(*self._jars)
        return self._session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def sql(self, sqlQuery: str, args: Any = None, **kwargs: Any) -> Any:
        """``spark.sql`` (and so ``%sql``) as on Databricks: the statement through the workspace's SQL dialect
        layer (:mod:`airbricks.workspace.sql.dialect`: ``USE CATALOG``, ``CREATE OR REPLACE TABLE``, Delta-only
        statements refused by name), a missing catalog reported with Databricks' message."""
        from pyspark.errors import AnalysisException

        from airbricks.workspace.sql.dialect import DialectError, databricks_message, prepare

        session = self._get()
        try:
            prepared = prepare(sqlQuery, delta=self._delta_loaded(), catalogs=self._catalogs)
        except DialectError as refused:
            raise AnalysisException(message=str(refused)) from None
        try:
            for before in prepared.before:
                session.sql(before)  # a command: runs when sent
            if prepared.copy is not None:
                from airbricks.workspace.sql.copy_into import run

                return run(session, prepared.copy)
            return session.sql(prepared.statement, args, **kwargs)
        except AnalysisException as exc:
            better = databricks_message(str(exc))
            if better is None:
                raise
            raise AnalysisException(message=better) from None

    def _delta_loaded(self) -> bool:
        """Whether the driver loads Delta Lake (asked once per session: one round trip)."""
        if self._delta is None:
            packages = self._get().conf.get("spark.jars.packages", "") or ""
            self._delta = "io.delta:" in packages
        return self._delta

    def __repr__(self) -> str:
        return repr(self._session) if self._session is not None else "<SparkSession (Spark Connect), not yet used>"

    def close(self) -> None:
        """Release the session on the driver (its temp views go with it), if it was ever opened."""
        if self._session is not None:
            try:
                self._session.stop()
            except Exception:
                pass
            finally:  # a closed client sends nothing from pyspark's exit hook (which could wait on a dead driver)
                try:
                    self._session.client.close()
                except Exception:
                    pass


def connect_url(remote: str, session_id: str) -> str:
    return f"{remote.rstrip('/')}/;session_id={session_id}"


def mount_fuse_paths(dbfs_root: Path, volumes_root: Path) -> None:
    """Make ``open("/dbfs/...")`` and ``open("/Volumes/...")`` (and the common ``os`` calls) reach the local
    DBFS and volumes, as the Databricks FUSE mounts do on a driver."""

    def local(file: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            text = os.fspath(file)
            if isinstance(text, str) and (text in ("/dbfs", "/Volumes") or text.startswith(("/dbfs/", "/Volumes/"))):
                local_file, uri = paths.storage_file(text, dbfs_root=dbfs_root, volumes_root=volumes_root)
                paths.require_volume_folder(volumes_root, uri)
                return local_file
        return file

    def wrap(func: Any) -> Any:
        def wrapped(file: Any, *args: Any, **kwargs: Any) -> Any:
            return func(local(file), *args, **kwargs)

        # __wrapped__ only (inspect.unwrap finds the real call); the wrapper keeps its own name
        return functools.update_wrapper(wrapped, func, assigned=(), updated=())

    builtins.open = io.open = wrap(builtins.open)
    for name in ("listdir", "makedirs", "mkdir", "remove", "unlink", "stat", "scandir", "rmdir"):
        setattr(os, name, wrap(getattr(os, name)))
    for name in ("exists", "isfile", "isdir", "getsize"):
        setattr(os.path, name, wrap(getattr(os.path, name)))
