"""The Graphs view in a real Chromium: model graphs as a person reads them.

The logdir is written in the test: an MLP and a 12-layer Transformer encoder
by torch's ``SummaryWriter.add_graph``, a CNN of nested ``Sequential``s (and
the MLP again) by stepscope's, a GraphDef with dangling inputs and a cycle,
and a 20,000-node graph of 200 scopes, both built from our protos. The
drawing is a canvas: what is on it is found through the view's test hook
(``graphTest``: the items drawn, where each is on the screen), clicked with
the mouse, and checked by its pixels and by the panel a person reads.
"""

from __future__ import annotations

import json
import random
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, VIEWPORT, Server, Tab, assert_clean_stop, pixels_of, snapshot
from playwright.sync_api import Browser, Page, expect

from stepscope import SummaryWriter
from stepscope.plugins.graphs.summary import graph_event, keras_model_summary
from stepscope.proto import graph_pb2
from stepscope.writer.encoding import message_event

HOOK = "document.querySelector('.graphs-view').graphTest"
X = "\N{MULTIPLICATION SIGN}"  # shapes (2 by 8) and repeats (12 of them) are written with it
REPEAT = f"Encoder/TransformerEncoder[encoder]/TransformerEncoderLayer[0]/{X}12"
SVG = "{http://www.w3.org/2000/svg}"
HIT = (245, 196, 0)  # a search hit's outline (renderer.ts)
UPSTREAM = (31, 111, 235)  # a traced node's inputs

# torch's own add_graph calls the deprecated torch.jit.trace (module-scoped: the fixture writes with it).
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning"
)


# -- the logdir -------------------------------------------------------------------


def torch_models() -> dict[str, Any]:
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.fc2 = nn.Linear(16, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(torch.relu(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
                nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
            )
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 8 * 8, 10))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.features(x))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(16, 32)
            layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 12, enable_nested_tensor=False)
            self.head = nn.Linear(32, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.encoder(self.embed(x)))

    torch.manual_seed(0)
    return {
        "mlp": (MLP(), torch.rand(2, 8)),
        "cnn": (CNN(), torch.rand(1, 3, 16, 16)),
        "transformer": (Encoder(), torch.rand(2, 5, 16)),
    }


def node(
    name: str, op: str, inputs: list[str], shape: list[int] | None = None
) -> graph_pb2.NodeDef:
    found = graph_pb2.NodeDef(name=name, op=op, input=inputs)
    if shape is not None:
        dims = found.attr["_output_shapes"].list.shape.add().dim
        for size in shape:
            dims.add(size=size)
    return found


def broken_graph() -> graph_pb2.GraphDef:
    """Inputs that name no node, and a cycle (a -> b -> c -> a)."""
    return graph_pb2.GraphDef(
        node=[
            node("input", "Placeholder", [], [4, 3]),
            node("loop/a", "Add", ["input", "loop/c"], [4, 3]),
            node("loop/b", "Relu", ["loop/a"], [4, 3]),
            node("loop/c", "Mul", ["loop/b", "nowhere/weights"], [4, 3]),
            node("twice", "Add", ["input", "input"], [4, 3]),  # two edges from one tensor
            node("out", "Identity", ["loop/c", "ghost:1", "twice"], [4, 3]),
        ]
    )


# Keras's model config of a small functional model (as model.to_json() writes it).
KERAS_MODEL = {
    "module": "keras",
    "class_name": "Functional",
    "config": {
        "name": "model",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"name": "pixels", "batch_shape": [None, 8], "dtype": "float32"},
                "inbound_nodes": [],
            },
            {
                "class_name": "Dense",
                "config": {"name": "hidden", "units": 16, "activation": "relu"},
                "inbound_nodes": [{"args": [{"config": {"keras_history": ["pixels", 0, 0]}}]}],
            },
            {
                "class_name": "Dense",
                "config": {"name": "logits", "units": 4},
                "inbound_nodes": [{"args": [{"config": {"keras_history": ["hidden", 0, 0]}}]}],
            },
        ],
        "input_layers": [["pixels", 0, 0]],
        "output_layers": [["logits", 0, 0]],
    },
}


