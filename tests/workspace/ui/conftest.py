"""Fixtures of the web UI's tests: one Chromium for the session, signed-in pages, the UI's login links.

The browser is Debian's Chromium driven by Playwright (its own browser download is not used); ``.ci/run``
installs it. Without a browser the browser tests fail under ``CI=true`` and are skipped elsewhere, saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

#: Without the background-networking flags Chromium's own connections are refused by a closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or (os.path.exists("/usr/bin/chromium") and "/usr/bin/chromium") or None


def _no_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the web UI's browser tests need a browser in CI: {reason}", pytrace=False)
    pytest.skip(f"the web UI's browser tests need a browser: {reason}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for all the session's browser tests (each test opens its own context: cookies
    apart). Package scope, not session: while Playwright's sync API is started, the main thread's asyncio loop
    counts as running, so ``asyncio.run()`` fails (triggers, deferrable operators under ``dag.test()``); the
    browser must be gone before the other packages' tests run. Every browser test lives in this package."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed (pip install 'airbricks[dev]')")
    path = chromium_path()
    if path is None:
        _no_browser("no chromium on PATH (apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
    except Exception as exc:  # a browser that cannot start is as missing as no browser
        playwright.stop()
        _no_browser(f"{path} did not start: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


def new_login_link(ws: Any) -> str:
    """A one-time sign-in link, asked of the API with the bearer token (as a script would)."""
    resp = requests.post(
        f"{ws.url}/api/2.0/airbricks/ui/login-links", headers={"Authorization": f"Bearer {ws.token}"}, timeout=10
    )
    resp.raise_for_status()
    return resp.json()["url"]


@pytest.fixture
def login_link(local_ws: Any) -> Callable[[], str]:
    return lambda: new_login_link(local_ws)


@pytest.fixture
def signed_in(browser: Any, local_ws: Any) -> Iterator[Any]:
    """A page of a fresh browser context, signed in through a one-time link."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(new_login_link(local_ws))
    yield page
    context.close()


@pytest.fixture
def anonymous(browser: Any) -> Iterator[Any]:
    """A page of a fresh browser context that never signed in."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
