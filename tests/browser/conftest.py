"""Browser tests: Debian's Chromium driven by Playwright, against the
gateway served on 127.0.0.1 from a thread.

Fixtures (reusable by any browser test, e.g. the console's):

- `browser`: one headless Chromium per test session, launched from its
  executable path (`/usr/bin/chromium`, or ISOKO_CHROMIUM); Playwright's
  own browser downloads are never used. `scripts/browser` installs it.
- `live_server_factory(env=None)` / `live_server`: a gateway app from the
  `gateway_factory` fixture (test database and Redis, shipped menu published)
  served by werkzeug on 127.0.0.1 with a free port; `.url`, `.gateway`
  (services, db, redis), `.app`.
- `new_page(viewport=...)` / `page` / `phone_page`: a fresh browser context
  (own cookies) and page; `phone_page` is phone-sized.
- `worker_for(live)` / `worker`: an in-process RQ worker on a live server's
  Redis and database, so queued SMS really get sent (to the local outbox).

A test that fails saves a screenshot of each of its pages under
`test-output/screenshots/failed-<test>-<n>.png`. Helpers (log in, drive the
simulator, screenshots) are in `tests/browser/helpers.py`. Mark modules with
`pytestmark = [pytest.mark.browser, ON_POSTGRESQL]` (from the helpers: one SQL
backend is enough for a page).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.helpers import screenshot

CHROMIUM = os.environ.get("ISOKO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/browser (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class LiveServer:
    url: str
    gateway: object  # tests.conftest.Gateway: .services, .db, .redis, .http
    app: object


@pytest.fixture
def live_server_factory(gateway_factory):
    from werkzeug.serving import make_server

    running = []

    def start(env: dict | None = None, **kwargs) -> LiveServer:
        gw = gateway_factory(env, **kwargs)
        app = gw.http.application
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return LiveServer(f"http://127.0.0.1:{server.server_port}", gw, app)

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def live_server(live_server_factory) -> LiveServer:
    return live_server_factory()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    return report


@pytest.fixture
def new_page(browser, request):
    contexts = []

    def make(viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "browser_failed", False)
    for n, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                screenshot(page, f"failed-{request.node.name}-{n}")
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def phone_page(new_page):
    return new_page(PHONE)


@pytest.fixture
def worker_for():
    """Start an in-process RQ worker for a live server (a thread polling every
    0.1 s, jobs on that server's Redis and database); stopped after the test."""
    from gateway.core import jobs as context
    from gateway.worker import runner

    started = []

    def start(live: LiveServer):
        services = live.gateway.services
        context.configure(services.settings.database_url, settings=services.settings)
        stop = threading.Event()
        thread = runner.start_inprocess_worker(services.redis, stop, poll_interval=0.1)
        started.append((stop, thread))
        return thread

    yield start
    for stop, thread in started:
        stop.set()
        thread.join(timeout=10)
    context.reset()


@pytest.fixture
def worker(worker_for, live_server):
    """An in-process worker for `live_server`."""
    return worker_for(live_server)