def huge_graph(stages: int = 10, blocks: int = 19, ops: int = 105) -> graph_pb2.GraphDef:
    """About 20,000 ops in 200 scopes (stages of blocks), each block a chain with skips."""
    rng = random.Random(0)
    kinds = ["Conv2D", "BiasAdd", "Relu", "Add", "MatMul", "Mul", "Sigmoid", "Tanh"]
    graph = graph_pb2.GraphDef(node=[node("input", "Placeholder", [], [8, 64])])
    previous = "input"
    for s in range(stages):
        for b in range(blocks):
            names: list[str] = []
            for k in range(ops):
                name = f"net/stage{s}/block{b}/op{k}"
                inputs = [names[-1] if names else previous]
                if k >= 4 and rng.random() < 0.2:
                    inputs.append(names[-rng.randint(2, 4)])
                graph.node.append(node(name, rng.choice(kinds), inputs, [8, 64]))
                names.append(name)
            previous = names[-1]
    return graph


def write_graph_def(logdir: Path, graph: graph_pb2.GraphDef) -> None:
    with SummaryWriter(str(logdir)) as writer:
        writer._get_file_writer().add_event_bytes(message_event(graph_event(graph)))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import torch
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    base = tmp_path_factory.mktemp("graphs")
    logdir = base / "logs"
    # Tracing the Transformer on the fast path differs between torch's two check runs.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    models = torch_models()
    try:
        for run in ("mlp", "transformer"):
            writer = TorchWriter(str(logdir / run))
            # torch's tracer warns from inside C++ (TracerWarning); turned into errors by
            # the suite's filter they surface as a SystemError, so they are torch's to keep.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                writer.add_graph(*models[run])
            writer.close()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    for run in ("cnn", "mlp"):
        with SummaryWriter(str(logdir / f"ours_{run}")) as ours:
            ours.add_graph(*models[run])
    with SummaryWriter(
        str(logdir / "ours_mlp")
    ) as ours:  # and its Keras twin, as a conceptual graph
        ours._get_file_writer().add_summary(keras_model_summary(json.dumps(KERAS_MODEL)), 0)
    write_graph_def(logdir / "broken", broken_graph())
    write_graph_def(logdir / "huge", huge_graph())
    found = Server(logdir, base / "index.duckdb")
    yield found
    assert_clean_stop(found, found.stop())


# -- looking at the page ---------------------------------------------------------


def open_graph(open_page: Any, server: Server, run: str, extra: str = "") -> Tab:
    tab: Tab = open_page(f"{server.url}#tab=graphs&g.run={run}{extra}")
    drawn(tab.page)
    return tab


def drawn(page: Page, timeout: float = 20_000) -> None:
    expect(page.locator(".graphs-view")).to_have_attribute("data-state", "drawn", timeout=timeout)


def ids(page: Page) -> list[str]:
    found: list[str] = page.evaluate(f"() => {HOOK}.ids()")
    return found


def labels(page: Page) -> list[str]:
    found: list[str] = page.evaluate(f"() => {HOOK}.labels()")
    return found


def box_of(page: Page, item: str) -> dict[str, float]:
    page.evaluate(f"id => {HOOK}.center(id)", item)
    page.wait_for_timeout(100)  # the next frame
    box: dict[str, float] | None = page.evaluate(f"id => {HOOK}.boxOf(id)", item)
    assert box is not None, f"{item} is not drawn: {ids(page)[:40]}"
    return box


def click_item(page: Page, item: str, double: bool = False) -> None:
    """Clicks an item's box, away from its ± (which a click on would open or close it)."""
    box = box_of(page, item)
    x, y = box["x"] + 12, box["y"] + 6  # inside its edge, left of its ±, above any child
    if double:
        page.mouse.dblclick(x, y)
    else:
        page.mouse.click(x, y)


