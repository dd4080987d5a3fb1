"""Operators that manage a Databricks workspace from Airflow (generic API call, clusters, run output).

Names are resolved lazily so ``import airbricks.operators`` costs nothing until an operator is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DatabricksApiOperator": "airbricks.operators.api",
    "DatabricksClusterLibrariesOperator": "airbricks.operators.libraries",
    "DatabricksCreateClusterOperator": "airbricks.operators.clusters",
    "DatabricksDeleteClusterOperator": "airbricks.operators.clusters",
    "databricks_cluster": "airbricks.operators.clusters",
    "DatabricksRunOutputOperator": "airbricks.operators.runs",
    "DatabricksStartClusterOperator": "airbricks.operators.clusters",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
