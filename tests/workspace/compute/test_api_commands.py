"""The Command Execution API 1.2 over real HTTP with databricks-sdk, on a cluster without Spark (plain Python
contexts); the Spark side is in tests/spark/test_catalog_and_commands.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, InvalidParameterValue
from databricks.sdk.service.compute import CommandStatus, ContextStatus, Language, ResultType
from tests.workspace.jobs.test_api import CLUSTER

from airbricks.workspace.server.serve import LocalWorkspace


def wait_command(
    sdk: WorkspaceClient,
    cluster_id: str,
    context_id: str,
    command_id: str,
    until: tuple[CommandStatus, ...] = (CommandStatus.FINISHED, CommandStatus.ERROR, CommandStatus.CANCELLED),
    timeout: float = 60,
) -> object:
    """Poll every 20 ms (the SDK's waiter sleeps a second and more between polls)."""
    deadline = time.monotonic() + timeout
    while True:
        status = sdk.command_execution.command_status(
            cluster_id=cluster_id, context_id=context_id, command_id=command_id
        )
        if status.status in until or time.monotonic() > deadline:
            assert status.status in until, status
            return status
        time.sleep(0.02)


def wait_context(sdk: WorkspaceClient, cluster_id: str, language: Language = Language.PYTHON) -> str:
    context_id = sdk.command_execution.create(cluster_id=cluster_id, language=language).response.id
    deadline = time.monotonic() + 30
    while (
        sdk.command_execution.context_status(cluster_id=cluster_id, context_id=context_id).status
        != ContextStatus.RUNNING
    ):
        assert time.monotonic() < deadline, "the context never became Running"
        time.sleep(0.02)
    return context_id


def run(
    sdk: WorkspaceClient, cluster_id: str, context_id: str, command: str, language: Language = Language.PYTHON
) -> object:
    command_id = sdk.command_execution.execute(
        cluster_id=cluster_id, context_id=context_id, language=language, command=command
    ).response.id
    return wait_command(sdk, cluster_id, context_id, command_id)


@pytest.fixture(scope="module")
def cluster(sdk: WorkspaceClient) -> Iterator[str]:
    cluster_id = sdk.clusters.create_and_wait(cluster_name="commands", **CLUSTER).cluster_id
    yield cluster_id
    sdk.clusters.permanent_delete(cluster_id)


def test_state_is_kept_between_commands_and_results_have_the_real_shape(
    sdk: WorkspaceClient, cluster: str, local_ws: LocalWorkspace
) -> None:
    ctx = wait_context(sdk, cluster)
    first = run(sdk, cluster, ctx, "x = 20\nprint('set x')")
    assert (first.status, first.results.result_type, first.results.data) == (
        CommandStatus.FINISHED,
        ResultType.TEXT,
        "set x",
    )
    second = run(sdk, cluster, ctx, "x + 22")
    assert second.results.data == "42"  # the variable the first command set is still there
    failed = run(sdk, cluster, ctx, "1 / 0")
    assert failed.status == CommandStatus.FINISHED and failed.results.result_type == ResultType.ERROR
    assert failed.results.summary == "ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" in failed.results.cause
    mounts = run(sdk, cluster, ctx, "[m.mountPoint for m in dbutils.fs.mounts()]")
    assert mounts.results.data == "['/', '/Volumes']"
    no_spark = run(sdk, cluster, ctx, "SELECT 1", language=Language.SQL)
    assert no_spark.results.result_type == ResultType.ERROR and "no Spark engine" in no_spark.results.summary
    other = wait_context(sdk, cluster)
    assert "NameError" in run(sdk, cluster, other, "x").results.summary  # contexts do not share state
    pids = local_ws.workspace.contexts.processes()
    assert len(pids) == 2
    sdk.command_execution.destroy(cluster_id=cluster, context_id=ctx)
    sdk.command_execution.destroy(cluster_id=cluster, context_id=other)
    assert local_ws.workspace.contexts.processes() == []
    with pytest.raises(DatabricksError, match=f"Context {ctx} does not exist"):
        sdk.command_execution.context_status(cluster_id=cluster, context_id=ctx)


def test_cancel_interrupts_the_running_command_and_drops_a_queued_one(sdk: WorkspaceClient, cluster: str) -> None:
    ctx = wait_context(sdk, cluster)
    slow = sdk.command_execution.execute(
        cluster_id=cluster,
        context_id=ctx,
        language=Language.PYTHON,
        command="import time\nfor i in range(600):\n    time.sleep(0.1)",
    ).response.id
    queued = sdk.command_execution.execute(
        cluster_id=cluster, context_id=ctx, language=Language.PYTHON, command="print('never')"
    ).response.id
    wait_command(sdk, cluster, ctx, slow, until=(CommandStatus.RUNNING,))
    assert (
        sdk.command_execution.command_status(cluster_id=cluster, context_id=ctx, command_id=queued).status
        == CommandStatus.QUEUED
    )
    sdk.command_execution.cancel(cluster_id=cluster, context_id=ctx, command_id=queued)
    started = time.monotonic()
    sdk.command_execution.cancel(cluster_id=cluster, context_id=ctx, command_id=slow)
    assert wait_command(sdk, cluster, ctx, slow).status == CommandStatus.CANCELLED
    assert time.monotonic() - started < 5
    assert wait_command(sdk, cluster, ctx, queued).status == CommandStatus.CANCELLED
    assert run(sdk, cluster, ctx, "'still alive'").results.data == "'still alive'"  # the context survives
    sdk.command_execution.destroy(cluster_id=cluster, context_id=ctx)


def test_errors_for_missing_context_stopped_cluster_and_other_languages(
    sdk: WorkspaceClient, cluster: str, local_ws: LocalWorkspace
) -> None:
    with pytest.raises(DatabricksError, match="Context nope does not exist"):
        sdk.command_execution.execute(cluster_id=cluster, context_id="nope", language=Language.PYTHON, command="1")
    with pytest.raises(InvalidParameterValue, match="Language scala is not supported"):
        sdk.command_execution.create(cluster_id=cluster, language=Language.SCALA)
    with pytest.raises(DatabricksError, match="Cluster missing-cluster does not exist"):
        sdk.command_execution.create(cluster_id="missing-cluster", language=Language.PYTHON)
    other = sdk.clusters.create_and_wait(cluster_name="commands-stopped", **CLUSTER).cluster_id
    try:
        ctx = wait_context(sdk, other)
        sdk.clusters.delete_and_wait(other)
        deadline = time.monotonic() + 10
        while local_ws.workspace.contexts.processes():  # the context died with its cluster
            assert time.monotonic() < deadline, "a context outlived its cluster"
            time.sleep(0.05)
        with pytest.raises(DatabricksError, match=f"Context {ctx} does not exist"):
            sdk.command_execution.context_status(cluster_id=other, context_id=ctx)
        with pytest.raises(DatabricksError, match=f"Cluster {other} is not running: its state is TERMINATED"):
            sdk.command_execution.create(cluster_id=other, language=Language.PYTHON)
    finally:
        sdk.clusters.permanent_delete(other)


def test_the_sdks_remote_dbutils_runs_its_indented_commands(sdk: WorkspaceClient, cluster: str) -> None:
    """``WorkspaceClient(cluster_id=...).dbutils`` sends ``dbutils.fs.mounts()`` as indented Python source
    ending in ``dbutils.notebook.exit(json.dumps(result))`` and reads the exit value back."""
    remote = WorkspaceClient(host=sdk.config.host, token=sdk.config.token, cluster_id=cluster)
    mounts = remote.dbutils.fs.mounts()
    assert [(m.mountPoint, m.source, m.encryptionType) for m in mounts] == [
        ("/", "DatabricksRoot", ""),
        ("/Volumes", "UnityCatalogVolumes", ""),
    ]
    assert remote.dbutils.fs.refreshMounts() is True


def test_missing_ids_answer_as_databricks_words_them(sdk: WorkspaceClient, cluster: str) -> None:
    with pytest.raises(InvalidParameterValue, match="^requirement failed: missing contextId$"):
        sdk.command_execution.execute(cluster_id=cluster, language=Language.PYTHON, command="1")
    with pytest.raises(InvalidParameterValue, match="^requirement failed: missing clusterId$"):
        sdk.command_execution.create(language=Language.PYTHON)
