"""Step selection and the data table under a scalar chart (issue 14, feature 3), in a real browser.

Two runs log two tags: ``every`` at each step, ``sparse`` at every third. A
click on a chart selects a step shared by all charts (a vertical line on
each); the table under a chart lists each run at the nearest logged step at
or before it: value, smoothed value, step, relative and wall time, checked
against what Python wrote. Shift+drag selects a range instead (a plain drag
still zooms) and the table gives each run's min, max, mean and change over it.
A click at the selected step, or Escape, clears it. "On every chart" shows the
table under every chart, and is kept across a reload.
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path

import numpy as np
from browser_support import card, drawn_card, rgb_of, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

WALL0 = 1_700_000_000.0
STEPS = 100  # 0..99: the x range of both charts is [0, 99]
SMOOTHING = 0.6
RUNS = {"every": range(0, STEPS), "sparse": range(0, STEPS, 3)}


def value(run: str, tag: str, step: int) -> float:
    base = 3.0 / (step + 1) + 0.01 * step if run == "every" else 2.0 + math.sin(step / 9)
    return base if tag == "loss" else 1.0 - base / 10


def wall(run: str, step: int) -> float:
    return WALL0 + (2.0 * step if run == "every" else 50.0 + 7.5 * step)


def write_runs(logdir: Path) -> None:
    for run, steps in RUNS.items():
        with SummaryWriter(str(logdir / run)) as writer:
            for step in steps:
                for tag in ("loss", "acc"):
                    writer.add_scalar(tag, value(run, tag, step), step, walltime=wall(run, step))


def float32(v: float) -> float:
    return float(np.float32(v))


def smoothed_at(run: str, tag: str, step: int) -> float:
    """TensorBoard's debiased exponential moving average over the run's points up to ``step``."""
    last, count = 0.0, 0
    for s in RUNS[run]:
        if s > step:
            break
        last = last * SMOOTHING + (1 - SMOOTHING) * float32(value(run, tag, s))
        count += 1
    return last / (1 - SMOOTHING**count)


def duration(seconds: float) -> str:
    """The page's formatDuration, for the seconds these runs take."""
    if seconds == 0:
        return "0s"
    if seconds < 60:
        return f"{float(f'{seconds:.3g}'):g}s"
    # Math.round rounds halves up, Python's round() to even.
    if seconds < 3600:
        return f"{int(seconds // 60)}m{math.floor(seconds % 60 + 0.5)}s"
    return f"{int(seconds // 3600)}h{math.floor((seconds % 3600) / 60 + 0.5)}m"


def table_of(chart: Locator) -> Locator:
    found = chart.locator(".chart-table")
    expect(found).to_be_visible()
    expect(found).to_have_attribute("data-state", "ready")
    return found


def row_cells(table: Locator, label: str) -> dict[str, str]:
    row = table.locator(f'tbody tr[data-label="{label}"]')
    expect(row).to_have_count(1)
    cells = row.locator("td[data-column]")
    names = cells.evaluate_all("cells => cells.map(c => c.dataset.column)")
    return dict(zip(names, cells.all_text_contents(), strict=True))


def plot_x(chart: Locator, step: float) -> tuple[float, float]:
    """The page coordinates of a step on the chart's x axis (at mid height)."""
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    return box["x"] + box["width"] * step / (STEPS - 1), box["y"] + box["height"] / 2


def click_step(chart: Locator, step: float) -> None:
    x, y = plot_x(chart, step)
    chart.page.mouse.click(x, y)
    chart.page.mouse.move(1, 1)


def marker_pixels(chart: Locator, step: float, rgb: tuple[int, int, int]) -> int:
    """Pixels of ``rgb`` in the canvas column at this step (two pixels either side)."""
    chart.page.mouse.move(1, 1)
    expect(chart.locator(".tooltip")).to_be_hidden()
    canvas = chart.locator(".uplot canvas")
    canvas_box = canvas.bounding_box()
    assert canvas_box is not None
    x = round(plot_x(chart, step)[0] - canvas_box["x"])
    with Image.open(io.BytesIO(canvas.screenshot())) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)[:, max(0, x - 2) : x + 3]
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= 30).sum())


def check_step_rows(table: Locator, selected: int) -> None:
    for run, steps in RUNS.items():
        logged = max(s for s in steps if s <= selected)
        cells = row_cells(table, run)
        assert cells["step"] == f"{logged:,}", (run, cells)
        assert math.isclose(
            float(cells["value"]), float32(value(run, "loss", logged)), rel_tol=1e-4
        )
        assert math.isclose(
            float(cells["smoothed"]), smoothed_at(run, "loss", logged), rel_tol=1e-4
        )
        assert cells["relative"] == duration(wall(run, logged) - wall(run, 0)), (run, cells)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall(run, logged)))
        assert cells["wall"] == stamp, (run, cells)


