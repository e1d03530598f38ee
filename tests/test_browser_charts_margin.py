"""A custom scalars margin chart keeps its line inside its band when smoothed (issue 14, bug 4).

The value oscillates (a period of 8 steps) with its lower and upper bound a
constant 0.25 below and above it, so the value is always inside the band.
Smoothing (0.6, the default) pulls an oscillating line towards its mean and
behind in phase: smoothed alone, it would leave its unsmoothed band. Smoothed
alike, the three keep their order. Checked twice: in the tooltip's smoothed
values (what the chart draws, read as numbers) and in the canvas's pixels
(the value line's pixels lie between the band's).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from browser_support import card, drawn_card, rgb_of, run_row, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

RUN = "margin"
STEPS = 100
HALF_WIDTH = 0.25
LAYOUT = {"Bands": {"band": ["Margin", ["m/value", "m/lower", "m/upper"]]}}


def value_at(step: int) -> float:
    return 2 + math.sin(2 * math.pi * step / 8)


def write_margin_run(logdir: Path) -> None:
    with SummaryWriter(str(logdir / RUN)) as writer:
        writer.add_custom_scalars(LAYOUT)
        for step in range(STEPS):
            value = value_at(step)
            writer.add_scalar("m/value", value, step)
            writer.add_scalar("m/lower", value - HALF_WIDTH, step)
            writer.add_scalar("m/upper", value + HALF_WIDTH, step)


def smoothed_in_tooltip(chart: Locator, fraction: float) -> dict[str, float]:
    """The tooltip's smoothed value of each line, by label, with the cursor at this share of the width."""
    page = chart.page
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    tooltip = chart.locator(".tooltip")
    expect(tooltip).to_be_visible()
    rows = tooltip.locator("tbody tr")
    expect(rows).to_have_count(3)
    found = {}
    for i in range(3):
        cells = rows.nth(i).locator("td").all_text_contents()
        found[cells[1]] = float(cells[2])
    return found


def mix_with_white(rgb: tuple[int, int, int], strength: float) -> tuple[int, int, int]:
    r, g, b = (round(c * strength + 255 * (1 - strength)) for c in rgb)
    return r, g, b


def worst_escape(chart: Locator, rgb: tuple[int, int, int]) -> int:
    """How far (pixels) the value line gets outside its band, the worst over the plot's columns."""
    chart.page.mouse.move(1, 1)
    expect(chart.locator(".tooltip")).to_be_hidden()
    canvas = chart.locator(".uplot canvas")
    canvas_box = canvas.bounding_box()
    over = chart.locator(".u-over").bounding_box()
    assert canvas_box is not None
    assert over is not None
    with Image.open(io.BytesIO(canvas.screenshot())) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)

    def near(colour: tuple[int, int, int], tolerance: int) -> np.ndarray:
        return np.abs(pixels - np.array(colour)).max(axis=2) <= tolerance

    line = near(rgb, 30)  # the value line, in the run's colour
    # The band: its fill (20% of the colour) and its bounds (60%), as the page draws them.
    band = near(mix_with_white(rgb, 0.2), 6) | near(mix_with_white(rgb, 0.6), 12)
    left = round(over["x"] - canvas_box["x"])
    top = round(over["y"] - canvas_box["y"])
    worst = 0
    columns = 0
    for x in range(left + 6, left + round(over["width"]) - 6, 3):
        rows = np.flatnonzero(line[top : top + round(over["height"]), x])
        edges = np.flatnonzero(band[top : top + round(over["height"]), x])
        if len(rows) == 0 or len(edges) == 0:
            continue
        columns += 1
        worst = max(worst, int(edges.min() - rows.min()), int(rows.max() - edges.max()))
    assert columns > over["width"] / 6, (
        f"the line and its band were found in {columns} columns only"
    )
    return worst


def test_a_smoothed_margin_line_stays_inside_its_smoothed_band(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_margin_run(logdir)
    page: Page = open_page(start_server(logdir).url + "#tab=custom_scalars&smoothing=0.6").page
    chart = drawn_card(card(page, "band"))
    expect(chart).to_have_attribute("data-runs", "3")

    # The tooltip's smoothed values, as drawn: lower <= value <= upper everywhere, 0.25 apart.
    value, lower, upper = (f"{RUN}: m/value", f"{RUN}: m/lower (lower)", f"{RUN}: m/upper (upper)")
    for k in range(1, 40):
        smoothed = smoothed_in_tooltip(chart, k / 40)
        assert smoothed[lower] <= smoothed[value] <= smoothed[upper], (k, smoothed)
        assert abs(smoothed[value] - smoothed[lower] - HALF_WIDTH) < 2e-3, (k, smoothed)
        assert abs(smoothed[upper] - smoothed[value] - HALF_WIDTH) < 2e-3, (k, smoothed)

    # And on the canvas: the value line's pixels are between the band's in every column.
    rgb = rgb_of(
        run_row(page, RUN).locator(".swatch").evaluate("e => getComputedStyle(e).backgroundColor")
    )
    worst = worst_escape(chart, rgb)
    snapshot(page, "test_charts_margin_band_smoothed")
    assert worst <= 2, f"the smoothed line leaves its band by {worst} pixels"
