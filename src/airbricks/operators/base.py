"""What every airbricks operator and sensor shares: its connection settings and a lazily built hook."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airbricks.hooks import AirbricksDatabricksHook


class DatabricksHookMixin:
    """Holds ``databricks_conn_id`` and the retry settings; builds the hook on first use.

    The hook (and the provider's hook module behind it) is imported only when a task runs, never while a
    DAG file is parsed, which keeps DAG parsing fast.
    """

    databricks_conn_id: str
    databricks_retry_limit: int = 3
    databricks_retry_delay: float = 1.0

    def _set_connection(self, conn_id: str, retry_limit: int = 3, retry_delay: float = 1.0) -> None:
        self.databricks_conn_id = conn_id
        self.databricks_retry_limit = retry_limit
        self.databricks_retry_delay = retry_delay

    @cached_property
    def hook(self) -> AirbricksDatabricksHook:
        from airbricks.hooks import AirbricksDatabricksHook

        return AirbricksDatabricksHook(self.databricks_conn_id, retry_limit=self.databricks_retry_limit,
                                       retry_delay=self.databricks_retry_delay, caller=type(self).__name__)
