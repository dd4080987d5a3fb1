"""The DBFS model alone (a Shared over a temporary store, no workspace, no HTTP): files, the real limits and errors."""

from __future__ import annotations

import base64

import pytest
from tests.workspace.storage.kit import fails

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.dbfs import MAX_BLOCK_BYTES, Dbfs, decode_block


@pytest.fixture
def dbfs(shared: Shared) -> Dbfs:
    return Dbfs(shared)


def _text(answer: dict) -> bytes:
    return base64.b64decode(answer["data"])


def test_put_read_and_status_of_a_file(dbfs: Dbfs) -> None:
    dbfs.put("dbfs:/data/a.txt", b"hello world", overwrite=False)
    assert (dbfs.root / "data" / "a.txt").read_bytes() == b"hello world"
    status = dbfs.get_status("/data/a.txt")
    assert status["path"] == "/data/a.txt" and not status["is_dir"] and status["file_size"] == 11
    assert status["modification_time"] > 1_600_000_000_000
    assert dbfs.get_status("/data") | {"modification_time": 0} == {
        "path": "/data",
        "is_dir": True,
        "file_size": 0,
        "modification_time": 0,
    }
    answer = dbfs.read("/data/a.txt", 6, 3)
    assert (answer["bytes_read"], _text(answer)) == (3, b"wor")
    assert _text(dbfs.read("/data/a.txt", None, None)) == b"hello world"


def test_a_missing_path_is_404_resource_does_not_exist(dbfs: Dbfs) -> None:
    for call in (lambda: dbfs.get_status("/nope"), lambda: dbfs.list("/nope"), lambda: dbfs.read("/nope", 0, 1)):
        fails(call, 404, "RESOURCE_DOES_NOT_EXIST", "No file or directory exists on path /nope.")


def test_an_existing_file_is_replaced_only_with_overwrite(dbfs: Dbfs) -> None:
    dbfs.put("/a.txt", b"one", overwrite=False)
    fails(
        lambda: dbfs.put("/a.txt", b"two", overwrite=False),
        400,
        "RESOURCE_ALREADY_EXISTS",
        "A file or directory already exists at the input path /a.txt.",
    )
    dbfs.put("/a.txt", b"two", overwrite=True)
    assert _text(dbfs.read("/a.txt", 0, 10)) == b"two"
    dbfs.mkdirs("/dir")
    fails(lambda: dbfs.put("/dir", b"x", overwrite=True), 400, "RESOURCE_ALREADY_EXISTS", "input path /dir.")
    fails(lambda: dbfs.put("/a.txt/below", b"x", overwrite=True), 400, "RESOURCE_ALREADY_EXISTS", "path /a.txt.")


def test_paths_escaping_the_root_are_refused(dbfs: Dbfs) -> None:
    fails(lambda: dbfs.put("/../outside.txt", b"x", True), 400, "INVALID_PARAMETER_VALUE", "'..' is not allowed")
    fails(lambda: dbfs.get_status("dbfs:/a/../../etc"), 400, "INVALID_PARAMETER_VALUE", "'..' is not allowed")
    fails(lambda: dbfs.mkdirs("relative/x"), 400, "INVALID_PARAMETER_VALUE", "Path must be absolute: relative/x")
    fails(lambda: dbfs.list("/a\x00b"), 400, "INVALID_PARAMETER_VALUE", "NUL byte")
    fails(lambda: dbfs.get_status(""), 400, "INVALID_PARAMETER_VALUE", "Missing required field: path")
    assert not (dbfs.root.parent / "outside.txt").exists()


def test_list_sorts_a_directory_and_lists_a_file_as_itself(dbfs: Dbfs) -> None:
    dbfs.put("/d/b.txt", b"bb", overwrite=False)
    dbfs.mkdirs("/d/a")
    assert [(f["path"], f["is_dir"], f["file_size"]) for f in dbfs.list("/d")] == [
        ("/d/a", True, 0),
        ("/d/b.txt", False, 2),
    ]
    assert [f["path"] for f in dbfs.list("/d/b.txt")] == ["/d/b.txt"]


def test_mkdirs_is_idempotent_but_not_over_a_file(dbfs: Dbfs) -> None:
    dbfs.mkdirs("/x/y/z")
    dbfs.mkdirs("/x/y")
    assert (dbfs.root / "x" / "y" / "z").is_dir()
    dbfs.put("/f", b"", overwrite=False)
    fails(lambda: dbfs.mkdirs("/f/sub"), 400, "RESOURCE_ALREADY_EXISTS", "input path /f.")


def test_delete_quietly_accepts_a_missing_path_and_needs_recursive_for_content(dbfs: Dbfs) -> None:
    dbfs.delete("/never-there", recursive=False)
    dbfs.put("/d/sub/f.txt", b"x", overwrite=False)
    fails(lambda: dbfs.delete("/d", recursive=False), 400, "IO_ERROR", "Directory /d is not empty")
    dbfs.delete("/d/sub/f.txt", recursive=False)
    dbfs.delete("/d", recursive=True)
    assert not (dbfs.root / "d").exists()
    dbfs.put("/e/f.txt", b"x", overwrite=False)
    dbfs.delete("/", recursive=True)
    assert dbfs.root.is_dir() and list(dbfs.root.iterdir()) == []


