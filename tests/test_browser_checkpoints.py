"""Checkpoint markers on the scalar charts, in a real browser.

A run logs a curve and saves three checkpoints (``SessionLog CHECKPOINT``
events through the writer's own file writer, as a checkpointing callback
writes them); another run has none. The chart must draw a faint dashed line
in the run's colour at each checkpoint (counted in ``data-checkpoints`` and
found in the canvas's pixels), name the checkpoint's path in the tooltip
near it, place the markers by time on a time axis, drop them with their
run, and show new checkpoints without a reload. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from browser_support import drawn_card, rgb_of, run_row, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter
from stepscope.proto import event_pb2

WALL0 = 1_700_000_000.0
STEPS = 100  # 0..99 in both runs: the x range is [0, 99]
CHECKPOINTS = [25, 50, 75]
TAG = "loss"


def ckpt_path(logdir: Path, step: int) -> str:
    return str(logdir / "trained" / f"ckpt-{step}.pt")


def add_checkpoint(writer: SummaryWriter, logdir: Path, step: int) -> None:
    log = event_pb2.SessionLog(
        status=event_pb2.SessionLog.CHECKPOINT, checkpoint_path=ckpt_path(logdir, step)
    )
    # Half a second after the step's point, as a save follows the step it saves.
    writer._get_file_writer().add_event(
        event_pb2.Event(session_log=log), step=step, walltime=WALL0 + step + 0.5
    )


def write_run(logdir: Path, run: str, steps: range, checkpoints: list[int]) -> None:
    with SummaryWriter(str(logdir / run)) as writer:
        for step in steps:
            offset = 0.0 if run == "trained" else 0.5
            writer.add_scalar(TAG, offset + 1.0 / (step + 1), step, walltime=WALL0 + step)
            if step in checkpoints:
                add_checkpoint(writer, logdir, step)


def faint(rgb: tuple[int, int, int], strength: float = 0.5) -> tuple[int, int, int]:
    """The run's colour mixed with white, as the page draws a marker."""
    r, g, b = (round(c * strength + 255 * (1 - strength)) for c in rgb)
    return r, g, b


def marker_columns(chart: Locator, fraction: float, rgb: tuple[int, int, int]) -> int:
    """Pixels of ``rgb`` in the canvas columns at this share of the plot's width (two pixels either side)."""
    chart.page.mouse.move(1, 1)
    expect(chart.locator(".tooltip")).to_be_hidden()
    canvas = chart.locator(".uplot canvas")
    canvas_box = canvas.bounding_box()
    over = chart.locator(".u-over").bounding_box()
    assert canvas_box is not None
    assert over is not None
    x = round(over["x"] - canvas_box["x"] + over["width"] * fraction)
    with Image.open(io.BytesIO(canvas.screenshot())) as image:
        array = np.asarray(image.convert("RGB")).astype(int)
    band = array[:, max(0, x - 2) : x + 3]
    return int((np.abs(band - np.array(rgb)).max(axis=2) <= 24).sum())


def hover_at(chart: Locator, fraction: float) -> Locator:
    """Moves the mouse over the plot at this share of its width; the tooltip's checkpoint lines."""
    page = chart.page
    page.mouse.move(1, 1)
    expect(chart.locator(".tooltip")).to_be_hidden()
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    expect(chart.locator(".tooltip")).to_be_visible()
    return chart.locator(".tooltip .tooltip-checkpoint")


def run_rgb(page: Page, run: str) -> tuple[int, int, int]:
    """A run's colour, from its swatch in the run selector."""
    swatch = run_row(page, run).locator(".swatch")
    return rgb_of(swatch.evaluate("e => getComputedStyle(e).backgroundColor"))


def set_x_axis(page: Page, axis: str) -> None:
    page.evaluate(f"() => {{ location.hash = 'x={axis}'; }}")


