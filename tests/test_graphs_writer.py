"""``SummaryWriter.add_graph`` and ``add_onnx_graph``: what they write, read by TensorBoard itself.

Every graph is traced from a real torch model (an MLP, a CNN of nested
``Sequential``s, a Transformer encoder, a block reused in a loop, a model
returning a dict) and loaded by TensorBoard's own ``EventAccumulator`` and
by its graph plugin's ``graph_impl`` (the route its Graphs tab asks), which
must see every node stepscope wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from google.protobuf import text_format
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import graph_pb2 as tb_graph_pb2
from tensorboard.plugins import base_plugin
from tensorboard.plugins.graph import graphs_plugin
from torch import nn

from stepscope import SummaryWriter
from stepscope.errors import UsageError
from stepscope.plugins.graphs.torch_graph import trace_graph

# torch's own add_graph (the peer these tests compare with) calls the deprecated torch.jit.trace.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning"
)


# -- the models -----------------------------------------------------------------------------


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU()),
            nn.Sequential(nn.Conv2d(4, 8, 3), nn.ReLU(), nn.MaxPool2d(2)),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 5 * 5, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.out = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.encoder(x))


class Looped(nn.Module):
    """One block applied three times."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(6, 6), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(3):
            x = self.block(x)
        return x


class DictOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.body(x)
        return {"features": features, "logits": features.softmax(-1)}


MODELS: dict[str, tuple[Any, Any, bool]] = {
    "mlp": (mlp, lambda: torch.zeros(4, 8), True),
    "cnn": (CNN, lambda: torch.zeros(2, 1, 14, 14), True),
    "encoder": (Encoder, lambda: torch.zeros(2, 5, 16), True),
    "looped": (Looped, lambda: torch.zeros(3, 6), True),
    "dict": (DictOut, lambda: torch.zeros(2, 5), False),
}


def write_ours(logdir: Path, name: str) -> nn.Module:
    make, inputs, strict = MODELS[name]
    torch.manual_seed(0)
    model = make()
    with SummaryWriter(logdir / name) as writer:
        writer.add_graph(model, inputs(), use_strict_trace=strict)
    return model


def tensorboard_graph(run_dir: Path) -> tb_graph_pb2.GraphDef:
    """The run's graph as TensorBoard's EventAccumulator reads it."""
    return EventAccumulator(str(run_dir)).Reload().Graph()


