"""Execution contexts, model only: which clusters take one, validation, a context's status, its commands' order
and cancellation, and its end (destroy, its cluster going down). The context's process is a scripted stand-in
for the kernel speaking its protocol (the kernel itself: test_api_commands)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.workspace.compute.kit import LocalFiles, eventually, running_cluster, step
from tests.workspace.model_kit import SPEC, make_shared

from airbricks.workspace.clock import ManualClock
from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.compute.commands import Contexts
from airbricks.workspace.errors import InvalidParameterValue, InvalidState

#: The kernel's protocol (:mod:`airbricks.workspace.kernel.command`): ready, then started/done per command;
#: ``hang`` runs until SIGINT cancels it.
KERNEL = """
import json, signal, sys, threading

class Interrupted(Exception):
    pass

def interrupt(*_):
    raise Interrupted

def say(**event):
    print(json.dumps(event), flush=True)

signal.signal(signal.SIGINT, interrupt)
say(event="ready")
for line in sys.stdin:
    command = json.loads(line)
    say(event="started", id=command["id"])
    try:
        if command["command"] == "hang":
            threading.Event().wait()
        status, results = "Finished", {"resultType": "text", "data": command["language"] + ":" + command["command"]}
    except Interrupted:
        status, results = "Cancelled", {"resultType": "error", "summary": "Command was cancelled"}
    say(event="done", id=command["id"], status=status, results=results)
"""


@pytest.fixture
def kernel(tmp_path: Path) -> str:
    """An executable standing in for the context's Python (it ignores ``-m airbricks...kernel.command spec``)."""
    path = tmp_path / "kernel"
    path.write_text(f"#!{sys.executable}\n{KERNEL}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def clusters(tmp_path: Path, clock: ManualClock, kernel: str) -> Clusters:
    return Clusters(make_shared(tmp_path / "ws", clock, python_executable=kernel))


@pytest.fixture
def contexts(clusters: Clusters, tmp_path: Path) -> Iterator[Contexts]:
    contexts = Contexts(clusters.shared, clusters, LocalFiles(tmp_path / "files"))
    yield contexts
    contexts.shutdown()


def ready(contexts: Contexts, cluster_id: str) -> str:
    context_id = contexts.create(cluster_id, "python")
    eventually(lambda: contexts.status(cluster_id, context_id)["status"] == "Running")
    return context_id


def done(contexts: Contexts, cluster_id: str, context_id: str, command_id: str) -> dict:
    """The command's status once it has ended."""

    def ended() -> dict | None:
        status = contexts.command_status(cluster_id, context_id, command_id)
        return status if status["status"] in ("Finished", "Error", "Cancelled") else None

    return eventually(ended)


def test_a_context_needs_a_running_cluster(contexts: Contexts, clusters: Clusters, clock: ManualClock) -> None:
    with pytest.raises(InvalidParameterValue, match="requirement failed: missing clusterId"):
        contexts.create(None, "python")
    with pytest.raises(InvalidParameterValue, match="Cluster 0000-000000-nosuchcl does not exist"):
        contexts.create("0000-000000-nosuchcl", "python")
    pending = clusters.create(dict(SPEC))
    with pytest.raises(InvalidState, match=f"Cluster {pending} is not running: its state is PENDING. Start it"):
        contexts.create(pending, "python")
    assert contexts.processes() == []


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("scala", "Language scala is not supported by the local workspace"),
        ("R", "Language r is not supported"),
        ("cobol", "Invalid language 'cobol': use python or sql."),
        (None, "Invalid language 'None'"),
    ],
)
def test_only_python_and_sql_contexts(
    contexts: Contexts, clusters: Clusters, clock: ManualClock, language: object, message: str
) -> None:
    cluster_id = running_cluster(clusters, clock)
    with pytest.raises(InvalidParameterValue, match=message):
        contexts.create(cluster_id, language)
    assert contexts.processes() == []


