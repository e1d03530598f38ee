"""Fixtures of the browser tests (see ``browser_support.py``): servers, Chromium, pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    Server,
    Tab,
    assert_clean_stop,
)
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[Path], Server]]:
    """Starts servers for this test alone; each is stopped (Ctrl-C) and checked afterwards."""
    servers: list[Server] = []

    def start(logdir: Path) -> Server:
        server = Server(logdir, tmp_path / f"index{len(servers)}.duckdb")
        servers.append(server)
        return server

    yield start
    # The pages are closed by now (open_page is set up later, so torn down first).
    running = [server for server in servers if server.process.poll() is None]
    outputs = [server.stop() for server in servers]
    for server, output in zip(servers, outputs, strict=True):
        if server in running:  # a test that stops its server checks it itself
            assert_clean_stop(server, output)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Tab]]:
    """Opens a URL in a fresh context; screenshots the page at the end and checks it threw nothing."""
    tabs: list[Tab] = []
    contexts = []

    def open_(url: str) -> Tab:
        # bypass_csp: Playwright's wait_for_function evaluates strings, which the page's CSP forbids.
        context = chromium.new_context(bypass_csp=True, viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        tab = Tab(context.new_page())
        tabs.append(tab)
        tab.page.goto(url)
        return tab

    yield open_
    try:
        if tabs:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tabs[-1].page.screenshot(
                path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True
            )
    finally:
        for context in contexts:
            context.close()
    for tab in tabs:
        assert tab.errors == [], f"uncaught errors on the page: {tab.errors}"
        assert tab.dialogs == [], f"dialogs opened: {tab.dialogs}"
