"""Run groups in a real browser: seeds of a config drawn as their mean with a band.

Three seeds of two configs (``lr0.1_seed1`` ... ``lr1_seed3``) and a run in no
group. Grouped by the regex ``^(.*)_seed\\d+$``, each config is drawn as its
mean line in its colour with a translucent band (min to max, or ±1 std), checked
pixel by pixel at positions computed here from the values written; the
seeds' own lines appear only when their group is opened; the tooltip has a
row per group and the CSV its series. A regex that does not compile is
shown as invalid and the runs are drawn as runs; grouping by a
hyperparameter works too. Zooming into a group fetches its detail.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from browser_support import card, drawn_card, pixels_of, rgb_of, run_row, snapshot, wait_for_hash
from playwright.sync_api import Locator, Page, expect

from stepscope import SummaryWriter

STEPS = np.arange(100)
# Each seed is its config's curve plus a constant offset: the band is as wide everywhere.
CONFIGS = {"lr0.1": (1.0, (-0.2, 0.0, 0.2)), "lr1": (3.0, (-0.4, 0.0, 0.4))}
SEEDS = {
    f"{c}_seed{k + 1}": (c, base + offset)
    for c, (base, offsets) in CONFIGS.items()
    for k, offset in enumerate(offsets)
}
LONER = "baseline"
REGEX = r"^(.*)_seed\d+$"


def curve(level: float) -> np.ndarray:
    """The values a run logs (read back as float32)."""
    return (level + 0.1 * np.sin(STEPS / 10.0)).astype(np.float32).astype(np.float64)


def write(logdir: Path) -> None:
    for run, (config, level) in SEEDS.items():
        with SummaryWriter(str(logdir / run)) as writer:
            for step, value in zip(STEPS, curve(level), strict=True):
                writer.add_scalar("loss", float(value), int(step), walltime=1.7e9 + int(step))
            writer.add_hparams({"lr": float(config[2:])}, {"final": 0.0}, run_name="hp")
    with SummaryWriter(str(logdir / LONER)) as writer:
        for step, value in zip(STEPS, curve(2.0), strict=True):
            writer.add_scalar("loss", float(value), int(step), walltime=1.7e9 + int(step))


def stats(config: str) -> dict[str, np.ndarray]:
    """A group's mean, min, max and std by step, from the values written."""
    table = np.array([curve(level) for run, (c, level) in SEEDS.items() if c == config])
    return {
        "mean": table.mean(axis=0),
        "min": table.min(axis=0),
        "max": table.max(axis=0),
        "std": table.std(axis=0),
    }


def band_of(config: str, band: str) -> tuple[np.ndarray, np.ndarray]:
    s = stats(config)
    if band == "minmax":
        return s["min"], s["max"]
    return s["mean"] - s["std"], s["mean"] + s["std"]


class Plot:
    """Where values are on a chart's canvas: its plot area and its ranges, as the page sets them.

    The x range is the steps'; the y range every drawn line's (means, band
    edges, the loner) widened by 5% (smoothing is off).
    """

    def __init__(self, chart: Locator, band: str) -> None:
        canvas = chart.locator(".uplot canvas").bounding_box()
        over = chart.locator(".u-over").bounding_box()
        assert canvas is not None
        assert over is not None
        self.left, self.top = over["x"] - canvas["x"], over["y"] - canvas["y"]
        self.width, self.height = over["width"], over["height"]
        values = [curve(2.0)]
        for config in CONFIGS:
            values.extend([stats(config)["mean"], *band_of(config, band)])
        low, high = min(v.min() for v in values), max(v.max() for v in values)
        pad = (high - low) * 0.05
        self.low, self.high = low - pad, high + pad

    def x(self, step: int) -> int:
        return round(self.left + self.width * (step - STEPS[0]) / (STEPS[-1] - STEPS[0]))

    def y(self, value: float) -> int:
        return round(self.top + self.height * (1 - (value - self.low) / (self.high - self.low)))


