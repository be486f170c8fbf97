"""The desk in a real browser: Playwright drives the system's Chromium against a real
`dragoman serve` (tiny CTranslate2 model, SQLite, embedded broker).

Chromium is Debian's (`apt-get install chromium fonts-noto-core`, which .ci/run does):
browsers cannot be downloaded here. Screenshots of the main states go to
tests/browser/screenshots/ (not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from testkit.procs import Proc, free_port
from tests.fixtures.site import PAGES, LocalSite, page
from tests.integration.conftest import base_env, wait_ready

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = os.environ.get("DRAGOMAN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for the tiny model to be caught running, short enough to stay in the limit.
MAX_TEXT_CHARS = 60_000


@dataclass
class Desk:
    base: str
    env: dict[str, str]
    data_dir: Path
    site: LocalSite
    procs: list[Proc]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, tiny_nllb_ct2_dir: Path) -> Iterator[Desk]:
    """`dragoman serve` on loopback (no keys), and a local news site its worker may fetch."""
    tmp = tmp_path_factory.mktemp("desk")
    env = base_env(
        tmp / "data",
        tiny_nllb_ct2_dir,
        DRAGOMAN_ALLOW_PRIVATE_FETCH="true",
        DRAGOMAN_MAX_TEXT_CHARS=str(MAX_TEXT_CHARS),
        DRAGOMAN_EVENTS_POLL_SECONDS="0.2",
        # Random weights fail every check: flag them, without the stricter (slower) retry.
        DRAGOMAN_QUALITY_CHECKS="flag",
        DRAGOMAN_WORKER_SHUTDOWN_SECONDS="1",
    )
    env.pop("DRAGOMAN_AUTH")  # serve decides: open on loopback
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = Proc(["serve", "--port", str(port), "--concurrency", "2"], env, tmp / "serve.log")
    with LocalSite() as site:
        site.route("/news/geneva-talks", page((PAGES / "en-news.html").read_text("utf-8")))
        try:
            wait_ready(base, [serve])
            yield Desk(base, env, tmp / "data", site, [serve])
        finally:
            serve.stop()
            serve.kill_group()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: apt-get install -y chromium fonts-noto-core "
            "(or set DRAGOMAN_TEST_CHROMIUM)"
        )
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """New pages (own context each); every console error or page error fails the test.

    A Content-Security-Policy violation is a console error, so the page runs clean.
    """
    contexts: list[Any] = []
    problems: list[str] = []

    def new(width: int = 1400, height: int = 1000) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()

        def console(message: ConsoleMessage) -> None:
            # An API error the page shows as a message is logged as a failed load too.
            if message.type == "error" and not message.text.startswith("Failed to load"):
                problems.append(f"console: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        return page

    yield new
    for context in contexts:
        context.close()
    assert problems == []


def submit_json(base: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}/v1/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job
