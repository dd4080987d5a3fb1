"""A pooled client connection survives the idle gaps clients leave between polls."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlparse


def test_a_keep_alive_connection_is_reused_after_30_seconds_idle(local_ws) -> None:
    url = urlparse(local_ws.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"Authorization": f"Bearer {local_ws.token}"}
    conn.request("GET", "/api/2.1/clusters/list", headers=headers)
    first = conn.getresponse()
    first.read()
    local_port = conn.sock.getsockname()[1]
    time.sleep(31)  # the provider polls every 30 s by default
    conn.request("GET", "/api/2.1/clusters/list", headers=headers)  # reset by peer before the fix
    second = conn.getresponse()
    second.read()
    assert (first.status, second.status) == (200, 200)
    assert conn.sock.getsockname()[1] == local_port  # the same connection, not a new one
    conn.close()
