"""The hparams view on a 1280x720 screen with many hyperparameters, in a real Chromium (issue 14, bug 6).

torch's ``add_hparams`` of 16 hyperparameters with long names and three
metrics: the metrics stay in view (pinned to the table's right) while the
hyperparameters scroll, the columns are as wide as their values (a long name
is cut with an ellipsis and whole on hover), the parallel coordinates' labels
stay inside the plot without running into each other (cut the same way), and
the scatter-plot matrix fits its width.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, Tab, snapshot
from playwright.sync_api import Browser, Locator, Page, expect

SMALL_SCREEN = {"width": 1280, "height": 720}
HPARAMS = [f"model/encoder/layer_{k}/dropout_probability" for k in range(15)] + ["optimizer"]
METRICS = ["hparam/accuracy", "hparam/loss", "hparam/validation_accuracy_top5"]


def write_sessions(root: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    writer = TorchWriter(str(root))
    for i in range(12):
        hparams: dict[str, Any] = {
            name: round(0.01 * (k + 1) * (i + 1), 4) for k, name in enumerate(HPARAMS[:-1])
        }
        hparams["optimizer"] = ["adam", "sgd", "rmsprop"][i % 3]
        metrics = dict(zip(METRICS, (i / 12, 1 - i / 12, i / 20), strict=True))
        writer.add_hparams(hparams, metrics, run_name=f"trial{i:02d}")
    writer.close()


@pytest.fixture
def small_page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A page on a 1280x720 screen; screenshotted at the end and checked to have thrown nothing."""
    context = chromium.new_context(bypass_csp=True, viewport=SMALL_SCREEN)
    tab = Tab(context.new_page())
    try:
        yield tab
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert tab.errors == [], f"uncaught errors on the page: {tab.errors}"


Box = dict[str, float]


def box_of(found: Locator) -> Box:
    box = found.bounding_box()
    assert box is not None
    return box


def within(inner: Box, outer: Box) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def overlap(a: Box, b: Box) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - 0.5
        and b["x"] < a["x"] + a["width"] - 0.5
        and a["y"] < b["y"] + b["height"] - 0.5
        and b["y"] < a["y"] + a["height"] - 0.5
    )


# Whether the element is what a person sees at its own middle (not covered by another column).
ON_TOP = """e => {
  const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && (hit === e || e.contains(hit));
}"""


def seen(cell: Locator, frame: Box) -> bool:
    return within(box_of(cell), frame) and bool(cell.evaluate(ON_TOP))


def header(page: Page, column: str) -> Locator:
    return page.locator(f'.hparams-table thead tr:first-child th[data-column="{column}"]')


def test_metrics_labels_and_plots_fit_a_small_screen(
    start_server, small_page: Tab, tmp_path: Path
) -> None:
    root = tmp_path / "logs"
    write_sessions(root)
    page = small_page.page
    page.goto(start_server(root).url + "#tab=hparams")
    expect(page.locator(".hparams")).to_have_attribute("data-state", "ready", timeout=15_000)
    wrap = page.locator(".hparams-table-wrap")
    frame = box_of(wrap)
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # more columns than room

    # The metrics in view, headers and values, without scrolling; and still when scrolled.
    first_row = page.locator(".hparams-table tbody tr[data-session]").first
    for left in (0, 400, 100_000):
        wrap.evaluate(f"w => {{ w.scrollLeft = {left}; }}")
        for metric in METRICS:
            assert seen(header(page, f"m:{metric}"), frame), (metric, left)
            index = [f"m:{m}" for m in METRICS].index(f"m:{metric}") - len(METRICS)
            assert seen(first_row.locator("td").nth(index), frame), (metric, left)
        assert seen(header(page, "run"), frame)
    snapshot(page, "kinds_hparams_table_scrolled_to_the_end")
    # Scrolled to the end, the last hyperparameters show beside the pinned metrics.
    assert seen(header(page, f"h:{sorted(HPARAMS)[-1]}"), frame)
    wrap.evaluate("w => { w.scrollLeft = 0; }")

    # Columns as wide as their values; a long name cut with an ellipsis, whole on hover.
    for name in HPARAMS[:3]:
        th = header(page, f"h:{name}")
        assert box_of(th)["width"] <= 140, name
        assert th.get_attribute("title") == name
        label = th.locator(".hparams-sort")  # the name and the sort arrow
        assert label.evaluate("e => e.scrollWidth > e.clientWidth")
        assert label.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"

    # Parallel coordinates: a name per axis, inside the plot, none over another; cut ones whole on hover.
    parallel = page.locator(".hparams-parcoords")
    parallel.scroll_into_view_if_needed()
    expect(parallel).to_have_attribute("data-axes", str(len(HPARAMS) + len(METRICS)))
    plot = box_of(parallel)
    names = parallel.locator(".hparams-pc-name")
    expect(names).to_have_count(len(HPARAMS) + len(METRICS))
    boxes = [box_of(name) for name in names.all()]
    titles = [name.get_attribute("title") for name in names.all()]
    assert sorted(t.removesuffix(" (log)") for t in titles if t) == sorted(HPARAMS + METRICS)
    for k, name in enumerate(names.all()):
        assert within(boxes[k], plot), titles[k]
        if name.evaluate("e => e.scrollWidth > e.clientWidth"):
            assert name.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
        for j in range(k):
            assert not overlap(boxes[j], boxes[k]), (titles[j], titles[k])
    ticks = parallel.locator(".hparams-pc-tick")
    tick_boxes = [box_of(tick) for tick in ticks.all()]
    assert len(tick_boxes) >= 2 * (len(HPARAMS) + len(METRICS)) - 2
    for k, tick in enumerate(tick_boxes):
        assert within(tick, plot)
        assert all(not overlap(other, tick) for other in tick_boxes[:k])
    assert ticks.first.get_attribute("title") == ticks.first.text_content()
    snapshot(page, "kinds_hparams_parallel_coordinates")

    # The scatter-plot matrix within its width.
    matrix = page.locator(".hparams-matrix")
    matrix.scroll_into_view_if_needed()
    expect(page.locator(".hparams-scatter")).to_have_count(10 * len(METRICS))
    assert matrix.evaluate("m => m.scrollWidth <= m.clientWidth")
    area = box_of(page.locator(".hparams-matrix-wrap"))
    for plot_box in (box_of(p) for p in page.locator(".hparams-scatter").all()):
        assert plot_box["x"] + plot_box["width"] <= area["x"] + area["width"] + 0.5
    snapshot(page, "kinds_hparams_scatter_matrix")
