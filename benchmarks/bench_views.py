"""Issue 5's benchmark: the images, histograms and hparams views, against TensorBoard's.

In headless Chromium (Debian's), with each server's data loaded first (stepscope's
index warm; TensorBoard polled until it lists every run):

* **images**: 5 runs x 100 steps of 64x64 images. From the start of navigation to
  the images tab until every card shows its image (goal: under 1 s).
* **histograms**: one 30-bucket histogram over 500 steps. From navigation until
  the chart is drawn, and the drawing alone (the card's ``data-render-ms``; goal:
  under 0.5 s for the view).
* **hparams**: 1,000 sessions (runs with hyperparameters and a metric). The open
  time of both dashboards, and stepscope's table sort and filter (goal: under
  100 ms each; the view reports each re-render's time in ``data-last-ms``).

TensorBoard's pages are Polymer elements in shadow roots: the driver searches
them every 50 ms for what a person would wait for (images decoded, histogram
paths drawn, the sessions' rows), and stepscope's page is polled the same way.

Usage::

    python benchmarks/bench_views.py [--pages 3] [--skip-tensorboard]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_dashboard import start_stepscope, wait_warm
from tb_peer import CHROMIUM, CHROMIUM_ARGS, free_port, start_tensorboard, stop

# Tall enough that every images card is in view on both pages (both load cards as they show).
VIEWPORT = {"width": 1600, "height": 2400}
IMAGE_RUNS, IMAGE_STEPS, IMAGE_SIDE = 5, 100, 64
HISTOGRAM_STEPS, BUCKETS = 500, 30
SESSIONS = 1000

# Finds elements through shadow roots (TensorBoard's page is made of them).
_DEEP = """
window.__deepAll = (selector) => {
  const found = [];
  const walk = (root) => {
    found.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return found;
};
"""


def write_logdirs(root: str) -> dict[str, str]:
    from stepscope import SummaryWriter

    rng = np.random.default_rng(5)
    images = os.path.join(root, "images")
    for run in range(IMAGE_RUNS):
        with SummaryWriter(os.path.join(images, f"run{run}")) as writer:
            for step in range(IMAGE_STEPS):
                image = rng.integers(0, 255, (3, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
                writer.add_image("samples", image, step)
    histograms = os.path.join(root, "histograms")
    with SummaryWriter(os.path.join(histograms, "run")) as writer:
        for step in range(HISTOGRAM_STEPS):
            writer.add_histogram("weights", rng.normal(step / 100, 1, 2000), step, bins=BUCKETS)
    hparams = os.path.join(root, "hparams")
    optimizers = ["adam", "sgd", "adamw"]
    for i in range(SESSIONS):
        with SummaryWriter(os.path.join(hparams, f"s{i:04d}")) as writer:
            writer.add_hparams(
                {"lr": float(10 ** rng.uniform(-4, -1)), "batch": int(2 ** rng.integers(4, 9)),
                 "optimizer": optimizers[i % 3]},
                {"hparam/accuracy": float(rng.uniform(0.5, 1.0))},
                run_name=".",
            )  # fmt: skip
    return {"images": images, "histograms": histograms, "hparams": hparams}


def run_count(url: str, tensorboard: bool) -> int:
    import json

    path = "data/runs" if tensorboard else "api/runs"
    with urllib.request.urlopen(url + path, timeout=30) as response:
        return len(json.load(response))


def wait_runs(url: str, runs: int, tensorboard: bool, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if run_count(url, tensorboard) >= runs:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not list {runs} runs in time")


def open_seconds(
    browser: Any, url: str, done: str, after: Callable[[Any], Any] | None = None
) -> Any:
    """Seconds from navigation until the JS expression ``done`` holds (polled every 50 ms)."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    context.add_init_script(_DEEP)
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_function(f"() => {done}", timeout=120_000, polling=50)
        seconds = float(page.evaluate("performance.now()")) / 1000
        return (seconds, after(page)) if after else seconds
    finally:
        context.close()


OURS_IMAGES = (
    f"document.querySelectorAll('.image-card[data-state=shown]').length === {IMAGE_RUNS} && "
    "[...document.querySelectorAll('.image-card img')].every(i => i.complete && i.naturalWidth > 0)"
)
TB_IMAGES = (
    "(() => { const imgs = window.__deepAll('img').filter(i => (i.src || '').includes('individualImage')); "
    f"return imgs.length >= {IMAGE_RUNS} && imgs.every(i => i.complete && i.naturalWidth > 0); }})()"
)
OURS_HISTOGRAMS = "document.querySelectorAll('.card[data-state=drawn]').length >= 1"
TB_HISTOGRAMS = (
    "window.__deepAll('vz-histogram-timeseries').some(v => v.shadowRoot && "
    # a drawn step is a path of one point per bucket (axes are short paths)
    "[...v.shadowRoot.querySelectorAll('path')].some(p => (p.getAttribute('d') || '').length > 500))"
)
OURS_HPARAMS = f"document.querySelector('[data-state=ready][data-rows=\"{SESSIONS}\"]') !== null"
# TensorBoard's hparams table: the rows of its session groups (a row per session).
TB_HPARAMS = (
    "window.__deepAll('tf-hparams-table-view').some(v => "
    "window.__deepAll('vaadin-grid-cell-content').length > 20 || "
    "(v.shadowRoot && v.shadowRoot.querySelectorAll('tr, .row').length > 20))"
)


def sort_and_filter(page: Any) -> dict[str, float]:
    """Times stepscope's hparams table re-renders: a sort by a column, then a range filter."""
    root = page.locator("[data-state=ready][data-rows]").first
    times: dict[str, list[float]] = {"sort": [], "filter": []}
    header = page.locator("th", has_text="lr").first
    for _ in range(5):
        header.click()
        page.wait_for_timeout(50)
        times["sort"].append(float(root.get_attribute("data-last-ms") or "nan"))
    box = page.locator("input[data-column='lr'], input[aria-label*='lr']").first
    for text in ["0.001..0.01", ">0.005", "", "0.0001..0.05", ""]:
        box.fill(text)
        page.wait_for_timeout(50)
        times["filter"].append(float(root.get_attribute("data-last-ms") or "nan"))
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Views benchmark (see the module docstring).")
    parser.add_argument("--pages", type=int, default=3, help="page loads per measure (median)")
    parser.add_argument("--skip-tensorboard", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    scratch = tempfile.mkdtemp(prefix="stepscope-bench-views-")
    processes: list[Any] = []
    try:
        started = time.perf_counter()
        logdirs = write_logdirs(scratch)
        print(f"logdirs written in {time.perf_counter() - started:.1f} s under {scratch}")
        ours: dict[str, str] = {}
        peers: dict[str, str] = {}
        for name, logdir in logdirs.items():
            port = free_port()
            process = start_stepscope(logdir, os.path.join(scratch, f"{name}.duckdb"), port)
            processes.append(process)
            ours[name] = f"http://127.0.0.1:{port}/"
            wait_warm(ours[name])
            if not args.skip_tensorboard:
                port = free_port()
                processes.append(start_tensorboard(logdir, port))
                peers[name] = f"http://127.0.0.1:{port}/"
        expected = {"images": IMAGE_RUNS, "histograms": 1, "hparams": SESSIONS}
        for name, url in peers.items():
            wait_runs(url, expected[name], tensorboard=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results: dict[str, dict[str, float]] = {}

            def measure(
                key: str, url: str, done: str, after: Callable[[Any], Any] | None = None
            ) -> list[Any]:
                open_seconds(browser, url, done, after)  # a first load warms both sides' caches
                found = [open_seconds(browser, url, done, after) for _ in range(args.pages)]
                seconds = [f[0] if isinstance(f, tuple) else f for f in found]
                results.setdefault(key, {})["median"] = statistics.median(seconds)
                return found

            measure("images: stepscope", ours["images"] + "#tab=images", OURS_IMAGES)
            hist = measure(
                "histograms: stepscope",
                ours["histograms"] + "#tab=histograms",
                OURS_HISTOGRAMS,
                lambda page: float(
                    page.locator(".card[data-state=drawn]").first.get_attribute("data-render-ms")
                    or "nan"
                ),
            )
            render_ms = statistics.median(h[1] for h in hist)
            hp = measure(
                "hparams: stepscope",
                ours["hparams"] + "#tab=hparams",
                OURS_HPARAMS,
                sort_and_filter,
            )
            table = {k: statistics.median(h[1][k] for h in hp) for k in ("sort", "filter")}
            tb_pages = (
                ("images", TB_IMAGES),
                ("histograms", TB_HISTOGRAMS),
                ("hparams", TB_HPARAMS),
            )
            for view, done in tb_pages:
                if view not in peers:
                    continue
                try:
                    measure(f"{view}: TensorBoard", peers[view] + "#" + view, done)
                except Exception as error:  # a page that never shows what we wait for
                    print(f"TensorBoard's {view} page did not finish: {str(error).splitlines()[0]}")
            browser.close()
    finally:
        for process in processes:
            if (
                isinstance(process, subprocess.Popen)
                and process.args
                and "tensorboard.main" in process.args
            ):
                stop(process)
            else:
                process.terminate()
                process.wait()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nmedian of {args.pages} page loads after one warm-up (seconds from navigation):")
    for key, value in results.items():
        print(f"  {key:26s} {value['median']:.3f} s")
    print(f"  histograms: drawing alone  {render_ms:.1f} ms (goal: view under 500 ms)")
    print(
        f"  hparams table, {SESSIONS} sessions: sort {table['sort']:.1f} ms, filter {table['filter']:.1f} ms (goal: 100 ms)"
    )
    goals = {"images": 1.0, "histograms": 0.5}
    for view in ("images", "histograms", "hparams"):
        mine = results[f"{view}: stepscope"]["median"]
        goal = (
            f" (goal {goals[view]} s: {'met' if mine < goals[view] else 'MISSED'})"
            if view in goals
            else ""
        )
        peer = results.get(f"{view}: TensorBoard")
        ratio = f", TensorBoard / stepscope = {peer['median'] / mine:.1f}x" if peer else ""
        print(f"{view}: stepscope {mine:.3f} s{goal}{ratio}")


if __name__ == "__main__":
    main()
