"""The file tree DBFS, the Workspace API and the Files API share: a bare tree on a temporary root, no service."""

from __future__ import annotations

from pathlib import Path

import pytest

from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, NotFound, ResourceAlreadyExists
from airbricks.workspace.storage.tree import FileTree


def _missing(norm: str) -> NotFound:
    return NotFound(f"nothing at {norm}")


def _blocked(norm: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"file at {norm}")


def _describe(norm: str, local: Path) -> tuple[str, bool]:
    return norm, local.is_dir()


@pytest.fixture
def tree(tmp_path: Path) -> FileTree:
    return FileTree(tmp_path / "root", missing=_missing)


def test_the_root_is_created_and_a_prefix_is_not_on_disk(tmp_path: Path) -> None:
    volumes = FileTree(tmp_path / "volumes", missing=_missing, prefix="/Volumes")
    assert (tmp_path / "volumes").is_dir()
    assert volumes.local("/Volumes/c/s/v/x.txt") == tmp_path / "volumes" / "c" / "s" / "v" / "x.txt"
    assert volumes.local("/Volumes") == tmp_path / "volumes"


def test_a_symlink_leading_outside_the_root_is_refused(tree: FileTree, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (tree.root / "link").symlink_to(outside)
    with pytest.raises(InvalidParameterValue, match="resolves outside"):
        tree.local("/link/secret")
    (tree.root / "inside").mkdir()
    (tree.root / "alias").symlink_to(tree.root / "inside")
    assert tree.local("/alias/x") == tree.root / "alias" / "x"  # a link that stays inside is fine


def test_status_of_what_is_missing_raises_the_services_error(tree: FileTree) -> None:
    with pytest.raises(NotFound, match="nothing at /a/b"):
        tree.status("/a/b", _describe)
    (tree.root / "a").mkdir()
    assert tree.status("/a", _describe) == ("/a", True)


def test_listing_sorts_by_name_and_hides_temporaries_and_escaping_links(tree: FileTree, tmp_path: Path) -> None:
    folder = tree.root / "d"
    folder.mkdir()
    (folder / "b.txt").write_text("b")
    (folder / "a").mkdir()
    (folder / ".b.txt.tmp-12-34").write_text("half")  # an in-flight atomic write
    (tmp_path / "elsewhere").mkdir()
    (folder / "c-link").symlink_to(tmp_path / "elsewhere")
    assert tree.listing("/d", _describe) == [("/d/a", True), ("/d/b.txt", False)]
    assert tree.listing("/d/b.txt", _describe) == [("/d/b.txt", False)]  # a file lists itself
    assert tree.listing("/", _describe) == [("/d", True)]


def test_listing_skips_an_entry_that_vanishes_while_described(tree: FileTree) -> None:
    (tree.root / "a").write_text("a")
    (tree.root / "b").write_text("b")

    def describe(norm: str, local: Path) -> str:
        if norm == "/a":
            raise FileNotFoundError(local)
        return norm

    assert tree.listing("/", describe) == ["/b"]


def test_file_on_the_way_names_the_first_file_from_the_top(tmp_path: Path) -> None:
    tree = FileTree(tmp_path / "volumes", missing=_missing, prefix="/Volumes")
    (tree.root / "c" / "s").mkdir(parents=True)
    (tree.root / "c" / "s" / "f").write_text("f")
    assert tree.file_on_the_way("/Volumes/c/s/f/x/y") == "/Volumes/c/s/f"
    assert tree.file_on_the_way("/Volumes/c/s/f") is None  # the path itself is not "on the way"
    assert tree.file_on_the_way("/Volumes/c/s/f", itself=True) == "/Volumes/c/s/f"
    assert tree.file_on_the_way("/Volumes/c/s/new/x") is None


def test_mkdirs_creates_the_missing_folders_top_down(tree: FileTree) -> None:
    (tree.root / "a").mkdir()
    created: list[str] = []
    tree.mkdirs("/a/b/c", blocked=_blocked, before=lambda folder: created.append(folder))
    assert created == ["/a/b", "/a/b/c"]  # "/a" existed: no callback for it
    assert (tree.root / "a" / "b" / "c").is_dir()
    tree.mkdirs("/a/b/c", blocked=_blocked, before=lambda folder: created.append(folder))
    assert created == ["/a/b", "/a/b/c"]  # nothing left to create


def test_mkdirs_through_or_onto_a_file_raises_blocked_with_the_file(tree: FileTree) -> None:
    (tree.root / "f").write_text("f")
    for target in ("/f", "/f/x/y"):
        with pytest.raises(DatabricksError, match="file at /f$"):
            tree.mkdirs(target, blocked=_blocked)
    assert (tree.root / "f").is_file()


def test_content_ignores_temporaries_and_remove_takes_files_and_trees(tree: FileTree) -> None:
    folder = tree.root / "d"
    (folder / "sub").mkdir(parents=True)
    assert tree.has_content(folder)
    (folder / "sub" / ".x.tmp-1-2").write_text("half")
    assert not tree.has_content(folder / "sub")
    (folder / "sub" / "file").write_text("x")
    tree.remove(folder / "sub" / "file")
    assert not (folder / "sub" / "file").exists()
    tree.remove(folder)
    assert not folder.exists() and tree.root.is_dir()
