"""Wire compatibility of stepscope's protobuf messages with TensorBoard's.

Every populated message is serialized with one implementation and parsed with
the other, in both directions, and the parsed fields are compared by name. A
field with a wrong number lands in another field or in the unknown fields and
the comparison fails. A coverage test makes sure the samples set every field
of every message we define, and a layout test compares the descriptors
directly (catching e.g. int32 vs int64, which small sample values would not).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from google.protobuf import json_format, struct_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from tensorboard.compat.proto import attr_value_pb2 as tb_attr_value_pb2
from tensorboard.compat.proto import config_pb2 as tb_config_pb2
from tensorboard.compat.proto import event_pb2 as tb_event_pb2
from tensorboard.compat.proto import function_pb2 as tb_function_pb2
from tensorboard.compat.proto import graph_pb2 as tb_graph_pb2
from tensorboard.compat.proto import histogram_pb2 as tb_histogram_pb2
from tensorboard.compat.proto import node_def_pb2 as tb_node_def_pb2
from tensorboard.compat.proto import op_def_pb2 as tb_op_def_pb2
from tensorboard.compat.proto import step_stats_pb2 as tb_step_stats_pb2
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.compat.proto import tensor_pb2 as tb_tensor_pb2
from tensorboard.compat.proto import tensor_shape_pb2 as tb_tensor_shape_pb2
from tensorboard.compat.proto import types_pb2 as tb_types_pb2
from tensorboard.compat.proto import versions_pb2 as tb_versions_pb2
from tensorboard.plugins.audio import plugin_data_pb2 as tb_audio_pb2
from tensorboard.plugins.custom_scalar import layout_pb2 as tb_layout_pb2
from tensorboard.plugins.hparams import api_pb2 as tb_hparams_api_pb2
from tensorboard.plugins.hparams import plugin_data_pb2 as tb_hparams_pb2
from tensorboard.plugins.mesh import plugin_data_pb2 as tb_mesh_pb2
from tensorboard.plugins.pr_curve import plugin_data_pb2 as tb_pr_curve_pb2
from tensorboard.plugins.text import plugin_data_pb2 as tb_text_pb2

from stepscope.proto import (
    event_pb2,
    graph_pb2,
    plugin_audio_pb2,
    plugin_custom_scalars_pb2,
    plugin_hparams_pb2,
    plugin_mesh_pb2,
    plugin_pr_curves_pb2,
    plugin_text_pb2,
    run_metadata_pb2,
    summary_pb2,
    tensor_pb2,
)

OUR_MODULES = [
    event_pb2,
    summary_pb2,
    tensor_pb2,
    plugin_audio_pb2,
    plugin_custom_scalars_pb2,
    plugin_hparams_pb2,
    plugin_mesh_pb2,
    plugin_pr_curves_pb2,
    plugin_text_pb2,
    graph_pb2,
    run_metadata_pb2,
]

# Our top-level message -> TensorBoard's message with the same wire format.
# Nested and referenced messages are paired by following fields of the same
# name, so only the roots (and any message not reachable from them) are here.
TB_COUNTERPART: dict[str, type[Message]] = {
    "stepscope.Event": tb_event_pb2.Event,
    "stepscope.Summary": tb_summary_pb2.Summary,
    "stepscope.SummaryMetadata": tb_summary_pb2.SummaryMetadata,
    "stepscope.HistogramProto": tb_histogram_pb2.HistogramProto,
    "stepscope.TensorProto": tb_tensor_pb2.TensorProto,
    "stepscope.TensorShapeProto": tb_tensor_shape_pb2.TensorShapeProto,
    "stepscope.SourceMetadata": tb_event_pb2.SourceMetadata,
    "stepscope.LogMessage": tb_event_pb2.LogMessage,
    "stepscope.SessionLog": tb_event_pb2.SessionLog,
    "stepscope.TaggedRunMetadata": tb_event_pb2.TaggedRunMetadata,
    "stepscope.pr_curves.PrCurvePluginData": tb_pr_curve_pb2.PrCurvePluginData,
    "stepscope.text.TextPluginData": tb_text_pb2.TextPluginData,
    "stepscope.audio.AudioPluginData": tb_audio_pb2.AudioPluginData,
    "stepscope.mesh.MeshPluginData": tb_mesh_pb2.MeshPluginData,
    "stepscope.hparams.HParamsPluginData": tb_hparams_pb2.HParamsPluginData,
    "stepscope.hparams.SessionStartInfo": tb_hparams_pb2.SessionStartInfo,
    "stepscope.hparams.SessionEndInfo": tb_hparams_pb2.SessionEndInfo,
    "stepscope.hparams.Experiment": tb_hparams_api_pb2.Experiment,
    "stepscope.hparams.HParamInfo": tb_hparams_api_pb2.HParamInfo,
    "stepscope.hparams.Interval": tb_hparams_api_pb2.Interval,
    "stepscope.hparams.MetricInfo": tb_hparams_api_pb2.MetricInfo,
    "stepscope.hparams.MetricName": tb_hparams_api_pb2.MetricName,
    "stepscope.custom_scalars.Layout": tb_layout_pb2.Layout,
    "stepscope.custom_scalars.Category": tb_layout_pb2.Category,
    "stepscope.custom_scalars.Chart": tb_layout_pb2.Chart,
    "stepscope.custom_scalars.MultilineChartContent": tb_layout_pb2.MultilineChartContent,
    "stepscope.custom_scalars.MarginChartContent": tb_layout_pb2.MarginChartContent,
    "stepscope.GraphDef": tb_graph_pb2.GraphDef,
    "stepscope.NodeDef": tb_node_def_pb2.NodeDef,
    "stepscope.AttrValue": tb_attr_value_pb2.AttrValue,
    "stepscope.NameAttrList": tb_attr_value_pb2.NameAttrList,
    "stepscope.VersionDef": tb_versions_pb2.VersionDef,
    "stepscope.FunctionDefLibrary": tb_function_pb2.FunctionDefLibrary,
    "stepscope.FunctionDef": tb_function_pb2.FunctionDef,
    "stepscope.OpDef": tb_op_def_pb2.OpDef,
    "stepscope.GradientDef": tb_function_pb2.GradientDef,
    "stepscope.RunMetadata": tb_config_pb2.RunMetadata,
    "stepscope.StepStats": tb_step_stats_pb2.StepStats,
    "stepscope.DeviceStepStats": tb_step_stats_pb2.DeviceStepStats,
    "stepscope.NodeExecStats": tb_step_stats_pb2.NodeExecStats,
    "stepscope.AllocatorMemoryUsed": tb_step_stats_pb2.AllocatorMemoryUsed,
    "stepscope.AllocationRecord": tb_step_stats_pb2.AllocationRecord,
    "stepscope.NodeOutput": tb_step_stats_pb2.NodeOutput,
    "stepscope.MemoryStats": tb_step_stats_pb2.MemoryStats,
}

# Top-level enums -> TensorBoard's enum. Nested enums are reached via fields.
TB_ENUM_COUNTERPART: dict[str, EnumDescriptor] = {
    "stepscope.DataType": tb_types_pb2.DataType.DESCRIPTOR,
    "stepscope.DataClass": tb_summary_pb2.DataClass.DESCRIPTOR,
    "stepscope.hparams.Status": tb_hparams_api_pb2.Status.DESCRIPTOR,
    "stepscope.hparams.DataType": tb_hparams_api_pb2.DataType.DESCRIPTOR,
    "stepscope.hparams.DatasetType": tb_hparams_api_pb2.DatasetType.DESCRIPTOR,
}


# --------------------------------------------------------------------------
# Samples: together they set every field of every message, every oneof member
# included, to a non-default value.


def _tensor() -> tensor_pb2.TensorProto:
    t = tensor_pb2.TensorProto(
        dtype=tensor_pb2.DT_FLOAT,
        version_number=7,
        tensor_content=b"\x00\x00\x80?",
        half_val=[15360, -1],
        float_val=[0.5, -2.25],
        double_val=[1e300, -0.125],
        int_val=[-5, 2**31 - 1],
        string_val=[b"a\xff", b""],
        scomplex_val=[1.0, -1.0],
        int64_val=[-(2**63), 2**40],
        bool_val=[True, False],
        dcomplex_val=[3.5, 4.5],
        uint32_val=[2**32 - 1],
        uint64_val=[2**64 - 1],
    )
    t.tensor_shape.dim.add(size=3, name="batch")
    t.tensor_shape.dim.add(size=-1)
    t.tensor_shape.unknown_rank = True
    return t


def _metadata() -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="scalars", content=b"\x08\x01"
        ),
        display_name="Loss",
        summary_description="**training** loss",
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    )


def _summary() -> summary_pb2.Summary:
    s = summary_pb2.Summary()
    s.value.add(tag="loss", node_name="loss_node", metadata=_metadata(), simple_value=0.75)
    s.value.add(tag="old_histo", obsolete_old_style_histogram=b"\x01\x02")
    s.value.add(
        tag="img",
        image=summary_pb2.Summary.Image(
            height=2, width=3, colorspace=4, encoded_image_string=b"\x89PNG"
        ),
    )
    s.value.add(
        tag="weights",
        histo=summary_pb2.HistogramProto(
            min=-1.5,
            max=2.5,
            num=10.0,
            sum=3.0,
            sum_squares=12.5,
            bucket_limit=[0.0, 1.0, 2.5],
            bucket=[4.0, 5.0, 1.0],
        ),
    )
    s.value.add(
        tag="clip",
        audio=summary_pb2.Summary.Audio(
            sample_rate=44100.0,
            num_channels=2,
            length_frames=2**33,
            encoded_audio_string=b"RIFF",
            content_type="audio/wav",
        ),
    )
    s.value.add(tag="t", tensor=_tensor())
    return s


def _events() -> Iterator[Message]:
    meta = event_pb2.SourceMetadata(writer="stepscope")
    yield event_pb2.Event(
        wall_time=1700000000.25, step=-3, file_version="brain.Event:2", source_metadata=meta
    )
    yield event_pb2.Event(wall_time=1.5, step=2**40, graph_def=b"\x0a\x03\x0a\x01x")
    yield event_pb2.Event(step=5, summary=_summary())
    yield event_pb2.Event(
        log_message=event_pb2.LogMessage(level=event_pb2.LogMessage.WARN, message="careful")
    )
    yield event_pb2.Event(
        session_log=event_pb2.SessionLog(
            status=event_pb2.SessionLog.CHECKPOINT, checkpoint_path="/ckpt/model-5", msg="saved"
        )
    )
    yield event_pb2.Event(
        tagged_run_metadata=event_pb2.TaggedRunMetadata(tag="step1", run_metadata=b"\x12\x00")
    )
    yield event_pb2.Event(meta_graph_def=b"\x0a\x00")


def _hparams() -> Iterator[Message]:
    experiment = plugin_hparams_pb2.Experiment(
        name="sweep",
        description="lr sweep",
        user="me",
        time_created_secs=1700000000.5,
    )
    experiment.hparam_infos.add(
        name="optimizer",
        display_name="Optimizer",
        description="which one",
        type=plugin_hparams_pb2.DATA_TYPE_STRING,
        domain_discrete=struct_pb2.ListValue(values=[struct_pb2.Value(string_value="adam")]),
        differs=True,
    )
    experiment.hparam_infos.add(
        name="lr",
        type=plugin_hparams_pb2.DATA_TYPE_FLOAT64,
        domain_interval=plugin_hparams_pb2.Interval(min_value=1e-5, max_value=0.5),
    )
    experiment.metric_infos.add(
        name=plugin_hparams_pb2.MetricName(group="validation", tag="accuracy"),
        display_name="Accuracy",
        description="top-1",
        dataset_type=plugin_hparams_pb2.DATASET_VALIDATION,
    )
    yield plugin_hparams_pb2.HParamsPluginData(version=1, experiment=experiment)

    start = plugin_hparams_pb2.SessionStartInfo(
        model_uri="file:///model",
        monitor_url="http://localhost:6006",
        group_name="group-1",
        start_time_secs=1700000001.0,
    )
    start.hparams["lr"].number_value = 0.01
    start.hparams["optimizer"].string_value = "adam"
    start.hparams["nesterov"].bool_value = True
    yield plugin_hparams_pb2.HParamsPluginData(version=1, session_start_info=start)

    end = plugin_hparams_pb2.SessionEndInfo(
        status=plugin_hparams_pb2.STATUS_RUNNING, end_time_secs=1700000002.0
    )
    yield plugin_hparams_pb2.HParamsPluginData(version=1, session_end_info=end)


def _custom_scalars() -> plugin_custom_scalars_pb2.Layout:
    layout = plugin_custom_scalars_pb2.Layout(version=1)
    category = layout.category.add(title="losses", closed=True)
    category.chart.add(
        title="all losses",
        multiline=plugin_custom_scalars_pb2.MultilineChartContent(tag=[r"loss/.*", "total"]),
    )
    margin = category.chart.add(title="with bounds").margin
    margin.series.add(value="loss/mean", lower="loss/min", upper="loss/max")
    return layout


def _graph() -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef(version=3, versions=graph_pb2.VersionDef(producer=22))
    graph.versions.min_consumer = 1
    graph.versions.bad_consumers.extend([4, 5])
    node = graph.node.add(name="scope/mm", op="MatMul", input=["a", "b:1", "^c"], device="/cpu:0")
    node.attr["s"].s = b"text\xff"
    node.attr["i"].i = -(2**40)
    node.attr["f"].f = 0.5
    node.attr["b"].b = True
    node.attr["type"].type = tensor_pb2.DT_DOUBLE
    node.attr["shape"].shape.dim.add(size=-1, name="batch")
    node.attr["tensor"].tensor.CopyFrom(_tensor())
    node.attr["placeholder"].placeholder = "T"
    node.attr["func"].func.name = "f"
    node.attr["func"].func.attr["k"].i = 1
    values = node.attr["list"].list
    values.s.extend([b"x", b""])
    values.i.extend([1, -2])
    values.f.extend([0.25])
    values.b.extend([True, False])
    values.type.extend([tensor_pb2.DT_FLOAT, tensor_pb2.DT_INT64])
    values.shape.add(unknown_rank=True)
    values.tensor.add(dtype=tensor_pb2.DT_INT32, int_val=[1])
    values.func.add(name="g")
    function = graph.library.function.add(signature=graph_pb2.OpDef(name="fn"))
    function.node_def.add(name="inner", op="Identity", input=["x"])
    function.ret["out"] = "inner:output:0"
    function.attr["_noinline"].b = True
    graph.library.gradient.add(function_name="fn", gradient_func="fn_grad")
    return graph


def _run_metadata() -> run_metadata_pb2.RunMetadata:
    stats = run_metadata_pb2.NodeExecStats(
        node_name="scope/mm",
        all_start_micros=1,
        op_start_rel_micros=2,
        op_end_rel_micros=3,
        all_end_rel_micros=4,
        timeline_label="mm = MatMul(a, b)",
        scheduled_micros=5,
        thread_id=6,
        memory_stats=run_metadata_pb2.MemoryStats(
            temp_memory_size=7,
            device_temp_memory_size=8,
            persistent_memory_size=9,
            device_persistent_memory_size=10,
            persistent_tensor_alloc_ids=[11],
            device_persistent_tensor_alloc_ids=[12],
        ),
        all_start_nanos=13,
        op_start_rel_nanos=14,
        op_end_rel_nanos=15,
        all_end_rel_nanos=16,
        scheduled_nanos=17,
    )
    stats.memory.add(
        allocator_name="cpu",
        total_bytes=1,
        peak_bytes=2,
        live_bytes=3,
        allocator_bytes_in_use=4,
        allocation_records=[run_metadata_pb2.AllocationRecord(alloc_micros=5, alloc_bytes=6)],
    )
    allocation = run_metadata_pb2.AllocationDescription(
        requested_bytes=1,
        allocated_bytes=2,
        allocator_name="cpu",
        allocation_id=3,
        has_single_reference=True,
        ptr=2**63,
    )
    description = stats.output.add(slot=1).tensor_description
    description.dtype = tensor_pb2.DT_FLOAT
    description.shape.dim.add(size=2)
    description.allocation_description.CopyFrom(allocation)
    stats.referenced_tensor.append(allocation)
    device = run_metadata_pb2.DeviceStepStats(device="/device:CPU:0", node_stats=[stats])
    device.thread_names[7] = "worker"
    metadata = run_metadata_pb2.RunMetadata(
        step_stats=run_metadata_pb2.StepStats(dev_stats=[device])
    )
    metadata.partition_graphs.add().node.add(name="p")
    graphs = metadata.function_graphs.add()
    graphs.partition_graphs.add().node.add(name="fp")
    graphs.pre_optimization_graph.node.add(name="pre")
    graphs.post_optimization_graph.node.add(name="post")
    return metadata


def _attr_values() -> list[Message]:
    # One AttrValue per member of its oneof (the map entries of nodes are not walked for coverage).
    node = _graph().node[0]
    return [node.attr[key] for key in sorted(node.attr)]


def _samples() -> list[Message]:
    return [
        _graph(),
        *_attr_values(),
        _run_metadata(),
        *_events(),
        *_hparams(),
        _custom_scalars(),
        plugin_pr_curves_pb2.PrCurvePluginData(version=1, num_thresholds=2**32 - 1),
        plugin_text_pb2.TextPluginData(version=3),
        plugin_audio_pb2.AudioPluginData(
            version=1, encoding=plugin_audio_pb2.AudioPluginData.WAV, converted_to_tensor=True
        ),
        plugin_mesh_pb2.MeshPluginData(
            version=1,
            name="bunny",
            content_type=plugin_mesh_pb2.MeshPluginData.COLOR,
            json_config='{"camera": {"fov": 75}}',
            shape=[1, -2, 3],
            components=(1 << 1) | (1 << 3),
        ),
    ]


SAMPLES = _samples()


def _sample_id(message: Message) -> str:
    name: str = message.DESCRIPTOR.full_name
    if message.DESCRIPTOR.oneofs:
        name += "." + ".".join(str(message.WhichOneof(o.name)) for o in message.DESCRIPTOR.oneofs)
    return name


def _as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


# --------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("ours", SAMPLES, ids=_sample_id)
def test_stepscope_to_tensorboard(ours: Message) -> None:
    tb_class = TB_COUNTERPART[ours.DESCRIPTOR.full_name]
    data = ours.SerializeToString(deterministic=True)
    theirs = tb_class.FromString(data)
    assert _as_dict(theirs) == _as_dict(ours)
    assert theirs.SerializeToString(deterministic=True) == data


@pytest.mark.parametrize("ours", SAMPLES, ids=_sample_id)
def test_tensorboard_to_stepscope(ours: Message) -> None:
    # Build TensorBoard's message from field names only, so the field numbers
    # on the wire are TensorBoard's own.
    theirs = TB_COUNTERPART[ours.DESCRIPTOR.full_name]()
    json_format.ParseDict(_as_dict(ours), theirs)
    data = theirs.SerializeToString(deterministic=True)
    parsed = type(ours).FromString(data)
    assert _as_dict(parsed) == _as_dict(theirs)
    assert parsed == ours
    assert parsed.SerializeToString(deterministic=True) == data


def test_wrong_field_number_is_detected() -> None:
    # Guard for the guard: a field encoded under another number must not
    # survive the comparison the round-trip tests rely on.
    moved = tb_event_pb2.Event.FromString(
        event_pb2.Event(step=1, meta_graph_def=b"x").SerializeToString().replace(b"\x4a", b"\x22")
    )  # field 9 -> field 4, both length-delimited
    assert moved.WhichOneof("what") == "graph_def"
    assert _as_dict(moved) != _as_dict(event_pb2.Event(step=1, meta_graph_def=b"x"))


# --------------------------------------------------------------------------
# Coverage and layout


def _all_messages() -> Iterator[Descriptor]:
    def walk(d: Descriptor) -> Iterator[Descriptor]:
        if not d.GetOptions().map_entry:
            yield d
        for nested in d.nested_types:
            yield from walk(nested)

    for module in OUR_MODULES:
        for d in module.DESCRIPTOR.message_types_by_name.values():
            yield from walk(d)


def _set_fields(message: Message) -> Iterator[tuple[str, str]]:
    for field, value in message.ListFields():
        yield message.DESCRIPTOR.full_name, field.name
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        if field.is_repeated:
            for item in value:
                yield from _set_fields(item)
        else:
            yield from _set_fields(value)


def test_samples_set_every_field() -> None:
    covered = {pair for sample in SAMPLES for pair in _set_fields(sample)}
    expected = {(d.full_name, f.name) for d in _all_messages() for f in d.fields}
    assert expected - covered == set()


def _field_layout(field: FieldDescriptor) -> tuple[Any, ...]:
    oneof = field.containing_oneof
    return (
        field.number,
        field.type,
        field.is_repeated,
        field.is_packed,
        field.has_presence,
        oneof.name if oneof is not None else None,
    )


def _compare_enums(ours: EnumDescriptor, theirs: EnumDescriptor) -> None:
    their_values = {v.name: v.number for v in theirs.values}
    for value in ours.values:
        assert their_values.get(value.name) == value.number, f"{ours.full_name}.{value.name}"


def _compare_messages(ours: Descriptor, theirs: Descriptor, seen: set[str]) -> None:
    if ours.full_name in seen:
        return
    seen.add(ours.full_name)
    for field in ours.fields:
        where = f"{ours.full_name}.{field.name}"
        their_field = theirs.fields_by_name.get(field.name)
        assert their_field is not None, f"{where} has no TensorBoard counterpart"
        assert _field_layout(field) == _field_layout(their_field), where
        if field.enum_type is not None:
            assert their_field.enum_type is not None, where
            _compare_enums(field.enum_type, their_field.enum_type)
        if field.message_type is not None:
            assert their_field.message_type is not None, where
            if field.message_type.file.package.startswith("stepscope"):
                _compare_messages(field.message_type, their_field.message_type, seen)
            else:  # well-known types are shared
                assert field.message_type.full_name == their_field.message_type.full_name, where


def test_field_layout_matches_tensorboard() -> None:
    seen: set[str] = set()
    for name, tb_class in TB_COUNTERPART.items():
        ours = next(d for d in _all_messages() if d.full_name == name)
        _compare_messages(ours, cast(Descriptor, tb_class.DESCRIPTOR), seen)
    # Every message we define was reached (map entries are compared too).
    assert {d.full_name for d in _all_messages()} - seen == set()


OUR_TOP_LEVEL_ENUMS = {
    e.full_name: e for m in OUR_MODULES for e in m.DESCRIPTOR.enum_types_by_name.values()
}


def test_every_top_level_enum_has_a_tensorboard_counterpart() -> None:
    assert set(OUR_TOP_LEVEL_ENUMS) == set(TB_ENUM_COUNTERPART)


@pytest.mark.parametrize("name", sorted(TB_ENUM_COUNTERPART))
def test_enum_values_match_tensorboard(name: str) -> None:
    _compare_enums(OUR_TOP_LEVEL_ENUMS[name], TB_ENUM_COUNTERPART[name])


def test_no_descriptor_clash_with_tensorboard() -> None:
    for module in OUR_MODULES:
        assert module.DESCRIPTOR.package.split(".")[0] == "stepscope"
        assert module.DESCRIPTOR.name.startswith("stepscope/proto/")
