"""Identity over real HTTP with databricks-sdk: SCIM Me and Users/Groups/ServicePrincipals, the host metadata the
SDK reads, tokens minted for a second principal, and the creator and home folder agreeing with the token's user."""

from __future__ import annotations

import uuid

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, NotFound, PermissionDenied, ResourceConflict
from databricks.sdk.service.iam import ComplexValue, Patch, PatchOp, PatchSchema
from databricks.sdk.service.jobs import JobRunAs, NotebookTask, Task


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_me_is_the_tokens_user_and_an_admin(sdk: WorkspaceClient, local_ws) -> None:
    me = sdk.current_user.me()
    assert me.user_name == local_ws.workspace.config.user == "airbricks@localhost"
    assert me.active and me.id and me.emails[0].value == me.user_name
    assert "admins" in {g.display for g in me.groups}
    # the home folder exists from the start
    assert sdk.workspace.get_status(f"/Users/{me.user_name}").object_type.value == "DIRECTORY"


def test_host_metadata_carries_workspace_account_and_cloud(local_ws, sdk: WorkspaceClient) -> None:
    meta = requests.get(f"{local_ws.url}/.well-known/databricks-config", timeout=10).json()
    assert meta["workspace_id"] == local_ws.workspace.workspace_id
    assert str(uuid.UUID(meta["account_id"])) == meta["account_id"]
    assert meta["cloud"] == "AWS"
    fresh = WorkspaceClient(host=local_ws.url, token=local_ws.token, auth_type="pat")
    assert fresh.config.account_id == meta["account_id"] and fresh.config.cloud.value == "AWS"


def test_jobs_and_clusters_are_created_by_the_tokens_user(sdk: WorkspaceClient) -> None:
    me = sdk.current_user.me().user_name
    tasks = [Task(task_key="t", notebook_task=NotebookTask(notebook_path="/Shared/nowhere"))]
    job = sdk.jobs.create(name=_name("who"), tasks=tasks)
    bot = sdk.service_principals.create(display_name=_name("runner"))
    as_bot = sdk.jobs.create(
        name=_name("as-bot"), tasks=tasks, run_as=JobRunAs(service_principal_name=bot.application_id)
    )
    cluster = sdk.clusters.create(
        cluster_name=_name("mine"), spark_version="16.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
    ).cluster_id
    try:
        got = sdk.jobs.get(job.job_id)
        assert got.creator_user_name == me and got.run_as_user_name == me
        assert sdk.jobs.get(as_bot.job_id).run_as_user_name == bot.application_id
        info = sdk.clusters.get(cluster)
        assert info.creator_user_name == me and info.default_tags["Creator"] == me
    finally:
        sdk.clusters.permanent_delete(cluster)
        sdk.jobs.delete(job.job_id)
        sdk.jobs.delete(as_bot.job_id)
        sdk.service_principals.delete(bot.id)


def test_scim_users_groups_and_service_principals_crud(sdk: WorkspaceClient) -> None:
    user_name = f"{_name('alice')}@example.com"
    user = sdk.users.create(user_name=user_name, display_name="Alice")
    group = sdk.groups.create(display_name=_name("analysts"), members=[ComplexValue(value=user.id)])
    sp = sdk.service_principals.create(display_name=_name("etl-bot"))
    try:
        assert sdk.users.get(user.id).user_name == user_name
        assert [u.user_name for u in sdk.users.list(filter=f'userName eq "{user_name}"')] == [user_name]
        assert group.display_name in {g.display for g in sdk.users.get(user.id).groups}
        assert [m.value for m in sdk.groups.get(group.id).members] == [user.id]
        assert str(uuid.UUID(sp.application_id)) == sp.application_id
        assert sp.id in {s.id for s in sdk.service_principals.list()}
        assert sdk.workspace.get_status(f"/Users/{user_name}").object_type.value == "DIRECTORY"
        with pytest.raises(ResourceConflict, match="already exists"):
            sdk.users.create(user_name=user_name)
    finally:
        sdk.groups.delete(group.id)
        sdk.service_principals.delete(sp.id)
        sdk.users.delete(user.id)
    with pytest.raises(NotFound):
        sdk.users.get(user.id)
    assert user_name not in {u.user_name for u in sdk.users.list()}


