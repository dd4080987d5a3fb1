"""The class-data archive cache: which JVM dumps, which maps an archive, and what keys an archive."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airbricks.workspace.compute.spark.class_cache import ClassCache
from airbricks.workspace.compute.spark.install import SparkInstall


@pytest.fixture
def install(tmp_path: Path) -> SparkInstall:
    home = tmp_path / "pyspark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "spark-core.jar").write_bytes(b"core")
    bin_dir = tmp_path / "jdk" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("java", "jcmd"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
    return SparkInstall(home, str(bin_dir / "java"), 17, "4.3.0")


def test_the_first_jvm_of_a_kind_records_for_a_dump_the_next_ones_start_plain(
    tmp_path: Path, install: SparkInstall
) -> None:
    cache = ClassCache(tmp_path / "cache", install)
    options, dump = cache.options("driver")
    assert options == ["-XX:+RecordDynamicDumpInfo"] and dump is not None
    assert dump.archive == cache.archive("driver")
    assert cache.options("driver") == ([], None)  # one attempt per kind and server
    assert cache.options("metastore")[0] == ["-XX:+RecordDynamicDumpInfo"]


def test_an_existing_archive_is_mapped(tmp_path: Path, install: SparkInstall) -> None:
    cache = ClassCache(tmp_path / "cache", install)
    cache.archive("driver").parent.mkdir(parents=True)
    cache.archive("driver").write_bytes(b"archive")
    assert cache.options("driver") == ([f"-XX:SharedArchiveFile={cache.archive('driver')}"], None)


def test_without_jcmd_no_jvm_dumps(tmp_path: Path, install: SparkInstall) -> None:
    (Path(install.java).parent / "jcmd").unlink()
    assert ClassCache(tmp_path / "cache", install).options("driver") == ([], None)


def test_a_changed_jar_or_java_names_another_archive(tmp_path: Path, install: SparkInstall) -> None:
    before = ClassCache(tmp_path / "cache", install).archive("driver")
    (install.jars / "spark-core.jar").write_bytes(b"core, another build")
    after_jar = ClassCache(tmp_path / "cache", install).archive("driver")
    os.utime(install.java, ns=(0, 0))
    after_java = ClassCache(tmp_path / "cache", install).archive("driver")
    assert len({before, after_jar, after_java}) == 3


def test_a_dump_of_a_process_that_is_not_a_jvm_publishes_nothing(tmp_path: Path, install: SparkInstall) -> None:
    cache = ClassCache(tmp_path / "cache", install)
    _, dump = cache.options("driver")
    assert dump is not None
    assert dump.take(os.getpid()) is False  # this Python process has no -cp: there is nothing to check against
    assert not cache.archive("driver").exists()
    assert not list((tmp_path / "cache").glob("*.pending"))
