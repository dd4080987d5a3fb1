"""Unity Catalog objects (``/api/2.1/unity-catalog``): catalogs, schemas and volumes, kept in the store.

A volume is a real object here, as on Databricks: the Files API and ``dbutils.fs`` accept
``/Volumes/<catalog>/<schema>/<volume>/...`` only once it was created (``w.volumes.create``). Its files live in
``<data dir>/volumes/<catalog>/<schema>/<volume>``; that folder exists exactly while the volume does, so the
kernel process (which has no store) can tell the same. ``auto_create_volumes`` (``airbricks serve
--auto-create-volumes``) keeps the old convenience: a path in a missing volume creates it (and its catalog and
schema). A new workspace has the catalog ``main`` with the schemas ``default`` and ``information_schema``.

EXTERNAL volumes need a ``storage_location`` and record it; their files still live under the data dir (there
is no cloud storage here). Names follow Unity Catalog's rules: any character but ``.``, space, ``/``, ASCII
control characters and DEL, at most 255 characters (``my-schema``, ``1st``, ``Sales-EU`` are fine),
case-insensitive and kept lower-case. Schemas map onto the metastore's databases by :mod:`.names`.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import (
    AlreadyExists,
    CatalogAlreadyExists,
    CatalogDoesNotExist,
    InvalidParameterValue,
    NotFound,
    ResourceDoesNotExist,
    SchemaAlreadyExists,
    SchemaDoesNotExist,
)
from airbricks.workspace.shared import Shared

CATALOG, SCHEMA, VOLUME = "uc_catalog", "uc_schema", "uc_volume"
DEFAULT_CATALOG, DEFAULT_SCHEMA = "main", "default"
SYSTEM_SCHEMA = "information_schema"
_NAME = re.compile(r"^[^ ./\x00-\x1f\x7f]{1,255}$")
#: The RPC and record Unity Catalog names in its refusal of a new object's name, by the field that holds it.
_RPC = {
    "catalog": ("CreateCatalog", "CatalogInfo"),
    "schema": ("CreateSchema", "SchemaInfo"),
    "volume": ("CreateVolume", "VolumeInfo"),
}
VOLUME_TYPES = ("MANAGED", "EXTERNAL")


def check_name(value: object, field: str, creating: str | None = None) -> str:
    """A catalog/schema/volume name as Unity Catalog takes it: no ``.``, space, ``/``, ASCII control character
    or DEL, at most 255 characters; lower-cased. ``creating`` (``catalog``/``schema``/``volume``): refused as
    Unity Catalog refuses a new object's name (``Invalid input: RPC CreateSchema Field ...``)."""
    if not isinstance(value, str) or not value:
        raise InvalidParameterValue(f"Missing required field: {field}")
    if not _NAME.match(value):
        if creating is not None:
            rpc, info = _RPC[creating]
            raise InvalidParameterValue(
                f'Invalid input: RPC {rpc} Field managedcatalog.{info}.{field}: name "{value[:80]}" is not a'
                " valid name (a name cannot contain '.', ' ', '/', ASCII control characters or DEL, and is at most"
                " 255 characters long)"
            )
        raise InvalidParameterValue(
            f"Invalid name '{value[:80]}' for {field}: names cannot contain '.', '/', spaces"
            " or control characters and are at most 255 characters long."
        )
    return value.lower()


def split_name(full_name: str, parts: int, what: str) -> list[str]:
    """``catalog.schema[.object]`` as lower-case parts; INVALID_PARAMETER_VALUE naming the expected shape."""
    names = full_name.split(".") if isinstance(full_name, str) else []
    if len(names) != parts or not all(names):
        shape = ".".join(("<catalog>", "<schema>", f"<{what}>")[:parts]) if parts > 1 else "<catalog>"
        raise InvalidParameterValue(f"Invalid {what} name '{full_name}': expected the form {shape}.")
    return [check_name(n, f"{what} name") for n in names]


