"""Reading every graph of a logdir: torch's, tensorboardX's and ours, TF2's traces, Keras's layers.

Graphs written by the real clients (torch's and tensorboardX's writers) are
read by stepscope and by TensorBoard's own loader, and must have the same
nodes; TF2's ``trace_export`` and Keras's conceptual graph are written from
the documented format with stepscope's summary helpers (TensorFlow is not
installed here) and read by TensorBoard's graph plugin as well. The JSON of
``/api/plugins/graphs/`` is checked field by field: the Graphs page codes
against it.
"""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorboardX
from fastapi.testclient import TestClient
from google.protobuf import text_format
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import graph_pb2 as tb_graph_pb2
from tensorboard.plugins import base_plugin
from tensorboard.plugins.graph import graphs_plugin, keras_util
from test_graphs_writer import MODELS, write_ours
from torch.jit._trace import TracingCheckError
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import stepscope
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.graphs.read import list_graphs, read_graph
from stepscope.plugins.graphs.summary import (
    graph_event,
    keras_model_summary,
    run_metadata_event,
    run_metadata_summary,
)
from stepscope.proto import event_pb2, graph_pb2, run_metadata_pb2
from stepscope.records import frame_record
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider
from stepscope.tensors import to_tensor_proto
from stepscope.writer.encoding import message_event
from stepscope.writer.event_file import EventFileWriter

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning"
)


def provider_of(logdir: Path) -> DataProvider:
    data = DataProvider(Index.open(parse_logdir_spec(str(logdir)), ":memory:"))
    data.update()
    return data


def write_events(run_dir: Path, *events: event_pb2.Event | bytes) -> None:
    writer = EventFileWriter(str(run_dir))
    for event in events:
        writer.add_event_bytes(event if isinstance(event, bytes) else message_event(event))
    writer.close()


def summary_event(summary: Any, step: int = 0) -> event_pb2.Event:
    return event_pb2.Event(wall_time=1.0, step=step, summary=summary)


def tensorboard_plugin(logdir: Path) -> tuple[graphs_plugin.GraphsPlugin, Any]:
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    plugin = graphs_plugin.GraphsPlugin(base_plugin.TBContext(data_provider=provider))
    return plugin, context.RequestContext()


def tensorboard_graph_impl(
    logdir: Path, run: str, tag: str | None, conceptual: bool = False
) -> Any:
    plugin, ctx = tensorboard_plugin(logdir)
    body, _ = plugin.graph_impl(ctx, run, tag, conceptual, "", 1024, "_too_large_attrs")
    return text_format.Parse(body, tb_graph_pb2.GraphDef())


# -- the real clients' files ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_torchs_and_tensorboardxs_graphs_have_the_nodes_tensorboard_parses(
    tmp_path: Path, name: str
) -> None:
    make, inputs, strict = MODELS[name]
    runs = [name]
    for writer_class in (TorchWriter, tensorboardX.SummaryWriter):
        run = f"{writer_class.__module__.split('.')[0]}_{name}"
        with writer_class(str(tmp_path / run)) as writer:
            if name == "encoder":
                # torch's add_graph checks its trace by running the model again, and
                # nn.TransformerEncoder's second trace differs: it writes no graph.
                # stepscope's only draws the trace, so it has no such check.
                with pytest.raises((TracingCheckError, SystemError)):
                    writer.add_graph(make(), inputs(), use_strict_trace=strict)
                continue
            writer.add_graph(make(), inputs(), use_strict_trace=strict)
        runs.append(run)
    write_ours(tmp_path, name)
    data = provider_of(tmp_path)
    for run in runs:
        expected = EventAccumulator(str(tmp_path / run)).Reload().Graph()
        graph = read_graph(data, run)
        assert [node.name for node in graph.nodes] == [node.name for node in expected.node]
        assert [node.op for node in graph.nodes] == [node.op for node in expected.node]
        inputs_given = sum(len(node.input) for node in expected.node)
        dangling = sum(len(note.nodes) - 1 for note in graph.notes if note.kind == "dangling_input")
        assert len(graph.edges) == inputs_given - dangling  # every input that names a node
    assert read_graph(data, name).notes == []
    kinds = {(info.run, info.tag): (info.kind, info.plugin) for info in list_graphs(data)}
    assert kinds[(name, "step1")] == ("run_metadata", "graph_tagged_run_metadata")
    if name != "encoder":
        # torch's graphs name inputs no node has (the modules' GetAttr); ours resolve them all.
        torchs = read_graph(data, f"torch_{name}").notes
        assert any(note.kind == "dangling_input" for note in torchs)
        assert kinds[(f"tensorboardX_{name}", "profiler")] == (
            "run_metadata",
            "graph_tagged_run_metadata",
        )
    data.index.close()


