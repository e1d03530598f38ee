"""The PR curves view in a real browser: cards, curves in the run's colour, the slider, the tooltip.

The logdirs are written here by torch's SummaryWriter and by stepscope's
(same calls); what the page shows is compared with precision and recall
computed in Python from the same labels and predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import (
    card_run_rgb,
    css_string,
    drawn_card,
    pixels_of,
    share_differing,
    snapshot,
)
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

STEPS = 3
SAMPLES = 300
TAGS = {"pr/class0": 127, "pr/class1": 127, "pr/coarse": 11}
# The chart's axes run a little beyond 0..1 (prcurves.ts RANGE).
LOW, HIGH = -0.02, 1.02


def predictions(step: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels of 2 classes and softmax scores that separate them better at each step."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, SAMPLES)
    noise = rng.normal(0, 1, (SAMPLES, 2))
    logits = noise + (0.2 + 0.6 * step) * np.eye(2)[labels]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, scores


def log_curves(writer: Any) -> None:
    for step in range(STEPS):
        labels, scores = predictions(step)
        writer.add_pr_curve("pr/class0", labels == 0, scores[:, 0], step)
        writer.add_pr_curve("pr/class1", labels == 1, scores[:, 1], step)
        writer.add_pr_curve("pr/coarse", labels == 1, scores[:, 1], step, num_thresholds=11)


def expected_curve(
    labels: np.ndarray, scores: np.ndarray, thresholds: int
) -> dict[str, np.ndarray]:
    """TensorBoard's definition: a prediction counts at threshold i if floor(score * (n-1)) >= i."""
    bucket = np.floor(scores * (thresholds - 1))
    at = bucket[None, :] >= np.arange(thresholds)[:, None]
    positive = labels.astype(bool)[None, :]
    tp = (at & positive).sum(axis=1).astype(float)
    fp = (at & ~positive).sum(axis=1).astype(float)
    fn = positive.sum() - tp
    tn = (~positive).sum() - fp
    return {
        "TP": tp,
        "FP": fp,
        "TN": tn,
        "FN": fn,
        "Precision": tp / np.maximum(1e-7, tp + fp),
        "Recall": tp / np.maximum(1e-7, tp + fn),
    }


def pr_card(page: Page, run: str, tag: str) -> Locator:
    return page.locator(f".prcurves-card[data-run={css_string(run)}][data-tag={css_string(tag)}]")


def canvas_png(found: Locator) -> bytes:
    found.page.mouse.move(1, 1)
    expect(found.locator(".tooltip")).to_be_hidden()
    return found.locator(".uplot canvas").screenshot()


def at_value(found: Locator, recall: float, precision: float) -> tuple[float, float]:
    """The page position of a (recall, precision) point of the card's chart."""
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    x = box["x"] + (recall - LOW) / (HIGH - LOW) * box["width"]
    y = box["y"] + (HIGH - precision) / (HIGH - LOW) * box["height"]
    return x, y


def tooltip_row(found: Locator, x: float, y: float) -> dict[str, str]:
    """Hovers at (x, y); the tooltip's row of the shown step, by column."""
    page = found.page
    page.mouse.move(1, 1)
    tooltip = found.locator(".tooltip")
    expect(tooltip).to_be_hidden()
    page.mouse.move(x, y)
    expect(tooltip).to_be_visible()
    headers = tooltip.locator("thead th").all_text_contents()
    assert headers == ["", "Step", "Threshold", "Precision", "Recall", "TP", "FP", "TN", "FN"]
    cells = tooltip.locator('tbody tr[data-kind="current"] td').all_text_contents()
    return dict(zip(headers[1:], cells[1:], strict=True))


def loneliest(expected: dict[str, np.ndarray], width: float, height: float, among: range) -> int:
    """The threshold in ``among`` farthest (in pixels) from every other drawn point.

    A hover there finds it alone, whatever the rounding of the mouse position.
    """
    x = expected["Recall"] * width / (HIGH - LOW)
    y = expected["Precision"] * height / (HIGH - LOW)
    drawn = np.flatnonzero(expected["TP"] + expected["FP"] > 0)
    best, room = -1, -1.0
    for i in among:
        others = drawn[drawn != i]
        gap = float(np.min(np.hypot(x[others] - x[i], y[others] - y[i])))
        if gap > room:
            best, room = i, gap
    assert room > 2, f"no threshold stands alone (best gap {room:.2f}px)"
    return best


