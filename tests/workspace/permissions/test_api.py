"""Permissions over real HTTP with databricks-sdk, as a second user (a SCIM user with a token the admin minted):
what it cannot do to the admin's clusters, jobs, runs, warehouses and notebooks, what lists show it, and what
it can do once the Permissions API grants it a level; the levels and messages as ``w.permissions`` reads them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied
from databricks.sdk.service import jobs
from databricks.sdk.service.compute import ClusterAccessControlRequest, ClusterPermissionLevel
from databricks.sdk.service.iam import AccessControlRequest, PermissionLevel
from databricks.sdk.service.sql import WarehouseAccessControlRequest, WarehousePermissionLevel
from databricks.sdk.service.workspace import (
    ImportFormat,
    Language,
    WorkspaceObjectAccessControlRequest,
    WorkspaceObjectPermissionLevel,
)

CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 0}


@dataclass
class User:
    name: str
    client: WorkspaceClient


def second_user(sdk: WorkspaceClient, url: str, first_name: str) -> Iterator[User]:
    """A second, non-admin user (a SCIM user) acting through a token the admin minted for it; deleted after."""
    name = f"{first_name}-{uuid.uuid4().hex[:8]}@example.com"
    user = sdk.users.create(user_name=name)
    minted = sdk.api_client.do("POST", "/api/2.0/airbricks/tokens", body={"user_name": name})
    yield User(name, WorkspaceClient(host=url, token=minted["token_value"], auth_type="pat"))
    sdk.users.delete(user.id)


@pytest.fixture(scope="module")
def bob(sdk: WorkspaceClient, local_ws) -> Iterator[User]:
    yield from second_user(sdk, local_ws.url, "bob")


def _denied(call, message: str) -> None:
    with pytest.raises(PermissionDenied) as refused:
        call()
    assert str(refused.value).split(". Config: ")[0] == message  # the SDK appends its config to a 403


def _wait(sdk: WorkspaceClient, run_id: int) -> jobs.Run:
    deadline = time.monotonic() + 60
    while True:
        run = sdk.jobs.get_run(run_id)
        if run.state.life_cycle_state.value in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED"):
            return run
        assert time.monotonic() < deadline, run.state
        time.sleep(0.05)


def test_clusters_are_out_of_reach_until_a_level_is_granted(sdk: WorkspaceClient, bob: User) -> None:
    cluster = sdk.clusters.create(cluster_name="admins", **CLUSTER).cluster_id
    own = bob.client.clusters.create(cluster_name="bobs", **CLUSTER).cluster_id
    try:
        _denied(
            lambda: bob.client.clusters.delete(cluster),
            f"User {bob.name} does not have Restart permissions on cluster {cluster}",
        )
        _denied(
            lambda: bob.client.clusters.edit(cluster, spark_version=CLUSTER["spark_version"], cluster_name="mine"),
            f"User {bob.name} does not have Manage permissions on cluster {cluster}",
        )
        _denied(
            lambda: bob.client.clusters.permanent_delete(cluster),
            f"User {bob.name} does not have Manage permissions on cluster {cluster}",
        )
        with pytest.raises(PermissionDenied, match="Attach To permissions"):
            bob.client.clusters.get(cluster)
        assert {c.cluster_id for c in bob.client.clusters.list()} >= {own}
        assert cluster not in {c.cluster_id for c in bob.client.clusters.list()}
        assert {cluster, own} <= {c.cluster_id for c in sdk.clusters.list()}  # admins see everything
        # the creator manages their own cluster; admins manage everything
        mine = bob.client.clusters.get_permissions(own)
        assert mine.object_id == f"/clusters/{own}" and mine.object_type == "cluster"
        entries = {e.user_name or e.group_name: e.all_permissions[0] for e in mine.access_control_list}
        assert (
            entries[bob.name].permission_level == ClusterPermissionLevel.CAN_MANAGE and not entries[bob.name].inherited
        )
        assert entries["admins"].inherited and entries["admins"].inherited_from_object == ["/clusters/"]
        # granted CAN_RESTART: may see and terminate, still not delete for good
        sdk.clusters.update_permissions(
            cluster,
            access_control_list=[
                ClusterAccessControlRequest(user_name=bob.name, permission_level=ClusterPermissionLevel.CAN_RESTART)
            ],
        )
        assert bob.client.clusters.get(cluster).cluster_name == "admins"
        assert cluster in {c.cluster_id for c in bob.client.clusters.list()}
        levels = bob.client.clusters.get_permission_levels(cluster).permission_levels
        assert [level.permission_level.value for level in levels] == ["CAN_ATTACH_TO", "CAN_RESTART", "CAN_MANAGE"]
        bob.client.clusters.delete(cluster)
        _denied(
            lambda: bob.client.clusters.permanent_delete(cluster),
            f"User {bob.name} does not have Manage permissions on cluster {cluster}",
        )
    finally:
        sdk.clusters.permanent_delete(cluster)
        sdk.clusters.permanent_delete(own)


def test_jobs_and_their_runs_are_private_until_shared(sdk: WorkspaceClient, bob: User) -> None:
    folder = f"/Shared/permissions-{uuid.uuid4().hex[:8]}"
    sdk.workspace.mkdirs(folder)
    sdk.workspace.upload(
        f"{folder}/nb",
        b"# Databricks notebook source\ndbutils.notebook.exit('the admin output')\n",
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
    )
    cluster = sdk.clusters.create(cluster_name="jobs", **CLUSTER).cluster_id
    task = jobs.Task(
        task_key="t", existing_cluster_id=cluster, notebook_task=jobs.NotebookTask(notebook_path=f"{folder}/nb")
    )
    job = sdk.jobs.create(name="admins-job", tasks=[task]).job_id
    try:
        run = _wait(sdk, sdk.jobs.run_now(job).run_id)
        task_run = run.tasks[0].run_id
        assert sdk.jobs.get_run_output(task_run).notebook_output.result == "the admin output"
        _denied(lambda: bob.client.jobs.get(job), f"User {bob.name} does not have View permissions on job {job}")
        _denied(
            lambda: bob.client.jobs.run_now(job),
            f"User {bob.name} does not have Manage Run or Owner or Admin permissions on job {job}",
        )
        _denied(
            lambda: bob.client.jobs.reset(job, new_settings=jobs.JobSettings(name="hijacked", tasks=[task])),
            f"User {bob.name} does not have Manage or Owner or Admin permissions on job {job}",
        )
        with pytest.raises(PermissionDenied):
            bob.client.jobs.delete(job)
        with pytest.raises(PermissionDenied, match="View permissions"):
            bob.client.jobs.get_run_output(task_run)
        with pytest.raises(PermissionDenied, match="View permissions"):
            bob.client.jobs.get_run(run.run_id)
        with pytest.raises(PermissionDenied, match="Manage Run"):
            bob.client.jobs.cancel_run(run.run_id)
        assert job not in {j.job_id for j in bob.client.jobs.list()}
        assert run.run_id not in {r.run_id for r in bob.client.jobs.list_runs()}
        with pytest.raises(PermissionDenied, match="only workspace admins"):
            bob.client.jobs.cancel_all_runs()
        # CAN_VIEW: the job, its runs and their output, but not running it
        sdk.jobs.set_permissions(
            str(job),
            access_control_list=[
                jobs.JobAccessControlRequest(user_name=bob.name, permission_level=jobs.JobPermissionLevel.CAN_VIEW)
            ],
        )
        assert bob.client.jobs.get(job).settings.name == "admins-job"
        assert job in {j.job_id for j in bob.client.jobs.list()}
        assert run.run_id in {r.run_id for r in bob.client.jobs.list_runs(job_id=job)}
        assert bob.client.jobs.get_run_output(task_run).notebook_output.result == "the admin output"
        with pytest.raises(PermissionDenied, match="Manage Run"):
            bob.client.jobs.run_now(job)
        owners = {
            e.user_name: [p.permission_level.value for p in e.all_permissions]
            for e in sdk.jobs.get_permissions(str(job)).access_control_list
            if e.user_name
        }
        assert owners == {sdk.current_user.me().user_name: ["IS_OWNER"], bob.name: ["CAN_VIEW"]}  # PUT kept the owner
        # a one-time run shared through its own access_control_list
        shared = sdk.jobs.submit(
            run_name="shared",
            tasks=[jobs.SubmitTask(task_key="t", existing_cluster_id=cluster, notebook_task=task.notebook_task)],
            access_control_list=[
                jobs.JobAccessControlRequest(user_name=bob.name, permission_level=jobs.JobPermissionLevel.CAN_VIEW)
            ],
        ).run_id
        private = sdk.jobs.submit(
            run_name="private",
            tasks=[jobs.SubmitTask(task_key="t", existing_cluster_id=cluster, notebook_task=task.notebook_task)],
        ).run_id
        visible = {r.run_id for r in bob.client.jobs.list_runs()}
        assert shared in visible and private not in visible
        assert bob.client.jobs.get_run(shared).run_name == "shared"
        with pytest.raises(PermissionDenied):
            bob.client.jobs.get_run(private)
        _wait(sdk, shared)
        _wait(sdk, private)
    finally:
        sdk.jobs.delete(job)
        sdk.clusters.permanent_delete(cluster)
        sdk.workspace.delete(folder, recursive=True)


def test_a_users_own_job_is_theirs_and_runs_as_them(sdk: WorkspaceClient, bob: User) -> None:
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Shared/nowhere"))
    job = bob.client.jobs.create(name="bobs-job", tasks=[task]).job_id
    try:
        got = bob.client.jobs.get(job)
        assert got.creator_user_name == bob.name and got.run_as_user_name == bob.name
        entries = {
            e.user_name: e.all_permissions[0].permission_level
            for e in sdk.jobs.get_permissions(str(job)).access_control_list
            if e.user_name
        }
        assert entries == {bob.name: jobs.JobPermissionLevel.IS_OWNER}
        assert job in {j.job_id for j in sdk.jobs.list()}  # and admins see it
        admin = sdk.current_user.me().user_name
        with pytest.raises(PermissionDenied, match=f"cannot set run_as to {admin}"):
            bob.client.jobs.create(name="as-admin", tasks=[task], run_as=jobs.JobRunAs(user_name=admin))
        cluster = sdk.clusters.create(cluster_name="not-bobs", **CLUSTER).cluster_id
        try:  # a task on a cluster the user may not attach to
            on_it = jobs.SubmitTask(task_key="t", existing_cluster_id=cluster, notebook_task=task.notebook_task)
            with pytest.raises(PermissionDenied, match=f"Attach To permissions on cluster {cluster}"):
                bob.client.jobs.submit(run_name="on-admins-cluster", tasks=[on_it])
        finally:
            sdk.clusters.permanent_delete(cluster)
    finally:
        sdk.jobs.delete(job)


def test_warehouses_need_a_level_and_statements_need_can_use(sdk: WorkspaceClient, bob: User) -> None:
    warehouse = sdk.warehouses.create(name=f"w-{uuid.uuid4().hex[:6]}", cluster_size="2X-Small", max_num_clusters=1).id
    try:
        _denied(
            lambda: bob.client.warehouses.delete(warehouse),
            f"User {bob.name} does not have Manage permissions on warehouse {warehouse}",
        )
        with pytest.raises(PermissionDenied, match="View permissions on warehouse"):
            bob.client.warehouses.get(warehouse)
        with pytest.raises(PermissionDenied, match="Use permissions on warehouse"):
            bob.client.statement_execution.execute_statement(statement="SELECT 1", warehouse_id=warehouse)
        assert warehouse not in {w.id for w in bob.client.warehouses.list()}
        thrift = requests.post(  # the SQL connector's path: refused before any Thrift is read
            f"{bob.client.config.host}/sql/1.0/warehouses/{warehouse}",
            data=b"\x80\x01",
            headers={"Authorization": f"Bearer {bob.client.config.token}"},
            timeout=10,
        )
        assert thrift.status_code == 403 and thrift.json()["error_code"] == "PERMISSION_DENIED"
        statement = sdk.statement_execution.execute_statement(
            statement="SELECT 1", warehouse_id=warehouse, wait_timeout="0s"
        ).statement_id
        with pytest.raises(PermissionDenied, match="permission to access statement"):  # another user's
            bob.client.statement_execution.get_statement(statement)
        with pytest.raises(PermissionDenied, match="permission to access statement"):
            bob.client.statement_execution.cancel_execution(statement)
        sdk.warehouses.set_permissions(
            warehouse,
            access_control_list=[
                WarehouseAccessControlRequest(user_name=bob.name, permission_level=WarehousePermissionLevel.CAN_USE)
            ],
        )
        assert bob.client.warehouses.get(warehouse).id == warehouse
        assert warehouse in {w.id for w in bob.client.warehouses.list()}
        with pytest.raises(PermissionDenied, match="only CAN_MONITOR on its warehouse"):  # CAN_USE: own ones only
            bob.client.statement_execution.get_statement(statement)
        with pytest.raises(PermissionDenied, match="Manage permissions"):
            bob.client.warehouses.stop(warehouse)
        got = sdk.permissions.get("sql/warehouses", warehouse)  # the older path names the same object
        assert got.object_id == f"/sql/warehouses/{warehouse}" and got.object_type == "warehouse"
        levels = sdk.warehouses.get_permission_levels(warehouse).permission_levels
        assert [level.permission_level.value for level in levels] == [
            "CAN_VIEW",
            "CAN_USE",
            "CAN_MONITOR",
            "CAN_MANAGE",
            "IS_OWNER",
        ]
    finally:
        sdk.warehouses.delete(warehouse)


def test_notebooks_in_a_home_folder_are_its_users(sdk: WorkspaceClient, bob: User) -> None:
    admin = sdk.current_user.me().user_name
    path = f"/Users/{admin}/private-{uuid.uuid4().hex[:6]}"
    sdk.workspace.upload(
        path, b"# Databricks notebook source\nprint(1)\n", format=ImportFormat.SOURCE, language=Language.PYTHON
    )
    try:
        with pytest.raises(PermissionDenied, match=f"Read permissions on notebook {path}"):
            bob.client.workspace.export(path)
        with pytest.raises(PermissionDenied, match="Manage permissions"):
            bob.client.workspace.delete(path)
        bob.client.workspace.upload(
            f"/Users/{bob.name}/mine", b"print(2)", format=ImportFormat.SOURCE, language=Language.PYTHON
        )
        assert [o.path for o in bob.client.workspace.list(f"/Users/{bob.name}")] == [f"/Users/{bob.name}/mine"]
        object_id = str(sdk.workspace.get_status(path).object_id)
        sdk.workspace.update_permissions(
            "notebooks",
            object_id,
            access_control_list=[
                WorkspaceObjectAccessControlRequest(
                    user_name=bob.name, permission_level=WorkspaceObjectPermissionLevel.CAN_READ
                )
            ],
        )
        assert b"print(1)" in bob.client.workspace.download(path).read()
        with pytest.raises(PermissionDenied, match="Manage permissions"):
            bob.client.workspace.delete(path)
    finally:
        sdk.workspace.delete(path)


def test_the_generic_permissions_api(sdk: WorkspaceClient, bob: User) -> None:
    cluster = sdk.clusters.create(cluster_name="generic", **CLUSTER).cluster_id
    try:
        granted = sdk.permissions.update(
            "clusters",
            cluster,
            access_control_list=[
                AccessControlRequest(user_name=bob.name, permission_level=PermissionLevel.CAN_ATTACH_TO)
            ],
        )
        assert bob.name in {e.user_name for e in granted.access_control_list}
        replaced = sdk.permissions.set("clusters", cluster, access_control_list=[])
        assert bob.name not in {e.user_name for e in replaced.access_control_list}
        levels = sdk.permissions.get_permission_levels("clusters", cluster).permission_levels
        assert levels[0].permission_level == PermissionLevel.CAN_ATTACH_TO and levels[0].description
        with pytest.raises(BadRequest, match="Invalid object type 'gadgets'"):
            sdk.permissions.get("gadgets", "1")
        with pytest.raises(NotFound, match="no pipelines"):
            sdk.permissions.get("pipelines", "1")
        with pytest.raises(BadRequest, match="CAN_USE is not a permission level of clusters"):
            sdk.permissions.set(
                "clusters",
                cluster,
                access_control_list=[
                    AccessControlRequest(user_name=bob.name, permission_level=PermissionLevel.CAN_USE)
                ],
            )
        with pytest.raises(PermissionDenied, match="Manage permissions on cluster"):
            bob.client.permissions.set("clusters", cluster, access_control_list=[])
    finally:
        sdk.clusters.permanent_delete(cluster)


def test_access_control_list_on_create_and_inside_reset_settings(sdk: WorkspaceClient, bob: User) -> None:
    """jobs/create takes it beside the settings; the provider's workflow task group sends it inside
    ``new_settings`` of jobs/reset: both apply, and neither becomes a job setting."""
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Shared/nowhere"))
    view = jobs.JobAccessControlRequest(user_name=bob.name, permission_level=jobs.JobPermissionLevel.CAN_VIEW)
    job = sdk.jobs.create(name="shared-at-birth", tasks=[task], access_control_list=[view]).job_id
    other = sdk.jobs.create(name="shared-on-reset", tasks=[task]).job_id
    try:
        assert bob.client.jobs.get(job).settings.name == "shared-at-birth"
        with pytest.raises(PermissionDenied):
            bob.client.jobs.get(other)
        settings = {
            "name": "shared-on-reset",
            "tasks": [task.as_dict()],
            "access_control_list": [
                {"user_name": bob.name, "permission_level": "CAN_MANAGE_RUN"},
            ],
        }
        sdk.api_client.do("POST", "/api/2.1/jobs/reset", body={"job_id": other, "new_settings": settings})
        got = bob.client.jobs.get(other)
        assert got.settings.name == "shared-on-reset" and "access_control_list" not in got.settings.as_dict()
        with pytest.raises(BadRequest, match=r"UserName\(nobody@example.com\) does not exist"):
            sdk.jobs.create(
                name="bad",
                tasks=[task],
                access_control_list=[
                    jobs.JobAccessControlRequest(
                        user_name="nobody@example.com", permission_level=jobs.JobPermissionLevel.CAN_VIEW
                    )
                ],
            )
        assert "bad" not in {j.settings.name for j in sdk.jobs.list(name="bad")}  # nothing was made
    finally:
        sdk.jobs.delete(job)
        sdk.jobs.delete(other)
