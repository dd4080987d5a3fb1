"""What every model of one workspace shares: settings, data dir, store, lock, clock, and its public URL.

Models receive this (and the other models they call) when they are built; none of them imports the
workspace that composes them, so the models form no import circle. Every model method that reads or changes
state takes :attr:`Shared.lock` itself (a re-entrant lock: a model may call another under it); callers -
routes, the ticker, tests - never need to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from airbricks.workspace.clock import Clock
from airbricks.workspace.config import WorkspaceConfig
from airbricks.workspace.store import Store

#: The workspace's first user (the token's) unless ``--user`` names another.
CREATOR = "airbricks@localhost"


@dataclass
class Shared:
    config: WorkspaceConfig
    data_dir: Path
    store: Store
    clock: Clock
    workspace_id: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Base URL clients use (set by the server once bound); used for run_page_url and cluster links.
    url: str = "http://127.0.0.1"
    #: The HTTPS listener's base URL when the server runs one (the SQL connector's; warehouses' odbc_params).
    tls_url: str | None = None

    @property
    def user_name(self) -> str:
        """Who creates and runs what the workspace's token asks for (``creator_user_name``, home folder)."""
        return self.config.user

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def page_url(self, fragment: str) -> str:
        """A link into the workspace UI, e.g. ``#job/1/run/2``, as the real service writes it."""
        return f"{self.url}/?o={self.workspace_id}#{fragment}"
