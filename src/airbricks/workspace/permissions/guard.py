"""Permission checks declared on route rows: ``guarded(row, level, target)`` checks before the row runs,
``listed(row, ...)`` filters what a list row answers, ``owned(row, ...)`` records who created what a row makes.

Each service's ``ROUTES`` table wraps the rows that act on a cluster, job, run, warehouse or workspace path, so
the check is one declaration beside the path rather than a line in every handler or model method. Workspace
admins (the workspace's own token, members of ``admins``) pass without a lookup: the hot paths (``clusters/get``
polled by every waiting operator) cost one set membership test for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.params import Params
from airbricks.workspace.permissions.acls import Grant
from airbricks.workspace.server.http import Endpoint, read_params, workspace

#: The object type of a workspace path target (checked by path, with inheritance from its folders).
PATH = "path"


@dataclass(frozen=True)
class Target:
    """What a request acts on: an object type and id (or ``PATH`` and a workspace path). ``verify``: answer the
    service's own error for a missing object before a denial (off where the id was derived, e.g. a run's job)."""

    object_type: str
    object_id: str
    verify: bool = True


#: Where a request's target is: from the workspace, the request and its parameters (None: nothing to check,
#: e.g. a missing required field the row itself refuses with its own error).
Locate = Callable[[Workspace, Request, Params], "Target | None"]


def field(object_type: str, name: str) -> Locate:
    """The target is the object whose id the parameter ``name`` holds."""

    def locate(_: Workspace, __: Request, params: Params) -> Target | None:
        value = params.raw(name)
        return Target(object_type, str(value)) if isinstance(value, (str, int)) and value != "" else None

    return locate


def path_param(object_type: str, name: str) -> Locate:
    """The target is the object whose id the path parameter ``name`` holds (``/sql/warehouses/{id}``)."""
    return lambda _, request, __: Target(object_type, str(request.path_params[name]))


def run(name: str = "run_id") -> Locate:
    """The target is the job of the run (or task run) the parameter names: a run is as visible as its job, and
    a one-time run (``runs/submit``) has an ACL of its own under its job id."""

    def locate(ws: Workspace, _: Request, params: Params) -> Target | None:
        if params.raw(name) is None:
            return None
        return Target("jobs", str(ws.runs.find(params.raw(name)).run.job_id), verify=False)

    return locate


def workspace_path(name: str = "path") -> Locate:
    def locate(ws: Workspace, _: Request, params: Params) -> Target | None:
        value = params.raw(name)
        return Target(PATH, ws.objects.normalize(value)) if isinstance(value, str) and value else None

    return locate


def check(ws: Workspace, who: Principal, target: Target, level: str) -> None:
    if target.object_type == PATH:
        ws.permissions.check_path(who, target.object_id, level)
    else:
        ws.permissions.check(who, target.object_type, target.object_id, level, verify=target.verify)


def guarded(row: Endpoint, level: str, locate: Locate) -> Endpoint:
    """``row``, refusing callers who do not hold ``level`` on what it acts on (admins are not looked up)."""
    inner = row.handler

    async def handler(request: Request) -> Any:
        who = caller(request)
        if not who.is_admin:
            ws = workspace(request)
            target = locate(ws, request, await read_params(request))
            if target is not None:
                check(ws, who, target, level)
        return await inner(request)

    handler.__name__ = getattr(inner, "__name__", "endpoint")
    return dataclasses.replace(row, handler=handler)


def listed(row: Endpoint, key: str, object_type: str, id_field: str) -> Endpoint:
    """``row``, whose answer lists objects under ``key``, showing a non-admin only those it holds a level on.

    Pages are filtered after paging, so page tokens stay offsets into the whole list: a client paging until
    there is no next token still sees everything it may see (a page may be short)."""
    inner = row.handler

    async def handler(request: Request) -> Any:
        answer = await inner(request)
        who = caller(request)
        if who.is_admin or not isinstance(answer, dict) or not isinstance(answer.get(key), list):
            return answer
        items = answer[key]
        ids = [str(item.get(id_field)) for item in items]
        allowed = workspace(request).permissions.visible(who, object_type, ids)
        kept = [item for item, ident in zip(items, ids, strict=True) if ident in allowed]
        return {**answer, key: kept} if kept else {k: v for k, v in answer.items() if k != key}

    handler.__name__ = getattr(inner, "__name__", "endpoint")
    return dataclasses.replace(row, handler=handler)


#: How a create row's answer names what it made (given the workspace, to follow a run to its job).
Made = Callable[[Workspace, Any], str]


def owned(row: Endpoint, object_type: str, made: Made, acl_field: str | None = "access_control_list") -> Endpoint:
    """``row`` creates an object: its caller becomes the owner (or manager) and the request's
    ``access_control_list`` applies, checked before anything is made so a bad entry leaves nothing behind."""
    inner = row.handler

    async def handler(request: Request) -> Any:
        ws, who = workspace(request), caller(request)
        grants: list[Grant] = []
        if acl_field is not None:
            params = await read_params(request)
            grants = ws.permissions.parse(object_type, params.raw(acl_field), field=acl_field)
        answer = await inner(request)
        ws.permissions.created(object_type, made(ws, answer), who, grants)
        return answer

    handler.__name__ = getattr(inner, "__name__", "endpoint")
    return dataclasses.replace(row, handler=handler)
