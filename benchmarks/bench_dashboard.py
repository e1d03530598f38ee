"""Dashboard benchmark: stepscope's page and API against TensorBoard's, on one logdir, in one run.

On the ingestion benchmark's logdir (50 runs x 20 tags x 5,000 steps by
default, written by torch's writer; see ingest_data.py) with stepscope's
index warm and TensorBoard's Rust data server (``--load_fast=true``) fully
loaded, it measures:

* **API, one tag for all 50 runs**: stepscope's ``POST /api/scalars``
  downsampled to 1,000 points per run (what a chart of 500 px asks for),
  in the page's binary form and in JSON, the first request after start
  and the best of five; TensorBoard's ``scalars_multirun`` (its own
  1,000-point sample per run), best of five.
* The server reads every scalar series into memory right after it starts
  (when they fit in its 1 GiB cache); the time that takes is printed, and
  the measures start after it.
* **Page, 20 charts drawn**: headless Chromium (Debian's), a 1920x2200
  viewport, from the start of navigation until 20 charts have drawn their
  lines (stepscope: cards with ``data-state=drawn``, set by the chart's draw
  hook; TensorBoard: the 20 cards' SVG lines filled, after its driver opened
  the collapsed groups and checked all 50 runs (TensorBoard checks none
  beyond 40); see ``tb_peer.page_load``). Three fresh pages each; the median
  is reported.

Usage::

    python benchmarks/bench_dashboard.py [--cache /tmp/stepscope-bench] [--skip-tensorboard]

* **Query box** (issue 14): ``SELECT run, min(value) ... GROUP BY run`` over
  every point, through ``POST /api/plugins/sql/query``, first and best of five.

Goals (issue 4): 20 charts within 1.5 s; one tag for 50 runs in under 100 ms.
* **Run group** (issue 14): all runs of one tag as one group's mean and
  ±1 std band, 1,000 points, the request's time (the server's computation
  and the answer), first, best and median of five.

Goals (issue 14): the query in under 200 ms; the group in under 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ingest_data import ensure_logdir
from tb_peer import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, free_port


def start_stepscope(logdir: str, index: str, port: int) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "stepscope", "--logdir", logdir, "--port", str(port), "--index", index,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if "stepscope is serving" in line:
            break
    else:
        raise RuntimeError(f"stepscope did not start (exit {process.wait()})")
    stdout = process.stdout
    threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
    return process


def wait_warm(base: str, timeout: float = 600) -> float:
    """Seconds until the server has read the scalars into memory (``warming`` in /api/status)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with urllib.request.urlopen(base + "api/status", timeout=10) as response:
            if json.load(response).get("warming") is False:
                return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("stepscope did not finish preloading its scalars")


