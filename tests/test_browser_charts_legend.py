"""The legend of the scalar charts (issue 14, feature 4), in a real browser.

The ≡ button shows every chart's legend (and is kept across a reload): each
line's name beside a swatch of its colour. A click on a name hides that line
on that chart alone, its pixels gone from the canvas and its row from the
tooltip; another click brings it back. A margin chart lists each value once.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from browser_support import card, drawn_card, rgb_of, run_row, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

RUNS = {"alpha": 0.0, "beta": 1.0, "gamma": 2.0}
LAYOUT = {"Bands": {"band": ["Margin", ["m/value", "m/lower", "m/upper"]]}}


def write_runs(logdir: Path) -> None:
    for run, offset in RUNS.items():
        with SummaryWriter(str(logdir / run)) as writer:
            writer.add_custom_scalars(LAYOUT)
            for step in range(50):
                writer.add_scalar("loss", offset + step / 50, step)
                writer.add_scalar("acc", offset - step / 50, step)
                writer.add_scalar("m/value", offset + 0.5, step)
                writer.add_scalar("m/lower", offset + 0.25, step)
                writer.add_scalar("m/upper", offset + 0.75, step)


def colour_pixels(chart: Locator, rgb: tuple[int, int, int]) -> int:
    chart.page.mouse.move(1, 1)
    with Image.open(io.BytesIO(chart.locator(".uplot canvas").screenshot())) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= 20).sum())


def run_rgb(page: Page, run: str) -> tuple[int, int, int]:
    swatch = run_row(page, run).locator(".swatch")
    return rgb_of(swatch.evaluate("e => getComputedStyle(e).backgroundColor"))


def test_the_legend_names_each_line_and_a_click_hides_it_on_that_chart(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_runs(logdir)
    server = start_server(logdir)
    page: Page = open_page(server.url + "#smoothing=0").page
    loss = drawn_card(card(page, "loss"))
    acc = drawn_card(card(page, "acc"))
    expect(loss.locator(".chart-legend")).to_be_hidden()

    loss.locator(".chart-legend-toggle").click()
    legend = loss.locator(".chart-legend")
    expect(legend).to_be_visible()
    expect(acc.locator(".chart-legend")).to_be_visible()  # one choice for every chart
    expect(legend.locator(".legend-item")).to_have_text(["alpha", "beta", "gamma"])
    for run in RUNS:
        swatch = legend.locator(f'.legend-item[data-label="{run}"] .swatch')
        assert rgb_of(swatch.evaluate("e => getComputedStyle(e).backgroundColor")) == run_rgb(
            page, run
        )

    # Hiding beta on the loss chart: its line goes, from this chart only.
    beta = run_rgb(page, "beta")
    assert colour_pixels(loss, beta) > 100
    legend.locator('.legend-item[data-label="beta"]').click()
    expect(loss).to_have_attribute("data-runs", "2")
    expect(legend.locator('.legend-item[data-label="beta"]')).to_have_attribute(
        "aria-pressed", "false"
    )
    assert colour_pixels(loss, beta) < 10, "beta's line is still drawn"
    expect(acc).to_have_attribute("data-runs", "3")
    assert colour_pixels(acc, beta) > 100
    box = loss.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    names = loss.locator(".tooltip tbody tr td:nth-child(2)")
    expect(names).to_have_count(2)
    assert sorted(names.all_text_contents()) == ["alpha", "gamma"]
    page.mouse.move(1, 1)
    snapshot(page, "test_charts_legend_beta_hidden")

    # Every line hidden: the chart says how to bring them back.
    legend.locator('.legend-item[data-label="alpha"]').click()
    legend.locator('.legend-item[data-label="gamma"]').click()
    expect(loss.locator(".card-message")).to_have_text(
        "Every line is hidden: click a name in the legend to show it."
    )
    legend.locator('.legend-item[data-label="beta"]').click()
    expect(loss).to_have_attribute("data-state", "drawn")
    expect(loss).to_have_attribute("data-runs", "1")
    assert colour_pixels(loss, beta) > 100

    # The legends stay on after a reload.
    page.reload()
    expect(drawn_card(card(page, "loss")).locator(".chart-legend")).to_be_visible()
    page.locator(".chart-legend-toggle").first.click()
    expect(card(page, "loss").locator(".chart-legend")).to_be_hidden()


def test_a_margin_chart_lists_each_value_once_and_hides_it_with_its_band(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_runs(logdir)
    page: Page = open_page(start_server(logdir).url + "#tab=custom_scalars").page
    band = drawn_card(card(page, "band"))
    band.locator(".chart-legend-toggle").click()
    items = band.locator(".chart-legend .legend-item")
    expect(items).to_have_text(["alpha: m/value", "beta: m/value", "gamma: m/value"])
    expect(band).to_have_attribute("data-runs", "9")
    items.nth(1).click()
    expect(band).to_have_attribute("data-runs", "6")  # beta's value, lower and upper
    snapshot(page, "test_charts_legend_margin")
