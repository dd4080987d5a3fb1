"""``POST /api/2.0/airbricks/ui/login-links``: a new one-time sign-in link for the web UI.

The link ``airbricks serve`` prints signs in one browser once; whoever holds the API token (the bearer check
applies as on every ``/api`` path) asks here for another - for a second browser, a test, a script.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airbricks.workspace.server.http import Endpoint, workspace
from airbricks.workspace.ui import login_url


async def new_login_link(request: Request) -> dict[str, Any]:
    return {"url": login_url(workspace(request))}


ROUTES: list[Endpoint] = [Endpoint("POST", "/api/2.0/airbricks/ui/login-links", new_login_link)]
