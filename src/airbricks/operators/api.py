"""The seed's generic operator: any Databricks REST call, its JSON answer as XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airbricks.operators.base import DatabricksHookMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class DatabricksApiOperator(DatabricksHookMixin, BaseOperator):
    """Call one Databricks REST endpoint with the connection's credentials; return the JSON answer.

    A failed call fails the task with a :class:`~airbricks.errors.DatabricksRequestError` whose text and
    attributes carry Databricks' ``error_code`` and ``message`` (5xx/429 are retried by the hook first).

    :param method: HTTP method: ``GET`` (``json`` goes in the query string), ``POST``, ``PATCH``, ``PUT``,
        ``DELETE`` or ``HEAD``.
    :param endpoint: the API path with its version, as in the seed (``"api/2.0/clusters/start"``) or as the
        provider's hook takes it (``"2.0/clusters/start"``). Templated.
    :param json: the request body (query parameters for ``GET``). Templated; shown as JSON in the UI.
    :param databricks_conn_id: the Databricks connection.
    :param databricks_retry_limit: attempts for retryable failures (connection errors, 5xx, 429).
    :param databricks_retry_delay: seconds before the first retry (then exponential).
    :param databricks_retry_args: ``tenacity`` arguments for API retries; default (with no limit or delay given)
        :data:`airbricks.retry.DATABRICKS_RETRY_ARGS`, which rides out 429/503/dropped connections for minutes.
    :param kwargs: the other ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("endpoint", "json")
    template_fields_renderers = {"json": "json"}
    ui_color = "#fce8d5"

    def __init__(
        self,
        *,
        method: str,
        endpoint: str,
        json: dict[str, Any] | None = None,
        databricks_conn_id: str = "databricks_default",
        databricks_retry_limit: int | None = None,
        databricks_retry_delay: float | None = None,
        databricks_retry_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.method = method.upper()
        self.endpoint = endpoint
        self.json = json
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay, databricks_retry_args)

    def execute(self, context: Context) -> dict[str, Any]:
        self.log.info("Calling %s %s", self.method, self.endpoint)
        return self.hook.call(self.method, self.endpoint, self.json)
