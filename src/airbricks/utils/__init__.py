"""Vocabulary shared by operators, sensors, triggers and the hook.

Kept import-free: :mod:`airbricks.utils.files` is imported while DAG files are parsed, while
:mod:`airbricks.utils.clusters` loads the provider's hook module and is imported only when a task runs.
"""
