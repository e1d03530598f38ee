"""Run colours (issue 14, bug 3): stable for a run's lifetime, distinct, and picked by a person.

torch's own SummaryWriter writes runs one by one while the page is open
(in a process of its own, told by a line on its stdin when to write the
next). Each time, the test reads every run's swatch in the run selector and
the chart's pixels: no run that was there changes colour, no two runs share
one, and each line is drawn in its run's colour. A reload keeps them; a
colour picked in the run selector recolours the run's line, and is kept.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_support import Server, Tab, card, drawn_card, pixels_of, rgb_of, run_row, snapshot
from playwright.sync_api import Locator, Page, expect

OpenPage = Callable[[str], Tab]
StartServer = Callable[[Path], Server]

TORCH_RUNS = """
import sys
from torch.utils.tensorboard import SummaryWriter

root = sys.argv[1]
print("ready", flush=True)
for line in sys.stdin:
    run, offset = line.split()
    writer = SummaryWriter(f"{root}/{run}")
    for step in range(30):
        writer.add_scalar("loss", float(offset) + step * 0.02, step)
    writer.close()
    print("wrote", run, flush=True)
"""

# Each new run sorts before the ones there: colours given in name order would move
# (those of FNV-1a hashes of the names, spread in name order, did: four times).
RUNS = [
    "sophia", "sgd", "rmsprop", "radam", "nadam", "momentum",
    "lion", "lamb", "ftrl", "adamw", "adam", "adagrad",
]  # fmt: skip
PICKED = (0, 192, 0)


class TorchRuns:
    """torch's writer in a process of its own, writing the run it is told to."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", TORCH_RUNS, str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line, f"torch's writer stopped (exit code {self.process.poll()})"
        return line

    def write(self, run: str, offset: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{run} {offset}\n")
        self.process.stdin.flush()
        assert self._line() == f"wrote {run}"

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def torch_runs(tmp_path: Path) -> Iterator[TorchRuns]:
    writer = TorchRuns(tmp_path / "logs")
    try:
        yield writer
    finally:
        writer.close()


def swatches(page: Page, runs: list[str]) -> dict[str, tuple[int, int, int]]:
    return {
        run: rgb_of(
            run_row(page, run)
            .locator(".swatch")
            .evaluate("e => getComputedStyle(e).backgroundColor")
        )
        for run in runs
    }


def canvas_png(chart: Locator) -> bytes:
    chart.page.mouse.move(1, 1)  # no cursor, no tooltip
    expect(chart.locator(".tooltip")).to_be_hidden()
    return chart.locator(".uplot canvas").screenshot()


def assert_lines_in(chart: Locator, colours: dict[str, tuple[int, int, int]]) -> None:
    png = canvas_png(chart)
    for run, colour in colours.items():
        assert pixels_of(png, colour, tolerance=16) > 60, f"no line of {run} in {colour}"


def test_run_colours_stay_as_runs_appear_and_after_a_reload_and_can_be_picked(
    tmp_path: Path, torch_runs: TorchRuns, start_server: StartServer, open_page: OpenPage
) -> None:
    torch_runs.write(RUNS[0], 0.0)
    server = start_server(tmp_path / "logs")
    # No smoothing: each line is drawn once, in its run's colour (no faint raw line).
    page = open_page(server.url + "#smoothing=0").page
    expect(page.locator(".run-count")).to_have_text("1 of 1 shown", timeout=15_000)
    chart = drawn_card(card(page, "loss"))
    seen = swatches(page, RUNS[:1])

    for count, run in enumerate(RUNS[1:], start=2):
        torch_runs.write(run, (count - 1) * 0.5)
        expect(page.locator(".run-count")).to_have_text(f"{count} of {count} shown", timeout=10_000)
        expect(chart).to_have_attribute("data-runs", str(count), timeout=10_000)
        now = swatches(page, RUNS[:count])
        changed = {r: (seen[r], now[r]) for r in seen if now[r] != seen[r]}
        assert not changed, f"after {run} appeared, these runs changed colour: {changed}"
        assert len(set(now.values())) == count, f"runs share a colour: {now}"
        seen = now
    assert_lines_in(chart, seen)
    snapshot(page, "workspace_colors_twelve_runs")

    page.reload()
    expect(page.locator(".run-count")).to_have_text(f"{len(RUNS)} of {len(RUNS)} shown")
    assert swatches(page, RUNS) == seen, "a reload changed the runs' colours"
    chart = drawn_card(card(page, "loss"))
    assert_lines_in(chart, seen)

    # A colour picked in the run selector: the run's line takes it, the old one is gone.
    old = seen[RUNS[3]]
    run_row(page, RUNS[3]).locator(".swatch").click()  # opens the picker, under the swatch
    expect(run_row(page, RUNS[3]).locator("input[type=checkbox]")).to_be_checked()
    page.locator("#run-color-picker").fill("#00c000")
    expect(run_row(page, RUNS[3]).locator(".swatch")).to_have_css(
        "background-color", "rgb(0, 192, 0)"
    )
    page.wait_for_function(
        "el => el.dataset.state === 'drawn'", arg=chart.element_handle(), timeout=5_000
    )
    png = canvas_png(chart)
    assert pixels_of(png, PICKED, tolerance=16) > 60, "the picked colour is not on the chart"
    assert pixels_of(png, old, tolerance=4) == 0, "the run's old colour is still drawn"
    others = {r: c for r, c in seen.items() if r != RUNS[3]}
    assert_lines_in(chart, others)
    snapshot(page, "workspace_colors_picked")
    # Kept: after a reload, and when one more run appears.
    page.reload()
    expect(run_row(page, RUNS[3]).locator(".swatch")).to_have_css(
        "background-color", "rgb(0, 192, 0)", timeout=15_000
    )
    torch_runs.write("aaa", 9.0)
    expect(page.locator(".run-count")).to_have_text(f"{len(RUNS) + 1} of {len(RUNS) + 1} shown")
    now = swatches(page, [*RUNS, "aaa"])
    assert {r: now[r] for r in RUNS} == {**seen, RUNS[3]: PICKED}
    assert now["aaa"] not in {**seen, RUNS[3]: PICKED}.values()
