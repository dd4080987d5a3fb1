"""One file tree under a root of the data dir: what DBFS, the Workspace API and the Files API on volumes share.

The three services name their files differently (``dbfs:/a``, ``/Workspace/Users/a``, ``/Volumes/c/s/v/a``),
describe them with different records, and keep different rules and errors (DBFS deletes a missing path
quietly, the Workspace API refuses it with 404, the Files API never deletes a non-empty directory); each
service keeps those. The file logic underneath is one: a normalized user path onto its file (never outside
the root), whether something is there, the status and listing of an entry, the first file on the way that
makes a path impossible, the folders ``mkdir -p`` creates, and removal. A tree raises only what its service
hands it (``missing`` for a path that does not exist, ``blocked`` for a file in the way), so every message
stays the service's own. The service holds :attr:`~airbricks.workspace.shared.Shared.lock` around each call.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from airbricks.workspace.errors import DatabricksError, InvalidParameterValue
from airbricks.workspace.storage import paths

T = TypeVar("T")
#: Describes one entry (its user path, its file) as the service answers: a FileInfo, an ObjectInfo, ...
Describe = Callable[[str, Path], T]


class FileTree:
    """The files below ``root``, addressed by normalized user paths (``/a/b``).

    :param prefix: the leading part of every user path that the disk does not have: ``/Volumes`` for volumes,
        whose ``/Volumes/c/s/v/x`` is ``<root>/c/s/v/x``.
    :param missing: the service's error for a path where nothing exists (given the normalized path).
    """

    def __init__(self, root: Path, *, missing: Callable[[str], DatabricksError], prefix: str = "") -> None:
        self.root = root
        self.prefix = prefix
        self.missing = missing
        root.mkdir(parents=True, exist_ok=True)

    def local(self, norm: str) -> Path:
        """The file for a normalized user path; INVALID_PARAMETER_VALUE if it resolves outside the root."""
        return paths.resolve(self.root, norm[len(self.prefix) :] or "/")

    def existing(self, norm: str) -> Path:
        """The file for ``norm``, which must exist (else the service's ``missing`` error)."""
        local = self.local(norm)
        if not local.exists():
            raise self.missing(norm)
        return local

    def status(self, norm: str, describe: Describe[T]) -> T:
        return describe(norm, self.existing(norm))

    def listing(self, norm: str, describe: Describe[T]) -> list[T]:
        """A directory's entries, or the one entry of a file (as DBFS and the Workspace API answer both)."""
        local = self.existing(norm)
        if not local.is_dir():
            return [describe(norm, local)]
        return self.entries(norm, local, describe)

    def entries(self, norm: str, local: Path, describe: Describe[T]) -> list[T]:
        """``describe(path, file)`` of each entry of a directory, by name: in-flight temporary files are hidden,
        and so is anything (a planted symlink) that resolves outside the root - never shown, never followed -
        or that vanished while being described."""
        out = []
        for child in sorted(local.iterdir(), key=lambda p: p.name):
            if paths.is_temporary(child.name):
                continue
            child_norm = norm.rstrip("/") + "/" + child.name
            try:
                self.local(child_norm)
                out.append(describe(child_norm, child))
            except (InvalidParameterValue, FileNotFoundError):
                continue
        return out

    def file_on_the_way(self, norm: str, *, itself: bool = False) -> str | None:
        """The user path of the first parent of ``norm`` (from the top; ``norm`` too if ``itself``) that exists
        and is not a directory, if any: a path below a file can never be created."""
        below = norm[len(self.prefix) :]
        parts = [p for p in below.split("/") if p]
        if not itself:
            parts = parts[:-1]
        current = str(self.root)
        for depth, part in enumerate(parts, start=1):
            current = f"{current}{os.sep}{part}"
            try:
                mode = os.stat(current).st_mode
            except OSError:
                return None
            if not stat.S_ISDIR(mode):
                return self.prefix + "/" + "/".join(parts[:depth])
        return None

    def mkdirs(
        self,
        norm: str,
        *,
        blocked: Callable[[str], DatabricksError],
        before: Callable[[str], None] | None = None,
    ) -> None:
        """``mkdir -p``: existing directories are fine; a file at ``norm`` or on the way raises ``blocked(that
        path)``. ``before(folder)`` runs before each folder is created, top down (e.g. to record metadata first,
        so a crash never leaves a folder the service knows nothing about)."""
        self.local(norm)  # refuses a path through a symlink leading outside, before anything is looked at
        blocking = self.file_on_the_way(norm, itself=True)
        if blocking is not None:
            raise blocked(blocking)
        missing = []
        current = norm
        while current not in ("/", self.prefix) and not self.local(current).exists():
            missing.append(current)
            current = paths.parent_of(current)
        for folder in reversed(missing):
            if before is not None:
                before(folder)
            self.local(folder).mkdir(exist_ok=True)

    @staticmethod
    def has_content(local: Path) -> bool:
        """Whether a directory holds anything but in-flight temporary files."""
        return any(not paths.is_temporary(child.name) for child in local.iterdir())

    @staticmethod
    def remove(local: Path) -> None:
        """Delete a file, or a directory and everything in it (the service decides whether it may)."""
        if local.is_dir():
            shutil.rmtree(local)
        else:
            local.unlink()
