"""Where a file sensor or trigger looks, and when it counts a file as found: :class:`FileTarget`.

Shared by :class:`~airbricks.sensors.files.DatabricksFileSensor` (sync, in a worker) and
:class:`~airbricks.triggers.DatabricksFileTrigger` (async, in the triggerer), so both decide "found",
"still missing" and "failed" identically.  Imported while DAG files are parsed: it must not import the hook.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airbricks.errors import DatabricksRequestError

if TYPE_CHECKING:
    from airbricks.hooks import AirbricksDatabricksHook

_GLOB_CHARS = frozenset("*?[")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_ACCEPTED = "dbfs:/..., /... on DBFS, or /Volumes/<catalog>/<schema>/<volume>/..."


def iso_time(epoch_ms: float | None) -> str | None:
    """A file's ``modification_time`` (ms since the epoch) as an ISO time in UTC, for logs and events."""
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, timezone.utc).isoformat()


def to_epoch_ms(value: datetime | str | None) -> int | None:
    """``newer_than`` as ms since epoch: a datetime (naive = UTC) or an ISO-8601 string; empty/"None" = no bound."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"newer_than must be a datetime or an ISO-8601 string, got {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1000)


@dataclass(frozen=True)
class FileTarget:
    """Where to look and how: DBFS (``dbfs/get-status``, ``dbfs/list``) or Volumes (Files API)."""

    path: str  # absolute path without the dbfs: scheme
    volume: bool  # True: Files API; False: DBFS API
    pattern: str | None  # fnmatch pattern for the last segment, or None for an exact path

    @classmethod
    def parse(cls, path: str) -> FileTarget:
        raw = path.strip().removeprefix("dbfs:")
        scheme = _SCHEME.match(raw)
        if scheme:
            raise ValueError(
                f"path {path!r} is a {scheme.group(1)}: URI; this watches {_ACCEPTED}. For files in cloud "
                "storage, watch a Unity Catalog volume over that location."
            )
        if not raw.startswith("/"):
            raise ValueError(f"path must be absolute ({_ACCEPTED}), got {path!r}")
        raw = posixpath.normpath(raw)
        first = raw.split("/")[1] if raw.count("/") else ""
        if first.lower() in ("volume", "volumes") and first != "Volumes":
            raise ValueError(
                f"path {path!r} starts with /{first}/: a volume path is /Volumes/<catalog>/<schema>/"
                "<volume>/... (capital V, plural); as it is, it would be read as a DBFS path."
            )
        parent, last = posixpath.split(raw)
        if any(c in _GLOB_CHARS for c in parent):
            raise ValueError(f"a glob is allowed only in the last path segment, got {path!r}")
        volume = raw == "/Volumes" or raw.startswith("/Volumes/")
        if any(c in _GLOB_CHARS for c in last):
            return cls(parent, volume, last)
        return cls(raw, volume, None)

    @property
    def display(self) -> str:
        return posixpath.join(self.path, self.pattern) if self.pattern else self.path

    # ------------------------------------------------------------------ decide
    def _pick(self, candidates: list[dict[str, Any]], newer_than_ms: int | None) -> dict[str, Any] | None:
        """The newest candidate that is fresh enough, as ``{path, size, modification_time, is_dir}``."""
        fresh = [c for c in candidates if newer_than_ms is None or (c["modification_time"] or 0) > newer_than_ms]
        if not fresh:
            return None
        return max(fresh, key=lambda c: c["modification_time"] or 0)

    def _from_listing(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for e in entries:
            is_dir = bool(e.get("is_dir", e.get("is_directory", False)))
            path = e.get("path", "")
            name = e.get("name") or posixpath.basename(path.rstrip("/"))
            if is_dir or not fnmatch.fnmatchcase(name, self.pattern or ""):
                continue
            mtime = e.get("modification_time", e.get("last_modified"))
            out.append(
                {
                    "path": path,
                    "size": int(e.get("file_size", 0) or 0),
                    "modification_time": int(mtime) if mtime is not None else None,
                    "is_dir": False,
                }
            )
        return out

    @staticmethod
    def _from_status(status: dict[str, Any]) -> dict[str, Any]:
        mtime = status.get("modification_time")
        return {
            "path": status.get("path"),
            "size": int(status.get("file_size", 0) or 0),
            "modification_time": int(mtime) if mtime is not None else None,
            "is_dir": bool(status.get("is_dir", False)),
        }

    # ------------------------------------------------------------------ look (sync / async)
    # Asked with ``missing_ok``: "not there yet" is the common answer of a wait, so it is a ``None``, not a
    # raised-and-caught error per poll.  An error that still says "not found" (``is_not_found``) counts the same.
    def candidates(self, hook: AirbricksDatabricksHook) -> list[dict[str, Any]]:
        """Every file matching the target now, as ``{path, size, modification_time, is_dir}`` (none: ``[]``)."""
        try:
            if self.pattern is None:
                status = (
                    hook.files_head(self.path, missing_ok=True)
                    if self.volume
                    else hook.dbfs_get_status(self.path, missing_ok=True)
                )
                return [] if status is None else [self._from_status(status)]
            entries = (
                hook.files_list_directory(self.path, missing_ok=True)
                if self.volume
                else hook.dbfs_list(self.path, missing_ok=True)
            )
            return self._from_listing(entries or [])
        except DatabricksRequestError as exc:
            if exc.is_not_found:
                return []
            raise

    async def a_candidates(self, hook: AirbricksDatabricksHook) -> list[dict[str, Any]]:
        """Async :meth:`candidates`."""
        try:
            if self.pattern is None:
                status = (
                    await hook.a_files_head(self.path, missing_ok=True)
                    if self.volume
                    else await hook.a_dbfs_get_status(self.path, missing_ok=True)
                )
                return [] if status is None else [self._from_status(status)]
            entries = (
                await hook.a_files_list_directory(self.path, missing_ok=True)
                if self.volume
                else await hook.a_dbfs_list(self.path, missing_ok=True)
            )
            return self._from_listing(entries or [])
        except DatabricksRequestError as exc:
            if exc.is_not_found:
                return []
            raise

    def find(self, hook: AirbricksDatabricksHook, newer_than_ms: int | None) -> dict[str, Any] | None:
        """The newest matching file modified after ``newer_than_ms``, or ``None`` (absent or stale); other API
        errors raise."""
        return self._pick(self.candidates(hook), newer_than_ms)

    async def a_find(self, hook: AirbricksDatabricksHook, newer_than_ms: int | None) -> dict[str, Any] | None:
        """Async :meth:`find`."""
        return self._pick(await self.a_candidates(hook), newer_than_ms)


@dataclass(frozen=True)
class ArrivalMark:
    """What a file-arrival watcher has fired for: the newest modification time fired and the paths modified then.

    A file is new when it is modified after the mark, or at the mark's time under another path (two files
    landing in the same millisecond, seen by different polls); so each new or updated file fires once, and a
    file modified before ``newer_than`` (the first mark) never does.  Bounded: it does not grow with the
    number of files in a landing directory.
    """

    modification_time: int | None = None  # ms since epoch; None: nothing fired yet and no newer_than
    paths: frozenset[str] = frozenset()

    def new_files(self, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The candidates not fired yet, oldest first (the order they landed in)."""

        def is_new(c: dict[str, Any]) -> bool:
            mtime = c["modification_time"] or 0
            if self.modification_time is None or mtime > self.modification_time:
                return True
            # at the mark's time: new unless fired already; a newer_than mark (no paths) is strict, as the sensor
            return mtime == self.modification_time and bool(self.paths) and c["path"] not in self.paths

        return sorted(
            (c for c in candidates if not c.get("is_dir") and is_new(c)),
            key=lambda c: (c["modification_time"] or 0, c["path"]),
        )

    def after(self, fired: dict[str, Any]) -> ArrivalMark:
        """The mark once ``fired`` (one of :meth:`new_files`, taken in order) has fired."""
        mtime = fired["modification_time"] or 0
        if self.modification_time is not None and mtime == self.modification_time:
            return ArrivalMark(mtime, self.paths | {fired["path"]})
        return ArrivalMark(mtime, frozenset({fired["path"]}))

    def to_json(self) -> dict[str, Any]:
        return {"modification_time": self.modification_time, "paths": sorted(self.paths)}

    @classmethod
    def from_json(cls, data: Any) -> ArrivalMark | None:
        """A mark stored by :meth:`to_json`; ``None`` for anything else (nothing stored, another shape)."""
        if not isinstance(data, dict) or not isinstance(data.get("modification_time"), int):
            return None
        return cls(data["modification_time"], frozenset(str(p) for p in data.get("paths") or []))

    def later_of(self, other: ArrivalMark | None) -> ArrivalMark:
        """The further-advanced of two marks (a stored one and the one ``newer_than`` gives)."""
        if other is None or other.modification_time is None:
            return self
        if self.modification_time is None or other.modification_time > self.modification_time:
            return other
        if other.modification_time == self.modification_time:
            return ArrivalMark(self.modification_time, self.paths | other.paths)
        return self
