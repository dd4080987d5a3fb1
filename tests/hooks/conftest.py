"""Fixtures: the DAG-running tests' kit (``tests/dag_kit.py``), registered by import."""

from tests.dag_kit import clusters_ever, dag_id, no_leaked_clusters, sink, ti_states  # noqa: F401 - fixtures, registered by import
