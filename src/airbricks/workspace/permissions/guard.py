"""Permission checks declared on route rows: ``guarded(row, level, target)`` checks before the row runs,
``listed(row, ...)`` filters what a list row answers, ``owned(row, ...)`` records who created what a row makes.

Each service's ``ROUTES`` table wraps the rows that act on a cluster, job, run, warehouse or workspace path, so
the check is one declaration beside the path rather than a line in every handler or model method. Workspace
admins (the workspace's own token, members of ``admins``) pass without a lookup: the hot paths (``clusters/get``
polled by every waiting operator) cost one set membership test for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import PermissionDenied
from airbricks.workspace.identity.principals import Principal, require_admin
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.params import Params
from airbricks.workspace.permissions.acls import Grant, object_type_of
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


@dataclass(frozen=True)
class Locate:
    """Where a request's target is: ``find(workspace, request, params)`` (None: nothing to check, e.g. a missing
    required field the row refuses with its own error). ``reads_body``: False for targets in the path, so a row
    with a body that is not JSON (Thrift) is never parsed as JSON."""

    find: Callable[[Workspace, Request, Params], Target | None]
    reads_body: bool = True


def field(object_type: str, name: str) -> Locate:
    """The target is the object whose id the parameter ``name`` holds."""

    def find(_: Workspace, __: Request, params: Params) -> Target | None:
        value = params.raw(name)
        return Target(object_type, str(value)) if isinstance(value, (str, int)) and value != "" else None

    return Locate(find)


def path_param(object_type: str, name: str) -> Locate:
    """The target is the object whose id the path parameter ``name`` holds (``/sql/warehouses/{id}``)."""
    return Locate(lambda _, request, __: Target(object_type, str(request.path_params[name])), reads_body=False)


def run(name: str = "run_id") -> Locate:
    """The target is the job of the run (or task run) the parameter names: a run is as visible as its job, and
    a one-time run (``runs/submit``) has an ACL of its own under its job id."""

    def find(ws: Workspace, _: Request, params: Params) -> Target | None:
        if params.raw(name) is None:
            return None
        return Target("jobs", str(ws.runs.find(params.raw(name)).run.job_id), verify=False)

    return Locate(find)


def workspace_path(name: str = "path") -> Locate:
    """The target is the workspace path the parameter names (checked with inheritance from its folders)."""

    def find(ws: Workspace, _: Request, params: Params) -> Target | None:
        value = params.raw(name)
        return Target(PATH, ws.objects.normalize(value)) if isinstance(value, str) and value else None

    return Locate(find)


def _who(request: Request) -> Principal:
    """The caller, read straight from the scope the authentication layer filled (``request.state`` builds an
    object per request: a measurable share of ``clusters/get``, which every waiting client polls)."""
    return request.scope["state"]["principal"]


def check(ws: Workspace, who: Principal, target: Target, level: str) -> None:
    if target.object_type == PATH:
        ws.permissions.check_path(who, target.object_id, level)
    else:
        ws.permissions.check(who, target.object_type, target.object_id, level, verify=target.verify)


#: Where a request carries an access control list to apply to the object it acts on (``jobs/reset``).
AclOf = Callable[[Params], Any]


def guarded(row: Endpoint, level: str, locate: Locate, acl: AclOf | None = None) -> Endpoint:
    """``row``, refusing callers who do not hold ``level`` on what it acts on (admins are not looked up); with
    ``acl``, the access control list the request carries is checked first and applied once the row succeeded."""
    inner = row.handler

    def handler(request: Request) -> Awaitable[Any]:
        """An admin's request goes straight to the row (its own coroutine, no frame of ours around it)."""
        if acl is None and _who(request).is_admin:
            return inner(request)
        return checked(request)

    async def checked(request: Request) -> Any:
        who = _who(request)
        ws = workspace(request)
        params = await read_params(request) if locate.reads_body else Params({})
        target = locate.find(ws, request, params)
        if target is not None and not who.is_admin:
            check(ws, who, target, level)
        raw = acl(params) if acl is not None and target is not None else None
        grants = ws.permissions.parse(target.object_type, raw) if raw and target is not None else []
        answer = await inner(request)
        if grants and target is not None:
            ws.permissions.apply(target.object_type, target.object_id, grants)
        return answer

    handler.__name__ = getattr(inner, "__name__", "endpoint")
    return dataclasses.replace(row, handler=handler)


def listed(row: Endpoint, key: str, object_type: str, id_field: str) -> Endpoint:
    """``row``, whose answer lists objects under ``key``, showing a non-admin only those it holds a level on.

    Pages are filtered after paging, so page tokens stay offsets into the whole list: a client paging until
    there is no next token still sees everything it may see (a page may be short)."""
    inner = row.handler

    async def handler(request: Request) -> Any:
        answer = await inner(request)
        who = _who(request)
        if who.is_admin or not isinstance(answer, dict) or not isinstance(answer.get(key), list):
            return answer
        items = answer[key]
        ids = [str(item.get(id_field)) for item in items]
        permissions = workspace(request).permissions
        if object_type == PATH:
            allowed = {path for path in ids if permissions.can_path(who, path, "CAN_READ")}
        else:
            allowed = permissions.visible(who, object_type, ids)
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


