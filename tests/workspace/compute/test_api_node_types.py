"""The node-type catalogue per cloud: every entry of the selected cloud is accepted by clusters/create (and
listed), other clouds' types and malformed names are refused with the real message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.server.serve import LocalWorkspace

SPEC = {"spark_version": "16.4.x-scala2.12", "num_workers": 0}
#: The node types the official provider's docs and examples use, per cloud.
EXAMPLES = {
    "aws": ["i3.xlarge", "r3.xlarge", "m5d.large", "i3.2xlarge"],
    "azure": ["Standard_D3_v2", "Standard_DS3_v2", "Standard_D4s_v3"],
    "gcp": ["n2-highmem-4", "n1-standard-4"],
}
MALFORMED = ["i3.xlargee", "I3.XLARGE", "r3", "Standard_DS3", "n2-highmem-4 ", "i3.xlarge; rm -rf /"]


@pytest.fixture(scope="module", params=["azure", "gcp"])
def other_cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkspaceClient]:
    """A small workspace of its own on another cloud (the session's is AWS)."""
    with LocalWorkspace(tmp_path_factory.mktemp(request.param), cloud=request.param) as ws:
        yield request.param, WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")


def _sweep(client: WorkspaceClient, cloud: str) -> None:
    listed = [n.node_type_id for n in client.clusters.list_node_types().node_types]
    assert listed == [n["node_type_id"] for n in cluster_specs.node_types(cloud)]
    assert set(EXAMPLES[cloud]) <= set(listed)
    for node in listed:
        cluster = client.api_client.do(
            "POST", "/api/2.1/clusters/create", body={**SPEC, "cluster_name": f"sweep-{node}", "node_type_id": node}
        )
        client.clusters.permanent_delete(cluster["cluster_id"])


def test_every_aws_node_type_is_accepted(sdk: WorkspaceClient) -> None:
    assert sdk.config.cloud.value == "AWS"
    _sweep(sdk, "aws")


def test_every_node_type_of_another_cloud_is_accepted_there(other_cloud) -> None:
    cloud, client = other_cloud
    assert client.config.cloud.value == cloud.upper()
    _sweep(client, cloud)


@pytest.mark.parametrize("node", MALFORMED)
def test_malformed_node_types_are_refused_with_the_real_message(sdk: WorkspaceClient, node: str) -> None:
    with pytest.raises(
        InvalidParameterValue, match=f"^Node type {node} is not supported. Supported node types: m4.large, "
    ):
        sdk.clusters.create(cluster_name="bad", node_type_id=node, **SPEC)


def test_another_clouds_type_is_refused_naming_the_cloud_option(sdk: WorkspaceClient) -> None:
    with pytest.raises(
        InvalidParameterValue,
        match=r"Node type Standard_DS3_v2 is not supported \(Standard_DS3_v2 "
        r"is a node type of AZURE.*--cloud azure\)",
    ):
        sdk.clusters.create(cluster_name="bad", node_type_id="Standard_DS3_v2", **SPEC)
    with pytest.raises(InvalidParameterValue, match="^Driver node type n2-highmem-4 is not supported"):
        sdk.clusters.create(cluster_name="bad", node_type_id="i3.xlarge", driver_node_type_id="n2-highmem-4", **SPEC)
