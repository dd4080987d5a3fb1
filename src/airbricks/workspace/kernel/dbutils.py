"""``dbutils`` and ``spark`` as a notebook sees them in the local workspace's kernel process.

Only what a local run can honour is provided: widgets (from ``base_parameters`` / ``notebook_params``),
``notebook.exit``, file-system helpers over the local DBFS and Volumes directories, and secrets read from the
workspace's Secrets API over the run's channel (:mod:`airbricks.workspace.kernel.channel`). Imported by the
kernel process, so it must stay light: standard library, ``storage.paths`` and ``kernel.channel`` only.
"""

from __future__ import annotations

import base64
import builtins
import os
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from airbricks.workspace.kernel import redacting
from airbricks.workspace.kernel.channel import WorkspaceCallError, WorkspaceChannel
from airbricks.workspace.kernel.dbutils_help import module_help, top_help
from airbricks.workspace.storage import paths

#: ``dbutils.notebook.exit`` values beyond this many bytes are cut (and reported as ``truncated``).
MAX_EXIT_BYTES = 5 * 1024 * 1024


class NotebookExit(BaseException):
    """Raised by ``dbutils.notebook.exit``; a BaseException so a notebook's ``except Exception`` can't swallow it."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class InputWidgetNotDefined(Exception):
    """The error Databricks raises for ``dbutils.widgets.get`` of a widget nobody defined."""


class SecretsError(RuntimeError):
    """Raised by ``dbutils.secrets``: the Secrets API's error (``PERMISSION_DENIED: ...``, a missing secret)."""


class Widgets:
    def help(self, method: str | None = None) -> None:
        print(module_help("widgets", method))

    def __init__(self, values: dict[str, str]) -> None:
        self._values = {str(k): str(v) for k, v in values.items()}
        self._defaults: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self._values:
            return self._values[name]
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return defaultValue

    def getAll(self) -> dict[str, str]:
        return {**self._defaults, **self._values}

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:
        self._defaults[name] = str(defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        if str(defaultValue) not in [str(c) for c in choices]:
            raise ValueError(f"Default value {defaultValue} for dropdown widget {name} is not one of its choices")
        self._defaults[name] = str(defaultValue)

    combobox = dropdown

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        self._defaults[name] = str(defaultValue)

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        self._defaults.clear()


class Notebook:
    def help(self, method: str | None = None) -> None:
        print(module_help("notebook", method))

    def exit(self, value: Any) -> None:
        raise NotebookExit(str(value))

    def run(self, path: str, timeout_seconds: int = 0, arguments: dict[str, str] | None = None) -> str:
        raise NotImplementedError(
            "dbutils.notebook.run is not supported by the local workspace yet; use a "
            "multi-task job with depends_on instead."
        )


class FileInfo(NamedTuple):
    """What ``dbutils.fs.ls`` returns per entry (directories' names end with ``/``): a named tuple, as on
    Databricks (so ``json.dumps`` of a listing works, as the SDK's remote ``dbutils`` needs)."""

    path: str
    name: str
    size: int
    modificationTime: int


class MountInfo(NamedTuple):
    """What ``dbutils.fs.mounts()`` returns per mount: a named tuple, as on Databricks (the SDK's remote
    ``dbutils.fs.mounts()`` reads it back as ``[mountPoint, source, encryptionType]``)."""

    mountPoint: str
    source: str
    encryptionType: str = ""


class Fs:
    """``dbutils.fs`` over the local DBFS (``dbfs:/``, ``/``) and Volumes (``/Volumes/...``) directories."""

    def __init__(self, dbfs_root: Path, volumes_root: Path) -> None:
        self._dbfs = dbfs_root
        self._volumes = volumes_root

    def _local(self, path: str) -> tuple[Path, str]:
        """(local file, canonical URI) for a user path (see :func:`airbricks.workspace.storage.paths.storage_file`); a
        volume path needs its volume to exist."""
        local, uri = paths.storage_file(path, dbfs_root=self._dbfs, volumes_root=self._volumes)
        paths.require_volume_folder(self._volumes, uri)
        return local, uri

    def mounts(self) -> list[MountInfo]:
        """The mounts of a Unity Catalog driver: the DBFS root and the volumes (each on its local folder)."""
        return [MountInfo("/", "DatabricksRoot"), MountInfo("/Volumes", "UnityCatalogVolumes")]

    def refreshMounts(self) -> bool:
        """Nothing to refresh: the mounts are fixed."""
        return True

    def help(self, method: str | None = None) -> None:
        print(module_help("fs", method))

    def ls(self, dir: str) -> list[FileInfo]:
        local, uri = self._local(dir)
        if not local.exists():
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {uri} does not exist.")
        entries = [local] if local.is_file() else sorted(local.iterdir())
        out = []
        for entry in entries:
            if paths.is_temporary(entry.name):
                continue
            stat = entry.stat()
            is_dir = entry.is_dir()
            child = uri if entry == local else f"{uri.rstrip('/')}/{entry.name}"
            out.append(
                FileInfo(
                    child + ("/" if is_dir else ""),
                    entry.name + ("/" if is_dir else ""),
                    0 if is_dir else stat.st_size,
                    int(stat.st_mtime * 1000),
                )
            )
        return out

    def head(self, file: str, maxBytes: int = 65536) -> str:
        local, uri = self._local(file)
        if not local.is_file():
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {uri} does not exist.")
        with open(local, "rb") as fh:
            return fh.read(maxBytes).decode("utf-8", "replace")

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        local, uri = self._local(file)
        if local.exists() and not overwrite:
            raise FileExistsError(f"java.io.IOException: File already exists: {uri}")
        paths.atomic_write(local, contents.encode("utf-8"))
        return True

    def mkdirs(self, dir: str) -> bool:
        local, _ = self._local(dir)
        local.mkdir(parents=True, exist_ok=True)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        local, uri = self._local(dir)
        if not local.exists():
            return False
        if local.is_dir():
            if any(local.iterdir()) and not recurse:
                raise OSError(f"java.io.IOException: Path {uri} is a non-empty directory: pass recurse=True")
            shutil.rmtree(local)
        else:
            local.unlink()
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, src_uri = self._local(from_)
        dst, _ = self._local(to)
        if not src.exists():
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {src_uri} does not exist.")
        if src.is_dir():
            if not recurse:
                raise OSError(f"java.io.IOException: {src_uri} is a directory: pass recurse=True to copy it")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            paths.atomic_write(dst, src.read_bytes())
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, src_uri = self._local(from_)
        dst, _ = self._local(to)
        if not src.exists():
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {src_uri} does not exist.")
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst) if not src.is_dir() else shutil.move(str(src), str(dst))
        return True


