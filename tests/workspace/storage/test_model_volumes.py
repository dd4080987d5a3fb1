"""The Volumes model behind the Files API, over Unity Catalog (a Shared over a temporary store; no workspace, no
HTTP): uploads committed from staging files, directories, listing pages, and the Files API's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.workspace.storage.kit import fails

from airbricks.workspace.catalog.unity_catalog import UnityCatalog
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.volumes import Volumes

VOL = "/Volumes/main/default/vol"


@pytest.fixture
def volumes(shared: Shared) -> Volumes:
    catalog = UnityCatalog(shared, paths.volumes_dir(shared.data_dir))
    catalog.create_volume("main", "default", "vol", "MANAGED")
    return Volumes(shared, require_volume=catalog.require_volume)


def _upload(volumes: Volumes, path: str, data: bytes, overwrite: bool = True) -> Path:
    """As the route does: check, stream to a staging file, commit."""
    volumes.check_upload(path, overwrite)
    staged = paths.staging_file(volumes.shared.data_dir)
    staged.write_bytes(data)
    volumes.commit_upload(path, staged, overwrite)
    return staged


def test_an_upload_lands_in_the_volumes_folder_and_its_staging_file_is_gone(volumes: Volumes) -> None:
    staged = _upload(volumes, f"{VOL}/dir/a.csv", b"x,y\n1,2\n")
    assert not staged.exists()
    assert (volumes.root / "main" / "default" / "vol" / "dir" / "a.csv").read_bytes() == b"x,y\n1,2\n"
    found = volumes.file(f"{VOL}/dir/a.csv")
    assert (found.path, found.stat.st_size) == (f"{VOL}/dir/a.csv", 8)


def test_a_volume_that_does_not_exist_is_404_not_found(volumes: Volumes) -> None:
    message = "Volume 'main.default.nope' does not exist"
    fails(lambda: volumes.check_upload("/Volumes/main/default/nope/f", True), 404, "NOT_FOUND", message)
    fails(lambda: volumes.create_directory("/Volumes/main/default/nope/d"), 404, "NOT_FOUND", message)
    fails(lambda: volumes.list_directory("/Volumes/main/default/nope", None, None), 404, "NOT_FOUND", message)
    assert not (volumes.root / "main" / "default" / "nope").exists()


def test_only_volume_paths_are_accepted_and_none_escapes(volumes: Volumes) -> None:
    fails(lambda: volumes.file("/tmp/x"), 400, "INVALID_PARAMETER_VALUE", "accepts Unity Catalog volume paths only")
    fails(lambda: volumes.file(VOL), 400, "INVALID_PARAMETER_VALUE", "/Volumes/<catalog>/<schema>/<volume>/<path>")
    fails(lambda: volumes.check_upload(f"{VOL}/../../x", True), 400, "INVALID_PARAMETER_VALUE", "'..' is not")
    fails(lambda: volumes.create_directory("Volumes/x"), 400, "INVALID_PARAMETER_VALUE", "must be absolute")


def test_an_existing_file_is_replaced_only_with_overwrite(volumes: Volumes) -> None:
    _upload(volumes, f"{VOL}/f.txt", b"one")
    fails(
        lambda: volumes.check_upload(f"{VOL}/f.txt", False),
        409,
        "ALREADY_EXISTS",
        f"The file being created already exists: {VOL}/f.txt. Pass overwrite=true",
    )
    staged = paths.staging_file(volumes.shared.data_dir)
    staged.write_bytes(b"two")
    fails(lambda: volumes.commit_upload(f"{VOL}/f.txt", staged, False), 409, "ALREADY_EXISTS", "already exists")
    assert not staged.exists()  # a refused upload leaves nothing staged
    _upload(volumes, f"{VOL}/f.txt", b"three", overwrite=True)
    assert volumes.file(f"{VOL}/f.txt").local.read_bytes() == b"three"


def test_a_file_never_replaces_a_directory_nor_sits_below_a_file(volumes: Volumes) -> None:
    volumes.create_directory(f"{VOL}/d")
    fails(
        lambda: volumes.check_upload(f"{VOL}/d", True), 409, "ALREADY_EXISTS", f"A directory already exists at {VOL}/d"
    )
    _upload(volumes, f"{VOL}/f", b"")
    fails(
        lambda: volumes.check_upload(f"{VOL}/f/below", True),
        409,
        "ALREADY_EXISTS",
        f"A file already exists at {VOL}/f; it cannot be used as a directory.",
    )


def test_file_is_404_for_a_directory_or_nothing(volumes: Volumes) -> None:
    volumes.create_directory(f"{VOL}/d")
    fails(lambda: volumes.file(f"{VOL}/d"), 404, "NOT_FOUND", f"The file being accessed is not found: {VOL}/d is a")
    fails(lambda: volumes.file(f"{VOL}/none"), 404, "NOT_FOUND", f"The file being accessed is not found: {VOL}/none.")
    _upload(volumes, f"{VOL}/gone", b"x")
    volumes.delete_file(f"{VOL}/gone")
    fails(lambda: volumes.delete_file(f"{VOL}/gone"), 404, "NOT_FOUND", "not found")


def test_create_directory_is_mkdir_p_but_not_through_a_file(volumes: Volumes) -> None:
    volumes.create_directory(f"{VOL}/a/b/c")
    volumes.create_directory(f"{VOL}/a/b")
    volumes.directory_exists(f"{VOL}/a/b/c")
    _upload(volumes, f"{VOL}/a/f", b"")
    fails(
        lambda: volumes.create_directory(f"{VOL}/a/f/g"),
        409,
        "ALREADY_EXISTS",
        f"A file already exists at {VOL}/a/f; cannot create directory {VOL}/a/f/g.",
    )
    fails(
        lambda: volumes.directory_exists(f"{VOL}/zz"),
        404,
        "NOT_FOUND",
        f"directory being accessed is not found: {VOL}/zz.",
    )


def test_delete_directory_only_when_empty_and_never_the_volume(volumes: Volumes) -> None:
    _upload(volumes, f"{VOL}/d/f", b"x")
    fails(lambda: volumes.delete_directory(f"{VOL}/d"), 409, "RESOURCE_CONFLICT", f"not empty: {VOL}/d.")
    fails(lambda: volumes.delete_directory(VOL), 400, "INVALID_PARAMETER_VALUE", "it is the root of a volume")
    volumes.delete_file(f"{VOL}/d/f")
    (volumes.root / "main" / "default" / "vol" / "d" / ".f.tmp-1-2").write_bytes(b"half")  # not content
    volumes.delete_directory(f"{VOL}/d")
    fails(lambda: volumes.delete_directory(f"{VOL}/d"), 404, "NOT_FOUND", f"not found: {VOL}/d.")


def test_listing_pages_by_the_last_name_returned(volumes: Volumes) -> None:
    for name in ("c.txt", "a.txt", "b"):
        if name == "b":
            volumes.create_directory(f"{VOL}/{name}")
        else:
            _upload(volumes, f"{VOL}/{name}", b"12345")
    first = volumes.list_directory(VOL, 2, None)
    assert [e["name"] for e in first["contents"]] == ["a.txt", "b"]
    assert first["contents"][0] | {"last_modified": 0} == {
        "path": f"{VOL}/a.txt",
        "name": "a.txt",
        "is_directory": False,
        "last_modified": 0,
        "file_size": 5,
    }
    assert "file_size" not in first["contents"][1]
    _upload(volumes, f"{VOL}/aa.txt", b"")  # added before the token: the next page neither skips nor repeats
    second = volumes.list_directory(VOL, 2, first["next_page_token"])
    assert [e["name"] for e in second["contents"]] == ["c.txt"] and "next_page_token" not in second
    everything = volumes.list_directory(VOL, None, None)
    assert [e["name"] for e in everything["contents"]] == ["a.txt", "aa.txt", "b", "c.txt"]
    fails(lambda: volumes.list_directory(VOL, None, "_w=="), 400, "INVALID_PARAMETER_VALUE", "Invalid page_token")
