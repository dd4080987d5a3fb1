"""All-purpose clusters from Airflow: the one module DAGs import the cluster operators from.

Create (and wait), start an existing one, delete, and ``databricks_cluster(...)`` (create as setup, delete
as teardown around a block). Each lives in a module of its own (:mod:`~airbricks.operators.cluster_create`,
:mod:`~airbricks.operators.cluster_start`, :mod:`~airbricks.operators.cluster_delete`, the owner tags in
:mod:`~airbricks.operators.cluster_ownership`), which stay importable; this module only gathers them, so a
DAG needs one import line and none of those modules imports this one.
"""

from __future__ import annotations

from airbricks.operators.cluster_create import (
    STATE_CLUSTER_ID_KEY,
    XCOM_CLUSTER_ID_KEY,
    DatabricksCreateClusterOperator,
    delete_clusters_of_a_failed_task,
)
from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator, databricks_cluster
from airbricks.operators.cluster_ownership import OWNER_TAGS, owner_tags, sanitize_tag_value
from airbricks.operators.cluster_start import DatabricksStartClusterOperator

__all__ = [
    "OWNER_TAGS",
    "STATE_CLUSTER_ID_KEY",
    "XCOM_CLUSTER_ID_KEY",
    "DatabricksCreateClusterOperator",
    "DatabricksDeleteClusterOperator",
    "DatabricksStartClusterOperator",
    "databricks_cluster",
    "delete_clusters_of_a_failed_task",
    "owner_tags",
    "sanitize_tag_value",
]
