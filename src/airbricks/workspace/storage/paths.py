"""The one home of path translation: user paths (DBFS, Volumes, workspace) onto files under the data dir, safely.

Every path a client sends goes through :func:`resolve`, so no input - ``..``, absolute tricks, symlinks,
NUL bytes - can read or write outside the root it belongs to. The same mapping serves every consumer: the
storage models (through :class:`~airbricks.workspace.storage.tree.FileTree`), runs and libraries (through
:class:`~airbricks.workspace.storage.local_paths.LocalPaths`), the kernel's ``dbutils`` and FUSE paths, and Spark
(:func:`hadoop_settings`). Pure functions over paths, importing only the standard library and
:mod:`airbricks.workspace.errors`: kernel processes import this module (see :mod:`airbricks.workspace.kernel`).
"""

from __future__ import annotations

import os
import posixpath
import stat
from functools import lru_cache
from pathlib import Path

from airbricks.workspace.errors import InvalidParameterValue

# -- where each service's files live under the data dir ----------------------------------------------------


def dbfs_dir(data_dir: Path) -> Path:
    """DBFS: ``dbfs:/a/b`` is ``<data dir>/dbfs/a/b``."""
    return data_dir / "dbfs"


def volumes_dir(data_dir: Path) -> Path:
    """Unity Catalog volumes: ``/Volumes/c/s/v/x`` is ``<data dir>/volumes/c/s/v/x`` (Unity Catalog creates and
    removes each volume's folder, the Files API and Spark read and write in it)."""
    return data_dir / "volumes"


def workspace_dir(data_dir: Path) -> Path:
    """Workspace objects: ``/Users/me/nb`` (or ``/Workspace/Users/me/nb``) is ``<data dir>/workspace/Users/me/nb``."""
    return data_dir / "workspace"


def hadoop_settings(dbfs_root: Path, volumes_root: Path) -> dict[str, str]:
    """Hadoop settings (without the ``spark.hadoop.`` prefix) that map Databricks paths onto the data dir in Spark.

    ``dbfs:/x``, a bare ``/x`` (DBFS is the default file system) and ``/Volumes/c/s/v/x`` resolve to the DBFS and
    volumes directories by Hadoop configuration alone: ``ViewFileSystemOverloadScheme`` serves the ``dbfs``
    scheme from a mount table where ``/Volumes`` links to the volumes directory and everything else falls back
    to the DBFS directory. The metastore gets the same settings, because it creates table and schema
    directories itself.
    """
    return {
        "fs.defaultFS": "dbfs:///",
        "fs.dbfs.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
        "fs.viewfs.mounttable.default.link./Volumes": f"file://{volumes_root}",
        "fs.viewfs.mounttable.default.linkFallback": f"file://{dbfs_root}",
    }


# -- user paths ------------------------------------------------------------------------------------------


