"""A log-scale y axis labels round values that fit (issue 14, bug 5).

Values spanning 1e-3..1e2 drawn with the log-scale y axis on must have their
ticks at decades (and their 2 and 5 multiples where there is room), labelled
``0.001`` ... ``100``, each label inside the canvas: not ``.13976`` cut at
the chart's edge. The labels are read as uPlot draws them: an init script
records every text the page's canvases fill (its position, alignment and
measured width), keeping the last frame of each canvas.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

from browser_support import card, drawn_card, snapshot
from playwright.sync_api import Locator, expect

from stepscope import SummaryWriter

# Each canvas keeps the texts of its last frame (uPlot clears the whole canvas before drawing one).
RECORD_TEXTS = """
(() => {
  const proto = CanvasRenderingContext2D.prototype;
  const fill = proto.fillText;
  const clear = proto.clearRect;
  proto.clearRect = function (x, y, w, h) {
    if (x === 0 && y === 0 && w >= this.canvas.width && h >= this.canvas.height) this.canvas.__texts = [];
    return clear.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, ...rest) {
    const m = this.getTransform();
    (this.canvas.__texts ||= []).push({
      text: String(text), x: m.a * x + m.e, y: m.d * y + m.f, align: this.textAlign,
      width: this.measureText(String(text)).width, rotated: m.b !== 0 || m.c !== 0,
    });
    return fill.call(this, text, x, y, ...rest);
  };
})();
"""


# Each tag's values go geometrically from its first to its second number over 100 steps.
RANGES = {
    "span": (1e-3, 1e2),  # the axis is padded to 5.6e-4..178
    "offset": (2.5e-3, 1e2),  # padded to 0.00147..170: uPlot's own first tick is 0.0014718
    "wide": (1e-6, 1e4),  # ten decades: every other decade
    "narrow": (0.3, 30),  # room for the 2 and 5 multiples
    "close": (1.3, 1.8),  # less than a decade: evenly spaced round ticks
}


def write_run(logdir: Path) -> None:
    with SummaryWriter(str(logdir / "run")) as writer:
        for step in range(100):
            for tag, (low, high) in RANGES.items():
                writer.add_scalar(tag, low * (high / low) ** (step / 99), step)


def y_labels(chart: Locator) -> list[dict]:
    """The y axis's labels as drawn: the texts aligned right (uPlot's left axis), top to bottom."""
    chart.page.mouse.move(1, 1)
    texts = chart.locator(".uplot canvas").evaluate("c => c.__texts || []")
    labels = [t for t in texts if t["align"] == "right" and not t["rotated"] and t["text"]]
    return sorted(labels, key=lambda t: t["y"])


def is_round(label: str) -> bool:
    """1, 2 or 5 times a power of ten."""
    value = float(label)
    if value <= 0:
        return False
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10**exponent
    return any(abs(mantissa - m) < 1e-9 for m in (1, 2, 5))


def check_labels(chart: Locator) -> list[str]:
    """The y labels, checked: at least three, descending, inside the canvas; returns their texts."""
    labels = y_labels(chart)
    texts = [t["text"] for t in labels]
    assert len(texts) >= 3, f"too few labels: {texts}"
    values = [float(text) for text in texts]
    assert values == sorted(values, reverse=True), texts
    assert len(set(values)) == len(values), texts
    canvas_height = chart.locator(".uplot canvas").evaluate("c => c.height")
    for t in labels:
        # Right-aligned at x: it starts at x - width, which must be inside the canvas.
        assert t["x"] - t["width"] >= 0, f"label {t['text']!r} is cut at the left edge: {t}"
        assert 6 <= t["y"] <= canvas_height - 6, f"label {t['text']!r} is cut at an edge: {t}"
    return texts


def check_round(chart: Locator) -> set[str]:
    texts = check_labels(chart)
    assert all(is_round(text) for text in texts), f"labels that are not round: {texts}"
    return set(texts)


def test_log_scale_ticks_are_round_and_their_labels_fit(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    write_run(logdir)
    page = open_page(start_server(logdir).url + "#log=1&smoothing=0").page
    page.add_init_script(RECORD_TEXTS)
    page.reload()

    span = drawn_card(card(page, "span"))
    # Five decades in a chart 220 pixels high: every decade from 0.001 to 100, and only those.
    assert check_round(span) == {"0.001", "0.01", "0.1", "1", "10", "100"}
    offset = drawn_card(card(page, "offset"))
    assert check_round(offset) == {"0.01", "0.1", "1", "10", "100"}
    wide = drawn_card(card(page, "wide"))
    assert check_round(wide) == {"1e-6", "1e-4", "0.01", "1", "100", "10000"}
    narrow = drawn_card(card(page, "narrow"))
    assert check_round(narrow) == {"0.5", "1", "2", "5", "10", "20"}

    # Under a decade: evenly spaced ticks, a round step apart (0.1 here).
    close = drawn_card(card(page, "close"))
    values = [float(text) for text in check_labels(close)]
    steps = {round(a - b, 9) for a, b in itertools.pairwise(values)}
    assert len(steps) == 1, values
    assert is_round(str(steps.pop())), values

    # Enlarged, the first chart has room for the 2 and 5 multiples of its decades.
    span.locator("button", has_text="⤢").click()
    expect(span).to_have_class(re.compile(r"\benlarged\b"))
    page.wait_for_timeout(300)
    texts = check_round(span)
    assert {"0.001", "0.002", "0.005", "0.01", "1", "2", "5", "100"} <= texts, texts
    snapshot(page, "test_charts_log_axis_enlarged")
