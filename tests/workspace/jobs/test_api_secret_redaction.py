"""``dbutils.secrets`` in real notebook and Python-file runs (kernel processes, their per-run token), output
redaction as Databricks does it, secret ACLs inside a run, and ``{{secrets/...}}`` in a cluster's environment."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language
from tests.workspace.jobs.test_api import _wait_run

from secret_helpers import new_secret

NOTEBOOK = """# Databricks notebook source
import os
scope = dbutils.widgets.get("scope")
value = dbutils.secrets.get(scope, "pw")
print(f"the password is {value}")
assert dbutils.secrets.getBytes(scope, "pw") == value.encode()
print("keys", [s.key for s in dbutils.secrets.list(scope)], scope in [s.name for s in dbutils.secrets.listScopes()])
print("token in env", "AIRBRICKS_RUN_TOKEN" in os.environ)
dbutils.fs.put(dbutils.widgets.get("token_file"), dbutils.secrets._channel._token, True)

# COMMAND ----------

if dbutils.widgets.get("fail") == "true":
    raise ValueError(f"cannot connect with {value}")
dbutils.notebook.exit(f"exit {value}")
"""
PYTHON_FILE = """import sys
value = dbutils.secrets.get(sys.argv[1], "pw")
print("python file got", value, flush=True)
"""
ENV_NOTEBOOK = """# Databricks notebook source
import hashlib, os
value = os.environ["DB_PASSWORD"]
print("env password", value)
dbutils.notebook.exit("match" if hashlib.sha256(value.encode()).hexdigest() == dbutils.widgets.get("sha") else "no")
"""
DENIED_NOTEBOOK = """# Databricks notebook source
dbutils.secrets.get(dbutils.widgets.get("scope"), "pw")
"""


@pytest.fixture(scope="module")
def secret(sdk: WorkspaceClient) -> Iterator[tuple[str, str]]:
    scope, value = new_secret(sdk, "redact", "pw")
    yield scope, value
    sdk.secrets.delete_scope(scope)


def _upload(sdk: WorkspaceClient, source: str) -> str:
    path = f"/Shared/secret-tests/{uuid.uuid4().hex[:10]}"
    sdk.workspace.mkdirs("/Shared/secret-tests")
    sdk.workspace.upload(path, source.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True)
    return path


def _submit(sdk: WorkspaceClient, task: jobs.SubmitTask) -> tuple[jobs.Run, jobs.RunOutput]:
    run = _wait_run(sdk, sdk.jobs.submit(run_name="secrets", tasks=[task]).run_id)
    return run, sdk.jobs.get_run_output(run.tasks[0].run_id)


def _export(sdk: WorkspaceClient, run: jobs.Run) -> str:
    views = sdk.jobs.export_run(run.tasks[0].run_id).views
    return "".join(v.content for v in views)


def _no_plain_value_in_data_dir(local_ws, value: str) -> None:
    data = local_ws.workspace.data_dir
    found = [str(p.relative_to(data)) for p in data.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]
    assert found == [], f"secret value in plain text in {found}"


@pytest.mark.parametrize("fail", [False, True], ids=["exits", "raises"])
def test_a_notebook_printing_and_returning_a_secret_shows_redacted(
    sdk: WorkspaceClient, local_ws, secret, fail: bool
) -> None:
    scope, value = secret
    token_file = f"dbfs:/tmp/secret-tests/{uuid.uuid4().hex}"
    run, output = _submit(
        sdk,
        jobs.SubmitTask(
            task_key="leak",
            notebook_task=jobs.NotebookTask(
                notebook_path=_upload(sdk, NOTEBOOK),
                base_parameters={"scope": scope, "fail": str(fail).lower(), "token_file": token_file},
            ),
        ),
    )
    exported = _export(sdk, run)
    assert "the password is [REDACTED]" in exported and "keys [&#x27;pw&#x27;] True" in exported
    assert "token in env False" in exported  # the kernel took its token out of the environment
    if fail:
        assert run.state.result_state == jobs.RunResultState.FAILED
        assert output.error == "ValueError: cannot connect with [REDACTED]"
        assert "[REDACTED]" in output.error_trace and value not in output.error_trace
    else:
        assert run.state.result_state == jobs.RunResultState.SUCCESS, output.error
        assert output.notebook_output.result == "exit [REDACTED]"
    assert value not in exported and value not in str(output.as_dict())
    _no_plain_value_in_data_dir(local_ws, value)
    # The run's token was revoked when it ended: the copy the notebook leaked no longer authenticates.
    leaked = base64.b64decode(sdk.dbfs.read(token_file.removeprefix("dbfs:")).data).decode()
    assert leaked.startswith("dkea")
    answer = requests.get(
        f"{local_ws.url}/api/2.0/secrets/scopes/list", timeout=10, headers={"Authorization": f"Bearer {leaked}"}
    )
    assert answer.status_code == 401
    sdk.dbfs.delete(token_file.removeprefix("dbfs:"))


def test_a_python_file_task_logs_the_secret_redacted(sdk: WorkspaceClient, local_ws, secret) -> None:
    scope, value = secret
    path = f"/tmp/secret-tests/{uuid.uuid4().hex}.py"
    sdk.dbfs.put(path, contents=base64.b64encode(PYTHON_FILE.encode()).decode(), overwrite=True)
    run, output = _submit(
        sdk,
        jobs.SubmitTask(
            task_key="file", spark_python_task=jobs.SparkPythonTask(python_file=f"dbfs:{path}", parameters=[scope])
        ),
    )
    assert run.state.result_state == jobs.RunResultState.SUCCESS, output.error
    assert "python file got [REDACTED]" in output.logs and value not in output.logs
    _no_plain_value_in_data_dir(local_ws, value)
    sdk.dbfs.delete(path)


def test_a_run_as_another_principal_is_refused_by_the_scope_acl(sdk: WorkspaceClient, secret) -> None:
    scope, _ = secret
    sp = sdk.service_principals.create(display_name=f"runner-{uuid.uuid4().hex[:6]}")
    job = sdk.jobs.create(
        name="denied",
        run_as=jobs.JobRunAs(service_principal_name=sp.application_id),
        tasks=[
            jobs.Task(
                task_key="read",
                notebook_task=jobs.NotebookTask(
                    notebook_path=_upload(sdk, DENIED_NOTEBOOK), base_parameters={"scope": scope}
                ),
            )
        ],
    )
    try:
        run = _wait_run(sdk, sdk.jobs.run_now(job.job_id).run_id)
        output = sdk.jobs.get_run_output(run.tasks[0].run_id)
        assert run.state.result_state == jobs.RunResultState.FAILED
        assert output.error == (
            f"SecretsError: PERMISSION_DENIED: {sp.application_id} does not have READ permission "
            f"on scope {scope} to perform this action."
        )
    finally:
        sdk.jobs.delete(job.job_id)
        sdk.service_principals.delete(sp.id)


def test_secret_references_in_the_cluster_spec_are_resolved_for_the_cluster(
    sdk: WorkspaceClient, local_ws, secret
) -> None:
    scope, value = secret
    reference = f"{{{{secrets/{scope}/pw}}}}"
    cluster = sdk.clusters.create(
        cluster_name="with-secrets",
        spark_version="16.4.x-scala2.12",
        node_type_id="i3.xlarge",
        num_workers=0,
        spark_env_vars={"DB_PASSWORD": reference},
        spark_conf={"spark.db.password": reference},
    ).cluster_id
    broken = sdk.clusters.create(
        cluster_name="missing-secret",
        spark_version="16.4.x-scala2.12",
        node_type_id="i3.xlarge",
        num_workers=0,
        spark_env_vars={"X": f"{{{{secrets/{scope}/nope}}}}"},
    ).cluster_id
    try:
        info = sdk.clusters.get(cluster)
        assert info.spark_env_vars == {"DB_PASSWORD": reference} and info.spark_conf["spark.db.password"] == reference
        run, output = _submit(
            sdk,
            jobs.SubmitTask(
                task_key="env",
                existing_cluster_id=cluster,
                notebook_task=jobs.NotebookTask(
                    notebook_path=_upload(sdk, ENV_NOTEBOOK),
                    base_parameters={"sha": hashlib.sha256(value.encode()).hexdigest()},
                ),
            ),
        )
        assert output.notebook_output.result == "match", output.error
        exported = _export(sdk, run)
        assert "env password [REDACTED]" in exported and value not in exported
        deadline = time.monotonic() + 15
        while sdk.clusters.get(broken).state.value != "TERMINATED" and time.monotonic() < deadline:
            time.sleep(0.05)
        failed = sdk.clusters.get(broken)
        assert failed.state.value == "TERMINATED"
        assert failed.termination_reason.code.value == "SECRET_RESOLUTION_ERROR"
        assert "Secret does not exist with scope" in failed.state_message
    finally:
        sdk.clusters.permanent_delete(cluster)
        sdk.clusters.permanent_delete(broken)
    _no_plain_value_in_data_dir(local_ws, value)
