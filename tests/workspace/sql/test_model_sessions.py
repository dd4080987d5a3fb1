"""SQL sessions (the connector's), the statements that run in them, and DESCRIBE DETAIL's detection, on a manual
clock with scripted warehouse drivers (the real protocols are tested in tests/spark/test_sql_connector.py)."""

from __future__ import annotations

import pytest
from tests.workspace.sql.test_model_warehouses import ScriptedEngine, _started

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, NotFound
from airbricks.workspace.params import Params
from airbricks.workspace.sql.describe import detail_target
from airbricks.workspace.sql.sessions import IDLE_MS, SqlSessions
from airbricks.workspace.sql.statements import Statements
from airbricks.workspace.sql.warehouses import Warehouses


class _Queue:
    """Stands in for the statement executor: keeps what was queued."""

    def __init__(self) -> None:
        self.queued: list = []

    def enqueue(self, statement) -> None:
        self.queued.append(statement)


@pytest.fixture
def models(ws: Workspace) -> tuple[Warehouses, SqlSessions, Statements, ScriptedEngine]:
    engine = ScriptedEngine()
    warehouses = Warehouses(ws.shared, engine=engine)
    statements = Statements(ws.shared, warehouses=warehouses)
    statements.executor = _Queue()
    sessions = statements.sessions = SqlSessions(ws.shared, warehouses=warehouses)
    return warehouses, sessions, statements, engine


def test_statements_of_a_session_use_its_namespace_until_a_use_moves_it(ws: Workspace, models) -> None:
    warehouses, sessions, statements, engine = models
    ident = _started(ws, warehouses, engine)
    session = sessions.open(ident, catalog="hive_metastore", schema="sales", configuration={"ANSI_MODE": True})
    assert session.configuration == {"ANSI_MODE": "True"}
    first = statements.submit(Params({"statement": "SELECT 1", "warehouse_id": ident, "session_id": session.id}))
    assert (first.catalog, first.schema, first.session) == ("hive_metastore", "sales", session)
    session.moved_to("spark_catalog", "finance")  # what the worker does after a USE
    second = statements.submit(
        Params({"statement": "SELECT 2", "warehouse_id": ident, "session_id": session.id, "schema": "explicit"})
    )
    assert (second.catalog, second.schema) == ("spark_catalog", "explicit")  # the statement's own field wins
    assert statements.executor.queued == [first, second]


def test_unknown_closed_foreign_and_idle_sessions_are_refused(ws: Workspace, models) -> None:
    warehouses, sessions, statements, engine = models
    ident = _started(ws, warehouses, engine)
    other = _started(ws, warehouses, engine)
    session = sessions.open(ident)
    with pytest.raises(InvalidParameterValue, match=f"belongs to SQL warehouse {ident}"):
        statements.submit(Params({"statement": "SELECT 1", "warehouse_id": other, "session_id": session.id}))
    sessions.close(session.id)
    with pytest.raises(NotFound, match="does not exist or was closed"):
        sessions.close(session.id)
    idle = sessions.open(ident)
    ws.clock.advance(IDLE_MS - 1)
    sessions.tick(ws.clock.now_ms())
    assert sessions.find(idle.id) is idle  # used now: the idle time starts again
    ws.clock.advance(IDLE_MS)
    sessions.tick(ws.clock.now_ms())
    with pytest.raises(NotFound):
        sessions.find(idle.id)
    warehouses.delete(other)
    with pytest.raises(NotFound, match="is deleted"):
        sessions.open(other)


def test_describe_detail_is_answered_locally_only_without_delta() -> None:
    assert detail_target("DESCRIBE DETAIL spark_catalog.default.`sales`", []) == "spark_catalog.default.sales"
    assert detail_target("  desc detail t;", []) == "t"
    assert detail_target("DESCRIBE TABLE EXTENDED t", []) is None
    assert detail_target("DESCRIBE DETAIL t", ["io.delta:delta-spark_2.13:4.0.0"]) is None
