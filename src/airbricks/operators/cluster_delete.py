"""Deleting a cluster at the end of a DAG run, and a DAG run that is never green by accident.

* Someone forgets the delete: :func:`databricks_cluster` wires create as an Airflow *setup* task and delete
  as its *teardown*, so the delete always runs and the DAG run's state still reflects the work tasks.
* The article's shape, ``create >> job >> get_result >> delete`` with the delete as an ``all_done`` leaf,
  would let Airflow judge the DAG run by that leaf - green although the job failed.  A delete whose cluster
  id comes from a create task becomes that create's teardown by itself, so the run is judged by the work.
* The delete itself fails: the cluster is still running and costing money, so the DAG run fails (the
  teardown's ``on_failure_fail_dagrun``) and the task log says which cluster, in which state.  Airflow then
  judges the run by that teardown alone (its upstream work is no longer a leaf), so a delete that can fail
  the run also reports the work's failure: having deleted the cluster, it fails naming the failed tasks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airbricks.links import XCOM_CLUSTER_URL_KEY, DatabricksClusterLink, expect_links, push_link
from airbricks.operators.base import DatabricksHookMixin
from airbricks.operators.cluster_create import DatabricksCreateClusterOperator

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

#: ``{{ ti.xcom_pull('start_cluster', ...) }}`` / ``xcom_pull(task_ids="start_cluster")``: the task it reads.
_XCOM_PULL_TASK = re.compile(r"xcom_pull\(\s*(?:task_ids\s*=\s*)?['\"]([^'\"]+)['\"]")


class DatabricksDeleteClusterOperator(DatabricksHookMixin, BaseOperator):
    """Delete a cluster: permanently (``clusters/permanent-delete``) or terminate only (``clusters/delete``).

    Runs whatever happened upstream (trigger rule ``all_done``).  A cluster that does not exist any more
    counts as deleted (logged), so re-running the teardown is harmless.

    When ``cluster_id`` comes from a :class:`DatabricksCreateClusterOperator` - its ``.output``, or a
    template pulling its XCom (``{{ ti.xcom_pull('start_cluster', ...) }}``, the create defined first) - the
    delete makes itself that create's Airflow *teardown* (``as_teardown(setups=create,
    on_failure_fail_dagrun=True)``): clearing a work task re-runs create and delete, and a failed delete fails
    the run, naming the cluster that is still up.  Because Airflow judges a run by such a teardown (or by a
    plain delete leaf) instead of the work upstream of it, the delete - once the cluster is deleted - fails
    when an upstream task failed, saying so: a failed job never ends in a green run.  ``auto_teardown=False``
    keeps it a plain task.

    :param cluster_id: the cluster to delete, e.g. ``create.output`` or
        ``"{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"``. Templated.
    :param permanent: ``True`` (default): permanent-delete (gone from the workspace); ``False``: terminate,
        keeping the configuration listed as TERMINATED.
    :param databricks_conn_id: the Databricks connection.
    :param databricks_retry_limit: attempts for retryable API failures.
    :param databricks_retry_delay: seconds before the first API retry (then exponential).
    :param databricks_retry_args: ``tenacity`` arguments for API retries; default (with no limit or delay given)
        :data:`airbricks.retry.DATABRICKS_RETRY_ARGS`, which rides out 429/503/dropped connections for minutes.
    :param auto_teardown: become the teardown of the create task ``cluster_id`` comes from (see above).
    :param kwargs: the other ``BaseOperator`` arguments (``trigger_rule`` defaults to ``all_done``).
    """

    template_fields: Sequence[str] = ("cluster_id",)
    operator_extra_links = (DatabricksClusterLink(),)
    ui_color = "#f6d5d5"

    def __init__(
        self,
        *,
        cluster_id: str | XComArg,
        permanent: bool = True,
        databricks_conn_id: str = "databricks_default",
        databricks_retry_limit: int | None = None,
        databricks_retry_delay: float | None = None,
        databricks_retry_args: dict[str, Any] | None = None,
        auto_teardown: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.permanent = permanent
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay, databricks_retry_args)
        create = self._creating_task(cluster_id) if auto_teardown else None
        if create is not None and not self.is_teardown:
            self.as_teardown(setups=create, on_failure_fail_dagrun=True)

    def _creating_task(self, cluster_id: object) -> DatabricksCreateClusterOperator | None:
        """The create task whose cluster this deletes, if ``cluster_id`` names one of this DAG."""
        operator = getattr(cluster_id, "operator", None)  # create.output (an XComArg)
        if operator is None and isinstance(cluster_id, str) and self.has_dag():
            pulled = _XCOM_PULL_TASK.search(cluster_id)
            operator = self.dag.task_dict.get(pulled.group(1)) if pulled else None
        return operator if isinstance(operator, DatabricksCreateClusterOperator) else None

    def execute(self, context: Context) -> None:
        from airbricks.errors import DatabricksRequestError

        expect_links(self)
        cluster_id = str(self.cluster_id or "").strip()
        if not cluster_id or cluster_id == "None":
            raise AirflowException("cluster_id is empty: did the create task push it?")
        push_link(self, context["ti"], XCOM_CLUSTER_URL_KEY, self.hook.cluster_url(cluster_id))
        try:
            if self.permanent:
                self.hook.permanent_delete_cluster(cluster_id)
            else:
                self.hook.delete_cluster(cluster_id)
        except DatabricksRequestError as exc:
            if not exc.is_not_found:
                raise AirflowException(self._still_up(cluster_id, exc)) from exc
            self.log.info("Cluster %s does not exist (already deleted): nothing to do", cluster_id)
            return
        self.log.info("%s cluster %s", "Permanently deleted" if self.permanent else "Terminated", cluster_id)
        self._fail_for_failed_work(context, cluster_id)

    def _fail_for_failed_work(self, context: Context, cluster_id: str) -> None:
        """Fail (the cluster being deleted) when upstream work failed and this task decides the run's state."""
        if self.is_teardown and not self.on_failure_fail_dagrun:
            return  # an ignorable teardown: Airflow judges the run by the work itself
        ti = context["ti"]
        upstream = sorted(self.get_flat_relative_ids(upstream=True))
        if not upstream or not hasattr(ti, "get_task_states"):
            return
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=upstream, run_ids=[ti.run_id]).get(ti.run_id, {})
        failed = sorted(
            task
            for task, state in states.items()
            if state in ("failed", "upstream_failed") and not self._reaches_another_leaf(task)
        )
        if failed:
            raise AirflowException(
                f"Cluster {cluster_id} was deleted; this task fails the DAG run because upstream "
                f"work failed: {', '.join(failed)} (Airflow judges the run by this task, not by "
                "the work upstream of it)."
            )

    def _reaches_another_leaf(self, task_id: str) -> bool:
        """Whether a failure of ``task_id`` also reaches a leaf other than this task (which then fails the run,
        as in the seed's ``get_result >> send_result``): this task need not report it."""
        seen: set[str] = set()
        todo = [task_id]
        while todo:
            for down_id in self.dag.get_task(todo.pop()).downstream_task_ids - {self.task_id} - seen:
                seen.add(down_id)
                down = self.dag.get_task(down_id)
                if not down.downstream_task_ids and (not down.is_teardown or down.on_failure_fail_dagrun):
                    return True
                todo.append(down_id)
        return False

    def _still_up(self, cluster_id: str, cause: Exception) -> str:
        """The error of a failed delete: which cluster, in which state (it is still costing money), and why."""
        try:
            state = self.hook.get_cluster(cluster_id).get("state", "UNKNOWN")
        except Exception as exc:  # the workspace may be what fails: say so, the delete failed either way
            state = f"unknown (clusters/get failed too: {exc})"
        return (
            f"Could not delete cluster {cluster_id}: it is still {state} and costing money until someone "
            f"deletes it (Compute page, or clusters/permanent-delete). Cause: {cause}"
        )


