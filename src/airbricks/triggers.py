"""Triggers, in the triggerer's event loop: wait for a cluster state or a file (deferrable mode), watch for files.

Each trigger serializes to its import path and plain kwargs and polls through the async half of
:class:`~airbricks.hooks.AirbricksDatabricksHook`.  The deferrable-mode ones yield exactly one ``TriggerEvent``
whose payload has a ``status`` (``success`` / ``error`` / ``timeout``) and a ``message``; the file-arrival watcher
(:class:`DatabricksFileArrivalTrigger`, for an ``AssetWatcher``) yields one per new file, for as long as it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airbricks.errors import DatabricksRequestError
from airbricks.hooks import AirbricksDatabricksHook
from airbricks.retry import DATABRICKS_RETRY_ARGS
from airbricks.utils.clusters import RUNNING, TERMINAL_STATES
from airbricks.utils.files import ArrivalMark, FileTarget, iso_time, to_epoch_ms


class DatabricksClusterStateTrigger(BaseTrigger):
    """Wait until a cluster is RUNNING, or report that it is terminal (TERMINATING/TERMINATED/ERROR/UNKNOWN).

    :param cluster_id: the cluster to watch.
    :param databricks_conn_id: the Databricks connection.
    :param poll_interval: seconds between two ``clusters/get`` calls.
    :param timeout: seconds since the trigger started after which it reports an error.
    :param retry_limit: the operator's explicit ``databricks_retry_limit`` (with ``retry_delay``: the provider's
        count-based retries); ``None``: :data:`airbricks.retry.DATABRICKS_RETRY_ARGS`.
    :param retry_delay: the operator's explicit ``databricks_retry_delay``.
    """

    def __init__(
        self,
        cluster_id: str,
        databricks_conn_id: str = "databricks_default",
        poll_interval: float = 10.0,
        timeout: float | None = None,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.databricks_conn_id = databricks_conn_id
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay

    def serialize(self) -> tuple[str, dict[str, Any]]:
        retry = {
            k: v for k, v in (("retry_limit", self.retry_limit), ("retry_delay", self.retry_delay)) if v is not None
        }
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cluster_id": self.cluster_id,
                "databricks_conn_id": self.databricks_conn_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                **retry,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        if self.retry_limit is None and self.retry_delay is None:
            retry: dict[str, Any] = {"retry_args": DATABRICKS_RETRY_ARGS}
        else:
            retry = {
                "retry_limit": 3 if self.retry_limit is None else self.retry_limit,
                "retry_delay": 1.0 if self.retry_delay is None else self.retry_delay,
            }
        hook = AirbricksDatabricksHook(self.databricks_conn_id, caller=type(self).__name__, **retry)
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        base = {"cluster_id": self.cluster_id}
        async with hook.shared_session():  # keep-alive connections shared by all waits in this loop
            event = await self._wait(hook, loop, deadline, base)
        yield event

    async def _wait(
        self,
        hook: AirbricksDatabricksHook,
        loop: asyncio.AbstractEventLoop,
        deadline: float | None,
        base: dict[str, Any],
    ) -> TriggerEvent:
        while True:
            try:
                cluster = await hook.a_get_cluster(self.cluster_id)
            except DatabricksRequestError as exc:
                return TriggerEvent({**base, "status": "error", "message": str(exc)})
            state = cluster.get("state", "")
            if state == RUNNING:
                return TriggerEvent(
                    {**base, "status": "success", "state": state, "message": f"cluster {self.cluster_id} is RUNNING"}
                )
            if state in TERMINAL_STATES:  # it will not become RUNNING by itself: fail now
                return TriggerEvent(
                    {
                        **base,
                        "status": "error",
                        "state": state,
                        "state_message": cluster.get("state_message", ""),
                        "termination_reason": cluster.get("termination_reason"),
                        "message": f"cluster {self.cluster_id} ended {state}",
                    }
                )
            if deadline is not None and loop.time() > deadline:
                return TriggerEvent(
                    {
                        **base,
                        "status": "timeout",
                        "state": state,
                        "message": f"cluster {self.cluster_id} still {state} after {self.timeout}s",
                    }
                )
            await asyncio.sleep(self.poll_interval)


class DatabricksFileTrigger(BaseTrigger):
    """Wait until a DBFS or Volume path (optionally a glob in its last segment) exists and is fresh enough.

    :param path: ``dbfs:/...``, ``/...`` (DBFS) or ``/Volumes/...`` (Files API); ``*?[]`` allowed in the
        last segment.
    :param databricks_conn_id: the Databricks connection.
    :param newer_than_ms: only files modified strictly after this (ms since epoch) count; ``None``: any.
    :param poll_interval: seconds between two checks.
    :param timeout_at: when to give up (seconds since epoch; ``None``: never) with a ``timeout`` event. The
        sensor's own deadline, carried by the trigger because nothing else enforces it everywhere: the
        scheduler's deferral timeout does not run under ``dag.test()`` / ``airflow dags test``, and an absolute
        time survives a triggerer restart.
    """

    def __init__(
        self,
        path: str,
        databricks_conn_id: str = "databricks_default",
        newer_than_ms: int | None = None,
        poll_interval: float = 60.0,
        timeout_at: float | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.databricks_conn_id = databricks_conn_id
        self.newer_than_ms = newer_than_ms
        self.poll_interval = poll_interval
        self.timeout_at = timeout_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "path": self.path,
                "databricks_conn_id": self.databricks_conn_id,
                "newer_than_ms": self.newer_than_ms,
                "poll_interval": self.poll_interval,
                "timeout_at": self.timeout_at,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = AirbricksDatabricksHook(
            self.databricks_conn_id, caller=type(self).__name__, retry_args=DATABRICKS_RETRY_ARGS
        )
        target = FileTarget.parse(self.path)
        async with hook.shared_session():  # keep-alive connections shared by all waits in this loop
            event = await self._wait(hook, target)
        yield event

    async def _wait(self, hook: AirbricksDatabricksHook, target: FileTarget) -> TriggerEvent:
        while True:
            try:
                found = await target.a_find(hook, self.newer_than_ms)
            except DatabricksRequestError as exc:
                return TriggerEvent({"status": "error", "path": self.path, "message": str(exc)})
            if found is not None:
                return TriggerEvent(
                    {"status": "success", "path": self.path, "file": found, "message": f"found {found['path']}"}
                )
            left = None if self.timeout_at is None else self.timeout_at - time.time()
            if self.timeout_at is not None and left is not None and left <= 0:
                return TriggerEvent(
                    {
                        "status": "timeout",
                        "path": self.path,
                        "message": f"no file at {self.path} by {iso_time(self.timeout_at * 1000)}",
                    }
                )
            await asyncio.sleep(self.poll_interval if left is None else min(self.poll_interval, left))


class DatabricksFileArrivalTrigger(BaseEventTrigger):
    """Start DAGs when a file lands: one event per new or updated DBFS/Volume file, for an ``AssetWatcher``.

    ``Asset("landing", watchers=[AssetWatcher(name="landing", trigger=DatabricksFileArrivalTrigger(...))])``:
    the triggerer runs it for as long as the asset is watched, every DAG scheduled on the asset starts once
    per event, and the asset event's ``extra["payload"]`` is the file: ``{"path", "size",
    "modification_time"}`` (ms since epoch) and ``"modified"`` (ISO time, UTC).

    The file check is :class:`~airbricks.utils.files.FileTarget`'s, as for the sensor and
    :class:`DatabricksFileTrigger`.  What fired already is an :class:`~airbricks.utils.files.ArrivalMark`
    (kept in memory, and in the asset's state store where Airflow has one, 3.3+, so a restarted triggerer
    does not fire again for the same files).  An API error is logged and the next poll tries again: a
    watcher has no task to fail, and ending would make the triggerer start it afresh.

    :param path: ``dbfs:/...``, ``/...`` (DBFS) or ``/Volumes/...``; ``*?[]`` allowed in the last segment.
        Checked when the DAG file is parsed.
    :param databricks_conn_id: the Databricks connection.
    :param newer_than: only files modified strictly after this fire (a datetime, naive = UTC, or an ISO-8601
        string): a fixed time such as the day the pipeline goes live, never ``datetime.now()`` (the trigger's
        arguments identify it; a value changing at every parse makes a new watcher each time).  ``None``: a
        file already there fires once.
    :param poll_interval: seconds between two checks.
    """

    def __init__(
        self,
        path: str,
        databricks_conn_id: str = "databricks_default",
        newer_than: datetime | str | None = None,
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()
        FileTarget.parse(path)  # a bad path fails the DAG file's import, not the triggerer later
        self.path = path
        self.databricks_conn_id = databricks_conn_id
        self.newer_than_ms = to_epoch_ms(newer_than)
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "path": self.path,
                "databricks_conn_id": self.databricks_conn_id,
                "newer_than": iso_time(self.newer_than_ms),
                "poll_interval": self.poll_interval,
            },
        )

    @property
    def _state_key(self) -> str:
        return f"airbricks.file_arrival:{self.path}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = AirbricksDatabricksHook(
            self.databricks_conn_id, caller=type(self).__name__, retry_args=DATABRICKS_RETRY_ARGS
        )
        target = FileTarget.parse(self.path)
        mark = ArrivalMark(self.newer_than_ms).later_of(await self._stored_mark())
        self.log.info(
            "Watching %s every %gs for files modified after %s",
            target.display,
            self.poll_interval,
            iso_time(mark.modification_time) or "any time",
        )
        async with hook.shared_session():  # keep-alive connections shared by all waits in this loop
            while True:
                try:
                    candidates = await target.a_candidates(hook)
                except DatabricksRequestError as exc:
                    self.log.warning("Watching %s: %s; trying again in %gs", target.display, exc, self.poll_interval)
                    candidates = []
                for found in mark.new_files(candidates):
                    mark = mark.after(found)
                    self.log.info(
                        "New file %s (%s bytes, modified %s)",
                        found["path"],
                        found["size"],
                        iso_time(found["modification_time"]),
                    )
                    yield TriggerEvent(
                        {
                            "status": "success",
                            "watched": self.path,
                            "path": found["path"],
                            "size": found["size"],
                            "modification_time": found["modification_time"],
                            "modified": iso_time(found["modification_time"]),
                        }
                    )
                    await self._store_mark(mark)
                await asyncio.sleep(self.poll_interval)

    def _store(self) -> Any:
        """The asset state store Airflow 3.3+ gives a watcher (``None`` before: memory only)."""
        return getattr(self, "asset_state_store", None)

    async def _stored_mark(self) -> ArrivalMark | None:
        store = self._store()
        if store is None:
            return None
        try:
            return ArrivalMark.from_json(await store.aget(self._state_key))
        except Exception as exc:  # e.g. one watcher on several assets (no single store): never a reason to stop
            self.log.warning(
                "Could not read what %s fired before (%s): files already there may fire again", self.path, exc
            )
            return None

    async def _store_mark(self, mark: ArrivalMark) -> None:
        store = self._store()
        if store is None:
            return
        try:
            await store.aset(self._state_key, mark.to_json())
        except Exception as exc:
            self.log.warning("Could not store what %s fired (%s): a restarted triggerer may fire again", self.path, exc)
