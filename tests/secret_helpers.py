"""A secret for a test (importable: pytest puts ``tests/`` on ``sys.path`` for its conftest)."""

from __future__ import annotations

import uuid
from typing import Any


def new_secret(sdk: Any, prefix: str, key: str) -> tuple[str, str]:
    """A new Databricks-backed scope holding one random string secret under ``key``: ``(scope, value)``. The
    value is unique, so a scan for it finds only what this test leaked."""
    scope, value = f"{prefix}-{uuid.uuid4().hex[:8]}", f"{prefix}-value-{uuid.uuid4().hex}"
    sdk.secrets.create_scope(scope)
    sdk.secrets.put_secret(scope, key, string_value=value)
    return scope, value
