"""The dashboard in a real browser: what a person sees on the page.

Each test starts ``stepscope --logdir`` as a real process, opens the page in
Debian's chromium through Playwright and asserts what is on the screen: run
names, charts that are really drawn (pixels of a run's colour on the canvas),
smoothing, zoom with detail, downloads, live updates, the tooltip, a logdir
that vanishes, the run filter and a logdir of a thousand runs.

Tests that only look share one server and one logdir; a test that writes has
its own. A full-page screenshot of every test goes to
``test-artifacts/browser/<test name>.png`` (also when it fails).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import (
    ARTIFACTS,
    VIEWPORT,
    Server,
    assert_clean_stop,
    card,
    css_string,
    fragment,
    pixels_of,
    rgb_of,
    run_row,
    share_differing,
    snapshot,
    wait_for_hash,
)
from playwright.sync_api import Browser, Locator, Page, Request, expect

from stepscope import SummaryWriter

# The shared logdir: what is in it, so the tests can say what the page must show.
BASIC_RUNS = {"alpha": 0.0, "beta": 1.0, "gamma": 2.0}
ACC_STEPS = 200
LONG_RUN = "long"
LONG_TAG = "long/curve"
LONG_STEPS = 20_000
XSS_RUNS = ["<img src=x onerror=alert(1)>", "<script>alert(1)<script>"]
XSS_TAG = "xss/<img src=x onerror=alert(2)>"
SUB_RUNS = [
    "ssrun/metrics_lr_train",
    "ssrun/metrics_lr_val",
    "torchrun/metrics_lr_train",
    "torchrun/metrics_lr_val",
]


def long_value(step: int) -> float:
    return math.sin(step / 700) + step / 10_000


# -- the logdir most tests share ----------------------------------------------


# torch's own writer, in a process of its own: importing torch takes seconds, which
# this way overlap with the start of the server.
TORCH_WRITER = """
import sys
from torch.utils.tensorboard import SummaryWriter

writer = SummaryWriter(sys.argv[1])
for step in range(50):
    writer.add_scalars("metrics/lr", {"train": 2 + step * 0.01, "val": 4 - step * 0.01}, step)
