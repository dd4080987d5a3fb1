"""Polling helpers shared by the tests (importable: pytest puts ``tests/`` on ``sys.path`` for its conftest)."""

from __future__ import annotations

import time
from typing import Any


def wait_cluster_state(sdk: Any, cluster_id: str, state: Any, timeout: float = 15.0) -> Any:
    """Poll ``clusters/get`` every 50 ms (faster than the SDK's own waiters, to keep the suite short) until the
    cluster is in ``state``; fails with the state and message it is in otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        info = sdk.clusters.get(cluster_id)
        if info.state == state or time.monotonic() > deadline:
            assert info.state == state, f"{cluster_id} is {info.state}: {info.state_message}"
            return info
        time.sleep(0.05)


def wait_for(what: str, check: Any, timeout: float, poll: float = 0.2) -> Any:
    """Call ``check`` every ``poll`` seconds until it returns something truthy (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