def normalize(path: object, *, field: str = "path", prefix: str = "") -> str:
    """Validate and normalize a client path into an absolute POSIX path (``/a/b``).

    ``prefix`` (e.g. ``"dbfs:"``) is stripped when present. Raises INVALID_PARAMETER_VALUE naming ``field``.
    """
    if not isinstance(path, str) or not path:
        raise InvalidParameterValue(f"Missing required field: {field}" if not path else f"{field} must be a string")
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    if "\x00" in path:
        raise InvalidParameterValue(f"Invalid {field}: the path contains a NUL byte")
    if not path.startswith("/"):
        raise InvalidParameterValue(
            f"Path must be absolute: {path}"
            if field == "path"
            else f"Invalid {field} '{path}': the path must be absolute (start with /)"
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidParameterValue(f"Invalid {field} '{path}': '..' is not allowed in paths")
    return "/" + "/".join(parts)


@lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def resolve(root: Path, normalized: str) -> Path:
    """The file under ``root`` for an already normalized path; refuses anything escaping ``root``.

    :func:`normalize` already removed ``..``, so only a symlink below ``root`` can lead out: the path is
    walked with one ``lstat`` per component (cheaper than resolving it from ``/``), and only a path with a
    symlink on it is resolved in full and compared with the root's real path.
    """
    parts = [p for p in normalized.split("/") if p]
    candidate = root.joinpath(*parts)
    current = str(root)
    for part in parts:
        current = f"{current}{os.sep}{part}"
        try:
            mode = os.lstat(current).st_mode
        except OSError:  # nothing exists from here on (or the name is unusable: the caller's I/O says so)
            return candidate
        if stat.S_ISLNK(mode):
            real_root = _real_root(str(root))
            real = os.path.realpath(candidate)
            if real != real_root and not real.startswith(real_root + os.sep):
                raise InvalidParameterValue(f"Invalid path '{normalized}': it resolves outside the workspace")
            return candidate
    return candidate


def workspace_path(path: object) -> str:
    """A workspace path, normalized: ``/Workspace/...`` is an alias of ``/...`` (the workspace file system's view)."""
    norm = normalize(path)
    if norm == "/Workspace" or norm.startswith("/Workspace/"):
        norm = norm[len("/Workspace") :] or "/"
    return norm


def volume_file(root: Path, normalized: str) -> Path:
    """The file under the volumes root for an already normalized ``/Volumes/<catalog>/<schema>/...`` path."""
    return resolve(root, normalized[len("/Volumes") :] or "/")


def storage_file(path: str, *, dbfs_root: Path, volumes_root: Path, field: str = "path") -> tuple[Path, str]:
    """(file under the data dir, canonical URI) for a storage path as Spark and ``dbutils.fs`` read it.

    ``dbfs:/x``, ``/dbfs/x`` (the FUSE mount) and a bare ``/x`` are DBFS; ``/Volumes/c/s/v/x`` is a volume;
    ``file:/x`` is the local file system, as on a Databricks driver. The one mapping every consumer uses:
    the DBFS and Volumes models, runs, the kernel's ``dbutils`` and FUSE paths, the Spark engine.
    """
    if path.startswith("file:"):
        local = Path(path[len("file:") :])
        return local, f"file:{local}"
    norm = normalize(path, field=field, prefix="dbfs:")
    if not path.startswith("dbfs:") and (norm == "/dbfs" or norm.startswith("/dbfs/")):
        norm = norm[len("/dbfs") :] or "/"
    if norm == "/Volumes" or norm.startswith("/Volumes/"):
        return volume_file(volumes_root, norm), norm
    return resolve(dbfs_root, norm), f"dbfs:{norm}"


#: Set in a kernel process whose workspace runs with ``--auto-create-volumes``.
AUTO_CREATE_VOLUMES_ENV = "AIRBRICKS_AUTO_CREATE_VOLUMES"


def require_volume_folder(volumes_root: Path, uri: str) -> None:
    """In a kernel process: ``/Volumes/c/s/v/...`` needs the volume's folder, which exists exactly while the
    volume does (see :mod:`airbricks.workspace.catalog.unity_catalog`); with auto-creation the folder is made."""
    parts = uri.split("/")
    if len(parts) < 5 or parts[1] != "Volumes":
        return
    folder = volumes_root.joinpath(*(p.lower() for p in parts[2:5]))
    if folder.is_dir():
        return
    if os.environ.get(AUTO_CREATE_VOLUMES_ENV) == "1":
        folder.mkdir(parents=True, exist_ok=True)
        return
    name = ".".join(parts[2:5])
    raise FileNotFoundError(
        f"[UC_VOLUME_NOT_FOUND] Volume '{name}' does not exist (path {uri}). Create it first"
        " (CREATE VOLUME or w.volumes.create), or start the local workspace with"
        " --auto-create-volumes."
    )


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file so that a reader (or a killed process) sees the old content or the new, never half of it.

    Written to a temporary name and renamed into place. There is no fsync: a kill -9 of the server cannot
    lose what the page cache holds, and only a power loss could (the store's WAL makes the same trade).
    """
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{id(data)}")
    try:
        try:
            fh = open(tmp, "wb")
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")
        with fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def parent_of(normalized: str) -> str:
    return posixpath.dirname(normalized) or "/"


STAGING_DIR = "tmp"


def staging_file(data_dir: Path) -> Path:
    """A fresh temporary file path on the data dir's file system (outside every user-visible root), for
    bodies streamed to disk before :func:`commit_file` moves them into place in one rename."""
    staging = data_dir / STAGING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    return staging / f"upload-{os.getpid()}-{os.urandom(8).hex()}"


def commit_file(staged: Path, target: Path) -> None:
    """Move a fully written staging file to ``target`` atomically (readers see old or new, never half)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)


def is_temporary(name: str) -> bool:
    """Whether a directory entry is an in-flight :func:`atomic_write` file, hidden from listings."""
    return name.startswith(".") and ".tmp-" in name
