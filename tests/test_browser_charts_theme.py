"""The scalar charts follow the theme (issue 14, dark mode), in a real browser.

Switching the theme in the top bar redraws every chart at once, without a
reload: the grid, the axes and the faint raw line behind the smoothed one
take the dark theme's colours (style.css's --chart-* and --panel, read by
colors.ts's themeColors), and the selected step's marker its text colour.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from browser_support import card, drawn_card, rgb_of, run_row, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

LIGHT_GRID = (0xEE, 0xEE, 0xEE)
DARK_GRID = (0x27, 0x2D, 0x36)
DARK_PANEL = (0x18, 0x1C, 0x22)
DARK_TEXT = (0xE2, 0xE7, 0xEE)


def pixels(chart: Locator, rgb: tuple[int, int, int], tolerance: int = 4) -> int:
    chart.page.mouse.move(1, 1)
    with Image.open(io.BytesIO(chart.locator(".uplot canvas").screenshot())) as image:
        array = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(array - np.array(rgb)).max(axis=2) <= tolerance).sum())


def test_charts_redraw_in_the_dark_theme_when_it_is_chosen(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    with SummaryWriter(str(logdir / "run")) as writer:
        for step in range(100):
            writer.add_scalar("loss", 1 / (step + 1) + (step % 7) * 0.02, step)
    page: Page = open_page(start_server(logdir).url + "#smoothing=0.6").page
    page.select_option("#theme", "light")
    chart = drawn_card(card(page, "loss"))
    assert pixels(chart, LIGHT_GRID) > 300
    assert pixels(chart, DARK_GRID) < 20

    page.select_option("#theme", "dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    chart = drawn_card(card(page, "loss"))
    page.wait_for_timeout(200)
    assert pixels(chart, DARK_GRID) > 300, "the grid is not in the dark theme's colour"
    assert pixels(chart, LIGHT_GRID, tolerance=8) < 20, "light grid lines are left"
    # The faint raw line is the run's colour mixed with the dark panel, not with white.
    rgb = rgb_of(
        run_row(page, "run").locator(".swatch").evaluate("e => getComputedStyle(e).backgroundColor")
    )
    faint = tuple(round(c * 0.25 + p * 0.75) for c, p in zip(rgb, DARK_PANEL, strict=True))
    assert pixels(chart, faint, tolerance=6) > 50
    # A selected step is marked in the theme's text colour.
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(chart).to_have_attribute("data-marker", "1")
    assert pixels(chart, DARK_TEXT, tolerance=30) > 100
    snapshot(page, "test_charts_theme_dark")
