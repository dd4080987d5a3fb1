"""Workspace objects (``/api/2.0/workspace``): notebooks, files and folders under ``<data dir>/workspace``.

Content lives as files (notebooks in Databricks SOURCE format, so they can be read, diffed and executed as
is); what a file cannot say - object type, language, id, creation time - is kept in the store under kind
``workspace_object``, keyed by path. The disk decides what exists; metadata written before content means a
crash never leaves a notebook that looks like a plain file. ``/Workspace/...`` paths are accepted as aliases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from airbricks.workspace.errors import (
    DirectoryNotEmpty,
    InvalidParameterValue,
    MaxNotebookSizeExceeded,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.tree import FileTree

KIND = "workspace_object"
#: The real service refuses imports over 10 MB.
MAX_IMPORT_BYTES = 10 * 1024 * 1024
ROOT_FOLDERS = ("/Users", "/Shared", "/Repos")

#: Comment prefix per notebook language: SOURCE format is the language's own syntax plus marker comments.
COMMENT = {"PYTHON": "#", "SQL": "--", "SCALA": "//", "R": "#"}
EXTENSION = {"PYTHON": "py", "SQL": "sql", "SCALA": "scala", "R": "r"}
BY_EXTENSION = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R"}
UNSUPPORTED_FORMATS = ("DBC", "HTML", "R_MARKDOWN")


class Exported(NamedTuple):
    """What ``workspace/export`` gives: the bytes, and the file type (extension) of a notebook."""

    content: bytes
    file_type: str | None


class NotebookSource(NamedTuple):
    language: str
    text: str


def header(language: str) -> str:
    return f"{COMMENT[language]} Databricks notebook source"


def separator(language: str) -> str:
    return f"{COMMENT[language]} COMMAND ----------"


def not_found(path: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Path ({path}) doesn't exist.")


def _already_exists(path: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"{path} already exists")


def _check_language(language: str | None) -> str | None:
    if language is not None and language not in COMMENT:
        raise InvalidParameterValue(f"Invalid language '{language}': use one of PYTHON, SQL, SCALA, R.")
    return language


def to_source(text: str, language: str) -> str:
    """A notebook's text with the SOURCE header (added when a plain script is imported as a notebook)."""
    if text.lstrip("\ufeff").startswith(header(language)):
        return text.lstrip("\ufeff")
    return f"{header(language)}\n{text}"


def from_jupyter(raw: bytes, language: str | None) -> tuple[str, str]:
    """Best-effort .ipynb -> (language, SOURCE text): code cells as code, markdown cells as ``%md`` magic."""
    try:
        nb = json.loads(raw)
        cells = nb["cells"]
        meta = nb.get("metadata", {})
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidParameterValue("The content is not a valid Jupyter notebook (.ipynb JSON with 'cells').") from None
    kernel_lang = str(meta.get("language_info", {}).get("name") or meta.get("kernelspec", {}).get("language") or "")
    lang = language or {"python": "PYTHON", "sql": "SQL", "scala": "SCALA", "r": "R"}.get(kernel_lang.lower(), "PYTHON")
    c = COMMENT[lang]
    blocks = []
    for cell in cells:
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        if cell.get("cell_type") == "markdown":
            text = "\n".join([f"{c} MAGIC %md"] + [f"{c} MAGIC {line}".rstrip() for line in text.splitlines()])
        blocks.append(text.strip("\n"))
    return lang, f"{header(lang)}\n" + f"\n\n{separator(lang)}\n\n".join(blocks) + "\n"


def to_jupyter(text: str, language: str) -> bytes:
    """SOURCE text -> a minimal nbformat 4 notebook (``%md`` magic cells become markdown cells)."""
    c = COMMENT[language]
    body = text.split("\n", 1)[1] if text.startswith(header(language)) else text
    cells: list[dict[str, Any]] = []
    for block in body.split(separator(language)):
        lines = block.strip("\n").splitlines()
        if lines and lines[0].strip() == f"{c} MAGIC %md":
            md = [line[len(f"{c} MAGIC ") :] if line.startswith(f"{c} MAGIC ") else "" for line in lines[1:]]
            cells.append({"cell_type": "markdown", "metadata": {}, "source": "\n".join(md)})
        else:
            cells.append(
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": None,
                    "outputs": [],
                    "source": "\n".join(lines),
                }
            )
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells, "metadata": {"language_info": {"name": language.lower()}}}
    return json.dumps(nb, indent=1).encode()


