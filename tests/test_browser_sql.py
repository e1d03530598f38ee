"""The query box in Chromium: a query's table and chart, downloads, and the refusals as one line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from browser_support import pixels_of, rgb_of, snapshot
from playwright.sync_api import expect

from stepscope import SummaryWriter

RUNS = {"alpha": 0.5, "beta": 2.0}


def write_runs(root: Path) -> None:
    for run, scale in RUNS.items():
        with SummaryWriter(str(root / run)) as writer:
            for step in range(50):
                writer.add_scalar("loss", scale * (1 + step), step)


def run_query(page, sql: str) -> None:
    editor = page.get_by_label("SQL query")
    editor.fill(sql)
    page.get_by_role("button", name="Run", exact=True).click()


def test_a_query_shows_its_table_and_a_chart_of_step_and_value(
    tmp_path: Path, start_server, open_page
) -> None:
    write_runs(tmp_path / "logs")
    server = start_server(tmp_path / "logs")
    page = open_page(server.url + "#tab=sql").page
    expect(page.locator(".tab", has_text="Query")).to_have_attribute("aria-current", "page")
    view = page.locator(".sql-view")
    run_query(page, "SELECT run, max(value) AS top FROM scalars GROUP BY run ORDER BY run")
    expect(view).to_have_attribute("data-state", "done")
    expect(view).to_have_attribute("data-rows", "2")
    cells = view.locator(".sql-table tbody tr").all_inner_texts()
    assert [line.split("\t") for line in cells] == [["alpha", "25"], ["beta", "100"]]
    assert view.locator(".sql-chart").is_hidden()  # no step column: no chart

    run_query(page, "SELECT run, step, value FROM scalars ORDER BY run, step")
    expect(view).to_have_attribute("data-rows", "100")
    chart = view.locator(".sql-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("data-lines", "2")
    canvas = chart.locator("canvas").first.screenshot()
    colours = page.evaluate(
        "() => [...document.querySelectorAll('.sql-chart .u-series .u-marker')]"
        ".map(m => getComputedStyle(m).borderColor)"
    )
    for colour in colours[1:]:
        assert pixels_of(canvas, rgb_of(colour)) > 50, f"no line drawn in {colour}"
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["run", "step", "value"]
    assert len(rows) == 101
    assert rows[1] == ["alpha", "0", "0.5"]
    snapshot(page, "sql_query_chart")


def test_a_refused_query_says_why_in_one_line_and_the_box_keeps_working(
    tmp_path: Path, start_server, open_page
) -> None:
    write_runs(tmp_path / "logs")
    server = start_server(tmp_path / "logs")
    page = open_page(server.url + "#tab=sql").page
    view = page.locator(".sql-view")
    status = view.locator(".sql-status")
    for sql, reason in [
        ("SELECT * FROM read_csv('/etc/passwd')", "the table function read_csv() is not allowed"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "only SELECT queries run here"),
        ("SELECT nope FROM scalars", "the query failed: Binder Error"),
    ]:
        run_query(page, sql)
        expect(view).to_have_attribute("data-state", "error")
        expect(status).to_contain_text(reason)
        assert "\n" not in status.inner_text()
    snapshot(page, "sql_query_refused")
    run_query(page, "SELECT count(*) AS n FROM scalars")
    expect(view).to_have_attribute("data-state", "done")
    assert view.locator(".sql-table tbody td").inner_text() == "100"
