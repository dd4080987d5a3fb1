"""Unity Catalog objects over real HTTP with databricks-sdk: catalogs, schemas, volumes, and volumes that must
exist before the Files API and dbutils.fs accept their paths."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import AlreadyExists, InvalidParameterValue, NotFound, ResourceConflict
from databricks.sdk.service.catalog import VolumeType

from airbricks.testing import local_workspace


@pytest.fixture
def run_notebook(sdk: WorkspaceClient):
    """Run a notebook's source as a one-task run in a local process; its exit value."""
    from tests.workspace.jobs.test_api import _nb_task, _upload, _wait_run

    def run(source: str) -> str:
        run = _wait_run(sdk, sdk.jobs.submit(run_name="uc", tasks=[_nb_task("t", _upload(sdk, source))]).run_id)
        output = sdk.jobs.get_run_output(run.tasks[0].run_id)
        assert output.error is None, output.error_trace
        return output.notebook_output.result

    return run


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_default_catalog_main_and_schema_default_exist(sdk: WorkspaceClient) -> None:
    assert "main" in [c.name for c in sdk.catalogs.list()]
    assert sdk.schemas.get("main.default").full_name == "main.default"
    assert {"default", "information_schema"} <= {s.name for s in sdk.schemas.list(catalog_name="main")}


def test_catalog_schema_volume_crud(sdk: WorkspaceClient) -> None:
    catalog = _name("cat")
    created = sdk.catalogs.create(name=catalog, comment="for a test")
    assert (created.name, created.comment) == (catalog, "for a test")
    with pytest.raises(ResourceConflict, match=f"Catalog '{catalog}' already exists"):
        sdk.catalogs.create(name=catalog)
    assert sdk.catalogs.update(catalog, comment="changed").comment == "changed"
    schema = sdk.schemas.create(name="raw", catalog_name=catalog)
    assert schema.full_name == f"{catalog}.raw" and schema.catalog_name == catalog
    managed = sdk.volumes.create(
        catalog_name=catalog, schema_name="raw", name="landing", volume_type=VolumeType.MANAGED
    )
    assert (managed.full_name, managed.volume_type) == (f"{catalog}.raw.landing", VolumeType.MANAGED)
    external = sdk.volumes.create(
        catalog_name=catalog,
        schema_name="raw",
        name="ext",
        volume_type=VolumeType.EXTERNAL,
        storage_location="s3://bucket/ext",
    )
    assert external.storage_location == "s3://bucket/ext"
    with pytest.raises(InvalidParameterValue, match="storage_location is required"):
        sdk.volumes.create(catalog_name=catalog, schema_name="raw", name="x", volume_type=VolumeType.EXTERNAL)
    with pytest.raises(AlreadyExists):
        sdk.volumes.create(catalog_name=catalog, schema_name="raw", name="landing", volume_type=VolumeType.MANAGED)
    assert sorted(v.name for v in sdk.volumes.list(catalog_name=catalog, schema_name="raw")) == ["ext", "landing"]
    assert sdk.volumes.read(f"{catalog}.raw.landing").volume_id == managed.volume_id
    assert sdk.volumes.update(f"{catalog}.raw.landing", comment="files").comment == "files"
    sdk.files.upload(f"/Volumes/{catalog}/raw/landing/a.csv", io.BytesIO(b"a\n1\n"))
    with pytest.raises(InvalidParameterValue, match="is not empty"):
        sdk.schemas.delete(f"{catalog}.raw")
    sdk.volumes.delete(f"{catalog}.raw.landing")
    with pytest.raises(NotFound, match=f"Volume '{catalog}.raw.landing' does not exist"):
        sdk.volumes.read(f"{catalog}.raw.landing")
    with pytest.raises(NotFound, match="does not exist"):  # its files went with it
        sdk.files.download(f"/Volumes/{catalog}/raw/landing/a.csv")
    with pytest.raises(InvalidParameterValue, match="is not empty"):
        sdk.catalogs.delete(catalog)
    sdk.catalogs.delete(catalog, force=True)
    with pytest.raises(NotFound, match=f"Catalog '{catalog}' does not exist"):
        sdk.catalogs.get(catalog)
    with pytest.raises(NotFound, match=f"Catalog '{catalog}' does not exist"):
        sdk.schemas.get(f"{catalog}.raw")


