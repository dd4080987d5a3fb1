"""Supervised processes are never left behind: stopped on Ctrl-C, on SIGTERM, and when their starter is killed.

A real child Python starts a supervised ``sleep`` (in its own process group, as every deployment service is),
then is interrupted the three ways a test run ends badly; the ``sleep`` must be gone each time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

STARTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from airbricks.testing.processes import Service, Supervisor

    sup = Supervisor(Path(sys.argv[1]))
    service = sup.spawn(Service("sleeper", ["sleep", "120"]))
    sup.wait_ready()
    print(service.pid, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too (reaped by init later)
        return stat.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "kill-9"])
def test_the_service_dies_with_its_starter(tmp_path, how):
    starter = subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(starter.stdout.readline())
        assert _alive(pid)
        starter.send_signal(how)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"the supervised process {pid} outlived its starter ({how.name})"
    finally:
        starter.kill()
