"""The Statement Execution model without Spark: validation naming the field, ``wait_timeout``, the states a
statement moves through, cancel and close, warehouses that are stopped, missing or deleted, the INLINE size limit,
the answers it renders, and results expiring an hour later, on a manual clock.

Only what a statement needs is built: a :class:`Shared`, warehouses on scripted drivers, and a recording runner in
place of the Spark executor (the real one is exercised by tests/spark/test_sql.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.workspace.model_kit import START_MS, make_shared
from tests.workspace.sql.kit import Drivers

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.errors import InvalidParameterValue, NotFound, ResourceDoesNotExist
from airbricks.workspace.params import Params
from airbricks.workspace.sql.results import INLINE_LIMIT_BYTES, Chunk, ResultSet
from airbricks.workspace.sql.statements import RESULT_LIFETIME_MS, WAIT_TIMEOUT_MESSAGE, Statement, Statements
from airbricks.workspace.sql.warehouses import Warehouses


class Models:
    """Shared state, warehouses on scripted drivers, and statements whose runner records what it is handed."""

    def __init__(self, data_dir: Path) -> None:
        self.clock = ManualClock()
        self.shared = make_shared(data_dir, self.clock)
        self.engine = Drivers()
        self.warehouses = Warehouses(self.shared, engine=self.engine)
        self.queued: list[Statement] = []
        self.interrupted: list[Statement] = []
        self.statements = Statements(
            self.shared, warehouses=self.warehouses, enqueue=self.queued.append, interrupt=self.interrupted.append
        )

    def running_warehouse(self, name: str = "wh") -> str:
        ident = self.warehouses.create({"name": name})
        self.engine.ready(ident)
        self.clock.advance(START_MS)
        self.warehouses.tick(self.clock.now_ms())
        assert self.warehouses.get(ident)["state"] == "RUNNING"
        return ident

    def submit(self, **fields: Any) -> Statement:
        return self.statements.submit(Params({"statement": "SELECT 1", **fields}))


@pytest.fixture
def models(tmp_path: Path) -> Iterator[Models]:
    built = Models(tmp_path / "ws")
    yield built
    built.shared.store.close()


def _result(byte_count: int = 4, rows: int = 1) -> ResultSet:
    """A finished result of ``rows`` one-cell rows in one chunk (the shape the executor builds from Arrow)."""
    return ResultSet(
        format="JSON_ARRAY",
        columns=[{"name": "n", "type_text": "INT", "type_name": "INT", "position": 0}],
        rows=[[str(i)] for i in range(rows)],
        arrow=SimpleNamespace(num_rows=rows),
        truncated=False,
        chunks=[Chunk(0, 0, rows, byte_count)],
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"statement": None}, "statement"),
        ({}, "warehouse_id"),
        ({"format": "PARQUET"}, "format"),
        ({"disposition": "SOMEWHERE"}, "disposition"),
        ({"on_wait_timeout": "ABORT"}, "on_wait_timeout"),
        ({"row_limit": -1}, "row_limit"),
        ({"row_limit": "many"}, "row_limit"),
        ({"byte_limit": -5}, "byte_limit"),
        ({"parameters": [{"value": "1"}]}, "parameters\\[0\\]"),
        ({"parameters": "x"}, "parameters"),
    ],
)
def test_a_bad_field_is_refused_naming_it_and_nothing_is_queued(
    models: Models, fields: dict[str, Any], named: str
) -> None:
    ident = models.running_warehouse()
    spec = {"warehouse_id": ident, **fields} if fields else {}
    with pytest.raises(InvalidParameterValue, match=named):
        models.submit(**spec)
    assert models.queued == []


def test_csv_needs_external_links_and_the_hybrid_disposition_means_links(models: Models) -> None:
    ident = models.running_warehouse()
    with pytest.raises(InvalidParameterValue, match="disposition to EXTERNAL_LINKS"):
        models.submit(warehouse_id=ident, format="csv")
    csv = models.submit(warehouse_id=ident, format="csv", disposition="external_links")
    hybrid = models.submit(warehouse_id=ident, format="ARROW_STREAM", disposition="INLINE_OR_EXTERNAL_LINKS")
    assert (csv.format, csv.disposition) == ("CSV", "EXTERNAL_LINKS")
    assert (hybrid.format, hybrid.disposition) == ("ARROW_STREAM", "EXTERNAL_LINKS")


@pytest.mark.parametrize("wait", ["4s", "51s", "10", "1m"])
def test_a_bad_wait_timeout_is_refused_with_the_real_message(models: Models, wait: str) -> None:
    ident = models.running_warehouse()
    with pytest.raises(InvalidParameterValue) as refused:
        models.submit(warehouse_id=ident, wait_timeout=wait)
    assert refused.value.message == WAIT_TIMEOUT_MESSAGE and models.queued == []


def test_a_submitted_statement_is_pending_queued_and_keeps_its_settings(models: Models) -> None:
    ident = models.running_warehouse()
    statement = models.submit(
        warehouse_id=ident,
        catalog="main",
        schema="sales",
        row_limit="10",
        byte_limit=100,
        wait_timeout=" 0s ",
        parameters=[{"name": "n", "value": 5, "type": "int"}, {"name": "s", "value": None}],
    )
    assert statement.state == "PENDING" and not statement.done.is_set()
    assert models.queued == [statement] and models.statements.find(statement.id) is statement
    assert (statement.catalog, statement.schema, statement.row_limit, statement.byte_limit) == (
        "main",
        "sales",
        10,
        100,
    )
    assert (statement.format, statement.disposition) == ("JSON_ARRAY", "INLINE")
    assert statement.parameters == [
        {"name": "n", "value": "5", "type": "INT"},
        {"name": "s", "value": None, "type": "STRING"},
    ]
    assert statement.created_ms == models.clock.now_ms()


def test_a_parameter_name_must_be_an_identifier(models: Models) -> None:
    ident = models.running_warehouse()
    with pytest.raises(InvalidParameterValue, match="Invalid parameter name '1st'"):
        models.submit(warehouse_id=ident, parameters=[{"name": "1st", "value": "x"}])


def test_a_statement_starts_a_stopped_warehouse_but_a_refused_one_does_not(models: Models) -> None:
    ident = models.running_warehouse()
    models.warehouses.stop(ident)
    models.warehouses.tick(models.clock.now_ms())
    assert models.warehouses.get(ident)["state"] == "STOPPED"
    with pytest.raises(InvalidParameterValue, match="row_limit"):
        models.submit(warehouse_id=ident, row_limit=-1)
    assert models.warehouses.get(ident)["state"] == "STOPPED"
    statement = models.submit(warehouse_id=ident)
    assert models.warehouses.get(ident)["state"] == "STARTING"
    assert statement.state == "PENDING" and models.queued == [statement]


def test_a_missing_or_deleted_warehouse_is_refused(models: Models) -> None:
    with pytest.raises(ResourceDoesNotExist, match="0123456789abcdef does not exist"):
        models.submit(warehouse_id="0123456789abcdef")
    ident = models.running_warehouse()
    models.warehouses.delete(ident)
    with pytest.raises(NotFound, match="is deleted: statements cannot run on it"):
        models.submit(warehouse_id=ident)
    assert models.queued == []


def test_cancel_of_a_pending_statement_ends_it_now(models: Models) -> None:
    statement = models.submit(warehouse_id=models.running_warehouse())
    models.clock.advance(7)
    models.statements.cancel(statement.id)
    assert statement.state == "CANCELED" and statement.done.is_set()
    assert statement.finished_ms == models.clock.now_ms() and models.interrupted == []
    assert not models.statements.mark_running(statement)  # the worker skips it


def test_cancel_of_a_running_statement_interrupts_it_and_its_end_is_canceled(models: Models) -> None:
    statement = models.submit(warehouse_id=models.running_warehouse())
    assert models.statements.mark_running(statement) and statement.state == "RUNNING"
    models.statements.cancel(statement.id)
    assert statement.state == "RUNNING" and statement.cancel_requested
    assert models.interrupted == [statement]
    models.statements.finish(statement, "CANCELED")
    assert statement.state == "CANCELED" and statement.done.is_set()


def test_an_ended_statement_stays_as_it_ended(models: Models) -> None:
    statement = models.submit(warehouse_id=models.running_warehouse())
    models.statements.mark_running(statement)
    models.statements.finish(statement, "SUCCEEDED", result=_result())
    models.statements.cancel(statement.id)
    models.statements.finish(statement, "FAILED", error={"error_code": "INTERNAL_ERROR", "message": "late"})
    assert statement.state == "SUCCEEDED" and statement.error is None and models.interrupted == []


def test_an_inline_result_over_the_limit_fails_while_links_carry_it(models: Models) -> None:
    ident = models.running_warehouse()
    inline = models.submit(warehouse_id=ident)
    links = models.submit(warehouse_id=ident, disposition="EXTERNAL_LINKS")
    for statement in (inline, links):
        models.statements.mark_running(statement)
        models.statements.finish(statement, "SUCCEEDED", result=_result(byte_count=INLINE_LIMIT_BYTES + 1))
    assert inline.state == "FAILED" and inline.result is None
    assert inline.error is not None and inline.error["error_code"] == "BAD_REQUEST"
    assert "disposition=EXTERNAL_LINKS" in inline.error["message"]
    assert links.state == "SUCCEEDED" and links.result is not None


def test_describe_renders_status_manifest_and_the_first_chunk(models: Models) -> None:
    ident = models.running_warehouse()
    done = models.submit(warehouse_id=ident)
    models.statements.mark_running(done)
    models.statements.finish(done, "SUCCEEDED", result=_result(rows=2))
    body = models.statements.describe(done, links_base="http://h")
    assert body["status"] == {"state": "SUCCEEDED"}
    assert body["manifest"]["total_row_count"] == 2 and body["manifest"]["total_chunk_count"] == 1
    assert body["result"]["data_array"] == [["0"], ["1"]]
    failed = models.submit(warehouse_id=ident)
    models.statements.finish(
        failed, "FAILED", error={"error_code": "BAD_REQUEST", "message": "no such table"}, sql_state="42P01"
    )
    assert models.statements.describe(failed, links_base="") == {
        "statement_id": failed.id,
        "status": {
            "state": "FAILED",
            "error": {"error_code": "BAD_REQUEST", "message": "no such table"},
            "sql_state": "42P01",
        },
    }
    with pytest.raises(InvalidParameterValue, match="has no result to read: it is FAILED"):
        models.statements.chunk_data(failed, 0, links_base="")
    with pytest.raises(InvalidParameterValue, match="Invalid chunk index 1: the result has 1 chunk"):
        models.statements.chunk_data(done, 1, links_base="")


def test_an_external_link_carries_the_secret_and_expires_an_hour_after_the_end(models: Models) -> None:
    models.clock.set(1_700_000_000_000)
    statement = models.submit(warehouse_id=models.running_warehouse(), disposition="EXTERNAL_LINKS")
    models.statements.mark_running(statement)
    models.statements.finish(statement, "SUCCEEDED", result=_result())
    [link] = models.statements.chunk_data(statement, 0, links_base="https://h:1")["external_links"]
    assert link["external_link"] == (
        f"https://h:1/airbricks/sql-results/{statement.id}/0?secret={statement.link_secret}"
    )
    assert link["expiration"] == "2023-11-14T23:13:22.000Z"  # it ended at 22:13:22 UTC (after a 2 s warehouse start)


def test_results_expire_an_hour_after_the_end_and_pending_statements_do_not(models: Models) -> None:
    ident = models.running_warehouse()
    ended = models.submit(warehouse_id=ident)
    waiting = models.submit(warehouse_id=ident)
    models.statements.finish(ended, "SUCCEEDED", result=_result())
    models.clock.advance(RESULT_LIFETIME_MS - 1)
    models.statements.tick(models.clock.now_ms())
    assert ended.state == "SUCCEEDED" and ended.result is not None
    models.clock.advance(1)
    models.statements.tick(models.clock.now_ms())
    assert (ended.state, ended.result) == ("CLOSED", None)
    assert waiting.state == "PENDING"


def test_close_cancels_a_pending_statement_frees_it_and_it_stays_readable(models: Models) -> None:
    statement = models.submit(warehouse_id=models.running_warehouse())
    models.statements.close(statement.id)
    assert statement.state == "CLOSED" and statement.done.is_set()
    assert models.statements.find(statement.id) is statement
    with pytest.raises(NotFound, match="does not exist or its result expired"):
        models.statements.close("no-such-statement")
