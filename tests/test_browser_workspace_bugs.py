"""The dashboard as a workspace (issue 14): the bugs of its shell, in a real browser.

A logdir of every kind stepscope shows (scalars, images, audio, histograms,
text, PR curves, hparams, meshes, custom scalars) plus three plugins it has no
view for, written by our writer at test time. The tests assert what a person
sees: every tab in sight and clickable in a 1280x720 window, no empty card
left behind by the run filter, and each tab with its own settings only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import Server, Tab, assert_clean_stop, card, snapshot
from playwright.sync_api import Page, expect
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from stepscope import SummaryWriter

OpenPage = Callable[[str], Tab]
UNKNOWN_PLUGINS = ["attention_maps", "gradient_flow", "token_stats"]
LAYOUT = {"Losses": {"both": ["Multiline", [r"^loss/"]]}}


def plugin_summary(tag: str, plugin: str, array: np.ndarray) -> summary_pb2.Summary:
    """A tensor summary of a plugin stepscope has no view for."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )
    value = summary_pb2.Summary.Value(
        tag=tag, metadata=metadata, tensor=tensor_util.make_tensor_proto(array)
    )
    return summary_pb2.Summary(value=[value])


def write_every_kind(root: Path) -> None:
    rng = np.random.default_rng(0)
    for run, offset in (("alpha", 0.0), ("beta", 1.0)):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(20):
                writer.add_scalar("loss/train", offset + 1 / (step + 1), step)
                writer.add_scalar("loss/val", offset + 1.2 / (step + 1), step)
                writer.add_scalar(f"{run}_only/metric", offset + step * 0.1, step)
            writer.add_image(f"sample_{run}", rng.random((3, 16, 16)), 0)
            writer.add_histogram("weights", rng.normal(offset, 1, 200), 0)
            writer.add_text("notes", f"run **{run}**", 0)
            rate = 8000
            t = np.arange(rate // 4) / rate
            writer.add_audio("tone", 0.3 * np.sin(2 * math.pi * 440 * t), 0, sample_rate=rate)
            writer.add_pr_curve("pr", rng.integers(0, 2, 50), rng.random(50), 0)
            vertices = rng.random((1, 20, 3))
            writer.add_mesh("cloud", vertices, global_step=0)
            writer.add_hparams({"lr": 0.1 * (1 + offset)}, {"final": offset}, run_name=".")
            if run == "alpha":
                writer.add_custom_scalars(LAYOUT)
            raw = writer._get_file_writer()
            for plugin in UNKNOWN_PLUGINS:
                raw.add_summary(plugin_summary(f"{plugin}/t", plugin, np.arange(4.0)), 0)


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("every-kind")
    write_every_kind(base / "logs")
    server = Server(base / "logs", base / "index.duckdb")
    try:
        yield server
    finally:
        output = server.stop()
    assert_clean_stop(server, output)


def tab_link(page: Page, name: str):
    return page.locator(f'a.tab[data-plugin="{name}"]')


# -- bug 7: a narrow window --------------------------------------------------------


def test_every_tab_is_in_sight_and_clickable_in_a_1280_by_720_window(
    every_kind: Server, open_page: OpenPage
) -> None:
    page = open_page(every_kind.url).page
    page.set_viewport_size({"width": 1280, "height": 720})
    tabs = page.locator("a.tab")
    expect(tab_link(page, UNKNOWN_PLUGINS[-1])).to_have_count(1, timeout=15_000)
    names = tabs.evaluate_all("ts => ts.map(t => t.dataset.plugin)")
    for kind in ["scalars", "images", "audio", "histograms", "text", "pr_curves", "mesh"]:
        assert kind in names, names
    assert set(UNKNOWN_PLUGINS) <= set(names), names
    snapshot(page, "workspace_tabs_1280x720")

    hidden = page.evaluate(
        """() => [...document.querySelectorAll("a.tab")].filter(tab => {
            const box = tab.getBoundingClientRect();
            const x = box.left + box.width / 2, y = box.top + box.height / 2;
            const inside = box.left >= 0 && box.right <= innerWidth && box.top >= 0 && box.bottom <= innerHeight;
            return !inside || !tab.contains(document.elementFromPoint(x, y));
        }).map(tab => tab.dataset.plugin)"""
    )
    assert hidden == [], f"tabs out of sight (or covered) in a 1280x720 window: {hidden}"
    # Each one is clickable where it is, without scrolling anything first.
    for name in names:
        link = tab_link(page, name)
        box = link.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        expect(link).to_have_attribute("aria-current", "page")
    # The page still fits the window: the views scroll, not the page.
    assert page.evaluate("() => document.documentElement.scrollHeight - innerHeight") <= 0


# -- bug 9: filtering runs ---------------------------------------------------------


def test_a_run_filter_hides_the_cards_and_groups_of_tags_no_shown_run_has(
    every_kind: Server, open_page: OpenPage
) -> None:
    page = open_page(every_kind.url).page
    expect(card(page, "beta_only/metric")).to_have_attribute("data-state", "drawn", timeout=15_000)
    page.locator(".runs .filter").fill("^alpha$")
    expect(page.locator(".run-count")).to_have_text("1 of 2 shown")
    # beta's own tag: no card saying that no shown run has it, and no group left empty.
    expect(card(page, "beta_only/metric")).to_be_hidden()
    expect(page.locator('details.group[data-group="beta_only"]')).to_be_hidden()
    expect(card(page, "alpha_only/metric")).to_be_visible()
    expect(card(page, "loss/train")).to_be_visible()
    expect(page.locator(".card-message:visible", has_text="No run that is shown")).to_have_count(0)
    snapshot(page, "workspace_run_filter_scalars")

    # The cards of the other tabs (TagCardsView) follow the filter as well.
    tab_link(page, "images").click()
    images = page.locator(".images .card")
    expect(images).to_have_count(1)
    expect(images).to_have_attribute("data-run", "alpha")
    page.locator(".runs .filter").fill("^nothing$")
    expect(page.locator(".images .card")).to_have_count(0)
    expect(page.locator(".images .empty")).to_be_visible()

    # No run shown at all: the scalars view says so once, with no card or group.
    tab_link(page, "scalars").click()
    expect(page.locator(".scalars .card:visible")).to_have_count(0)
    expect(page.locator("details.group:visible")).to_have_count(0)
    expect(page.locator(".scalars > .empty")).to_have_text(
        "No run that is shown has these tags: check runs in the sidebar."
    )
    page.locator(".runs .filter").fill("")
    expect(card(page, "beta_only/metric")).to_have_attribute("data-state", "drawn")


# -- bug 11: each tab its own settings -----------------------------------------------


def test_each_tab_shows_its_own_settings_only(every_kind: Server, open_page: OpenPage) -> None:
    page = open_page(every_kind.url).page
    smoothing = page.locator("#smoothing")
    expect(smoothing).to_be_visible(timeout=15_000)
    for name in ["sql", "images", "histograms", "text", UNKNOWN_PLUGINS[0]]:
        tab_link(page, name).click()
        expect(tab_link(page, name)).to_have_attribute("aria-current", "page")
        for control in ["#smoothing", "#x-axis", "#log-y", "#ignore-outliers", "#tooltip-sort"]:
            expect(page.locator(control)).to_be_hidden()
        if name == "images":
            # Its own settings stay: brightness and contrast.
            expect(page.get_by_label("Brightness")).to_be_visible()
            snapshot(page, "workspace_settings_images")
    for name in ["custom_scalars", "scalars"]:
        tab_link(page, name).click()
        for control in ["#smoothing", "#x-axis", "#log-y", "#ignore-outliers", "#tooltip-sort"]:
            expect(page.locator(control)).to_be_visible()
    # Opened on a tab, the page shows that tab's settings from the start.
    page.goto(every_kind.url + "#tab=sql")
    page.reload()
    expect(tab_link(page, "sql")).to_have_attribute("aria-current", "page", timeout=15_000)
    expect(page.locator(".runs")).to_be_visible()
    expect(smoothing).to_be_hidden()
