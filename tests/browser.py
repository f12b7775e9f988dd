"""Admin screens in a real browser: Playwright driving Debian's Chromium (no browser download).

Use it as a marketer would: log in, click, type, read what the page shows; never post JSON or ids.

    pytestmark = browser.marks

    def test_something(admin_browser, make_user, store):
        page = admin_browser(make_user(store))          # logged in, 1280x900
        page.goto(admin_browser.url("/admin/"))
        ...
        browser.shot(page, "start-page")                # var/screenshots/start-page.png

Screenshots land in ``var/screenshots/`` (``SCREENSHOTS_DIR`` overrides it); their paths are printed so
the test output names them. Each page is checked to fit 1280 px (no horizontal scrolling) by
``assert_fits``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parent.parent / "var" / "screenshots")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test dependency is missing
    sync_playwright = None

marks = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="the playwright package is not installed"),
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


def shot(page, name: str) -> Path:
    """A full-page screenshot under ``var/screenshots/<name>.png``; prints its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def assert_fits(page, width: int = VIEWPORT["width"]) -> None:
    """The page needs no horizontal scrolling at ``width`` px."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide, more than {width} px"


class AdminBrowser:
    """Opens logged-in admin pages; ``url(path)`` is the live server's absolute URL for ``path``."""

    def __init__(self, playwright, live_server):
        self.live_server = live_server
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)

    def url(self, path: str) -> str:
        return self.live_server.url + path

    def __call__(self, user, password: str = "pw", *, viewport: dict | None = None):
        page = self.browser.new_page(viewport=viewport or VIEWPORT)
        page.set_default_timeout(15_000)
        page.goto(self.url("/admin/login/?next=/admin/"))
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state()
        return page

    def close(self) -> None:
        self.browser.close()


@pytest.fixture
def admin_browser(live_server, transactional_db, monkeypatch):
    """A factory of logged-in admin pages in headless Chromium at 1280x900 (see the module docstring)."""
    if sync_playwright is None or not os.path.exists(CHROMIUM):
        pytest.skip("needs the playwright package and Debian's chromium")
    # Playwright's sync API runs an event loop in this thread; our ORM calls here are plain and sequential.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        opener = AdminBrowser(p, live_server)
        try:
            yield opener
        finally:
            opener.close()
            # Queries made while Playwright's loop runs use their own connection: close it here, or it
            # outlives the test database (PostgreSQL refuses to drop a database still in use).
            connections.close_all()
