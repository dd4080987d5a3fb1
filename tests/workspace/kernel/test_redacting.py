"""The kernel's output pump: what a run prints reaches ``output.log`` with secret values already replaced.

The pump runs in a real child process here (it rewires file descriptors 1 and 2), with writes that split a value
across two calls, a value printed by a grandchild process, and a value the run learns only midway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airbricks.workspace.kernel import redacting

CHILD = r"""
import os, subprocess, sys, time
from airbricks.workspace.kernel import redacting
redacting.from_environment()
assert redacting.VALUES_ENV not in os.environ  # taken out: the run's children do not inherit the values
pump = redacting.OutputPump()
print("env value", "s3cr3t-from-the-cluster")
sys.stdout.write("split: s3cr3t-fr"); sys.stdout.flush()
time.sleep(0.2)
sys.stdout.write("om-the-cluster!\n"); sys.stdout.flush()
subprocess.run(["sh", "-c", "echo grandchild s3cr3t-from-the-cluster 1>&2"], check=True)
redacting.note_read(b"read-later-value")
print("dbutils value read-later-value")
print("ends with the start of a value: s3cr3t", end="")
pump.close()
"""


def test_the_pump_writes_the_log_redacted(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    env = {
        **os.environ,
        redacting.VALUES_ENV: json.dumps(["s3cr3t-from-the-cluster"]),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "ab") as out:
        done = subprocess.run(
            [sys.executable, "-c", CHILD], stdout=out, stderr=subprocess.STDOUT, env=env, timeout=60, check=False
        )
    text = log.read_text()
    assert done.returncode == 0, text
    assert "s3cr3t-from-the-cluster" not in text and "read-later-value" not in text, text
    assert text.splitlines() == [
        "env value [REDACTED]",
        "split: [REDACTED]!",
        "grandchild [REDACTED]",
        "dbutils value [REDACTED]",
        "ends with the start of a value: s3cr3t",  # held back until the end, then written: not a value
    ]


def test_structured_output_is_redacted_keys_and_all() -> None:
    redacting.note_read("unit-test-value-1")
    cells = [{"outputs": [{"text": "x unit-test-value-1 y"}], "unit-test-value-1": 1, "n": 2}]
    assert redacting.data(cells) == [{"outputs": [{"text": "x [REDACTED] y"}], "[REDACTED]": 1, "n": 2}]
    assert redacting.redact(b"unit-test-value-1!") == b"[REDACTED]!"


def test_a_crash_s_traceback_still_reaches_the_log(tmp_path: Path) -> None:
    """The run's process dies of an uncaught exception: its traceback is in the log, redacted, as before."""
    log = tmp_path / "output.log"
    child = (
        "from airbricks.workspace.kernel import redacting\n"
        "redacting.note_read('crash-value')\n"
        "pump = redacting.OutputPump()\n"
        "raise RuntimeError('failed with crash-value')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with open(log, "ab") as out:
        subprocess.run([sys.executable, "-c", child], stdout=out, stderr=subprocess.STDOUT, env=env, timeout=60)
    text = log.read_text()
    assert "RuntimeError: failed with [REDACTED]" in text and "crash-value" not in text, text


def test_the_kernel_takes_the_submit_command_from_the_variable_the_workspace_sets() -> None:
    """The kernel names the variable itself (importing jobs.process would cost every run's start-up)."""
    from airbricks.workspace.jobs.process import COMMAND_ENV
    from airbricks.workspace.kernel import task

    assert f'os.environ.pop("{COMMAND_ENV}", "")' in Path(task.__file__).read_text()
