"""Triggers waiting in one event loop (as in Airflow's triggerer) share one HTTP session, closed at the end."""

from __future__ import annotations

import asyncio
import base64
import uuid

import requests

from airbricks import hooks
from airbricks.triggers import DatabricksFileTrigger


def test_triggers_in_one_loop_share_one_session_and_close_it(local_ws) -> None:
    folder = f"/trigger-sessions/{uuid.uuid4().hex}"
    paths = [f"dbfs:{folder}/file-{i}" for i in range(3)]

    def land(path: str) -> None:
        response = requests.post(
            f"{local_ws.url}/api/2.0/dbfs/put",
            timeout=10,
            headers={"Authorization": f"Bearer {local_ws.token}"},
            json={"path": path, "contents": base64.b64encode(b"x").decode()},
        )
        assert response.status_code == 200, response.text

    async def scenario() -> list[dict]:
        triggers = [DatabricksFileTrigger(path, poll_interval=0.1) for path in paths]
        waits = [asyncio.ensure_future(anext(t.run())) for t in triggers]
        await asyncio.sleep(0.5)  # all three are polling for files that do not exist yet
        loop = asyncio.get_running_loop()
        shared = hooks._SHARED_SESSIONS.get(loop)
        assert shared is not None and shared.users == 3 and not shared.session.closed
        session = shared.session
        for path in paths:
            await asyncio.to_thread(land, path)
        events = await asyncio.gather(*waits)
        assert session.closed and loop not in hooks._SHARED_SESSIONS
        return [event.payload for event in events]

    payloads = asyncio.run(scenario())
    assert [p["status"] for p in payloads] == ["success"] * 3
    assert sorted(p["file"]["path"] for p in payloads) == sorted(p.removeprefix("dbfs:") for p in paths)