# -- the JSON ---------------------------------------------------------------------------------


def test_the_graph_route_answers_nodes_edges_scopes_and_notes(tmp_path: Path) -> None:
    write_ours(tmp_path, "cnn")
    data = provider_of(tmp_path)
    with TestClient(create_app(data)) as client:
        response = client.get("/api/plugins/graphs/graph", params={"run": "cnn"})
        assert response.status_code == 200
        body = response.json()
    assert set(body) == {
        "run",
        "tag",
        "kind",
        "step",
        "wall_time",
        "limit_attr_size",
        "truncated_attrs",
        "stats",
        "nodes",
        "edges",
        "scopes",
        "functions",
        "notes",
    }
    assert (body["run"], body["tag"], body["kind"], body["step"]) == (
        "cnn",
        "__run_graph__",
        "op",
        0,
    )
    assert (body["limit_attr_size"], body["truncated_attrs"], body["notes"]) == (1024, 0, [])
    nodes = {node["name"]: node for node in body["nodes"]}
    conv = nodes["CNN/Sequential[features]/Sequential[0]/Conv2d[0]/convolution"]
    assert conv == {
        "name": "CNN/Sequential[features]/Sequential[0]/Conv2d[0]/convolution",
        "op": "aten::_convolution",
        "scope": "CNN/Sequential[features]/Sequential[0]/Conv2d[0]",
        "inputs": [
            "input/x",
            "CNN/Sequential[features]/Sequential[0]/Conv2d[0]/weight",
            "CNN/Sequential[features]/Sequential[0]/Conv2d[0]/bias",
        ],
        "device": "",
        "outputs": [{"shape": [2, 4, 12, 12], "dtype": "float32"}],
        "attrs": conv["attrs"],
        "module": {"path": "features.0.0", "class": "torch.nn.modules.conv.Conv2d"},
        "param": None,
        "stats": None,
    }
    assert conv["attrs"]["stride"] == {"list": {"i": [1, 1]}}
    assert conv["attrs"]["groups"] == {"i": 1}
    assert conv["attrs"]["transposed"] == {"b": False}
    assert "_output_shapes" not in conv["attrs"]  # lifted into "outputs"
    weight = nodes["CNN/Sequential[features]/Sequential[0]/Conv2d[0]/weight"]
    assert (weight["op"], weight["inputs"]) == ("Parameter", [])
    assert weight["param"] == {
        "name": "features.0.0.weight",
        "shape": [4, 1, 3, 3],
        "dtype": "float32",
        "kind": "parameter",
    }
    assert weight["attrs"] == {"requires_grad": {"b": True}}
    edges = [edge for edge in body["edges"] if edge["to"] == conv["name"]]
    assert edges[0] == {
        "from": "input/x",
        "to": conv["name"],
        "from_output": 0,
        "to_input": 0,
        "control": False,
        "shape": [2, 1, 14, 14],
        "dtype": "float32",
    }
    assert [edge["to_input"] for edge in edges] == [0, 1, 2]
    scopes = {scope["name"]: scope for scope in body["scopes"]}
    assert scopes[""]["parent"] is None
    assert scopes[""]["children"] == ["input", "CNN", "output"]
    assert scopes[""]["total"] == len(body["nodes"])
    assert scopes[""]["param_count"] == sum(p.numel() for p in MODELS["cnn"][0]().parameters())
    block = scopes["CNN/Sequential[features]/Sequential[0]/Conv2d[0]"]
    assert block == {
        "name": "CNN/Sequential[features]/Sequential[0]/Conv2d[0]",
        "parent": "CNN/Sequential[features]/Sequential[0]",
        "children": [],
        "nodes": 3,
        "total": 3,
        "module": {"path": "features.0.0", "class": "torch.nn.modules.conv.Conv2d"},
        "params": block["params"],
        "param_count": 4 * 1 * 3 * 3 + 4,
    }
    assert sorted(p["name"] for p in block["params"]) == [
        "features.0.0.bias",
        "features.0.0.weight",
    ]
    assert scopes["CNN/Sequential[features]"]["children"] == [
        "CNN/Sequential[features]/Sequential[0]",
        "CNN/Sequential[features]/Sequential[1]",
    ]
    data.index.close()


