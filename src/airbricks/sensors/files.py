"""Wait for a file in DBFS or in a Unity Catalog Volume (the seed's "file arrived" trigger for a pipeline)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    conf,
)

from airbricks.operators.base import DatabricksHookMixin
from airbricks.utils.files import FileTarget, iso_time, to_epoch_ms

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DatabricksFileSensor", "FileTarget", "to_epoch_ms"]  # tests and benchmarks import these two here


class DatabricksFileSensor(DatabricksHookMixin, BaseSensorOperator):
    """Wait until a file exists in DBFS or in a Volume, optionally newer than a given time.

    Looks with ``dbfs/get-status`` (``dbfs/list`` when the last segment is a glob) for DBFS paths, and with
    the Files API (``HEAD /api/2.0/fs/files/...``; ``/api/2.0/fs/directories/...`` for a glob) for
    ``/Volumes/...`` paths.

    Keeps waiting while the answer is "not found" (404, ``RESOURCE_DOES_NOT_EXIST`` / ``NOT_FOUND``, for the
    file or for its directory: :attr:`~airbricks.errors.DatabricksRequestError.is_not_found`), or while
    every match is not newer than ``newer_than``.  Any other API error (bad path, permission denied, ...)
    fails the task with Databricks' error code and message.

    Returns (XCom ``return_value``) the matched file: ``{"path", "size", "modification_time"}``
    (modification time in ms since epoch; the newest match wins for a glob).

    :param path: ``dbfs:/dir/file``, ``/dir/file`` (DBFS) or ``/Volumes/cat/schema/vol/file``; the last
        segment may be an ``fnmatch`` glob (``*``, ``?``, ``[...]``), e.g. ``dbfs:/landing/_SUCCESS*``.
        Templated.
    :param newer_than: only files modified strictly after this count, so a stale marker from an earlier
        run does not fire: a datetime or an ISO-8601 string, e.g. ``"{{ data_interval_start }}"``.
        ``None`` (default): any file counts. Templated.
    :param databricks_conn_id: the Databricks connection.
    :param deferrable: wait in the triggerer (:class:`~airbricks.triggers.DatabricksFileTrigger`) instead of
        a worker slot; default from ``[operators] default_deferrable``.
    :param poke_interval: seconds between checks (all modes).
    :param mode: ``poke`` (hold the worker slot) or ``reschedule`` (give it back between checks).
    :param timeout: seconds before the sensor fails (or is skipped with ``soft_fail``).
    :param kwargs: the other ``BaseSensorOperator`` arguments.
    """

    template_fields: Sequence[str] = ("path", "newer_than")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        path: str,
        newer_than: datetime | str | None = None,
        databricks_conn_id: str = "databricks_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.newer_than = newer_than
        self._set_connection(databricks_conn_id)
        self.deferrable = deferrable

    def _check(self) -> dict[str, Any] | None:
        target = FileTarget.parse(self.path)
        found = target.find(self.hook, to_epoch_ms(self.newer_than))
        if found is None:
            self.log.info(
                "Waiting for %s%s", target.display, f" newer than {self.newer_than}" if self.newer_than else ""
            )
        return found

    def poke(self, context: Context) -> Any:
        from airflow.providers.common.compat.sdk import PokeReturnValue

        found = self._check()
        if found is None:
            return False
        found.pop("is_dir", None)
        self.log.info(
            "Found %s (%s bytes, modified %s)", found["path"], found["size"], iso_time(found["modification_time"])
        )
        return PokeReturnValue(is_done=True, xcom_value=found)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        found = self._check()
        if found is not None:
            found.pop("is_dir", None)
            return found
        from airbricks.triggers import DatabricksFileTrigger

        self.defer(
            trigger=DatabricksFileTrigger(
                path=self.path,
                databricks_conn_id=self.databricks_conn_id,
                newer_than_ms=to_epoch_ms(self.newer_than),
                poll_interval=self.poke_interval,
                timeout_at=time.time() + self.timeout if self.timeout else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout else None,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: the matched file, the timeout (skipped with ``soft_fail``), or the error."""
        if event.get("status") == "timeout":
            message = f"Sensor timed out after {self.timeout:g}s: {event.get('message')}"
            self.log.info(message)  # a skip's own message is not logged
            raise AirflowSkipException(message) if self.soft_fail else AirflowSensorTimeout(message)
        if event.get("status") != "success":
            raise AirflowException(f"waiting for {self.path} failed: {event.get('message')}")
        found = dict(event["file"])
        found.pop("is_dir", None)
        self.log.info(
            "Found %s (%s bytes, modified %s)", found["path"], found["size"], iso_time(found["modification_time"])
        )
        return found
