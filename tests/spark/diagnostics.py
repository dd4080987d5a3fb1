"""What a failed Spark test's report shows of the session workspace: its drivers, the metastore, and every
thread's stack in this process (the workspace's ticker and request threads run here), so a CI failure that
does not happen on a developer's machine can be read from its output."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

from airbricks.workspace.compute.spark.driver import Driver
from airbricks.workspace.compute.spark.engine import SparkEngine
from airbricks.workspace.compute.spark.processes import log_tail


def workspace_state(engine: SparkEngine) -> str:
    """The engine's drivers (the log tail of any not READY) and the metastore (its log tail)."""
    lines = [f"held {engine._held()} of {engine.max_drivers} drivers"]
    drivers = [(k, d) for k, d in list(engine._drivers.items()) if isinstance(d, Driver)]
    drivers += [(f"idle in {pool_id}", d) for pool_id, p in list(engine._pools.pools.items()) for d in p.idle]
    for name, driver in drivers:
        lines.append(
            f"{name}: {driver.state.name} pid {driver.pid} port {driver.port} ready after {driver.ready_seconds}"
            f" reason {driver.reason}"
        )
        if driver.state.name != "READY":
            lines.append(_tail(driver.log))
    metastore = engine._metastore
    if metastore is not None:
        lines.append(f"metastore port {metastore.port} ready {metastore.ready()} failed {metastore.failed()}")
        lines.append(_tail(metastore.log))
    return "\n".join(lines)


def thread_stacks() -> str:
    """The last frames of every thread of this process, by name."""
    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        out.append(f"--- {names.get(ident, ident)}")
        out.extend(line.rstrip() for line in traceback.format_stack(frame)[-12:])
    return "\n".join(out)


def _tail(log: Path) -> str:
    return "    " + log_tail(log, 2500).replace("\n", "\n    ")
