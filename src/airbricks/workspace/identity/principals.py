"""Who calls: the workspace's users, groups and service principals (SCIM), and which token is whose.

The token printed by ``airbricks serve`` belongs to the workspace's first user (``--user``, default
``airbricks@localhost``), who exists from the start and is in ``admins``; every principal is implicitly in
``users``, as on Databricks. More principals come through the SCIM API. A second principal reaches the
workspace with a token of its own: the real admin API ``token-management/on-behalf-of/tokens`` mints one for a
service principal, and ``/api/2.0/airbricks/tokens`` (admin only) does the same for a SCIM user, which the real
service can only do by that user logging in. Minted tokens are kept as SHA-256 digests only: the data dir never
holds them (:mod:`airbricks.workspace.identity.tokens`). Per-run tokens (:mod:`airbricks.workspace.kernel.channel`)
are looked up here too.

Knows nothing of HTTP; resources are SCIM documents (``userName``, ``displayName``, ``applicationId``...).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airbricks.workspace.errors import Conflict, InvalidParameterValue, PermissionDenied, ResourceDoesNotExist
from airbricks.workspace.identity.scim import (
    apply_patch,
    checked_name,
    first_admin_error,
    listed,
    parse_filter,
    scim_error,
)
from airbricks.workspace.identity.tokens import MintedTokens, check_lifetime
from airbricks.workspace.shared import Shared

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:"
ADMINS, USERS = "admins", "users"
KINDS = {"Users": "scim_user", "Groups": "scim_group", "ServicePrincipals": "scim_sp"}
SCHEMAS = {
    "Users": SCHEMA + "User",
    "Groups": SCHEMA + "Group",
    "ServicePrincipals": "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal",
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``name`` is what ACLs name (a user's userName, a service principal's
    applicationId); ``groups`` holds the display names of its groups, ``users`` included."""

    id: str
    name: str
    kind: str  # "user" or "service_principal"
    groups: frozenset[str] = field(default_factory=frozenset)
    #: Set when the caller is a task run's process (its per-run token): which task run.
    task_run_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups

    @property
    def names(self) -> frozenset[str]:
        """Every name an ACL may grant this principal something under."""
        return self.groups | {self.name}


