"""PR curves of several runs on one chart per tag, as TensorBoard draws them (issue 14, feature 5).

Each run's curve in the run's colour at the slider's step (a run's last step
at or before it), a legend, a tooltip with every run's nearest threshold;
the per-run cards are an option, remembered in the browser. The runs are
written by torch's SummaryWriter and by stepscope's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import pixels_of, rgb_of, run_row, snapshot
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

SAMPLES = 400
THRESHOLDS = 51
# How well each run separates the classes: its curves lie apart.
SEPARATION = {"good": 2.5, "poor": 0.3, "late": 1.2}
LOW, HIGH = -0.02, 1.02  # the chart's range (prcurveChart.ts RANGE)


def predictions(run: str, step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step)
    labels = rng.integers(0, 2, SAMPLES).astype(bool)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1, SAMPLES) + SEPARATION[run] * (labels - 0.5) * 2)))
    return labels, scores


def expected_curve(labels: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """TensorBoard's definition: a prediction counts at threshold i if floor(score * (n-1)) >= i."""
    at = np.floor(scores * (THRESHOLDS - 1))[None, :] >= np.arange(THRESHOLDS)[:, None]
    tp = (at & labels[None, :]).sum(axis=1).astype(float)
    fp = (at & ~labels[None, :]).sum(axis=1).astype(float)
    return {
        "TP": tp,
        "FP": fp,
        "Precision": tp / np.maximum(1e-7, tp + fp),
        "Recall": tp / np.maximum(1e-7, labels.sum()),
    }


def log(writer: Any, run: str, steps: int) -> None:
    for step in range(steps):
        labels, scores = predictions(run, step)
        writer.add_pr_curve("pr/cats", labels, scores, step, num_thresholds=THRESHOLDS)
        writer.add_pr_curve("pr/dogs", ~labels, 1 - scores, step, num_thresholds=THRESHOLDS)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path / "pr"
    torch_writer = TorchWriter(str(root / "good"))
    log(torch_writer, "good", 3)
    torch_writer.close()
    for run, steps in (("poor", 3), ("late", 2)):  # "late" has no step 2
        with SummaryWriter(str(root / run)) as writer:
            log(writer, run, steps)
    return root


def tag_card(page: Page, tag: str) -> Locator:
    return page.locator(f'.prcurves-tag-card[data-tag="{tag}"]')


def legend_rgb(found: Locator, run: str) -> tuple[int, int, int]:
    swatch = found.locator(f'.prcurves-legend-run[data-run="{run}"] .swatch')
    return rgb_of(swatch.evaluate("e => getComputedStyle(e).backgroundColor"))


def canvas_png(found: Locator) -> bytes:
    found.page.mouse.move(1, 1)
    expect(found.locator(".tooltip")).to_be_hidden()
    return found.locator(".uplot canvas").screenshot()


def at_value(found: Locator, recall: float, precision: float) -> tuple[float, float]:
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    x = box["x"] + (recall - LOW) / (HIGH - LOW) * box["width"]
    y = box["y"] + (HIGH - precision) / (HIGH - LOW) * box["height"]
    return x, y


def test_one_chart_per_tag_with_every_runs_curve(start_server, open_page, logdir: Path) -> None:
    page = open_page(start_server(logdir).url + "#tab=pr_curves").page
    expect(page.locator(".prcurves-tag-card")).to_have_count(2)
    expect(page.locator(".prcurves-card:visible")).to_have_count(0)
    cats = tag_card(page, "pr/cats")
    expect(cats).to_have_attribute("data-state", "drawn", timeout=15_000)
    expect(cats).to_have_attribute("data-runs", "3")
    expect(cats).to_have_attribute("data-step", "2")  # the last step first
    expect(cats.locator(".step-label")).to_contain_text("3 runs at this step")
    legend = cats.locator(".prcurves-legend-run")
    expect(legend).to_have_count(3)
    expect(cats.locator('.prcurves-legend-run[data-run="late"]')).to_contain_text("(step 1)")

    # Each run's curve in its colour: the run selector's.
    shot = canvas_png(cats)
    colours = {}
    for run in SEPARATION:
        rgb = legend_rgb(cats, run)
        selector = run_row(page, run).locator(".swatch")
        assert rgb_of(selector.evaluate("e => getComputedStyle(e).backgroundColor")) == rgb
        assert pixels_of(shot, rgb, tolerance=8) > 150, run
        colours[run] = rgb
    assert len(set(colours.values())) == 3
    snapshot(page, "kinds_prcurves_one_chart_per_tag")

    # The tooltip: the nearest threshold (of the good run's curve), then each other run's.
    good = expected_curve(*predictions("good", 2))
    index = next(i for i in range(THRESHOLDS) if good["Recall"][i] < 0.6 and good["TP"][i] > 0)
    page.mouse.move(*at_value(cats, good["Recall"][index], good["Precision"][index]))
    tooltip = cats.locator(".tooltip")
    expect(tooltip).to_be_visible()
    headers = tooltip.locator("thead th").all_text_contents()
    assert headers == [
        "",
        "Run",
        "Step",
        "Threshold",
        "Precision",
        "Recall",
        "TP",
        "FP",
        "TN",
        "FN",
    ]
    rows = tooltip.locator("tbody tr")
    expect(rows).to_have_count(3)
    first = dict(zip(headers[1:], rows.nth(0).locator("td").all_text_contents()[1:], strict=True))
    assert first["Run"] == "good"
    assert first["Step"] == "2"
    assert float(first["Precision"]) == pytest.approx(good["Precision"][index], rel=1e-4)
    assert float(first["Recall"]) == pytest.approx(good["Recall"][index], rel=1e-4)
    assert float(first["TP"].replace(",", "")) == good["TP"][index]
    assert rows.nth(0).get_attribute("data-kind") == "current"
    late = cats.locator('.tooltip tbody tr[data-run="late"] td').all_text_contents()
    assert late[2] == "1"  # its last step at or before step 2
    snapshot(page, "kinds_prcurves_tooltip")

    # The slider: at step 0 every run's first curve.
    cats.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(cats).to_have_attribute("data-step", "0")
    expect(cats.locator('.prcurves-legend-run[data-run="late"]')).not_to_contain_text("step")
    assert pixels_of(canvas_png(cats), colours["late"], tolerance=8) > 150

    # A run unchecked in the selector leaves the chart.
    run_row(page, "poor").locator("input[type=checkbox]").uncheck()
    expect(cats).to_have_attribute("data-runs", "2")
    expect(cats.locator(".prcurves-legend-run")).to_have_count(2)
    page.wait_for_function(
        "c => c.dataset.state === 'drawn'", arg=cats.element_handle(), timeout=10_000
    )
    assert pixels_of(canvas_png(cats), colours["poor"], tolerance=8) < 20
    run_row(page, "poor").locator("input[type=checkbox]").check()
    expect(cats).to_have_attribute("data-runs", "3")

    # The per-run cards, as an option that is remembered.
    page.get_by_label("One card per run").check()
    expect(page.locator(".prcurves-card:visible")).to_have_count(6)
    expect(page.locator(".prcurves-tag-card:visible")).to_have_count(0)
    page.reload()
    expect(page.locator(".prcurves-card").first).to_be_visible(timeout=15_000)
    expect(page.get_by_label("One card per run")).to_be_checked()
    page.get_by_label("One card per run").uncheck()
    expect(tag_card(page, "pr/dogs")).to_be_visible()
