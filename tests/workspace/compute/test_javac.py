"""The project's Java classes are compiled against pyspark's jars once per installation and sources."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from airbricks.workspace.compute.spark.install import SparkNotAvailable, find_spark
from airbricks.workspace.compute.spark.javac import project_jar

SOURCE = """package airbricks.probe;

import org.apache.spark.SparkConf;

public final class Probe {
    public static String master() {
        return new SparkConf(false).get("spark.master", "local");
    }
}
"""


def write_source(root: Path, text: str) -> None:
    folder = root / "airbricks" / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Probe.java").write_text(text)


def test_compiles_against_spark_once_and_rebuilds_when_a_source_changes(tmp_path: Path) -> None:
    install = find_spark()
    sources, cache = tmp_path / "java", tmp_path / "cache"
    write_source(sources, SOURCE)
    jar = project_jar(install, cache, sources)
    assert zipfile.ZipFile(jar).namelist() == ["airbricks/probe/Probe.class"]
    built = jar.stat().st_mtime_ns
    assert project_jar(install, cache, sources) == jar and jar.stat().st_mtime_ns == built  # cached

    write_source(sources, SOURCE.replace('"local"', '"local[2]"'))
    rebuilt = project_jar(install, cache, sources)
    assert rebuilt != jar and rebuilt.is_file()
    assert jar.is_file()  # another checkout running the older sources keeps its jar
    assert sorted(p.name for p in cache.iterdir()) == sorted([jar.name, rebuilt.name])  # nothing half-written


def test_a_source_javac_refuses_names_the_error_and_publishes_nothing(tmp_path: Path) -> None:
    sources, cache = tmp_path / "java", tmp_path / "cache"
    write_source(sources, SOURCE.replace("SparkConf(false)", "NoSuchConf()"))
    with pytest.raises(SparkNotAvailable, match="(?s)javac refused .*NoSuchConf"):
        project_jar(find_spark(), cache, sources)
    assert list(cache.iterdir()) == []
