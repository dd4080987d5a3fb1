"""The server's own Spark Connect sessions: a driver gone under one never stalls the others.

pyspark's ``SparkSession.stop()`` releases the session while holding the lock every new session takes, and its
default retries wait 10 minutes for a server that is gone. A driver killed while the workspace held a session to
it (a pool deleted while its driver forgot its last cluster, on a slow machine) then kept every other driver from
its warm-up query: clusters stayed PENDING and warehouses did not start, for 10 minutes. No JVM is needed here: a
port nothing listens on is a driver that is gone.
"""

from __future__ import annotations

import threading
from typing import Any

from airbricks.utils.processes import free_port
from airbricks.workspace.compute.spark.connect import close_session, open_session


def test_closing_a_session_to_a_gone_driver_does_not_hold_up_opening_another() -> None:
    gone = open_session(f"sc://127.0.0.1:{free_port()}")
    closing = threading.Thread(target=close_session, args=(gone,), daemon=True)
    closing.start()
    opened: list[Any] = []
    opening = threading.Thread(target=lambda: opened.append(open_session(f"sc://127.0.0.1:{free_port()}")), daemon=True)
    opening.start()
    opening.join(timeout=60)  # pyspark's own stop() holds it up for over 10 minutes
    closing.join(timeout=60)
    assert opened, "opening a session waited for the release of another"
    assert not closing.is_alive(), "closing a session to a gone driver still retries"
    assert gone.client.is_closed
    close_session(opened[0])
