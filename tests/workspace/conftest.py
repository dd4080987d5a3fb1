"""Fixtures of the workspace's tests: the model unit tests' manual clock, scripted processes and workspace."""

from tests.workspace.model_kit import clock, procs, shared, ws  # noqa: F401 - fixtures, registered by import
