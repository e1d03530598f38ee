"""Dark mode (issue 14): the page follows the system's colour scheme, or the theme chosen.

The test switches Chromium's emulated ``prefers-color-scheme`` and the top
bar's switch, and measures what a person sees: the page's, a card's and the
sidebar's backgrounds, and text that contrasts with them (WCAG's contrast
ratio) in both themes. The choice is remembered after a reload; "System"
follows the system again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from browser_support import (
    Server,
    Tab,
    assert_clean_stop,
    card,
    contrast,
    drawn_card,
    luminance,
    pixels_of,
    rgb_of,
    snapshot,
)
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

OpenPage = Callable[[str], Tab]


@pytest.fixture(scope="module")
def logdir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("theme")
    for run, offset in (("train", 0.0), ("eval", 1.0)):
        with SummaryWriter(str(base / "logs" / run)) as writer:
            for step in range(40):
                writer.add_scalar("loss", offset + 1 / (step + 1), step)
    server = Server(base / "logs", base / "index.duckdb")
    try:
        yield server
    finally:
        output = server.stop()
    assert_clean_stop(server, output)


def colour(found: Locator, prop: str) -> tuple[int, int, int]:
    return rgb_of(found.evaluate(f"e => getComputedStyle(e).{prop}"))


def looks(page: Page) -> dict[str, float]:
    """The luminance of the page, a card and the sidebar, and how readable the text on them is."""
    chart = card(page, "loss")
    body = colour(page.locator("html"), "backgroundColor")  # the page's background
    panel = colour(chart, "backgroundColor")
    sidebar = colour(page.locator("#sidebar"), "backgroundColor")
    return {
        "page": luminance(body),
        "card": luminance(panel),
        "sidebar": luminance(sidebar),
        "title": contrast(colour(chart.locator(".card-title"), "color"), panel),
        "run name": contrast(colour(page.locator(".run-name").first, "color"), sidebar),
        "muted": contrast(colour(page.locator(".run-count"), "color"), sidebar),
    }


AXIS = {"light": (0x55, 0x55, 0x55), "dark": (0xA9, 0xB3, 0xC1)}  # style.css' --chart-axis


def axis_pixels(page: Page, theme: str) -> int:
    """The chart's pixels in the theme's axis colour (its tick labels), redrawn in the new theme."""
    page.mouse.move(1, 1)
    canvas = card(page, "loss").locator(".uplot canvas")
    return pixels_of(canvas.screenshot(), AXIS[theme], tolerance=6)


def assert_theme(page: Page, theme: str) -> None:
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    seen = looks(page)
    for part in ["page", "card", "sidebar"]:
        if theme == "dark":
            assert seen[part] < 0.05, f"the {part} is not dark: {seen}"
        else:
            assert seen[part] > 0.8, f"the {part} is not light: {seen}"
    assert seen["title"] >= 7, f"titles hard to read: {seen}"
    assert seen["run name"] >= 7, f"run names hard to read: {seen}"
    assert seen["muted"] >= 4.5, f"secondary text hard to read: {seen}"
    # The chart's canvas draws its axes in the theme's colours (colors.ts' themeColors()):
    # many more pixels of this theme's axis colour than of the other's (anti-aliasing makes a few).
    other = "light" if theme == "dark" else "dark"
    ours, theirs = axis_pixels(page, theme), axis_pixels(page, other)
    message = f"the chart's axis labels are not drawn in the {theme} theme's colour"
    assert ours > 30, f"{message} ({ours} pixels)"
    assert ours > 4 * theirs, f"{message} ({ours} pixels, {theirs} of the other theme's)"


def test_the_theme_follows_the_system_or_the_switch_and_is_remembered(
    logdir_server: Server, open_page: OpenPage
) -> None:
    page = open_page(logdir_server.url).page
    page.emulate_media(color_scheme="light")
    switch = page.locator("#theme")
    drawn_card(card(page, "loss"))
    expect(switch).to_have_value("system")
    assert_theme(page, "light")

    # The system turns dark: the page follows, at once, without a reload.
    page.emulate_media(color_scheme="dark")
    assert_theme(page, "dark")
    expect(card(page, "loss")).to_have_attribute("data-state", "drawn")
    snapshot(page, "workspace_theme_dark")

    # Chosen light, it stays light whatever the system says, after a reload too.
    switch.select_option("light")
    assert_theme(page, "light")
    page.reload()
    drawn_card(card(page, "loss"))
    expect(switch).to_have_value("light")
    assert_theme(page, "light")

    switch.select_option("dark")
    page.emulate_media(color_scheme="light")
    assert_theme(page, "dark")
    page.reload()
    drawn_card(card(page, "loss"))
    assert_theme(page, "dark")
    snapshot(page, "workspace_theme_dark_chosen")

    # Back to the system's.
    switch.select_option("system")
    assert_theme(page, "light")
    page.emulate_media(color_scheme="dark")
    assert_theme(page, "dark")
    # The run colours stay what they were: the theme changes the page, not the runs.
    swatch = page.locator(".run-row:not([hidden]) .swatch").first
    dark_swatch = colour(swatch, "backgroundColor")
    page.emulate_media(color_scheme="light")
    assert colour(swatch, "backgroundColor") == dark_swatch


def test_the_canvas_colours_of_the_theme_are_there_for_the_charts(
    logdir_server: Server, open_page: OpenPage
) -> None:
    """colors.ts' themeColors() reads style.css' --chart-* and --panel: both themes define them."""
    page = open_page(logdir_server.url).page
    drawn_card(card(page, "loss"))
    found = {}
    for theme in ["light", "dark"]:
        page.locator("#theme").select_option(theme)
        found[theme] = page.evaluate(
            """() => { const s = getComputedStyle(document.documentElement);
                return ["--panel", "--text", "--chart-axis", "--chart-grid", "--chart-ticks"]
                    .map(name => s.getPropertyValue(name).trim()); }"""
        )
    for theme, values in found.items():
        assert all(v.startswith("#") and len(v) == 7 for v in values), (theme, values)
    panel, text, axis = (rgb_of(hex_rgb(v)) for v in found["dark"][:3])
    assert contrast(axis, panel) >= 4.5
    assert contrast(text, panel) >= 7
    assert found["light"] != found["dark"]


def hex_rgb(value: str) -> str:
    return f"rgb({int(value[1:3], 16)}, {int(value[3:5], 16)}, {int(value[5:7], 16)})"