def test_graphs_are_listed_in_the_tags_plugins_and_graphs_routes(tmp_path: Path) -> None:
    write_ours(tmp_path, "mlp")
    write_ours(tmp_path, "looped")
    data = provider_of(tmp_path)
    with TestClient(create_app(data)) as client:
        tags = client.get("/api/tags").json()
        assert tags["mlp"]["__run_graph__"]["plugin"] == "graphs"
        assert tags["mlp"]["step1"]["plugin"] == "graph_tagged_run_metadata"
        plugins = {p["name"]: p for p in client.get("/api/plugins").json()["plugins"]}
        assert plugins["graphs"] == {
            "name": "graphs",
            "title": "Graphs",
            "order": 50,
            "claims": [
                "graphs",
                "graph_tagged_run_metadata",
                "graph_run_metadata",
                "graph_run_metadata_graph",
                "graph_keras_model",
            ],
            "page": {"builtin": "graphs"},
            "fallback": False,
            "problem": None,
        }
        listed = client.get("/api/plugins/graphs/graphs", params={"run": "mlp"}).json()
        everything = client.get("/api/plugins/graphs/graphs").json()
    assert listed["run"] == "mlp"
    [graph, metadata] = listed["graphs"]
    assert graph == {
        "run": "mlp",
        "tag": "__run_graph__",
        "plugin": "graphs",
        "kind": "op",
        "step": 0,
        "wall_time": graph["wall_time"],
        "steps": [0],
        "nodes": len(read_graph(data, "mlp").nodes),
        "profile": False,
        "bytes": graph["bytes"],
    }
    assert (metadata["tag"], metadata["kind"], metadata["nodes"]) == ("step1", "run_metadata", 0)
    assert {(g["run"], g["tag"]) for g in everything["graphs"]} == {
        ("looped", "__run_graph__"),
        ("looped", "step1"),
        ("mlp", "__run_graph__"),
        ("mlp", "step1"),
    }
    # Graphs are references into the event files, never copies in the index.
    assert len(data.sql("SELECT * FROM tensors")) == 0
    refs = data.sql("SELECT run, tag, path, length FROM blobs ORDER BY run, tag")
    assert list(refs["tag"]) == ["__run_graph__", "step1", "__run_graph__", "step1"]
    assert all(Path(path).is_file() for path in refs["path"])
    data.index.close()


def test_bad_requests_are_one_line_with_their_status(tmp_path: Path) -> None:
    write_ours(tmp_path, "mlp")
    write_events(tmp_path / "mlp", summary_event(keras_model_summary("{not json")))
    data = provider_of(tmp_path)
    with TestClient(create_app(data)) as client:

        def error(params: dict[str, Any]) -> tuple[int, str]:
            response = client.get("/api/plugins/graphs/graph", params=params)
            return response.status_code, response.json()["error"]["message"]

        assert error({"run": "nope"}) == (404, "no run named 'nope' in this logdir")
        assert error({"run": "mlp", "tag": "nope"}) == (404, "run 'mlp' has no graph 'nope'")
        assert error({"run": "mlp", "step": 3}) == (
            404,
            "run 'mlp' has no graph '__run_graph__' at step 3",
        )
        status, message = error({"run": "mlp", "limit_attr_size": 0})
        assert status == 400
        assert "limit_attr_size" in message
        assert error({"run": "mlp", "stats": "__run_graph__"}) == (
            400,
            "stats='__run_graph__' is not run metadata of run 'mlp' (it is graphs)",
        )
        status, message = error({"run": "mlp", "tag": "keras"})
        assert status == 422
        assert message.startswith("the graph 'keras' of run 'mlp' at step 0 is damaged (not JSON")
    data.index.close()


# -- TF2's traces and Keras's conceptual graph --------------------------------------------------


