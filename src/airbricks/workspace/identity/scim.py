"""SCIM documents: the error shape, names and filters as Databricks checks them, and ``PatchOp`` (RFC 7644
3.5.2) on one resource as Databricks applies it.

What real clients send: the SDK's ``groups.patch``/``users.patch`` and Terraform's group membership add members
with ``{"op": "add", "value": {"members": [{"value": id}]}}`` (no path) or ``{"op": "add", "path": "members",
"value": [...]}``, remove one with ``{"op": "remove", "path": "members[value eq \\"id\\"]"}``, and switch a user
off with ``{"op": "replace", "path": "active", "value": false}``.  Operations apply in order to a copy, so a
bad one leaves the resource as it was.

Pure functions: the caller (:mod:`airbricks.workspace.identity.principals`) resolves members and saves the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from airbricks.workspace.errors import DatabricksError, InvalidParameterValue

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
#: Attributes no patch may change: the id the service assigns, and the names principals are known by.
IMMUTABLE = frozenset({"id", "schemas", "meta", "userName", "applicationId"})
#: Multi-valued attributes whose items are ``{"value": ...}`` objects, matched by value.
MULTI_VALUED = frozenset({"members", "entitlements", "roles", "emails", "groups"})
_FILTERED = re.compile(r'^(\w+)\[value eq "?([^"\]]*)"?\]$')


E = TypeVar("E", bound=DatabricksError)


def scim_error(cls: type[E], status: int, detail: str) -> E:
    """A SCIM error (its own body shape: ``schemas``, ``detail``, ``status``) with the Databricks fields too."""
    return cls(detail, schemas=[ERROR_SCHEMA], detail=detail, status=str(status))


def _error(detail: str) -> InvalidParameterValue:
    return scim_error(InvalidParameterValue, 400, detail)


def _an(op: str) -> str:
    return f"An {op}" if op == "add" else f"A {op}"


def _target(path: str) -> tuple[str, str | None]:
    """``"members"`` -> ``("members", None)``; ``'members[value eq "7"]'`` -> ``("members", "7")``."""
    match = _FILTERED.match(path.strip())
    if match:
        return match.group(1), match.group(2)
    if not re.fullmatch(r"[\w.]+", path.strip()):
        raise _error(f"Unsupported patch path '{path[:200]}': use an attribute name or 'attribute[value eq \"id\"]'.")
    return path.strip(), None


def _items(value: Any, attribute: str) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, dict) and item.get("value") is not None for item in items):
        raise _error(f"Invalid value for '{attribute}': expected objects with a 'value'.")
    return items


def _set(
    doc: dict[str, Any],
    attribute: str,
    value: Any,
    *,
    add: bool,
    resolve: Callable[[str, dict[str, Any]], dict[str, Any]],
) -> None:
    if attribute in IMMUTABLE:
        raise _error(f"Attribute '{attribute}' cannot be changed.")
    if attribute not in MULTI_VALUED:
        doc[attribute] = value
        return
    new = [resolve(attribute, item) for item in _items(value, attribute)]
    if not add:
        doc[attribute] = new
        return
    known = {str(item.get("value")) for item in doc.get(attribute) or []}
    doc[attribute] = [*(doc.get(attribute) or []), *(item for item in new if str(item["value"]) not in known)]


def _remove(doc: dict[str, Any], attribute: str, value: str | None, operation: dict[str, Any]) -> None:
    if attribute in IMMUTABLE:
        raise _error(f"Attribute '{attribute}' cannot be changed.")
    if value is None and operation.get("value") is not None and attribute in MULTI_VALUED:
        gone = {str(item["value"]) for item in _items(operation["value"], attribute)}
    elif value is None:
        doc.pop(attribute, None)
        return
    else:
        gone = {value}
    doc[attribute] = [item for item in doc.get(attribute) or [] if str(item.get("value")) not in gone]


def apply_patch(
    doc: dict[str, Any], body: dict[str, Any], resolve: Callable[[str, dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``doc`` with the body's ``Operations`` applied, as a new dict.

    :param resolve: turns one multi-valued item into what is stored (members get their ``display``; an
        unknown member raises).
    """
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise _error("Missing required field: Operations (a list of {op, path, value}).")
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in doc.items()}
    for operation in operations:
        op = str(operation.get("op", "")).lower() if isinstance(operation, dict) else ""
        if op not in ("add", "replace", "remove"):
            given = operation.get("op") if isinstance(operation, dict) else operation
            raise _error(f"Invalid patch op '{str(given)[:50]}': use add, replace or remove.")
        path = operation.get("path")
        if op == "remove":
            if not isinstance(path, str) or not path:
                raise _error("A remove operation needs a 'path'.")
            _remove(out, *_target(path), operation)
        elif path is None:
            if not isinstance(operation.get("value"), dict):
                raise _error(f"{_an(op)} without a 'path' needs an object 'value' of attributes.")
            for attribute, value in operation["value"].items():
                _set(out, attribute, value, add=op == "add", resolve=resolve)
        elif isinstance(path, str):
            attribute, filtered = _target(path)
            if filtered is not None:
                raise _error(f"Unsupported patch path '{path[:200]}' for {op}: name the attribute alone.")
            if "value" not in operation:
                raise _error(f"{_an(op)} of '{attribute}' needs a 'value'.")
            _set(out, attribute, operation.get("value"), add=op == "add", resolve=resolve)
        else:
            raise _error("Invalid value for field 'path': expected a string.")
    return out


def first_admin_error(user: dict[str, Any]) -> InvalidParameterValue:
    """Why the workspace's first user cannot leave ``admins``: nobody could administer the workspace again."""
    return scim_error(
        InvalidParameterValue,
        400,
        f"{user['userName']} must stay in the admins group: the workspace needs its first user as an admin.",
    )


def listed(value: Any) -> list[Any]:
    """A multi-valued attribute as a list (absent: empty; one value: a list of it)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def checked_name(resource: str, body: dict[str, Any]) -> str:
    """The name of a new or replaced resource (``userName`` or ``displayName``), checked as Databricks does."""
    key = {"Users": "userName", "Groups": "displayName", "ServicePrincipals": "displayName"}[resource]
    name = body.get(key)
    if not isinstance(name, str) or not name.strip():
        raise scim_error(InvalidParameterValue, 400, f"Missing required field: {key}")
    if len(name.encode()) > 255 or "/" in name or name != name.strip():
        raise scim_error(
            InvalidParameterValue,
            400,
            f"Invalid value for field '{key}': at most 255 bytes, no '/' and no leading or trailing spaces",
        )
    return name


def parse_filter(text: str) -> tuple[str, str]:
    """``userName eq "a@b.c"`` -> ``("userName", "a@b.c")``; other operators are refused by name."""
    parts = text.strip().split(None, 2)
    if len(parts) != 3 or parts[1].lower() != "eq":
        raise scim_error(
            InvalidParameterValue,
            400,
            f"Unsupported filter '{text[:200]}': the local workspace understands 'attribute eq \"value\"' only.",
        )
    return parts[0], parts[2].strip().strip('"')
