"""Triggers for deferrable mode: wait for a cluster state, wait for a file, in the triggerer's event loop.

Each trigger serializes to its import path and plain kwargs, polls through the async half of
:class:`~airbricks.hooks.AirbricksDatabricksHook` and yields exactly one ``TriggerEvent`` whose payload has
a ``status`` (``success`` / ``error``) and a ``message``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airbricks.errors import DatabricksRequestError
from airbricks.hooks import AirbricksDatabricksHook
from airbricks.utils.clusters import RUNNING, TERMINAL_STATES
from airbricks.utils.files import FileTarget


class DatabricksClusterStateTrigger(BaseTrigger):
    """Wait until a cluster is RUNNING, or report that it is terminal (TERMINATING/TERMINATED/ERROR/UNKNOWN).

    :param cluster_id: the cluster to watch.
    :param databricks_conn_id: the Databricks connection.
    :param poll_interval: seconds between two ``clusters/get`` calls.
    :param timeout: seconds since the trigger started after which it reports an error.
    """

    def __init__(self, cluster_id: str, databricks_conn_id: str = "databricks_default",
                 poll_interval: float = 10.0, timeout: float | None = None) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.databricks_conn_id = databricks_conn_id
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "cluster_id": self.cluster_id, "databricks_conn_id": self.databricks_conn_id,
            "poll_interval": self.poll_interval, "timeout": self.timeout,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = AirbricksDatabricksHook(self.databricks_conn_id, caller=type(self).__name__)
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout is None else loop.time() + self.timeout
        base = {"cluster_id": self.cluster_id}
        async with hook.shared_session():  # keep-alive connections shared by all waits in this loop
            event = await self._wait(hook, loop, deadline, base)
        yield event

    async def _wait(self, hook: AirbricksDatabricksHook, loop: asyncio.AbstractEventLoop, deadline: float | None,
                    base: dict[str, Any]) -> TriggerEvent:
        while True:
            try:
                cluster = await hook.a_get_cluster(self.cluster_id)
            except DatabricksRequestError as exc:
                return TriggerEvent({**base, "status": "error", "message": str(exc)})
            state = cluster.get("state", "")
            if state == RUNNING:
                return TriggerEvent({**base, "status": "success", "state": state,
                                     "message": f"cluster {self.cluster_id} is RUNNING"})
            if state in TERMINAL_STATES:  # it will not become RUNNING by itself: fail now
                return TriggerEvent({**base, "status": "error", "state": state,
                                     "state_message": cluster.get("state_message", ""),
                                     "termination_reason": cluster.get("termination_reason"),
                                     "message": f"cluster {self.cluster_id} ended {state}"})
            if deadline is not None and loop.time() > deadline:
                return TriggerEvent({**base, "status": "timeout", "state": state,
                                     "message": f"cluster {self.cluster_id} still {state} after {self.timeout}s"})
            await asyncio.sleep(self.poll_interval)


class DatabricksFileTrigger(BaseTrigger):
    """Wait until a DBFS or Volume path (optionally a glob in its last segment) exists and is fresh enough.

    :param path: ``dbfs:/...``, ``/...`` (DBFS) or ``/Volumes/...`` (Files API); ``*?[]`` allowed in the
        last segment.
    :param databricks_conn_id: the Databricks connection.
    :param newer_than_ms: only files modified strictly after this (ms since epoch) count; ``None``: any.
    :param poll_interval: seconds between two checks.
    """

    def __init__(self, path: str, databricks_conn_id: str = "databricks_default",
                 newer_than_ms: int | None = None, poll_interval: float = 60.0) -> None:
        super().__init__()
        self.path = path
        self.databricks_conn_id = databricks_conn_id
        self.newer_than_ms = newer_than_ms
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}", {
            "path": self.path, "databricks_conn_id": self.databricks_conn_id,
            "newer_than_ms": self.newer_than_ms, "poll_interval": self.poll_interval,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = AirbricksDatabricksHook(self.databricks_conn_id, caller=type(self).__name__)
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
                return TriggerEvent({"status": "success", "path": self.path, "file": found,
                                     "message": f"found {found['path']}"})
            await asyncio.sleep(self.poll_interval)
