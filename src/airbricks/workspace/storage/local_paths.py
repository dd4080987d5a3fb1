"""The one place that turns a path a user writes - ``dbfs:/x``, ``/dbfs/x``, ``/Volumes/c/s/v/x``, or a
workspace path - into the file under the data dir, for the server's own consumers.

Runs use it for ``python_file``, jars and ``spark_submit_task`` arguments; the kernel gets the roots, so
``dbutils.fs`` and the FUSE paths agree with the APIs (Spark maps the same roots by Hadoop configuration,
:func:`airbricks.workspace.storage.paths.hadoop_settings`). The mapping itself is
:mod:`airbricks.workspace.storage.paths`; this is apart from it only because it holds the three models (their
roots, the workspace's aliases), which a kernel process must never import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airbricks.workspace.storage import paths
from airbricks.workspace.storage.dbfs import Dbfs
from airbricks.workspace.storage.volumes import Volumes
from airbricks.workspace.storage.workspace_objects import WorkspaceObjects


class LocalPaths:
    def __init__(self, dbfs: Dbfs, volumes: Volumes, objects: WorkspaceObjects) -> None:
        self.dbfs = dbfs
        self.volumes = volumes
        self.objects = objects

    def local_file(self, path: str, *, field: str = "path") -> Path:
        """The file behind ``path``: a storage path (DBFS, ``/dbfs``, ``/Volumes``), else a workspace path;
        INVALID_PARAMETER_VALUE naming ``field`` for a path that escapes its root."""
        if path.startswith(("dbfs:/", "/dbfs/", "/Volumes/")):
            local, _ = paths.storage_file(path, dbfs_root=self.dbfs.root, volumes_root=self.volumes.root, field=field)
            return local
        return self.objects.local_path(path)

    def roots(self) -> dict[str, Any]:
        """The roots the kernel maps ``dbfs:/``, ``/Volumes`` and the workspace onto (and whether a missing
        volume is created on first use)."""
        return {
            "dbfs_root": str(self.dbfs.root),
            "volumes_root": str(self.volumes.root),
            "workspace_root": str(self.objects.root),
            "auto_create_volumes": self.volumes.shared.config.auto_create_volumes,
        }