@pytest.fixture(scope="module")
def pr_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("pr")
    torch_writer = TorchWriter(str(root / "torch"))
    log_curves(torch_writer)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        log_curves(writer)
    return root


def test_pr_curves_view_draws_steps_and_hovers(start_server, open_page, pr_logdir: Path) -> None:
    """A card per run and tag, the curve in the run's colour, the slider, the tooltip's numbers."""
    server = start_server(pr_logdir)
    page = open_page(server.url + "#tab=pr_curves").page
    page.get_by_label("One card per run").check()  # (a chart per tag, every run on it, by default)
    expect(page.locator(".prcurves-card")).to_have_count(2 * len(TAGS))
    for run in ("torch", "ours"):
        for tag, thresholds in TAGS.items():
            found = drawn_card(pr_card(page, run, tag))
            expect(found).to_have_attribute("data-step", str(STEPS - 1))  # the last step first
            expect(found).to_have_attribute("data-thresholds", str(thresholds))
            expect(found.locator(".prcurves-note")).to_be_hidden()  # nothing is NaN
            expect(found.locator(".step-label")).to_contain_text(f"{STEPS} of {STEPS}")
    snapshot(page, "test_pr_curves_view_last_step")

    found = drawn_card(pr_card(page, "torch", "pr/class1"))
    rgb = card_run_rgb(found)
    last = canvas_png(found)
    assert pixels_of(last, rgb) > 200, "the curve is not drawn in the run's colour"

    # The slider: the first step is another curve (the classes barely separate yet).
    found.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(found).to_have_attribute("data-step", "0")
    expect(found.locator(".step-label")).to_contain_text(f"1 of {STEPS}")
    first = canvas_png(found)
    assert pixels_of(first, rgb) > 200
    assert share_differing(first, last) > 0.01, "moving the slider did not change the drawing"
    page.keyboard.press("ArrowRight")
    expect(found).to_have_attribute("data-step", "1")
    snapshot(page, "test_pr_curves_view_step_1")

    # The tooltip at a threshold near 0.5, against TensorBoard's definition computed here.
    labels, scores = predictions(1)
    expected = expected_curve(labels == 1, scores[:, 1], 127)
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    index = loneliest(expected, box["width"], box["height"], range(50, 77))
    row = tooltip_row(
        found, *at_value(found, expected["Recall"][index], expected["Precision"][index])
    )
    assert row["Step"] == "1"
    assert float(row["Threshold"]) == pytest.approx(index / 126, rel=1e-4)
    assert float(row["Precision"]) == pytest.approx(expected["Precision"][index], rel=1e-4)
    assert float(row["Recall"]) == pytest.approx(expected["Recall"][index], rel=1e-4)
    for count in ("TP", "FP", "TN", "FN"):
        assert float(row[count].replace(",", "")) == expected[count][index], count
    # The previous step's row at the same threshold, for comparison.
    labels, scores = predictions(0)
    before = expected_curve(labels == 1, scores[:, 1], 127)
    previous = found.locator('.tooltip tbody tr[data-kind="previous"] td').all_text_contents()
    assert previous[1] == "0"
    assert float(previous[3]) == pytest.approx(before["Precision"][index], rel=1e-4)
    snapshot(page, "test_pr_curves_view_tooltip")

    # The previous step is drawn faint (the run's colour mixed with white); the toolbar hides it.
    # (Grid lines may be as pale as a grey run's faint curve: count what goes away.)
    pale = tuple(round(c * 0.3 + 255 * 0.7) for c in rgb)
    with_previous = pixels_of(canvas_png(found), pale, tolerance=8)
    page.get_by_label("Previous step, faint").uncheck()
    without = canvas_png(found)
    assert with_previous - pixels_of(without, pale, tolerance=8) > 100
    assert pixels_of(without, rgb) > 200  # the step itself stays
    found.locator(".u-over").hover()
    expect(found.locator('.tooltip tbody tr[data-kind="previous"]')).to_have_count(0)
    page.get_by_label("Previous step, faint").check()

    # The coarse curve of our writer: 11 thresholds, threshold 0.5 is the 6th.
    coarse = drawn_card(pr_card(page, "ours", "pr/coarse"))
    labels, scores = predictions(STEPS - 1)
    expected = expected_curve(labels == 1, scores[:, 1], 11)
    row = tooltip_row(coarse, *at_value(coarse, expected["Recall"][5], expected["Precision"][5]))
    assert row["Threshold"] == "0.5"
    assert float(row["Precision"]) == pytest.approx(expected["Precision"][5], rel=1e-4)
    assert float(row["Recall"]) == pytest.approx(expected["Recall"][5], rel=1e-4)


