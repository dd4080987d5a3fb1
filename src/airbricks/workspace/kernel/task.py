"""The process that runs one task run: ``python -m airbricks.workspace.kernel.task <spec.json>``.

The spec (written by :mod:`airbricks.workspace.jobs.process`) says what to run - a notebook's SOURCE text or a
Python file - with which widgets/arguments, libraries, Spark driver, and where to write the outcome and the
notebook's cell outputs. The outcome file is written
atomically; its absence after exit means the process died (killed, crashed) before finishing.
It imports only the standard library and small airbricks modules (pyspark on first use of ``spark``):
start-up time is run latency.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from airbricks.workspace.kernel import job as job_kernel
from airbricks.workspace.kernel import redacting
from airbricks.workspace.kernel.cells import CellLog, NotebookRunner, Tee, install
from airbricks.workspace.kernel.channel import WorkspaceChannel
from airbricks.workspace.kernel.dbutils import MAX_EXIT_BYTES, NotebookExit
from airbricks.workspace.kernel.display import Display
from airbricks.workspace.kernel.spark_session import SparkProxy, UnavailableSpark, connect_url, mount_fuse_paths
from airbricks.workspace.storage.paths import AUTO_CREATE_VOLUMES_ENV

NO_DELTA = (
    "airbricks: Delta Lake is not available in this local workspace - its jars are not on PyPI, so tables"
    " are parquet here. Use parquet (the default), or start the workspace with --spark-packages"
    " io.delta:delta-spark_2.13:<version> on a machine that can reach Maven Central."
)
NO_ENGINE = (
    "this task's compute has no Spark engine. Run it on a cluster of a local workspace started with"
    " Spark (airbricks serve --spark; needs pip install 'airbricks[spark]' and Java 17+), or on a real"
    " Databricks workspace."
)


def write_outcome(path: str, outcome: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def exit_outcome(value: str) -> dict[str, Any]:
    data = value.encode("utf-8")
    if len(data) <= MAX_EXIT_BYTES:
        return {"status": "SUCCESS", "result": value, "truncated": False}
    return {"status": "SUCCESS", "result": data[:MAX_EXIT_BYTES].decode("utf-8", "ignore"), "truncated": True}


def failure_outcome(exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    # Drop the kernel's own frames: the user sees their code first, as in a notebook.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    trace = "".join(traceback.format_exception(type(exc), exc, tb))
    text = str(exc)
    error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if "DATA_SOURCE_NOT_FOUND" in text and "delta" in text.lower():
        error += f" [{NO_DELTA}]"
    return {"status": "FAILED", "error": error, "error_trace": trace}


def _spark(spec: dict[str, Any], channel: WorkspaceChannel) -> SparkProxy | UnavailableSpark:
    remote = spec.get("spark_remote")
    if not remote:
        return UnavailableSpark(NO_ENGINE)
    url = connect_url(remote, spec["spark_session_id"])
    os.environ["SPARK_REMOTE"] = url  # SparkSession.builder.getOrCreate() in user code: the same session
    catalogs = None
    if channel.available:  # spark.sql's three-part names of the workspace's other catalogs (asked when named)

        def catalogs() -> list[str]:
            try:
                answer = channel.call("GET", "/api/2.1/unity-catalog/catalogs")
            except Exception:  # the statement goes to Spark as written: a missing catalog is reported there
                return []
            return [entry["name"] for entry in answer.get("catalogs", [])]

    return SparkProxy(url, jars=spec.get("jars") or [], catalogs=catalogs)


def _jvm_exception(log: Path) -> str:
    """The exception that ended a JVM (``Exception in thread "main" X: message``), from the run's log."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    found = [line.split(" ", 4)[-1] for line in lines if line.startswith('Exception in thread "main" ')]
    return found[-1][:1000] if found else ""


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    dbfs_root, volumes_root = Path(spec["dbfs_root"]), Path(spec["volumes_root"])
    if spec.get("auto_create_volumes"):
        os.environ[AUTO_CREATE_VOLUMES_ENV] = "1"
    channel = WorkspaceChannel.from_environment()
    redacting.from_environment()
    submit_command = os.environ.pop("AIRBRICKS_SUBMIT_COMMAND", "")  # jobs.process.COMMAND_ENV, before any child
    pump = redacting.OutputPump()  # output.log is written redacted from here on
    run_dir = Path(spec_path).parent
    dbutils = job_kernel.JobDBUtils(spec.get("widgets") or {}, dbfs_root, volumes_root, channel, spec, run_dir)
    log = CellLog(Path(spec["cells_path"]) if spec.get("cells_path") else None)
    display = Display(log)
    spark = _spark(spec, channel)
    env: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": __builtins__,
        "dbutils": dbutils,
        "spark": spark,
        "display": display,
        "displayHTML": display.html,
    }
    mount_fuse_paths(dbfs_root, volumes_root)
    if spec.get("cwd"):
        os.chdir(spec["cwd"])
        sys.path.insert(0, spec["cwd"])  # modules beside the notebook import, as in a Git folder
    pip_dir = Path(spec_path).parent / "site-packages"  # this run's own packages (%pip, task libraries)
    if spec.get("cluster_site"):
        sys.path.insert(0, spec["cluster_site"])  # the cluster's libraries (libraries/install)
    try:
        if spec.get("libraries"):
            install(spec["libraries"], pip_dir)
            sys.path.insert(0, str(pip_dir))
        if spec["kind"] == "notebook":
            sys.stdout = Tee(sys.stdout, log)
            runner = NotebookRunner(
                env, log, workspace_root=Path(spec["workspace_root"]), pip_dir=pip_dir, display=display
            )
            runner.run(spec["source"], spec["name"])
        elif spec["kind"] == "spark_submit":
            import subprocess  # here only: the kernel's start-up time is every run's latency

            from airbricks.workspace.compute.spark import properties
            from airbricks.workspace.jobs.process import LOG

            child_env = {k: v for k, v in os.environ.items() if k != "SPARK_REMOTE"}  # its own driver, not Connect
            command, conf = properties.split_conf(json.loads(submit_command) if submit_command else spec["command"])
            conf_file = properties.write(conf, "airbricks-submit-")  # 0600, never on a command line
            try:
                done = subprocess.run(
                    [command[0], properties.FLAG, str(conf_file), *command[1:]],
                    stdin=subprocess.DEVNULL,
                    check=False,
                    env={**child_env, "SPARK_LOCAL_IP": "127.0.0.1"},
                )
            finally:
                properties.remove(conf_file)
            if done.returncode:
                cause = _jvm_exception(Path(spec_path).parent / LOG)
                raise RuntimeError(f"spark-submit exited with code {done.returncode}" + (f": {cause}" if cause else ""))
        elif spec["kind"] == "wheel":
            job_kernel.run_wheel(spec["package_name"], spec["entry_point"], spec.get("argv") or [])
        else:
            file = spec["python_file"]
            sys.argv = [file, *[str(a) for a in spec.get("argv") or []]]
            env["__file__"] = file
            sys.path.insert(0, os.path.dirname(file))
            code = compile(Path(file).read_text(encoding="utf-8"), spec.get("name") or file, "exec")
            exec(code, env)
        outcome: dict[str, Any] = {"status": "SUCCESS", "result": None, "truncated": False}
    except NotebookExit as done:
        outcome = exit_outcome(done.value)
    except SystemExit as stop:
        exit_code = stop.code
        if exit_code in (None, 0):
            outcome = {"status": "SUCCESS", "result": None, "truncated": False}
        else:
            outcome = failure_outcome(stop)
            outcome["error"] = f"SystemExit: {exit_code}"
    except BaseException as exc:
        traceback.print_exc()
        outcome = failure_outcome(exc)
        log.fail(outcome["error"], outcome["error_trace"])
    if isinstance(spark, SparkProxy):
        spark.close()
    pump.close()
    log.save()
    outcome.update(job_kernel.outcome_extras(dbutils))
    write_outcome(spec["result_path"], redacting.data(outcome))
    return 0


def warm() -> int:
    """A kernel started ahead of its run (:class:`airbricks.workspace.jobs.process.WarmKernels`): import what
    every run needs, then wait for one run's order on stdin - its spec, log, directory and environment - and run
    it as a cold kernel would. An empty stdin (the pool stopped) ends it."""
    try:
        import pyspark.sql.connect.session  # noqa: F401 - imported ahead (with pandas, pyarrow, grpc): ~2 s
    except ImportError:
        pass  # no pyspark here: runs say so when they use spark
    os.write(1, b"ready\n")  # the pool hands out ready kernels only (a run never waits for imports it may not need)
    line = sys.stdin.readline()
    if not line:
        return 0
    order = json.loads(line)
    log = os.open(order["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(order["cwd"])
    os.environ.update(order["env"])
    return main(order["spec"])


if __name__ == "__main__":
    sys.exit(warm() if sys.argv[1] == "--warm" else main(sys.argv[1]))
