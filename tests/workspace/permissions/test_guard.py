"""The permission rules' plumbing without a server: a rule must name a row that exists, and applies to every
version of its path."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Request

from airbricks.workspace.permissions.guard import field, need, permitted
from airbricks.workspace.server.http import Endpoint


async def _handler(_: Request) -> Any:
    return {}


def test_a_rule_for_a_row_that_does_not_exist_is_refused() -> None:
    rows = [Endpoint("GET", "/api/{version}/things/get", _handler, ("2.0", "2.1"))]
    with pytest.raises(ValueError, match="GET /api/{version}/things/gte"):
        permitted(rows, {"GET /api/{version}/things/gte": need("CAN_VIEW", field("jobs", "job_id"))})


def test_a_rule_wraps_every_row_of_its_path_and_nothing_else() -> None:
    rows = [
        Endpoint("GET", "/api/{version}/things/get", _handler, ("2.0",)),
        Endpoint("GET", "/api/{version}/things/get", _handler, ("2.1",)),
        Endpoint("POST", "/api/{version}/things/get", _handler, ("2.1",)),
    ]
    wrapped = permitted(rows, {"GET /api/{version}/things/get": need("CAN_VIEW", field("jobs", "job_id"))})
    assert [row.handler is _handler for row in wrapped] == [False, False, True]
    assert [row.versions for row in wrapped] == [("2.0",), ("2.1",), ("2.1",)]
