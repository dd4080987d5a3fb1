"""The benchmarks' Airflow deployment: it moved to :mod:`airbricks.testing.deployment` (``airbricks[distributed]``
for the Celery executor), one module for the tests, the chaos run and the benchmarks; this name stays for them."""

from airbricks.testing.deployment import AirflowDeployment

__all__ = ["AirflowDeployment"]
