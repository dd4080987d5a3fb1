"""The server's own Spark Connect sessions to a driver (warm-up, settings, SQL statements): opened with a
session id of their own, and closed so pyspark's exit hook has nothing left to send."""

from __future__ import annotations

import uuid
from typing import Any


def open_session(remote: str) -> Any:
    """A new Spark Connect session to ``remote`` (``sc://host:port``), isolated from every other one."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(f"{remote}/;session_id={uuid.uuid4()}").create()


def close_session(session: Any) -> None:
    """Release a Spark Connect session and close its client, so pyspark's exit hook sends nothing more."""
    try:
        session.stop()
    except Exception:
        pass
    finally:
        try:
            session.client.close()
        except Exception:
            pass
