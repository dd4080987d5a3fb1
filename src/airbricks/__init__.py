"""airbricks: Airflow operators that fully manage a Databricks workspace, and a local workspace to test them.

Kept import-free on purpose: DAG files import operators from their own modules, and parse time matters.
"""

__version__ = "0.1.0"