@contextmanager
def databricks_cluster(
    cluster_spec: dict[str, Any],
    *,
    create_task_id: str = "create_cluster",
    delete_task_id: str = "delete_cluster",
    databricks_conn_id: str = "databricks_default",
    permanent: bool = True,
    create_kwargs: dict[str, Any] | None = None,
    delete_kwargs: dict[str, Any] | None = None,
    **create_options: Any,
) -> Iterator[DatabricksCreateClusterOperator]:
    """Tasks defined inside the block run on a cluster created before them and deleted after them.

    Create is the Airflow *setup* task and delete its *teardown*: the delete runs even when work tasks
    fail, the DAG run's state is the work tasks', a failed delete fails the DAG run too (the cluster is still
    up), and clearing a work task re-runs create (which adopts the existing cluster) and delete.  Inside the
    block, use the yielded create task's id, e.g.
    ``existing_cluster_id="{{ ti.xcom_pull('create_cluster', key='all_purpose_cluster_id') }}"``::

        with databricks_cluster(spec, create_task_id="start_cluster") as cluster:
            DatabricksSubmitRunOperator(task_id="job", json={..., "existing_cluster_id": cluster.output},
                                        **databricks_retry())  # from airbricks.retry

    The create and delete ride out transient API faults by default (:mod:`airbricks.retry`); give the
    official operators inside the block the same policy with ``**databricks_retry()``.

    :param cluster_spec: the ``clusters/create`` body.
    :param create_task_id: task id of the create (setup) task.
    :param delete_task_id: task id of the delete (teardown) task.
    :param databricks_conn_id: the Databricks connection of both tasks.
    :param permanent: permanent-delete (default) or only terminate at the end.
    :param create_kwargs: more arguments for :class:`DatabricksCreateClusterOperator`.
    :param delete_kwargs: more arguments for :class:`DatabricksDeleteClusterOperator`.
    :param create_options: :class:`DatabricksCreateClusterOperator` arguments given directly, e.g.
        ``databricks_cluster(spec, deferrable=True, poll_interval=5, timeout=1800)``.
    """
    create = DatabricksCreateClusterOperator(
        task_id=create_task_id,
        cluster_spec=cluster_spec,
        databricks_conn_id=databricks_conn_id,
        **{**(create_kwargs or {}), **create_options},
    )
    delete = DatabricksDeleteClusterOperator(
        task_id=delete_task_id,
        cluster_id=create.output,
        permanent=permanent,
        databricks_conn_id=databricks_conn_id,
        **(delete_kwargs or {}),
    )
    with delete.as_teardown(setups=create, on_failure_fail_dagrun=True):
        yield create
