"""Start an existing all-purpose cluster (by id or by name) and wait until it is RUNNING.

The article's generic operator implies it: a team keeps an all-purpose cluster configured in the workspace
and a DAG starts it when it needs it (it auto-terminates when idle).  It waits and reports failures like
:class:`~airbricks.operators.clusters.DatabricksCreateClusterOperator` - the same waits, trigger and messages
- but never deletes: the cluster belongs to the workspace, not to the DAG run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException

from airbricks.links import expect_links
from airbricks.operators.cluster_create import DatabricksCreateClusterOperator
from airbricks.operators.cluster_ownership import describe_failure

if TYPE_CHECKING:
    from airflow.sdk import Context


class DatabricksStartClusterOperator(DatabricksCreateClusterOperator):
    """Start a cluster if it is TERMINATED (or wait for one already starting) until it is RUNNING; return its id.

    A RUNNING cluster is returned at once; PENDING/RESTARTING/RESIZING are waited for; TERMINATING is
    waited for until TERMINATED, then started.  A cluster that ends TERMINATED/ERROR instead, or is not
    RUNNING within ``timeout``, fails the task with its termination reason, and is left as it is.

    :param cluster_id: the cluster to start. Templated.
    :param cluster_name: or its name, which must match exactly one cluster. Templated.
    :param databricks_conn_id: the Databricks connection.
    :param poll_interval: seconds between two ``clusters/get`` while waiting.
    :param timeout: seconds to wait for RUNNING.
    :param deferrable: wait in the triggerer; default from ``[operators] default_deferrable``.
    :param kwargs: the other ``BaseOperator`` arguments (and the API retry settings).
    """

    template_fields: Sequence[str] = ("cluster_id", "cluster_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {}
    ui_color = "#e3f0d5"

    def __init__(self, *, cluster_id: str | None = None, cluster_name: str | None = None, **kwargs: Any) -> None:
        if bool(cluster_id) == bool(cluster_name):
            raise ValueError("DatabricksStartClusterOperator: give exactly one of cluster_id or cluster_name.")
        super().__init__(cluster_spec={}, adopt_existing=False, **kwargs)
        self.cluster_id = cluster_id
        self.cluster_name = cluster_name

    def execute(self, context: Context) -> str:
        from airbricks.utils import clusters as states

        expect_links(self)
        cluster_id = self.cluster_id or self._find_by_name(str(self.cluster_name))
        self.cluster_id = cluster_id
        cluster = self.hook.get_cluster(cluster_id)
        state = cluster.get("state", "")
        if state in states.RESTARTABLE_STATES:
            if state != states.TERMINATED:
                self._wait_for(cluster_id, lambda s: s == states.TERMINATED, states.TERMINATED)
            self.log.info("Starting cluster %s (was %s)", cluster_id, state)
            self.hook.start_cluster_by_id(cluster_id)
        elif state not in states.USABLE_STATES:
            raise AirflowException(f"Cluster {cluster_id} cannot be started: {describe_failure(cluster)}")
        return self._wait_or_defer(context, cluster_id)

    def _find_by_name(self, name: str) -> str:
        found = [c for c in self.hook.list_clusters() if c.get("cluster_name") == name]
        if len(found) != 1:
            ids = ", ".join(f"{c.get('cluster_id')} ({c.get('state')})" for c in found) or "none"
            raise AirflowException(
                f"cluster_name {name!r} must name exactly one cluster; found: {ids}. Give "
                "cluster_id instead, or rename the clusters."
            )
        return str(found[0]["cluster_id"])

    def _give_up(self, cluster_id: str) -> str:
        return "it was left as it is (it is not this DAG run's to delete)"

    def on_kill(self) -> None:
        """The cluster is the workspace's: a killed task leaves it alone."""
