"""The server's own Spark Connect sessions to a driver (warm-up, settings, SQL statements): opened with a
session id of their own, and closed so pyspark's exit hook has nothing left to send.

pyspark's client is made for one user's process, not for a server holding sessions to drivers that come and
go. Two of its defaults would stall the whole workspace when a driver dies under a session: each call retries an
unreachable server for at least 10 minutes, and ``SparkSession.stop()`` makes its release call while holding the
class-wide lock every new session takes. One dead driver then kept every other driver from answering its warm-up
(clusters PENDING, warehouses not starting) for 10 minutes. So the server's sessions retry for seconds only, and
are closed without holding that lock over a call.
"""

from __future__ import annotations

import uuid
from typing import Any

#: How often the server's own calls retry a driver that does not answer (backoff 0.05, 0.2, 0.8, then 2 s):
#: about 7 s in all, then the call fails and the driver is reported unreachable.
RETRIES = 6
MAX_BACKOFF_MS = 2000


def open_session(remote: str) -> Any:
    """A new Spark Connect session to ``remote`` (``sc://host:port``), isolated from every other one, whose
    calls give up on an unreachable driver within seconds."""
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy

    session = SparkSession.builder.remote(f"{remote}/;session_id={uuid.uuid4()}").create()
    session.client.set_retry_policies([DefaultPolicy(max_retries=RETRIES, max_backoff=MAX_BACKOFF_MS)])
    return session


def close_session(session: Any) -> None:
    """Release a Spark Connect session and close its client, so pyspark's exit hook sends nothing more. The
    release is tried once, before ``stop()`` and outside pyspark's class-wide lock (``stop()`` then only forgets
    the session): a driver that does not answer it is gone, and its sessions with it."""
    client = session.client
    try:
        if not client.is_closed:
            client.set_retry_policies([])
            client.release_session()
    except Exception:
        pass  # the driver is gone: nothing left to release
    finally:
        try:
            client.close()
            session.stop()
        except Exception:
            pass
