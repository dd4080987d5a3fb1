"""Signing in the way a user does: ``airbricks serve`` (the real command line) prints a one-time link; opening
it in a browser signs that browser in with an HttpOnly, SameSite=Strict cookie, and the link is then spent."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any


def _printed_link(proc: Any, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.proc.stdout.readline()
        seen.append(line)
        found = re.search(r"web UI:\s+(\S+/login\?token=\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"airbricks serve printed no sign-in link: {''.join(seen)}")


def test_sign_in_through_the_link_serve_prints(serve_process: Any, browser: Any, tmp_path: Path) -> None:
    proc = serve_process(tmp_path / "data")
    link = _printed_link(proc)
    assert link.startswith(proc.url)
    token = (tmp_path / "data" / "token").read_text().strip()
    assert token not in link

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link)
        assert page.url == f"{proc.url}/"  # the token left the address bar
        assert page.locator("h1").inner_text() == "Local workspace"
        cookie = next(c for c in context.cookies() if c["name"] == "airbricks_session")
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # scripts cannot read it
        assert token not in page.content()
        page.goto(f"{proc.url}/ui/clusters")
        assert page.locator("h1").inner_text() == "Compute"
    finally:
        context.close()

    other = browser.new_context()
    try:
        page = other.new_page()
        response = page.goto(link)
        assert response.status == 401
        assert "used already" in page.locator("#signin-message").inner_text()
    finally:
        other.close()
