"""The Workspace objects model alone (a Shared over a temporary store, no workspace, no HTTP): notebooks and files
imported, exported, listed and deleted with the Workspace API's errors; metadata kept in the store."""

from __future__ import annotations

import json

import pytest
from tests.workspace.storage.kit import fails

from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.workspace_objects import MAX_IMPORT_BYTES, WorkspaceObjects

NOTEBOOK = b"print('hi')\n"


@pytest.fixture
def objects(shared: Shared) -> WorkspaceObjects:
    return WorkspaceObjects(shared)


def test_the_root_folders_exist_from_the_start(objects: WorkspaceObjects) -> None:
    assert [o["path"] for o in objects.list("/")] == ["/Repos", "/Shared", "/Users"]
    assert all(o["object_type"] == "DIRECTORY" for o in objects.list("/"))


def test_a_source_notebook_round_trips_with_its_language(objects: WorkspaceObjects) -> None:
    objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", "python", overwrite=False)
    status = objects.get_status("/Shared/nb")
    assert (status["object_type"], status["language"], status["path"]) == ("NOTEBOOK", "PYTHON", "/Shared/nb")
    assert status["resource_id"] == str(status["object_id"])
    exported = objects.export("/Shared/nb", "SOURCE")
    assert exported.content == b"# Databricks notebook source\n" + NOTEBOOK and exported.file_type == "py"
    jupyter = json.loads(objects.export("/Shared/nb", "JUPYTER").content)
    assert jupyter["cells"][0]["source"] == "print('hi')"
    assert objects.notebook_source("/Workspace/Shared/nb").language == "PYTHON"  # /Workspace is an alias


def test_auto_import_of_a_notebook_file_drops_its_extension(objects: WorkspaceObjects) -> None:
    objects.import_("/Shared/job.py", b"# Databricks notebook source\nx = 1\n", "AUTO", None, overwrite=False)
    assert objects.get_status("/Shared/job")["object_type"] == "NOTEBOOK"
    objects.import_("/Shared/plain.py", b"x = 1\n", "AUTO", None, overwrite=False)
    plain = objects.get_status("/Shared/plain.py")
    assert plain["object_type"] == "FILE" and plain["size"] == 6 and "language" not in plain


def test_import_errors_are_the_workspace_apis(objects: WorkspaceObjects) -> None:
    fails(
        lambda: objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", None, False),
        400,
        "INVALID_PARAMETER_VALUE",
        "The language field is required when format is SOURCE",
    )
    fails(
        lambda: objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", "COBOL", False),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid language 'COBOL'",
    )
    fails(
        lambda: objects.import_("/Shared/nb", NOTEBOOK, "DBC", None, False),
        400,
        "INVALID_PARAMETER_VALUE",
        "Import format DBC is not supported",
    )
    objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", "PYTHON", overwrite=False)
    fails(
        lambda: objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", "PYTHON", False),
        400,
        "RESOURCE_ALREADY_EXISTS",
        "/Shared/nb already exists",
    )
    objects.import_("/Shared/nb", b"print(2)\n", "SOURCE", "PYTHON", overwrite=True)
    assert b"print(2)" in objects.export("/Shared/nb", None).content


def test_imports_over_ten_megabytes_are_refused(objects: WorkspaceObjects) -> None:
    fails(
        lambda: objects.import_("/Shared/big", b"x" * (MAX_IMPORT_BYTES + 1), "RAW", None, False),
        400,
        "MAX_NOTEBOOK_SIZE_EXCEEDED",
        f"File size imported is ({MAX_IMPORT_BYTES + 1} bytes), exceeded max size ({MAX_IMPORT_BYTES} bytes)",
    )
    fails(lambda: objects.get_status("/Shared/big"), 404, "RESOURCE_DOES_NOT_EXIST", "Path (/Shared/big) doesn't")


def test_the_parent_must_exist_except_a_users_home(objects: WorkspaceObjects) -> None:
    fails(
        lambda: objects.import_("/Shared/no/nb", NOTEBOOK, "SOURCE", "SQL", False),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "The parent folder (/Shared/no) does not exist.",
    )
    objects.import_("/Users/someone@example.com/nb", NOTEBOOK, "SOURCE", "SQL", overwrite=False)
    assert objects.get_status("/Users/someone@example.com")["object_type"] == "DIRECTORY"
    objects.import_("/Shared/f", b"", "RAW", None, overwrite=False)
    fails(
        lambda: objects.import_("/Shared/f/nb", NOTEBOOK, "SOURCE", "SQL", False),
        400,
        "INVALID_PARAMETER_VALUE",
        "The parent (/Shared/f) of /Shared/f/nb is not a folder.",
    )


def test_paths_escaping_the_root_are_refused(objects: WorkspaceObjects) -> None:
    fails(lambda: objects.get_status("/Shared/../../etc"), 400, "INVALID_PARAMETER_VALUE", "'..' is not allowed")
    fails(lambda: objects.mkdirs("Shared/x"), 400, "INVALID_PARAMETER_VALUE", "Path must be absolute")
    fails(lambda: objects.import_("/../x", NOTEBOOK, "SOURCE", "SQL", False), 400, "INVALID_PARAMETER_VALUE", "'..'")


def test_mkdirs_records_each_new_folder_but_not_over_a_file(objects: WorkspaceObjects) -> None:
    objects.mkdirs("/Shared/a/b")
    ids = {objects.get_status(p)["object_id"] for p in ("/Shared/a", "/Shared/a/b", "/Shared")}
    assert len(ids) == 3
    objects.import_("/Shared/a/f", b"", "RAW", None, overwrite=False)
    fails(lambda: objects.mkdirs("/Shared/a/f/x"), 400, "RESOURCE_ALREADY_EXISTS", "/Shared/a/f already exists")


def test_delete_needs_recursive_for_content_and_spares_root_folders(objects: WorkspaceObjects) -> None:
    objects.mkdirs("/Shared/d")
    objects.import_("/Shared/d/nb", NOTEBOOK, "SOURCE", "SCALA", overwrite=False)
    old_id = objects.get_status("/Shared/d/nb")["object_id"]
    fails(
        lambda: objects.delete("/Shared/d", recursive=False),
        400,
        "DIRECTORY_NOT_EMPTY",
        "Folder (/Shared/d) is not empty. Pass recursive=true",
    )
    fails(lambda: objects.delete("/Shared", True), 400, "INVALID_PARAMETER_VALUE", "it is a root folder")
    fails(lambda: objects.delete("/nope", False), 404, "RESOURCE_DOES_NOT_EXIST", "Path (/nope) doesn't exist.")
    objects.delete("/Shared/d", recursive=True)
    assert objects.list("/Shared") == []
    objects.mkdirs("/Shared/d")
    objects.import_("/Shared/d/nb", b"x\n", "RAW", None, overwrite=False)
    again = objects.get_status("/Shared/d/nb")
    assert again["object_type"] == "FILE" and again["object_id"] != old_id  # the old metadata was forgotten


def test_metadata_survives_a_restart(shared: Shared, objects: WorkspaceObjects) -> None:
    objects.import_("/Shared/nb", NOTEBOOK, "SOURCE", "R", overwrite=False)
    before = objects.get_status("/Shared/nb")
    after = WorkspaceObjects(shared).get_status("/Shared/nb")
    assert after == before and after["language"] == "R"
