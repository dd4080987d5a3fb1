"""Saved SQL queries (``/api/2.0/sql/queries``), as much as a ``sql_task`` with ``query.query_id`` needs.

Create, get, list (by creation time), update with ``update_mask`` and delete (to the trash: the query
stays readable with ``lifecycle_state`` ``TRASHED``), in the shapes of the SDK's ``sql.Query``. Kept in
the store, so jobs that name a query survive restarts.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.shared import Shared

KIND = "sql_query"
FIELDS = (
    "display_name",
    "query_text",
    "warehouse_id",
    "description",
    "parent_path",
    "catalog",
    "schema",
    "parameters",
    "tags",
    "apply_auto_limit",
    "run_as_mode",
)


def _now_text(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class Queries:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.queries: dict[str, dict[str, Any]] = dict(shared.store.load(KIND))

    def _find(self, query_id: Any) -> dict[str, Any]:
        query = self.queries.get(str(query_id))
        if query is None:
            raise ResourceDoesNotExist(f"Query {query_id} does not exist.")
        return query

    def create(self, body: Any, *, query_id: str | None = None) -> dict[str, Any]:
        """``POST /sql/queries``; ``query_id``: the id it must have (a workspace fixture's), else a new UUID."""
        if not isinstance(body, dict):
            raise InvalidParameterValue(
                "Missing required field: query (an object with display_name, query_text, warehouse_id)."
            )
        for name in ("display_name", "query_text"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise InvalidParameterValue(f"Missing required field: query.{name}")
        now = _now_text(self.shared.now_ms())
        query = {k: body[k] for k in FIELDS if body.get(k) is not None}
        query.update(
            {
                "id": query_id or str(uuid.uuid4()),
                "owner_user_name": self.shared.user_name,
                "last_modifier_user_name": self.shared.user_name,
                "lifecycle_state": "ACTIVE",
                "create_time": now,
                "update_time": now,
            }
        )
        with self.shared.lock:
            if query["id"] in self.queries:
                raise ResourceAlreadyExists(f"Query {query['id']} already exists.")
            self.queries[query["id"]] = query
            self.shared.store.put(KIND, query["id"], query)
        return dict(query)

    def get(self, query_id: Any) -> dict[str, Any]:
        with self.shared.lock:
            return dict(self._find(query_id))

    def list(self, *, offset: int, limit: int) -> Page[dict[str, Any]]:
        with self.shared.lock:
            active = [q for q in self.queries.values() if q["lifecycle_state"] == "ACTIVE"]
            return paginate(sorted(active, key=lambda q: q["create_time"]), offset, limit)

    def update(self, query_id: Any, body: Any, update_mask: Any) -> dict[str, Any]:
        if not isinstance(update_mask, str) or not update_mask:
            raise InvalidParameterValue(
                "Missing required field: update_mask (the comma-separated fields to "
                'update, e.g. "query_text,display_name", or "*").'
            )
        body = body if isinstance(body, dict) else {}
        fields = FIELDS if update_mask.strip() == "*" else [f.strip() for f in update_mask.split(",")]
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise InvalidParameterValue(f"Invalid update_mask field {unknown[0]}: use some of {', '.join(FIELDS)}.")
        with self.shared.lock:
            query = self._find(query_id)
            for name in fields:
                if body.get(name) is None:
                    query.pop(name, None)
                else:
                    query[name] = body[name]
            query["update_time"] = _now_text(self.shared.now_ms())
            self.shared.store.put(KIND, query["id"], query)
            return dict(query)

    def delete(self, query_id: Any) -> None:
        """Move to the trash (as the real service does)."""
        with self.shared.lock:
            query = self._find(query_id)
            query["lifecycle_state"] = "TRASHED"
            self.shared.store.put(KIND, query["id"], query)
