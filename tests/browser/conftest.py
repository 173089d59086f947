"""Browser fixtures: Playwright (sync API) drives Debian's Chromium against the real server.

The server comes from ``start_server`` (tests/conftest.py): ``python app.py`` on eventlet, on a
free port, as ``make run`` serves it. It is a server of their own, with the rate limits lifted:
every browser here is 127.0.0.1, and the shared ``live_server`` also counts other tests' games.
Playwright's browser downloads are not used: Chromium is launched from ``CHROMIUM`` (default
/usr/bin/chromium); without it the tests skip (and fail in CI, which must run them).

- ``chromium``: one headless browser for the session.
- ``new_context``: fresh browser profiles (``"desktop"`` or ``"phone"``, optionally without
  JavaScript or with axe-core injected); closed after the test. Every page is watched: an
  uncaught script error, a Content-Security-Policy violation or a JavaScript dialog (alert,
  confirm, prompt) fails the test.
- ``browser_server``: that server; ``callit``: it, and the steps tests repeat (``helpers.Callit``);
  a traceback in the server's log during the test fails it.
- ``screenshot``: saves PNGs into ``CALLIT_SCREENSHOTS`` (e.g. docs/screenshots) when set, else
  into a temporary directory, so ordinary runs leave the working tree alone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from .helpers import AXE_PATH, Callit, settle

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    # the host's and the projector's pages share one window: keep the tab behind running
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
PROFILES = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2,
              "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                            "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"},
}
EXPECT_TIMEOUT_MS = 10_000   # live updates arrive in well under a second; this is the ceiling
ACTION_TIMEOUT_MS = 15_000

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium() -> Browser:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """What went wrong in a context's pages that no assertion would otherwise see."""

    def __init__(self):
        self.problems: list[str] = []
        self.dialogs: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: uncaught {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.on("dialog", lambda dialog: self._dialog(page, dialog))

    def _console(self, page: Page, msg) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            self.problems.append(f"{page.url}: CSP violation: {msg.text}")

    def _dialog(self, page: Page, dialog) -> None:
        self.dialogs.append(f"{page.url}: {dialog.type}({dialog.message!r})")
        dialog.dismiss()


@pytest.fixture
def new_context(chromium):
    """Factory: ``new_context(kind="desktop"|"phone", javascript=True, axe=False, **options)``."""
    made: list[tuple[BrowserContext, PageWatch]] = []

    def make(kind: str = "desktop", *, javascript: bool = True, axe: bool = False,
             **options) -> BrowserContext:
        context = chromium.new_context(**{**PROFILES[kind], "java_script_enabled": javascript,
                                          **options})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        if axe:  # an init script is not subject to the page's CSP, unlike an inline <script>
            context.add_init_script(path=str(AXE_PATH))
        watch = PageWatch()
        context.on("page", watch.attach)
        made.append((context, watch))
        return context

    yield make
    problems, dialogs = [], []
    for context, watch in made:
        problems += watch.problems
        dialogs += watch.dialogs
        context.close()
    assert not dialogs, f"a page opened a JavaScript dialog: {dialogs}"
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def browser_server(start_server):
    return start_server(env={"RATE_LIMIT_CREATE_PER_MINUTE": "100000",
                             "RATE_LIMIT_JOIN_PER_MINUTE": "100000"})


@pytest.fixture
def callit(browser_server) -> Callit:
    """The steps of a game on ``browser_server``; the test fails if the server logged an
    unhandled error meanwhile (a 500 page alone may not say why)."""
    logged_before = len(browser_server.log())
    yield Callit(browser_server.url)
    logged = browser_server.log()[logged_before:]
    assert "Traceback" not in logged, f"the server logged an error during the test:\n{logged}"


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    wanted = os.environ.get("CALLIT_SCREENSHOTS")
    if wanted:
        path = Path(wanted)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshot_dir):
    """``screenshot(page, "name", full_page=False)`` -> the PNG's path."""
    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        page.bring_to_front()
        settle(page)
        page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
        return path
    return take