def function_graph(prefix: str) -> graph_pb2.GraphDef:
    """A small TF-style graph: a placeholder, a matmul of it (and a control input), a relu."""
    x = graph_pb2.NodeDef(name="x", op="Placeholder")
    x.attr["dtype"].type = 1
    x.attr["_output_shapes"].list.shape.add().dim.add(size=3)
    w = graph_pb2.NodeDef(name=f"{prefix}/w", op="Const")
    w.attr["value"].tensor.CopyFrom(to_tensor_proto(np.ones((3, 3), np.float32)))
    w.attr["dtype"].type = 1
    mm = graph_pb2.NodeDef(name=f"{prefix}/MatMul", op="MatMul", input=["x", f"{prefix}/w", "^x"])
    mm.attr["T"].type = 1
    relu = graph_pb2.NodeDef(name=f"{prefix}/Relu", op="Relu", input=[f"{prefix}/MatMul"])
    return graph_pb2.GraphDef(node=[x, w, mm, relu], versions=graph_pb2.VersionDef(producer=1))


def step_stats() -> run_metadata_pb2.StepStats:
    stats = run_metadata_pb2.NodeExecStats(node_name="dense/MatMul", all_end_rel_micros=250)
    stats.memory.add(allocator_name="cpu", total_bytes=4096, peak_bytes=8192)
    other = run_metadata_pb2.NodeExecStats(node_name="dense/MatMul", all_end_rel_micros=50)
    device = run_metadata_pb2.DeviceStepStats(device="/device:CPU:0", node_stats=[stats])
    second = run_metadata_pb2.DeviceStepStats(device="/device:GPU:0", node_stats=[other])
    return run_metadata_pb2.StepStats(dev_stats=[device, second])


def test_tf2_trace_exports_are_read_with_their_function_graphs_and_step_stats(
    tmp_path: Path,
) -> None:
    traced = run_metadata_pb2.RunMetadata()
    for prefix in ("dense", "dense"):  # two calls of one tf.function: node names repeat
        traced.function_graphs.add().pre_optimization_graph.CopyFrom(function_graph(prefix))
    profiled = run_metadata_pb2.RunMetadata(step_stats=step_stats())
    profiled.function_graphs.add().pre_optimization_graph.CopyFrom(function_graph("dense"))
    write_events(
        tmp_path / "tf2",
        summary_event(run_metadata_summary("my_func", traced)),
        summary_event(run_metadata_summary("profiled", profiled, profile=True)),
    )
    data = provider_of(tmp_path)
    graph = read_graph(data, "tf2", "my_func")
    assert graph.kind == "run_metadata"
    names = [node.name for node in graph.nodes]
    assert names == [
        f"graph_{n}/{name}"
        for n in (1, 2)
        for name in ("x", "dense/w", "dense/MatMul", "dense/Relu")
    ]
    ours = {node.name: node for node in graph.nodes}
    assert ours["graph_1/dense/MatMul"].inputs == ["graph_1/x", "graph_1/dense/w", "^graph_1/x"]
    control = [edge for edge in graph.edges if edge.control]
    assert [(e.source, e.target, e.target_input) for e in control] == [
        ("graph_1/x", "graph_1/dense/MatMul", 2),
        ("graph_2/x", "graph_2/dense/MatMul", 2),
    ]
    assert ours["graph_1/x"].outputs[0].shape == [3]
    assert ours["graph_1/x"].outputs[0].dtype == "float32"
    assert ours["graph_1/dense/MatMul"].outputs[0].dtype == "float32"  # from its "T"
    tensorboard = tensorboard_graph_impl(tmp_path, "tf2", "my_func")
    assert [node.name for node in tensorboard.node] == names
    assert [node.name for node in tensorboard.node if "_too_large_attrs" in node.attr] == []

    profile = read_graph(data, "tf2", "profiled")
    matmul = next(node for node in profile.nodes if node.name == "dense/MatMul")
    assert matmul.stats == {
        "compute_micros": 300,
        "memory_bytes": 4096,
        "peak_bytes": 8192,
        "devices": ["/device:CPU:0", "/device:GPU:0"],
    }
    plugin, ctx = tensorboard_plugin(tmp_path)
    info = plugin.info_impl(ctx, "")["tf2"]["tags"]
    assert (info["my_func"]["op_graph"], info["my_func"]["profile"]) == (True, False)
    assert (info["profiled"]["op_graph"], info["profiled"]["profile"]) == (True, True)
    listed = {g.tag: g for g in list_graphs(data, "tf2")}
    assert (listed["my_func"].nodes, listed["my_func"].profile) == (8, False)
    assert (listed["profiled"].nodes, listed["profiled"].profile) == (4, True)
    data.index.close()