def canvas_png(page: Page) -> bytes:
    return page.locator(".graph-canvas").screenshot()


def panel(page: Page) -> Any:
    return page.locator(".graph-panel")


# -- the tests -----------------------------------------------------------------


def test_the_graphs_tab_opens_and_draws_a_torch_mlp(server: Server, open_page: Any) -> None:
    tab = open_page(server.url)
    page = tab.page
    page.locator(".tab[data-plugin=graphs]").click()
    page.locator(".graph-run").select_option("mlp")
    drawn(page)
    expect(page.locator(".graph-tag")).to_contain_text("Op graph")
    # fc1 and fc2 are single ops once their parameter reads fold into them: named by their module.
    shown = labels(page)
    for label in ("x", "fc1", "relu", "fc2", "output.1"):
        assert label in shown, shown
    expect(page.locator(".graph-status")).to_contain_text("nodes")
    assert pixels_of(canvas_png(page), (255, 192, 191), tolerance=12) > 200  # the op boxes' fills
    snapshot(page, "graphs_mlp")


def test_groups_close_and_open_again(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "ours_cnn").page
    features = "CNN/Sequential[features]/"
    before = ids(page)
    assert "CNN/Sequential[features]/Sequential[0]/" in before  # opened at first: it is small
    click_item(page, features, double=True)
    expect(page.locator(".graphs-view")).to_have_attribute("data-state", "drawn")
    page.wait_for_function(
        f"() => !{HOOK}.ids().includes('CNN/Sequential[features]/Sequential[0]/')"
    )
    closed = ids(page)
    assert features in closed
    assert len(closed) < len(before)
    snapshot(page, "graphs_cnn_closed")
    # The panel's button opens it again, and the URL says so.
    click_item(page, features)
    expect(panel(page)).to_have_attribute("data-node", features)
    panel(page).get_by_role("button", name="Open group").click()
    page.wait_for_function(f"() => {HOOK}.ids().length === {len(before)}")
    assert "CNN/Sequential[features]/Sequential[1]/" in ids(page)
    page.wait_for_function("() => location.hash.includes('g.node=')")


def test_the_node_panel_shows_shapes_module_and_parameters(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "ours_mlp").page
    click_item(page, "MLP/Linear[fc1]/linear")
    expect(panel(page)).to_have_attribute("data-node", "MLP/Linear[fc1]/linear")
    expect(panel(page).locator(".graph-panel-title")).to_have_text("MLP/Linear[fc1]/linear")
    facts = panel(page).locator(".graph-facts")
    expect(facts).to_contain_text("aten::linear")
    expect(facts).to_contain_text("torch.nn.modules.linear.Linear")
    expect(facts).to_contain_text("fc1")
    expect(facts).to_contain_text("144")  # 16 x 8 + 16 parameters
    inputs = panel(page).locator("[data-section^=inputs] tbody tr")
    expect(inputs).to_have_count(3)
    expect(inputs.nth(0)).to_contain_text(f"2{X}8")
    expect(inputs.nth(1)).to_contain_text(f"16{X}8")
    expect(panel(page).locator("[data-section^=outputs]")).to_contain_text(f"2{X}16")
    expect(panel(page).locator("[data-section^=parameters]")).to_contain_text("fc1.weight")
    # An input is a link: to the op that made it.
    panel(page).locator("[data-section^=outputs] .graph-link").first.click()
    expect(panel(page)).to_have_attribute("data-node", "MLP/relu")
    snapshot(page, "graphs_panel")


