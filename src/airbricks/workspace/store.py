"""Durable state for the local workspace: a small document store on SQLite.

Every model keeps its resources in memory for fast reads and writes each change through here before the
HTTP answer leaves, so whatever a client saw acknowledged survives a kill -9 (WAL journal; a process crash
cannot lose a committed transaction, only a power loss could with ``synchronous=NORMAL``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Store:
    """Documents by (kind, id), plus monotonically increasing counters for ids."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,"
            " PRIMARY KEY (kind, id))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def put(self, kind: str, ident: str | int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc, separators=(",", ":"))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO docs (kind, id, doc) VALUES (?, ?, ?)", (kind, str(ident), data))

    def delete(self, kind: str, ident: str | int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, str(ident)))

    def get(self, kind: str, ident: str | int) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM docs WHERE kind = ? AND id = ?", (kind, str(ident))).fetchone()
        return json.loads(row[0]) if row else None

    def load(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """All documents of a kind, in insertion order of their ids (as text)."""
        with self._lock:
            rows = self._db.execute("SELECT id, doc FROM docs WHERE kind = ? ORDER BY rowid", (kind,)).fetchall()
        for ident, doc in rows:
            yield ident, json.loads(doc)

    def next_id(self, name: str, start: int = 1) -> int:
        """The next value of a named counter; never reused, even across restarts."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
                value = (row[0] + 1) if row else start
                self._db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value

    def raise_counter(self, name: str, at_least: int) -> None:
        """Move a named counter up to ``at_least`` (never down), so :meth:`next_id` answers above a value that
        was given rather than minted (a workspace fixture's job id)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
                (name, at_least),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
