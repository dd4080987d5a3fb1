"""Unity Catalog Volumes through the Files API (``/api/2.0/fs``): files under ``<data dir>/volumes``.

``/Volumes/<catalog>/<schema>/<volume>/x`` is ``<data dir>/volumes/<catalog>/<schema>/<volume>/x``. The volume
must exist in Unity Catalog (:mod:`airbricks.workspace.catalog.unity_catalog`): else 404 NOT_FOUND. Uploads
arrive already streamed to a staging file and are renamed into place (never half-written, never held in
memory); errors follow the Files API: 404 NOT_FOUND, 409 ALREADY_EXISTS, 400 INVALID_PARAMETER_VALUE for
paths outside a volume.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from airbricks.workspace.errors import (
    AlreadyExists,
    Conflict,
    InvalidParameterValue,
    NotFound,
)
from airbricks.workspace.pagination import paginate
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.tree import FileTree

MAX_PAGE_SIZE = 1000
#: Single-shot uploads through the Files API are limited to 5 GiB on the real service.
MAX_UPLOAD_BYTES = 5 * 1024**3


class VolumeFile(NamedTuple):
    """A file on a volume: its normalized path, the file under the data dir, and its stat."""

    path: str
    local: Path
    stat: os.stat_result


def directory_not_found(norm: str) -> NotFound:
    return NotFound(f"The directory being accessed is not found: {norm}.")


class Volumes:
    """The Volumes model: validated paths in, stat results and staged files committed; raises ``errors.*``.

    :param require_volume: raises 404 NOT_FOUND unless the volume of a ``/Volumes/c/s/v[/...]`` path exists
        (Unity Catalog's :meth:`~airbricks.workspace.catalog.unity_catalog.UnityCatalog.require_volume`).
    """

    def __init__(self, shared: Shared, *, require_volume: Callable[[str], None]) -> None:
        self.shared = shared
        self.tree = FileTree(paths.volumes_dir(shared.data_dir), missing=directory_not_found, prefix="/Volumes")
        self.root: Path = self.tree.root
        self.require_volume = require_volume

    # -- paths -------------------------------------------------------------------------------------------------

    @staticmethod
    def normalize(path: object, *, is_file: bool, field: str | None = None) -> str:
        """``/Volumes/<catalog>/<schema>/<volume>[/...]`` (a file needs at least one name below the volume)."""
        norm = paths.normalize(path, field=field or ("file_path" if is_file else "directory_path"))
        parts = norm.split("/")[1:]
        if len(parts) < (5 if is_file else 4) or parts[0] != "Volumes":
            shape = "/Volumes/<catalog>/<schema>/<volume>/<path>" if is_file else "/Volumes/<catalog>/<schema>/<volume>"
            raise InvalidParameterValue(
                f"Invalid path {norm}: the Files API accepts Unity Catalog volume paths only, of the form {shape}."
            )
        return norm

    def _existing(self, path: object, *, is_file: bool) -> str:
        """The normalized path, in a volume that exists (404 NOT_FOUND naming the volume otherwise)."""
        norm = self.normalize(path, is_file=is_file)
        self.require_volume(norm)
        return norm

    def _local(self, norm: str) -> Path:
        return self.tree.local(norm)

    def local_path(self, path: str, *, field: str | None = None) -> Path:
        """The file under the data dir for ``/Volumes/c/s/v/x`` (validated: nothing escapes the volumes root)."""
        return self._local(self.normalize(path, is_file=False, field=field))

    @staticmethod
    def _is_volume_root(norm: str) -> bool:
        return norm.count("/") == 4

    # -- files -------------------------------------------------------------------------------------------------

    def file(self, path: object) -> VolumeFile:
        """The file to download or describe, with its stat (404 NOT_FOUND for a directory or nothing)."""
        norm = self._existing(path, is_file=True)
        local = self._local(norm)
        try:
            st = local.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"The file being accessed is not found: {norm}.") from None
        if local.is_dir():
            raise NotFound(f"The file being accessed is not found: {norm} is a directory.")
        return VolumeFile(norm, local, st)

    def check_upload(self, path: object, overwrite: bool) -> str:
        """Refuse early (before the body is streamed) what :meth:`commit_upload` would refuse."""
        with self.shared.lock:
            norm = self._existing(path, is_file=True)
            self._check_target(norm, self._local(norm), overwrite)
            return norm

    def _check_target(self, norm: str, local: Path, overwrite: bool) -> None:
        if local.is_dir():
            raise AlreadyExists(f"A directory already exists at {norm}; a file cannot replace it.")
        if local.exists() and not overwrite:
            raise AlreadyExists(f"The file being created already exists: {norm}. Pass overwrite=true to replace it.")
        blocking = self.tree.file_on_the_way(norm)
        if blocking is not None:
            raise AlreadyExists(f"A file already exists at {blocking}; it cannot be used as a directory.")

    def commit_upload(self, path: object, staged: Path, overwrite: bool) -> None:
        """Move a fully streamed upload into place in one rename (parents are created, as on the service)."""
        with self.shared.lock:
            try:
                norm = self._existing(path, is_file=True)
                local = self._local(norm)
                self._check_target(norm, local, overwrite)
                paths.commit_file(staged, local)
            finally:
                staged.unlink(missing_ok=True)

    def delete_file(self, path: object) -> None:
        with self.shared.lock:
            self.file(path).local.unlink()

    # -- directories -------------------------------------------------------------------------------------------

    def create_directory(self, path: object) -> None:
        """``mkdir -p``: an existing directory is fine, a file anywhere on the way is a conflict."""
        with self.shared.lock:
            norm = self._existing(path, is_file=False)

            def blocked(blocking: str) -> AlreadyExists:
                return AlreadyExists(f"A file already exists at {blocking}; cannot create directory {norm}.")

            self.tree.mkdirs(norm, blocked=blocked)

    def _directory(self, path: object) -> tuple[str, Path]:
        norm = self._existing(path, is_file=False)
        local = self._local(norm)
        if self._is_volume_root(norm):
            return norm, local
        if not local.is_dir():
            raise directory_not_found(norm)
        return norm, local

    def directory_exists(self, path: object) -> None:
        with self.shared.lock:
            self._directory(path)

    def delete_directory(self, path: object) -> None:
        with self.shared.lock:
            norm, local = self._directory(path)
            if self._is_volume_root(norm):
                raise InvalidParameterValue(f"Cannot delete {norm}: it is the root of a volume, not a directory in it.")
            if self.tree.has_content(local):
                raise Conflict(f"The directory being deleted is not empty: {norm}. Delete its contents first.")
            self.tree.remove(local)

    def list_directory(self, path: object, page_size: int | None, page_token: str | None) -> dict[str, Any]:
        """Entries sorted by name, a page at a time.

        The page token is the last name returned (base64), not an offset as
        :func:`~airbricks.workspace.pagination.page_tokens` hands out: files come and go between two calls, and
        a name keeps its place where an offset would skip or repeat entries; it also survives restarts.
        """
        size = MAX_PAGE_SIZE if not page_size else min(page_size, MAX_PAGE_SIZE)
        after = _decode_token(page_token) if page_token else None
        with self.shared.lock:
            norm, local = self._directory(path)
            entries = self.tree.entries(norm, local, self._entry) if local.is_dir() else []
        start = bisect.bisect_right([e["name"] for e in entries], after) if after is not None else 0
        page = paginate(entries, start, size)
        result: dict[str, Any] = {"contents": page.items}
        if page.has_more:
            result["next_page_token"] = base64.urlsafe_b64encode(page.items[-1]["name"].encode()).decode()
        return result

    @staticmethod
    def _entry(child: str, child_local: Path) -> dict[str, Any]:
        st = child_local.stat()
        entry: dict[str, Any] = {
            "path": child,
            "name": child_local.name,
            "is_directory": child_local.is_dir(),
            "last_modified": int(st.st_mtime * 1000),
        }
        if not entry["is_directory"]:
            entry["file_size"] = st.st_size
        return entry


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidParameterValue(
            f"Invalid page_token {token!r}: pass the next_page_token of a previous listing."
        ) from None
