"""Notebook features through real HTTP and real processes, no Spark needed: display, %pip, %sh, FUSE paths,
task libraries, and ``runs/export`` (the notebook rendered with each cell's output) read with the SDK."""

from __future__ import annotations

import base64
import uuid
import zipfile
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.compute import Library, PythonPyPiLibrary
from tests.workspace.jobs.test_api import _nb_task, _upload, _wait_run, cluster  # noqa: F401 - the module-scoped cluster fixture

PANDAS_AND_FUSE = """import pandas as pd
dbutils.fs.put("dbfs:/nb-features/{tag}/in.csv", "city,amount\\nOslo,3\\nLima,4\\n", True)
with open("/dbfs/nb-features/{tag}/in.csv") as fh:
    print("read through the FUSE path:", fh.read().splitlines()[0])
df = pd.read_csv("/dbfs/nb-features/{tag}/in.csv")
display(df)
# COMMAND ----------
# MAGIC %md
# MAGIC ## a heading
# COMMAND ----------
# MAGIC %sh
# MAGIC echo from-the-shell-$((6*7))
# COMMAND ----------
import os
os.makedirs("/Volumes/main/default/vol/{tag}", exist_ok=True)
with open("/Volumes/main/default/vol/{tag}/out.txt", "w") as fh:
    fh.write(str(int(df.amount.sum())))
dbutils.notebook.exit(open("/Volumes/main/default/vol/{tag}/out.txt").read())
"""


def test_display_shell_and_fuse_paths_are_in_the_export(sdk: WorkspaceClient, cluster: str, create_volume) -> None:
    tag = uuid.uuid4().hex[:8]
    create_volume("main.default.vol")
    path = _upload(sdk, PANDAS_AND_FUSE.format(tag=tag))
    run = _wait_run(sdk, sdk.jobs.submit(run_name="features", tasks=[_nb_task("t", path, cluster)]).run_id)
    task_run = run.tasks[0].run_id
    assert sdk.jobs.get_run_output(task_run).notebook_output.result == "7"
    with sdk.files.download(f"/Volumes/main/default/vol/{tag}/out.txt").contents as fh:
        assert fh.read() == b"7"  # what the notebook wrote through /Volumes is in the Files API
    views = sdk.jobs.export_run(task_run, views_to_export=jobs.ViewsToExport.CODE).views
    assert len(views) == 1 and views[0].type == jobs.ViewType.NOTEBOOK
    page = views[0].content
    assert "<th>city</th><th>amount</th>" in page and "<td>Lima</td><td>4</td>" in page
    assert "read through the FUSE path: city,amount" in page
    assert "from-the-shell-42" in page and "a heading" in page


def test_a_failing_cell_is_marked_in_the_export(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "print('before')\n# COMMAND ----------\nraise KeyError('no-such-column')\n")
    run = _wait_run(sdk, sdk.jobs.submit(run_name="fails", tasks=[_nb_task("t", path, cluster)]).run_id)
    page = sdk.jobs.export_run(run.tasks[0].run_id).views[0].content
    failed = page.split('<div class="cell failed" data-cell="2">', 1)
    assert len(failed) == 2 and "KeyError: &#x27;no-such-column&#x27;" in failed[1]
    assert 'data-cell="1">' in failed[0] and "before" in failed[0]


def test_pip_installs_a_real_package_for_this_run_only(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(
        sdk,
        "# MAGIC %pip install tinydb==4.8.2\n# COMMAND ----------\nimport tinydb\n"
        "dbutils.notebook.exit(tinydb.__version__)\n",
    )
    run = _wait_run(sdk, sdk.jobs.submit(run_name="pip", tasks=[_nb_task("t", path, cluster)]).run_id, timeout=120)
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "4.8.2"
    other = _upload(sdk, "import tinydb\n")  # not installed for other runs
    run = _wait_run(sdk, sdk.jobs.submit(run_name="nopip", tasks=[_nb_task("t", other, cluster)]).run_id)
    assert "No module named 'tinydb'" in sdk.jobs.get_run_output(run.tasks[0].run_id).error


def test_a_library_that_does_not_exist_fails_the_run_with_pips_message(sdk: WorkspaceClient, cluster: str) -> None:
    path = _upload(sdk, "dbutils.notebook.exit('never')\n")
    missing = f"airbricks-no-such-package-{uuid.uuid4().hex[:6]}"
    task = _nb_task("t", path, cluster, libraries=[Library(pypi=PythonPyPiLibrary(package=missing))])
    run = _wait_run(sdk, sdk.jobs.submit(run_name="badlib", tasks=[task]).run_id, timeout=120)
    assert run.state.result_state == jobs.RunResultState.FAILED
    error = sdk.jobs.get_run_output(run.tasks[0].run_id).error
    assert error.startswith(f"InstallError: Library installation failed: pip install {missing}")
    assert "No matching distribution found" in error or "Could not find a version" in error


def _wheel(directory: Path) -> Path:
    """A minimal real wheel (a zip with the dist-info pip reads), built without any build backend."""
    name, version = "airbricks_wheel_probe", "0.1"
    files = {
        f"{name}/__init__.py": "ANSWER = 'from-the-wheel'\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{name}-{version}.dist-info/RECORD,,\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in {**files, f"{name}-{version}.dist-info/RECORD": record}.items():
            archive.writestr(path, text)
    return wheel


def test_a_wheel_from_dbfs_is_installed_for_the_task(sdk: WorkspaceClient, cluster: str, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    target = f"dbfs:/nb-features/wheels/{wheel.name}"
    sdk.dbfs.put(target, contents=base64.b64encode(wheel.read_bytes()).decode(), overwrite=True)
    path = _upload(sdk, "import airbricks_wheel_probe\ndbutils.notebook.exit(airbricks_wheel_probe.ANSWER)\n")
    task = _nb_task("t", path, cluster, libraries=[Library(whl=target)])
    run = _wait_run(sdk, sdk.jobs.submit(run_name="whl", tasks=[task]).run_id, timeout=120)
    assert sdk.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "from-the-wheel"
