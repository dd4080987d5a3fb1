"""What the storage model tests share: checking that a call fails with the real service's status, code and message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airbricks.workspace.errors import DatabricksError


def fails(call: Callable[[], Any], status: int, code: str, message: str) -> DatabricksError:
    """Run ``call``: it must raise the Databricks error ``code`` (HTTP ``status``) with ``message`` in its text."""
    with pytest.raises(DatabricksError) as caught:
        call()
    error = caught.value
    assert (error.status_code, error.error_code) == (status, code), error.body()
    assert message in error.message, error.message
    return error
