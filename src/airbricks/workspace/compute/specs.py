"""Cluster specs: the catalogue (node types, runtimes), validation as ``clusters/create`` does it, sizes.

Shared by ``clusters/create``/``edit`` and by jobs, which validate a ``new_cluster`` at submit time so a bad
spec is refused before any run starts. The catalogue is data (``data/clusters_catalog.json``), not code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.params import Params, to_int

#: Fields of a cluster spec (``clusters/create``, ``clusters/edit``, a job's ``new_cluster``) echoed back by get.
SPEC_FIELDS = (
    "cluster_name",
    "spark_version",
    "node_type_id",
    "driver_node_type_id",
    "num_workers",
    "autoscale",
    "autotermination_minutes",
    "spark_conf",
    "spark_env_vars",
    "custom_tags",
    "aws_attributes",
    "azure_attributes",
    "gcp_attributes",
    "ssh_public_keys",
    "cluster_log_conf",
    "init_scripts",
    "docker_image",
    "enable_elastic_disk",
    "enable_local_disk_encryption",
    "instance_pool_id",
    "driver_instance_pool_id",
    "policy_id",
    "apply_policy_default_values",
    "single_user_name",
    "data_security_mode",
    "runtime_engine",
    "kind",
    "is_single_node",
    "use_ml_runtime",
    "workload_type",
    "remote_disk_throughput",
    "total_initial_remote_disk_size",
)


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Any]:
    text = resources.files("airbricks.workspace").joinpath("data/clusters_catalog.json").read_text("utf-8")
    return json.loads(text)


def node_types(cloud: str = "aws") -> list[dict[str, Any]]:
    """What ``clusters/list-node-types`` offers on ``cloud`` (copies: callers may not change the catalogue)."""
    return [dict(n) for n in _catalog()["node_types"][cloud]]


def spark_versions() -> list[dict[str, str]]:
    return [dict(v) for v in _catalog()["spark_versions"]]


def node_type(node_type_id: str) -> dict[str, Any] | None:
    return _nodes_by_id().get(node_type_id)


@lru_cache(maxsize=4)
def _nodes_by_id(cloud: str | None = None) -> dict[str, dict[str, Any]]:
    """The catalogue's node types by id: one cloud's, or (None) every cloud's."""
    clouds = _catalog()["node_types"]
    return {n["node_type_id"]: n for name in ([cloud] if cloud else list(clouds)) for n in clouds[name]}


def _cloud_of(node_type_id: str) -> str | None:
    return next((c for c in _catalog()["node_types"] if node_type_id in _nodes_by_id(c)), None)


def unsupported_node_type(value: str, field: str, cloud: str) -> InvalidParameterValue:
    """The real refusal (``Node type X is not supported. Supported node types: ...``), plus where X comes from
    when it is another cloud's."""
    other = _cloud_of(value)
    hint = (
        (
            f" ({value} is a node type of {other.upper()}; this workspace is on {cloud.upper()}: start it with "
            f"airbricks serve --cloud {other})"
        )
        if other
        else ""
    )
    what = "Driver node type" if field == "driver_node_type_id" else "Node type"
    return InvalidParameterValue(
        f"{what} {value} is not supported{hint}. Supported node types: {', '.join(_nodes_by_id(cloud))}"
    )


def workers(doc: dict[str, Any]) -> int:
    """The current (target) number of workers; an autoscaling cluster starts at its minimum."""
    if "autoscale" in doc:
        return int(doc["autoscale"].get("min_workers", 0))
    return int(doc.get("num_workers") or 0)


def size(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``cluster_size`` of a CREATING event: the autoscale range or the number of workers."""
    return {"autoscale": doc["autoscale"]} if "autoscale" in doc else {"num_workers": workers(doc)}


def validate_spec(spec: Any, cloud: str = "aws") -> dict[str, Any]:
    """Check a cluster spec as ``clusters/create`` does on ``cloud``; return its known fields, normalized."""
    if not isinstance(spec, dict):
        raise InvalidParameterValue("Invalid cluster spec: expected an object")
    params = Params(spec)
    clean: dict[str, Any] = {k: spec[k] for k in SPEC_FIELDS if spec.get(k) is not None}
    clean["spark_version"] = params.str("spark_version", required=True)
    clean["cluster_name"] = params.str("cluster_name", default="")
    node = params.str("node_type_id")
    if node is None and "instance_pool_id" not in params:
        raise InvalidParameterValue(
            "Missing required field: node_type_id (or instance_pool_id). Pick one of"
            f" clusters/list-node-types, e.g. {next(iter(_nodes_by_id(cloud)))}."
        )
    known = _nodes_by_id(cloud)
    for name in ("node_type_id", "driver_node_type_id"):
        value = params.str(name)
        if value is not None and value not in known:
            raise unsupported_node_type(value, name, cloud)
        if value is not None:
            clean[name] = value
    if node is not None:
        clean.setdefault("driver_node_type_id", node)
    clean.update(validate_size(num_workers=spec.get("num_workers"), autoscale=spec.get("autoscale")))
    minutes = params.int("autotermination_minutes", minimum=0, maximum=10000)
    if minutes is not None and 0 < minutes < 10:
        raise InvalidParameterValue(
            "Invalid value for field 'autotermination_minutes': must be 0 (never) or"
            f" between 10 and 10000 minutes, got {minutes}"
        )
    clean["autotermination_minutes"] = minutes or 0
    for name in ("custom_tags", "spark_conf", "spark_env_vars"):
        mapping = params.dict(name)
        if mapping is not None and not all(isinstance(v, (str, int, float, bool)) for v in mapping.values()):
            raise InvalidParameterValue(f"Invalid value for field '{name}': values must be strings")
    return clean


def validate_size(*, num_workers: Any, autoscale: Any) -> dict[str, Any]:
    """Exactly one of ``num_workers`` and ``autoscale`` (with sane bounds), as ``{"num_workers": n}`` or
    ``{"autoscale": {...}}``."""
    params = Params({"num_workers": num_workers, "autoscale": autoscale})
    workers_ = params.int("num_workers", minimum=0)
    scale = params.dict("autoscale")
    if workers_ is None and scale is None:
        raise InvalidParameterValue(
            "Missing required field: num_workers (or autoscale with min_workers and max_workers)"
        )
    if workers_ is not None and scale is not None:
        raise InvalidParameterValue("Only one of num_workers and autoscale may be set")
    if scale is None:
        return {"num_workers": workers_}
    if scale.get("max_workers") is None:
        raise InvalidParameterValue("Missing required field: autoscale.max_workers")
    low = to_int(scale.get("min_workers", 0), "autoscale.min_workers")
    high = to_int(scale["max_workers"], "autoscale.max_workers")
    if low < 0 or high < 1 or low > high:
        raise InvalidParameterValue(
            f"Invalid autoscale range min_workers={low}, max_workers={high}: need"
            " 0 <= min_workers <= max_workers and max_workers >= 1"
        )
    return {"autoscale": {"min_workers": low, "max_workers": high}}
