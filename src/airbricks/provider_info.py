"""Provider metadata for Airflow's provider manager (entry point ``apache_airflow_provider``).

Lists airbricks' operators, sensors, triggers, hooks and extra links so ``airflow providers list`` and the
UI know them.  No connection type is registered: airbricks uses the official ``databricks`` one.
"""

from __future__ import annotations

from typing import Any

_INTEGRATION = "Databricks (airbricks)"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airbricks",
        "name": "airbricks",
        "description": "Operators that fully manage a Databricks workspace, and a local workspace to test them.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.databricks.com/api/workspace/introduction",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airbricks.operators.api",
                    "airbricks.operators.clusters",
                    "airbricks.operators.runs",
                ],
            }
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": ["airbricks.sensors.files"]}],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": ["airbricks.triggers"]}],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": ["airbricks.hooks"]}],
        "extra-links": ["airbricks.links.DatabricksClusterLink", "airbricks.links.DatabricksRunLink"],
    }