def test_tagged_run_metadata_step_stats_join_the_runs_op_graph(tmp_path: Path) -> None:
    graph = function_graph("dense")
    write_events(
        tmp_path / "tf1",
        graph_event(graph, 1.0),
        run_metadata_event("session_run_3", run_metadata_pb2.RunMetadata(step_stats=step_stats())),
    )
    data = provider_of(tmp_path)
    joined = read_graph(data, "tf1", stats="session_run_3")
    assert joined.stats == "session_run_3"
    stats = {node.name: node.stats for node in joined.nodes}
    assert stats["dense/MatMul"]["compute_micros"] == 300
    assert stats["dense/Relu"] is None
    alone = read_graph(data, "tf1", "session_run_3")
    assert alone.nodes == []
    assert [note.kind for note in alone.notes] == ["no_graph"]
    data.index.close()


KERAS_3 = {
    "module": "keras",
    "class_name": "Functional",
    "config": {
        "name": "model",
        "trainable": True,
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"name": "input", "batch_shape": [None, 8], "dtype": "float32"},
                "inbound_nodes": [],
            },
            {
                "class_name": "Dense",
                "config": {
                    "name": "dense",
                    "units": 16,
                    "activation": "relu",
                    "dtype": {"class_name": "DTypePolicy", "config": {"name": "float32"}},
                },
                "inbound_nodes": [
                    {"args": [{"config": {"keras_history": ["input", 0, 0]}}], "kwargs": {}}
                ],
            },
            {
                "class_name": "Sequential",
                "config": {
                    "name": "head",
                    "layers": [
                        {"class_name": "Dense", "config": {"name": "d1", "units": 4}},
                        {"class_name": "Dense", "config": {"name": "d2", "units": 2}},
                    ],
                },
                "inbound_nodes": [{"args": [{"config": {"keras_history": ["dense", 0, 0]}}]}],
            },
            {
                "class_name": "Add",
                "config": {"name": "add"},
                "inbound_nodes": [
                    {
                        "args": [
                            [
                                {"config": {"keras_history": ["head", 0, 0]}},
                                {"config": {"keras_history": ["head", 0, 0]}},
                            ]
                        ]
                    }
                ],
            },
        ],
        "input_layers": [["input", 0, 0]],
        "output_layers": [["add", 0, 0]],
    },
}


def test_keras_conceptual_graphs_are_drawn_as_layers_as_tensorboard_does(tmp_path: Path) -> None:
    text = json.dumps(KERAS_3)
    keras_2 = {
        "class_name": "Model",
        "config": {
            "name": "old",
            "layers": [
                {"class_name": "InputLayer", "config": {"name": "in"}, "inbound_nodes": []},
                {
                    "class_name": "Dense",
                    "config": {"name": "out", "units": 1},
                    "inbound_nodes": [[["in", 0, 0, {}]]],
                },
            ],
            "input_layers": [["in", 0, 0]],
            "output_layers": [["out", 0, 0]],
        },
    }
    write_events(tmp_path / "keras", summary_event(keras_model_summary(text)))
    write_events(tmp_path / "keras2", summary_event(keras_model_summary(json.dumps(keras_2))))
    data = provider_of(tmp_path)
    graph = read_graph(data, "keras", "keras")
    assert graph.kind == "keras"
    expected = keras_util.keras_model_to_graph_def(json.loads(text))
    assert [(n.name, n.inputs) for n in graph.nodes] == [
        (n.name, list(n.input)) for n in expected.node
    ]
    served = tensorboard_graph_impl(tmp_path, "keras", "keras", conceptual=True)
    assert [n.name for n in served.node] == [n.name for n in graph.nodes]
    nodes = {node.name: node for node in graph.nodes}
    dense = nodes["model/dense"]
    assert (dense.op, dense.outputs[0].dtype) == ("Dense", "float32")
    assert dense.attrs["units"] == {"i": 16}
    assert dense.attrs["activation"] == {"s": "relu"}
    assert dense.attrs["keras_class"] == {"s": "Dense"}
    assert nodes["model/head/d1"].inputs == ["model/dense"]
    add_edges = [edge for edge in graph.edges if edge.target == "model/add"]
    assert [(e.source, e.target_input) for e in add_edges] == [
        ("model/head/d2", 0),
        ("model/head/d2", 1),
    ]
    assert {scope.name for scope in graph.scopes} == {"", "model", "model/head"}
    old = read_graph(data, "keras2", "keras")
    assert [(n.name, n.inputs) for n in old.nodes] == [("old/in", []), ("old/out", ["old/in"])]
    data.index.close()


