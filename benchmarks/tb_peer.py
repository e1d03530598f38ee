"""TensorBoard's side of the dashboard benchmark: its server, its multi-run API and its page.

* ``start_tensorboard`` / ``wait_until_loaded`` / ``stop``: TensorBoard with its Rust
  data server (``--load_fast=true``), polled over HTTP until the logdir is read.
* ``multirun_seconds``: one tag across many runs from ``/data/plugin/scalars/scalars_multirun``
  (the request the scalars dashboard makes for each chart).
* ``page_seconds``: the scalars dashboard (``/#scalars``) in Chromium, from the start of
  navigation until ``charts`` charts have every line drawn.

What the page measure does, from TensorBoard 2.21's page:

* With more than 40 runs the dashboard selects none (``maxNamesToEnableByDefault``) and draws
  no line, so the driver clicks "Toggle All Runs" as soon as the run list is filled.
* Tag groups after the first two start collapsed (``_shouldOpen(index)`` is ``index <= 2``,
  index 0 being the hidden search-results pane); the driver clicks the headings of collapsed
  groups, in order, until enough cards are shown. Both clicks are in the measured time.
* A chart counts as drawn when its ``vz-line-chart2`` no longer has the ``data-loading``
  attribute (set while its ``scalars_multirun`` requests are in flight; the chart is dimmed
  and a spinner shown) and its Plottable line plot (SVG, ``.line-plot:not(.ghost)``) holds a
  non-empty ``path.line`` for every run that has the tag. The paths exist, empty, from the
  start, and the loader commits all the data at once when the last request returns, so this
  only holds once the lines are in the DOM. The clock stops two animation frames later, when
  the frame holding them has been rastered.
* The driver runs in the page (an init script) and checks once per animation frame; its own
  time is reported (``poll_ms``) and is a small part of the total.

Usage::

    python benchmarks/tb_peer.py LOGDIR --runs 50 --tags 20 --last-step 4999
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import IO, Any

import psutil

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1920, "height": 2200}

# Runs in the page from its first script on; reports in window.__tbpeer.
_DRIVER_JS = """
(() => {
  if (window !== window.top) return;
  const cfg = window.__tbpeerConfig;
  const state = (window.__tbpeer = {
    done: null, detected: null, drawn: 0, toggles: 0, expanded: [], marks: {},
    frames: 0, pollMs: 0, error: null,
  });
  const mark = (name) => {
    if (!(name in state.marks)) state.marks[name] = Math.round(performance.now());
  };
  let dashboard = null;

  const deepFind = (root, selector) => {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      const found = el.shadowRoot && deepFind(el.shadowRoot, selector);
      if (found) return found;
    }
    return null;
  };

  const selectAllRuns = (root) => {
    const selector = root.querySelector('tf-runs-selector');
    const checkbox = selector && selector.shadowRoot && selector.shadowRoot.querySelector(
      'tf-multi-checkbox');
    if (!checkbox || !checkbox.names || checkbox.names.length === 0) return;
    // toggleAll() selects all when none is selected, else clears: two clicks at most.
    if (checkbox.outSelected.length < checkbox.names.length && state.toggles < 2) {
      selector.shadowRoot.querySelector('#toggle-all').click();
      state.toggles += 1;
      mark('toggle_all');
    }
  };

  const expandGroups = (root) => {
    const groups = [...root.querySelectorAll('tf-category-paginated-view')].filter(
      (view) => !view._isSearchResults && view.category && view.category.items.length > 0);
    const shown = (view) => Math.min(view.category.items.length, view._limit || 12);
    let cards = groups.filter((view) => view.opened).reduce((n, view) => n + shown(view), 0);
    for (const view of groups) {
      if (cards >= cfg.charts) break;
      const heading = !view.opened && view.shadowRoot &&
        view.shadowRoot.querySelector('button.heading');
      if (!heading) continue;
      heading.click();
      state.expanded.push(view.category.name);
      mark('expand');
      cards += shown(view);
    }
  };

  const isDrawn = (card) => {
    const loader = card.shadowRoot && card.shadowRoot.querySelector('tf-line-chart-data-loader');
    const chart = loader && loader.shadowRoot && loader.shadowRoot.querySelector('vz-line-chart2');
    if (!chart || !chart.shadowRoot || chart.hasAttribute('data-loading')) return false;
    const lines = chart.shadowRoot.querySelectorAll('.line-plot:not(.ghost) path.line');
    let drawn = 0;
    for (const line of lines) if (line.getAttribute('d')) drawn += 1;
    return drawn > 0 && drawn >= (cfg.lines[card.tag] || 1);
  };

  const check = () => {
    if (!dashboard) {
      dashboard = document.querySelector('tf-scalar-dashboard');
      if (!dashboard && state.frames % 10 === 0) {
        dashboard = deepFind(document, 'tf-scalar-dashboard');
      }
    }
    const root = dashboard && dashboard.shadowRoot;
    if (!root) return false;
    mark('dashboard');
    selectAllRuns(root);
    expandGroups(root);
    const cards = root.querySelectorAll('tf-scalar-card');
    if (cards.length >= cfg.charts) mark('cards');
    let drawn = 0;
    for (const card of cards) if (isDrawn(card)) drawn += 1;
    if (drawn > 0) mark('first_drawn');
    state.drawn = drawn;
    return drawn >= cfg.charts;
  };

  const tick = () => {
    const start = performance.now();
    state.frames += 1;
    try {
      if (check()) {
        // The lines are in the DOM; two frames on, the frame holding them has been rastered.
        state.detected = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() => {
          state.done = performance.now();
        }));
        return;
      }
    } catch (error) {
      state.error = String(error);
    }
    state.pollMs += performance.now() - start;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_tensorboard(
    logdir: str, port: int, log: str | None = None, extra_args: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start TensorBoard with its Rust data server on 127.0.0.1:``port``."""
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--load_fast=true", *(extra_args or [])]
    out: IO[bytes] | int = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    finally:
        if not isinstance(out, int):
            out.close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop TensorBoard and the data server it started."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def _get_json(port: int, path: str, data: bytes | None = None, timeout: float = 30) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", data, timeout=timeout) as r:
        return json.loads(r.read())


def _multirun_body(tag: str, runs: list[str]) -> bytes:
    return urllib.parse.urlencode([("tag", tag), *(("runs", run) for run in runs)]).encode()


def scalar_tags(port: int) -> dict[str, list[str]]:
    """TensorBoard's scalar index: run -> tags."""
    index = _get_json(port, "/data/plugin/scalars/tags")
    return {run: sorted(tags) for run, tags in index.items() if tags}


def wait_until_loaded(
    port: int,
    expected_runs: int,
    timeout: float,
    expected_tags: int | None = None,
    last_step: int | None = None,
    poll: float = 0.2,
) -> float:
    """Poll until ``expected_runs`` runs with scalars are listed, with their tags; seconds waited.

    ``expected_tags``: tags each run must list; without it the index must stay the same for
    two seconds. ``last_step``: every series must also reach this step (read to the end).
    """
    start = time.monotonic()
    done_tags: set[str] = set()
    previous: dict[str, list[str]] | None = None
    stable_since = start
    while True:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"TensorBoard on port {port} not loaded after {timeout} s")
        try:
            runs = set(_get_json(port, "/data/runs"))
            index = scalar_tags(port)
        except (OSError, ValueError):  # not listening yet
            time.sleep(poll)
            continue
        now = time.monotonic()
        if index != previous:
            previous, stable_since = index, now
        ready = len(index) >= expected_runs and set(index) <= runs
        if expected_tags is None:
            ready = ready and now - stable_since >= 2.0
        else:
            ready = ready and all(len(tags) >= expected_tags for tags in index.values())
        if ready and last_step is not None:
            for tag in sorted({tag for tags in index.values() for tag in tags} - done_tags):
                holders = [run for run, tags in index.items() if tag in tags]
                series = _get_json(
                    port, "/data/plugin/scalars/scalars_multirun", _multirun_body(tag, holders)
                )
                if any(not series.get(run) or series[run][-1][1] < last_step for run in holders):
                    ready = False
                    break
                done_tags.add(tag)
        if ready:
            return time.monotonic() - start
        time.sleep(poll)