class Identity:
    """SCIM users, groups and service principals, plus the tokens that name them.

    :param run_principal: the principal of a live per-run token, or None (the run channel's tokens).
    :param on_user_created: called with each new user's name (the workspace makes their home folder).
    """

    def __init__(
        self,
        shared: Shared,
        *,
        token: str,
        run_principal: Callable[[str], Principal | None] = lambda _token: None,
        on_user_created: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self.shared = shared
        self._token = token.encode()
        self.run_principal = run_principal
        self.on_user_created = on_user_created
        self.docs: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in KINDS}
        for resource, kind in KINDS.items():
            for ident, doc in shared.store.load(kind):
                self.docs[resource][ident] = doc
        self.tokens = MintedTokens(shared)
        self.me = self._bootstrap(shared.config.user)

    # -- the first user --------------------------------------------------------------------------------

    def _bootstrap(self, user_name: str) -> Principal:
        """The token's user and the ``admins`` group exist from the start (renamed by ``--user``)."""
        with self.shared.lock:
            meta = self.shared.store.get("meta", "identity") or {}
            users = self.docs["Users"]
            doc = users.get(meta.get("owner_id", ""))
            if doc is None:
                doc = self._new(
                    "Users",
                    {
                        "userName": user_name,
                        "displayName": user_name.split("@")[0],
                        "emails": [{"value": user_name, "type": "work", "primary": True}],
                    },
                )
                self.shared.store.put("meta", "identity", {"owner_id": doc["id"]})
            elif doc["userName"] != user_name:
                doc.update(userName=user_name, emails=[{"value": user_name, "type": "work", "primary": True}])
                self._save("Users", doc)
            admins = self._by_name("Groups", ADMINS)
            if admins is None:
                admins = self._new("Groups", {"displayName": ADMINS, "members": []})
            if all(m.get("value") != doc["id"] for m in admins.get("members") or []):
                admins.setdefault("members", []).append({"value": doc["id"], "display": user_name})
                self._save("Groups", admins)
            return self.principal_of("Users", doc["id"])

    @property
    def user_name(self) -> str:
        return self.me.name

    # -- authentication --------------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal | None:
        """Whose token this is: the workspace's, a live run's, or one minted for a principal (None: nobody's)."""
        if hmac.compare_digest(token.encode(), self._token):
            return self.me
        found = self.run_principal(token)
        if found is not None:
            return found
        with self.shared.lock:
            minted = self.tokens.find(token)
            if minted is None:
                return None
            try:
                return self.principal_of(minted.resource, minted.principal_id)
            except ResourceDoesNotExist:
                return None  # the principal was deleted: its tokens die with it

    def mint_token(
        self, caller: Principal, *, resource: str, principal_id: str, lifetime_seconds: int | None, comment: str | None
    ) -> tuple[str, dict[str, Any]]:
        """A new token for a service principal or user (admins only); returns the value (shown once) and info."""
        require_admin(caller, "create tokens on behalf of other principals")
        check_lifetime(lifetime_seconds)
        with self.shared.lock:
            owner = self.principal_of(resource, principal_id)
            value, minted = self.tokens.mint(
                resource=resource,
                principal_id=owner.id,
                created_by=(caller.id, caller.name),
                lifetime_seconds=lifetime_seconds,
                comment=comment,
            )
            return value, minted.info()

    def list_tokens(self, caller: Principal) -> list[dict[str, Any]]:
        require_admin(caller, "list the workspace's tokens")
        with self.shared.lock:
            return [minted.info() for minted in self.tokens.list()]

    def delete_token(self, caller: Principal, token_id: str) -> None:
        require_admin(caller, "delete tokens")
        with self.shared.lock:
            self.tokens.delete(token_id)

    # -- SCIM resources --------------------------------------------------------------------------------

    def _new(self, resource: str, doc: dict[str, Any]) -> dict[str, Any]:
        ident = str(1_000_000_000_000_000 + secrets.randbelow(8_999_999_999_999_999))
        doc = {**doc, "id": ident, "schemas": [SCHEMAS[resource]]}
        if resource != "Groups":
            doc.setdefault("active", True)
        if resource == "ServicePrincipals":
            doc.setdefault("applicationId", str(uuid.uuid4()))
        self._save(resource, doc)
        return doc

    def _save(self, resource: str, doc: dict[str, Any]) -> None:
        self.docs[resource][doc["id"]] = doc
        self.shared.store.put(KINDS[resource], doc["id"], doc)

    def _by_name(self, resource: str, name: str) -> dict[str, Any] | None:
        field_ = {"Users": "userName", "Groups": "displayName", "ServicePrincipals": "applicationId"}[resource]
        return next((d for d in self.docs[resource].values() if d.get(field_) == name), None)

    def _doc(self, resource: str, ident: str) -> dict[str, Any]:
        doc = self.docs[resource].get(str(ident))
        if doc is None:
            noun = {"Users": "User", "Groups": "Group", "ServicePrincipals": "Service Principal"}[resource]
            raise scim_error(ResourceDoesNotExist, 404, f"{noun} with id {ident} not found.")
        return doc

    def principal_of(self, resource: str, ident: str) -> Principal:
        doc = self._doc(resource, ident)
        groups = frozenset(
            g["displayName"]
            for g in self.docs["Groups"].values()
            if any(m.get("value") == doc["id"] for m in g.get("members") or [])
        ) | {USERS}
        if resource == "Users":
            return Principal(doc["id"], doc["userName"], "user", groups)
        return Principal(doc["id"], doc["applicationId"], "service_principal", groups)

    def named(self, name: str) -> Principal | None:
        """The principal a user name or application id names, or None."""
        with self.shared.lock:
            for resource in ("Users", "ServicePrincipals"):
                doc = self._by_name(resource, name)
                if doc is not None:
                    return self.principal_of(resource, doc["id"])
        return None

    def exists(self, kind: str, name: str) -> bool:
        """Whether an ACL entry's principal exists: ``kind`` is its field (``user_name``, ``group_name``,
        ``service_principal_name``), ``name`` a userName, group displayName or applicationId."""
        resource = {"user_name": "Users", "group_name": "Groups"}.get(kind, "ServicePrincipals")
        if resource == "Groups" and name == USERS:
            return True  # every principal is in ``users``, which SCIM does not list
        with self.shared.lock:
            return self._by_name(resource, name) is not None

    def view(self, resource: str, doc: dict[str, Any]) -> dict[str, Any]:
        """A resource as SCIM returns it: users and service principals list their groups."""
        out = dict(doc)
        if resource != "Groups":
            out["groups"] = [
                {"value": g["id"], "display": g["displayName"], "type": "direct"}
                for g in self.docs["Groups"].values()
                if any(m.get("value") == doc["id"] for m in g.get("members") or [])
            ]
        return out

    def get(self, resource: str, ident: str) -> dict[str, Any]:
        with self.shared.lock:
            return self.view(resource, self._doc(resource, ident))

    def me_view(self, caller: Principal) -> dict[str, Any]:
        """``Me``: a user as SCIM shows it; a service principal with its application id as ``userName``."""
        if caller.kind == "user":
            return self.get("Users", caller.id)
        return {**self.get("ServicePrincipals", caller.id), "userName": caller.name}

    def list(self, resource: str, *, filter_: str | None = None) -> list[dict[str, Any]]:
        """Every resource, optionally matching a SCIM filter of the form ``attribute eq "value"``."""
        with self.shared.lock:
            docs = [self.view(resource, d) for d in self.docs[resource].values()]
        if filter_:
            attribute, value = parse_filter(filter_)
            docs = [d for d in docs if str(d.get(attribute, "")).lower() == value.lower()]
        return sorted(docs, key=lambda d: d["id"])

    def create(self, caller: Principal, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        require_admin(caller, f"create {resource.lower()}")
        name = checked_name(resource, body)
        fields = {k: v for k, v in body.items() if k not in ("id", "schemas", "groups", "meta")}
        with self.shared.lock:
            if resource != "ServicePrincipals" and self._by_name(resource, name) is not None:
                what = "User with username" if resource == "Users" else "Group with name"
                raise scim_error(Conflict, 409, f"{what} {name} already exists.")
            if resource == "Users":
                fields.setdefault("displayName", name.split("@")[0])
                fields.setdefault("emails", [{"value": name, "type": "work", "primary": True}])
            if resource == "Groups":
                fields["members"] = [self._member(m) for m in listed(body.get("members"))]
            # Checked before anything is written: a bad group leaves no half-created principal.
            targets = [
                self._doc("Groups", str(g.get("value")) if isinstance(g, dict) else "")
                for g in listed(body.get("groups"))
            ]
            doc = self._new(resource, fields)
            if resource == "Users":
                self.on_user_created(name)
            self._set_memberships(doc, {target["id"] for target in targets})
            return self.view(resource, doc)

    def patch(self, caller: Principal, resource: str, ident: str, body: dict[str, Any]) -> None:
        """SCIM PATCH (:func:`airbricks.workspace.identity.scim.apply_patch`): all operations or none."""
        require_admin(caller, f"update {resource.lower()}")
        with self.shared.lock:
            doc = self._doc(resource, ident)
            patched = apply_patch(doc, body, lambda attribute, item: self._item(resource, attribute, item))
            if resource == "Groups":
                self._check_group_change(doc, patched)
            self._save(resource, patched)

    def replace(self, caller: Principal, resource: str, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        """SCIM PUT: the resource becomes the body (its id, ``userName`` and ``applicationId`` stay); a user's or
        service principal's ``groups``, when given, become exactly its memberships."""
        require_admin(caller, f"update {resource.lower()}")
        name = checked_name(resource, body)
        with self.shared.lock:
            doc = self._doc(resource, ident)
            kept = {k: doc[k] for k in ("id", "schemas", "userName", "applicationId") if k in doc}
            if resource == "Users" and name != doc["userName"]:
                raise scim_error(InvalidParameterValue, 400, "Attribute 'userName' cannot be changed.")
            fields = {k: v for k, v in body.items() if k not in ("id", "schemas", "groups", "meta", *kept)}
            new = {**fields, **kept}
            if resource == "Groups":
                new["members"] = [self._item(resource, "members", m) for m in listed(body.get("members"))]
                self._check_group_change(doc, new)
            elif "groups" in body:
                wanted = {
                    self._doc("Groups", str(g.get("value")) if isinstance(g, dict) else "")["id"]
                    for g in listed(body["groups"])
                }
                admins = self._by_name("Groups", ADMINS)
                if doc["id"] == self.me.id and admins is not None and admins["id"] not in wanted:
                    raise first_admin_error(doc)
                self._set_memberships(doc, wanted)
            if resource != "Groups":
                new.setdefault("active", True)
            self._save(resource, new)
            return self.view(resource, new)

    def _item(self, resource: str, attribute: str, item: dict[str, Any]) -> dict[str, Any]:
        """One multi-valued item as stored: a group's members resolved; memberships change on the group."""
        if attribute == "members":
            if resource != "Groups":
                raise scim_error(InvalidParameterValue, 400, "Only groups have members.")
            return self._member(item)
        if attribute == "groups":
            raise scim_error(
                InvalidParameterValue,
                400,
                "A principal's groups change through the group: patch "
                "the group's members, or PUT the principal with its groups.",
            )
        return {k: v for k, v in item.items() if k in ("value", "display", "primary", "type")}

    def _check_group_change(self, doc: dict[str, Any], new: dict[str, Any]) -> None:
        """Before a group is saved: a rename keeps names unique and spares the built-in groups, and the
        workspace's first user stays in ``admins`` (or nobody could administer it again)."""
        if new.get("displayName") != doc["displayName"]:
            if doc["displayName"] in (ADMINS, USERS):
                raise scim_error(InvalidParameterValue, 400, f"The {doc['displayName']} group cannot be renamed.")
            checked_name("Groups", new)
            if self._by_name("Groups", new["displayName"]) is not None:
                raise scim_error(Conflict, 409, f"Group with name {new['displayName']} already exists.")
        if doc["displayName"] == ADMINS and not any(m.get("value") == self.me.id for m in new.get("members") or []):
            raise first_admin_error(self.docs["Users"][self.me.id])

    def _set_memberships(self, doc: dict[str, Any], group_ids: set[str]) -> None:
        for group in self.docs["Groups"].values():
            members = group.get("members") or []
            inside = any(m.get("value") == doc["id"] for m in members)
            if group["id"] in group_ids and not inside:
                group["members"] = [
                    *members,
                    {"value": doc["id"], "display": doc.get("userName") or doc.get("displayName", "")},
                ]
            elif group["id"] not in group_ids and inside:
                group["members"] = [m for m in members if m.get("value") != doc["id"]]
            else:
                continue
            self._save("Groups", group)

    def _member(self, member: Any) -> dict[str, str]:
        ident = str(member.get("value")) if isinstance(member, dict) else ""
        for resource in ("Users", "ServicePrincipals", "Groups"):
            doc = self.docs[resource].get(ident)
            if doc is not None:
                return {"value": ident, "display": doc.get("userName") or doc.get("displayName", "")}
        raise scim_error(InvalidParameterValue, 400, f"Member with id {ident} does not exist.")

    def delete(self, caller: Principal, resource: str, ident: str) -> None:
        require_admin(caller, f"delete {resource.lower()}")
        with self.shared.lock:
            doc = self._doc(resource, ident)
            if doc["id"] == self.me.id or doc.get("displayName") == ADMINS and resource == "Groups":
                raise scim_error(
                    InvalidParameterValue,
                    400,
                    f"{doc.get('userName') or doc['displayName']} cannot be deleted: the workspace "
                    "needs its first user and the admins group.",
                )
            del self.docs[resource][doc["id"]]
            self.shared.store.delete(KINDS[resource], doc["id"])
            for group in self.docs["Groups"].values():
                kept = [m for m in group.get("members") or [] if m.get("value") != doc["id"]]
                if len(kept) != len(group.get("members") or []):
                    group["members"] = kept
                    self._save("Groups", group)


def require_admin(caller: Principal, action: str) -> None:
    if not caller.is_admin:
        raise PermissionDenied(f"Only workspace admins can {action}; {caller.name} is not in the admins group.")
