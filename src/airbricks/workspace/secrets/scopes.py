"""Secrets: Databricks-backed scopes, secrets (string or bytes, encrypted at rest), and scope ACLs.

Permissions follow Databricks: ``READ`` (list and get secrets), ``WRITE`` (also put and delete them),
``MANAGE`` (also ACLs and deleting the scope). Workspace admins have MANAGE everywhere; everyone else gets what
an ACL grants their name, a group of theirs or ``users``. A new scope's creator gets MANAGE, or everyone does
with ``initial_manage_principal = "users"``. Listing scopes needs no permission. Values are sealed by
:class:`~airbricks.workspace.secrets.cipher.SecretCipher` before they reach the store.

Knows nothing of HTTP; every method takes the calling :class:`~airbricks.workspace.identity.principals.Principal`.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from airbricks.workspace.errors import (
    InvalidParameterValue,
    NotImplementedOnLocal,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from airbricks.workspace.identity.principals import USERS, Principal
from airbricks.workspace.secrets.cipher import SecretCipher
from airbricks.workspace.shared import Shared

SCOPE_KIND, SECRET_KIND = "secret_scope", "secret"
LEVELS = {"READ": 1, "WRITE": 2, "MANAGE": 3}
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS_PER_SCOPE = 1000
#: ``{{secrets/<scope>/<key>}}``, the reference form of cluster ``spark_conf`` and ``spark_env_vars`` values.
REFERENCE = re.compile(r"\{\{secrets/([^/{}]+)/([^/{}]+)\}\}")


def effective_permission(principal: Principal, acls: dict[str, str]) -> str | None:
    """The strongest permission any of the principal's names holds on a scope (admins: MANAGE)."""
    if principal.is_admin:
        return "MANAGE"
    held = [acls[name] for name in principal.names if name in acls]
    return max(held, key=LEVELS.__getitem__) if held else None


def check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParameterValue(f"Missing required field: {kind}")
    if not NAME.match(value):
        what = "Scope name" if kind == "scope" else "Secret key"
        raise InvalidParameterValue(
            f"{what} must consist of alphanumeric characters, dashes, underscores, @, and "
            f"periods, and may not exceed 128 characters (got '{value[:200]}')."
        )
    return value


