"""Creating an all-purpose cluster owned by a DAG run, and waiting until it is RUNNING.

DAGs import it from :mod:`airbricks.operators.clusters`, with the start, the delete and
``databricks_cluster(...)``.

The seed creates a cluster, runs jobs on it and deletes it at the end.  What can go wrong there, and what
this module does about it:

* The cluster never starts (quota, bad node type...): the create task fails at once with Databricks'
  termination reason and permanently deletes what it created.
* The worker dies (or the task is retried / cleared) after ``clusters/create``: ``clusters/create`` has no
  idempotency token, so every cluster carries tags naming the DAG, run, task and map index, and the next
  try lists the clusters and adopts its own instead of creating a second one.  The id is also written to
  the task state store (Airflow 3.3+) as soon as it is known.
* The worker of the last try dies (a lost machine): nothing in the try runs again and the teardown is skipped
  after a failed setup, so the operator's ``on_failure_callback``, which Airflow runs (in the dag-processor)
  once it has failed the task for its missing heartbeats, deletes the clusters the task owns
  (:func:`delete_clusters_of_a_failed_task`).
* The delete, ``databricks_cluster(...)`` and how a DAG run is never green by accident:
  :mod:`airbricks.operators.cluster_delete`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf

from airbricks.links import XCOM_CLUSTER_URL_KEY, DatabricksClusterLink, expect_links, push_link
from airbricks.operators.base import DatabricksHookMixin
from airbricks.operators.cluster_ownership import describe_failure, owned_by, owner_tags, retry_left

if TYPE_CHECKING:
    from airflow.sdk import Context


#: XCom key of the cluster id, as in the seed: ``{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}``.
XCOM_CLUSTER_ID_KEY = "all_purpose_cluster_id"
#: Key of the cluster id in the task state store (survives retries of the same task instance).
STATE_CLUSTER_ID_KEY = "databricks_cluster_id"


class DatabricksCreateClusterOperator(DatabricksHookMixin, BaseOperator):
    """Create an all-purpose cluster and wait until it is RUNNING; return its id.

    The id is the task's return value and is also pushed under XCom key ``all_purpose_cluster_id`` (the
    seed's key), the cluster page URL under ``cluster_page_url``.

    Every created cluster carries ``custom_tags`` naming its owner (``airflow_dag_id``, ``airflow_run_id``,
    ``airflow_task_id``, ``airflow_map_index``, ``airflow_ti_key``), merged over the spec's own tags.  Each
    try first looks for a cluster with the same owner tags (``clusters/list``) and adopts it when it is
    PENDING/RUNNING/RESTARTING/RESIZING (a TERMINATED one is started), so a retry after a worker crash does
    not leave two clusters behind.

    If the cluster ends TERMINATED/ERROR instead of RUNNING, or does not start within ``timeout``, the task
    fails with the termination reason (code, type, parameters) and the cluster is permanently deleted.
    Killing the task (``on_kill``) deletes it too, and so does the task's failure callback when the worker of
    its last try was lost (added to ``on_failure_callback``, after any of yours).

    :param cluster_spec: the ``clusters/create`` body (``cluster_name``, ``spark_version``,
        ``node_type_id``, ``num_workers``, ...). Templated; shown as JSON in the UI.
    :param databricks_conn_id: the Databricks connection.
    :param poll_interval: seconds between two ``clusters/get`` while waiting.
    :param timeout: seconds to wait for RUNNING before giving up (and deleting the cluster).
    :param deferrable: wait in the triggerer (:class:`~airbricks.triggers.DatabricksClusterStateTrigger`)
        instead of a worker slot; default from ``[operators] default_deferrable``.
    :param adopt_existing: look for a cluster already created by this task instance before creating one.
    :param databricks_retry_limit: attempts for retryable API failures (connection errors, 5xx, 429).
    :param databricks_retry_delay: seconds before the first API retry (then exponential).
    :param databricks_retry_args: ``tenacity`` arguments for API retries; default (with no limit or delay given)
        :data:`airbricks.retry.DATABRICKS_RETRY_ARGS`, which rides out 429/503/dropped connections for minutes.
    :param kwargs: the other ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("cluster_spec",)
    template_fields_renderers = {"cluster_spec": "json"}
    operator_extra_links = (DatabricksClusterLink(),)
    ui_color = "#d5f0e3"

    def __init__(
        self,
        *,
        cluster_spec: dict[str, Any],
        databricks_conn_id: str = "databricks_default",
        poll_interval: float = 10.0,
        timeout: float = 3600.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        adopt_existing: bool = True,
        databricks_retry_limit: int | None = None,
        databricks_retry_delay: float | None = None,
        databricks_retry_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        callbacks = self.on_failure_callback
        self.on_failure_callback = [
            *(callbacks if isinstance(callbacks, list) else [callbacks] if callbacks else []),
            delete_clusters_of_a_failed_task,
        ]
        self.cluster_spec = cluster_spec
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay, databricks_retry_args)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.adopt_existing = adopt_existing
        self.cluster_id: str | None = None

    # ------------------------------------------------------------------ execute
    def execute(self, context: Context) -> str:
        expect_links(self)
        ti = context["ti"]
        tags = owner_tags(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        cluster_id = self._adopt(context, tags) if self.adopt_existing else None
        if cluster_id is None:
            spec = dict(self.cluster_spec)
            spec["custom_tags"] = {**(spec.get("custom_tags") or {}), **tags}
            cluster_id = self.hook.create_cluster(spec)
            self.log.info("Created cluster %s", cluster_id)
        self.cluster_id = cluster_id
        try:
            return self._wait_or_defer(context, cluster_id)
        except Exception:
            # The cluster exists but this try failed (e.g. API retries exhausted): on the last try nothing
            # will adopt it and the teardown is skipped after a failed setup, so delete it now.
            if not retry_left(context):
                self._delete_quietly(cluster_id)
            raise

    def _wait_or_defer(self, context: Context, cluster_id: str) -> str:
        from airbricks.utils import clusters as states

        self._record(context, cluster_id)
        if self.deferrable:
            cluster = self.hook.get_cluster(cluster_id)
            if cluster.get("state") != states.RUNNING and cluster.get("state") not in states.ENDED_STATES:
                from airbricks.triggers import DatabricksClusterStateTrigger

                self.defer(
                    trigger=DatabricksClusterStateTrigger(
                        cluster_id, self.databricks_conn_id, self.poll_interval, self.timeout, **self._explicit_retry()
                    ),
                    method_name="execute_complete",
                    timeout=timedelta(seconds=self.timeout + 60),
                )
            self._check_running(cluster_id, cluster)
            return cluster_id
        self._wait_running(cluster_id)
        return cluster_id

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Resume after the trigger: the cluster id, or delete the cluster and fail with the reason."""
        cluster_id = event["cluster_id"]
        self.cluster_id = cluster_id
        if event.get("status") == "success":
            self.log.info("Cluster %s is RUNNING", cluster_id)
            return cluster_id
        detail = describe_failure(event) if event.get("state") else event.get("message", "")
        self._give_up(cluster_id)
        raise AirflowException(f"Cluster {cluster_id} did not start: {detail or event.get('message')}")

    def on_kill(self) -> None:
        if self.cluster_id:
            self.log.info("Task killed: deleting cluster %s", self.cluster_id)
            self._delete_quietly(self.cluster_id)

    # ------------------------------------------------------------------ steps
    def _adopt(self, context: Context, tags: dict[str, str]) -> str | None:
        """A cluster this task instance created on an earlier try, made usable again; ``None`` if none."""
        from airbricks.utils import clusters as states

        known = self._state_store_get(context)
        candidates = [
            c for c in self.hook.list_clusters() if owned_by(c, tags) or (known and c.get("cluster_id") == known)
        ]
        if not candidates:
            return None
        rank = {state: i for i, state in enumerate(states.ADOPTION_ORDER)}
        candidates.sort(key=lambda c: rank.get(c.get("state", ""), len(rank)))
        best = candidates[0]
        cluster_id, state = str(best["cluster_id"]), best.get("state", "")
        if state not in rank:
            return None
        self.log.info("Adopting cluster %s (%s) created by an earlier try of this task", cluster_id, state)
        if state in states.RESTARTABLE_STATES:
            self._wait_for(cluster_id, lambda s: s == states.TERMINATED, states.TERMINATED)
            self.hook.start_cluster_by_id(cluster_id)
        return cluster_id

    def _record(self, context: Context, cluster_id: str) -> None:
        """Make the id findable before waiting: XCom (for downstream and the link) and the task state store."""
        ti = context["ti"]
        ti.xcom_push(key=XCOM_CLUSTER_ID_KEY, value=cluster_id)
        push_link(self, ti, XCOM_CLUSTER_URL_KEY, self.hook.cluster_url(cluster_id))
        store = context.get("task_state_store")
        if store is not None:
            try:
                store.set(STATE_CLUSTER_ID_KEY, cluster_id)
            except Exception as exc:  # the tag scan still finds the cluster
                self.log.warning("Could not record the cluster id in the task state store: %s", exc)

    def _state_store_get(self, context: Context) -> str | None:
        store = context.get("task_state_store")
        if store is None:
            return None
        try:
            value = store.get(STATE_CLUSTER_ID_KEY)
        except Exception as exc:
            self.log.warning("Could not read the task state store: %s", exc)
            return None
        return str(value) if value else None

    def _wait_for(self, cluster_id: str, done: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            cluster = self.hook.get_cluster(cluster_id)
            state = cluster.get("state", "")
            if done(state):
                return cluster
            if time.monotonic() > deadline:
                raise AirflowException(
                    f"Cluster {cluster_id} not {what} after {self.timeout}s (still {state}); "
                    f"{self._give_up(cluster_id)}"
                )
            self.log.info("Cluster %s is %s, waiting for %s", cluster_id, state, what)
            time.sleep(self.poll_interval)

    def _wait_running(self, cluster_id: str) -> None:
        from airbricks.utils import clusters as states

        cluster = self._wait_for(cluster_id, lambda s: s == states.RUNNING or s in states.ENDED_STATES, states.RUNNING)
        self._check_running(cluster_id, cluster)

    def _check_running(self, cluster_id: str, cluster: dict[str, Any]) -> None:
        from airbricks.utils import clusters as states

        if cluster.get("state") == states.RUNNING:
            self.log.info("Cluster %s is RUNNING", cluster_id)
            return
        detail = describe_failure(cluster)
        self._give_up(cluster_id)
        raise AirflowException(f"Cluster {cluster_id} did not start: {detail}")

    def _give_up(self, cluster_id: str) -> str:
        """What happens to a cluster that did not start: this operator created it, so it is deleted."""
        self._delete_quietly(cluster_id)
        return "it was deleted"

    def _delete_quietly(self, cluster_id: str) -> None:
        """Permanently delete; a cluster already gone is fine, another failure is logged (the task fails anyway)."""
        from airbricks.errors import DatabricksRequestError

        try:
            self.hook.permanent_delete_cluster(cluster_id)
            self.log.info("Permanently deleted cluster %s", cluster_id)
        except DatabricksRequestError as exc:
            if exc.is_not_found:
                self.log.info("Cluster %s is already gone", cluster_id)
            else:
                self.log.error("Could not delete cluster %s: %s", cluster_id, exc)


def delete_clusters_of_a_failed_task(context: Context) -> None:
    """``on_failure_callback`` of :class:`DatabricksCreateClusterOperator`: delete what a failed task owns.

    Why: when the worker running the last try dies, no ``on_kill`` or clean-up of that try ever runs, and the
    teardown is skipped because its setup failed; the cluster would keep running.  Airflow fails such a task
    from its missing heartbeats and runs its failure callback in the dag-processor: this finds the clusters by
    the task instance's owner tags and permanently deletes them.  After an ordinary failure the try has deleted
    its cluster already, and this finds nothing.
    """
    task, ti = context["task"], context["ti"]
    if not isinstance(task, DatabricksCreateClusterOperator):
        return
    tags = owner_tags(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
    for cluster in task.hook.list_clusters():
        if owned_by(cluster, tags):
            task.log.warning(
                "Task %s failed while its cluster %s is %s: deleting it",
                ti.task_id,
                cluster.get("cluster_id"),
                cluster.get("state"),
            )
            task._delete_quietly(str(cluster["cluster_id"]))