def post(url: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def time_api(base: str, tag: str, runs: list[str], fmt: str) -> dict[str, float]:
    body = {"tag": tag, "runs": runs, "max_points": 1000, "format": fmt}
    times = []
    size = 0
    for _ in range(6):
        started = time.perf_counter()
        size = len(post(base + "api/scalars", body))
        times.append(time.perf_counter() - started)
    return {"first": times[0], "best": min(times[1:]), "bytes": size}


QUERY = "SELECT run, min(value) AS best FROM scalars GROUP BY run ORDER BY run"


def time_query(base: str, sql: str = QUERY) -> dict[str, float]:
    """The query box over the whole index: the request's time, and DuckDB's as the server saw it."""
    times, server = [], []
    for _ in range(6):
        started = time.perf_counter()
        answer = json.loads(post(base + "api/plugins/sql/query", {"sql": sql}))
        times.append(time.perf_counter() - started)
        server.append(float(answer["seconds"]))
    return {"first": times[0], "best": min(times[1:]), "server best": min(server[1:])}


def time_group(base: str, tag: str, runs: list[str]) -> dict[str, float]:
    """One group of every run drawn as mean and band: ``POST /api/plugins/scalars/groups``."""
    body = {
        "tag": tag,
        "groups": [{"name": "all", "runs": runs}],
        "band": "std",
        "max_points": 1000,
        "format": "binary",
    }
    times = []
    for _ in range(6):
        started = time.perf_counter()
        post(base + "api/plugins/scalars/groups", body)
        times.append(time.perf_counter() - started)
    return {"first": times[0], "best": min(times[1:]), "median": statistics.median(times[1:])}


def time_page(browser: Any, url: str, charts: int = 20, legend: bool = False) -> float:
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    if legend:  # the charts' legend toggle, as a person who turned it on finds it
        context.add_init_script("localStorage.setItem('stepscope.chartLegend', '1')")
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_function(
            f"() => document.querySelectorAll('.card[data-state=drawn]').length >= {charts}",
            timeout=60_000,
            polling="raf",
        )
        return float(page.evaluate("performance.now()")) / 1000
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Dashboard benchmark (see the module docstring).")
    parser.add_argument("--cache", default="/tmp/stepscope-bench")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--media-runs", type=int, default=5)
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--skip-tensorboard", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    logdir = ensure_logdir(args.cache, args.runs, args.tags, args.steps, args.media_runs)
    runs = [f"run{i:03d}" for i in range(args.runs)]
    tag = "group0/metric00"
    print(f"logdir: {logdir} ({args.runs} runs x {args.tags} tags x {args.steps} steps)")
    scratch = tempfile.mkdtemp(prefix="stepscope-bench-dashboard-")
    index = os.path.join(scratch, "index.duckdb")
    results: dict[str, Any] = {}
    processes: list[subprocess.Popen[Any]] = []
    tb_processes: list[subprocess.Popen[bytes]] = []
    try:
        # Warm stepscope's index (a first start reads the logdir; the measured one reads nothing).
        warm = start_stepscope(logdir, index, free_port())
        warm.terminate()
        warm.wait()
        port = free_port()
        processes.append(start_stepscope(logdir, index, port))
        base = f"http://127.0.0.1:{port}/"
        results["stepscope preload"] = wait_warm(base)
        print(f"stepscope read the scalars into memory in {results['stepscope preload']:.2f} s")
        results["stepscope API binary"] = time_api(base, tag, runs, "binary")
        results["stepscope API json"] = time_api(base, tag, runs, "json")
        print("stepscope API:", results["stepscope API binary"], results["stepscope API json"])
        results["stepscope query"] = time_query(base)
        results["stepscope group"] = time_group(base, tag, runs)
        print("stepscope query:", results["stepscope query"], "group:", results["stepscope group"])

        tb_port = None
        if not args.skip_tensorboard:
            import tb_peer

            tb_port = free_port()
            tb = tb_peer.start_tensorboard(logdir, tb_port)
            tb_processes.append(tb)
            # Every run's every tag read to its last step: TensorBoard has loaded it all.
            tb_peer.wait_until_loaded(
                tb_port, args.runs, 1800, expected_tags=args.tags, last_step=args.steps - 1
            )
            best, points = tb_peer.multirun_seconds(tb_port, tag, runs)
            results["TensorBoard API"] = {"best": best, "points_per_run": points}
            print("TensorBoard API:", results["TensorBoard API"])

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ours = [time_page(browser, base) for _ in range(args.pages)]
                results["stepscope page"] = {"median": statistics.median(ours), "all": ours}
                print("stepscope page:", results["stepscope page"])
                legend = [time_page(browser, base, legend=True) for _ in range(args.pages)]
                results["stepscope page, legend"] = {
                    "median": statistics.median(legend),
                    "all": legend,
                }
                print("stepscope page with legends:", results["stepscope page, legend"])
                if tb_port is not None:
                    import tb_peer

                    theirs = [
                        tb_peer.page_seconds(browser, f"http://127.0.0.1:{tb_port}", timeout=300)
                        for _ in range(args.pages)
                    ]
                    results["TensorBoard page"] = {
                        "median": statistics.median(theirs),
                        "all": theirs,
                    }
                    print("TensorBoard page:", results["TensorBoard page"])
            finally:
                browser.close()
    finally:
        if tb_processes:
            import tb_peer

            for tb in tb_processes:
                tb_peer.stop(tb)
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    api = results["stepscope API binary"]
    page = results["stepscope page"]["median"]
    print()
    print(f"one tag x {args.runs} runs, 1,000 points each:")
    print(
        f"  stepscope (binary)  first {api['first'] * 1000:7.1f} ms   best {api['best'] * 1000:7.1f} ms   goal < 100 ms"
    )
    js = results["stepscope API json"]
    print(
        f"  stepscope (JSON)    first {js['first'] * 1000:7.1f} ms   best {js['best'] * 1000:7.1f} ms"
    )
    if "TensorBoard API" in results:
        theirs = results["TensorBoard API"]["best"]
        print(f"  TensorBoard                          best {theirs * 1000:7.1f} ms   "
              f"(stepscope binary {theirs / api['best']:.1f}x faster)")  # fmt: skip
    query = results["stepscope query"]
    print(f"query box, {QUERY!r} over {args.runs * args.tags * args.steps:,} points:")
    print(
        f"  stepscope  first {query['first'] * 1000:7.1f} ms   best {query['best'] * 1000:7.1f} ms"
        f"   (DuckDB {query['server best'] * 1000:.1f} ms)   goal < 200 ms"
    )
    group = results["stepscope group"]
    print(f"a group of {args.runs} runs x {args.steps:,} steps as mean and band (request time):")
    print(
        f"  stepscope  first {group['first'] * 1000:7.1f} ms   best {group['best'] * 1000:7.1f} ms"
        f"   median {group['median'] * 1000:.1f} ms   goal < 100 ms"
    )
    print("20 charts drawn after navigation (median of fresh pages):")
    print(f"  stepscope    {page:6.2f} s   goal <= 1.5 s")
    with_legend = results["stepscope page, legend"]["median"]
    print(f"  stepscope, grid and legends on  {with_legend:6.2f} s   goal <= 1.5 s")
    if "TensorBoard page" in results:
        theirs = results["TensorBoard page"]["median"]
        print(f"  TensorBoard  {theirs:6.2f} s   (stepscope {theirs / page:.1f}x faster)")


if __name__ == "__main__":
    main()