def test_bad_names_and_missing_parents_are_refused(sdk: WorkspaceClient) -> None:
    with pytest.raises(InvalidParameterValue, match="cannot contain '.'"):
        sdk.catalogs.create(name="a.b")
    with pytest.raises(NotFound, match="Schema 'main.nope' does not exist"):
        sdk.volumes.create(catalog_name="main", schema_name="nope", name="v", volume_type=VolumeType.MANAGED)
    with pytest.raises(InvalidParameterValue, match="expected the form <catalog>.<schema>.<volume>"):
        sdk.volumes.read("main.default")
    assert list(sdk.tables.list(catalog_name="main", schema_name="default")) == []  # no Spark: no tables
    assert sdk.tables.exists("main.default.nothing").table_exists is False


def test_names_hive_refuses_work_for_schemas_volumes_and_their_files(sdk: WorkspaceClient) -> None:
    schema = f"Dev-{_name('raw')}"
    created = sdk.schemas.create(catalog_name="main", name=schema)
    assert created.full_name == f"main.{schema.lower()}"
    assert sdk.schemas.get(f"main.{schema.upper()}").name == schema.lower()
    sdk.volumes.create(catalog_name="main", schema_name=schema, name="1st-drop", volume_type=VolumeType.MANAGED)
    folder = f"/Volumes/main/{schema.lower()}/1st-drop"
    sdk.files.upload(f"{folder}/in/a.csv", io.BytesIO(b"a,b\n1,2\n"))
    assert [e.name for e in sdk.files.list_directory_contents(f"{folder}/in")] == ["a.csv"]
    assert [(f.name, f.size) for f in sdk.dbutils.fs.ls(f"{folder}/in")] == [("a.csv", 8)]  # the SDK's dbutils
    assert sdk.files.download(f"{folder}/in/a.csv").contents.read() == b"a,b\n1,2\n"
    with pytest.raises(
        InvalidParameterValue, match='RPC CreateSchema Field managedcatalog.SchemaInfo.name: name "a/b"'
    ):
        sdk.schemas.create(catalog_name="main", name="a/b")


def test_files_api_needs_the_volume(sdk: WorkspaceClient) -> None:
    volume = _name("vol")
    path = f"/Volumes/main/default/{volume}/x.txt"
    with pytest.raises(NotFound, match=f"Volume 'main.default.{volume}' does not exist"):
        sdk.files.upload(path, io.BytesIO(b"x"))
    with pytest.raises(NotFound, match=f"Volume 'main.default.{volume}' does not exist"):
        list(sdk.files.list_directory_contents(f"/Volumes/main/default/{volume}"))
    with pytest.raises(NotFound, match="does not exist"):
        sdk.files.create_directory(f"/Volumes/main/default/{volume}/d")
    sdk.volumes.create(catalog_name="main", schema_name="default", name=volume, volume_type=VolumeType.MANAGED)
    sdk.files.upload(path, io.BytesIO(b"x"))
    assert sdk.files.download(path).contents.read() == b"x"


def test_dbutils_fs_needs_the_volume_and_lists_mounts(sdk: WorkspaceClient, run_notebook) -> None:
    volume = _name("vol")
    source = f"""
import json
out = {{"mounts": [m.mountPoint for m in dbutils.fs.mounts()]}}
try:
    dbutils.fs.put("/Volumes/main/default/{volume}/a.txt", "a")
except FileNotFoundError as err:
    out["missing"] = str(err)
try:
    open("/Volumes/main/default/{volume}/b.txt", "w")
except FileNotFoundError as err:
    out["open"] = str(err)
dbutils.notebook.exit(json.dumps(out))
"""
    import json

    out = json.loads(run_notebook(source))
    assert out["mounts"] == ["/", "/Volumes"]
    assert f"Volume 'main.default.{volume}' does not exist" in out["missing"]
    assert f"Volume 'main.default.{volume}' does not exist" in out["open"]
    sdk.volumes.create(catalog_name="main", schema_name="default", name=volume, volume_type=VolumeType.MANAGED)
    written = run_notebook(
        f'dbutils.fs.put("/Volumes/main/default/{volume}/a.txt", "a")\n'
        f'dbutils.notebook.exit(dbutils.fs.head("/Volumes/main/default/{volume}/a.txt"))'
    )
    assert written == "a"


def test_auto_create_volumes_keeps_the_old_convenience(tmp_path: Path) -> None:
    with local_workspace(tmp_path / "ws", auto_create_volumes=True) as ws:
        client = ws.client()
        client.files.upload("/Volumes/adhoc/raw/drop/x.txt", io.BytesIO(b"x"))
        assert client.volumes.read("adhoc.raw.drop").volume_type == VolumeType.MANAGED
        assert client.files.download("/Volumes/adhoc/raw/drop/x.txt").contents.read() == b"x"
