"""The local workspace's web UI: where the links the API hands out land (run, cluster, job and file pages).

Server-rendered Jinja2 pages and one small vanilla script, no front-end build. Every UI path sits outside
``/api`` (:func:`is_ui_path`), so the API keeps its bearer-token check unchanged; the UI checks its own
session cookie (:mod:`airbricks.workspace.ui.sessions`). Pages read the models directly; buttons call the
real API through :mod:`airbricks.workspace.ui.actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from airbricks.workspace.ui.sessions import Sessions

#: Paths the UI answers; everything else (``/api/...``, ``/.well-known/...``) is the API's.
UI_PATHS = frozenset({"/", "/login", "/logout", "/favicon.ico"})
UI_PREFIX = "/ui/"
#: Catalog Explorer's links (``/explore/data/<catalog>/<schema>/<table>``) land on the Catalog page.
EXPLORE_PREFIX = "/explore/data"


def is_ui_path(path: str) -> bool:
    return path in UI_PATHS or path.startswith(UI_PREFIX) or path.startswith(EXPLORE_PREFIX)


class SignsIn(Protocol):
    """What a sign-in link needs of a workspace (the :class:`~airbricks.workspace.core.Workspace` has it)."""

    @property
    def url(self) -> str: ...

    @property
    def ui_sessions(self) -> Sessions: ...


def login_url(workspace: SignsIn, as_token: str | None = None) -> str:
    """A fresh one-time sign-in link of this workspace's UI (what ``airbricks serve`` prints): it signs in as the
    workspace's user, or as the principal of ``as_token``."""
    token = workspace.ui_sessions.new_login_token(as_token)
    return f"{workspace.url}/login?token={token}"
