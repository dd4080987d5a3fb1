"""What every airbricks operator and sensor shares: its connection settings and a lazily built hook."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbricks.hooks import AirbricksDatabricksHook


class DatabricksHookMixin:
    """Holds ``databricks_conn_id`` and the retry settings; builds the hook on first use.

    Retries: unless the operator is given ``databricks_retry_limit``/``databricks_retry_delay`` (the provider's
    count-based policy, as before), its calls ride out transient faults with :data:`airbricks.retry.
    DATABRICKS_RETRY_ARGS` - 10 minutes, ``Retry-After`` honoured - the policy the example DAGs give the
    official operators.  The hook (and the provider's hook module behind it) is imported only when a task
    runs, never while a DAG file is parsed, which keeps DAG parsing fast.
    """

    databricks_conn_id: str
    databricks_retry_limit: int = 3
    databricks_retry_delay: float = 1.0
    databricks_retry_args: dict[str, Any] | None = None

    def _set_connection(
        self,
        conn_id: str,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        retry_args: dict[str, Any] | None = None,
    ) -> None:
        self.databricks_conn_id = conn_id
        self.databricks_retry_limit = 3 if retry_limit is None else retry_limit
        self.databricks_retry_delay = 1.0 if retry_delay is None else retry_delay
        if retry_args is None and retry_limit is None and retry_delay is None:
            from airbricks.retry import DATABRICKS_RETRY_ARGS

            retry_args = DATABRICKS_RETRY_ARGS
        self.databricks_retry_args = retry_args

    def _explicit_retry(self) -> dict[str, Any]:
        """The count-based retry settings to hand a trigger, if the operator was given them; else ``{}``."""
        if self.databricks_retry_args is not None:
            return {}
        return {"retry_limit": self.databricks_retry_limit, "retry_delay": self.databricks_retry_delay}

    @cached_property
    def hook(self) -> AirbricksDatabricksHook:
        from airbricks.hooks import AirbricksDatabricksHook

        return AirbricksDatabricksHook(
            self.databricks_conn_id,
            retry_limit=self.databricks_retry_limit,
            retry_delay=self.databricks_retry_delay,
            retry_args=self.databricks_retry_args,
            caller=type(self).__name__,
        )