def graphs_plugin_view(logdir: Path, run: str) -> tuple[tb_graph_pb2.GraphDef, dict[str, Any]]:
    """What TensorBoard's Graphs tab is served: ``graph_impl`` (with its 1 KiB limit) and ``info``."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    plugin = graphs_plugin.GraphsPlugin(base_plugin.TBContext(data_provider=provider))
    ctx = context.RequestContext()
    body, _ = plugin.graph_impl(ctx, run, None, False, "", 1024, "_too_large_attrs")
    return text_format.Parse(body, tb_graph_pb2.GraphDef()), plugin.info_impl(ctx, "")


def inputs_resolve(graph: tb_graph_pb2.GraphDef) -> list[str]:
    names = {node.name for node in graph.node}
    return [
        f"{node.name} <- {given}"
        for node in graph.node
        for given in node.input
        if given.lstrip("^").split(":")[0] not in names and given.lstrip("^") not in names
    ]


# -- what TensorBoard reads -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_tensorboard_loads_every_graph_we_write(tmp_path: Path, name: str) -> None:
    write_ours(tmp_path, name)
    graph = tensorboard_graph(tmp_path / name)
    assert graph.versions.producer == 22
    served, info = graphs_plugin_view(tmp_path, name)
    assert [node.name for node in served.node] == [node.name for node in graph.node]
    assert info[name]["run_graph"] is True
    assert info[name]["tags"]["step1"]["profile"] is True  # the run metadata torch writes too
    assert inputs_resolve(graph) == []  # every input names a node (torch's own graphs dangle)
    ops = [node for node in graph.node if node.op not in ("IO Node", "Parameter", "Buffer")]
    assert ops
    assert all("_output_shapes" in node.attr for node in ops)
    assert {"input", "output"} <= {node.name.split("/")[0] for node in graph.node}


def test_node_names_follow_the_module_tree_with_shapes_dtypes_and_parameters(
    tmp_path: Path,
) -> None:
    model = write_ours(tmp_path, "cnn")
    nodes = {node.name: node for node in tensorboard_graph(tmp_path / "cnn").node}
    conv = nodes["CNN/Sequential[features]/Sequential[0]/Conv2d[0]/convolution"]
    assert conv.op == "aten::_convolution"
    assert [d.size for d in conv.attr["_output_shapes"].list.shape[0].dim] == [2, 4, 12, 12]
    assert list(conv.attr["_output_types"].list.type) == [1]  # DT_FLOAT
    assert conv.attr["_module"].s == b"features.0.0"
    assert conv.attr["_module_class"].s == b"torch.nn.modules.conv.Conv2d"
    assert list(conv.attr["stride"].list.i) == [1, 1]  # constants as named attributes
    assert conv.input[0] == "input/x"
    # Parameters and buffers: one node each, named as in the state_dict.
    params = {
        node.attr["_param"].s.decode(): node
        for node in nodes.values()
        if node.op in ("Parameter", "Buffer")
    }
    state = model.state_dict()
    assert set(params) == {k for k in state if not k.endswith("num_batches_tracked")}
    for key, node in params.items():
        assert [d.size for d in node.attr["_output_shapes"].list.shape[0].dim] == list(
            state[key].shape
        )
    assert params["features.0.1.running_mean"].op == "Buffer"
    assert params["head.2.weight"].name == "CNN/Sequential[head]/Linear[2]/weight"
    linear = nodes["CNN/Sequential[head]/Linear[2]/linear"]
    assert list(linear.input)[1:] == [
        "CNN/Sequential[head]/Linear[2]/weight",
        "CNN/Sequential[head]/Linear[2]/bias",
    ]
    output = nodes["output/output.1"]
    assert [d.size for d in output.attr["_output_shapes"].list.shape[0].dim] == [2, 10]


def test_the_model_is_traced_in_eval_mode_and_each_module_gets_its_mode_back(
    tmp_path: Path,
) -> None:
    model = CNN().train()
    model.features[1].eval()  # one part deliberately in eval mode
    with SummaryWriter(tmp_path / "modes") as writer:
        writer.add_graph(model, torch.zeros(2, 1, 14, 14))
    assert model.training
    assert model.head.training
    assert not model.features[1].training
    assert not model.features[1][0].training
    nodes = tensorboard_graph(tmp_path / "modes").node
    dropout = [node for node in nodes if node.op == "aten::dropout"]
    assert dropout
    assert dropout[0].attr["train"].b is False
    norm = next(node for node in nodes if node.op == "aten::batch_norm")
    assert norm.attr["training"].b is False


def test_a_block_reused_in_a_loop_has_one_node_per_call_and_one_per_parameter(
    tmp_path: Path,
) -> None:
    write_ours(tmp_path, "looped")
    nodes = {node.name: node for node in tensorboard_graph(tmp_path / "looped").node}
    scope = "Looped/Sequential[block]/Linear[0]"
    assert [name for name in nodes if name.startswith(scope + "/linear")] == [
        f"{scope}/linear",
        f"{scope}/linear_1",
        f"{scope}/linear_2",
    ]
    assert [n for n in nodes if n.startswith(scope + "/weight")] == [f"{scope}/weight"]
    tanh = "Looped/Sequential[block]/Tanh[1]"
    assert next(iter(nodes[f"{scope}/linear_1"].input)) == f"{tanh}/tanh"
    assert next(iter(nodes[f"{scope}/linear_2"].input)) == f"{tanh}/tanh_1"
    assert list(nodes["output/output.1"].input) == [f"{tanh}/tanh_2"]


def test_a_transformer_encoder_is_scoped_by_layer(tmp_path: Path) -> None:
    write_ours(tmp_path, "encoder")
    names = [node.name for node in tensorboard_graph(tmp_path / "encoder").node]
    layer = "Encoder/TransformerEncoder[encoder]/ModuleList[layers]/TransformerEncoderLayer[{}]"
    for number in (0, 1):
        inside = [name for name in names if name.startswith(layer.format(number) + "/")]
        assert any("/MultiheadAttention[self_attn]/" in name for name in inside)
        assert any(name.endswith("/Linear[linear1]/linear") for name in inside)
    assert f"{layer.format(1)}/MultiheadAttention[self_attn]/in_proj_weight" in names


def test_a_model_returning_a_dict_needs_use_strict_trace_false(tmp_path: Path) -> None:
    writer = SummaryWriter(tmp_path / "strict")
    with pytest.raises(UsageError) as raised:
        writer.add_graph(DictOut(), torch.zeros(2, 5))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("add_graph cannot trace DictOut: ")
    assert "use_strict_trace=False" in message
    assert message.endswith("nothing was written")
    writer.add_scalar("still/usable", 1.0, 0)
    writer.close()
    found = EventAccumulator(str(tmp_path / "strict")).Reload()
    assert not found.Tags()["graph"]
    assert found.Tags()["scalars"] == ["still/usable"]

    write_ours(tmp_path, "dict")
    nodes = {node.name: node for node in tensorboard_graph(tmp_path / "dict").node}
    assert nodes["DictOut/DictConstruct"].op == "prim::DictConstruct"
    assert list(nodes["output/output.1"].input) == ["DictOut/DictConstruct"]


class Broken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("shapes do not match\nsecond line of detail")


def test_an_untraceable_model_is_one_line_naming_the_module_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), Broken()))
    model.train()
    writer = SummaryWriter(tmp_path / "broken")
    with pytest.raises(UsageError) as raised:
        writer.add_graph(model, torch.zeros(1, 2))
    assert str(raised.value) == (
        "add_graph cannot trace Sequential (in 1.1: Broken): shapes do not match; "
        "nothing was written"
    )
    assert model.training  # its mode given back even so
    writer.add_graph(mlp(), torch.zeros(1, 8))  # the writer goes on
    writer.close()
    assert tensorboard_graph(tmp_path / "broken").node[0].name == "input/input"


def test_verbose_prints_the_trace_and_torch_stays_unimported_until_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_graph(mlp(), torch.zeros(1, 8), verbose=True)
    assert "aten::linear" in capsys.readouterr().out
    code = (
        "import sys, stepscope; w = stepscope.SummaryWriter(sys.argv[1]); w.close(); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "plain")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_a_plain_function_can_be_traced_too(tmp_path: Path) -> None:
    def double(x: torch.Tensor) -> torch.Tensor:
        return x * 2 + 1

    graph, run_metadata = trace_graph(double, torch.zeros(3))
    ops = [node.op for node in graph.node]
    assert "aten::mul" in ops
    assert "aten::add" in ops
    constant = next(node for node in graph.node if node.op == "prim::Constant")
    assert constant.attr["value"].tensor.dtype == 9  # the tensor constant 2, as int64
    assert [d.device for d in run_metadata.step_stats.dev_stats] == ["/device:CPU:0"]


# -- ONNX -----------------------------------------------------------------------------------


def onnx_model(path: Path) -> None:
    """A two-layer ONNX model built with onnx.helper (MatMul, Add, Relu; weights as initializers)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 3), np.float32), "fc.weight")
    bias = numpy_helper.from_array(np.zeros(3, np.float32), "fc.bias")
    nodes = [
        helper.make_node("MatMul", ["x", "fc.weight"], ["h"], name="/fc/MatMul"),
        helper.make_node("Add", ["h", "fc.bias"], ["z"], name="/fc/Add"),
        helper.make_node("Relu", ["z"], ["y"], name="/act/Relu"),
        helper.make_node("Split", ["y"], ["a", "b"], name="/split", axis=1, num_outputs=2),
        helper.make_node("Concat", ["b", "a"], ["out"], name="/cat", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3])],
        initializer=[weight, bias],
        value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", 3])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))