def test_the_twelve_encoder_layers_are_one_block_that_expands(
    server: Server, open_page: Any
) -> None:
    page = open_graph(open_page, server, "transformer").page
    shown = ids(page)
    assert REPEAT in shown
    assert not any("TransformerEncoderLayer[1]" in item for item in shown)
    assert f"TransformerEncoderLayer {X}12" in labels(page)
    snapshot(page, "graphs_transformer_x12")
    click_item(page, REPEAT, double=True)
    layers = [
        f"Encoder/TransformerEncoder[encoder]/TransformerEncoderLayer[{i}]/" for i in range(12)
    ]
    page.wait_for_function(f"() => {HOOK}.ids().includes({layers[11]!r})")
    drawn(page)
    assert all(layer in ids(page) for layer in layers)
    # A layer opens in turn: its attention block and its feed-forward ops.
    click_item(page, layers[3], double=True)
    page.wait_for_function(
        f"() => {HOOK}.ids().includes({layers[3] + 'MultiheadAttention[self_attn]/'!r})"
    )
    drawn(page)
    assert "linear1" in labels(page)
    snapshot(page, "graphs_transformer_layer_open")


def test_search_opens_the_groups_leading_to_a_hit(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "transformer").page
    search = page.locator(".graph-search")
    search.fill(r"TransformerEncoderLayer\[7\]/LayerNorm\[norm2\]/[^/]*$")
    search.press("Enter")
    target = "Encoder/TransformerEncoder[encoder]/TransformerEncoderLayer[7]/"
    page.wait_for_function(f"() => {HOOK}.ids().includes({target!r})")
    drawn(page)
    expect(page.locator(".graph-search-info")).to_contain_text("1 of")
    expect(panel(page).locator(".graph-panel-title")).to_contain_text("LayerNorm[norm2]")
    expect(panel(page).locator(".graph-facts")).to_contain_text("aten::layer_norm")
    assert REPEAT in ids(page)  # the block of twelve was opened to reach layer 7
    # The hit is outlined, in view.
    assert pixels_of(canvas_png(page), HIT, tolerance=20) > 50
    page.wait_for_function("() => location.hash.includes('g.open=')")
    snapshot(page, "graphs_search")


def test_an_invalid_regex_is_said_not_thrown(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "mlp").page
    search = page.locator(".graph-search")
    search.fill("fc1[")
    expect(search).to_have_class("filter graph-search invalid")
    expect(page.locator(".graph-search-info")).to_contain_text("Not a valid regex")
    search.fill("relu")
    expect(page.locator(".graph-search-info")).to_have_text("1 match")


def test_trace_highlights_a_nodes_inputs(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "ours_mlp").page
    click_item(page, "MLP/Linear[fc2]/linear")
    before = pixels_of(canvas_png(page), UPSTREAM, tolerance=30)
    panel(page).get_by_role("button", name="Trace inputs and outputs").click()
    expect(panel(page).locator(".graph-trace")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)
    assert pixels_of(canvas_png(page), UPSTREAM, tolerance=30) > before + 100
    snapshot(page, "graphs_trace")