def test_checkpoints_are_marked_on_the_chart_and_named_near_the_cursor(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_run(logdir, "trained", range(STEPS), CHECKPOINTS)
    write_run(logdir, "baseline", range(STEPS), [])
    page = open_page(start_server(logdir).url).page
    chart = drawn_card(page.locator(f'.card[data-tag="{TAG}"]'))
    expect(chart).to_have_attribute("data-runs", "2")
    expect(chart).to_have_attribute("data-checkpoints", "3")

    # A dashed line of the run's colour, faint, at each checkpoint's step, and none elsewhere.
    marker = faint(run_rgb(page, "trained"))
    for step in CHECKPOINTS:
        found = marker_columns(chart, step / (STEPS - 1), marker)
        assert found > 40, f"no marker at step {step} ({found} pixels of {marker})"
    for step in (10, 40, 90):
        found = marker_columns(chart, step / (STEPS - 1), marker)
        assert found < 8, f"a marker where there is no checkpoint (step {step}: {found} pixels)"

    # Near a marker the tooltip names the checkpoint, as text; away from it, nothing.
    lines = hover_at(chart, 50 / (STEPS - 1))
    expect(lines).to_have_count(1)
    assert lines.get_attribute("data-step") == "50"
    assert lines.get_attribute("data-run") == "trained"
    expect(lines.locator(".checkpoint-path")).to_have_text(ckpt_path(logdir, 50))
    snapshot(page, "test_checkpoint_tooltip")
    expect(hover_at(chart, 10 / (STEPS - 1))).to_have_count(0)

    # On a time axis the markers stand at the checkpoints' wall times (half a step later).
    for axis in ("wall", "relative"):
        set_x_axis(page, axis)
        expect(chart).to_have_attribute("data-checkpoints", "3")
        lines = hover_at(chart, 75.5 / (STEPS - 1))
        expect(lines).to_have_count(1)
        assert lines.get_attribute("data-step") == "75"
        assert marker_columns(chart, 75.5 / (STEPS - 1), marker) > 40
    set_x_axis(page, "step")

    # A run that is not shown has no markers.
    run_row(page, "trained").locator("input[type=checkbox]").uncheck()
    expect(chart).to_have_attribute("data-runs", "1")
    expect(chart).to_have_attribute("data-checkpoints", "0")
    assert marker_columns(chart, 50 / (STEPS - 1), marker) < 8
    run_row(page, "trained").locator("input[type=checkbox]").check()
    expect(chart).to_have_attribute("data-checkpoints", "3")
    hover_at(chart, 25 / (STEPS - 1))  # the screenshot shows a checkpoint's tooltip


def test_checkpoints_saved_after_the_page_opened_are_marked_without_reload(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    writer = SummaryWriter(str(logdir / "trained"))
    try:
        for step in range(STEPS):
            writer.add_scalar(TAG, 1.0 / (step + 1), step, walltime=WALL0 + step)
        add_checkpoint(writer, logdir, 25)
        writer.flush()
        page = open_page(start_server(logdir).url).page
        chart = drawn_card(page.locator(f'.card[data-tag="{TAG}"]'))
        expect(chart).to_have_attribute("data-checkpoints", "1")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))

        # A checkpoint alone (no new point) is a change of the index too.
        add_checkpoint(writer, logdir, 50)
        writer.flush()
        expect(chart).to_have_attribute("data-checkpoints", "2", timeout=5_000)
        add_checkpoint(writer, logdir, 75)
        writer.flush()
        expect(chart).to_have_attribute("data-checkpoints", "3", timeout=5_000)
    finally:
        writer.close()
    marker = faint(run_rgb(page, "trained"))
    assert marker_columns(chart, 75 / (STEPS - 1), marker) > 40
    expect(hover_at(chart, 75 / (STEPS - 1)).locator(".checkpoint-path")).to_have_text(
        ckpt_path(logdir, 75)
    )
    assert navigations == []
