"""Browser fixtures: Debian's Chromium driven by Playwright against the app served over real HTTP.

Playwright cannot download its own browsers here: it launches the machine's Chromium
(CHROMIUM_PATH, else /usr/bin/chromium or one on PATH); `make test` installs Debian's through
.ci/test-deps. Without one the browser tests fail.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
# Every test runs the page in a zone other than UTC, so day and hour bucketing by `tz` is exercised.
TIME_ZONE = "America/New_York"


def chromium_path() -> str | None:
    """The Chromium to drive: CHROMIUM_PATH, /usr/bin/chromium, or one found on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    path = chromium_path()
    if path is None:  # `make test` installs it (.ci/test-deps): a run without it is broken
        pytest.fail("no Chromium found for the dashboard tests: run .ci/test-deps, install Debian's "
                    "`chromium`, or set CHROMIUM_PATH to a Chromium executable")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_app(app, serve):
    """The app (on a fresh, migrated database) served over HTTP on 127.0.0.1; its base URL."""
    return serve(app)


class PageProblems:
    """What went wrong in the page: uncaught errors, console errors (CSP violations among them), dialogs."""

    def __init__(self, page):
        self.errors, self.console, self.dialogs = [], [], []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.console.append(msg.text))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def expect_console(self, fragment: str):
        """Drop the console errors a test caused on purpose (the browser logs every 4xx it fetched)."""
        expected = [line for line in self.console if fragment in line]
        assert expected, f"no console error mentions {fragment!r}: {self.console}"
        self.console = [line for line in self.console if fragment not in line]

    def assert_none(self):
        assert self.errors == [], self.errors
        assert self.console == [], self.console
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def page(browser, live_app):
    """A fresh browser page at desktop size in TIME_ZONE; `page.problems` must stay empty."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=TIME_ZONE,
                                  base_url=live_app, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems(page)
    yield page
    context.close()
    page.problems.assert_none()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot of `page` as test-artifacts/<name>.png."""

    def save(page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def until(page, expression: str, timeout: float = 10.0):
    """Poll a JavaScript expression until it is truthy; returns its value.

    Playwright's wait_for_function re-evaluates its predicate with eval() inside the page, which
    the dashboard's Content-Security-Policy rightly refuses; page.evaluate goes through DevTools.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)
