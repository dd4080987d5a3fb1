"""One execution context of the Command Execution API: ``python -m airbricks.workspace.kernel.command <spec>``.

A persistent interpreter: every command of the context runs in the same globals, so a variable set by one
command is there for the next, as on Databricks. ``spark`` is a Spark Connect session to the cluster's driver
(one session for the context's whole life: its temp views too), ``dbutils`` is the notebooks' one. SQL
commands run as ``spark.sql``. A command's source may be indented as a whole (the SDK's remote ``dbutils``
sends its code from an indented triple-quoted string): it runs as Databricks runs it, dedented. In a command,
``dbutils.notebook.exit(value)`` ends the command with ``value`` as its text result (what the SDK's remote
``dbutils`` reads back). The server writes one JSON command per line on stdin and reads one JSON event
per line from the protocol pipe (the process's original stdout; user output is captured per command). SIGINT
cancels the running command. The context dies with the server: stdin closes, and on Linux the kernel asks to
be killed when its parent dies.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import signal
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any

from airbricks.utils.processes import die_with_parent
from airbricks.workspace.kernel.dbutils import DBUtils, NotebookExit
from airbricks.workspace.kernel.spark_session import SparkProxy, UnavailableSpark, connect_url, mount_fuse_paths

#: At most this many rows of a table result (the rest is cut and ``truncated`` is true).
MAX_ROWS = 10_000
NO_SPARK = (
    "this cluster has no Spark engine: start the local workspace with Spark (airbricks serve --spark; needs"
    " pip install 'airbricks[spark]' and Java 17+)"
)


class _Running:
    """Whether a command runs now: SIGINT interrupts it then, and is ignored between commands."""

    active = False


def _on_sigint(signum: int, frame: Any) -> None:
    if _Running.active:
        raise KeyboardInterrupt


def run_python(code: str, env: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` in ``env``: the text result is what it printed plus the value of a final expression, or
    the value given to ``dbutils.notebook.exit``."""
    tree = ast.parse(textwrap.dedent(code), "<command>", "exec")
    final = tree.body[-1] if tree.body else None
    last = final if isinstance(final, ast.Expr) else None
    if last is not None:
        tree.body.pop()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(tree, "<command>", "exec"), env)
            value = eval(compile(ast.Expression(last.value), "<command>", "eval"), env) if last else None
    except NotebookExit as done:
        return {"resultType": "text", "data": done.value}
    text = out.getvalue()
    if value is not None:
        text += repr(value)
    return {"resultType": "text", "data": text.rstrip("\n")}


def run_sql(query: str, env: dict[str, Any]) -> dict[str, Any]:
    """``spark.sql(query)`` as a table result: rows as lists, the schema as Databricks gives it."""
    frame = env["spark"].sql(query)
    rows = frame.limit(MAX_ROWS + 1).collect()
    schema = [
        {"name": f.name, "type": json.dumps(f.dataType.jsonValue()), "metadata": json.dumps(f.metadata)}
        for f in frame.schema.fields
    ]
    data = [[_plain(v) for v in row] for row in rows[:MAX_ROWS]]
    return {
        "resultType": "table",
        "data": data,
        "schema": schema,
        "truncated": len(rows) > MAX_ROWS,
        "isJsonSchema": True,
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def error_result(exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next  # the user's frames first, as in a notebook
    text = str(exc)
    summary = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return {"resultType": "error", "summary": summary, "cause": "".join(traceback.format_exception(type(exc), exc, tb))}


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    die_with_parent()  # not Linux: stdin's end-of-file still ends the loop
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # what a child process prints cannot corrupt the protocol
    dbfs_root, volumes_root = Path(spec["dbfs_root"]), Path(spec["volumes_root"])
    remote = spec.get("spark_remote")
    spark: SparkProxy | UnavailableSpark = (
        SparkProxy(connect_url(remote, spec["spark_session_id"])) if remote else UnavailableSpark(NO_SPARK)
    )
    env: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": __builtins__,
        "spark": spark,
        "dbutils": DBUtils({}, dbfs_root, volumes_root),
    }
    mount_fuse_paths(dbfs_root, volumes_root)
    os.chdir(spec["cwd"])
    signal.signal(signal.SIGINT, _on_sigint)
    protocol.write(json.dumps({"event": "ready"}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        protocol.write(json.dumps({"event": "started", "id": command["id"]}) + "\n")
        status = "Finished"
        try:
            _Running.active = True
            run = run_sql if command["language"] == "sql" else run_python
            results = run(command["command"], env)
        except KeyboardInterrupt:
            status, results = (
                "Cancelled",
                {
                    "resultType": "error",
                    "summary": "Command was cancelled",
                    "cause": "The command was cancelled (commands/cancel).",
                },
            )
            if isinstance(spark, SparkProxy) and spark._session is not None:
                with contextlib.suppress(Exception):
                    spark.interruptAll()
        except BaseException as exc:
            results = error_result(exc)
        finally:
            _Running.active = False
        protocol.write(
            json.dumps({"event": "done", "id": command["id"], "status": status, "results": results}, default=str) + "\n"
        )
    if isinstance(spark, SparkProxy):
        spark.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
