"""Install libraries on a running cluster and wait until each is INSTALLED, or fail with its installer's message.

``libraries/install`` only attaches libraries; installing happens on the cluster afterwards, and a library that
cannot be installed (a typo in a PyPI name, a missing jar) shows up as FAILED in ``libraries/cluster-status``
minutes later.  A DAG that installs and then runs a job would otherwise run the job without the library.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airbricks.links import XCOM_CLUSTER_URL_KEY, DatabricksClusterLink, expect_links, push_link
from airbricks.operators.base import DatabricksHookMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

#: ``libraries/cluster-status`` states after which a library will not change by itself.
SETTLED = {"INSTALLED": True, "FAILED": False, "SKIPPED": False, "UNINSTALL_ON_RESTART": False}


class DatabricksClusterLibrariesOperator(DatabricksHookMixin, BaseOperator):
    """``libraries/install`` on a cluster, then wait until every one of ``libraries`` is INSTALLED.

    A library that ends FAILED (or SKIPPED) fails the task with the cluster's messages for it; so does a
    timeout, naming the libraries still pending. Returns ``{library: status}`` for the requested libraries.

    :param cluster_id: the cluster, e.g. ``create.output``. Templated.
    :param libraries: the ``libraries`` list of the API, e.g. ``[{"pypi": {"package": "tinydb==4.8.2"}},
        {"jar": "dbfs:/jars/udfs.jar"}]``. Templated.
    :param poll_interval: seconds between two ``libraries/cluster-status`` calls.
    :param timeout: seconds to wait for every library to settle.
    :param databricks_conn_id: the Databricks connection.
    :param kwargs: the other ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("cluster_id", "libraries")
    template_fields_renderers = {"libraries": "json"}
    operator_extra_links = (DatabricksClusterLink(),)

    def __init__(
        self,
        *,
        cluster_id: str,
        libraries: list[dict[str, Any]],
        poll_interval: float = 10.0,
        timeout: float = 1800.0,
        databricks_conn_id: str = "databricks_default",
        databricks_retry_limit: int | None = None,
        databricks_retry_delay: float | None = None,
        databricks_retry_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.libraries = libraries
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay, databricks_retry_args)

    def execute(self, context: Context) -> dict[str, str]:
        expect_links(self)
        if not isinstance(self.libraries, list) or not self.libraries:
            raise AirflowException(
                'libraries must be a non-empty list such as [{"pypi": {"package": "tinydb==4.8.2"}}]'
            )
        cluster_id = str(self.cluster_id)
        push_link(self, context["ti"], XCOM_CLUSTER_URL_KEY, self.hook.cluster_url(cluster_id))
        self.hook.call("POST", "api/2.0/libraries/install", {"cluster_id": cluster_id, "libraries": self.libraries})
        self.log.info("Installing %d libraries on cluster %s", len(self.libraries), cluster_id)
        deadline = time.monotonic() + self.timeout
        while True:
            statuses = self._statuses(cluster_id)
            pending = [
                _label(lib) for lib in self.libraries if statuses.get(_key(lib), {}).get("status") not in SETTLED
            ]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise AirflowException(
                    f"Libraries on cluster {cluster_id} not installed after {self.timeout}s, "
                    f"still pending: {', '.join(pending)}"
                )
            time.sleep(self.poll_interval)
        failed = [
            f"{_label(lib)}: {statuses[_key(lib)]['status']} - {' '.join(statuses[_key(lib)].get('messages', []))}"
            for lib in self.libraries
            if not SETTLED[statuses[_key(lib)]["status"]]
        ]
        if failed:
            raise AirflowException(f"Libraries could not be installed on cluster {cluster_id}: " + "; ".join(failed))
        self.log.info("All %d libraries are INSTALLED on cluster %s", len(self.libraries), cluster_id)
        return {_label(lib): statuses[_key(lib)]["status"] for lib in self.libraries}

    def _statuses(self, cluster_id: str) -> dict[str, dict[str, Any]]:
        response = self.hook.call("GET", "api/2.0/libraries/cluster-status", {"cluster_id": cluster_id})
        return {_key(s["library"]): s for s in response.get("library_statuses", [])}


def _key(library: dict[str, Any]) -> str:
    import json

    return json.dumps(library, sort_keys=True)


def _label(library: dict[str, Any]) -> str:
    kind, value = next(iter(library.items()))
    detail = value.get("package") or value.get("coordinates") if isinstance(value, dict) else value
    return f"{kind} {detail}"