# -- bad input ----------------------------------------------------------------------------------


def test_dangling_inputs_cycles_and_duplicate_names_are_notes_and_the_graph_still_draws(
    tmp_path: Path,
) -> None:
    split = graph_pb2.NodeDef(name="split", op="Split")
    split.attr["_output_shapes"].list.shape.add().dim.add(size=2)
    split.attr["_output_shapes"].list.shape.add().dim.add(size=5)
    nodes = [
        graph_pb2.NodeDef(name="a", op="Placeholder"),
        split,
        graph_pb2.NodeDef(name="b", op="Add", input=["a", "a", "missing", "^a", "split:1"]),
        graph_pb2.NodeDef(name="loop/c", op="Merge", input=["b", "loop/next"]),
        graph_pb2.NodeDef(name="loop/next", op="NextIteration", input=["loop/c"]),
        graph_pb2.NodeDef(name="a", op="Placeholder"),
        graph_pb2.NodeDef(name="self", op="Identity", input=["self"]),
    ]
    write_events(tmp_path / "odd", graph_event(graph_pb2.GraphDef(node=nodes), 1.0))
    data = provider_of(tmp_path)
    graph = read_graph(data, "odd")
    assert [node.name for node in graph.nodes] == [
        "a",
        "split",
        "b",
        "loop/c",
        "loop/next",
        "a (2)",
        "self",
    ]
    notes = {(note.kind, tuple(note.nodes)) for note in graph.notes}
    assert ("duplicate_name", ("a",)) in notes
    assert ("dangling_input", ("missing", "b")) in notes
    assert ("cycle", ("loop/c", "loop/next")) in notes
    assert ("cycle", ("self",)) in notes
    into_b = [
        (e.source, e.source_output, e.target_input, e.control, e.shape)
        for e in graph.edges
        if e.target == "b"
    ]
    assert into_b == [
        ("a", 0, 0, False, None),
        ("a", 0, 1, False, None),  # parallel edges stay two edges
        ("a", 0, 3, True, None),
        ("split", 1, 4, False, [5]),  # the second output's shape
    ]
    data.index.close()


def test_a_damaged_graph_event_is_reported_on_its_run_and_the_rest_is_read(tmp_path: Path) -> None:
    good = function_graph("dense")
    # Field 1 (a node) claims 200 bytes where 3 follow: a graph whose framing is broken.
    broken = event_pb2.Event(wall_time=2.0, graph_def=b"\x0a\xc8\x01abc")
    scalar = event_pb2.Event(wall_time=3.0, step=1)
    scalar.summary.value.add(tag="loss", simple_value=0.5)
    write_events(tmp_path / "damaged", broken, scalar, graph_event(good, 4.0))
    data = provider_of(tmp_path)
    [run] = data.runs()
    assert run.corrupt_records == 1
    [problem] = run.problems
    assert "a damaged graph_def (field 1 at byte" in problem
    assert problem.endswith("the rest of the run is still read")
    assert list(data.scalars("damaged", "loss").values) == [0.5]
    assert len(data.blobs("damaged", "__run_graph__")) == 1  # only the good one
    assert [node.name for node in read_graph(data, "damaged").nodes][-1] == "dense/Relu"
    data.index.close()

    # A graph whose nodes frame well but do not parse is refused when read, in one line.
    inner = b"\x2a\x03\x0a\x01\xff"  # an attr entry holding a broken key
    write_events(
        tmp_path / "inner", event_pb2.Event(graph_def=b"\x0a" + bytes([len(inner)]) + inner)
    )
    data = provider_of(tmp_path)
    with TestClient(create_app(data)) as client:
        response = client.get("/api/plugins/graphs/graph", params={"run": "inner"})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(
        "the graph '__run_graph__' of run 'inner' at step 0 is damaged"
    )
    data.index.close()


