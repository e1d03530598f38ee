"""Histograms and distributions by step, relative or wall time, in a real Chromium (issue 14).

**Steps by** (the scalars' x axis setting, in the URL) places the
histograms' ridges (offset mode: the steps are its vertical axis) and the
distributions' steps. The run here pauses for 1,000 seconds between step 4
and step 5, so by step the steps are evenly spaced and by time they fall in
two clusters: where the cursor points tells which axis is drawn.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
from browser_support import drawn_card, snapshot
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

STEPS = 10
PAUSE = 1000.0  # seconds between step 4 and step 5
WALL = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
# The histogram canvas (histomath.computeLayout, 280 px high): the ridges' zero lines run
# from y = 108 (the first step) to y = 254 (the last); values between x = 12 and width - 64.
FIRST_LINE, LAST_LINE, HEIGHT = 108, 254, 280


def write_logdir(root: Path) -> float:
    start = time.time() - 3 * PAUSE
    rng = np.random.default_rng(0)
    with SummaryWriter(str(root / "run")) as writer:
        for step in range(STEPS):
            wall = start + step + (PAUSE if step >= 5 else 0)
            mean = 0.0 if step < 5 else 10.0
            writer.add_histogram("gap", rng.normal(mean, 1.0, 2000), step, walltime=wall)
    return start


def tooltip_at(found: Locator, target: str, x: float, y: float) -> dict[str, str]:
    """Hovers at (x, y) in CSS pixels of ``target``; the tooltip's rows."""
    page = found.page
    tooltip = found.locator(".tooltip")
    page.mouse.move(1, 1)
    expect(tooltip).to_be_hidden()
    box = found.locator(target).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(tooltip).to_be_visible()
    rows = tooltip.locator("tr").all()
    return {row.locator("th").inner_text(): row.locator("td").inner_text() for row in rows}


def ridge_tooltip(found: Locator) -> dict[str, str]:
    """A quarter of the way down the zero lines, where no step has values (between the clusters)."""
    box = found.locator(".histo-highlight").bounding_box()
    assert box is not None
    x = 12 + (box["width"] - 76) * 0.5
    y = FIRST_LINE + (LAST_LINE - FIRST_LINE) * 0.25
    return tooltip_at(found, ".histo-highlight", x, y * box["height"] / HEIGHT)


def band_tooltip(found: Locator) -> dict[str, str]:
    """A quarter of the way across the distribution's chart."""
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    return tooltip_at(found, ".u-over", box["width"] * 0.25, box["height"] * 0.5)


def choose_axis(page: Page, axis: str) -> None:
    page.get_by_label("Place the steps by").select_option(axis)


def test_histograms_and_distributions_follow_the_x_axis(
    start_server, open_page, tmp_path: Path
) -> None:
    root = tmp_path / "logs"
    write_logdir(root)
    server = start_server(root)
    page = open_page(server.url + "#tab=histograms").page
    found = drawn_card(page.locator('.histogram-card[data-tag="gap"]'))
    # By step, a quarter of the way down is step 2 (of 0..9).
    assert ridge_tooltip(found)["Step"] == "2"
    choose_axis(page, "wall")
    expect(found).to_have_attribute("data-axis", "wall")
    rows = ridge_tooltip(found)
    # By wall time, steps 0 to 4 lie at the top: the nearest zero line is step 4's.
    assert rows["Step"] == "4", rows
    assert WALL.match(rows["Wall time"]), rows
    snapshot(page, "kinds_histograms_wall_axis")
    choose_axis(page, "relative")
    rows = ridge_tooltip(found)
    assert rows["Step"] == "4", rows
    assert rows["Relative"] == "4s", rows

    # The distributions: a quarter of the way across.
    page.locator('.tab[data-plugin="distributions"]').click()
    bands = drawn_card(page.locator('.distribution-card[data-tag="gap"]'))
    expect(bands).to_have_attribute("data-axis", "relative")
    rows = band_tooltip(bands)
    assert rows["Step"] == "4", rows  # 252 s in: nearer step 4 (4 s) than step 5 (1,005 s)
    assert rows["Relative"] == "4s", rows
    choose_axis(page, "wall")
    expect(bands).to_have_attribute("data-axis", "wall")
    rows = band_tooltip(bands)
    assert rows["Step"] == "4", rows
    assert WALL.match(rows["Wall time"]), rows
    snapshot(page, "kinds_distributions_wall_axis")
    choose_axis(page, "step")
    expect(bands).to_have_attribute("data-axis", "step")
    assert band_tooltip(bands)["Step"] == "2"  # 2.25 of 0..9
    # The setting is the scalars' x axis, in the URL.
    choose_axis(page, "relative")
    page.wait_for_function("() => location.hash.includes('x=relative')")
    page.locator('.tab[data-plugin="histograms"]').click()
    expect(page.get_by_label("Place the steps by")).to_have_value("relative")
    expect(found).to_have_attribute("data-axis", "relative")