def check_principal(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterValue(
            "Missing required field: principal (a user name, group name or service principal application id)"
        )
    return value


class SecretScopes:
    """All scopes of the workspace, their secrets and ACLs."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.cipher = SecretCipher(shared.data_dir)
        self.scopes: dict[str, dict[str, Any]] = dict(shared.store.load(SCOPE_KIND))
        self.secrets: dict[str, dict[str, Any]] = dict(shared.store.load(SECRET_KIND))

    # -- scopes --------------------------------------------------------------------------------------------

    def _scope(self, name: Any) -> dict[str, Any]:
        scope = self.scopes.get(check_name("scope", name))
        if scope is None:
            raise ResourceDoesNotExist(f"Scope {name} does not exist!")
        return scope

    def _require(self, caller: Principal, scope: dict[str, Any], level: str) -> None:
        held = effective_permission(caller, scope["acls"])
        if held is None or LEVELS[held] < LEVELS[level]:
            raise PermissionDenied(
                f"{caller.name} does not have {level} permission on scope {scope['name']} to perform this action."
            )

    def create_scope(
        self,
        caller: Principal,
        name: Any,
        *,
        initial_manage_principal: str | None = None,
        backend_type: str | None = None,
    ) -> None:
        check_name("scope", name)
        if backend_type == "AZURE_KEYVAULT":
            raise NotImplementedOnLocal(
                "Azure Key Vault-backed scopes are not available in the local workspace: "
                "create a DATABRICKS-backed scope (the default)."
            )
        if backend_type not in (None, "", "DATABRICKS"):
            raise InvalidParameterValue(
                f"Invalid value for field 'scope_backend_type': {str(backend_type)[:100]} is "
                "not one of DATABRICKS, AZURE_KEYVAULT"
            )
        if initial_manage_principal not in (None, "", USERS):
            raise InvalidParameterValue(
                "Invalid value for field 'initial_manage_principal': the only supported "
                "value is 'users' (omit it to give MANAGE to the creator)."
            )
        with self.shared.lock:
            if name in self.scopes:
                raise ResourceAlreadyExists(f"Scope {name} already exists!")
            acls = {USERS: "MANAGE"} if initial_manage_principal == USERS else {caller.name: "MANAGE"}
            scope = {"name": name, "backend_type": "DATABRICKS", "acls": acls}
            self.scopes[name] = scope
            self.shared.store.put(SCOPE_KIND, name, scope)

    def list_scopes(self) -> list[dict[str, str]]:
        with self.shared.lock:
            return [
                {"name": s["name"], "backend_type": s["backend_type"]}
                for s in sorted(self.scopes.values(), key=lambda s: s["name"])
            ]

    def delete_scope(self, caller: Principal, name: Any) -> None:
        with self.shared.lock:
            scope = self._scope(name)
            self._require(caller, scope, "MANAGE")
            for ident in [i for i, s in self.secrets.items() if s["scope"] == name]:
                del self.secrets[ident]
                self.shared.store.delete(SECRET_KIND, ident)
            del self.scopes[name]
            self.shared.store.delete(SCOPE_KIND, name)

    # -- secrets -------------------------------------------------------------------------------------------

    def put(
        self,
        caller: Principal,
        scope_name: Any,
        key: Any,
        *,
        string_value: Any = None,
        bytes_value: bytes | None = None,
    ) -> None:
        check_name("key", key)
        if (string_value is None) == (bytes_value is None):
            raise InvalidParameterValue("Exactly one of string_value and bytes_value must be specified.")
        if string_value is not None and not isinstance(string_value, str):
            raise InvalidParameterValue("Invalid value for field 'string_value': expected a string")
        value = string_value.encode() if string_value is not None else bytes_value or b""
        if len(value) > MAX_VALUE_BYTES:
            raise InvalidParameterValue(
                f"The secret value is {len(value)} bytes; the maximum is {MAX_VALUE_BYTES} bytes (128 KB)."
            )
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "WRITE")
            ident = f"{scope_name}/{key}"
            if (
                ident not in self.secrets
                and sum(s["scope"] == scope_name for s in self.secrets.values()) >= MAX_SECRETS_PER_SCOPE
            ):
                raise InvalidParameterValue(
                    f"Scope {scope_name} already holds {MAX_SECRETS_PER_SCOPE} secrets, the maximum."
                )
            doc = {
                "scope": scope_name,
                "key": key,
                "last_updated_timestamp": self.shared.now_ms(),
                "is_bytes": bytes_value is not None,
                "sealed": self.cipher.encrypt(value, bound_to=ident),
            }
            self.secrets[ident] = doc
            self.shared.store.put(SECRET_KIND, ident, doc)

    def _secret(self, scope_name: str, key: Any) -> dict[str, Any]:
        doc = self.secrets.get(f"{scope_name}/{check_name('key', key)}")
        if doc is None:
            raise ResourceDoesNotExist(f"Secret does not exist with scope: {scope_name} and key: {key}")
        return doc

    def delete(self, caller: Principal, scope_name: Any, key: Any) -> None:
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "WRITE")
            self._secret(scope_name, key)
            del self.secrets[f"{scope_name}/{key}"]
            self.shared.store.delete(SECRET_KIND, f"{scope_name}/{key}")

    def list(self, caller: Principal, scope_name: Any) -> list[dict[str, Any]]:
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "READ")
            return [
                {"key": s["key"], "last_updated_timestamp": s["last_updated_timestamp"]}
                for s in sorted(self.secrets.values(), key=lambda s: s["key"])
                if s["scope"] == scope_name
            ]

    def get(self, caller: Principal, scope_name: Any, key: Any) -> bytes:
        """The value (as stored: a string's UTF-8 bytes, or the bytes put)."""
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "READ")
            doc = self._secret(scope_name, key)
            return self.cipher.decrypt(doc["sealed"], bound_to=f"{scope_name}/{key}")

    def resolve(self, caller: Principal, text: str) -> tuple[str, set[str]]:
        """``text`` with each ``{{secrets/scope/key}}`` replaced by its value, and the values used."""
        used: set[str] = set()

        def value(match: re.Match[str]) -> str:
            found = self.get(caller, match.group(1), match.group(2)).decode("utf-8", "replace")
            used.add(found)
            return found

        return REFERENCE.sub(value, text), used

    # -- ACLs ----------------------------------------------------------------------------------------------

    def put_acl(self, caller: Principal, scope_name: Any, principal: Any, permission: Any) -> None:
        check_principal(principal)
        if not isinstance(permission, str) or permission not in LEVELS:
            raise InvalidParameterValue(
                f"Invalid value for field 'permission': {permission!r} is not one of READ, WRITE, MANAGE"
            )
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "MANAGE")
            scope["acls"][principal] = permission
            self.shared.store.put(SCOPE_KIND, scope_name, scope)

    def _acl_scope(self, caller: Principal, scope_name: Any, principal: Any) -> dict[str, Any]:
        """The scope whose ACL for ``principal`` a MANAGE holder reads or removes (it must exist)."""
        check_principal(principal)
        scope = self._scope(scope_name)
        self._require(caller, scope, "MANAGE")
        if principal not in scope["acls"]:
            raise ResourceDoesNotExist(f"No ACL for principal {principal} exists on scope {scope_name}!")
        return scope

    def delete_acl(self, caller: Principal, scope_name: Any, principal: Any) -> None:
        with self.shared.lock:
            scope = self._acl_scope(caller, scope_name, principal)
            del scope["acls"][principal]
            self.shared.store.put(SCOPE_KIND, scope_name, scope)

    def get_acl(self, caller: Principal, scope_name: Any, principal: Any) -> dict[str, str]:
        with self.shared.lock:
            scope = self._acl_scope(caller, scope_name, principal)
            return {"principal": principal, "permission": scope["acls"][principal]}

    def list_acls(self, caller: Principal, scope_name: Any) -> builtins.list[dict[str, str]]:
        with self.shared.lock:
            scope = self._scope(scope_name)
            self._require(caller, scope, "MANAGE")
            return [{"principal": p, "permission": level} for p, level in sorted(scope["acls"].items())]
