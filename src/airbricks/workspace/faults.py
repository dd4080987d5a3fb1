"""Fault injection (filled in by the reliability work): rules matched against each request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airbricks.workspace.core import Workspace


class Faults:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.rules: list[dict[str, Any]] = []

    def match(self, method: str, path: str) -> Any:
        return None
