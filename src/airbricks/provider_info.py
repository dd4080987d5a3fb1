"""Provider metadata for Airflow's provider manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airbricks",
        "name": "airbricks",
        "description": "Operators that fully manage a Databricks workspace, and a local workspace to test them.",
        "versions": ["0.1.0"],
    }