def pixel(png: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    r, g, b = png[y, x][:3]
    return int(r), int(g), int(b)


def near(colour: tuple[int, int, int], wanted: tuple[int, int, int], tolerance: int) -> bool:
    return max(abs(a - b) for a, b in zip(colour, wanted, strict=True)) <= tolerance


def around(png: np.ndarray, x: int, y: int, wanted: tuple[int, int, int], tolerance: int) -> bool:
    """Whether a pixel within 2 of (x, y) has the colour."""
    return any(
        near(pixel(png, x + dx, y + dy), wanted, tolerance)
        for dx in range(-2, 3)
        for dy in range(-2, 3)
    )


def fill_of(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A band: the colour at 20% over white."""
    r, g, b = (round(c * 0.2 + 255 * 0.8) for c in rgb)
    return r, g, b


def canvas_of(chart: Locator) -> tuple[bytes, np.ndarray]:
    chart.page.mouse.move(1, 1)
    expect(chart.locator(".tooltip")).to_be_hidden()
    png = chart.locator(".uplot canvas").screenshot()
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(png)) as image:
        return png, np.asarray(image.convert("RGB")).astype(int)


def colour_of(page: Page, run: str) -> tuple[int, int, int]:
    swatch = run_row(page, run).locator(".swatch")
    return rgb_of(swatch.evaluate("e => getComputedStyle(e).backgroundColor"))


def check_groups_drawn(chart: Locator, band: str, colours: dict[str, tuple[int, int, int]]) -> None:
    """Each group's mean in its colour and its band filled, at places computed from the values."""
    _, png = canvas_of(chart)
    plot = Plot(chart, band)
    for config in CONFIGS:
        colour = colours[f"{config}_seed1"]  # a group has its first run's colour
        mean = stats(config)["mean"]
        lower, upper = band_of(config, band)
        for step in (20, 50, 80):
            x = plot.x(step)
            assert around(png, x, plot.y(mean[step]), colour, 40), (config, step, "mean")
            # Halfway between the mean and each edge: the band's translucent fill.
            for edge in (lower[step], upper[step]):
                y = plot.y((mean[step] + edge) / 2)
                assert around(png, x, y, fill_of(colour), 8), (config, step, band, pixel(png, x, y))
            # Beyond the band's edges (by a tenth of its width): no fill.
            outside = (upper[step] - lower[step]) * 0.15
            for y in (plot.y(upper[step] + outside), plot.y(lower[step] - outside)):
                assert not near(pixel(png, x, y), fill_of(colour), 8), (config, step, "outside")


def seed_drawn(chart: Locator, png: np.ndarray, run: str, colour: tuple[int, int, int]) -> int:
    """At how many of three steps a seed's own line is drawn, in its colour, where its values are."""
    plot = Plot(chart, "minmax")
    values = curve(SEEDS[run][1])
    return sum(
        any(
            near(pixel(png, plot.x(step) + dx, plot.y(values[step]) + dy), colour, 12)
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
        )
        for step in (20, 50, 80)
    )


@pytest.fixture
def grouped_server(start_server, tmp_path: Path):
    logdir = tmp_path / "logs"
    write(logdir)
    return start_server(logdir)


def test_seeds_grouped_by_a_regex_are_drawn_as_mean_and_band(
    grouped_server, open_page, tmp_path: Path
) -> None:
    url = grouped_server.url + f"#smoothing=0&group=regex&group_re={quote(REGEX)}"
    page = open_page(url).page
    chart = drawn_card(card(page, "loss"))
    expect(page.locator(".run-group")).to_have_count(2)
    expect(page.locator(".run-group .run-group-name")).to_have_text(["lr0.1", "lr1"])
    expect(page.locator(".run-group .run-group-count")).to_have_text(["▸ 3", "▸ 3"])
    # Two groups (a mean and two band edges each) and the loner: 7 lines, no seed's own.
    expect(chart).to_have_attribute("data-runs", "7")
    colours = {run: colour_of(page, run) for run in [*SEEDS, LONER]}
    png, pixels = canvas_of(chart)
    for run in ("lr0.1_seed2", "lr0.1_seed3", "lr1_seed2", "lr1_seed3"):
        assert seed_drawn(chart, pixels, run, colours[run]) == 0, f"{run} drawn, its group closed"
    assert pixels_of(png, colours[LONER]) > 100
    check_groups_drawn(chart, "minmax", colours)
    minmax_fill = pixels_of(png, fill_of(colours["lr0.1_seed1"]), 6)
    snapshot(page, "groups_minmax")

    # The tooltip: a row per group with its mean, band and member count.
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    tooltip = chart.locator(".tooltip")
    expect(tooltip.locator("tr.group-row")).to_have_count(2)
    rows = tooltip.locator("tr.group-row").all()
    texts = [row.locator("td").all_text_contents() for row in rows]
    names = sorted(cells[1] for cells in texts)
    assert names == ["lr0.1: mean of 3 runs", "lr1: mean of 3 runs"]
    step = int(texts[0][4].replace(",", ""))
    for cells in texts:
        config = cells[1].split(":")[0]
        s = stats(config)
        assert cells[3] == f"{fmt(s['mean'][step])} [{fmt(s['min'][step])}, {fmt(s['max'][step])}]"
    expect(tooltip.locator("tbody tr")).to_have_count(3)  # and the loner
    snapshot(page, "groups_tooltip")
    page.mouse.move(1, 1)

    # Opening a group draws its seeds, in their own colours.
    page.locator(".run-group[data-group='lr0.1']").click()
    expect(page.locator(".run-group[data-group='lr0.1']")).to_have_attribute("aria-pressed", "true")
    wait_for_hash(page, "q.getAll('open').includes('lr0.1')")
    expect(chart).to_have_attribute("data-runs", "10")
    expect(chart).to_have_attribute("data-state", "drawn")
    _, pixels = canvas_of(chart)
    for run in ("lr0.1_seed2", "lr0.1_seed3"):
        assert seed_drawn(chart, pixels, run, colours[run]) == 3, f"{run} not drawn, group open"
    assert seed_drawn(chart, pixels, "lr1_seed2", colours["lr1_seed2"]) == 0
    snapshot(page, "groups_open")
    page.locator(".run-group[data-group='lr0.1']").click()
    expect(chart).to_have_attribute("data-runs", "7")

    # ±1 std: a narrower band, still where the values say.
    page.locator("#group-band").select_option("std")
    wait_for_hash(page, "q.get('band') === 'std'")
    page.wait_for_function(
        "el => el.dataset.state === 'drawn'", arg=chart.element_handle(), timeout=10_000
    )
    expect(chart).to_have_attribute("data-runs", "7")
    page.wait_for_timeout(300)
    check_groups_drawn(chart, "std", colours)
    png, _ = canvas_of(chart)
    assert pixels_of(png, fill_of(colours["lr0.1_seed1"]), 6) < minmax_fill * 0.95
    snapshot(page, "groups_std")

    # The downloads hold the groups' series at full resolution.
    with page.expect_download() as download:
        chart.locator(".card-tools button", has_text="CSV").click()
    download.value.save_as(tmp_path / "groups.csv")
    with open(tmp_path / "groups.csv", newline="", encoding="utf-8") as file:
        rows_csv = list(csv.DictReader(file))
    groups = [r for r in rows_csv if r["kind"] == "group"]
    assert {r["name"] for r in groups} == {"lr0.1", "lr1"}
    assert {r["name"] for r in rows_csv if r["kind"] == "run"} == {LONER}
    lr1 = [r for r in groups if r["name"] == "lr1"]
    assert [int(r["step"]) for r in lr1] == STEPS.tolist()
    s = stats("lr1")
    np.testing.assert_allclose([float(r["value"]) for r in lr1], s["mean"], rtol=1e-12)
    np.testing.assert_allclose([float(r["lower"]) for r in lr1], s["mean"] - s["std"], rtol=1e-12)
    assert {r["count"] for r in lr1} == {"3"}


def fmt(v: float) -> str:
    """As the page's formatValue shows a value of these magnitudes: 5 significant digits."""
    text = repr(float(f"{v:.5g}"))
    return text.removesuffix(".0")


def test_a_bad_regex_is_shown_invalid_and_hparams_group_too(grouped_server, open_page) -> None:
    page = open_page(grouped_server.url + "#smoothing=0").page
    chart = drawn_card(card(page, "loss"))
    expect(chart).to_have_attribute("data-runs", "7")  # six seeds and the loner
    page.locator("#group-rule").select_option("regex")
    regex = page.locator(".group-regex")
    regex.fill("^(.*_seed")
    expect(regex).to_have_class("filter group-regex invalid")
    expect(page.locator(".group-error")).to_contain_text("Not a valid regex")
    expect(page.locator(".run-group")).to_have_count(0)
    expect(chart).to_have_attribute("data-runs", "7")
    snapshot(page, "groups_bad_regex")
    regex.fill(REGEX)
    expect(regex).to_have_class("filter group-regex")
    expect(page.locator(".group-error")).to_have_text("")
    expect(page.locator(".run-group")).to_have_count(2)
    wait_for_hash(page, f"q.get('group_re') === {json.dumps(REGEX)}")

    # By hyperparameter: add_hparams wrote each seed's lr into its sub-run.
    page.locator("#group-rule").select_option("hparam")
    expect(page.locator("#group-hparam")).to_have_value("lr")
    expect(page.locator(".run-group .run-group-name")).to_have_text(["lr=0.1", "lr=1"])
    expect(chart).to_have_attribute("data-runs", "7")
    page.locator("#group-rule").select_option("none")
    expect(page.locator(".run-group")).to_have_count(0)
    expect(chart).to_have_attribute("data-runs", "7")
    expect(page.locator("#group-band")).to_be_hidden()


def test_zooming_into_a_group_fetches_its_detail_at_full_resolution(
    start_server, open_page, tmp_path: Path
) -> None:
    logdir = tmp_path / "logs"
    steps = 4000
    rng = np.random.default_rng(5)
    for seed in (1, 2, 3):
        values = np.cumsum(rng.normal(0, 1, steps))
        with SummaryWriter(str(logdir / f"long_seed{seed}")) as writer:
            for step, value in enumerate(values):
                writer.add_scalar("walk", float(value), step, walltime=1.7e9 + step)
    server = start_server(logdir)
    page = open_page(server.url + f"#group=regex&group_re={quote(REGEX)}").page
    chart = drawn_card(card(page, "walk"))
    expect(chart).to_have_attribute("data-runs", "3")  # the group's mean and band edges
    overview = int(chart.get_attribute("data-points") or 0)
    assert overview < 3 * steps  # downsampled: about a point per pixel, per line
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    with page.expect_response(
        lambda r: (
            r.url.endswith("/api/plugins/scalars/groups")
            and b'"min_step"' in (r.request.post_data_buffer or b"")
        ),
        timeout=10_000,
    ) as answer:
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.40, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.43, y, steps=5)
        page.mouse.up()
    expect(chart).to_have_attribute("data-zoomed", "1")
    query = answer.value.request.post_data_json
    assert query["groups"] == [{"name": "long", "runs": ["long_seed1", "long_seed2", "long_seed3"]}]
    low, high = query["min_step"], query["max_step"]
    assert 1400 <= low < high <= 1900, (low, high)
    # Every aligned step of the range is in the detail, and is drawn (three lines of it).
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.points) >= n",
        arg=[chart.element_handle(), overview + 3 * (high - low + 1) - overview // 5],
        timeout=5_000,
    )
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    expect(chart.locator(".tooltip tr.group-row")).to_have_count(1)
    expect(chart.locator(".tooltip tr.group-row td").nth(1)).to_have_text("long: mean of 3 runs")
