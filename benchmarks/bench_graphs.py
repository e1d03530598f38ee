"""Issue 15's benchmark: the Graphs view against TensorBoard's Graphs tab, on the same event files.

Three graphs, made here:

* **resnet50**: a ResNet-50-like CNN (bottleneck blocks 3, 4, 6, 3), traced by
  torch's ``SummaryWriter.add_graph``;
* **transformer24**: a 24-layer Transformer encoder, traced the same way;
* **synthetic20k**: about 20,000 ops in 200 scopes (10 stages of 19 blocks of
  105 ops, chains with skips), a ``GraphDef`` built from stepscope's protos.

Each graph is a logdir of one run, served by stepscope and by TensorBoard in
turn, and opened in headless Chromium (Debian's) with a fresh context each
time. In the page's clock, from the start of navigation:

* **first draw**: until the graph is drawn (stepscope: the view's
  ``data-state`` turns ``drawn``, set by the frame that drew the scene;
  TensorBoard: its scene holds a node, ``g.node`` in its SVG);
* **expand**: a double-click on the largest closed group drawn, until the
  frame showing its contents (TensorBoard: until more nodes are in its SVG);
* **longest task**: the longest main-thread task seen (``PerformanceObserver``,
  ``longtask``) while loading, and while expanding;
* **full expansion** (stepscope, synthetic20k): every group opened at once,
  laid out in the worker, until drawn; the longest main-thread task meanwhile.

Goals: first draw under 1 s each; expanding a group under 300 ms; the full
expansion of the 20,000-node graph with no main-thread task over 100 ms.

Usage::

    python benchmarks/bench_graphs.py [--repeats 3] [--skip-tensorboard] [--keep DIR]

(``STEPSCOPE_WEB_DIST=DIR`` serves another build of the page, as everywhere.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_dashboard import start_stepscope
from tb_peer import CHROMIUM, CHROMIUM_ARGS, free_port, start_tensorboard, stop

VIEWPORT = {"width": 1600, "height": 1000}
HOOK = "document.querySelector('.graphs-view').graphTest"

# In the page from its first script on: long tasks, double-clicks, and when the graph is drawn.
_PROBE_JS = """
(() => {
  if (window !== window.top) return;
  const state = (window.__bench = { longtasks: [], clicks: [], drawn: [], nodes: [] });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) state.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  document.addEventListener("dblclick", () => state.clicks.push(performance.now()), true);
  const deepCount = (selector) => {
    let n = 0;
    const walk = (root) => {
      n += root.querySelectorAll(selector).length;
      for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return n;
  };
  let last = "";
  let lastNodes = 0;
  let frame = 0;
  const tick = () => {
    frame++;
    const view = document.querySelector(".graphs-view");
    if (view) {
      const now = view.dataset.state + "|" + (view.dataset.items || "");
      if (now !== last && view.dataset.state === "drawn") state.drawn.push([performance.now(), Number(view.dataset.items)]);
      last = now;
    } else if (frame % 4 === 0) {
      // TensorBoard's nodes are SVG groups in shadow roots: a walk every 4th frame.
      const nodes = deepCount("g.node");
      if (nodes !== lastNodes) state.nodes.push([performance.now(), nodes]);
      lastNodes = nodes;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

_TB_META = """
() => {
  const found = [];
  const walk = (root) => {
    found.push(...root.querySelectorAll("g.node.meta"));
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  const boxes = found
    .map((g) => { const shape = g.querySelector(".nodeshape") || g; const r = shape.getBoundingClientRect();
                  return { name: g.getAttribute("data-name") || "", x: r.x, y: r.y, w: r.width, h: r.height }; })
    .filter((b) => b.w > 4 && b.h > 4 && b.x >= 0 && b.y >= 0 && b.x + b.w <= innerWidth && b.y + b.h <= innerHeight);
  boxes.sort((a, b) => b.w * b.h - a.w * a.h);
  return boxes;
}
"""


# -- the graphs ------------------------------------------------------------------------


def resnet50() -> Any:
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or inplanes != planes * 4:
                self.downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * 4),
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet50(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            inplanes = 64
            stages = []
            for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
                layers = [Bottleneck(inplanes, planes, stride)]
                inplanes = planes * 4
                layers += [Bottleneck(inplanes, planes) for _ in range(blocks - 1)]
                stages.append(nn.Sequential(*layers))
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(2048, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet50().eval(), torch.rand(1, 3, 64, 64)


def transformer24() -> Any:
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(32, 64)
            layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 24, enable_nested_tensor=False)
            self.head = nn.Linear(64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.encoder(self.embed(x)))

    return Encoder().eval(), torch.rand(2, 16, 32)


def synthetic(stages: int = 10, blocks: int = 19, ops: int = 105) -> Any:
    """About 20,000 ops in 200 scopes: each block a chain with skips, blocks in a chain."""
    from stepscope.proto import graph_pb2

    rng = random.Random(0)
    kinds = ["Conv2D", "BiasAdd", "Relu", "Add", "MatMul", "Mul", "Sigmoid", "Tanh"]

    def node(name: str, op: str, inputs: list[str]) -> Any:
        found = graph_pb2.NodeDef(name=name, op=op, input=inputs)
        dims = found.attr["_output_shapes"].list.shape.add().dim
        for size in (8, 64):
            dims.add(size=size)
        return found

    graph = graph_pb2.GraphDef(node=[node("input", "Placeholder", [])])
    previous = "input"
    for s in range(stages):
        for b in range(blocks):
            names: list[str] = []
            for k in range(ops):
                inputs = [names[-1] if names else previous]
                if k >= 4 and rng.random() < 0.2:
                    inputs.append(names[-rng.randint(2, 4)])
                names.append(f"net/stage{s}/block{b}/op{k}")
                graph.node.append(node(names[-1], rng.choice(kinds), inputs))
            previous = names[-1]
    return graph


def write_logdirs(root: Path) -> dict[str, Path]:
    """A logdir of one run per graph."""
    import torch
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    from stepscope import SummaryWriter
    from stepscope.plugins.graphs.summary import graph_event
    from stepscope.writer.encoding import message_event

    # The fast path's trace differs between torch's two check runs of a Transformer.
    torch.backends.mha.set_fastpath_enabled(False)
    found = {}
    for name, make in (("resnet50", resnet50), ("transformer24", transformer24)):
        logdir = found[name] = root / name
        if not logdir.exists():  # --keep: made by an earlier run
            writer = TorchWriter(str(logdir / name))
            writer.add_graph(*make())
            writer.close()
    logdir = found["synthetic20k"] = root / "synthetic20k"
    if not logdir.exists():
        with SummaryWriter(str(logdir / "synthetic20k")) as ours:
            ours._get_file_writer().add_event_bytes(message_event(graph_event(synthetic())))
    return found


# -- measuring -------------------------------------------------------------------------


def longest(state: dict[str, Any], start: float = 0.0, end: float = float("inf")) -> float:
    """The longest task (ms) that started in [start, end)."""
    return max((d for t, d in state["longtasks"] if start <= t < end), default=0.0)


def wait_state(page: Any, predicate: str, timeout: float) -> dict[str, Any]:
    page.wait_for_function(
        f"() => window.__bench && ({predicate})", timeout=timeout * 1000, polling=50
    )
    state: dict[str, Any] = page.evaluate("() => window.__bench")
    return state


def stepscope_page(browser: Any, url: str, full: bool, timeout: float) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(_PROBE_JS)
        page.goto(url)
        state = wait_state(page, "window.__bench.drawn.length > 0", timeout)
        first = state["drawn"][0][0]
        found: dict[str, Any] = {
            "first": first / 1000,
            "load_task": longest(state),
            "items": state["drawn"][0][1],
        }
        found["timings"] = page.evaluate(f"() => {HOOK}.timings()")
        # The page's own start (its scripts, its first fetches) is the same on every tab:
        # the view's tasks are those after it is made.
        found["view_task"] = longest(state, found["timings"]["marks"].get("view", 0))
        page.wait_for_timeout(300)
        found.update(stepscope_expand(page, timeout))
        if full:
            found.update(stepscope_full(page, timeout))
        return found
    finally:
        context.close()


def biggest_closed_group(page: Any) -> str:
    """The closed group (or repeated block) drawn that holds the most ops (its second line says)."""
    candidates: list[list[Any]] = page.evaluate(
        f"""() => {{
          const t = {HOOK};
          const subs = t.sublabels();
          return t.ids().map((id, i) => [id, t.boxOf(id).kind, subs[i]])
            .filter(([, kind]) => kind === 1 || kind === 3)
            .map(([id, kind, sub]) => {{
              const ops = Number((/([\\d,]+) ops?/.exec(sub) || ["", "0"])[1].replace(/,/g, ""));
              return [id, kind === 3 ? ops * 12 : ops];
            }});
        }}"""
    )
    if not candidates:
        raise RuntimeError("no closed group to expand")
    return str(max(candidates, key=lambda c: c[1])[0])


def stepscope_expand(page: Any, timeout: float, times: int = 2) -> dict[str, Any]:
    """Expands the biggest closed group, ``times`` times over (the second inside the first)."""
    expands = []
    for _ in range(times):
        group = biggest_closed_group(page)
        page.evaluate(f"id => {HOOK}.center(id)", group)
        page.wait_for_timeout(300)
        box = page.evaluate(f"id => {HOOK}.boxOf(id)", group)
        before = len(page.evaluate("() => window.__bench.drawn"))
        clicks = len(page.evaluate("() => window.__bench.clicks"))
        page.mouse.dblclick(box["x"] + 12, box["y"] + 6)
        state = wait_state(
            page,
            f"window.__bench.drawn.length > {before} && window.__bench.clicks.length > {clicks}",
            timeout,
        )
        clicked = state["clicks"][-1]
        done = state["drawn"][-1][0]
        expands.append(
            {
                "group": group,
                "seconds": (done - clicked) / 1000,
                "task_ms": longest(state, clicked - 1, done + 1),
                "layout_ms": page.evaluate(f"() => {HOOK}.timings().layout"),
            }
        )
        page.wait_for_timeout(300)
    return {
        "expands": expands,
        "expand": max(e["seconds"] for e in expands),
        "expand_task": max(e["task_ms"] for e in expands),
    }


def stepscope_full(page: Any, timeout: float) -> dict[str, Any]:
    before = len(page.evaluate("() => window.__bench.drawn"))
    started = page.evaluate(f"() => {{ const t = performance.now(); {HOOK}.openAll(); return t; }}")
    state = wait_state(page, f"window.__bench.drawn.length > {before}", timeout)
    done, items = state["drawn"][-1]
    return {
        "full": (done - started) / 1000,
        "full_items": items,
        "full_task": longest(state, started - 1, done + 50),
        "full_layout_ms": page.evaluate(f"() => {HOOK}.timings().layout"),
    }


def tensorboard_page(browser: Any, url: str, timeout: float) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(_PROBE_JS)
        page.goto(url + "#graphs")
        try:
            state = wait_state(page, "window.__bench.nodes.some(([, n]) => n > 0)", timeout)
        except Exception:  # TensorBoard did not draw it: the table says so
            return {"first": None, "error": f"no node drawn in {timeout:.0f} s"}
        first = next(t for t, n in state["nodes"] if n > 0)
        found: dict[str, Any] = {"first": first / 1000, "load_task": longest(state)}
        page.wait_for_timeout(1000)
        metas = page.evaluate(_TB_META)
        if not metas:
            return found
        target = metas[0]
        count = page.evaluate(
            "() => window.__bench.nodes.length ? window.__bench.nodes.at(-1)[1] : 0"
        )
        page.mouse.dblclick(target["x"] + target["w"] / 2, target["y"] + target["h"] / 2)
        try:
            state = wait_state(
                page,
                f"window.__bench.clicks.length > 0 && window.__bench.nodes.at(-1)[1] > {count}",
                timeout,
            )
        except Exception:  # not expanded in time: the table says so
            found["expand"] = None
            return found
        clicked = state["clicks"][-1]
        done = next(t for t, n in state["nodes"] if t > clicked and n > count)
        found.update(
            {
                "expanded": target["name"],
                "expand": (done - clicked) / 1000,
                "expand_task": longest(state, clicked - 1, done + 1),
            }
        )
        return found
    finally:
        context.close()


def wait_tensorboard(port: int, run: str, timeout: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as r:
                if run in json.load(r):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"TensorBoard did not list {run} in {timeout} s")


def best(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def cell(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if unit == "s" else f"{value:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="page loads per graph and server")
    parser.add_argument("--skip-tensorboard", action="store_true")
    parser.add_argument("--timeout", type=float, default=120, help="seconds, per page step")
    parser.add_argument("--only", action="append", help="measure only this graph (repeatable)")
    parser.add_argument(
        "--keep", help="write the logdirs here (or reuse those there) and keep them"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_graphs_"))
    try:
        started = time.perf_counter()
        logdirs = write_logdirs(root)
        print(f"graphs traced and written in {time.perf_counter() - started:.1f} s ({root})")
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for name, logdir in logdirs.items():
                    if args.only and name not in args.only:
                        continue
                    rows.append(measure(browser, name, logdir, args))
            finally:
                browser.close()
        print_table(rows)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def measure(browser: Any, name: str, logdir: Path, args: Any) -> dict[str, Any]:
    port = free_port()
    server = start_stepscope(str(logdir), str(logdir.parent / f"{name}.duckdb"), port)
    base = f"http://127.0.0.1:{port}/"
    try:
        api = api_seconds(base + f"api/plugins/graphs/graph?run={name}")
        ours = [
            stepscope_page(
                browser, f"{base}#tab=graphs&g.run={name}", name == "synthetic20k", args.timeout
            )
            for _ in range(args.repeats)
        ]
    finally:
        server.terminate()
        server.wait(30)
    print(f"{name}: graph API {api * 1000:.0f} ms (the server's answer, best of 3)")
    for i, load in enumerate(ours, 1):
        print(f"  stepscope load {i}: {describe(load)}")
    theirs: list[dict[str, Any]] = []
    if not args.skip_tensorboard:
        tb_port = free_port()
        tb = start_tensorboard(str(logdir), tb_port)
        try:
            wait_tensorboard(tb_port, name, args.timeout)
            theirs = [
                tensorboard_page(browser, f"http://127.0.0.1:{tb_port}/", args.timeout)
                for _ in range(args.repeats)
            ]
        finally:
            stop(tb)
        for i, load in enumerate(theirs, 1):
            print(f"  TensorBoard load {i}: {json.dumps(load)}")
    return {"name": name, "api": api, "ours": ours, "theirs": theirs}


def describe(load: dict[str, Any]) -> str:
    """One load of stepscope's page, step by step (ms in the page's clock unless said)."""
    t = load["timings"]
    marks = ", ".join(f"{k} {v}" for k, v in t["marks"].items())
    expands = "; ".join(
        f"{e['group']} {e['seconds'] * 1000:.0f} ms (layout {e['layout_ms']:.0f}, task {e['task_ms']:.0f})"
        for e in load["expands"]
    )
    line = (
        f"first draw {load['first'] * 1000:.0f} ms, {load['items']} boxes [{marks}]; worker: fetch "
        f"{t['fetch']:.0f}, parse {t['parse']:.0f}, model {t['model']:.0f}, elk ready at "
        f"{t['elkWarm']:.0f} from its start; longest task {load['load_task']:.0f} (page start "
        f"included), {load['view_task']:.0f} (the view's); expands: {expands}"
    )
    if "full" in load:
        line += (
            f"; full expansion {load['full']:.1f} s to {load['full_items']} boxes (worker layout "
            f"{load['full_layout_ms'] / 1000:.1f} s), longest task {load['full_task']:.0f}"
        )
    return line


def api_seconds(url: str) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as response:
            response.read()
        times.append(time.perf_counter() - started)
    return min(times)


def print_table(rows: list[dict[str, Any]]) -> None:
    print()
    print(
        "median of the loads; longest task: the longest main-thread task in that step "
        "((view): after stepscope's view is made, leaving out the page's own start)"
    )
    header = (
        f"{'graph':<14} {'':<12} {'first draw':>10} {'longest task':>12} {'(view)':>8} "
        f"{'expand':>8} {'longest task':>12} {'full expansion':>14} {'longest task':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        for label, results in (("stepscope", row["ours"]), ("TensorBoard", row["theirs"])):
            if not results:
                continue
            print(
                f"{row['name']:<14} {label:<12} {cell(best(results, 'first')):>10} "
                f"{cell(best(results, 'load_task'), 'ms'):>12} {cell(best(results, 'view_task'), 'ms'):>8} "
                f"{cell(best(results, 'expand')):>8} "
                f"{cell(best(results, 'expand_task'), 'ms'):>12} {cell(best(results, 'full')):>14} "
                f"{cell(best(results, 'full_task'), 'ms'):>12}"
            )
    print()
    print(
        "goals: first draw < 1 s; expand < 0.3 s; full expansion of synthetic20k with no task > 100 ms"
    )


if __name__ == "__main__":
    main()
