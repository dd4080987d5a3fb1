"""The Command Execution API (``/api/1.2/contexts``, ``/api/1.2/commands``): contexts on RUNNING clusters.

A context is a persistent interpreter process (:mod:`airbricks.workspace.kernel.command`) bound to one
cluster: with a Spark engine its ``spark`` is a Spark Connect session to the cluster's driver, without one it
is plain Python. Commands of one context run one at a time in the order they came (later ones are Queued);
``commands/cancel`` interrupts the running one (SIGINT) or drops a queued one. A context dies with its
cluster (terminated, restarting, deleted: the ticker sees it), on ``contexts/destroy`` and when the workspace
stops: no process outlives them. Contexts live in memory, as on Databricks, where a driver restart loses them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.errors import InvalidParameterValue, InvalidState, does_not_exist
from airbricks.workspace.shared import Shared
from airbricks.workspace.storage.local_paths import LocalPaths

LANGUAGES = ("python", "sql")
#: Cluster states a context survives (a resize keeps the driver).
LIVE_STATES = ("RUNNING", "RESIZING")


@dataclass
class Command:
    id: str
    language: str
    command: str
    status: str = "Queued"
    results: dict[str, Any] | None = None

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.results is not None:
            out["results"] = self.results
        return out


@dataclass
class Context:
    id: str
    cluster_id: str
    language: str
    proc: subprocess.Popen[str]
    #: The process's pipes: commands go in as JSON lines, events come out.
    stdin: IO[str]
    stdout: IO[str]
    directory: Path
    status: str = "Pending"
    commands: dict[str, Command] = field(default_factory=dict)
    queue: deque[str] = field(default_factory=deque)
    running: str | None = None
    error: str | None = None


class Contexts:
    """Execution contexts by id; raises ``errors.*`` with the API's codes."""

    def __init__(self, shared: Shared, clusters: Clusters, local_paths: LocalPaths) -> None:
        self.shared = shared
        self.clusters = clusters
        self.local_paths = local_paths
        self.directory = shared.data_dir / "contexts"
        self._contexts: dict[str, Context] = {}
        self._lock = threading.RLock()

    # -- contexts ---------------------------------------------------------------------------------------------

    def create(self, cluster_id: object, language: object) -> str:
        cid = self._running_cluster(cluster_id)
        lang = _language(language)
        ident = uuid.uuid4().hex[:16]
        directory = self.directory / ident
        directory.mkdir(parents=True, exist_ok=True)
        remote = self.clusters.spark_remote(cid)
        spec = {
            **self.local_paths.roots(),
            "cwd": str(directory),
            **({"spark_remote": remote, "spark_session_id": str(uuid.uuid4())} if remote else {}),
        }
        (directory / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("SPARK_REMOTE", None)
        if spec.get("auto_create_volumes"):
            from airbricks.workspace.storage.paths import AUTO_CREATE_VOLUMES_ENV

            env[AUTO_CREATE_VOLUMES_ENV] = "1"
        python = self.shared.config.python_executable or sys.executable
        with open(directory / "stderr.log", "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                [python, "-m", "airbricks.workspace.kernel.command", str(directory / "spec.json")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=directory,
                env=env,
                start_new_session=True,
            )
        assert proc.stdin is not None and proc.stdout is not None  # both opened as pipes above
        context = Context(ident, cid, lang, proc, proc.stdin, proc.stdout, directory)
        with self._lock:
            self._contexts[ident] = context
        threading.Thread(target=self._read, args=(context,), name=f"context-{ident}", daemon=True).start()
        return ident

    def status(self, cluster_id: object, context_id: object) -> dict[str, Any]:
        context = self._context(cluster_id, context_id)
        return {"id": context.id, "status": context.status}

    def destroy(self, cluster_id: object, context_id: object) -> None:
        context = self._context(cluster_id, context_id)
        self._kill(context)

    # -- commands ---------------------------------------------------------------------------------------------

    def execute(self, cluster_id: object, context_id: object, language: object, command: object) -> str:
        context = self._context(cluster_id, context_id, running=True)
        lang = _language(language) if language is not None else context.language
        if not isinstance(command, str):
            raise InvalidParameterValue(_missing("command"))
        cmd = Command(uuid.uuid4().hex, lang, command)
        with self._lock:
            context.commands[cmd.id] = cmd
            context.queue.append(cmd.id)
            self._next(context)
        return cmd.id

    def command_status(self, cluster_id: object, context_id: object, command_id: object) -> dict[str, Any]:
        return self._command(cluster_id, context_id, command_id)[1].doc()

    def cancel(self, cluster_id: object, context_id: object, command_id: object) -> None:
        context, cmd = self._command(cluster_id, context_id, command_id)
        with self._lock:
            if cmd.status == "Queued":
                context.queue.remove(cmd.id)
                cmd.status = "Cancelled"
            elif cmd.status == "Running":
                cmd.status = "Cancelling"
                try:
                    os.kill(context.proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass

    # -- lifecycle --------------------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        """Contexts whose cluster is no longer running die with it (its driver, and so its state, is gone)."""
        with self._lock:
            contexts = list(self._contexts.values())
        for context in contexts:
            try:
                state = self.clusters.get(context.cluster_id)["state"]
            except Exception:
                state = "TERMINATED"
            if state not in LIVE_STATES:
                self._kill(context)

    def shutdown(self) -> None:
        with self._lock:
            contexts = list(self._contexts.values())
        for context in contexts:
            self._kill(context)

    def processes(self) -> list[int]:
        """The pids of live context processes (for tests that check nothing leaks)."""
        with self._lock:
            return [c.proc.pid for c in self._contexts.values() if c.proc.poll() is None]

    # -- internals --------------------------------------------------------------------------------------------

    def _running_cluster(self, cluster_id: object) -> str:
        if not isinstance(cluster_id, str) or not cluster_id:
            raise InvalidParameterValue(_missing("clusterId"))
        state = self.clusters.get(cluster_id)["state"]  # a missing cluster: "Cluster x does not exist"
        if state not in LIVE_STATES:
            raise InvalidState(
                f"Cluster {cluster_id} is not running: its state is {state}. Start it (clusters/"
                "start) and wait for RUNNING before creating an execution context."
            )
        return cluster_id

    def _context(self, cluster_id: object, context_id: object, running: bool = False) -> Context:
        if not isinstance(cluster_id, str) or not cluster_id:
            raise InvalidParameterValue(_missing("clusterId"))
        if not isinstance(context_id, str) or not context_id:
            raise InvalidParameterValue(_missing("contextId"))
        with self._lock:
            context = self._contexts.get(context_id)
        if context is None or context.cluster_id != cluster_id:
            self.clusters.get(cluster_id)
            raise does_not_exist("Context", context_id)
        if running and context.status == "Error":
            raise InvalidState(f"Context {context_id} is in state Error: {context.error}")
        return context

    def _command(self, cluster_id: object, context_id: object, command_id: object) -> tuple[Context, Command]:
        context = self._context(cluster_id, context_id)
        if not isinstance(command_id, str) or not command_id:
            raise InvalidParameterValue(_missing("commandId"))
        cmd = context.commands.get(command_id)
        if cmd is None:
            raise does_not_exist("Command", command_id)
        return context, cmd

    def _next(self, context: Context) -> None:
        """Send the next queued command once the context is ready and idle (under the lock)."""
        if context.status != "Running" or context.running is not None or not context.queue:
            return
        cmd = context.commands[context.queue.popleft()]
        context.running = cmd.id
        try:
            context.stdin.write(json.dumps({"id": cmd.id, "language": cmd.language, "command": cmd.command}) + "\n")
            context.stdin.flush()
        except (BrokenPipeError, OSError):
            cmd.status, cmd.results = "Error", {"resultType": "error", "summary": "The execution context died."}
            context.running = None

    def _read(self, context: Context) -> None:
        """The context's events: ready, a command started, a command done; EOF: the process ended."""
        try:
            for line in context.stdout:
                self._event(context, line)
        except (OSError, ValueError):  # the stream was closed by _kill
            pass
        with self._lock:
            if context.status != "Error":
                context.status = "Error"
                context.error = "The execution context's process ended."
            for cmd in context.commands.values():
                if cmd.status in ("Queued", "Running", "Cancelling"):
                    cmd.status = "Cancelled" if cmd.status == "Cancelling" else "Error"
                    cmd.results = {"resultType": "error", "summary": "The execution context ended."}

    def _event(self, context: Context, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        with self._lock:
            if event["event"] == "ready":
                context.status = "Running"
            elif event["event"] == "started":
                cmd = context.commands[event["id"]]
                cmd.status = "Cancelling" if cmd.status == "Cancelling" else "Running"
            elif event["event"] == "done":
                cmd = context.commands[event["id"]]
                cmd.status, cmd.results = event["status"], event["results"]
                context.running = None
            self._next(context)

    def _kill(self, context: Context) -> None:
        with self._lock:
            self._contexts.pop(context.id, None)
            context.status, context.error = "Error", "The execution context was destroyed."
        try:
            os.killpg(context.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            context.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (context.stdin, context.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        shutil.rmtree(context.directory, ignore_errors=True)


def _missing(field: str) -> str:
    """The 1.2 API's text for a missing field: its checks are Scala ``require``s, and clients match the text
    (``requirement failed: missing contextId``)."""
    return f"requirement failed: missing {field}"


def _language(value: object) -> str:
    lang = str(value or "").lower()
    if lang in ("scala", "r"):
        raise InvalidParameterValue(
            f"Language {lang} is not supported by the local workspace: its execution "
            "contexts are Python interpreters; use python or sql."
        )
    if lang not in LANGUAGES:
        raise InvalidParameterValue(f"Invalid language '{value}': use python or sql.")
    return lang
