"""The views beyond the scalars in dark mode, in a real Chromium (issue 14).

A logdir with histograms, PR curves, torch's hparams, a Markdown table of
text, an unknown plugin's raw tensor and images. The top bar's switch turns
the page dark; each tab is then measured as a person sees it: the cards and
tables dark, their text light (WCAG contrast at least 4.5:1 against what is
really behind it), and the canvases' axes and labels drawn in the dark
theme's colours, not in the light theme's greys on white. The histograms are
drawn in the light theme first, so they must redraw when the theme changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import (
    Server,
    assert_clean_stop,
    contrast,
    drawn_card,
    luminance,
    pixels_of,
    rgb_of,
    snapshot,
)
from playwright.sync_api import Locator, Page, expect
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2

from stepscope import SummaryWriter

# style.css' colours: the light theme's canvas greys, the dark theme's.
LIGHT_AXIS = (0x55, 0x55, 0x55)
LIGHT_LINE = (0xDD, 0xE1, 0xE6)
DARK_AXIS = (0xA9, 0xB3, 0xC1)
DARK_LINE = (0x2F, 0x37, 0x42)
WHITE = (0xFF, 0xFF, 0xFF)

MARKDOWN_TABLE = "| metric | value |\n|---|---|\n| accuracy | 0.93 |\n| loss | 0.21 |\n"


def raw_summary(tag: str) -> summary_pb2.Summary:
    """A string tensor of a plugin stepscope has no view for: the raw view shows it."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="model_config", content=b"1")
    )
    tensor = tensor_pb2.TensorProto(
        dtype=7,  # DT_STRING
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)]
        ),
        string_val=[b"layers: 4", b"units: 128"],
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
    )


