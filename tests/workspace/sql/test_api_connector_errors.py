"""databricks-sql-connector's errors on the local workspace's HTTPS listener, without Spark: what is not served
names what works, in the message the connector shows (it reads Thrift HTTP errors from a header only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from databricks import sql

from airbricks.testing import local_workspace
from airbricks.testing.workspace import TestWorkspace


@pytest.fixture(scope="module")
def tls_ws() -> Iterator[TestWorkspace]:
    with local_workspace(tls=True) as ws:
        yield ws


def test_an_all_purpose_clusters_http_path_names_the_warehouse_path(tls_ws: TestWorkspace) -> None:
    with pytest.raises(sql.exc.RequestError, match=r"use a SQL warehouse, http_path /sql/1.0/warehouses/<id>"):
        sql.connect("127.0.0.1", "/sql/protocolv1/o/0/0101-000000-abcdefgh", tls_ws.token, **tls_ws.connector_extra)


def test_a_missing_warehouse_is_named(tls_ws: TestWorkspace) -> None:
    with pytest.raises(sql.exc.DatabaseError, match="SQL warehouse 0123456789abcdef does not exist"):
        sql.connect("127.0.0.1", "/sql/1.0/warehouses/0123456789abcdef", tls_ws.token, **tls_ws.connector_extra)


def test_a_wrong_token_says_so_in_the_connectors_error(tls_ws: TestWorkspace) -> None:
    with pytest.raises(sql.exc.Error, match="Invalid access token"):
        sql.connect("127.0.0.1", "/sql/1.0/warehouses/0123456789abcdef", "dapi-not-the-token", **tls_ws.connector_extra)
