"""The smaller permission rules over real HTTP with databricks-sdk, as a second, non-admin user (a SCIM user with
a token the admin minted): the fault-rule API is admins-only, creators are recorded as the caller, statements
and query history belong to who ran them, a run's notebook needs CAN_RUN."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.sql import QueryFilter, WarehouseAccessControlRequest, WarehousePermissionLevel
from databricks.sdk.service.workspace import (
    ImportFormat,
    Language,
    WorkspaceObjectAccessControlRequest,
    WorkspaceObjectPermissionLevel,
)
from tests.workspace.permissions.test_api import User, _denied, second_user

FAULTS = "/api/2.0/airbricks/faults"


@pytest.fixture(scope="module")
def carol(sdk: WorkspaceClient, local_ws) -> Iterator[User]:
    yield from second_user(sdk, local_ws.url, "carol")


def test_the_fault_api_is_for_admins_only(sdk: WorkspaceClient, carol: User) -> None:
    rule = {"path": "/api/2.0/clusters/get", "status": 503, "count": 1}
    api = carol.client.api_client
    _denied(
        lambda: api.do("POST", FAULTS, body=rule),
        f"Only workspace admins can add fault rules; {carol.name} is not in the admins group",
    )
    _denied(
        lambda: api.do("GET", FAULTS),
        f"Only workspace admins can list fault rules; {carol.name} is not in the admins group",
    )
    _denied(
        lambda: api.do("DELETE", FAULTS),
        f"Only workspace admins can clear fault rules; {carol.name} is not in the admins group",
    )
    _denied(
        lambda: api.do("GET", "/api/2.0/airbricks/volumes"),
        f"Only workspace admins can list the volumes; {carol.name} is not in the admins group",
    )
    assert rule not in [{k: r.get(k) for k in rule} for r in sdk.api_client.do("GET", FAULTS)["rules"]]  # admins can


def test_a_cluster_or_warehouse_records_its_caller_as_creator(sdk: WorkspaceClient, carol: User) -> None:
    spec = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}
    own = carol.client.clusters.create(cluster_name="carols", **spec).cluster_id
    admins = sdk.clusters.create(cluster_name="admins", **spec).cluster_id
    warehouse = carol.client.warehouses.create(name=f"carols-{uuid.uuid4().hex[:6]}", cluster_size="2X-Small").id
    try:
        assert carol.client.clusters.get(own).creator_user_name == carol.name
        assert sdk.clusters.get(admins).creator_user_name == sdk.current_user.me().user_name
        assert carol.client.warehouses.get(warehouse).creator_name == carol.name
        assert sdk.warehouses.get(warehouse).creator_name == carol.name
    finally:
        sdk.clusters.permanent_delete(own)
        sdk.clusters.permanent_delete(admins)
        sdk.warehouses.delete(warehouse)


def test_statements_and_query_history_belong_to_who_ran_them(sdk: WorkspaceClient, carol: User) -> None:
    """CAN_USE on a warehouse reaches one's own statements (by id, in query history); CAN_MONITOR everyone's."""
    warehouse = sdk.warehouses.create(name=f"w-{uuid.uuid4().hex[:6]}", cluster_size="2X-Small", max_num_clusters=1).id
    try:
        sdk.warehouses.set_permissions(warehouse, access_control_list=[_grant(carol, "CAN_USE")])
        admins = sdk.statement_execution.execute_statement(
            statement="SELECT 1", warehouse_id=warehouse, wait_timeout="0s"
        ).statement_id
        own = carol.client.statement_execution.execute_statement(
            statement="SELECT 2", warehouse_id=warehouse, wait_timeout="0s"
        ).statement_id
        assert carol.client.statement_execution.get_statement(own).statement_id == own
        message = (
            f"User {carol.name} does not have permission to access statement {admins}: it was run by another "
            f"user, and only CAN_MONITOR on its warehouse {warehouse} shows every statement run there"
        )
        _denied(lambda: carol.client.statement_execution.get_statement(admins), message)
        _denied(lambda: carol.client.statement_execution.cancel_execution(admins), message)
        assert sdk.statement_execution.get_statement(own).statement_id == own  # admins see every statement

        def history(client: WorkspaceClient) -> set[str]:
            where = QueryFilter(warehouse_ids=[warehouse])
            return {q.query_id for q in client.query_history.list(filter_by=where, max_results=100).res or []}

        assert history(carol.client) == {own}
        assert history(sdk) >= {own, admins}
        sdk.warehouses.update_permissions(warehouse, access_control_list=[_grant(carol, "CAN_MONITOR")])
        assert history(carol.client) >= {own, admins}
        assert carol.client.statement_execution.get_statement(admins).statement_id == admins
    finally:
        sdk.warehouses.delete(warehouse)


def _grant(user: User, level: str) -> WarehouseAccessControlRequest:
    return WarehouseAccessControlRequest(user_name=user.name, permission_level=WarehousePermissionLevel(level))


def test_a_non_admins_run_needs_can_run_on_its_notebook(sdk: WorkspaceClient, carol: User) -> None:
    admin = sdk.current_user.me().user_name
    path = f"/Users/{admin}/private-{uuid.uuid4().hex[:6]}"
    sdk.workspace.upload(
        path,
        b"# Databricks notebook source\ndbutils.notebook.exit('ran')\n",
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
    )
    spec = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}
    cluster = carol.client.clusters.create(cluster_name="carols", **spec).cluster_id
    notebook = jobs.NotebookTask(notebook_path=path)
    job = carol.client.jobs.create(
        name="carols", tasks=[jobs.Task(task_key="t", existing_cluster_id=cluster, notebook_task=notebook)]
    ).job_id
    try:
        message = f"User {carol.name} does not have Run permissions on notebook {path}"
        one_time = [jobs.SubmitTask(task_key="t", existing_cluster_id=cluster, notebook_task=notebook)]
        _denied(lambda: carol.client.jobs.submit(run_name="theirs", tasks=one_time), message)
        _denied(lambda: carol.client.jobs.run_now(job), message)  # the job runs as carol
        sdk.workspace.update_permissions(
            "notebooks",
            str(sdk.workspace.get_status(path).object_id),
            access_control_list=[
                WorkspaceObjectAccessControlRequest(
                    user_name=carol.name, permission_level=WorkspaceObjectPermissionLevel.CAN_RUN
                )
            ],
        )
        run = carol.client.jobs.run_now(job).run_id
        deadline = time.monotonic() + 60
        while (got := carol.client.jobs.get_run(run)).state.life_cycle_state.value not in (
            "TERMINATED",
            "INTERNAL_ERROR",
        ):
            assert time.monotonic() < deadline, got.state
            time.sleep(0.05)
        assert carol.client.jobs.get_run_output(got.tasks[0].run_id).notebook_output.result == "ran"
    finally:
        sdk.jobs.delete(job)
        sdk.clusters.permanent_delete(cluster)
        sdk.workspace.delete(path)
