"""DBFS (``/api/2.0/dbfs``): files under ``<data dir>/dbfs``, with the real service's limits and errors.

``dbfs:/a/b`` and ``/a/b`` both name ``<data dir>/dbfs/a/b``. Every write lands atomically (a temporary file
renamed into place), so a reader or a crash sees the old content or the new, never half. Streaming handles
(``create`` / ``add-block`` / ``close``) accumulate into a staging file that only becomes visible on ``close``;
like the real service's, they live in memory and expire after 10 idle minutes.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbricks.workspace.errors import (
    InvalidParameterValue,
    IoError,
    MaxBlockSizeExceeded,
    MaxReadSizeExceeded,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.tree import FileTree

#: Inline ``put`` contents, ``add-block`` data and ``read`` length are each limited to 1 MB.
MAX_BLOCK_BYTES = 1024 * 1024
DEFAULT_READ_BYTES = 512 * 1024
HANDLE_IDLE_SECONDS = 600


def not_found(path: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No file or directory exists on path {path}.")


def already_exists(path: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"A file or directory already exists at the input path {path}.")


def decode_block(data: object, field_name: str) -> bytes:
    """Base64 text to bytes, refusing more than 1 MB decoded with MAX_BLOCK_SIZE_EXCEEDED."""
    if not isinstance(data, str):
        raise InvalidParameterValue(f"Invalid value for field '{field_name}': expected a base64-encoded string")
    if len(data) > (MAX_BLOCK_BYTES + 2) // 3 * 4 + 4:
        raise block_too_large()
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue(f"Invalid value for field '{field_name}': it is not valid base64") from None
    if len(raw) > MAX_BLOCK_BYTES:
        raise block_too_large()
    return raw


def block_too_large() -> MaxBlockSizeExceeded:
    return MaxBlockSizeExceeded(
        f"The data block exceeds the maximum of {MAX_BLOCK_BYTES} bytes (1 MB). Upload"
        " larger files with create, add-block and close, or with a multipart put."
    )


@dataclass
class _Handle:
    path: str
    overwrite: bool
    staged: Path
    touched: float


class Dbfs:
    """The DBFS model: paths in, FileInfo dicts and bytes out; raises ``errors.*``."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.tree = FileTree(paths.dbfs_dir(shared.data_dir), missing=not_found)
        self.root: Path = self.tree.root
        self._handles: dict[int, _Handle] = {}
        self._next_handle = int.from_bytes(os.urandom(3), "big") * 1000 + 1

    # -- paths -------------------------------------------------------------------------------------------------

    @staticmethod
    def normalize(path: object, field_name: str = "path") -> str:
        return paths.normalize(path, field=field_name, prefix="dbfs:")

    def local_path(self, path: str, field_name: str = "path") -> Path:
        """The file under the data dir for ``dbfs:/x`` or ``/x`` (validated: nothing escapes the DBFS root)."""
        return self.tree.local(self.normalize(path, field_name))

    def _existing(self, path: object, field_name: str = "path") -> tuple[str, Path]:
        norm = self.normalize(path, field_name)
        return norm, self.tree.existing(norm)

    def _file_info(self, norm: str, local: Path) -> dict[str, Any]:
        st = local.stat()
        is_dir = local.is_dir()
        return {
            "path": norm,
            "is_dir": is_dir,
            "file_size": 0 if is_dir else st.st_size,
            "modification_time": int(st.st_mtime * 1000),
        }

    def _check_parents(self, norm: str) -> None:
        """A file at any prefix of the path makes it impossible to create (RESOURCE_ALREADY_EXISTS)."""
        blocking = self.tree.file_on_the_way(norm)
        if blocking is not None:
            raise already_exists(blocking)

    def _check_writable(self, norm: str, local: Path, overwrite: bool) -> None:
        try:
            mode: int | None = os.stat(local).st_mode
        except OSError:
            mode = None
        if norm == "/" or (mode is not None and (stat.S_ISDIR(mode) or not overwrite)):
            raise already_exists(norm)
        if mode is None:  # an existing file's parents are directories already
            self._check_parents(norm)

    # -- read side ---------------------------------------------------------------------------------------------

    def get_status(self, path: object) -> dict[str, Any]:
        with self.shared.lock:
            return self.tree.status(self.normalize(path), self._file_info)

    def list(self, path: object) -> list[dict[str, Any]]:
        with self.shared.lock:
            return self.tree.listing(self.normalize(path), self._file_info)

    def read(self, path: object, offset: int | None, length: int | None) -> dict[str, Any]:
        offset = 0 if offset is None else offset
        length = DEFAULT_READ_BYTES if length is None else length
        if offset < 0:
            raise InvalidParameterValue(f"Invalid value for field 'offset': must be non-negative, got {offset}")
        if length < 0:
            raise InvalidParameterValue(f"Invalid value for field 'length': must be non-negative, got {length}")
        if length > MAX_BLOCK_BYTES:
            raise MaxReadSizeExceeded(
                f"Cannot read more than {MAX_BLOCK_BYTES} bytes (1 MB) at a time; got length"
                f" {length}. Read the file in chunks with offset and length."
            )
        with self.shared.lock:
            norm, local = self._existing(path)
            if local.is_dir():
                raise InvalidParameterValue(f"Cannot read {norm}: it is a directory, not a file.")
            with open(local, "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    # -- write side --------------------------------------------------------------------------------------------

    def mkdirs(self, path: object) -> None:
        with self.shared.lock:
            self.tree.mkdirs(self.normalize(path), blocked=already_exists)

    def delete(self, path: object, recursive: bool) -> None:
        """Deleting a missing path succeeds (as on the real service); a non-empty directory needs recursive (a
        leftover temporary file counts as content here); deleting ``/`` empties the root."""
        with self.shared.lock:
            norm = self.normalize(path)
            local = self.tree.local(norm)
            if not local.exists():
                return
            if local.is_dir() and any(local.iterdir()) and not recursive:
                raise IoError(f"Directory {norm} is not empty: pass recursive=true to delete it and its contents.")
            if norm != "/":
                self.tree.remove(local)
                return
            for child in local.iterdir():
                child.unlink() if child.is_symlink() else self.tree.remove(child)

    def put(self, path: object, contents: bytes | None, overwrite: bool, staged: Path | None = None) -> None:
        """Write a whole file: inline bytes, or a staging file already streamed to disk (multipart)."""
        with self.shared.lock:
            norm = self.normalize(path)
            local = self.tree.local(norm)
            try:
                self._check_writable(norm, local, overwrite)
            except BaseException:
                if staged is not None:
                    staged.unlink(missing_ok=True)
                raise
            if staged is not None:
                paths.commit_file(staged, local)
            else:
                paths.atomic_write(local, contents or b"")

    def move(self, source: object, destination: object) -> None:
        with self.shared.lock:
            src, src_local = self._existing(source, "source_path")
            dst = self.normalize(destination, "destination_path")
            dst_local = self.tree.local(dst)
            if dst_local.exists():
                raise already_exists(dst)
            if src == "/" or dst.startswith(src.rstrip("/") + "/"):
                raise InvalidParameterValue(f"Cannot move {src} into itself ({dst}).")
            self._check_parents(dst)
            dst_local.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src_local, dst_local)

    # -- streaming handles -------------------------------------------------------------------------------------

    def create(self, path: object, overwrite: bool) -> int:
        with self.shared.lock:
            self._expire_handles()
            norm = self.normalize(path)
            local = self.tree.local(norm)
            self._check_writable(norm, local, overwrite)
            staged = paths.staging_file(self.shared.data_dir)
            staged.touch()
            handle = self._next_handle
            self._next_handle += 1
            self._handles[handle] = _Handle(norm, overwrite, staged, self._seconds())
            return handle

    def _handle(self, handle: int) -> _Handle:
        self._expire_handles()
        found = self._handles.get(handle)
        if found is None:
            raise ResourceDoesNotExist(f"The handle {handle} does not exist (closed, expired, or never created).")
        found.touched = self._seconds()
        return found

    def add_block(self, handle: int, data: bytes) -> None:
        with self.shared.lock:
            found = self._handle(handle)
            with open(found.staged, "ab") as fh:
                fh.write(data)

    def close(self, handle: int) -> None:
        """Make the streamed content visible in one rename (re-checking ``overwrite`` against files written since)."""
        with self.shared.lock:
            found = self._handle(handle)
            del self._handles[handle]
            self.put(found.path, None, found.overwrite, staged=found.staged)

    def _seconds(self) -> float:
        return self.shared.now_ms() / 1000

    def _expire_handles(self) -> None:
        cutoff = self._seconds() - HANDLE_IDLE_SECONDS
        for handle, found in list(self._handles.items()):
            if found.touched < cutoff:
                found.staged.unlink(missing_ok=True)
                del self._handles[handle]

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Drop the open streaming handles and their staged bytes (they were never acknowledged as files)."""
        with self.shared.lock:
            for found in self._handles.values():
                found.staged.unlink(missing_ok=True)
            self._handles.clear()
