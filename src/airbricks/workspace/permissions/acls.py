"""Access control lists of clusters, jobs, warehouses and workspace objects, and the one check every API makes.

An object's ACL is a list of :class:`Grant` (a user, group or service principal, and a level), persisted in the
store per object. Who holds what on an object is its own grants, the grants of the folders above it (workspace
objects inherit, as on Databricks), a user's home folder (``/Users/<name>``: that user manages it) and
``/Shared`` (every user manages it); members of ``admins`` hold ``CAN_MANAGE`` on everything. The creator of a
cluster manages it; the creator of a job or warehouse owns it (``IS_OWNER``). Knows nothing of HTTP: the routes
of each service call :meth:`Permissions.check` (through :mod:`airbricks.workspace.permissions.guard`) and
the Permissions API calls :meth:`get`/:meth:`set`/:meth:`update`/:meth:`levels`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from airbricks.workspace.errors import InvalidParameterValue, PermissionDenied, ResourceDoesNotExist
from airbricks.workspace.identity.principals import ADMINS, USERS, Principal
from airbricks.workspace.permissions.levels import ABSENT_TYPES, DIRECTORIES, TYPES, ObjectType, phrase
from airbricks.workspace.shared import Shared

KIND = "acl"
#: The fields of an access control entry that name its principal, as the API spells them.
PRINCIPAL_FIELDS = ("user_name", "group_name", "service_principal_name")
#: Workspace object types (``get-status``'s ``object_type``) as the Permissions API names them.
TREE_TYPES = {"NOTEBOOK": "notebooks", "DIRECTORY": "directories"}


@dataclass(frozen=True)
class Grant:
    """One access control entry: ``kind`` is which principal field names it (``user_name``...)."""

    kind: str
    name: str
    level: str

    def doc(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "level": self.level}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Grant:
        return cls(str(doc["kind"]), str(doc["name"]), str(doc["level"]))

    def names(self, who: Principal) -> bool:
        """Whether this entry is about ``who`` (its own name, or one of its groups)."""
        return self.name in who.groups if self.kind == "group_name" else self.name == who.name


@dataclass(frozen=True)
class Held:
    """A grant as seen on one object: ``source`` is the object it comes from (None: the object's own)."""

    grant: Grant
    source: str | None = None


class Tree(Protocol):
    """What the workspace's file tree tells permissions (implemented by ``WorkspaceObjects``)."""

    def identify(self, path: str) -> tuple[str, int] | None:
        """``(object_type, object_id)`` of a path the tree knows, or None."""

    def path_of(self, object_id: int) -> tuple[str, str] | None:
        """``(object_type, path)`` of an object id, or None."""


class Directory(Protocol):
    """Who exists (the identity model): grants may name only existing principals."""

    def exists(self, kind: str, name: str) -> bool: ...


class Permissions:
    """Every ACL of the workspace.

    :param directory: whether a user, group or service principal of that name exists.
    :param tree: workspace paths and object ids (for notebooks, folders and the inheritance between them).
    :param exists: per object type (``clusters``, ``jobs``, ``warehouses``), a call that raises the service's
        own "does not exist" error for an unknown id (late-bound: those models are made after this one).
    """

    def __init__(
        self,
        shared: Shared,
        *,
        directory: Directory,
        tree: Tree,
        exists: Mapping[str, Callable[[str], object]],
    ) -> None:
        self.shared = shared
        self.directory = directory
        self.tree = tree
        self.exists = exists
        self.acls: dict[str, tuple[Grant, ...]] = {
            key: tuple(Grant.from_doc(g) for g in doc.get("grants") or []) for key, doc in shared.store.load(KIND)
        }

    # -- the check ---------------------------------------------------------------------------------------------

    def level(self, who: Principal, object_type: str, object_id: str) -> str | None:
        """The highest level ``who`` holds on an object (admins: ``CAN_MANAGE``), or None."""
        kind = object_type_of(object_type)
        if who.is_admin:
            return kind.top
        best = max(
            (kind.rank(held.grant.level) for held in self._held(kind, str(object_id)) if held.grant.names(who)),
            default=0,
        )
        return kind.levels[best - 1][0] if best > 0 else None

    def can(self, who: Principal, object_type: str, object_id: str, level: str) -> bool:
        if who.is_admin:
            return True
        kind = object_type_of(object_type)
        held = self.level(who, object_type, object_id)
        return held is not None and kind.rank(held) >= kind.rank(level)

    def check(self, who: Principal, object_type: str, object_id: str, level: str, *, verify: bool = True) -> None:
        """Refuse (``PERMISSION_DENIED``) unless ``who`` holds ``level`` on the object; an object that does not
        exist answers the service's own error first (``verify``), as the real service does."""
        if self.can(who, object_type, object_id, level):
            return
        kind = object_type_of(object_type)
        if verify:
            self._verify(kind, str(object_id))
        raise PermissionDenied(
            f"User {who.name} does not have {phrase(kind, level)} permissions on {kind.noun} {object_id}"
        )

    def check_path(self, who: Principal, path: str, level: str) -> None:
        """The check for a workspace path: what ``who`` holds on it, or (a path not there yet) on its folder."""
        if not self.can_path(who, path, level):
            found = self.tree.identify(path)
            noun = TYPES[TREE_TYPES.get(found[0], "files")].noun if found else "path"
            raise PermissionDenied(
                f"User {who.name} does not have {phrase(DIRECTORIES, level)} permissions on {noun} {path}"
            )

    def can_path(self, who: Principal, path: str, level: str) -> bool:
        if who.is_admin:
            return True
        best = max((DIRECTORIES.rank(h.grant.level) for h in self._path_held(path) if h.grant.names(who)), default=0)
        return best >= DIRECTORIES.rank(level)

    def visible(self, who: Principal, object_type: str, ids: Iterable[str]) -> set[str]:
        """The ids among ``ids`` ``who`` may see (any level): what list calls show."""
        lowest = object_type_of(object_type).levels[0][0]
        return {str(i) for i in ids if self.can(who, object_type, str(i), lowest)}

    # -- grants from other services ----------------------------------------------------------------------------

    def parse(self, object_type: str, raw: Any, *, field: str = "access_control_list") -> list[Grant]:
        """A request's access control list, checked: each entry names one existing principal and a level of
        this object type (the error names the entry and the fix)."""
        kind = object_type_of(object_type)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise InvalidParameterValue(f"Invalid value for field '{field}': expected a list of access control entries")
        grants = []
        for index, entry in enumerate(raw):
            where = f"{field}[{index}]"
            if not isinstance(entry, dict):
                raise InvalidParameterValue(f"Invalid value for field '{where}': expected an object")
            named = [f for f in PRINCIPAL_FIELDS if entry.get(f) not in (None, "")]
            if len(named) != 1:
                raise InvalidParameterValue(
                    f"Invalid value for field '{where}': set exactly one of user_name, group_name, "
                    "service_principal_name"
                )
            principal_field, name = named[0], entry[named[0]]
            level = entry.get("permission_level")
            if not isinstance(name, str) or not isinstance(level, str) or kind.rank(level) < 0:
                raise InvalidParameterValue(
                    f"Invalid value for field '{where}.permission_level': {str(level)[:40]} is not a permission level"
                    f" of {kind.plural}; use one of {', '.join(kind.names)}"
                )
            if not self.directory.exists(principal_field, name):
                noun = {"user_name": "UserName", "group_name": "GroupName"}.get(principal_field, "ServicePrincipalName")
                raise InvalidParameterValue(f"Principal: {noun}({name[:100]}) does not exist")
            if level == "IS_OWNER" and principal_field == "group_name":
                raise InvalidParameterValue(f"Invalid value for field '{where}': a group cannot be the owner")
            grants.append(Grant(principal_field, name, level))
        if sum(g.level == "IS_OWNER" for g in grants) > 1:
            raise InvalidParameterValue(f"Invalid value for field '{field}': an object has exactly one owner")
        return grants

    def created(self, object_type: str, object_id: str, creator: Principal, grants: Iterable[Grant] = ()) -> None:
        """A new object: its creator gets the type's creator level, then the request's ``grants`` apply. An
        object with an ACL already is not new (``runs/submit`` answering a known idempotency token): unchanged."""
        kind = object_type_of(object_type)
        if _key(kind, str(object_id)) in self.acls:
            return
        owner = Grant(_kind_of(creator), creator.name, kind.creator_level)
        extra = list(grants)
        if any(g.level == "IS_OWNER" for g in extra):  # the request names another owner: the creator manages
            owner = Grant(owner.kind, owner.name, "CAN_MANAGE")
        self._store(kind, str(object_id), _merge([owner], extra))

    def apply(self, object_type: str, object_id: str, grants: Iterable[Grant]) -> None:
        """A request's ``access_control_list`` on an existing object (``jobs/reset``, ``jobs/update``)."""
        kind = object_type_of(object_type)
        self._store(kind, str(object_id), _merge(list(self.acls.get(_key(kind, str(object_id)), ())), list(grants)))

    # -- the Permissions API -----------------------------------------------------------------------------------

    def get(self, who: Principal, object_type: str, object_id: str) -> dict[str, Any]:
        kind = self._resolve(object_type, object_id)
        self.check(who, kind.plural, object_id, kind.levels[0][0])
        return self._describe(kind, str(object_id))

    def levels(self, who: Principal, object_type: str, object_id: str) -> dict[str, Any]:
        kind = self._resolve(object_type, object_id)
        self.check(who, kind.plural, object_id, kind.levels[0][0])
        return {"permission_levels": [{"permission_level": n, "description": d} for n, d in kind.levels]}

    def set(self, who: Principal, object_type: str, object_id: str, raw: Any) -> dict[str, Any]:
        """PUT: the object's own grants become ``raw`` (an object with an owner keeps it unless ``raw`` names one)."""
        kind = self._resolve(object_type, object_id)
        self.check(who, kind.plural, object_id, "CAN_MANAGE")
        grants = self.parse(kind.plural, raw)
        if kind.owned and not any(g.level == "IS_OWNER" for g in grants):
            grants = [*(g for g in self._own(kind, object_id) if g.level == "IS_OWNER"), *grants]
        self._store(kind, str(object_id), _merge([], grants))
        return self._describe(kind, str(object_id))

    def update(self, who: Principal, object_type: str, object_id: str, raw: Any) -> dict[str, Any]:
        """PATCH: ``raw``'s principals get the levels it names; the others keep theirs."""
        kind = self._resolve(object_type, object_id)
        self.check(who, kind.plural, object_id, "CAN_MANAGE")
        self.apply(kind.plural, object_id, self.parse(kind.plural, raw))
        return self._describe(kind, str(object_id))

    # -- internals ---------------------------------------------------------------------------------------------

    def _resolve(self, object_type: str, object_id: str) -> ObjectType:
        """The type a request names, refusing unknown ones, and answering the service's error for a missing id."""
        kind = TYPES.get(object_type)
        if kind is None:
            if object_type in ABSENT_TYPES:
                raise ResourceDoesNotExist(
                    f"{object_type} {object_id[:100]} does not exist: the local workspace has no {object_type}"
                )
            raise InvalidParameterValue(
                f"Invalid object type '{object_type[:60]}': use one of {', '.join(sorted(TYPES))}"
            )
        self._verify(kind, str(object_id))
        return kind

    def _verify(self, kind: ObjectType, object_id: str) -> None:
        if kind.in_tree:
            found = self.tree.path_of(int(object_id)) if object_id.isdigit() else None
            if found is None or TREE_TYPES.get(found[0], "files") != kind.plural:
                raise ResourceDoesNotExist(f"{kind.noun.capitalize()} {object_id[:100]} does not exist.")
            return
        exists = self.exists.get(kind.plural)
        if exists is not None:
            exists(object_id)

    def _own(self, kind: ObjectType, object_id: str) -> tuple[Grant, ...]:
        return self.acls.get(_key(kind, object_id), ())

    def _store(self, kind: ObjectType, object_id: str, grants: list[Grant]) -> None:
        key = _key(kind, object_id)
        with self.shared.lock:
            self.acls[key] = tuple(grants)
            self.shared.store.put(KIND, key, {"grants": [g.doc() for g in grants]})

    def _held(self, kind: ObjectType, object_id: str) -> list[Held]:
        """Every grant that applies to the object, its own first, then inherited ones (with their source)."""
        if kind.in_tree and object_id.isdigit():
            found = self.tree.path_of(int(object_id))
            if found is not None:
                return self._path_held(found[1])
        return [Held(g) for g in self._own(kind, object_id)]

    def _path_held(self, path: str) -> list[Held]:
        """The grants on a workspace path: its object's own, its home-folder or ``/Shared`` grant, then those of
        every folder above it (inherited, with the folder as their source)."""
        held: list[Held] = []
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), 0, -1):
            folder = "/" + "/".join(parts[:depth])
            found = self.tree.identify(folder)
            own = depth == len(parts)
            source = None if own else f"/directories/{found[1]}" if found else folder
            if found is not None:
                kind = TYPES[TREE_TYPES.get(found[0], "files")]
                held += [Held(g, source) for g in self.acls.get(_key(kind, str(found[1])), ())]
            implicit = _implicit(parts[:depth])
            if implicit is not None:
                held.append(Held(implicit, source))
        return held

    def _describe(self, kind: ObjectType, object_id: str) -> dict[str, Any]:
        """The ``ObjectPermissions`` answer: each principal with all it holds, admins' inherited level last."""
        entries: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for held in self._held(kind, object_id):
            level: dict[str, Any] = {"permission_level": held.grant.level, "inherited": held.source is not None}
            if held.source is not None:
                level["inherited_from_object"] = [held.source]
            entries.setdefault((held.grant.kind, held.grant.name), []).append(level)
        root = "/directories/" if kind.in_tree else kind.prefix
        entries.setdefault(("group_name", ADMINS), []).append(
            {"permission_level": kind.top, "inherited": True, "inherited_from_object": [root]}
        )
        acl = []
        for (principal_field, name), levels in entries.items():
            entry: dict[str, Any] = {principal_field: name, "all_permissions": levels}
            if principal_field != "group_name":
                entry["display_name"] = name.split("@")[0]
            acl.append(entry)
        return {"object_id": kind.prefix + object_id, "object_type": kind.noun, "access_control_list": acl}


