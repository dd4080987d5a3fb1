"""Helpers of the security scans: a secret for a test, and a process tree to scan (importable: pytest puts
``tests/`` on ``sys.path`` for its conftest)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


def new_secret(sdk: Any, prefix: str, key: str) -> tuple[str, str]:
    """A new Databricks-backed scope holding one random string secret under ``key``: ``(scope, value)``. The
    value is unique, so a scan for it finds only what this test leaked."""
    scope, value = f"{prefix}-{uuid.uuid4().hex[:8]}", f"{prefix}-value-{uuid.uuid4().hex}"
    sdk.secrets.create_scope(scope)
    sdk.secrets.put_secret(scope, key, string_value=value)
    return scope, value


def process_tree(root: int) -> set[int]:
    """``root`` and every live process below it (read from ``/proc``: a process may end while it is read)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found