def test_a_context_is_pending_until_its_process_is_ready_and_runs_commands_in_order(
    contexts: Contexts, clusters: Clusters, clock: ManualClock
) -> None:
    cluster_id = running_cluster(clusters, clock)
    context_id = contexts.create(cluster_id, "Python")
    assert contexts.status(cluster_id, context_id) in (
        {"id": context_id, "status": "Pending"},
        {"id": context_id, "status": "Running"},
    )
    first = contexts.execute(cluster_id, context_id, None, "1 + 1")  # the context's language
    second = contexts.execute(cluster_id, context_id, "sql", "SELECT 1")
    assert done(contexts, cluster_id, context_id, second) == {
        "id": second,
        "status": "Finished",
        "results": {"resultType": "text", "data": "sql:SELECT 1"},
    }
    assert done(contexts, cluster_id, context_id, first)["results"]["data"] == "python:1 + 1"
    assert contexts.status(cluster_id, context_id)["status"] == "Running"
    with pytest.raises(InvalidParameterValue, match="requirement failed: missing command"):
        contexts.execute(cluster_id, context_id, "python", None)


def test_cancel_drops_a_queued_command_and_interrupts_the_running_one(
    contexts: Contexts, clusters: Clusters, clock: ManualClock
) -> None:
    cluster_id = running_cluster(clusters, clock)
    context_id = ready(contexts, cluster_id)
    hanging = contexts.execute(cluster_id, context_id, "python", "hang")
    queued = contexts.execute(cluster_id, context_id, "python", "after")
    eventually(lambda: contexts.command_status(cluster_id, context_id, hanging)["status"] == "Running")
    assert contexts.command_status(cluster_id, context_id, queued) == {"id": queued, "status": "Queued"}
    contexts.cancel(cluster_id, context_id, queued)
    assert contexts.command_status(cluster_id, context_id, queued)["status"] == "Cancelled"
    contexts.cancel(cluster_id, context_id, hanging)
    assert done(contexts, cluster_id, context_id, hanging)["status"] == "Cancelled"
    after = contexts.execute(cluster_id, context_id, "python", "still alive")
    assert done(contexts, cluster_id, context_id, after)["status"] == "Finished"
    with pytest.raises(InvalidParameterValue, match="Command nope does not exist"):
        contexts.cancel(cluster_id, context_id, "nope")


def test_destroy_ends_the_context_and_its_process(contexts: Contexts, clusters: Clusters, clock: ManualClock) -> None:
    cluster_id = running_cluster(clusters, clock)
    context_id = ready(contexts, cluster_id)
    [pid] = contexts.processes()
    other = running_cluster(clusters, clock)
    with pytest.raises(InvalidParameterValue, match=f"Context {context_id} does not exist"):
        contexts.status(other, context_id)  # a context belongs to its cluster
    with pytest.raises(InvalidParameterValue, match="requirement failed: missing contextId"):
        contexts.status(cluster_id, "")
    contexts.destroy(cluster_id, context_id)
    with pytest.raises(InvalidParameterValue, match=f"Context {context_id} does not exist"):
        contexts.status(cluster_id, context_id)
    assert contexts.processes() == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_context_dies_with_its_cluster(contexts: Contexts, clusters: Clusters, clock: ManualClock) -> None:
    cluster_id = running_cluster(clusters, clock)
    context_id = ready(contexts, cluster_id)
    clusters.resize(cluster_id, num_workers=2)
    contexts.tick(clock.now_ms())
    assert contexts.status(cluster_id, context_id)["status"] == "Running"  # a resize keeps the driver
    step(clusters, clock, 1000)
    clusters.delete(cluster_id)
    contexts.tick(clock.now_ms())
    with pytest.raises(InvalidParameterValue, match=f"Context {context_id} does not exist"):
        contexts.status(cluster_id, context_id)
    assert contexts.processes() == []
