"""Instance pools of the local workspace (``/api/2.0/instance-pools/*``): idle drivers kept warm for clusters.

On Databricks a pool keeps idle cloud instances so a cluster from it starts without waiting for the cloud. Here
an instance is a Spark driver: a pool keeps ``min_idle_instances`` Spark Connect servers started and warmed, a
cluster naming the pool (``instance_pool_id`` or ``driver_instance_pool_id``) takes one over, and the pool starts
a replacement in the background. The documents and their rules live here (moto style: no HTTP); the drivers live
in the compute engine (:class:`~airbricks.workspace.compute.pool.WarmPools`), which also answers each pool's
``stats``. Without Spark a pool's idle instances are simply counted as there.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.compute.pool import PoolTarget, WarmPools
from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists
from airbricks.workspace.params import Params
from airbricks.workspace.shared import Shared

POOL_KIND = "instance_pool"
#: Fields of a pool that ``create`` takes and ``get`` echoes back.
POOL_FIELDS = (
    "instance_pool_name",
    "node_type_id",
    "min_idle_instances",
    "max_capacity",
    "idle_instance_autotermination_minutes",
    "preloaded_spark_versions",
    "custom_tags",
    "aws_attributes",
    "azure_attributes",
    "gcp_attributes",
    "disk_spec",
    "enable_elastic_disk",
    "preloaded_docker_images",
)
#: What ``edit`` may change (the rest is fixed at creation, as on Databricks).
EDITABLE = (
    "instance_pool_name",
    "min_idle_instances",
    "max_capacity",
    "idle_instance_autotermination_minutes",
    "custom_tags",
)
#: Databricks' default for idle instances beyond the minimum.
DEFAULT_IDLE_MINUTES = 60


def new_pool_id() -> str:
    """A real-looking id (``MMDD-HHMMSS-xxxxxxxx-pool-XXXXXXXX``)."""
    lower, upper = string.ascii_lowercase + string.digits, string.ascii_uppercase + string.digits
    head = "".join(secrets.choice(string.digits) for _ in range(10))
    return (
        f"{head[:4]}-{head[4:]}-{''.join(secrets.choice(lower) for _ in range(8))}-pool-"
        f"{''.join(secrets.choice(upper) for _ in range(8))}"
    )


class InstancePools:
    """Every pool of the workspace; each one's target is handed to the engine, which keeps the drivers.

    :param shared: the workspace's store, lock, clock and settings.
    :param engine: keeps each pool's idle drivers and counts its instances.

    Pools are loaded from the store and handed to the engine when the model is built, so clusters relaunched
    after a restart find their pools.
    """

    def __init__(self, shared: Shared, *, engine: WarmPools) -> None:
        self.shared = shared
        self.engine = engine
        self._pools: dict[str, dict[str, Any]] = dict(shared.store.load(POOL_KIND))
        for ident, doc in self._pools.items():
            if doc["state"] == "ACTIVE":
                self.engine.keep_warm(ident, _target(doc))

    def tick(self, now: int) -> None:
        """Refill pools below their ``min_idle_instances`` (the engine starts drivers in the background)."""
        self.engine.refill()

    # ------------------------------------------------------------------ the REST API

    def create(self, spec: dict[str, Any]) -> str:
        clean = self._validate(spec, creating=True)
        with self.shared.lock:
            self._unique_name(clean["instance_pool_name"], None)
            ident = new_pool_id()
            doc = {
                "instance_pool_id": ident,
                **clean,
                "default_tags": {
                    "Vendor": "Databricks",
                    "DatabricksInstancePoolCreatorId": self.shared.user_name,
                    "DatabricksInstancePoolId": ident,
                },
                "state": "ACTIVE",
            }
            self._save(ident, doc)
            self.engine.keep_warm(ident, _target(doc))
            return ident

    def get(self, pool_id: Any) -> dict[str, Any]:
        with self.shared.lock:
            doc = dict(self._find(pool_id))
        doc["stats"] = self.engine.pool_stats(doc["instance_pool_id"]).to_doc() if doc["state"] == "ACTIVE" else {}
        doc["status"] = {}
        return doc

    def list(self) -> list[dict[str, Any]]:
        with self.shared.lock:
            idents = [i for i, d in self._pools.items() if d["state"] == "ACTIVE"]
        return [self.get(ident) for ident in idents]

    def edit(self, spec: dict[str, Any]) -> None:
        params = Params(spec)
        ident = params.str("instance_pool_id", required=True)
        with self.shared.lock:
            doc = self._find(ident)
            if doc["state"] != "ACTIVE":
                raise InvalidParameterValue(f"Instance pool {ident} is deleted and cannot be edited")
            node = params.str("node_type_id", required=True)
            if node != doc["node_type_id"]:
                raise InvalidParameterValue(
                    f"node_type_id cannot be changed (the pool's is {doc['node_type_id']}): create another pool"
                )
            merged = {
                **{k: v for k, v in doc.items() if k in POOL_FIELDS},
                **{k: spec[k] for k in EDITABLE if k in spec},
            }
            clean = self._validate(merged, creating=False)
            self._unique_name(clean["instance_pool_name"], ident)
            for name in EDITABLE:
                doc.pop(name, None)
            doc.update({k: v for k, v in clean.items() if k in EDITABLE})
            self._save(ident, doc)
            self.engine.keep_warm(ident, _target(doc))

    def delete(self, pool_id: Any) -> None:
        """``instance-pools/delete``: DELETED, its idle drivers stop; clusters using it keep their drivers."""
        with self.shared.lock:
            doc = self._find(pool_id)
            if doc["state"] == "DELETED":
                return
            doc["state"] = "DELETED"
            self._save(doc["instance_pool_id"], doc)
            self.engine.keep_warm(doc["instance_pool_id"], None)

    def require_active(self, pool_id: str) -> None:
        """For ``clusters/create``/``edit`` and jobs' clusters: a named pool must exist and not be deleted."""
        with self.shared.lock:
            doc = self._pools.get(pool_id)
            if doc is None or doc["state"] != "ACTIVE":
                raise InvalidParameterValue(
                    f"Instance pool {pool_id} does not exist or was deleted: create one with "
                    "/api/2.0/instance-pools/create, or see /api/2.0/instance-pools/list"
                )

    # ------------------------------------------------------------------ helpers

    def _find(self, pool_id: Any) -> dict[str, Any]:
        if pool_id is None or pool_id == "":
            raise InvalidParameterValue("Missing required field: instance_pool_id")
        doc = self._pools.get(str(pool_id))
        if doc is None:
            raise InvalidParameterValue(f"Instance pool {pool_id} does not exist")
        return doc

    def _save(self, ident: str, doc: dict[str, Any]) -> None:
        self._pools[ident] = doc
        self.shared.store.put(POOL_KIND, ident, doc)

    def _unique_name(self, name: str, ident: str | None) -> None:
        for other, doc in self._pools.items():
            if other != ident and doc["state"] == "ACTIVE" and doc["instance_pool_name"] == name:
                raise ResourceAlreadyExists(f"Instance pool with name {name} already exists ({other})")

    def _validate(self, spec: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise InvalidParameterValue("Invalid instance pool spec: expected an object")
        params = Params(spec)
        clean: dict[str, Any] = {k: spec[k] for k in POOL_FIELDS if spec.get(k) is not None}
        name = params.str("instance_pool_name", required=True)
        if not 1 <= len(name) <= 100:
            raise InvalidParameterValue("instance_pool_name must be between 1 and 100 characters")
        clean["instance_pool_name"] = name
        node = params.str("node_type_id", required=True)
        if creating and node not in {n["node_type_id"] for n in cluster_specs.node_types(self.shared.config.cloud)}:
            raise cluster_specs.unsupported_node_type(node, "node_type_id", self.shared.config.cloud)
        clean["node_type_id"] = node
        clean["min_idle_instances"] = params.int("min_idle_instances", default=0, minimum=0)
        maximum = params.int("max_capacity", minimum=1)
        if maximum is not None:
            if maximum < clean["min_idle_instances"]:
                raise InvalidParameterValue(
                    f"max_capacity ({maximum}) must be at least min_idle_instances ({clean['min_idle_instances']})"
                )
            clean["max_capacity"] = maximum
        clean["idle_instance_autotermination_minutes"] = params.int(
            "idle_instance_autotermination_minutes", default=DEFAULT_IDLE_MINUTES, minimum=0, maximum=10000
        )
        versions = spec.get("preloaded_spark_versions")
        if versions is not None and (not isinstance(versions, list) or not all(isinstance(v, str) for v in versions)):
            raise InvalidParameterValue("preloaded_spark_versions must be a list of Spark versions (strings)")
        tags = spec.get("custom_tags")
        if tags is not None and not isinstance(tags, dict):
            raise InvalidParameterValue("custom_tags must be an object of strings")
        return clean


def _target(doc: dict[str, Any]) -> PoolTarget:
    return PoolTarget(int(doc.get("min_idle_instances") or 0), doc.get("max_capacity"))