def test_scim_patch_adds_and_removes_members_and_put_replaces(sdk: WorkspaceClient) -> None:
    """What the SDK's ``patch``/``update`` and Terraform's group membership send.  SCIM errors reach the SDK as
    ``SCIM_<status>`` (BadRequest for a 400), as from the real service."""
    schema = [PatchSchema.URN_IETF_PARAMS_SCIM_API_MESSAGES_2_0_PATCH_OP]
    user = sdk.users.create(user_name=f"{_name('carol')}@example.com")
    sp = sdk.service_principals.create(display_name=_name("loader"))
    group = sdk.groups.create(display_name=_name("engineers"))
    other = sdk.groups.create(display_name=_name("viewers"))
    try:
        sdk.groups.patch(
            group.id,
            schemas=schema,
            operations=[
                Patch(op=PatchOp.ADD, value={"members": [{"value": user.id}]}),
                Patch(op=PatchOp.ADD, path="members", value=[{"value": sp.id}, {"value": user.id}]),
            ],
        )
        assert sorted(m.value for m in sdk.groups.get(group.id).members) == sorted([user.id, sp.id])
        assert group.display_name in {g.display for g in sdk.users.get(user.id).groups}
        sdk.groups.patch(
            group.id, schemas=schema, operations=[Patch(op=PatchOp.REMOVE, path=f'members[value eq "{user.id}"]')]
        )
        assert [m.value for m in sdk.groups.get(group.id).members] == [sp.id]
        # The SDK drops a falsy Patch.value: path="active", value=False arrives without its value, and is refused
        with pytest.raises(BadRequest, match="A replace of 'active' needs a 'value'"):
            sdk.users.patch(user.id, schemas=schema, operations=[Patch(op=PatchOp.REPLACE, path="active", value=False)])
        sdk.users.patch(user.id, schemas=schema, operations=[Patch(op=PatchOp.REPLACE, value={"active": False})])
        assert sdk.users.get(user.id).active is False
        with pytest.raises(BadRequest, match="Member with id 42 does not exist"):  # nothing applied
            sdk.groups.patch(
                group.id,
                schemas=schema,
                operations=[
                    Patch(op=PatchOp.REMOVE, path="members"),
                    Patch(op=PatchOp.ADD, value={"members": [{"value": "42"}]}),
                ],
            )
        assert [m.value for m in sdk.groups.get(group.id).members] == [sp.id]
        with pytest.raises(BadRequest, match="'userName' cannot be changed"):
            sdk.users.patch(
                user.id,
                schemas=schema,
                operations=[Patch(op=PatchOp.REPLACE, path="userName", value="eve@example.com")],
            )

        sdk.users.update(
            user.id,
            user_name=user.user_name,
            display_name="Carol C.",
            active=True,
            groups=[ComplexValue(value=other.id)],
        )
        replaced = sdk.users.get(user.id)
        assert (replaced.display_name, replaced.active) == ("Carol C.", True)
        assert {g.value for g in replaced.groups} == {other.id}
        sdk.groups.update(group.id, display_name=group.display_name + "-2", members=[ComplexValue(value=user.id)])
        renamed = sdk.groups.get(group.id)
        assert renamed.display_name == group.display_name + "-2" and [m.value for m in renamed.members] == [user.id]
        with pytest.raises(ResourceConflict, match="already exists"):
            sdk.groups.update(group.id, display_name=other.display_name)
        me = sdk.current_user.me()
        admins = next(g for g in sdk.groups.list(filter='displayName eq "admins"'))
        with pytest.raises(BadRequest, match="must stay in the admins group"):
            sdk.groups.patch(
                admins.id, schemas=schema, operations=[Patch(op=PatchOp.REMOVE, path=f'members[value eq "{me.id}"]')]
            )
        with pytest.raises(BadRequest, match="must stay in the admins group"):
            sdk.users.update(me.id, user_name=me.user_name, groups=[])
        assert "admins" in {g.display for g in sdk.current_user.me().groups}
    finally:
        for delete, ident in (
            (sdk.groups.delete, group.id),
            (sdk.groups.delete, other.id),
            (sdk.service_principals.delete, sp.id),
            (sdk.users.delete, user.id),
        ):
            delete(ident)


def test_a_second_principal_gets_its_own_token_and_is_not_an_admin(sdk: WorkspaceClient, local_ws) -> None:
    sp = sdk.service_principals.create(display_name=_name("bot"))
    user = sdk.users.create(user_name=f"{_name('bob')}@example.com")
    try:
        obo = sdk.token_management.create_obo_token(application_id=sp.application_id, lifetime_seconds=600)
        as_sp = WorkspaceClient(host=local_ws.url, token=obo.token_value, auth_type="pat")
        assert as_sp.current_user.me().user_name == sp.application_id
        with pytest.raises(PermissionDenied, match="admins"):
            as_sp.users.create(user_name="mallory@example.com")
        minted = sdk.api_client.do("POST", "/api/2.0/airbricks/tokens", body={"user_name": user.user_name})
        as_user = WorkspaceClient(host=local_ws.url, token=minted["token_value"], auth_type="pat")
        assert as_user.current_user.me().user_name == user.user_name
        assert obo.token_info.token_id in {t.token_id for t in sdk.token_management.list()}
        sdk.token_management.delete(obo.token_info.token_id)
        answer = requests.get(
            f"{local_ws.url}/api/2.0/preview/scim/v2/Me",
            timeout=10,
            headers={"Authorization": f"Bearer {obo.token_value}"},
        )
        assert answer.status_code == 401
    finally:
        sdk.service_principals.delete(sp.id)
        sdk.users.delete(user.id)
    # a deleted user's token dies with it
    answer = requests.get(
        f"{local_ws.url}/api/2.0/preview/scim/v2/Me",
        timeout=10,
        headers={"Authorization": f"Bearer {minted['token_value']}"},
    )
    assert answer.status_code == 401
    # the minted tokens are kept as digests only
    assert obo.token_value.encode() not in (local_ws.workspace.data_dir / "state.db").read_bytes()


def test_the_testing_kits_reset_removes_new_scopes_and_principals(local_workspace, sdk: WorkspaceClient) -> None:
    before = local_workspace.snapshot()
    scope, user_name = _name("kit"), f"{_name('kit')}@example.com"
    sdk.secrets.create_scope(scope)
    user = sdk.users.create(user_name=user_name)
    sp = sdk.service_principals.create(display_name=_name("kit-bot"))
    local_workspace.reset(before)
    assert scope not in {s.name for s in sdk.secrets.list_scopes()}
    assert not {user.id, sp.id} & {p.id for p in [*sdk.users.list(), *sdk.service_principals.list()]}
    assert sdk.current_user.me().user_name == "airbricks@localhost"  # what existed before stays
