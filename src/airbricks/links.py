"""Operator extra links: the cluster page and the run page in the Databricks UI.

The URL is computed while the task runs (it needs the connection's host) and kept in XCom, so the
webserver only reads XCom and never touches the connection or the network.

Airflow's task runner asks every link for its URL when the task ends, failed or not. A create that failed
before any cluster existed has no URL, and reading the missing XCom would log Airflow's ``XCom not found ...
key='cluster_page_url'`` error, which reads as if the XCom were the problem. So the operators record what
they pushed on themselves too (:func:`push_link`): in the process that ran ``execute`` the link answers from
that record (empty when nothing was pushed); only a task resumed after deferral, a new operator object,
reads XCom, where the URL was pushed before deferring.
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


#: Attribute of an operator holding the link URLs it pushed in this process (absent: not executed here).
_PUSHED = "_airbricks_pushed_links"


def expect_links(operator: Any) -> None:
    """Called first in ``execute``: from now on this process knows every link URL the operator pushes."""
    setattr(operator, _PUSHED, {})


def push_link(operator: Any, ti: Any, key: str, url: str) -> None:
    """Push a link URL to XCom (for the UI and for templates) and remember it on the operator."""
    ti.xcom_push(key=key, value=url)
    pushed = getattr(operator, _PUSHED, None)
    if pushed is None:
        pushed = {}
        setattr(operator, _PUSHED, pushed)
    pushed[key] = url


def _link_url(operator: Any, ti_key: TaskInstanceKey, key: str) -> str:
    pushed = getattr(operator, _PUSHED, None)
    if pushed is not None:
        return pushed.get(key, "")
    return XCom.get_value(key=key, ti_key=ti_key) or ""


class DatabricksClusterLink(BaseOperatorLink):
    """Link to ``{host}/#setting/clusters/{cluster_id}/configuration`` of the task's cluster."""

    name = "Databricks Cluster"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return _link_url(operator, ti_key, XCOM_CLUSTER_URL_KEY)


class DatabricksRunLink(BaseOperatorLink):
    """Link to the Databricks run page (``run_page_url`` of ``runs/get``) the task read."""

    name = "Databricks Run"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return _link_url(operator, ti_key, XCOM_RUN_PAGE_URL_KEY)