writer.close()
"""


def _write_shared_logdir(root: Path) -> None:
    for run, offset in BASIC_RUNS.items():
        with SummaryWriter(str(root / run)) as writer:
            for step in range(ACC_STEPS):
                writer.add_scalar("acc", offset + step * 0.01, step)
                writer.add_scalar("loss/train", offset + (step % 17) * 0.1, step)
                if step % 10 == 0:
                    writer.add_scalar("loss/val", offset + 0.5 + (step % 30) * 0.02, step)
    with SummaryWriter(str(root / LONG_RUN)) as writer:
        for step in range(LONG_STEPS):
            writer.add_scalar(LONG_TAG, long_value(step), step)
    for i, run in enumerate(XSS_RUNS):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(50):
                writer.add_scalar(XSS_TAG, i + step * 0.1, step)
    # add_scalars: one sub-run per key (torch's writer does the same in TORCH_WRITER).
    with SummaryWriter(str(root / "ssrun")) as writer:
        for step in range(50):
            writer.add_scalars(
                "metrics/lr", {"train": 1 + step * 0.01, "val": 3 - step * 0.01}, step
            )


def _runs_on_disk(root: Path) -> list[str]:
    """The run names a logdir holds: each directory with an event file, relative, with '/'."""
    found = []
    for directory, _, files in os.walk(root):
        if any(".tfevents." in name for name in files):
            found.append(Path(directory).relative_to(root).as_posix())
    return sorted(found)


def _api_runs(server: Server) -> list[str]:
    with urllib.request.urlopen(server.url + "api/runs", timeout=10) as response:
        return sorted(run["name"] for run in json.loads(response.read()))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server of the shared logdir for the tests that only look."""
    base = tmp_path_factory.mktemp("shared")
    logdir = base / "logs"
    torch_writer = subprocess.Popen(
        [sys.executable, "-c", TORCH_WRITER, str(logdir / "torchrun")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = None
    try:
        _write_shared_logdir(logdir)
        server = Server(logdir, base / "index.duckdb")
        output, _ = torch_writer.communicate(timeout=300)
        assert torch_writer.returncode == 0, output
        # The server follows the logdir: wait until it has read torch's runs too.
        on_disk = _runs_on_disk(logdir)
        deadline = time.monotonic() + 20
        while _api_runs(server) != on_disk and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _api_runs(server) == on_disk
        yield server
    finally:
        if torch_writer.poll() is None:
            torch_writer.kill()
            torch_writer.communicate()
        if server is not None:
            output = server.stop()
    assert_clean_stop(server, output)


# -- looking at the page ---------------------------------------------------------


def drawn(page: Page, tag: str, timeout: float = 15_000) -> Locator:
    """The card of a tag, scrolled into view and drawn."""
    found = card(page, tag)
    found.scroll_into_view_if_needed(timeout=timeout)
    expect(found).to_have_attribute("data-state", "drawn", timeout=timeout)
    return found


def points(found: Locator) -> int:
    return int(found.get_attribute("data-points") or "-1")


def canvas_png(found: Locator) -> bytes:
    """The chart's canvas as a person sees it (the mouse moved away first: no cursor, no tooltip)."""
    found.page.mouse.move(1, 1)
    expect(found.locator(".tooltip")).to_be_hidden()
    return found.locator(".uplot canvas").screenshot()


def swatch_rgb(page: Page, run: str) -> tuple[int, int, int]:
    return rgb_of(
        run_row(page, run).locator(".swatch").evaluate("e => getComputedStyle(e).backgroundColor")
    )


def hover(found: Locator, fraction: float) -> list[dict[str, str]]:
    """Moves the mouse over the chart at this share of its width; the tooltip's rows."""
    tooltip = found.locator(".tooltip")
    found.page.mouse.move(1, 1)  # away first, so no row is left from an earlier position
    expect(tooltip).to_be_hidden()
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    found.page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    expect(tooltip).to_be_visible()
    headers = tooltip.locator("thead th").all_text_contents()
    assert headers == ["", "Run", "Smoothed", "Value", "Step", "Time", "Relative"]
    rows = []
    for row in tooltip.locator("tbody tr").all():
        cells = row.locator("td").all_text_contents()
        rows.append(dict(zip(headers[1:], cells[1:], strict=True)))
    return rows


def drag(found: Locator, start: float, end: float) -> None:
    """Drags the mouse across the chart, from and to these shares of its width."""
    box = found.locator(".u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    mouse = found.page.mouse
    mouse.move(box["x"] + box["width"] * start, y)
    mouse.down()
    mouse.move(box["x"] + box["width"] * end, y, steps=5)
    mouse.up()


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_runs_tags_and_groups_are_shown_and_lines_really_drawn(shared: Server, open_page) -> None:
    tab = open_page(shared.url)
    page = tab.page
    expected_runs = _runs_on_disk(shared.logdir)
    total = len(expected_runs)
    expect(page.locator(".run-count")).to_have_text(f"{total} of {total} shown", timeout=15_000)
    shown = page.locator("label.run-row:not([hidden])")
    expect(shown).to_have_count(total)
    assert shown.locator(".run-name").all_text_contents() == expected_runs
    assert all(box.is_checked() for box in shown.locator("input[type=checkbox]").all())
    expect(page.locator("#status")).to_have_text("live")
    expect(page.locator("#banner")).to_be_hidden()

    # One card per scalar tag, grouped by the prefix before the first "/".
    groups = {
        "acc": ["acc"],
        "long": [LONG_TAG],
        "loss": ["loss/train", "loss/val"],
        "metrics": ["metrics/lr"],
        "xss": [XSS_TAG],
    }
    expect(page.locator("details.group")).to_have_count(len(groups))
    assert [g.get_attribute("data-group") for g in page.locator("details.group").all()] == sorted(
        groups
    )
    for group, tags in groups.items():
        section = page.locator(f"details.group[data-group={css_string(group)}]")
        assert section.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.tag)") == tags
        expect(section.locator("summary .group-count")).to_have_text(str(len(tags)))
    for tags in groups.values():
        for tag in tags:
            drawn(page, tag)

    acc = drawn(page, "acc")
    assert acc.get_attribute("data-runs") == "3"
    assert points(acc) == 3 * ACC_STEPS
    colours = {run: swatch_rgb(page, run) for run in BASIC_RUNS}
    assert len(set(colours.values())) == 3, colours
    before = canvas_png(acc)
    for run, colour in colours.items():
        assert pixels_of(before, colour) > 100, f"no line of {run} ({colour}) on the canvas"

    run_row(page, "alpha").locator("input[type=checkbox]").uncheck()
    expect(acc).to_have_attribute("data-runs", "2")
    expect(page.locator(".run-count")).to_have_text(f"{total - 1} of {total} shown")
    after = canvas_png(acc)
    assert pixels_of(after, colours["alpha"]) == 0, (
        "alpha's line is still drawn after unchecking it"
    )
    assert pixels_of(after, colours["beta"]) > 100
    assert pixels_of(after, colours["gamma"]) > 100
    wait_for_hash(page, "q.getAll('hide').join() === 'alpha'")


def test_smoothing_changes_the_lines_and_is_kept_in_the_url(shared: Server, open_page) -> None:
    page = open_page(shared.url).page
    chart = drawn(page, "loss/train")
    expect(page.locator("#smoothing")).to_have_value("0.6")

    page.locator(".smoothing-number").fill("0")
    page.locator(".smoothing-number").press("Enter")
    wait_for_hash(page, "q.get('smoothing') === '0'")
    expect(page.locator("#smoothing")).to_have_value("0")
    raw = canvas_png(chart)
    # Unsmoothed: the tooltip's smoothed value is the value.
    for row in hover(chart, 0.37):
        assert row["Smoothed"] == row["Value"], row

    page.locator("#smoothing").fill("0.9")
    wait_for_hash(page, "q.get('smoothing') === '0.9'")
    expect(page.locator(".smoothing-number")).to_have_value("0.9")
    smoothed = canvas_png(chart)
    assert share_differing(raw, smoothed) > 0.01, "smoothing 0.9 draws the same as 0"
    rows = hover(chart, 0.37)
    assert any(row["Smoothed"] != row["Value"] for row in rows), rows

    # The URL reproduces the view.
    assert fragment(page)["smoothing"] == ["0.9"]
    page.reload()
    chart = drawn(page, "loss/train")
    expect(page.locator("#smoothing")).to_have_value("0.9")
    expect(page.locator(".smoothing-number")).to_have_value("0.9")
    again = canvas_png(chart)
    assert share_differing(smoothed, again) < 0.001, "the reloaded view draws differently"


def _detail_query(request: Request) -> dict | None:
    """The zoomed chart's query in one of the page's batched scalar requests, if there is one."""
    if request.method != "POST" or not request.url.endswith("/api/scalars/batch"):
        return None
    for query in json.loads(request.post_data or "{}").get("queries", []):
        if query.get("tag") == LONG_TAG and query.get("min_step") is not None:
            return query
    return None


def _frame_headers(body: bytes) -> list[dict]:
    """The JSON headers of a batch's frames (see stepscope.server.app.columns_binary)."""
    headers, offset = [], 0
    while offset < len(body):
        (size,) = struct.unpack_from("<I", body, offset)
        frame = body[offset + 4 : offset + 4 + size]
        assert frame[:4] == b"SSC2", frame[:40]
        (length,) = struct.unpack("<I", frame[4:8])
        headers.append(json.loads(frame[8 : 8 + length]))
        offset += 4 + size
    return headers


def test_zoom_by_dragging_fetches_the_detail_and_double_click_resets(
    shared: Server, open_page
) -> None:
    page = open_page(shared.url).page
    chart = drawn(page, LONG_TAG)
    overview = points(chart)
    width = chart.locator(".plot").evaluate("e => e.clientWidth")
    # More points than pixels: the overview is downsampled to about one per pixel of the chart.
    assert 100 <= overview <= width, (overview, width)
    assert overview < LONG_STEPS
    assert chart.get_attribute("data-zoomed") == "0"
    before = canvas_png(chart)
    first_steps = [number(r["Step"]) for r in hover(chart, 0.5)]

    with page.expect_response(
        lambda r: _detail_query(r.request) is not None, timeout=10_000
    ) as answer:
        drag(chart, 0.40, 0.42)
    expect(chart).to_have_attribute("data-zoomed", "1")
    detail = answer.value
    query = _detail_query(detail.request)
    assert query is not None
    low, high = query["min_step"], query["max_step"]
    # 40%..42% of 0..19,999 steps (one point beyond each end): fewer steps than the
    # chart has room for (one per pixel), so the detail comes at full resolution.
    assert 7_000 <= low < high <= 9_500, (low, high)
    assert 300 <= high - low < overview
    [header] = [h for h in _frame_headers(detail.body()) if h["tag"] == LONG_TAG]
    [series] = header["series"]
    assert series["run"] == LONG_RUN
    # Every point of the range (``total`` counts the points in the range), none left out.
    assert series["total"] == high - low + 1
    assert series["points"] == series["total"], "the zoomed range is not at full resolution"
    # The detail is spliced into the overview: every step of the range is drawn.
    page.wait_for_function(
        "([el, n]) => Number(el.dataset.points) >= n",
        arg=[chart.element_handle(), overview + (high - low + 1) - overview // 10],
        timeout=5_000,
    )
    zoomed = canvas_png(chart)
    assert share_differing(before, zoomed) > 0.01
    # The x axis now spans the zoomed range: the middle of the chart is a step inside it.
    [step] = {number(r["Step"]) for r in hover(chart, 0.5)}
    assert low <= step <= high, (step, low, high)
    assert first_steps != [step]
    snapshot(page, "test_zoom_by_dragging_fetches_the_detail_and_double_click_resets-zoomed")

    chart.locator(".u-over").dblclick()
    expect(chart).to_have_attribute("data-zoomed", "0")
    expect(chart).to_have_attribute("data-points", str(overview))
    assert share_differing(before, canvas_png(chart)) < 0.001


def test_csv_and_json_downloads_hold_every_point(shared: Server, open_page, tmp_path: Path) -> None:
    page = open_page(shared.url).page
    chart = drawn(page, LONG_TAG)
    assert points(chart) < LONG_STEPS  # the chart is downsampled, the download must not be

    with page.expect_download() as download:
        chart.locator(".card-tools button", has_text="CSV").click()
    assert download.value.suggested_filename == "long_curve.csv"
    download.value.save_as(tmp_path / "chart.csv")
    with open(tmp_path / "chart.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["run", "tag", "step", "wall_time", "value"]
    body = rows[1:]
    assert len(body) == LONG_STEPS
    assert {(run, tag) for run, tag, *_ in body} == {(LONG_RUN, LONG_TAG)}
    assert [int(r[2]) for r in body] == list(range(LONG_STEPS))
    values = np.array([float(r[4]) for r in body])
    expected = np.array([long_value(s) for s in range(LONG_STEPS)], dtype=np.float32)
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-6)
    walls = np.array([float(r[3]) for r in body])
    assert np.all(np.diff(walls) >= 0)
    assert walls[0] > 1.5e9

    with page.expect_download() as download:
        chart.locator(".card-tools button", has_text="JSON").click()
    assert download.value.suggested_filename == "long_curve.json"
    download.value.save_as(tmp_path / "chart.json")
    document = json.loads((tmp_path / "chart.json").read_text(encoding="utf-8"))
    [series] = document["series"]
    assert series["run"] == LONG_RUN
    assert series["step"] == list(range(LONG_STEPS))


def test_points_written_after_the_page_opened_appear_without_reload(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    with SummaryWriter(str(logdir / "live")) as writer:
        for step in range(10):
            writer.add_scalar("train/loss", 1 / (step + 1), step)
    server = start_server(logdir)
    page = open_page(server.url).page
    chart = drawn(page, "train/loss")
    assert points(chart) == 10
    expect(page.locator(".run-count")).to_have_text("1 of 1 shown")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    # Zoomed in, the chart stays zoomed while new points come.
    drag(chart, 0.2, 0.8)
    expect(chart).to_have_attribute("data-zoomed", "1")

    with SummaryWriter(str(logdir / "live")) as writer:
        for step in range(10, 25):
            writer.add_scalar("train/loss", 1 / (step + 1), step)
        writer.add_scalar("train/accuracy", 0.5, 24)
        writer.flush()
        with SummaryWriter(str(logdir / "second")) as other:
            other.add_scalar("train/loss", 2.0, 3)
            other.flush()
            # Within 5 s, without a reload: more points, a new card, a new run.
            expect(chart).to_have_attribute("data-points", "26", timeout=5_000)
            expect(card(page, "train/accuracy")).to_have_attribute(
                "data-state", "drawn", timeout=5_000
            )
            expect(page.locator(".run-count")).to_have_text("2 of 2 shown", timeout=5_000)
    expect(chart).to_have_attribute("data-runs", "2")
    assert chart.get_attribute("data-zoomed") == "1"
    expect(run_row(page, "second")).to_be_visible()
    chart.locator(".u-over").dblclick()
    expect(chart).to_have_attribute("data-zoomed", "0")
    rows = hover(chart, 0.999)
    assert {r["Run"] for r in rows} == {"live", "second"}
    assert "24" in {r["Step"] for r in rows}
    assert navigations == []

    # What was written is on the screen: the new lines, and the new tag's one point.
    live, second = swatch_rgb(page, "live"), swatch_rgb(page, "second")
    loss_png = canvas_png(chart)
    assert pixels_of(loss_png, live) > 100
    accuracy = drawn(page, "train/accuracy")
    assert points(accuracy) == 1
    shown = pixels_of(canvas_png(accuracy), live)
    assert shown > 3, (
        f"train/accuracy holds one point (step 24, 0.5) but its chart shows nothing of it "
        f"({shown} pixels of the run's colour)"
    )
    shown = pixels_of(loss_png, second)
    assert shown > 3, (
        f"the run 'second' (one point in train/loss) is checked but not drawn "
        f"({shown} pixels of its colour)"
    )


def test_add_scalars_sub_runs_are_runs(shared: Server, open_page) -> None:
    page = open_page(shared.url).page
    on_disk = _runs_on_disk(shared.logdir)
    # torch's writer names a sub-run <log_dir>/<main_tag with "/" as "_">_<key>; so does stepscope's.
    assert set(SUB_RUNS) <= set(on_disk)
    for run in SUB_RUNS:
        expect(run_row(page, run).locator(".run-name")).to_have_text(run)
    chart = drawn(page, "metrics/lr")
    assert chart.get_attribute("data-runs") == "4"
    rows = hover(chart, 0.5)
    assert sorted(r["Run"] for r in rows) == SUB_RUNS
    by_run = {r["Run"]: number(r["Value"]) for r in rows}
    [step] = {number(r["Step"]) for r in rows}
    assert by_run["torchrun/metrics_lr_train"] == pytest.approx(2 + step * 0.01, rel=1e-4)
    assert by_run["ssrun/metrics_lr_val"] == pytest.approx(3 - step * 0.01, rel=1e-4)


def test_html_in_run_and_tag_names_is_shown_as_text(shared: Server, open_page) -> None:
    tab = open_page(shared.url)
    page = tab.page
    for run in XSS_RUNS:
        name = run_row(page, run).locator(".run-name")
        expect(name).to_have_text(run)
        escaped = run.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert name.evaluate("e => e.innerHTML") == escaped
    chart = drawn(page, XSS_TAG)
    expect(chart.locator(".card-title")).to_have_text(XSS_TAG)
    rows = hover(chart, 0.5)
    assert sorted(r["Run"] for r in rows) == sorted(XSS_RUNS)
    expect(chart.locator(".tooltip")).not_to_contain_text("&lt;")  # escaped once, not twice
    # Nothing of the names became markup: no element, no request for "x", no dialog.
    assert page.locator("img").count() == 0
    assert page.locator("#app script").count() == 0
    assert not [r.url for r in tab.requests if r.url.endswith("/x")]
    assert tab.dialogs == []


def test_tooltip_lists_every_drawn_run_sorted_by_value(shared: Server, open_page) -> None:
    page = open_page(shared.url).page
    chart = drawn(page, "acc")
    rows = hover(chart, 0.5)
    assert len(rows) == int(chart.get_attribute("data-runs") or 0) == len(BASIC_RUNS)
    assert [r["Run"] for r in rows] == ["gamma", "beta", "alpha"]  # by value, largest first
    smoothed = [number(r["Smoothed"]) for r in rows]
    assert smoothed == sorted(smoothed, reverse=True)
    [step] = {number(r["Step"]) for r in rows}
    assert abs(step - ACC_STEPS / 2) <= 3
    for row in rows:
        assert number(row["Value"]) == pytest.approx(BASIC_RUNS[row["Run"]] + step * 0.01, rel=1e-4)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["Time"]), row

    page.locator("#tooltip-sort").select_option("run")
    wait_for_hash(page, "q.get('sort') === 'run'")
    rows = hover(chart, 0.3)
    assert [r["Run"] for r in rows] == ["alpha", "beta", "gamma"]


def test_a_vanished_logdir_shows_a_banner_and_the_charts_stay(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    for run, offset in (("one", 0.0), ("two", 5.0)):
        with SummaryWriter(str(logdir / run)) as writer:
            for step in range(30):
                writer.add_scalar("loss", offset + step * 0.1, step)
    server = start_server(logdir)
    page = open_page(server.url).page
    chart = drawn(page, "loss")
    colour = swatch_rgb(page, "two")
    assert pixels_of(canvas_png(chart), colour) > 100
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()

    away = logdir.rename(tmp_path / "moved-away")
    try:
        expect(banner).to_be_visible(timeout=10_000)
        snapshot(page, "test_a_vanished_logdir_shows_a_banner_and_the_charts_stay-banner")
        expect(banner).to_contain_text("cannot be read")
        expect(banner).to_contain_text(str(logdir))
        expect(page.locator("#status")).to_have_text("not reading")
        # What was read stays on the screen.
        expect(page.locator(".run-count")).to_have_text("2 of 2 shown")
        assert chart.get_attribute("data-state") == "drawn"
        assert chart.get_attribute("data-runs") == "2"
        assert pixels_of(canvas_png(chart), colour) > 100
        # The page fits the window as without the banner (its panels scroll, not the page).
        overflow = page.evaluate("() => document.documentElement.scrollHeight - innerHeight")
    finally:
        away.rename(logdir)
    expect(banner).to_be_hidden(timeout=10_000)
    expect(page.locator("#status")).to_have_text("live")
    # And it follows the logdir again.
    with SummaryWriter(str(logdir / "two")) as writer:
        writer.add_scalar("loss", 9.0, 30)
    expect(chart).to_have_attribute("data-points", "61", timeout=5_000)

    # Ctrl-C with the page open: the banner says the connection is lost; the charts stay;
    # the terminal shows that it stopped, and no traceback.
    output = server.stop()
    expect(banner).to_contain_text("Lost the connection", timeout=10_000)
    expect(page.locator("#status")).to_have_text("offline")
    assert chart.get_attribute("data-state") == "drawn"
    assert server.process.returncode == 0, output
    assert "stepscope stopped." in output, output

    # Two things that went wrong on the way, reported together.
    problems = []
    if overflow > 0:
        problems.append(
            f"with the banner shown the page is {overflow}px taller than the window: "
            "the whole page scrolls and the bottom of the run list is cut off"
        )
    if "Traceback" in output:
        problems.append(f"Ctrl-C with the page open printed a traceback:\n{output}")
    assert not problems, "\n\n".join(problems)


def test_run_filter_all_none_and_an_invalid_regex(shared: Server, open_page) -> None:
    page = open_page(shared.url).page
    total = len(_runs_on_disk(shared.logdir))
    acc = drawn(page, "acc")
    names = page.locator("label.run-row:not([hidden]) .run-name")
    expect(names).to_have_count(total)

    page.locator(".runs .filter").fill("^(alpha|beta)$")
    expect(names).to_have_text(["alpha", "beta"])
    expect(page.locator(".run-count")).to_have_text(f"2 of {total} shown")
    expect(acc).to_have_attribute("data-runs", "2")  # the filter hides gamma's line too
    wait_for_hash(page, "q.get('runs') === '^(alpha|beta)$'")

    page.locator(".run-buttons button", has_text="None").click()
    expect(page.locator(".run-count")).to_have_text(f"0 of {total} shown")
    for run in ("alpha", "beta"):
        expect(run_row(page, run).locator("input")).not_to_be_checked()
    wait_for_hash(page, "q.getAll('hide').sort().join() === 'alpha,beta'")
    # No shown run has the tag: its card is hidden, and the view says why (issue 14, bug 9).
    expect(acc).to_be_hidden()
    expect(page.locator(".scalars > .empty")).to_contain_text("No run that is shown has these tags")
    # The URL reproduces it.
    page.reload()
    expect(page.locator(".runs .filter")).to_have_value("^(alpha|beta)$")
    expect(page.locator(".run-count")).to_have_text(f"0 of {total} shown", timeout=10_000)
    expect(names).to_have_text(["alpha", "beta"])
    acc = card(page, "acc")
    expect(acc).to_be_hidden()

    page.locator(".run-buttons button", has_text="All").click()
    expect(page.locator(".run-count")).to_have_text(f"2 of {total} shown")
    wait_for_hash(page, "!q.has('hide')")
    expect(acc).to_have_attribute("data-state", "drawn")
    expect(acc).to_have_attribute("data-runs", "2")

    page.locator(".runs .filter").fill("(alpha")
    expect(page.locator(".runs .filter-error")).to_contain_text("Not a valid regex")
    expect(page.locator(".runs .filter")).to_have_class(re.compile(r"\binvalid\b"))
    expect(names).to_have_count(total)  # an invalid filter filters nothing
    expect(page.locator("#status")).to_have_text("live")
    page.locator(".runs .filter").fill("gam")
    expect(names).to_have_text(["gamma"])
    expect(page.locator(".runs .filter-error")).to_have_text("")
    expect(acc).to_have_attribute("data-runs", "1")


def test_a_thousand_runs_scroll_in_a_window_of_rows(
    tmp_path: Path, start_server, open_page
) -> None:
    logdir = tmp_path / "logs"
    names = [f"run{i:04d}" for i in range(1000)]
    for i, name in enumerate(names):
        with SummaryWriter(str(logdir / name)) as writer:
            writer.add_scalar("loss", 1.0 + i, 0)
            writer.add_scalar("loss", 2.0 + i, 1)
    server = start_server(logdir)
    page = open_page(server.url).page
    expect(page.locator(".run-count")).to_have_text("1000 of 1000 shown", timeout=15_000)
    rows = page.locator("label.run-row:not([hidden])")
    expect(rows.first).to_have_attribute("data-run", "run0000")
    assert 10 <= rows.count() <= 100, rows.count()
    expect(run_row(page, "run0999")).to_have_count(0)

    page.locator(".run-list").evaluate("e => { e.scrollTop = e.scrollHeight; }")
    last = run_row(page, "run0999")
    expect(last).to_be_visible()
    expect(last.locator(".run-name")).to_have_text("run0999")
    assert 10 <= rows.count() <= 100, rows.count()
    expect(run_row(page, "run0000")).to_have_count(0)
    assert last.locator("input").is_checked()
    # The last row is inside the list's visible box.
    list_box = page.locator(".run-list").bounding_box()
    row_box = last.bounding_box()
    assert list_box is not None
    assert row_box is not None
    assert list_box["y"] <= row_box["y"]
    assert row_box["y"] + row_box["height"] <= (list_box["y"] + list_box["height"] + 1)
    chart = drawn(page, "loss", timeout=30_000)
    assert chart.get_attribute("data-runs") == "1000"
    assert points(chart) == 2000


def test_under_a_path_prefix_with_its_own_csp_enforced(
    shared: Server, chromium: Browser, tmp_path: Path
) -> None:
    """--path_prefix and --window_title, and the page working under its real CSP (no bypass)."""
    server = Server(
        shared.logdir,
        tmp_path / "prefix.duckdb",
        "--path_prefix",
        "/tb",
        "--window_title",
        "My runs",
        prefix="/tb",
    )
    context = chromium.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.root)  # the root sends the browser to the prefix
        assert page.url == server.url
        deadline = time.monotonic() + 20
        drawn_cards = 0
        while time.monotonic() < deadline:
            # page.evaluate goes through the debugger, which the CSP does not govern.
            drawn_cards = page.evaluate(
                "document.querySelectorAll('.card[data-state=drawn]').length"
            )
            if drawn_cards >= 3:
                break
            time.sleep(0.1)
        assert drawn_cards >= 3, console
        assert page.title() == "My runs"
        names = page.locator(".run-row:not([hidden]) .run-name").all_text_contents()
        assert "alpha" in names
        assert errors == []
        assert not [line for line in console if "Content Security Policy" in line], console
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "test_under_a_path_prefix_with_its_csp.png"))
    finally:
        context.close()
        output = server.stop()
    assert_clean_stop(server, output)