class WorkspaceObjects:
    """The Workspace model: paths in, ObjectInfo dicts and content out; raises ``errors.*``."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self.tree = FileTree(paths.workspace_dir(shared.data_dir), missing=not_found)
        self.root: Path = self.tree.root
        for folder in ROOT_FOLDERS:
            (self.root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
        self._meta: dict[str, dict[str, Any]] = dict(shared.store.load(KIND))

    # -- paths and metadata ------------------------------------------------------------------------------------

    @staticmethod
    def normalize(path: object) -> str:
        return paths.workspace_path(path)

    def local_path(self, path: str) -> Path:
        return self.tree.local(self.normalize(path))

    def _existing(self, path: object) -> tuple[str, Path]:
        norm = self.normalize(path)
        return norm, self.tree.existing(norm)

    def _record(self, norm: str, object_type: str, language: str | None, keep_created: bool = True) -> None:
        old = self._meta.get(norm)
        now = self.shared.now_ms()
        doc: dict[str, Any] = {"object_type": object_type, "modified_at": now}
        if old is not None and keep_created and old.get("object_type") == object_type:
            doc["object_id"], doc["created_at"] = old["object_id"], old["created_at"]
        else:
            doc["object_id"] = self.shared.store.next_id("workspace_object_id", start=1_000_000_000_000_000)
            doc["created_at"] = now
        if language:
            doc["language"] = language
        self.shared.store.put(KIND, norm, doc)
        self._meta[norm] = doc

    def _forget(self, norm: str) -> None:
        prefix = norm.rstrip("/") + "/"
        for key in [k for k in self._meta if k == norm or k.startswith(prefix)]:
            self.shared.store.delete(KIND, key)
            del self._meta[key]

    def _info(self, norm: str, local: Path) -> dict[str, Any]:
        is_dir = local.is_dir()
        meta = self._meta.get(norm)
        if meta is None or (meta["object_type"] == "DIRECTORY") != is_dir:
            self._record(norm, "DIRECTORY" if is_dir else "FILE", None)  # e.g. implicit parents
            meta = self._meta[norm]
        info: dict[str, Any] = {
            "object_type": meta["object_type"],
            "path": norm,
            "object_id": meta["object_id"],
            "resource_id": str(meta["object_id"]),
            "created_at": meta["created_at"],
            "modified_at": meta["modified_at"],
        }
        if meta.get("language"):
            info["language"] = meta["language"]
        if not is_dir:
            info["size"] = local.stat().st_size
        return info

    def _ensure_parent(self, norm: str) -> None:
        """The parent folder must exist; a user's home folder (``/Users/<name>``) exists implicitly."""
        parent = paths.parent_of(norm)
        local = self.tree.local(parent)
        if local.is_dir():
            return
        if local.exists():
            raise InvalidParameterValue(f"The parent ({parent}) of {norm} is not a folder.")
        if paths.parent_of(parent) == "/Users":
            local.mkdir(parents=True, exist_ok=True)
            return
        raise ResourceDoesNotExist(f"The parent folder ({parent}) does not exist.")

    def identify(self, path: str) -> tuple[str, int] | None:
        """``(object_type, object_id)`` of a path with a record (permissions address objects by id)."""
        with self.shared.lock:
            meta = self._meta.get(path)
            return (meta["object_type"], int(meta["object_id"])) if meta else None

    def path_of(self, object_id: int) -> tuple[str, str] | None:
        """``(object_type, path)`` of an object id, or None (the Permissions API names objects by id)."""
        with self.shared.lock:
            for path, meta in self._meta.items():
                if int(meta["object_id"]) == object_id:
                    return meta["object_type"], path
        return None

    # -- read side ---------------------------------------------------------------------------------------------

    def get_status(self, path: object) -> dict[str, Any]:
        with self.shared.lock:
            return self.tree.status(self.normalize(path), self._info)

    def list(self, path: object) -> list[dict[str, Any]]:
        with self.shared.lock:
            return self.tree.listing(self.normalize(path), self._info)

    def export(self, path: object, fmt: str | None) -> Exported:
        """(content, file_type) of a notebook (SOURCE/AUTO/JUPYTER) or a file (raw bytes)."""
        fmt = (fmt or "SOURCE").upper()
        with self.shared.lock:
            norm, local = self._existing(path)
            if local.is_dir():
                raise InvalidParameterValue(
                    f"Cannot export folder {norm} as {fmt}: the local workspace exports"
                    " notebooks and files only (folders need DBC, which it does not"
                    " support). Export each object instead."
                )
            meta = self._meta.get(norm, {})
            data = local.read_bytes()
        if meta.get("object_type") != "NOTEBOOK":
            if fmt not in ("SOURCE", "AUTO", "RAW"):
                raise InvalidParameterValue(f"Cannot export file {norm} as {fmt}: use format SOURCE, AUTO or RAW.")
            return Exported(data, None)
        language = meta["language"]
        if fmt in ("SOURCE", "AUTO"):
            return Exported(data, EXTENSION[language])
        if fmt == "JUPYTER":
            return Exported(to_jupyter(data.decode("utf-8", "replace"), language), "ipynb")
        raise InvalidParameterValue(
            f"Export format {fmt} is not supported by the local workspace: use SOURCE, AUTO or JUPYTER."
        )

    def notebook_source(self, path: str) -> NotebookSource:
        """(language, SOURCE text) of a notebook, for running ``notebook_task.notebook_path``."""
        with self.shared.lock:
            norm, local = self._existing(path)
            meta = self._meta.get(norm, {})
            if local.is_dir() or meta.get("object_type") != "NOTEBOOK":
                raise InvalidParameterValue(f"The object at {norm} is not a notebook.")
            return NotebookSource(meta["language"], local.read_text(encoding="utf-8", errors="replace"))

    # -- write side --------------------------------------------------------------------------------------------

    def import_(self, path: object, content: bytes, fmt: str | None, language: str | None, overwrite: bool) -> None:
        """Import a notebook or file. SOURCE needs a language; AUTO decides by extension and header."""
        if len(content) > MAX_IMPORT_BYTES:
            raise MaxNotebookSizeExceeded(
                f"File size imported is ({len(content)} bytes), exceeded max size ({MAX_IMPORT_BYTES} bytes)"
            )
        fmt = (fmt or "SOURCE").upper()
        language = _check_language(language.upper() if language else None)
        norm = self.normalize(path)
        if fmt in UNSUPPORTED_FORMATS:
            raise InvalidParameterValue(
                f"Import format {fmt} is not supported by the local workspace: import"
                " notebooks as SOURCE (or JUPYTER, AUTO) instead."
            )
        object_type, text = self._classify(norm, content, fmt, language)
        if object_type == "NOTEBOOK":
            language, source = text
            norm = self._strip_extension(norm) if fmt in ("AUTO", "JUPYTER") else norm
            data = source.encode("utf-8")
        else:
            data = content
        with self.shared.lock:
            local = self.tree.local(norm)
            if norm == "/" or local.is_dir() or (local.exists() and not overwrite):
                raise _already_exists(norm)
            self._ensure_parent(norm)
            self._record(norm, object_type, language if object_type == "NOTEBOOK" else None)
            paths.atomic_write(local, data)

    def _classify(self, norm: str, content: bytes, fmt: str, language: str | None) -> tuple[str, Any]:
        if fmt == "RAW":
            return "FILE", None
        suffix = Path(norm).suffix.lower()
        if fmt == "JUPYTER" or (fmt == "AUTO" and suffix == ".ipynb"):
            return "NOTEBOOK", from_jupyter(content, language)
        if fmt == "AUTO":
            lang = BY_EXTENSION.get(suffix)
            text = content.decode("utf-8", "replace").lstrip("\ufeff")
            if lang and text.startswith(header(lang)):
                return "NOTEBOOK", (lang, text)
            return "FILE", None
        if fmt != "SOURCE":
            raise InvalidParameterValue(f"Invalid format '{fmt}': use SOURCE, AUTO, JUPYTER or RAW.")
        if language is None:
            raise InvalidParameterValue(
                "The language field is required when format is SOURCE: pass one of"
                " PYTHON, SQL, SCALA, R (or use format AUTO)."
            )
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterValue("A SOURCE notebook must be UTF-8 text.") from None
        return "NOTEBOOK", (language, to_source(text, language))

    @staticmethod
    def _strip_extension(norm: str) -> str:
        suffix = Path(norm).suffix
        return norm[: -len(suffix)] if suffix and norm.count("/") and len(norm) > len(suffix) + 1 else norm

    def mkdirs(self, path: object) -> None:
        with self.shared.lock:
            self.tree.mkdirs(self.normalize(path), blocked=_already_exists, before=self._record_folder)

    def _record_folder(self, norm: str) -> None:
        self._record(norm, "DIRECTORY", None)

    def delete(self, path: object, recursive: bool) -> None:
        with self.shared.lock:
            norm, local = self._existing(path)
            if norm == "/" or norm in ROOT_FOLDERS:
                raise InvalidParameterValue(f"Cannot delete {norm}: it is a root folder of the workspace.")
            if local.is_dir() and not recursive and self.tree.has_content(local):
                raise DirectoryNotEmpty(
                    f"Folder ({norm}) is not empty. Pass recursive=true to delete it and its contents."
                )
            self.tree.remove(local)
            self._forget(norm)
