"""The kernel's ``dbutils`` and command runner in process, no server: help texts, what the SDK's remote
``dbutils`` sends (indented source ending in ``dbutils.notebook.exit``), named-tuple results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airbricks.workspace.kernel.command import run_python
from airbricks.workspace.kernel.dbutils import DBUtils, FileInfo
from airbricks.workspace.kernel.job import JobDBUtils


@pytest.fixture
def env(tmp_path: Path) -> dict[str, object]:
    return {"__name__": "__main__", "dbutils": DBUtils({}, tmp_path / "dbfs", tmp_path / "volumes")}


def test_indented_source_runs_and_notebook_exit_is_the_result(env: dict[str, object]) -> None:
    raw = json.dumps(([], {}))
    code = f"""
        import json
        (args, kwargs) = json.loads('{raw}')
        result = dbutils.fs.mounts(*args, **kwargs)
        dbutils.notebook.exit(json.dumps(result))
        """
    result = run_python(code, env)
    assert result == {
        "resultType": "text",
        "data": '[["/", "DatabricksRoot", ""], ["/Volumes", "UnityCatalogVolumes", ""]]',
    }
    assert run_python("x = 1\nif x:\n    x += 1\nx", env)["data"] == "2"  # unindented code is untouched


def test_help_prints_databricks_shape(env: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    text = run_python("dbutils.help()", env)["data"]
    assert text.startswith("This module provides various utilities for users to interact with the rest of Databricks.")
    assert "\nfs: DbfsUtils -> Manipulates the Databricks filesystem (DBFS) from the console" in text
    assert "jobs:" not in text  # a command's dbutils has no jobs module
    fs = run_python("dbutils.fs.help()", env)["data"]
    assert fs.startswith("dbutils.fs provides utilities for working with FileSystems.")
    assert "\nls(dir: String): Seq -> Lists the contents of a directory\n" in fs
    assert "\nmount\n\nmounts: Seq -> Displays information about what is mounted within DBFS" in fs
    assert (
        run_python('dbutils.fs.help("ls")', env)["data"]
        == "/**\n * Lists the contents of a directory.\n */\nls(dir: String): Seq"
    )
    for module in ("widgets", "notebook", "secrets"):
        assert " -> " in run_python(f"dbutils.{module}.help()", env)["data"]
    with pytest.raises(ValueError, match="No help available for method 'nope' of dbutils.fs"):
        run_python('dbutils.fs.help("nope")', env)


def test_a_job_runs_dbutils_lists_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dbutils = JobDBUtils({}, tmp_path / "d", tmp_path / "v", None, {}, tmp_path)
    dbutils.help()
    dbutils.jobs.taskValues.help("set")
    out = capsys.readouterr().out
    assert "\njobs: JobsUtils -> Utilities for leveraging jobs features\n" in out
    assert out.endswith(
        " * Sets a task value on the current task run.\n */\nset(key: String, value: Object): boolean\n"
    )


def test_listings_are_named_tuples_as_on_databricks(env: dict[str, object]) -> None:
    dbutils = env["dbutils"]
    assert isinstance(dbutils, DBUtils)
    dbutils.fs.put("dbfs:/a.txt", "hi")
    [info] = [i for i in dbutils.fs.ls("dbfs:/") if i.name == "a.txt"]
    assert (
        isinstance(info, FileInfo)
        and info.size == 2
        and json.loads(json.dumps(info))[:3] == ["dbfs:/a.txt", "a.txt", 2]
    )