class SecretMetadata(NamedTuple):
    """What ``dbutils.secrets.list`` returns per secret."""

    key: str


class SecretScope(NamedTuple):
    """What ``dbutils.secrets.listScopes`` returns per scope."""

    name: str

    def getName(self) -> str:
        return self.name


class Secrets:
    """``dbutils.secrets`` over the workspace's Secrets API, as the run's principal (its per-run token).

    Values read here are redacted (``[REDACTED]``) from the run's output by the workspace.
    """

    def __init__(self, channel: WorkspaceChannel) -> None:
        self._channel = channel

    def help(self, method: str | None = None) -> None:
        print(module_help("secrets", method))

    def _call(self, path: str, params: dict[str, str]) -> Any:
        try:
            return self._channel.call("GET", path, params)
        except WorkspaceCallError as failed:
            raise SecretsError(
                f"{failed.error_code}: {failed.message}" if failed.error_code else failed.message
            ) from None

    def getBytes(self, scope: str, key: str) -> bytes:
        value = base64.b64decode(self._call("/api/2.0/secrets/get", {"scope": scope, "key": key})["value"])
        redacting.note_read(value)  # from now on, redacted from what the run writes
        return value

    def get(self, scope: str, key: str) -> str:
        return self.getBytes(scope, key).decode("utf-8")

    # ``list`` below names the method, as dbutils spells it: the builtin is ``builtins.list`` in this class
    def list(self, scope: str) -> builtins.list[SecretMetadata]:
        found = self._call("/api/2.0/secrets/list", {"scope": scope}).get("secrets") or []
        return [SecretMetadata(s["key"]) for s in found]

    def listScopes(self) -> builtins.list[SecretScope]:
        return [SecretScope(s["name"]) for s in self._call("/api/2.0/secrets/scopes/list", {}).get("scopes") or []]


class DBUtils:
    """The ``dbutils`` global injected into notebooks and Python files run by the local workspace."""

    def __init__(
        self, widgets: dict[str, str], dbfs_root: Path, volumes_root: Path, channel: WorkspaceChannel | None = None
    ) -> None:
        self.widgets = Widgets(widgets)
        self.notebook = Notebook()
        self.fs = Fs(dbfs_root, volumes_root)
        self.secrets = Secrets(channel or WorkspaceChannel(None, None))

    def help(self) -> None:
        """``dbutils.help()``: the modules this ``dbutils`` has (a job run's has ``jobs`` too)."""
        print(top_help([name for name in vars(self) if not name.startswith("_")]))