#: What a service declares for one of its rows: how to wrap it (see :func:`need`, :func:`shows`, :func:`creates`).
Rule = Callable[[Endpoint], Endpoint]


def need(level: str, locate: Locate, acl: AclOf | None = None) -> Rule:
    """The row needs ``level`` on what ``locate`` finds (and applies the ``acl`` the request carries)."""
    return lambda row: guarded(row, level, locate, acl)


def shows(key: str, object_type: str, id_field: str) -> Rule:
    """The row lists objects under ``key``: a non-admin sees those it holds a level on."""
    return lambda row: listed(row, key, object_type, id_field)


def lists(level: str, locate: Locate, key: str, object_type: str, id_field: str) -> Rule:
    """The row needs ``level`` on what ``locate`` finds, and lists objects a non-admin sees only some of."""
    return lambda row: listed(guarded(row, level, locate), key, object_type, id_field)


def require_path(request: Request, path: Any, level: str) -> None:
    """For a handler that reads its own body (``workspace/import``, JSON or a form): ``level`` on ``path``."""
    ws = workspace(request)
    if isinstance(path, str) and path:
        ws.permissions.check_path(caller(request), ws.objects.normalize(path), level)


def creates(object_type: str, made: Made, acl_field: str | None = "access_control_list") -> Rule:
    """The row creates an object: the caller owns it, and the request's access control list applies."""
    return lambda row: owned(row, object_type, made, acl_field)


def admins(action: str) -> Rule:
    """The row is the local workspace's own administration (fault rules): workspace admins only, refused with
    the message ``workspace-conf`` answers (``Only workspace admins can <action>; <name> is not in the admins
    group.``) before the body is read."""

    def wrap(row: Endpoint) -> Endpoint:
        inner = row.handler

        async def handler(request: Request) -> Any:
            require_admin(_who(request), action)
            return await inner(request)

        handler.__name__ = getattr(inner, "__name__", "endpoint")
        return dataclasses.replace(row, handler=handler)

    return wrap


@dataclass(frozen=True)
class Owned:
    """An object that records who made it and is reached through another (a SQL statement: its warehouse)."""

    noun: str
    object_id: str
    owner: str | None
    through: Target


def sees(ws: Workspace, who: Principal, owned: Owned, others: str) -> bool:
    """Whether ``who`` may see ``owned``: admins, its owner, or whoever holds ``others`` on what it is reached
    through (a warehouse's CAN_MONITOR shows every statement run on it, as on Databricks)."""
    if who.is_admin or owned.owner == who.name:
        return True
    return ws.permissions.can(who, owned.through.object_type, owned.through.object_id, others)


def own_or(level: str, others: str, find: Callable[[Workspace, Request], Owned]) -> Rule:
    """The row acts on an object with an owner (a statement by id): its owner needs ``level`` on what it is
    reached through (CAN_USE on the warehouse), anyone else ``others`` there (CAN_MONITOR); a missing object
    answers its own error (``find`` raises it)."""

    def wrap(row: Endpoint) -> Endpoint:
        inner = row.handler

        def handler(request: Request) -> Awaitable[Any]:
            who = _who(request)
            if not who.is_admin:
                ws = workspace(request)
                owned = find(ws, request)
                via = object_type_of(owned.through.object_type).noun
                if owned.owner == who.name:
                    check(ws, who, owned.through, level)
                elif not sees(ws, who, owned, others):
                    raise PermissionDenied(
                        f"User {who.name} does not have permission to access {owned.noun} {owned.object_id}: "
                        f"it was run by another user, and only {others} on its {via} "
                        f"{owned.through.object_id} shows every {owned.noun} run there"
                    )
            return inner(request)

        handler.__name__ = getattr(inner, "__name__", "endpoint")
        return dataclasses.replace(row, handler=handler)

    return wrap


def permitted(rows: list[Endpoint], rules: dict[str, Rule]) -> list[Endpoint]:
    """The route tables with the permission rules applied: ``rules`` by ``"METHOD path"`` of the rows (every
    version of a path alike). Each service declares its rules once, beside its table, so a row added later is
    not touched; a rule naming no row is a mistake, refused when the application is made."""
    unused = set(rules) - {f"{row.method} {row.path}" for row in rows}
    if unused:
        raise ValueError(f"permission rules for rows that do not exist: {sorted(unused)}")
    return [rules[key](row) if (key := f"{row.method} {row.path}") in rules else row for row in rows]
