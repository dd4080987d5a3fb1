"""The permissions model on the manual clock: levels and their order, the creator and admins, PUT/PATCH rules,
inheritance from folders and home folders, and the errors a bad access control list gets."""

from __future__ import annotations

from typing import Any

import pytest
from tests.workspace.model_kit import SPEC

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, PermissionDenied, ResourceDoesNotExist
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.permissions.levels import TYPES


def _user(ws: Workspace, name: str) -> Principal:
    ws.identity.create(ws.identity.me, "Users", {"userName": name})
    found = ws.identity.named(name)
    assert found is not None
    return found


def _levels(answer: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    return next(e["all_permissions"] for e in answer["access_control_list"] if e.get(key) == name)


def test_levels_are_ordered_and_each_includes_the_ones_below(ws: Workspace) -> None:
    bob = _user(ws, "bob@example.com")
    cluster = ws.clusters.create(SPEC)
    ws.permissions.created("clusters", cluster, ws.identity.me)
    ws.permissions.update(
        ws.identity.me, "clusters", cluster, [{"user_name": bob.name, "permission_level": "CAN_RESTART"}]
    )
    assert ws.permissions.level(bob, "clusters", cluster) == "CAN_RESTART"
    assert ws.permissions.can(bob, "clusters", cluster, "CAN_ATTACH_TO")
    assert not ws.permissions.can(bob, "clusters", cluster, "CAN_MANAGE")
    with pytest.raises(
        PermissionDenied, match=f"User bob@example.com does not have Manage permissions on cluster {cluster}"
    ):
        ws.permissions.check(bob, "clusters", cluster, "CAN_MANAGE")
    assert [n for n in TYPES["jobs"].names] == ["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"]
    assert TYPES["sql/warehouses"] is TYPES["warehouses"]


def test_the_creator_owns_admins_always_manage_and_others_hold_nothing(ws: Workspace) -> None:
    bob, carol = _user(ws, "bob@example.com"), _user(ws, "carol@example.com")
    job = ws.jobs.create({"name": "j", "tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/x"}}]})
    ws.permissions.created("jobs", str(job), bob)
    assert ws.permissions.level(bob, "jobs", str(job)) == "IS_OWNER"
    assert ws.permissions.level(ws.identity.me, "jobs", str(job)) == "CAN_MANAGE"
    assert ws.permissions.level(carol, "jobs", str(job)) is None
    with pytest.raises(PermissionDenied, match="does not have Manage Run or Owner or Admin permissions on job"):
        ws.permissions.check(carol, "jobs", str(job), "CAN_MANAGE_RUN")
    answer = ws.permissions.get(bob, "jobs", str(job))
    assert answer["object_id"] == f"/jobs/{job}" and answer["object_type"] == "job"
    assert _levels(answer, "user_name", bob.name) == [{"permission_level": "IS_OWNER", "inherited": False}]
    assert _levels(answer, "group_name", "admins") == [
        {"permission_level": "CAN_MANAGE", "inherited": True, "inherited_from_object": ["/jobs/"]}
    ]
    assert ws.permissions.visible(carol, "jobs", [str(job)]) == set()
    # a missing object answers the service's own error, not a denial
    with pytest.raises(InvalidParameterValue, match="Job 999999 does not exist"):
        ws.permissions.check(carol, "jobs", "999999", "CAN_VIEW")


def test_put_replaces_but_keeps_the_owner_and_patch_merges(ws: Workspace) -> None:
    bob, carol = _user(ws, "bob@example.com"), _user(ws, "carol@example.com")
    ws.identity.create(ws.identity.me, "Groups", {"displayName": "analysts"})
    warehouse = ws.warehouses.create({"name": "w", "cluster_size": "2X-Small"})
    ws.permissions.created("warehouses", warehouse, bob)
    admin = ws.identity.me
    ws.permissions.set(admin, "warehouses", warehouse, [{"group_name": "analysts", "permission_level": "CAN_USE"}])
    assert ws.permissions.level(bob, "warehouses", warehouse) == "IS_OWNER"  # PUT without an owner keeps it
    ws.permissions.update(
        admin, "sql/warehouses", warehouse, [{"user_name": carol.name, "permission_level": "CAN_MONITOR"}]
    )
    answer = ws.permissions.get(admin, "warehouses", warehouse)
    assert answer["object_id"] == f"/sql/warehouses/{warehouse}" and answer["object_type"] == "warehouse"
    assert {e.get("user_name") or e.get("group_name") for e in answer["access_control_list"]} == {
        bob.name,
        carol.name,
        "analysts",
        "admins",
    }
    # a new owner demotes the old one to CAN_MANAGE
    ws.permissions.update(admin, "warehouses", warehouse, [{"user_name": carol.name, "permission_level": "IS_OWNER"}])
    assert ws.permissions.level(bob, "warehouses", warehouse) == "CAN_MANAGE"
    assert ws.permissions.level(carol, "warehouses", warehouse) == "IS_OWNER"
    # CAN_MONITOR holders may look but not change permissions
    ws.permissions.set(admin, "warehouses", warehouse, [{"user_name": bob.name, "permission_level": "CAN_MONITOR"}])
    assert ws.permissions.get(bob, "warehouses", warehouse)["object_type"] == "warehouse"
    with pytest.raises(PermissionDenied, match="Manage permissions on warehouse"):
        ws.permissions.set(bob, "warehouses", warehouse, [])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"user_name": "nobody@example.com", "permission_level": "CAN_VIEW"},
            r"UserName\(nobody@example.com\) does not exist",
        ),
        ({"group_name": "ghosts", "permission_level": "CAN_VIEW"}, r"GroupName\(ghosts\) does not exist"),
        ({"user_name": "bob@example.com", "permission_level": "CAN_USE"}, "CAN_USE is not a permission level of jobs"),
        ({"permission_level": "CAN_VIEW"}, "exactly one of user_name, group_name"),
        ({"group_name": "users", "permission_level": "IS_OWNER"}, "a group cannot be the owner"),
        ("CAN_VIEW", r"access_control_list\[0\]'.*expected an object"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(ws: Workspace, entry: Any, message: str) -> None:
    _user(ws, "bob@example.com")
    job = str(ws.jobs.create({"name": "j", "tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/x"}}]}))
    with pytest.raises(InvalidParameterValue, match=message):
        ws.permissions.set(ws.identity.me, "jobs", job, [entry])


