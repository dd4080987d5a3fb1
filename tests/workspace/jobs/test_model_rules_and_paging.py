"""Pure rules: ``run_if`` against upstream results, the paginator, DBFS handle expiry on the manual clock."""

from __future__ import annotations

import pytest

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import ResourceDoesNotExist
from airbricks.workspace.jobs.rules import blocked_by_upstream
from airbricks.workspace.pagination import paginate


@pytest.mark.parametrize(
    ("run_if", "results", "skip"),
    [
        ("ALL_SUCCESS", ["SUCCESS", "EXCLUDED"], None),
        ("ALL_SUCCESS", ["SUCCESS", "FAILED"], "UPSTREAM_FAILED"),
        ("ALL_SUCCESS", ["CANCELED"], "UPSTREAM_CANCELED"),
        ("ALL_DONE", ["FAILED", "CANCELED"], None),
        ("NONE_FAILED", ["SUCCESS", "CANCELED"], None),
        ("NONE_FAILED", ["TIMEDOUT"], "UPSTREAM_FAILED"),
        ("AT_LEAST_ONE_SUCCESS", ["FAILED", "SUCCESS"], None),
        ("AT_LEAST_ONE_SUCCESS", ["FAILED"], "EXCLUDED"),
        ("ALL_FAILED", ["FAILED", "UPSTREAM_FAILED"], None),
        ("ALL_FAILED", ["FAILED", "SUCCESS"], "EXCLUDED"),
        ("AT_LEAST_ONE_FAILED", ["SUCCESS", "FAILED"], None),
        ("AT_LEAST_ONE_FAILED", ["SUCCESS"], "EXCLUDED"),
        ("ALL_SUCCESS", [], None),
    ],
)
def test_run_if(run_if: str, results: list[str], skip: str | None) -> None:
    outcome = blocked_by_upstream(run_if, results)
    assert (outcome.result_state if outcome else None) == skip
    if outcome is not None:
        assert (outcome.life_cycle_state, outcome.code) == ("TERMINATED", "SKIPPED")


def test_paginate_windows_and_neighbours() -> None:
    page = paginate(list(range(7)), 3, 3)
    assert (page.items, page.has_more, page.next_offset, page.prev_offset) == ([3, 4, 5], True, 6, 0)
    last = paginate(list(range(7)), 6, 3)
    assert (last.items, last.has_more, last.next_offset) == ([6], False, None)
    assert paginate([1, 2], 0, None).items == [1, 2] and paginate([], 0, 5).prev_offset is None


def test_dbfs_streaming_handles_expire_after_ten_idle_minutes(ws: Workspace) -> None:
    handle = ws.dbfs.create("/unit/streamed.bin", overwrite=False)
    ws.dbfs.add_block(handle, b"abc")
    ws.step(599_000)
    ws.dbfs.add_block(handle, b"def")  # touched: the idle time starts again
    ws.step(600_001)
    with pytest.raises(ResourceDoesNotExist, match=f"The handle {handle} does not exist"):
        ws.dbfs.close(handle)
    with pytest.raises(ResourceDoesNotExist):
        ws.dbfs.get_status("/unit/streamed.bin")
