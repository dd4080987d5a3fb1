"""Operator extra links: the cluster page and the run page in the Databricks UI.

The URL is computed while the task runs (it needs the connection's host) and kept in XCom, so the
webserver only reads XCom and never touches the connection or the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: XCom key of the cluster page URL pushed by the cluster operators.
XCOM_CLUSTER_URL_KEY = "cluster_page_url"
#: XCom key of the run page URL (the same key the provider's run operators use).
XCOM_RUN_PAGE_URL_KEY = "run_page_url"


class DatabricksClusterLink(BaseOperatorLink):
    """Link to ``{host}/#setting/clusters/{cluster_id}/configuration`` of the task's cluster."""

    name = "Databricks Cluster"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=XCOM_CLUSTER_URL_KEY, ti_key=ti_key) or ""


class DatabricksRunLink(BaseOperatorLink):
    """Link to the Databricks run page (``run_page_url`` of ``runs/get``) the task read."""

    name = "Databricks Run"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=XCOM_RUN_PAGE_URL_KEY, ti_key=ti_key) or ""
