"""Testing your own DAGs and notebooks offline: a local workspace, an isolated Airflow, a DAG runner.

``airbricks.testing`` is the public kit; the pytest plugin (:mod:`airbricks.testing.plugin`, registered as the
``airbricks`` ``pytest11`` entry point) is a thin layer of fixtures over it, so scripts and other test runners
get the same behaviour::

    from airbricks.testing import local_workspace

    with local_workspace() as ws:          # a real local workspace over HTTP, in a temporary data dir
        client = ws.client()               # databricks-sdk WorkspaceClient
        ws.upload_notebooks("notebooks", "/Workspace/Shared/pipeline")

This package imports nothing heavy at import time (the plugin is loaded by every pytest run where airbricks is
installed, even a worker with only the base package): the server, the SDK and Airflow are imported inside the
functions that need them, and :func:`require_testing_extra` says which extra to install when one is missing.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbricks.testing.workspace import TestWorkspace

#: The extra that brings everything the fixtures use (the local workspace server, databricks-sdk, pytest).
EXTRA = "airbricks[testing]"
_NEEDED = {"fastapi": "fastapi", "uvicorn": "uvicorn", "databricks.sdk": "databricks-sdk"}


class MissingTestingExtra(ImportError):
    """A testing helper was used where ``airbricks[testing]`` is not installed."""


def missing_packages() -> list[str]:
    """The distributions of the testing extra that are not importable here (cheap: no module is imported)."""
    missing = []
    for module, dist in _NEEDED.items():
        try:
            found = find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package (``databricks``) is missing
            found = False
        if not found:
            missing.append(dist)
    return missing


def require_testing_extra(what: str) -> None:
    """Raise :class:`MissingTestingExtra` naming the extra when ``what`` cannot run here."""
    missing = missing_packages()
    if missing:
        raise MissingTestingExtra(
            f"{what} needs the {EXTRA} extra ({', '.join(missing)} not installed): "
            f"pip install '{EXTRA}' (add 'airbricks[spark]' too for real Spark behind clusters)."
        )


def local_workspace(*args: Any, **kwargs: Any) -> TestWorkspace:
    """A local workspace for a test run, as a context manager.

    See :func:`airbricks.testing.workspace.local_workspace`.
    """
    require_testing_extra("airbricks.testing.local_workspace()")
    from airbricks.testing.workspace import local_workspace as start

    return start(*args, **kwargs)


__all__ = ["EXTRA", "MissingTestingExtra", "local_workspace", "missing_packages", "require_testing_extra"]