def test_svg_export_is_valid_svg_with_the_node_names(
    server: Server, open_page: Any, tmp_path: Path
) -> None:
    page = open_graph(open_page, server, "ours_cnn").page
    with page.expect_download() as download:
        page.locator(".graph-export-svg").click()
    assert download.value.suggested_filename == "ours_cnn-__run_graph__.svg"
    path = tmp_path / "graph.svg"
    download.value.save_as(path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {t.text for t in root.iter(f"{SVG}text")}
    titles = {t.text for t in root.iter(f"{SVG}title")}
    assert {"classifier", "features", "Conv2d[0]"} <= texts, texts
    assert "CNN/Sequential[features]/Sequential[0]/Conv2d[0]/convolution" in titles
    assert len(list(root.iter(f"{SVG}path"))) > 10  # the edges
    with page.expect_download() as png:
        page.locator(".graph-export-png").click()
    png_path = tmp_path / "graph.png"
    png.value.save_as(png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_url_keeps_the_node_and_the_groups_opened(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "transformer").page
    click_item(page, REPEAT, double=True)
    page.wait_for_function(f"() => {HOOK}.ids().length > 14")
    drawn(page)
    layer = "Encoder/TransformerEncoder[encoder]/TransformerEncoderLayer[5]/"
    click_item(page, layer)
    page.wait_for_function(
        "id => { const q = new URLSearchParams(location.hash.slice(1));"
        " return q.get('g.node') === id && q.has('g.open'); }",
        arg=layer,
    )
    url = page.url
    again = open_page(url).page
    drawn(again)
    again.wait_for_function(f"() => {HOOK}.ids().length > 14")
    expect(panel(again)).to_have_attribute("data-node", layer)


def test_a_graph_with_dangling_inputs_and_a_cycle_draws_with_notes(
    server: Server, open_page: Any
) -> None:
    page = open_graph(open_page, server, "broken").page
    notes = page.locator(".graph-notes")
    expect(notes).to_be_visible()
    expect(notes).to_contain_text("no node has that name")
    notes.locator("summary").click()
    expect(notes).to_contain_text("cycle")
    shown = ids(page)
    assert "input" in shown
    assert "out" in shown
    # add(x, x): two edges from the same tensor, drawn apart.
    twice = page.evaluate(f"() => {HOOK}.edgesBetween('input', 'twice')")
    assert len(twice) == 2
    assert twice[0] != twice[1]
    snapshot(page, "graphs_broken")


def test_a_keras_conceptual_graph_is_offered_beside_the_op_graph(
    server: Server, open_page: Any
) -> None:
    page = open_graph(open_page, server, "ours_mlp").page
    choice = page.locator(".graph-tag")
    expect(choice.locator("option")).to_have_count(2)
    expect(choice).to_contain_text("Conceptual graph (Keras)")
    choice.select_option("keras")
    page.wait_for_function(f"() => {HOOK}.labels().includes('hidden')")
    drawn(page)
    assert {"pixels", "hidden", "logits"} <= set(labels(page))
    click_item(page, "model/hidden")
    expect(panel(page).locator(".graph-facts")).to_contain_text("Dense")
    snapshot(page, "graphs_keras")


def test_identical_layers_are_coloured_alike_by_structure(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "transformer").page
    click_item(page, REPEAT, double=True)
    layer = "Encoder/TransformerEncoder[encoder]/TransformerEncoderLayer[{}]/"
    page.wait_for_function(f"() => {HOOK}.ids().includes({layer.format(11)!r})")
    page.locator(".graph-color").select_option("structure")
    colors = {page.evaluate(f"id => {HOOK}.colorOf(id)", layer.format(i)) for i in range(1, 12)}
    assert len(colors) == 1
    encoder = page.evaluate(f"id => {HOOK}.colorOf(id)", "Encoder/TransformerEncoder[encoder]/")
    assert encoder not in colors
    page.wait_for_function("() => location.hash.includes('g.color=structure')")
    snapshot(page, "graphs_structure_colours")


def test_a_20000_node_graph_opens_collapsed_at_once(server: Server, open_page: Any) -> None:
    page = open_graph(open_page, server, "huge").page
    expect(page.locator(".graph-status")).to_contain_text("19,951 nodes")
    shown = ids(page)
    assert "net/stage0/" in shown
    assert len(shown) < 60, len(shown)
    click_item(page, "net/stage3/", double=True)
    page.wait_for_function(f"() => {HOOK}.ids().includes('net/stage3/block18/')")
    snapshot(page, "graphs_huge")


def test_the_view_runs_under_the_pages_csp(server: Server, chromium: Browser) -> None:
    """Without Playwright's CSP bypass: both workers (ours and elk's) start and the graph is drawn."""
    context = chromium.new_context(viewport=VIEWPORT)
    refused: list[str] = []
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.goto(f"{server.url}#tab=graphs&g.run=transformer")
        drawn(page)
        expect(page.locator(".graph-status")).to_contain_text("repeated block")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "graphs_csp.png"))
    finally:
        context.close()
    assert errors == []
    assert refused == []