def test_unknown_and_absent_types_and_missing_ids(ws: Workspace) -> None:
    me = ws.identity.me
    with pytest.raises(InvalidParameterValue, match="Invalid object type 'gadgets'"):
        ws.permissions.get(me, "gadgets", "1")
    with pytest.raises(ResourceDoesNotExist, match="no pipelines"):
        ws.permissions.get(me, "pipelines", "1")
    with pytest.raises(ResourceDoesNotExist, match="Notebook 12 does not exist"):
        ws.permissions.get(me, "notebooks", "12")
    with pytest.raises(ResourceDoesNotExist):  # a Git folder is named by its Repos API id
        ws.permissions.get(me, "repos", "12")
    levels = ws.permissions.levels(me, "clusters", ws.clusters.create(SPEC))["permission_levels"]
    assert [level["permission_level"] for level in levels] == ["CAN_ATTACH_TO", "CAN_RESTART", "CAN_MANAGE"]


def test_notebooks_inherit_from_folders_and_home_folders(ws: Workspace) -> None:
    bob, carol = _user(ws, "bob@example.com"), _user(ws, "carol@example.com")
    ws.objects.mkdirs("/Shared/team/reports")
    ws.objects.import_("/Shared/team/reports/nb", b"print(1)", "SOURCE", "PYTHON", False)
    ws.objects.import_(f"/Users/{bob.name}/mine", b"print(1)", "SOURCE", "PYTHON", False)
    folder = ws.objects.get_status("/Shared/team")["object_id"]
    notebook = ws.objects.get_status("/Shared/team/reports/nb")["object_id"]
    mine = ws.objects.get_status(f"/Users/{bob.name}/mine")["object_id"]
    # every user manages /Shared and their own home folder, and nobody else's
    ws.permissions.check_path(carol, "/Shared/team/reports/nb", "CAN_MANAGE")
    ws.permissions.check_path(bob, f"/Users/{bob.name}/mine", "CAN_MANAGE")
    ws.permissions.check_path(bob, f"/Users/{bob.name}/new-one", "CAN_EDIT")  # a new object: its folder decides
    with pytest.raises(PermissionDenied, match=f"Read permissions on notebook /Users/{bob.name}/mine"):
        ws.permissions.check_path(carol, f"/Users/{bob.name}/mine", "CAN_READ")
    ws.permissions.update(bob, "notebooks", str(mine), [{"user_name": carol.name, "permission_level": "CAN_RUN"}])
    ws.permissions.check_path(carol, f"/Users/{bob.name}/mine", "CAN_RUN")
    with pytest.raises(PermissionDenied):
        ws.permissions.check_path(carol, f"/Users/{bob.name}/mine", "CAN_EDIT")
    # a grant on a folder reaches what is inside, and says where it comes from
    ws.permissions.update(
        ws.identity.me, "directories", str(folder), [{"user_name": bob.name, "permission_level": "CAN_READ"}]
    )
    answer = ws.permissions.get(bob, "notebooks", str(notebook))
    assert answer["object_id"] == f"/notebooks/{notebook}"
    assert {"permission_level": "CAN_READ", "inherited": True, "inherited_from_object": [f"/directories/{folder}"]} in (
        _levels(answer, "user_name", bob.name)
    )
    with pytest.raises(ResourceDoesNotExist, match="does not exist"):
        ws.permissions.get(bob, "directories", str(notebook))  # a notebook's id is not a directory's


def test_acls_survive_a_restart(ws: Workspace, tmp_path: Any, clock: Any, procs: Any) -> None:
    from tests.workspace.model_kit import make_workspace

    bob = _user(ws, "bob@example.com")
    cluster = ws.clusters.create(SPEC)
    ws.permissions.created("clusters", cluster, bob)
    ws.stop()
    again = make_workspace(tmp_path / "ws", clock, procs)
    try:
        assert again.permissions.level(bob, "clusters", cluster) == "CAN_MANAGE"
    finally:
        again.stop()
