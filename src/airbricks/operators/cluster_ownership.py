"""Which task instance owns a cluster (the tags every created cluster carries), and how a cluster's failure
reads in an error message: shared by the cluster operators, free of Airflow's heavier imports."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Context

#: The tags that name the task instance owning a cluster.
OWNER_TAGS = ("airflow_dag_id", "airflow_run_id", "airflow_task_id", "airflow_map_index", "airflow_ti_key")

_TAG_VALUE_BAD = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")


def sanitize_tag_value(value: object) -> str:
    """A valid Databricks (and cloud provider) tag value: letters, digits, spaces and ``+-=._:/@``, <= 255 chars."""
    return _TAG_VALUE_BAD.sub("_", str(value))[:255]


def owner_tags(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> dict[str, str]:
    """The custom tags naming the task instance that owns a cluster.

    ``map_index`` is ``-1`` for an unmapped task; Airflow's task instance types it ``int | None``, and an
    unset one is tagged ``None``.

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


def owned_by(cluster: dict[str, Any], tags: dict[str, str]) -> bool:
    """Whether ``cluster`` carries every one of the owner ``tags``."""
    custom = cluster.get("custom_tags") or {}
    return all(custom.get(k) == v for k, v in tags.items())


def retry_left(context: Context) -> bool:
    """Whether Airflow will run this task again after a failure of the current try."""
    ti = context["ti"]
    return int(getattr(ti, "try_number", 1) or 1) <= int(getattr(ti, "max_tries", 0) or 0)


def describe_failure(cluster: dict[str, Any]) -> str:
    """``state: state_message; termination_reason code=.. type=.. parameters={..}`` for an error message."""
    reason = cluster.get("termination_reason") or {}
    text = f"{cluster.get('state')}: {cluster.get('state_message', '')}".rstrip(": ")
    if reason:
        text += (
            f"; termination_reason code={reason.get('code')} type={reason.get('type')} "
            f"parameters={reason.get('parameters', {})}"
        )
    return text