def naive_curve(labels: np.ndarray, scores: np.ndarray, thresholds: int) -> list[np.ndarray]:
    """Counts, and precision and recall divided without a guard: 0/0 is NaN."""
    counts = expected_curve(labels, scores, thresholds)
    tp, fp, tn, fn = (counts[k] for k in ("TP", "FP", "TN", "FN"))
    with np.errstate(invalid="ignore", divide="ignore"):
        return [tp, fp, tn, fn, tp / (tp + fp), tp / (tp + fn)]


def test_pr_curves_view_survives_nan(start_server, open_page, tmp_path: Path) -> None:
    """NaN precision or recall: the rest is drawn, the card counts the NaN, the tooltip shows it."""
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    labels, scores = predictions(2)
    # Some positives: precision is 0/0 above every prediction.
    partial = naive_curve(labels == 1, scores[:, 1] * 0.8, 127)
    # No positives at all: recall is 0/0 everywhere.
    none = naive_curve(np.zeros(SAMPLES, dtype=bool), scores[:, 1], 127)
    root = tmp_path / "nan"
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_pr_curve_raw("pr/naive", *partial, global_step=0, num_thresholds=127)
    # torch's own add_pr_curve with no positives: every point at (0, 0), a dot.
    torch_writer.add_pr_curve("pr/all_negative", np.zeros(SAMPLES), scores[:, 1], 0)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        writer.add_pr_curve_raw("pr/no_positives", *none, global_step=0, num_thresholds=127)
    server = start_server(root)
    page = open_page(server.url + "#tab=pr_curves").page
    page.get_by_label("One card per run").check()  # (a chart per tag, every run on it, by default)
    expect(page.locator(".prcurves-card")).to_have_count(3)

    naive = drawn_card(pr_card(page, "torch", "pr/naive"))
    missing = int((~np.isfinite(partial[4]) | ~np.isfinite(partial[5])).sum())
    assert 0 < missing < 127
    expect(naive.locator(".prcurves-note")).to_have_text(
        f"Not drawn: {missing} thresholds whose precision or recall is NaN or infinite"
        " (marked at the edge where the other one is known)."
    )
    expect(naive).to_have_attribute("data-drawn", str(127 - missing))
    rgb = card_run_rgb(naive)
    assert pixels_of(canvas_png(naive), rgb) > 200
    # A threshold of NaN precision is marked at the top edge at its recall; hovering says NaN.
    top = naive.locator(".u-over").bounding_box()
    assert top is not None
    x, _ = at_value(naive, float(partial[5][-1]), 0)
    row = tooltip_row(naive, x, top["y"] + 4)
    assert row["Precision"] == "NaN"
    assert np.isnan(partial[4][round(float(row["Threshold"]) * 126)])
    snapshot(page, "test_pr_curves_view_nan_tooltip")

    nothing = drawn_card(pr_card(page, "ours", "pr/no_positives"))
    expect(nothing.locator(".prcurves-note")).to_contain_text(
        "Not drawn: 127 thresholds whose precision or recall is NaN or infinite"
    )
    expect(nothing).to_have_attribute("data-drawn", "0")
    # Its precision is known (0) where something is predicted: marked at the left edge.
    assert pixels_of(canvas_png(nothing), card_run_rgb(nothing)) > 10

    negative = drawn_card(pr_card(page, "torch", "pr/all_negative"))
    expect(negative.locator(".prcurves-note")).to_be_hidden()
    expect(negative.locator(".step-label")).to_contain_text("above every prediction, not drawn")
    assert pixels_of(canvas_png(negative), card_run_rgb(negative)) > 10
    snapshot(page, "test_pr_curves_view_nan")
