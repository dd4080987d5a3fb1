"""SCIM PatchOp on plain documents: the forms real clients send, and each refusal naming what to fix."""

from __future__ import annotations

from typing import Any

import pytest

from airbricks.workspace import errors
from airbricks.workspace.identity.scim import apply_patch


def _keep(attribute: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"value": str(item["value"])}


GROUP = {"id": "9", "displayName": "eng", "members": [{"value": "1"}, {"value": "2"}]}


def _ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(operations)}


def test_members_add_without_duplicates_remove_by_filter_or_by_value_and_replace() -> None:
    added = apply_patch(GROUP, _ops({"op": "Add", "path": "members", "value": [{"value": "2"}, {"value": 3}]}), _keep)
    assert [m["value"] for m in added["members"]] == ["1", "2", "3"]
    removed = apply_patch(
        added,
        _ops(
            {"op": "remove", "path": 'members[value eq "1"]'},
            {"op": "remove", "path": "members", "value": [{"value": "3"}]},
        ),
        _keep,
    )
    assert [m["value"] for m in removed["members"]] == ["2"]
    replaced = apply_patch(GROUP, _ops({"op": "replace", "value": {"members": [{"value": "7"}], "x": 1}}), _keep)
    assert replaced["members"] == [{"value": "7"}] and replaced["x"] == 1
    assert [m["value"] for m in GROUP["members"]] == ["1", "2"]  # the input is never changed
    assert "displayName" not in apply_patch(GROUP, _ops({"op": "remove", "path": "displayName"}), _keep)


@pytest.mark.parametrize(
    ("operations", "message"),
    [
        ([], "Missing required field: Operations"),
        ([{"op": "move", "path": "members"}], "Invalid patch op 'move': use add, replace or remove"),
        ([{"op": "remove"}], "A remove operation needs a 'path'"),
        ([{"op": "add", "path": "members"}], "An add of 'members' needs a 'value'"),
        ([{"op": "replace", "value": "x"}], "A replace without a 'path' needs an object 'value'"),
        ([{"op": "replace", "path": "id", "value": "1"}], "Attribute 'id' cannot be changed"),
        ([{"op": "add", "path": "members", "value": ["1"]}], "expected objects with a 'value'"),
        ([{"op": "add", "path": "members[type eq x]", "value": []}], "Unsupported patch path"),
        ([{"op": "replace", "path": 'members[value eq "1"]', "value": {}}], "name the attribute alone"),
    ],
)
def test_bad_operations_are_refused_with_a_scim_400(operations: list[Any], message: str) -> None:
    with pytest.raises(errors.InvalidParameterValue, match=message) as caught:
        apply_patch(GROUP, {"Operations": operations} if operations else {}, _keep)
    body = caught.value.body()
    assert body["status"] == "400" and body["detail"] == body["message"]  # the SCIM shape