def test_a_newer_graph_is_read_by_default_and_an_older_one_by_step(tmp_path: Path) -> None:
    first = graph_pb2.GraphDef(node=[graph_pb2.NodeDef(name="first", op="A")])
    second = graph_pb2.GraphDef(node=[graph_pb2.NodeDef(name="second", op="B")])
    later = graph_event(second, 2.0)
    later.step = 7
    write_events(tmp_path / "steps", graph_event(first, 1.0))
    data = provider_of(tmp_path)
    assert [n.name for n in read_graph(data, "steps").nodes] == ["first"]
    write_events(tmp_path / "steps", later)  # appended: a second file of the run
    data.update()
    assert [n.name for n in read_graph(data, "steps").nodes] == ["second"]
    assert [n.name for n in read_graph(data, "steps", step=0).nodes] == ["first"]
    assert list_graphs(data, "steps")[0].steps == [0, 7]
    data.index.close()


@pytest.mark.slow
def test_a_200_mb_graph_opens_with_its_constants_truncated_in_bounded_memory(
    tmp_path: Path,
) -> None:
    count, size = 4, 12_500_000  # four float32 constants of 50 MB
    nodes = [graph_pb2.NodeDef(name="input", op="Placeholder")]
    for number in range(count):
        const = graph_pb2.NodeDef(name=f"weights/w{number}", op="Const")
        tensor = const.attr["value"].tensor
        tensor.dtype = 1
        tensor.tensor_shape.dim.add(size=size)
        tensor.tensor_content = bytes(4 * size)
        const.attr["dtype"].type = 1
        nodes.append(const)
        nodes.append(graph_pb2.NodeDef(name=f"mul{number}", op="Mul", input=["input", const.name]))
    payload = message_event(graph_event(graph_pb2.GraphDef(node=nodes), 1.0))
    del nodes, const, tensor
    assert len(payload) > 200_000_000
    run = tmp_path / "huge"
    run.mkdir()
    (run / "events.out.tfevents.1.huge").write_bytes(frame_record(payload))
    del payload
    data = provider_of(tmp_path)
    assert data.runs()[0].problems == []

    tracemalloc.start()
    try:
        graph = read_graph(data, "huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the answer's size, not the constants'
    assert graph.assembled.truncated_attrs == count
    value = next(node for node in graph.nodes if node.name == "weights/w0").attrs["value"]
    assert value["truncated"] is True
    assert value["bytes"] > 4 * size
    assert value["tensor"] == {"dtype": "float32", "shape": [size], "values": None}
    with TestClient(create_app(data)) as client:
        response = client.get("/api/plugins/graphs/graph", params={"run": "huge"})
        listed = client.get("/api/plugins/graphs/graphs", params={"run": "huge"}).json()
    assert response.status_code == 200
    assert len(response.content) < 20_000
    assert listed["graphs"][0]["nodes"] == 1 + 2 * count
    data.index.close()


# -- the Python API ---------------------------------------------------------------------------


def test_stepscope_open_reads_graphs(tmp_path: Path) -> None:
    write_ours(tmp_path / "logs", "looped")
    with stepscope.open(str(tmp_path / "logs"), index=str(tmp_path / "index.duckdb")) as logdir:
        listed = logdir.graphs()
        assert list(listed.columns) == ["run", "tag", "plugin", "kind", "step", "nodes", "profile"]
        assert list(listed["tag"]) == ["__run_graph__", "step1"]
        graph = logdir.graph("looped")
        linear = [node for node in graph.nodes if node.op == "aten::linear"]
        assert [node.outputs[0].shape for node in linear] == [[3, 6]] * 3
        assert {(edge.source, edge.target) for edge in graph.edges} >= {
            ("input/x", "Looped/Sequential[block]/Linear[0]/linear")
        }
        assert graph.scopes[0].total == len(graph.nodes)


def test_the_proto_constants_match_what_the_writer_frames() -> None:
    # Event.graph_def is field 4 (tag byte 0x22): what loader/graphs.py walks to.
    event = graph_event(graph_pb2.GraphDef(node=[graph_pb2.NodeDef(name="n")]), 1.0)
    raw = event.SerializeToString()
    assert raw[9] == 0x22
    assert struct.unpack("<d", raw[1:9])[0] == 1.0
