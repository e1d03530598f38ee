"""What the browser tests share: the server as a process, the page as a tab, and ways to look at it.

The fixtures built on these (``start_server``, ``chromium``, ``open_page``)
are in ``conftest.py``. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import io
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
from PIL import Image
from playwright.sync_api import Dialog, Locator, Page, Request, expect

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1400, "height": 900}

# -- the server --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``python -m stepscope --logdir ...`` in a process of its own, until stop()."""

    def __init__(self, logdir: Path, index: Path, *extra: str, prefix: str = "") -> None:
        port = free_port()
        self.logdir = logdir
        self.root = f"http://127.0.0.1:{port}/"
        self.url = f"http://127.0.0.1:{port}{prefix}/"
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stepscope",
                "--logdir",
                str(logdir),
                "--port",
                str(port),
                "--index",
                str(index),
                "--reload_interval",
                "0.3",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # stepscope prints its messages on stderr
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60) or self.process.poll() is not None:
            output = self.stop()
            raise AssertionError(f"the server did not start:\n{output}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "stepscope is serving" in line:
                self._ready.set()
        self._ready.set()  # it exited

    def stop(self) -> str:
        """Ctrl-C, then what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return "".join(self.lines)


def assert_clean_stop(server: Server, output: str) -> None:
    assert server.process.returncode == 0, output
    assert "stepscope stopped." in output, output
    assert "Traceback" not in output, f"Ctrl-C printed a traceback:\n{output}"


class Tab:
    """A page with what went wrong on it: uncaught errors and dialogs (which must not open)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[Request] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)
        page.on("request", self._request)

    def _request(self, request: Request) -> None:
        self.requests.append(request)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


# -- looking at the page ---------------------------------------------------------


def css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def card(page: Page, tag: str) -> Locator:
    return page.locator(f".card[data-tag={css_string(tag)}]")


def run_row(page: Page, run: str) -> Locator:
    # Rows out of the list's window are hidden (and may keep an old run's name).
    return page.locator(f"label.run-row:not([hidden])[data-run={css_string(run)}]")


def snapshot(page: Page, name: str) -> None:
    """A screenshot of a moment inside a test, next to the test's own."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def fragment(page: Page) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("() => location.hash").lstrip("#"))


def wait_for_hash(page: Page, predicate: str) -> None:
    """Waits until the URL's fragment (as URLSearchParams ``q``) satisfies a JS expression."""
    page.wait_for_function(
        f"() => {{ const q = new URLSearchParams(location.hash.slice(1)); return {predicate}; }}",
        timeout=5_000,
    )


# -- the tests -----------------------------------------------------------------


def rgb_of(colour: str) -> tuple[int, int, int]:
    """A computed CSS colour (``rgb(r, g, b)``) as a tuple."""
    match = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", colour)
    assert match, colour
    r, g, b = (int(v) for v in match.groups())
    return r, g, b


def card_run_rgb(found: Locator) -> tuple[int, int, int]:
    """The colour of a card's run, from the swatch in the card's head."""
    return rgb_of(
        found.locator(".card-run .swatch").evaluate("e => getComputedStyle(e).backgroundColor")
    )


def drawn_card(found: Locator, timeout: float = 15_000) -> Locator:
    """A card, scrolled into view and drawn."""
    found.scroll_into_view_if_needed(timeout=timeout)
    expect(found).to_have_attribute("data-state", "drawn", timeout=timeout)
    return found


def pixels_of(png: bytes, rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels of the image are (nearly) of this colour."""
    with Image.open(io.BytesIO(png)) as image:
        array = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(array - np.array(rgb)).max(axis=2) <= tolerance).sum())


def share_differing(a: bytes, b: bytes) -> float:
    """The share of pixels that differ between two screenshots of the same size."""
    with Image.open(io.BytesIO(a)) as first, Image.open(io.BytesIO(b)) as second:
        x = np.asarray(first.convert("RGB")).astype(int)
        y = np.asarray(second.convert("RGB")).astype(int)
    assert x.shape == y.shape
    return float((np.abs(x - y).max(axis=2) > 0).mean())


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG's relative luminance of an sRGB colour."""

    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio of two colours (4.5 is the bar for text)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
