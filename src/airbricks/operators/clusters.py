"""All-purpose clusters owned by a DAG run: create (and wait), delete, and a setup/teardown helper.

The seed creates a cluster, runs jobs on it and deletes it at the end.  What can go wrong there, and what
this module does about it:

* The cluster never starts (quota, bad node type...): the create task fails at once with Databricks'
  termination reason and permanently deletes what it created.
* The worker dies (or the task is retried / cleared) after ``clusters/create``: ``clusters/create`` has no
  idempotency token, so every cluster carries tags naming the DAG, run, task and map index, and the next
  try lists the clusters and adopts its own instead of creating a second one.  The id is also written to
  the task state store (Airflow 3.3+) as soon as it is known.
* Someone forgets the delete: :func:`databricks_cluster` wires create as an Airflow *setup* task and delete
  as its *teardown*, so the delete always runs and the DAG run's state still reflects the work tasks.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf

from airbricks.links import XCOM_CLUSTER_URL_KEY, DatabricksClusterLink
from airbricks.operators.base import DatabricksHookMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


#: XCom key of the cluster id, as in the seed: ``{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}``.
XCOM_CLUSTER_ID_KEY = "all_purpose_cluster_id"
#: Key of the cluster id in the task state store (survives retries of the same task instance).
STATE_CLUSTER_ID_KEY = "databricks_cluster_id"
#: The tags that name the task instance owning a cluster.
OWNER_TAGS = ("airflow_dag_id", "airflow_run_id", "airflow_task_id", "airflow_map_index", "airflow_ti_key")

_TAG_VALUE_BAD = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")


def sanitize_tag_value(value: object) -> str:
    """A valid Databricks (and cloud provider) tag value: letters, digits, spaces and ``+-=._:/@``, <= 255 chars."""
    return _TAG_VALUE_BAD.sub("_", str(value))[:255]


def owner_tags(dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, str]:
    """The custom tags naming the task instance that owns a cluster.

    ``airflow_ti_key`` is a hash of the raw (unsanitized) names: two task instances whose names sanitize
    to the same tag values still get different keys.
    """
    raw = f"{dag_id}\x1f{run_id}\x1f{task_id}\x1f{map_index}"
    return {
        "airflow_dag_id": sanitize_tag_value(dag_id),
        "airflow_run_id": sanitize_tag_value(run_id),
        "airflow_task_id": sanitize_tag_value(task_id),
        "airflow_map_index": str(map_index),
        "airflow_ti_key": hashlib.sha256(raw.encode()).hexdigest()[:32],
    }


def _retry_left(context: Context) -> bool:
    """Whether Airflow will run this task again after a failure of the current try."""
    ti = context["ti"]
    return int(getattr(ti, "try_number", 1) or 1) <= int(getattr(ti, "max_tries", 0) or 0)


def describe_failure(cluster: dict[str, Any]) -> str:
    """``state: state_message; termination_reason code=.. type=.. parameters={..}`` for an error message."""
    reason = cluster.get("termination_reason") or {}
    text = f"{cluster.get('state')}: {cluster.get('state_message', '')}".rstrip(": ")
    if reason:
        text += (f"; termination_reason code={reason.get('code')} type={reason.get('type')} "
                 f"parameters={reason.get('parameters', {})}")
    return text


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
    Killing the task (``on_kill``) deletes it too.

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
        databricks_retry_limit: int = 3,
        databricks_retry_delay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cluster_spec = cluster_spec
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.deferrable = deferrable
        self.adopt_existing = adopt_existing
        self.cluster_id: str | None = None

    # ------------------------------------------------------------------ execute
    def execute(self, context: Context) -> str:
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
            if not _retry_left(context):
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
                    trigger=DatabricksClusterStateTrigger(cluster_id, self.databricks_conn_id,
                                                          self.poll_interval, self.timeout),
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
        self._delete_quietly(cluster_id)
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
        candidates = [c for c in self.hook.list_clusters()
                      if all((c.get("custom_tags") or {}).get(k) == v for k, v in tags.items())
                      or (known and c.get("cluster_id") == known)]
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
        ti.xcom_push(key=XCOM_CLUSTER_URL_KEY, value=self.hook.cluster_url(cluster_id))
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
                self._delete_quietly(cluster_id)
                raise AirflowException(f"Cluster {cluster_id} not {what} after {self.timeout}s (still {state}); "
                                       "it was deleted")
            self.log.info("Cluster %s is %s, waiting for %s", cluster_id, state, what)
            time.sleep(self.poll_interval)

    def _wait_running(self, cluster_id: str) -> None:
        from airbricks.utils import clusters as states

        cluster = self._wait_for(cluster_id, lambda s: s == states.RUNNING or s in states.ENDED_STATES,
                                 states.RUNNING)
        self._check_running(cluster_id, cluster)

    def _check_running(self, cluster_id: str, cluster: dict[str, Any]) -> None:
        from airbricks.utils import clusters as states

        if cluster.get("state") == states.RUNNING:
            self.log.info("Cluster %s is RUNNING", cluster_id)
            return
        detail = describe_failure(cluster)
        self._delete_quietly(cluster_id)
        raise AirflowException(f"Cluster {cluster_id} did not start: {detail}")

    def _delete_quietly(self, cluster_id: str) -> None:
        """Permanently delete; a cluster already gone is fine, another failure is logged (the task fails anyway)."""
        from airbricks.hooks import DatabricksRequestError

        try:
            self.hook.permanent_delete_cluster(cluster_id)
            self.log.info("Permanently deleted cluster %s", cluster_id)
        except DatabricksRequestError as exc:
            if exc.is_not_found:
                self.log.info("Cluster %s is already gone", cluster_id)
            else:
                self.log.error("Could not delete cluster %s: %s", cluster_id, exc)


class DatabricksDeleteClusterOperator(DatabricksHookMixin, BaseOperator):
    """Delete a cluster: permanently (``clusters/permanent-delete``) or terminate only (``clusters/delete``).

    Runs whatever happened upstream (trigger rule ``all_done``).  A cluster that does not exist any more
    counts as deleted (logged), so re-running the teardown is harmless.  Use it as an Airflow teardown:
    ``delete.as_teardown(setups=create)``, or through :func:`databricks_cluster`.

    :param cluster_id: the cluster to delete, e.g. ``create.output`` or
        ``"{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"``. Templated.
    :param permanent: ``True`` (default): permanent-delete (gone from the workspace); ``False``: terminate,
        keeping the configuration listed as TERMINATED.
    :param databricks_conn_id: the Databricks connection.
    :param databricks_retry_limit: attempts for retryable API failures.
    :param databricks_retry_delay: seconds before the first API retry (then exponential).
    :param kwargs: the other ``BaseOperator`` arguments (``trigger_rule`` defaults to ``all_done``).
    """

    template_fields: Sequence[str] = ("cluster_id",)
    operator_extra_links = (DatabricksClusterLink(),)
    ui_color = "#f6d5d5"

    def __init__(
        self,
        *,
        cluster_id: str,
        permanent: bool = True,
        databricks_conn_id: str = "databricks_default",
        databricks_retry_limit: int = 3,
        databricks_retry_delay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.cluster_id = cluster_id
        self.permanent = permanent
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay)

    def execute(self, context: Context) -> None:
        from airbricks.hooks import DatabricksRequestError

        cluster_id = str(self.cluster_id or "").strip()
        if not cluster_id or cluster_id == "None":
            raise AirflowException("cluster_id is empty: did the create task push it?")
        context["ti"].xcom_push(key=XCOM_CLUSTER_URL_KEY, value=self.hook.cluster_url(cluster_id))
        try:
            if self.permanent:
                self.hook.permanent_delete_cluster(cluster_id)
            else:
                self.hook.delete_cluster(cluster_id)
        except DatabricksRequestError as exc:
            if not exc.is_not_found:
                raise
            self.log.info("Cluster %s does not exist (already deleted): nothing to do", cluster_id)
            return
        self.log.info("%s cluster %s", "Permanently deleted" if self.permanent else "Terminated", cluster_id)


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
) -> Iterator[DatabricksCreateClusterOperator]:
    """Tasks defined inside the block run on a cluster created before them and deleted after them.

    Create is the Airflow *setup* task and delete its *teardown*: the delete runs even when work tasks
    fail, its own failure does not fail the DAG run, and clearing a work task re-runs create (which adopts
    the existing cluster) and delete.  Inside the block, use the yielded create task's id, e.g.
    ``existing_cluster_id="{{ ti.xcom_pull('create_cluster', key='all_purpose_cluster_id') }}"``::

        with databricks_cluster(spec, create_task_id="start_cluster") as cluster:
            DatabricksSubmitRunOperator(task_id="job", json={..., "existing_cluster_id": cluster.output})

    :param cluster_spec: the ``clusters/create`` body.
    :param create_task_id: task id of the create (setup) task.
    :param delete_task_id: task id of the delete (teardown) task.
    :param databricks_conn_id: the Databricks connection of both tasks.
    :param permanent: permanent-delete (default) or only terminate at the end.
    :param create_kwargs: more arguments for :class:`DatabricksCreateClusterOperator`.
    :param delete_kwargs: more arguments for :class:`DatabricksDeleteClusterOperator`.
    """
    create = DatabricksCreateClusterOperator(task_id=create_task_id, cluster_spec=cluster_spec,
                                             databricks_conn_id=databricks_conn_id, **(create_kwargs or {}))
    delete = DatabricksDeleteClusterOperator(task_id=delete_task_id, cluster_id=create.output,
                                             permanent=permanent, databricks_conn_id=databricks_conn_id,
                                             **(delete_kwargs or {}))
    with delete.as_teardown(setups=create):
        yield create
