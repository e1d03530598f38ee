"""The custom scalars view in a real browser: the layout torch's and our writers give, drawn.

A multiline chart draws every tag its regexes match for every shown run; a
margin chart draws the value with the band between its bounds filled.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from browser_support import card, css_string, pixels_of, rgb_of, snapshot
from playwright.sync_api import Locator, expect

from stepscope import SummaryWriter

LAYOUT = {
    "Losses": {
        "both losses": ["Multiline", ["loss/(train|val)$"]],
        "accuracy band": ["Margin", ["acc/mean", "acc/low", "acc/high"]],
    },
    "Rates": {"learning rate": ["Multiline", ["^lr$"]]},
}

TORCH_WRITER = """
import json, sys
from torch.utils.tensorboard import SummaryWriter

writer = SummaryWriter(sys.argv[1])
writer.add_custom_scalars(json.loads(sys.argv[2]))
for step in range(40):
    writer.add_scalar("loss/train", 2 - step * 0.03, step)
    writer.add_scalar("loss/val", 2.2 - step * 0.025, step)
    writer.add_scalar("acc/mean", 0.5 + step * 0.01, step)
    writer.add_scalar("acc/low", 0.3 + step * 0.01, step)
    writer.add_scalar("acc/high", 0.7 + step * 0.01, step)
writer.close()
"""


def _write(logdir: Path) -> None:
    torch_run = subprocess.run(
        [sys.executable, "-c", TORCH_WRITER, str(logdir / "torch"), json.dumps(LAYOUT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert torch_run.returncode == 0, torch_run.stderr
    with SummaryWriter(str(logdir / "ours")) as writer:
        writer.add_custom_scalars(LAYOUT)
        for step in range(0, 60, 2):
            writer.add_scalar("loss/train", 1.5 - step * 0.02, step)
            writer.add_scalar("loss/val", 1.7 - step * 0.02, step)
            writer.add_scalar("loss/val_extra", 9.0, step)  # not matched: the regex ends in $
            writer.add_scalar("acc/mean", 0.4 + step * 0.005, step)
            writer.add_scalar("acc/low", 0.35 + step * 0.005, step)
            writer.add_scalar("acc/high", 0.45 + step * 0.005, step)
            writer.add_scalar("lr", 0.1 * 0.9**step, step)


def _chart(page, title: str) -> Locator:
    found = card(page, title)
    found.scroll_into_view_if_needed()
    expect(found).to_have_attribute("data-state", "drawn", timeout=15_000)
    return found


def test_the_layout_of_torch_and_our_writers_is_drawn(start_server, open_page, tmp_path) -> None:
    logdir = tmp_path / "logs"
    _write(logdir)
    server = start_server(logdir)
    with urllib.request.urlopen(
        server.url + "api/plugins/custom_scalars/layout", timeout=10
    ) as response:
        layout = json.loads(response.read())
    # Both runs wrote the same layout: it is listed once.
    assert [c["title"] for c in layout["categories"]] == ["Losses", "Rates"]
    assert layout["categories"][0]["charts"] == [
        {"title": "both losses", "multiline": ["loss/(train|val)$"]},
        {
            "title": "accuracy band",
            "margin": [{"value": "acc/mean", "lower": "acc/low", "upper": "acc/high"}],
        },
    ]
    tab = open_page(server.url + "#tab=custom_scalars")
    page = tab.page
    expect(page.locator(".tab[data-plugin=custom_scalars]")).to_have_text("Custom scalars")
    expect(page.locator(".custom-scalars .group summary .group-name")).to_have_text(
        ["Losses", "Rates"]
    )
    expect(page.locator(".custom-scalars .card")).to_have_count(3)

    losses = _chart(page, "both losses")
    # Two runs x the two tags the regex matches (loss/val_extra is not one of them).
    assert losses.get_attribute("data-runs") == "4"
    assert losses.get_attribute("data-points") == str(40 * 2 + 30 * 2)
    box = losses.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    tooltip = losses.locator(".tooltip")
    expect(tooltip).to_be_visible()
    labels = sorted(tooltip.locator("tbody tr td:nth-child(2)").all_text_contents())
    assert labels == ["ours: loss/train", "ours: loss/val", "torch: loss/train", "torch: loss/val"]
    page.mouse.move(1, 1)

    band = _chart(page, "accuracy band")
    assert band.get_attribute("data-kind") == "margin"
    assert band.get_attribute("data-runs") == "6"  # value, lower and upper of two runs
    rgb = swatch_of(page, "torch")
    png = band.locator(".uplot canvas").screenshot()
    # The band is the run's colour mixed with white at 20%: many pixels of it, between the bounds.
    fill = (
        round(rgb[0] * 0.2 + 255 * 0.8),
        round(rgb[1] * 0.2 + 255 * 0.8),
        round(rgb[2] * 0.2 + 255 * 0.8),
    )
    assert pixels_of(png, fill, tolerance=6) > 2000
    # The value line is drawn in the run's own colour.
    assert pixels_of(png, rgb) > 100
    snapshot(page, "custom_scalars_layout")

    rates = _chart(page, "learning rate")
    assert rates.get_attribute("data-runs") == "1"  # only our run logged lr


def swatch_of(page, run: str) -> tuple[int, int, int]:
    """A run's colour, from its row in the run selector."""
    row = page.locator(f"label.run-row:not([hidden])[data-run={css_string(run)}] .swatch")
    return rgb_of(row.evaluate("e => getComputedStyle(e).backgroundColor"))
