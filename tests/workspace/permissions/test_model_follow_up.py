"""The follow-up rules on the manual clock: a cluster records the creator it is given, and who sees an owned
object (a statement) reached through another (its warehouse)."""

from __future__ import annotations

from tests.workspace.model_kit import SPEC

from airbricks.workspace.core import Workspace
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.permissions.guard import Owned, Target, sees


def _user(ws: Workspace, name: str) -> Principal:
    ws.identity.create(ws.identity.me, "Users", {"userName": name})
    found = ws.identity.named(name)
    assert found is not None
    return found


def test_a_cluster_records_its_creator_and_defaults_to_the_workspace_user(ws: Workspace) -> None:
    assert ws.clusters.get(ws.clusters.create(SPEC, creator="bob@example.com"))["creator_user_name"] == (
        "bob@example.com"
    )
    assert ws.clusters.get(ws.clusters.create(SPEC))["creator_user_name"] == ws.shared.user_name


def test_an_owned_object_is_seen_by_its_owner_admins_and_monitors_only(ws: Workspace) -> None:
    bob, carol = _user(ws, "bob@example.com"), _user(ws, "carol@example.com")
    w1 = ws.warehouses.create({"name": "w1", "cluster_size": "2X-Small"}, creator=ws.identity.me.name)
    ws.permissions.created("warehouses", w1, ws.identity.me)
    assert ws.warehouses.get(w1)["creator_name"] == ws.identity.me.name
    statement = Owned("statement", "s1", bob.name, Target("warehouses", w1))
    assert sees(ws, bob, statement, "CAN_MONITOR")
    assert sees(ws, ws.identity.me, statement, "CAN_MONITOR")
    assert not sees(ws, carol, statement, "CAN_MONITOR")
    ws.permissions.update(ws.identity.me, "warehouses", w1, [{"user_name": carol.name, "permission_level": "CAN_USE"}])
    assert not sees(ws, carol, statement, "CAN_MONITOR")
    ws.permissions.update(
        ws.identity.me, "warehouses", w1, [{"user_name": carol.name, "permission_level": "CAN_MONITOR"}]
    )
    assert sees(ws, carol, statement, "CAN_MONITOR")