def test_move_renames_but_never_onto_something_or_into_itself(dbfs: Dbfs) -> None:
    dbfs.put("/src/f.txt", b"data", overwrite=False)
    dbfs.put("/taken", b"", overwrite=False)
    fails(lambda: dbfs.move("/src", "/taken"), 400, "RESOURCE_ALREADY_EXISTS", "input path /taken.")
    fails(lambda: dbfs.move("/src", "/src/inner"), 400, "INVALID_PARAMETER_VALUE", "Cannot move /src into itself")
    fails(lambda: dbfs.move("/nope", "/x"), 404, "RESOURCE_DOES_NOT_EXIST", "path /nope.")
    fails(lambda: dbfs.move("/src", "/../x"), 400, "INVALID_PARAMETER_VALUE", "Invalid destination_path")
    dbfs.move("/src", "/moved/here")
    assert _text(dbfs.read("/moved/here/f.txt", 0, 10)) == b"data"
    assert not (dbfs.root / "src").exists()


def test_read_limits_and_refusals(dbfs: Dbfs) -> None:
    dbfs.put("/f", b"abc", overwrite=False)
    fails(lambda: dbfs.read("/f", 0, MAX_BLOCK_BYTES + 1), 400, "MAX_READ_SIZE_EXCEEDED", "Cannot read more than")
    assert dbfs.read("/f", 0, MAX_BLOCK_BYTES)["bytes_read"] == 3
    fails(lambda: dbfs.read("/f", -1, 1), 400, "INVALID_PARAMETER_VALUE", "'offset': must be non-negative")
    fails(lambda: dbfs.read("/f", 0, -1), 400, "INVALID_PARAMETER_VALUE", "'length': must be non-negative")
    dbfs.mkdirs("/d")
    fails(lambda: dbfs.read("/d", 0, 1), 400, "INVALID_PARAMETER_VALUE", "Cannot read /d: it is a directory")


def test_blocks_are_limited_to_one_megabyte_of_valid_base64() -> None:
    assert decode_block(base64.b64encode(b"x" * MAX_BLOCK_BYTES).decode(), "data") == b"x" * MAX_BLOCK_BYTES
    too_big = base64.b64encode(b"x" * (MAX_BLOCK_BYTES + 1)).decode()
    fails(lambda: decode_block(too_big, "data"), 400, "MAX_BLOCK_SIZE_EXCEEDED", "exceeds the maximum of 1048576")
    fails(lambda: decode_block("not base64!", "data"), 400, "INVALID_PARAMETER_VALUE", "'data': it is not valid")
    fails(lambda: decode_block(42, "contents"), 400, "INVALID_PARAMETER_VALUE", "'contents': expected a base64")


def test_a_streamed_file_appears_only_on_close(dbfs: Dbfs) -> None:
    handle = dbfs.create("/streamed.bin", overwrite=False)
    dbfs.add_block(handle, b"part one, ")
    dbfs.add_block(handle, b"part two")
    fails(lambda: dbfs.get_status("/streamed.bin"), 404, "RESOURCE_DOES_NOT_EXIST", "/streamed.bin")
    dbfs.close(handle)
    assert _text(dbfs.read("/streamed.bin", 0, 100)) == b"part one, part two"
    fails(lambda: dbfs.add_block(handle, b"more"), 404, "RESOURCE_DOES_NOT_EXIST", f"The handle {handle} does not")


def test_close_rechecks_overwrite_against_a_file_written_meanwhile(dbfs: Dbfs) -> None:
    handle = dbfs.create("/race.txt", overwrite=False)
    dbfs.add_block(handle, b"late")
    dbfs.put("/race.txt", b"first", overwrite=False)
    fails(lambda: dbfs.close(handle), 400, "RESOURCE_ALREADY_EXISTS", "input path /race.txt.")
    assert _text(dbfs.read("/race.txt", 0, 10)) == b"first"
    assert list((dbfs.shared.data_dir / "tmp").iterdir()) == []  # the staged bytes are gone too


def test_idle_handles_expire_after_ten_minutes(dbfs: Dbfs, clock: ManualClock) -> None:
    kept = dbfs.create("/kept", overwrite=False)
    idle = dbfs.create("/idle", overwrite=False)
    clock.advance(9 * 60 * 1000)
    dbfs.add_block(kept, b"k")  # touching a handle keeps it alive
    clock.advance(2 * 60 * 1000)
    fails(lambda: dbfs.add_block(idle, b"x"), 404, "RESOURCE_DOES_NOT_EXIST", f"The handle {idle} does not exist")
    dbfs.close(kept)
    assert dbfs.get_status("/kept")["file_size"] == 1
