"""``POST /api/2.0/airbricks/ui/login-links``: a new one-time sign-in link for the web UI.

The link ``airbricks serve`` prints signs in one browser once; whoever holds the API token (the bearer check
applies as on every ``/api`` path) asks here for another - for a second browser, a test, a script. The link
signs in as the caller, with the caller's own token: a second user gets a link for itself, never the admin's.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import Request

from airbricks.workspace.errors import PermissionDenied
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.server.http import Endpoint, workspace
from airbricks.workspace.ui import login_url


async def new_login_link(request: Request) -> dict[str, Any]:
    if caller(request).task_run_id is not None:
        raise PermissionDenied("A task run's token cannot open web UI sessions: use a user's token")
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
    else:  # Basic, with the token as password
        token = base64.b64decode(header[6:]).decode().partition(":")[2]
    return {"url": login_url(workspace(request), token)}


ROUTES: list[Endpoint] = [Endpoint("POST", "/api/2.0/airbricks/ui/login-links", new_login_link)]
