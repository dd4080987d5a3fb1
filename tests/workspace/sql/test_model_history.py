"""Query history over the workspace's statements (no Spark): filters, order, paging, and the QueryInfo fields
databricks-sdk reads, on the manual clock with a scripted warehouse."""

from __future__ import annotations

import pytest
from databricks.sdk.service.sql import ListQueriesResponse
from tests.workspace.sql.test_model_warehouses import ScriptedEngine, _started

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.params import Params
from airbricks.workspace.sql.history import HistoryFilter, QueryHistory, flatten, statement_type
from airbricks.workspace.sql.statements import Statements
from airbricks.workspace.sql.warehouses import Warehouses


@pytest.fixture
def statements(ws: Workspace) -> tuple[Statements, str]:
    engine = ScriptedEngine()
    warehouses = Warehouses(ws.shared, engine=engine)
    statements = Statements(ws.shared, warehouses=warehouses, owner=lambda: ("1001", "owner@example.com"))
    return statements, _started(ws, warehouses, engine)


def test_history_filters_orders_pages_and_reads_as_the_sdk_model(ws: Workspace, statements) -> None:  # type: ignore[no-untyped-def]
    model, warehouse = statements
    first = model.submit(Params({"statement": "SELECT 1", "warehouse_id": warehouse}))
    model.mark_running(first)
    ws.clock.advance(2000)
    model.finish(first, "FAILED", error={"error_code": "BAD_REQUEST", "message": "[X] no"})
    second = model.submit(
        Params({"statement": "-- c\nCREATE TABLE t (a INT)", "warehouse_id": warehouse}),
        user=("2002", "someone@example.com"),
    )
    third = model.submit(Params({"statement": "WITH x AS (SELECT 1) SELECT * FROM x", "warehouse_id": warehouse}))
    history = QueryHistory(model)

    page = history.list(HistoryFilter(), offset=0, limit=2, include_metrics=True)
    assert [q["query_id"] for q in page.items] == [third.id, second.id] and page.has_more  # newest first
    rest = history.list(HistoryFilter(), offset=2, limit=2)
    assert [q["query_id"] for q in rest.items] == [first.id] and not rest.has_more

    failed = ListQueriesResponse.from_dict(
        {
            "res": history.list(
                HistoryFilter(statuses=frozenset({"FAILED"})), offset=0, limit=10, include_metrics=True
            ).items
        }
    ).res
    assert [q.query_id for q in failed] == [first.id]
    (info,) = failed
    assert (info.status.value, info.user_id, info.user_name, info.warehouse_id) == (
        "FAILED",
        1001,
        "owner@example.com",
        warehouse,
    )
    assert info.error_message == "[X] no" and info.duration == 2000 and info.is_final
    assert info.statement_type.value == "SELECT" and info.metrics.total_time_ms == 2000

    by_user = history.list(HistoryFilter(user_ids=frozenset({2002})), offset=0, limit=10).items
    assert [(q["query_id"], q["statement_type"], q["status"]) for q in by_user] == [(second.id, "CREATE", "QUEUED")]
    later = HistoryFilter(start_time_ms=first.created_ms + 1)
    assert {q["query_id"] for q in history.list(later, offset=0, limit=10).items} == {second.id, third.id}
    elsewhere = HistoryFilter(warehouse_ids=frozenset({"nope"}))
    assert history.list(elsewhere, offset=0, limit=10).items == []


def test_filter_parsing_from_the_query_string_and_json() -> None:
    parsed = HistoryFilter.parse(
        {
            "filter_by.statuses": ["finished", "FAILED"],
            "filter_by.user_ids": ["1", "2"],
            "filter_by.query_start_time_range.start_time_ms": ["10"],
            "filter_by.warehouse_ids": ["w"],
        }
    )
    assert parsed == HistoryFilter(10, None, frozenset({"FINISHED", "FAILED"}), frozenset({1, 2}), frozenset({"w"}))
    assert flatten({"statuses": ["RUNNING"], "query_start_time_range": {"end_time_ms": 5}}, "filter_by.") == {
        "filter_by.statuses": ["RUNNING"],
        "filter_by.query_start_time_range.end_time_ms": ["5"],
    }
    with pytest.raises(InvalidParameterValue, match="filter_by.statuses: 'DONE' is not a query status"):
        HistoryFilter.parse({"filter_by.statuses": ["DONE"]})
    with pytest.raises(InvalidParameterValue, match="filter_by.user_ids"):
        HistoryFilter.parse({"filter_by.user_ids": ["me"]})
    assert statement_type("desc t") == "DESCRIBE" and statement_type("CACHE TABLE t") == "OTHER"
