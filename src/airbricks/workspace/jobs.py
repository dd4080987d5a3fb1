"""Placeholder: being written."""

from __future__ import annotations

from typing import Any


class Jobs:
    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace

    def recover(self) -> None:
        pass

    def tick(self, now_ms: int) -> None:
        pass

    def shutdown(self) -> None:
        pass