def multirun_seconds(port: int, tag: str, runs: list[str], repeats: int = 5) -> tuple[float, int]:
    """Best time of one ``scalars_multirun`` request and the fewest points a run got.

    The time covers the request and reading the whole response, not decoding its JSON.
    """
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars_multirun"
    body = _multirun_body(tag, runs)
    best = float("inf")
    payload = b""
    for _ in range(repeats):
        start = time.perf_counter()
        with urllib.request.urlopen(url, body, timeout=120) as response:
            payload = response.read()
        best = min(best, time.perf_counter() - start)
    series = json.loads(payload)
    return best, min((len(series.get(run, [])) for run in runs), default=0)


def _chromium_cpu(system: Any) -> dict[str, float]:
    """CPU seconds so far of the browser's processes, summed by type."""
    totals: dict[str, float] = {}
    for process in system.send("SystemInfo.getProcessInfo")["processInfo"]:
        totals[process["type"]] = totals.get(process["type"], 0.0) + process["cpuTime"]
    return totals


def page_load(browser: Any, base_url: str, charts: int = 20, timeout: float = 60) -> dict[str, Any]:
    """Load ``/#scalars`` until ``charts`` charts are drawn; the figures of that load.

    Keys: ``seconds`` (from navigation, page clock; two frames after ``dom_seconds``, when the
    lines were found in the DOM), ``drawn``, ``toggles`` and ``expanded`` (the clicks made),
    ``marks_ms`` (when the dashboard, the clicks, all the cards and a first drawn chart came),
    ``frames`` and ``poll_ms`` (the driver's own cost, inside ``seconds``), ``task_ms`` /
    ``script_ms`` / ``layout_ms`` (renderer main-thread time, from CDP) and ``cpu_s`` (CPU
    seconds of Chromium's processes by type: renderer, GPU, browser...).
    """
    port = urllib.parse.urlsplit(base_url).port or 80
    lines: dict[str, int] = {}
    for tags in scalar_tags(port).values():
        for tag in tags:
            lines[tag] = lines.get(tag, 0) + 1
    config = json.dumps({"charts": charts, "lines": lines})
    system = browser.new_browser_cdp_session()
    cpu_before = _chromium_cpu(system)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.add_init_script(script=f"window.__tbpeerConfig = {config};\n{_DRIVER_JS}")
        page.goto(base_url.rstrip("/") + "/#scalars")
        try:
            page.wait_for_function(
                "() => window.__tbpeer && window.__tbpeer.done !== null",
                timeout=timeout * 1000,
                polling=100,
            )
        except Exception as error:
            state = page.evaluate("() => JSON.stringify(window.__tbpeer || null)")
            raise TimeoutError(f"{charts} charts not drawn in {timeout} s: {state}") from error
        state = page.evaluate("() => window.__tbpeer")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        cpu = _chromium_cpu(system)
    finally:
        context.close()
        system.detach()
    layout = metrics.get("LayoutDuration", 0.0) + metrics.get("RecalcStyleDuration", 0.0)
    return {
        "seconds": state["done"] / 1000.0,
        "dom_seconds": state["detected"] / 1000.0,
        "drawn": state["drawn"],
        "toggles": state["toggles"],
        "expanded": state["expanded"],
        "marks_ms": state["marks"],
        "frames": state["frames"],
        "poll_ms": state["pollMs"],
        "cpu_s": {kind: cpu[kind] - cpu_before.get(kind, 0.0) for kind in cpu},
        "task_ms": metrics.get("TaskDuration", 0.0) * 1000,
        "script_ms": metrics.get("ScriptDuration", 0.0) * 1000,
        "layout_ms": layout * 1000,
    }