def test_add_onnx_graph_writes_a_graph_tensorboard_reads(tmp_path: Path) -> None:
    onnx_model(tmp_path / "tiny.onnx")
    with SummaryWriter(tmp_path / "onnx") as writer:
        writer.add_onnx_graph(tmp_path / "tiny.onnx")
    nodes = {node.name: node for node in tensorboard_graph(tmp_path / "onnx").node}
    assert list(nodes) == [
        "input/x",
        "fc.weight",
        "fc.bias",
        "fc/MatMul",
        "fc/Add",
        "act/Relu",
        "split",
        "cat",
        "output/out",
    ]
    assert nodes["fc.weight"].op == "Initializer"
    assert list(nodes["fc/MatMul"].input) == ["input/x", "fc.weight"]
    assert list(nodes["cat"].input) == ["split:1", "split"]  # the second output of Split
    assert nodes["split"].attr["axis"].i == 1
    batch = nodes["input/x"].attr["_output_shapes"].list.shape[0].dim
    assert [(d.size, d.name) for d in batch] == [(-1, "batch"), (4, "")]
    assert [d.size for d in nodes["fc/MatMul"].attr["_output_shapes"].list.shape[0].dim] == [-1, 3]
    assert list(nodes["output/out"].input) == ["cat"]


def test_add_onnx_graph_without_onnx_or_with_a_bad_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = SummaryWriter(tmp_path / "onnx_errors")
    (tmp_path / "garbage.onnx").write_bytes(b"\xff\x00 not a model")
    with pytest.raises(UsageError, match=r"is not an ONNX model"):
        writer.add_onnx_graph(tmp_path / "garbage.onnx")
    with pytest.raises(LookupError, match="no ONNX model file"):
        writer.add_onnx_graph(tmp_path / "missing.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(UsageError) as raised:
        writer.add_onnx_graph(tmp_path / "garbage.onnx")
    assert str(raised.value) == (
        "add_onnx_graph needs the onnx package: pip install 'stepscope[onnx]'"
    )
    writer.close()
    assert not EventAccumulator(str(tmp_path / "onnx_errors")).Reload().Tags()["graph"]
