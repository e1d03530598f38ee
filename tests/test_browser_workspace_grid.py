"""The dashboard as a workspace (issue 14): a grid that uses the screen, and pinned cards.

One logdir written by our writer: a group of six scalar tags, three groups of
one tag, an images tag, and two runs whose long names differ only at the end.
The tests measure what a person sees: how many columns the cards flow in at
1280 and 1920 pixels for each card size, a chart spanning the row when
enlarged, groups of one chart side by side, the sidebar dragged wider (and
still so after a reload), long names shown as start…end, and pinned cards at
the top of their tab, kept in the URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from browser_support import (
    Server,
    Tab,
    assert_clean_stop,
    card,
    css_string,
    drawn_card,
    fragment,
    run_row,
    snapshot,
    wait_for_hash,
)
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

OpenPage = Callable[[str], Tab]
LOSS_TAGS = [f"loss/part{i}" for i in range(6)]
SINGLE_TAGS = ["acc", "epoch", "grad_norm"]  # groups sorting before "loss": one row
LONG_RUNS = [
    "sweep_lr0.001_batch512_warmup1000_dropout0.1_seed1",
    "sweep_lr0.001_batch512_warmup1000_dropout0.1_seed2",
]
# Columns the cards flow in, by card size and window width (the sidebar at its default width).
COLUMNS = {
    ("small", 1280): 3,
    ("small", 1920): 5,
    ("medium", 1280): 2,
    ("medium", 1920): 3,
    ("large", 1280): 1,
    ("large", 1920): 2,
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("workspace")
    rng = np.random.default_rng(1)
    for i, run in enumerate(["a", "b", *LONG_RUNS]):
        with SummaryWriter(str(base / "logs" / run)) as writer:
            for step in range(30):
                for k, tag in enumerate(LOSS_TAGS + SINGLE_TAGS):
                    writer.add_scalar(tag, i + k * 0.1 + step * 0.01, step)
            writer.add_image("img", rng.random((3, 12, 12)), 0)
    server = Server(base / "logs", base / "index.duckdb")
    try:
        yield server
    finally:
        output = server.stop()
    assert_clean_stop(server, output)


def columns(cards: Locator) -> int:
    """In how many columns these cards stand (their distinct left edges)."""
    lefts = cards.evaluate_all(
        "cs => cs.filter(c => c.offsetParent).map(c => Math.round(c.getBoundingClientRect().left))"
    )
    return len(set(lefts))


def group(page: Page, name: str) -> Locator:
    return page.locator(f"details.group[data-group={css_string(name)}]")


def box_of(found: Locator) -> dict[str, float]:
    box = found.bounding_box()
    assert box is not None
    return box


def test_cards_flow_in_as_many_columns_as_fit_at_each_size(
    workspace: Server, open_page: OpenPage
) -> None:
    page = open_page(workspace.url).page
    loss_cards = group(page, "loss").locator(".card")
    drawn_card(card(page, LOSS_TAGS[0]))
    found = {}
    for size in ["medium", "small", "large"]:
        page.locator(".scalars .card-size select").select_option(size)
        if size != "medium":
            wait_for_hash(page, f"q.get('size') === '{size}'")
        for width in [1280, 1920]:
            page.set_viewport_size({"width": width, "height": 1000})
            expect(loss_cards).to_have_count(len(LOSS_TAGS))
            page.wait_for_timeout(100)  # the grid lays out again
            found[(size, width)] = columns(loss_cards)
            snapshot(page, f"workspace_grid_{size}_{width}")
    assert found == COLUMNS
    # A chart's height follows the size too: small and large ones are lower and higher.
    heights = {}
    for size in ["small", "medium", "large"]:
        page.locator(".scalars .card-size select").select_option(size)
        page.wait_for_timeout(100)
        heights[size] = box_of(card(page, LOSS_TAGS[0]).locator(".plot"))["height"]
    assert heights["small"] < heights["medium"] < heights["large"], heights

    # The size is in the URL: a reload (or a link) shows it.
    page.locator(".scalars .card-size select").select_option("small")
    wait_for_hash(page, "q.get('size') === 'small'")
    page.reload()
    expect(page.locator(".scalars .card-size select")).to_have_value("small", timeout=15_000)
    expect(loss_cards).to_have_count(len(LOSS_TAGS))
    page.wait_for_timeout(100)
    assert columns(loss_cards) == COLUMNS[("small", 1920)]


def test_single_chart_groups_share_a_row_and_an_enlarged_card_spans_it(
    workspace: Server, open_page: OpenPage
) -> None:
    page = open_page(workspace.url).page
    page.set_viewport_size({"width": 1920, "height": 1000})
    for tag in SINGLE_TAGS:
        drawn_card(card(page, tag))
    # The three groups of one chart stand side by side, in tag order, on one row.
    tops = [round(box_of(group(page, name))["y"]) for name in SINGLE_TAGS]
    lefts = [box_of(group(page, name))["x"] for name in SINGLE_TAGS]
    assert len(set(tops)) == 1, f"single-chart groups on rows of their own: {tops}"
    assert lefts == sorted(lefts)
    # And they are as wide as a column of the six-chart group.
    wide = box_of(card(page, LOSS_TAGS[0]))["width"]
    assert abs(box_of(card(page, "acc"))["width"] - wide) <= 2
    snapshot(page, "workspace_single_groups_packed")

    # Enlarged, a chart takes the whole row (in a group of one chart, too).
    row = box_of(page.locator(".scalars .groups"))["width"]
    for tag in [LOSS_TAGS[2], "epoch"]:
        chart = card(page, tag)
        chart.locator(".card-tools button", has_text="⤢").click()
        expect(chart).to_have_class(re.compile(r"\benlarged\b"))
        page.wait_for_timeout(100)
        assert box_of(chart)["width"] >= row - 2, (tag, box_of(chart)["width"], row)
        snapshot(page, f"workspace_enlarged_{tag.replace('/', '_')}")
        chart.locator(".card-tools button", has_text="⤢").click()
        page.wait_for_timeout(100)
        assert box_of(chart)["width"] <= row / 2

    # The cards of other tabs have the button too.
    page.locator('a.tab[data-plugin="images"]').click()
    image = page.locator(".images .card").first
    image.locator(".enlarge-button").click()
    expect(image).to_have_class(re.compile(r"\benlarged\b"))
    page.wait_for_timeout(100)
    assert box_of(image)["width"] >= box_of(page.locator(".images > .cards"))["width"] - 2


def test_the_sidebar_resizes_by_dragging_and_long_run_names_keep_their_end(
    workspace: Server, open_page: OpenPage
) -> None:
    page = open_page(workspace.url).page
    page.set_viewport_size({"width": 1280, "height": 900})
    sidebar = page.locator("#sidebar")
    expect(run_row(page, LONG_RUNS[0])).to_be_visible(timeout=15_000)
    # Long names: the start, an ellipsis, and the end that tells the two apart.
    for run in LONG_RUNS:
        row = run_row(page, run)
        expect(row.locator(".run-name")).to_have_text(run)
        expect(row.locator(".run-name")).to_have_attribute("title", run)
        tail = row.locator(".run-tail")
        expect(tail).to_be_visible()
        assert run.endswith(tail.inner_text())
        assert len(tail.inner_text()) >= 6
        name_box, tail_box = box_of(row.locator(".run-name")), box_of(tail)
        assert tail_box["x"] >= name_box["x"] + name_box["width"] - 8  # after the start
        assert tail_box["x"] + tail_box["width"] <= box_of(row)["x"] + box_of(row)["width"]
        assert row.locator(".run-name").evaluate("e => e.scrollWidth > e.clientWidth")
    tails = [run_row(page, run).locator(".run-tail").inner_text() for run in LONG_RUNS]
    assert tails[0] != tails[1]
    # A short name has no tail.
    expect(run_row(page, "a").locator(".run-tail")).to_be_hidden()
    snapshot(page, "workspace_long_names")

    loss_cards = group(page, "loss").locator(".card")
    drawn_card(card(page, LOSS_TAGS[0]))
    assert columns(loss_cards) == COLUMNS[("medium", 1280)]
    before = box_of(sidebar)["width"]
    handle = box_of(page.locator("#sidebar-handle"))
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 300, y, steps=8)
    page.mouse.up()
    after = box_of(sidebar)["width"]
    assert abs(after - (before + 300)) <= 3, (before, after)
    # Wider, the names fit: no tail any more; the cards take fewer columns.
    expect(run_row(page, LONG_RUNS[0]).locator(".run-tail")).to_be_hidden()
    page.wait_for_timeout(100)
    assert columns(loss_cards) == 1
    snapshot(page, "workspace_sidebar_wide")
    page.reload()
    expect(run_row(page, "a")).to_be_visible(timeout=15_000)
    assert abs(box_of(sidebar)["width"] - after) <= 1, "the sidebar's width is not remembered"
    # The keyboard moves it too.
    page.locator("#sidebar-handle").focus()
    page.keyboard.press("ArrowLeft")
    assert box_of(sidebar)["width"] < after


def test_pinned_cards_go_to_the_top_of_their_tab_and_stay_after_a_reload(
    workspace: Server, open_page: OpenPage
) -> None:
    page = open_page(workspace.url).page
    pinned = page.locator(".scalars section.pinned")
    expect(group(page, "loss").locator(".card")).to_have_count(len(LOSS_TAGS), timeout=15_000)
    expect(pinned).to_be_hidden()
    for tag in [LOSS_TAGS[3], "grad_norm"]:
        card(page, tag).locator(".pin-button").click()
    expect(pinned.locator(".card")).to_have_count(2)
    assert pinned.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.tag)") == [
        LOSS_TAGS[3],
        "grad_norm",
    ]
    expect(pinned.locator(".pin-button").first).to_have_text("Unpin")
    # Out of their groups; the group of one chart left empty is hidden.
    expect(group(page, "loss").locator(".card")).to_have_count(len(LOSS_TAGS) - 1)
    expect(group(page, "loss").locator(".group-count")).to_have_text(str(len(LOSS_TAGS) - 1))
    expect(group(page, "grad_norm")).to_be_hidden()
    # At the top of the tab, above every group.
    assert box_of(pinned)["y"] < box_of(group(page, "acc"))["y"]
    drawn_card(pinned.locator(".card").first)
    wait_for_hash(page, "q.getAll('pinned').length === 2")
    assert fragment(page)["pinned"] == [f"scalars:{LOSS_TAGS[3]}", "scalars:grad_norm"]
    # Pinned cards stay whatever the tag filter.
    page.locator(".scalars .tag-filter").fill("^acc$")
    expect(pinned.locator(".card:visible")).to_have_count(2)
    page.locator(".scalars .tag-filter").fill("")
    snapshot(page, "workspace_pinned_scalars")

    # Images: a card of a run pinned in that tab, kept beside the scalars' pins.
    page.locator('a.tab[data-plugin="images"]').click()
    image_pinned = page.locator(".images section.pinned")
    target = page.locator('.images .card[data-run="b"]')
    target.locator(".pin-button").click()
    expect(image_pinned.locator(".card")).to_have_count(1)
    expect(image_pinned.locator(".card")).to_have_attribute("data-run", "b")
    key = "images:" + json.dumps(["img", "b"], separators=(",", ":"))
    wait_for_hash(page, "q.getAll('pinned').length === 3")
    assert fragment(page)["pinned"][-1] == key
    snapshot(page, "workspace_pinned_images")

    page.reload()
    expect(image_pinned.locator(".card")).to_have_count(1, timeout=15_000)
    expect(image_pinned.locator(".card")).to_have_attribute("data-run", "b")
    page.locator('a.tab[data-plugin="scalars"]').click()
    expect(pinned.locator(".card")).to_have_count(2)
    # Unpinned, a card goes back to its place in its group.
    pinned.locator(f".card[data-tag={css_string(LOSS_TAGS[3])}] .pin-button").click()
    expect(pinned.locator(".card")).to_have_count(1)
    tags = group(page, "loss").locator(".card").evaluate_all("cs => cs.map(c => c.dataset.tag)")
    assert tags == LOSS_TAGS
    pinned.locator(".unpin-all").click()
    expect(pinned).to_be_hidden()
    expect(group(page, "grad_norm")).to_be_visible()
    wait_for_hash(page, "q.getAll('pinned').length === 1")