def object_type_of(object_type: str) -> ObjectType:
    kind = TYPES.get(object_type)
    if kind is None:
        raise InvalidParameterValue(f"Invalid object type '{object_type[:60]}': use one of {', '.join(sorted(TYPES))}")
    return kind


def _key(kind: ObjectType, object_id: str) -> str:
    return f"{kind.plural}/{object_id}"


def _kind_of(who: Principal) -> str:
    return "service_principal_name" if who.kind == "service_principal" else "user_name"


def _implicit(parts: list[str]) -> Grant | None:
    """Home folders are their user's (``/Users/<name>``); ``/Shared`` is every user's."""
    if len(parts) == 2 and parts[0] == "Users":
        return Grant("user_name", parts[1], "CAN_MANAGE")
    if parts == ["Shared"]:
        return Grant("group_name", USERS, "CAN_MANAGE")
    return None


def _merge(base: list[Grant], changes: list[Grant]) -> list[Grant]:
    """``base`` with each principal ``changes`` names set to its new level; a new owner demotes the old one."""
    by_principal = {(g.kind, g.name): g for g in base}
    if any(g.level == "IS_OWNER" for g in changes):
        for key, grant in list(by_principal.items()):
            if grant.level == "IS_OWNER":
                by_principal[key] = Grant(grant.kind, grant.name, "CAN_MANAGE")
    for grant in changes:
        by_principal[(grant.kind, grant.name)] = grant
    return list(by_principal.values())
