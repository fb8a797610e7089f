"""Browser tests: Playwright for Python driving Debian's Chromium (headless) against a real
Strongbox server. Playwright's own browser download does not work on these machines, so the
tests launch `/usr/bin/chromium` (apt package `chromium`), or `STRONGBOX_CHROMIUM` when set.

Each test's last screen is saved as `test-output/screenshots/<test>.png`, also on failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from fixtures.app import RunningServer, start_server, stop_server

CHROMIUM = os.environ.get("STRONGBOX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TIME_ZONE = "Europe/Berlin"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        # A failure, not a skip: scripts/setup.sh installs it, and a skipped browser suite would
        # pass silently.
        pytest.fail(f"{CHROMIUM} not found: install the Debian package 'chromium'")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    expect.set_options(timeout=10_000)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, wal_fetch_python: str) -> Iterator[RunningServer]:
    """One real Strongbox server (API, page, workers, scheduler) for the module's tests."""
    running, server = start_server(
        tmp_path_factory.mktemp("web") / "data", wal_fetch_python=wal_fetch_python
    )
    yield running
    stop_server(running, server)


def _screenshot_path(request: pytest.FixtureRequest) -> Path:
    folder = Path(request.config.rootpath) / "test-output" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + ".png")


@pytest.fixture
def page(browser: Browser, web: RunningServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) in Berlin time, at the server's address."""
    context = browser.new_context(
        base_url=web.url, timezone_id=BROWSER_TIME_ZONE, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    try:
        page.screenshot(path=_screenshot_path(request), full_page=True)
    finally:
        context.close()


@pytest.fixture
def signed_in(page: Page, web: RunningServer) -> Page:
    page.goto("/")
    page.get_by_label("API token").fill(web.token)
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("heading", name="Databases", exact=True)).to_be_visible()
    return page