def test_a_click_selects_a_step_on_every_chart_and_the_table_lists_the_runs_there(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_runs(logdir)
    page: Page = open_page(start_server(logdir).url).page
    loss = drawn_card(card(page, "loss"))
    acc = drawn_card(card(page, "acc"))
    expect(loss.locator(".chart-table")).to_be_hidden()

    # The table of one chart, shown by its button, says how to pick a step.
    loss.locator(".chart-table-toggle").click()
    expect(loss.locator(".chart-table")).to_be_visible()
    expect(loss.locator(".chart-table-note")).to_contain_text("Click the chart to pick a step")
    expect(acc.locator(".chart-table")).to_be_hidden()

    # A click at step 40 selects it (the nearest point drawn): a line on both charts.
    click_step(loss, 40)
    table = table_of(loss)
    expect(table).to_have_attribute("data-selection", "40")
    expect(table.locator(".chart-table-title")).to_have_text("Step 40")
    expect(loss).to_have_attribute("data-marker", "1")
    expect(acc).to_have_attribute("data-marker", "1")
    text = rgb_of(page.evaluate("() => getComputedStyle(document.documentElement).color"))
    assert marker_pixels(acc, 40, text) > 100, "no marker line at step 40 on the other chart"
    assert marker_pixels(acc, 70, text) < 10, "a marker line where no step is selected"
    # every: step 40 itself; sparse: 39, its last step before 40.
    check_step_rows(table, 40)
    snapshot(page, "test_charts_table_step")

    # On the wall-time axis, each run is marked where it was at that step (two lines), the rows the same.
    page.evaluate("() => { location.hash = 'x=wall'; }")
    expect(loss).to_have_attribute("data-marker", "2")
    check_step_rows(table_of(loss), 40)
    page.evaluate("() => { location.hash = 'x=step'; }")
    expect(loss).to_have_attribute("data-marker", "1")

    # Another step: the table follows; a click at the selected step clears it, as does Escape.
    click_step(loss, 65)
    expect(table).to_have_attribute("data-selection", "65")
    check_step_rows(table_of(loss), 65)
    click_step(acc, 65)  # the same step, on the other chart
    expect(loss.locator(".chart-table")).to_have_attribute("data-selection", "")
    expect(loss).to_have_attribute("data-marker", "0")
    expect(acc).to_have_attribute("data-marker", "0")
    click_step(acc, 20)
    expect(loss.locator(".chart-table")).to_have_attribute("data-selection", "20")
    page.keyboard.press("Escape")
    expect(loss.locator(".chart-table")).to_have_attribute("data-selection", "")
    expect(acc).to_have_attribute("data-marker", "0")


def test_shift_drag_selects_a_range_with_each_runs_min_max_mean_and_change(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_runs(logdir)
    page: Page = open_page(start_server(logdir).url).page
    loss = drawn_card(card(page, "loss"))
    loss.locator(".chart-table-toggle").click()

    x0, y = plot_x(loss, 20.3)
    x1, _ = plot_x(loss, 59.6)
    page.mouse.move(x0, y)
    page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(x1, y, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.mouse.move(1, 1)

    table = table_of(loss)
    # Steps 21 to 59 are drawn in the range; a plain drag would have zoomed, this one does not.
    expect(table).to_have_attribute("data-selection", "21-59")
    expect(table.locator(".chart-table-title")).to_have_text("Steps 21 to 59")
    expect(loss).to_have_attribute("data-zoomed", "0")
    for run, steps in RUNS.items():
        inside = [s for s in steps if 21 <= s <= 59]
        values = [float32(value(run, "loss", s)) for s in inside]
        cells = row_cells(table, run)
        assert math.isclose(float(cells["min"]), min(values), rel_tol=1e-4), (run, cells)
        assert math.isclose(float(cells["max"]), max(values), rel_tol=1e-4), (run, cells)
        assert math.isclose(float(cells["mean"]), sum(values) / len(values), rel_tol=1e-4)
        assert math.isclose(float(cells["change"]), values[-1] - values[0], rel_tol=1e-3)
        assert (cells["from"], cells["to"]) == (str(inside[0]), str(inside[-1])), (run, cells)
        assert cells["points"] == str(len(inside)), (run, cells)
    snapshot(page, "test_charts_table_range")

    # A plain drag still zooms.
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=8)
    page.mouse.up()
    expect(loss).to_have_attribute("data-zoomed", "1")

    # A double-click resets the zoom and leaves the selection as it was.
    page.mouse.click(x0, y)
    expect(table).not_to_have_attribute("data-selection", "21-59")
    page.keyboard.press("Escape")
    page.mouse.dblclick(x1, y)
    expect(loss).to_have_attribute("data-zoomed", "0")
    expect(table).to_have_attribute("data-selection", "")


def test_tables_on_every_chart_is_a_default_kept_across_a_reload(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_runs(logdir)
    page: Page = open_page(start_server(logdir).url).page
    loss = drawn_card(card(page, "loss"))
    acc = drawn_card(card(page, "acc"))
    loss.locator(".chart-table-toggle").click()
    loss.locator(".chart-table-every input").check()
    expect(acc.locator(".chart-table")).to_be_visible()
    expect(acc.locator(".chart-table-toggle")).to_have_attribute("aria-pressed", "true")

    page.reload()
    loss = drawn_card(card(page, "loss"))
    acc = drawn_card(card(page, "acc"))
    expect(loss.locator(".chart-table")).to_be_visible()
    expect(acc.locator(".chart-table")).to_be_visible()
    # One chart's button hides its own table only.
    acc.locator(".chart-table-toggle").click()
    expect(acc.locator(".chart-table")).to_be_hidden()
    expect(loss.locator(".chart-table")).to_be_visible()
    # And unticking the default hides them all.
    loss.locator(".chart-table-every input").uncheck()
    expect(loss.locator(".chart-table")).to_be_hidden()
