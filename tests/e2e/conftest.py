"""Playwright fixtures for the browser journeys: the Debian Chromium against pytest-django's live server.

- `browser` is session-scoped: one Chromium for every journey. It is the distribution package at
  /usr/bin/chromium, never a browser downloaded by `playwright install`. Without it the journeys skip
  locally but fail in CI (env CI set), where they must run.
- `page` is a fresh browser context (cookies, storage) per test, pointed at `live_server`. Every
  response of 400 or above is recorded, and the test errors at teardown if a page or an asset (the
  vendored CSS/JS under /static/) failed to load; a response a journey provokes on purpose is named in
  `expected_failures`.
- The live server needs a transactional database; the flush after each transactional test sends
  post_migrate, which recreates the "Channel managers" group (partners.roles).
- Playwright's sync API keeps an asyncio event loop running in the main thread, which makes Django
  refuse ORM calls (SynchronousOnlyOperation) in the test body and in fixtures; the tests really are
  synchronous, so DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser is up (from the first journey to
  the end of the session), not for the tests that ran before it.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def _live_server_db(transactional_db):
    """Journeys run against the live server, which needs committed data."""


@pytest.fixture(scope="session")
def browser():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"Chromium is not installed at {CHROMIUM}: the e2e journeys need the Debian 'chromium' package."
        if os.environ.get("CI"):
            pytest.fail(f"{message} In CI they must run, not skip (.ci/run installs it).", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as mp, sync_playwright() as playwright:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def expected_failures():
    """Responses a journey provokes on purpose, as "STATUS /path/" (a form answered 400): not counted as failures."""
    return set()


@pytest.fixture
def page(browser, live_server, expected_failures):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    failed = []
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.status} {response.url}")
            if response.status >= 400 and f"{response.status} {urlsplit(response.url).path}" not in expected_failures
            else None
        ),
    )
    # ERR_ABORTED is a request the browser dropped because the page navigated on (not a broken asset).
    page.on(
        "requestfailed",
        lambda request: None if "ERR_ABORTED" in (request.failure or "") else failed.append(f"{request.failure} {request.url}"),
    )
    yield page
    context.close()
    assert not failed, "requests failed during the journey:\n" + "\n".join(failed)


def login(page, username, password, *, lands_on):
    """Sign in through the real login form (django-axes sees a real authentication); wait for `lands_on`."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form [type=submit]")
    page.wait_for_url(f"**{lands_on}")


def assert_front_end_loaded(page):
    """The vendored front end is served by the live server: HTMX, Bootstrap and the site CSS are live."""
    assert page.evaluate("typeof htmx") == "object", "static/vendor/htmx/htmx.min.js did not load"
    assert page.evaluate("typeof bootstrap") == "object", "static/vendor/bootstrap/js/bootstrap.bundle.min.js did not load"
    assert page.evaluate("[...document.styleSheets].some(s => s.href && s.href.includes('bootstrap.min.css') && s.cssRules.length > 0)")
