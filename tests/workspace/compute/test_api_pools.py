"""Instance pools over real HTTP, as databricks-sdk's ``instance_pools`` service reads them: create, get with
``stats``, list, edit, delete, the errors, and clusters naming a pool (without Spark: no processes, the pool's
idle instances are counted as there; the warm drivers themselves are tested in tests/spark/test_pools.py)."""

from __future__ import annotations

from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, ResourceAlreadyExists
from databricks.sdk.service.compute import InstancePoolState, State

from waiting import wait_cluster_state

SPEC: dict[str, Any] = {"spark_version": "15.4.x-scala2.12", "num_workers": 1}


def test_a_pool_is_created_read_listed_edited_and_deleted_as_the_sdk_reads_it(sdk: WorkspaceClient) -> None:
    created = sdk.instance_pools.create(
        instance_pool_name="warm",
        node_type_id="i3.xlarge",
        min_idle_instances=1,
        max_capacity=3,
        preloaded_spark_versions=["15.4.x-scala2.12"],
        custom_tags={"team": "data"},
    )
    pool_id = created.instance_pool_id
    assert pool_id and "-pool-" in pool_id
    pool = sdk.instance_pools.get(pool_id)
    assert pool.instance_pool_name == "warm" and pool.node_type_id == "i3.xlarge"
    assert (pool.min_idle_instances, pool.max_capacity) == (1, 3)
    assert pool.preloaded_spark_versions == ["15.4.x-scala2.12"]
    assert pool.idle_instance_autotermination_minutes == 60  # Databricks' default
    assert pool.state == InstancePoolState.ACTIVE
    assert pool.stats is not None and pool.stats.idle_count == 1 and pool.stats.used_count == 0
    assert pool.default_tags["DatabricksInstancePoolId"] == pool_id and pool.custom_tags == {"team": "data"}
    assert pool_id in [p.instance_pool_id for p in sdk.instance_pools.list()]

    sdk.instance_pools.edit(pool_id, "still warm", "i3.xlarge", min_idle_instances=2, max_capacity=4)
    pool = sdk.instance_pools.get(pool_id)
    assert (pool.instance_pool_name, pool.min_idle_instances, pool.max_capacity) == ("still warm", 2, 4)
    assert pool.preloaded_spark_versions == ["15.4.x-scala2.12"]  # not editable: kept

    sdk.instance_pools.delete(pool_id)
    assert sdk.instance_pools.get(pool_id).state == InstancePoolState.DELETED
    assert pool_id not in [p.instance_pool_id for p in sdk.instance_pools.list()]


def test_bad_pools_are_refused_naming_the_field(sdk: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="instance_pool_name"):
        sdk.api_client.do("POST", "/api/2.0/instance-pools/create", body={"node_type_id": "i3.xlarge"})
    with pytest.raises(InvalidParameterValue, match="Node type no-such-node is not supported"):
        sdk.instance_pools.create(instance_pool_name="p", node_type_id="no-such-node")
    with pytest.raises(InvalidParameterValue, match="max_capacity"):
        sdk.instance_pools.create(
            instance_pool_name="p", node_type_id="i3.xlarge", min_idle_instances=3, max_capacity=2
        )
    with pytest.raises(InvalidParameterValue, match="min_idle_instances"):
        sdk.instance_pools.create(instance_pool_name="p", node_type_id="i3.xlarge", min_idle_instances=-1)
    pool_id = sdk.instance_pools.create(instance_pool_name="unique", node_type_id="i3.xlarge").instance_pool_id
    with pytest.raises(ResourceAlreadyExists, match="unique"):
        sdk.instance_pools.create(instance_pool_name="unique", node_type_id="i3.xlarge")
    with pytest.raises(InvalidParameterValue, match="node_type_id cannot be changed"):
        sdk.instance_pools.edit(pool_id, "unique", "m5.xlarge")
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        sdk.instance_pools.get("0000-000000-nothing1-pool-NOTHING1")
    sdk.instance_pools.delete(pool_id)


def test_a_cluster_names_an_existing_pool_and_counts_as_used(sdk: WorkspaceClient) -> None:
    pool_id = sdk.instance_pools.create(
        instance_pool_name="for-clusters", node_type_id="i3.xlarge", min_idle_instances=1
    ).instance_pool_id
    with pytest.raises(InvalidParameterValue, match="Instance pool nope does not exist"):
        sdk.clusters.create(cluster_name="c", instance_pool_id="nope", **SPEC)
    cluster_id = sdk.clusters.create(cluster_name="c", instance_pool_id=pool_id, **SPEC).cluster_id
    wait_cluster_state(sdk, cluster_id, State.RUNNING)
    assert sdk.clusters.get(cluster_id).instance_pool_id == pool_id
    assert sdk.instance_pools.get(pool_id).stats.used_count == 1
    sdk.clusters.permanent_delete(cluster_id)
    assert sdk.instance_pools.get(pool_id).stats.used_count == 0
    sdk.instance_pools.delete(pool_id)
    with pytest.raises(InvalidParameterValue, match="was deleted"):
        sdk.clusters.create(cluster_name="c", instance_pool_id=pool_id, **SPEC)