def page_seconds(browser: Any, base_url: str, charts: int = 20, timeout: float = 60) -> float:
    """Seconds from navigation to ``charts`` scalar charts drawn with every run's line.

    ``browser`` is a Playwright sync ``Browser``; each call uses a fresh context (cold cache,
    no stored run selection). Runs are all selected and groups expanded as described above.
    """
    return float(page_load(browser, base_url, charts, timeout)["seconds"])


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("logdir")
    parser.add_argument("--runs", type=int, default=50, help="runs holding scalars")
    parser.add_argument("--tags", type=int, default=None, help="scalar tags per run")
    parser.add_argument("--last-step", type=int, default=None, help="last step of every series")
    parser.add_argument("--tag", default=None, help="tag for the API timing (default: first)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--page-repeats", type=int, default=3)
    parser.add_argument("--charts", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600, help="for the logdir to load")
    parser.add_argument("--page-timeout", type=float, default=120)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_tensorboard(args.logdir, port)
    try:
        loaded = wait_until_loaded(port, args.runs, args.timeout, args.tags, args.last_step)
        print(f"TensorBoard (load_fast=true) loaded the logdir in {loaded:.2f} s")
        index = scalar_tags(port)
        runs = sorted(index)
        tag = args.tag or sorted({t for tags in index.values() for t in tags})[0]
        seconds, points = multirun_seconds(port, tag, runs, args.repeats)
        print(
            f"scalars_multirun {tag!r} x {len(runs)} runs: {seconds * 1000:.1f} ms best "
            f"of {args.repeats}, {points} points per run"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                loads = [
                    page_load(browser, f"http://127.0.0.1:{port}", args.charts, args.page_timeout)
                    for _ in range(args.page_repeats)
                ]
            finally:
                browser.close()
        times = [load["seconds"] for load in loads]
        print(
            f"#scalars page, {args.charts} charts drawn: best {min(times):.2f} s, median "
            f"{statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})"
        )
        for load in loads:
            print(
                f"  {load['seconds']:.2f} s: renderer main thread {load['task_ms']:.0f} ms "
                f"(script {load['script_ms']:.0f}, style+layout {load['layout_ms']:.0f}), "
                f"driver {load['poll_ms']:.0f} ms over {load['frames']} frames, "
                f"clicked toggle-all x{load['toggles']}, expanded {load['expanded']}, "
                f"marks (ms) {load['marks_ms']}, Chromium CPU "
                + ", ".join(f"{k} {v:.1f} s" for k, v in load["cpu_s"].items() if v >= 0.05)
            )
    finally:
        stop(proc)


if __name__ == "__main__":
    _main()