def write_logdir(root: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(3)
    with SummaryWriter(str(root / "train")) as writer:
        for step in range(12):
            writer.add_scalar("loss", 1 / (step + 1), step)
            writer.add_histogram("weights", rng.normal(step / 4, 1, 500), step)
        labels = rng.integers(0, 2, 200)
        for step in range(3):
            scores = np.clip(labels * 0.4 + rng.random(200) * 0.6, 0, 1)
            writer.add_pr_curve("pr", labels == 1, scores, step)
        writer.add_text("report", MARKDOWN_TABLE, 0)
        image = np.zeros((3, 24, 32), dtype=np.uint8)
        image[0] = 200
        writer.add_image("samples", image, 0)
        writer._get_file_writer().add_summary(raw_summary("config"), 0)
    hparams = TorchWriter(str(root / "search"))
    for i, (lr, optimizer) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam")]):
        hparams.add_hparams(
            {"lr": lr, "optimizer": optimizer},
            {"hparam/accuracy": 0.5 + i / 10, "hparam/loss": 1 - i / 10},
            run_name=f"trial{i}",
        )
    hparams.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("theme_views")
    write_logdir(base / "logs")
    started = Server(base / "logs", base / "index.duckdb")
    try:
        yield started
    finally:
        output = started.stop()
    assert_clean_stop(started, output)


# The background a person sees behind an element: its own, or the nearest ancestor's that is not transparent.
SEEN_BACKGROUND = """e => {
    for (let at = e; at; at = at.parentElement) {
        const bg = getComputedStyle(at).backgroundColor;
        if (bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") return bg;
    }
    return getComputedStyle(document.documentElement).backgroundColor;
}"""


def background(found: Locator) -> tuple[int, int, int]:
    return rgb_of(found.evaluate(SEEN_BACKGROUND))


def assert_readable(found: Locator, what: str) -> None:
    """Each element found: on a dark background, in text that contrasts with it 4.5:1 at least."""
    assert found.count() > 0, f"no {what}"
    for element in found.all():
        back = background(element)
        text = rgb_of(element.evaluate("e => getComputedStyle(e).color"))
        assert luminance(back) < 0.05, f"the {what}'s background is not dark: {back}"
        ratio = contrast(text, back)
        assert ratio >= 4.5, f"the {what} is hard to read: {text} on {back} ({ratio:.1f}:1)"


def assert_dark_canvas(canvas: Locator, what: str, light: tuple[int, int, int]) -> None:
    """The canvas draws in the dark theme's axis colour and not in the light theme's ``light`` grey."""
    png = canvas.screenshot()
    ours = pixels_of(png, DARK_AXIS, tolerance=6)
    theirs = pixels_of(png, light, tolerance=6)
    white = pixels_of(png, WHITE, tolerance=6)
    assert ours > 30, f"the {what}'s labels are not in the dark theme's colour ({ours} pixels)"
    assert theirs * 4 < ours, f"the {what} still draws the light theme's grey ({theirs} vs {ours})"
    assert white < 20, f"the {what} draws white ({white} pixels)"


def choose_dark(page: Page) -> None:
    page.locator("#theme").select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def visit(page: Page, tab: str) -> None:
    page.evaluate(f"() => {{ location.hash = 'tab={tab}'; }}")
    page.mouse.move(1, 1)


def test_every_view_is_readable_in_dark_mode(server: Server, open_page) -> None:
    page = open_page(server.url + "#tab=histograms").page
    page.emulate_media(color_scheme="light")
    histogram = drawn_card(page.locator(".histogram-card").first)
    canvas = histogram.locator("canvas.histo-canvas")
    assert pixels_of(canvas.screenshot(), LIGHT_AXIS, tolerance=6) > 30  # drawn in light first

    # Histograms: redrawn in the dark theme's colours when it is chosen.
    choose_dark(page)
    assert luminance(background(histogram)) < 0.05
    assert_readable(histogram.locator(".card-title"), "histogram card's title")
    assert_dark_canvas(canvas, "histogram", LIGHT_AXIS)
    snapshot(page, "theme_views_dark_histograms")

    visit(page, "distributions")
    distribution = drawn_card(page.locator(".distribution-card").first)
    assert_dark_canvas(distribution.locator(".uplot canvas"), "distribution", LIGHT_AXIS)
    snapshot(page, "theme_views_dark_distributions")

    visit(page, "pr_curves")
    curve = drawn_card(page.locator(".prcurves-tag-card").first)
    assert luminance(background(curve)) < 0.05
    assert_dark_canvas(curve.locator(".uplot canvas"), "PR curve", LIGHT_AXIS)
    snapshot(page, "theme_views_dark_pr_curves")

    visit(page, "hparams")
    expect(page.locator(".hparams")).to_have_attribute("data-state", "ready", timeout=15_000)
    assert_readable(page.locator(".hparams-table tbody tr[data-session] td"), "hparams cell")
    assert_readable(page.locator(".hparams-table thead .hparams-col-name"), "hparams heading")
    assert_readable(page.locator(".hparams-pc-name"), "parallel coordinates' name")
    assert_readable(page.locator(".hparams-pc-tick"), "parallel coordinates' tick")
    scatter = page.locator(".hparams-scatter-base").first
    png = scatter.screenshot()
    assert pixels_of(png, LIGHT_LINE, tolerance=4) == 0, "the scatter plot's frame is light"
    assert pixels_of(png, DARK_LINE, tolerance=4) > 50, "the scatter plot has no frame"
    # The row pointed at: its highlight is dark too.
    row = page.locator(".hparams-table tbody tr[data-session]").first
    row.hover()
    assert luminance(background(row.locator("td").first)) < 0.05
    page.mouse.move(1, 1)
    snapshot(page, "theme_views_dark_hparams")

    visit(page, "text")
    text = page.locator(".text-card").first
    expect(text).to_have_attribute("data-state", "shown", timeout=10_000)
    assert luminance(background(text)) < 0.05
    assert_readable(text.locator(".text-body th"), "Markdown table's heading")
    assert_readable(text.locator(".text-body td"), "Markdown table's cell")
    snapshot(page, "theme_views_dark_text")

    visit(page, "model_config")
    raw = page.locator(".raw-card").first
    expect(raw).to_have_attribute("data-state", "shown", timeout=10_000)
    assert_readable(raw.locator(".raw-table th"), "raw table's heading")
    assert_readable(raw.locator(".raw-table td"), "raw table's cell")
    snapshot(page, "theme_views_dark_raw")

    visit(page, "images")
    image = page.locator(".image-card").first
    expect(image).to_have_attribute("data-state", "shown", timeout=10_000)
    assert luminance(background(image.locator(".image-samples"))) < 0.05
    assert_readable(image.locator(".card-title"), "image card's title")
    snapshot(page, "theme_views_dark_images")
