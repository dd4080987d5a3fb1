"""SQL sessions: what ``databricks-sql-connector`` opens on a warehouse before it runs statements (no HTTP).

Both of its protocols open one: the REST session API (``use_sea``: ``POST /api/2.0/sql/sessions``) and the Thrift
``OpenSession``. A session carries its warehouse, its current catalog and schema (set at open, moved by a ``USE``
statement run in it) and its configuration. Statements of every session of a warehouse run on that warehouse's
one Spark Connect session, each under its own session's catalog and schema: ``USE`` and the namespace are per
session as on Databricks, while temporary views and ``SET`` are shared by the sessions of one warehouse here.
Sessions live in memory, as statements do, and expire after :data:`IDLE_MS` without a statement.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, NotFound
from airbricks.workspace.shared import Shared
from airbricks.workspace.sql.warehouses import Warehouses

#: A session unused this long is closed (the real service's idle timeout is of this order).
IDLE_MS = 2 * 60 * 60 * 1000


@dataclass
class SqlSession:
    id: str
    warehouse_id: str
    catalog: str | None
    schema: str | None
    configuration: dict[str, str]
    last_used_ms: int
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def namespace(self) -> tuple[str | None, str | None]:
        with self.lock:
            return self.catalog, self.schema

    def moved_to(self, catalog: str, schema: str) -> None:
        """A ``USE`` run in this session moved it (the worker reads the new namespace off Spark)."""
        with self.lock:
            self.catalog, self.schema = catalog, schema


class SqlSessions:
    """All open SQL sessions of the workspace."""

    def __init__(self, shared: Shared, *, warehouses: Warehouses) -> None:
        self.shared = shared
        self.warehouses = warehouses
        self._sessions: dict[str, SqlSession] = {}

    def open(
        self,
        warehouse_id: str,
        *,
        catalog: str | None = None,
        schema: str | None = None,
        configuration: dict[str, Any] | None = None,
    ) -> SqlSession:
        """A new session on a warehouse that exists (a stopped one starts, as the first statement would)."""
        if not warehouse_id:
            raise InvalidParameterValue("Missing required field: warehouse_id")
        state, _ = self.warehouses.state(warehouse_id)
        if state == "DELETED":
            raise NotFound(f"SQL warehouse {warehouse_id} is deleted: sessions cannot be opened on it")
        if configuration is not None and not isinstance(configuration, dict):
            raise InvalidParameterValue("Invalid value for field 'session_confs': expected an object of strings")
        session = SqlSession(
            id=str(uuid.uuid4()),
            warehouse_id=warehouse_id,
            catalog=catalog or None,
            schema=schema or None,
            configuration={str(k): str(v) for k, v in (configuration or {}).items()},
            last_used_ms=self.shared.now_ms(),
        )
        with self.shared.lock:
            self._sessions[session.id] = session
        self.warehouses.ensure_started(warehouse_id)
        return session

    def find(self, session_id: str, warehouse_id: str | None = None) -> SqlSession:
        """An open session (of ``warehouse_id``, when given); using it keeps it open."""
        with self.shared.lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.last_used_ms = self.shared.now_ms()
        if session is None:
            raise NotFound(
                f"Session {session_id[:80]} does not exist or was closed: open a new one (the connector "
                "does on its next connect)"
            )
        if warehouse_id and warehouse_id != session.warehouse_id:
            raise InvalidParameterValue(
                f"Session {session_id[:80]} belongs to SQL warehouse {session.warehouse_id}, not {warehouse_id[:40]}"
            )
        return session

    def close(self, session_id: str) -> None:
        """Closing an unknown or closed session is an error, as on the real service."""
        self.find(session_id)
        with self.shared.lock:
            self._sessions.pop(session_id, None)

    def tick(self, now: int) -> None:
        with self.shared.lock:
            for session_id in [s.id for s in self._sessions.values() if now - s.last_used_ms >= IDLE_MS]:
                del self._sessions[session_id]