class UnityCatalog:
    """Catalogs, schemas and volumes; raises ``errors.*`` with Unity Catalog's codes and messages.

    :param volumes_root: where volumes' files live (one folder per volume, created and removed with it).
    """

    def __init__(self, shared: Shared, volumes_root: Path) -> None:
        self.shared = shared
        self.root = volumes_root
        self.auto_create = shared.config.auto_create_volumes
        self.metastore_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"airbricks:{shared.workspace_id}"))
        with shared.lock:
            if shared.store.get(CATALOG, DEFAULT_CATALOG) is None:
                self.create_catalog(DEFAULT_CATALOG, comment="Main catalog (auto-created)")
            self._adopt_folders()

    def _adopt_folders(self) -> None:
        """Volume folders a previous version left (when every path was a volume) become MANAGED volumes."""
        for folder in sorted(p for p in self.root.glob("*/*/*") if p.is_dir()):
            c, s, v = (part.lower() for part in folder.relative_to(self.root).parts)
            if (
                _NAME.match(c)
                and _NAME.match(s)
                and _NAME.match(v)
                and self.shared.store.get(VOLUME, f"{c}.{s}.{v}") is None
            ):
                self._ensure_volume(c, s, v)

    def _stamp(self, doc: dict[str, Any]) -> dict[str, Any]:
        now, user = self.shared.now_ms(), self.shared.user_name
        return {
            "created_at": now,
            "created_by": user,
            "updated_at": now,
            "updated_by": user,
            "owner": user,
            "metastore_id": self.metastore_id,
            **doc,
        }

    # -- catalogs ----------------------------------------------------------------------------------------------

    def create_catalog(
        self,
        name: object,
        comment: str | None = None,
        properties: dict[str, str] | None = None,
        storage_root: str | None = None,
    ) -> dict[str, Any]:
        name = check_name(name, "name", "catalog")
        with self.shared.lock:
            if self.shared.store.get(CATALOG, name) is not None:
                raise CatalogAlreadyExists(f"Catalog '{name}' already exists")
            doc = self._stamp(
                {
                    "name": name,
                    "full_name": name,
                    "catalog_type": "MANAGED_CATALOG",
                    "securable_type": "CATALOG",
                    "isolation_mode": "OPEN",
                    "comment": comment,
                    "properties": properties or {},
                    "storage_root": storage_root,
                    "browse_only": False,
                }
            )
            self.shared.store.put(CATALOG, name, _clean(doc))
            for schema in (DEFAULT_SCHEMA, SYSTEM_SCHEMA):
                self.create_schema(
                    name,
                    schema,
                    comment="Default schema (auto-created)"
                    if schema == DEFAULT_SCHEMA
                    else "Information schema (auto-created)",
                )
            return self.get_catalog(name)

    def get_catalog(self, name: str) -> dict[str, Any]:
        doc = self.shared.store.get(CATALOG, str(name).lower())
        if doc is None:
            raise CatalogDoesNotExist(f"Catalog '{name}' does not exist.")
        return doc

    def list_catalogs(self) -> list[dict[str, Any]]:
        return [doc for _, doc in sorted(self.shared.store.load(CATALOG))]

    def update_catalog(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.shared.lock:
            doc = self.get_catalog(name)
            if changes.get("new_name") and check_name(changes["new_name"], "new_name") != doc["name"]:
                raise InvalidParameterValue(
                    "Renaming a catalog is not supported by the local workspace: create a new one and move its schemas."
                )
            doc = self._update(doc, changes, ("comment", "owner", "properties", "isolation_mode"))
            self.shared.store.put(CATALOG, doc["name"], doc)
            return doc

    def delete_catalog(self, name: str, force: bool = False) -> None:
        with self.shared.lock:
            doc = self.get_catalog(name)
            schemas = self.list_schemas(doc["name"])
            user = [s for s in schemas if s["name"] not in (DEFAULT_SCHEMA, SYSTEM_SCHEMA)]
            default_used = bool(self.list_volumes(doc["name"], DEFAULT_SCHEMA))
            if (user or default_used) and not force:
                raise InvalidParameterValue(
                    f"Catalog '{doc['name']}' is not empty. The catalog has "
                    f"{len(user)} schemas: {', '.join(s['name'] for s in user[:5])}. Pass "
                    "force=true to delete it with everything in it."
                )
            for schema in schemas:
                self._drop_schema(doc["name"], schema["name"])
            self.shared.store.delete(CATALOG, doc["name"])

    # -- schemas -----------------------------------------------------------------------------------------------

    def create_schema(
        self,
        catalog_name: object,
        name: object,
        comment: str | None = None,
        properties: dict[str, str] | None = None,
        storage_root: str | None = None,
    ) -> dict[str, Any]:
        catalog = check_name(catalog_name, "catalog_name", "schema")
        name = check_name(name, "name", "schema")
        with self.shared.lock:
            self.get_catalog(catalog)
            full = f"{catalog}.{name}"
            if self.shared.store.get(SCHEMA, full) is not None:
                raise SchemaAlreadyExists(f"Schema '{name}' already exists")
            doc = self._stamp(
                {
                    "name": name,
                    "catalog_name": catalog,
                    "full_name": full,
                    "comment": comment,
                    "properties": properties or {},
                    "storage_root": storage_root,
                    "catalog_type": "MANAGED_CATALOG",
                    "schema_id": str(uuid.uuid4()),
                    "browse_only": False,
                }
            )
            self.shared.store.put(SCHEMA, full, _clean(doc))
            return self.get_schema(full)

    def get_schema(self, full_name: str) -> dict[str, Any]:
        catalog, name = split_name(full_name, 2, "schema")
        doc = self.shared.store.get(SCHEMA, f"{catalog}.{name}")
        if doc is None:
            self.get_catalog(catalog)
            raise SchemaDoesNotExist(f"Schema '{catalog}.{name}' does not exist.")
        return doc

    def list_schemas(self, catalog_name: str) -> list[dict[str, Any]]:
        catalog = self.get_catalog(check_name(catalog_name, "catalog_name"))["name"]
        return [doc for key, doc in sorted(self.shared.store.load(SCHEMA)) if doc["catalog_name"] == catalog]

    def update_schema(self, full_name: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.shared.lock:
            doc = self.get_schema(full_name)
            if changes.get("new_name") and check_name(changes["new_name"], "new_name") != doc["name"]:
                raise InvalidParameterValue("Renaming a schema is not supported by the local workspace.")
            doc = self._update(doc, changes, ("comment", "owner", "properties"))
            self.shared.store.put(SCHEMA, doc["full_name"], doc)
            return doc

    def delete_schema(self, full_name: str, force: bool = False) -> None:
        with self.shared.lock:
            doc = self.get_schema(full_name)
            if doc["name"] == SYSTEM_SCHEMA:
                raise InvalidParameterValue(f"Schema '{doc['full_name']}' is a system schema and cannot be deleted.")
            volumes = self.list_volumes(doc["catalog_name"], doc["name"])
            if volumes and not force:
                raise InvalidParameterValue(
                    f"Schema '{doc['full_name']}' is not empty. The schema has "
                    f"{len(volumes)} volumes. Pass force=true to delete it with them."
                )
            self._drop_schema(doc["catalog_name"], doc["name"])

    def _drop_schema(self, catalog: str, schema: str) -> None:
        for volume in self.list_volumes(catalog, schema):
            self.delete_volume(volume["full_name"])
        shutil.rmtree(self.root / catalog / schema, ignore_errors=True)
        self.shared.store.delete(SCHEMA, f"{catalog}.{schema}")

    # -- volumes -----------------------------------------------------------------------------------------------

    def create_volume(
        self,
        catalog_name: object,
        schema_name: object,
        name: object,
        volume_type: object,
        storage_location: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        catalog = check_name(catalog_name, "catalog_name", "volume")
        schema = check_name(schema_name, "schema_name", "volume")
        name = check_name(name, "name", "volume")
        if volume_type not in VOLUME_TYPES:
            raise InvalidParameterValue(f"Invalid volume_type '{volume_type}': use MANAGED or EXTERNAL.")
        if volume_type == "EXTERNAL" and not storage_location:
            raise InvalidParameterValue("storage_location is required for an EXTERNAL volume.")
        if volume_type == "MANAGED" and storage_location:
            raise InvalidParameterValue(
                "storage_location must not be set for a MANAGED volume: its storage is the schema's managed location."
            )
        with self.shared.lock:
            self.get_schema(f"{catalog}.{schema}")
            full = f"{catalog}.{schema}.{name}"
            if self.shared.store.get(VOLUME, full) is not None:
                raise AlreadyExists(f"Volume '{full}' already exists")
            folder = self.root / catalog / schema / name
            doc = self._stamp(
                {
                    "name": name,
                    "catalog_name": catalog,
                    "schema_name": schema,
                    "full_name": full,
                    "volume_type": volume_type,
                    "volume_id": str(uuid.uuid4()),
                    "comment": comment,
                    "storage_location": storage_location or folder.as_uri(),
                    "browse_only": False,
                }
            )
            self.shared.store.put(VOLUME, full, _clean(doc))
            folder.mkdir(parents=True, exist_ok=True)
            return doc

    def get_volume(self, full_name: str) -> dict[str, Any]:
        catalog, schema, name = split_name(full_name, 3, "volume")
        doc = self.shared.store.get(VOLUME, f"{catalog}.{schema}.{name}")
        if doc is None:
            raise ResourceDoesNotExist(f"Volume '{catalog}.{schema}.{name}' does not exist.")
        return doc

    def list_volumes(self, catalog_name: str, schema_name: str) -> list[dict[str, Any]]:
        schema = self.get_schema(f"{catalog_name}.{schema_name}")
        prefix = schema["full_name"] + "."
        return [doc for key, doc in sorted(self.shared.store.load(VOLUME)) if key.startswith(prefix)]

    def update_volume(self, full_name: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.shared.lock:
            doc = self.get_volume(full_name)
            if changes.get("new_name") and check_name(changes["new_name"], "new_name") != doc["name"]:
                raise InvalidParameterValue("Renaming a volume is not supported by the local workspace.")
            doc = self._update(doc, changes, ("comment", "owner"))
            self.shared.store.put(VOLUME, doc["full_name"], doc)
            return doc

    def delete_volume(self, full_name: str) -> None:
        """Deleting a MANAGED volume deletes its files; an EXTERNAL one's files stay (here: are moved aside)."""
        with self.shared.lock:
            doc = self.get_volume(full_name)
            folder = self.root / doc["catalog_name"] / doc["schema_name"] / doc["name"]
            self.shared.store.delete(VOLUME, doc["full_name"])
            if doc["volume_type"] == "EXTERNAL" and folder.is_dir():
                kept = self.shared.data_dir / "external-volumes" / f"{doc['full_name']}-{doc['volume_id']}"
                kept.parent.mkdir(parents=True, exist_ok=True)
                folder.rename(kept)
            shutil.rmtree(folder, ignore_errors=True)

    # -- what the Files API asks -------------------------------------------------------------------------------

    def require_volume(self, norm: str) -> None:
        """For ``/Volumes/c/s/v[/...]``: the volume must exist (404 NOT_FOUND), unless auto-creation is on."""
        c, s, v = (part.lower() for part in norm.split("/")[2:5])
        with self.shared.lock:
            if self.shared.store.get(VOLUME, f"{c}.{s}.{v}") is not None:
                return
            if self.auto_create:
                self._ensure_volume(c, s, v)
                return
        raise NotFound(
            f"Volume '{c}.{s}.{v}' does not exist. Create it first (w.volumes.create(catalog_name="
            f"'{c}', schema_name='{s}', name='{v}', volume_type=VolumeType.MANAGED)), or start the "
            "local workspace with --auto-create-volumes."
        )

    def _ensure_volume(self, c: str, s: str, v: str) -> None:
        if self.shared.store.get(CATALOG, c) is None:
            self.create_catalog(c)
        if self.shared.store.get(SCHEMA, f"{c}.{s}") is None:
            self.create_schema(c, s)
        if self.shared.store.get(VOLUME, f"{c}.{s}.{v}") is None:
            self.create_volume(c, s, v, "MANAGED")

    def _update(self, doc: dict[str, Any], changes: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
        updated = {**doc, **{k: changes[k] for k in fields if changes.get(k) is not None}}
        updated["updated_at"] = self.shared.now_ms()
        return updated


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}
