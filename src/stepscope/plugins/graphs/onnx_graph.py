"""Writer side: an ONNX model file as a ``GraphDef`` (``add_onnx_graph``, as tensorboardX has it).

Each ONNX node becomes a node named after it (``/features/features.0/Conv``
becomes ``features/features.0/Conv``, so its scopes group), with its
``op_type`` as op and its attributes; graph inputs, initializers (the
weights: their shape and dtype, not their values) and graph outputs become
nodes of their own, ``Input``, ``Initializer`` and ``Output``. Edges follow
the tensors: an input that names another node's second output is
``node:1``. Shapes and dtypes come from the model's inputs, outputs and
``value_info``.

onnx is an optional dependency (``pip install 'stepscope[onnx]'``).
"""

from __future__ import annotations

import os
from typing import Any

from stepscope import tensors
from stepscope.errors import NotFoundError, UsageError
from stepscope.plugins.graphs import metadata
from stepscope.proto import graph_pb2, tensor_pb2

DT = tensor_pb2.DataType
# onnx.TensorProto.DataType -> TensorBoard's DataType.
_ONNX_TYPES = {
    1: DT.DT_FLOAT,
    2: DT.DT_UINT8,
    3: DT.DT_INT8,
    4: DT.DT_UINT16,
    5: DT.DT_INT16,
    6: DT.DT_INT32,
    7: DT.DT_INT64,
    8: DT.DT_STRING,
    9: DT.DT_BOOL,
    10: DT.DT_HALF,
    11: DT.DT_DOUBLE,
    12: DT.DT_UINT32,
    13: DT.DT_UINT64,
    14: DT.DT_COMPLEX64,
    15: DT.DT_COMPLEX128,
    16: DT.DT_BFLOAT16,
}
_SMALL_TENSOR = 16
Typed = tuple[tensor_pb2.DataType, tensor_pb2.TensorShapeProto]  # (dtype, shape)
_INSTALL_HINT = "add_onnx_graph needs the onnx package: pip install 'stepscope[onnx]'"


def onnx_graph_def(path: str | os.PathLike[str]) -> graph_pb2.GraphDef:
    """The ``GraphDef`` of the ONNX model file at ``path``."""
    try:
        import onnx
    except ModuleNotFoundError as missing:
        raise UsageError(_INSTALL_HINT) from missing
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise NotFoundError(f"add_onnx_graph: no ONNX model file at {name!r}")
    try:
        model = onnx.load(name, load_external_data=False)
    except Exception as error:  # onnx raises DecodeError, ValueError, OSError...
        reason = " ".join(str(error).split()) or type(error).__name__
        raise UsageError(f"add_onnx_graph: {name!r} is not an ONNX model ({reason})") from error
    return onnx_to_graph_def(model.graph)


def onnx_to_graph_def(graph: Any) -> graph_pb2.GraphDef:
    """The ``GraphDef`` of an ``onnx.GraphProto``."""
    types = _value_types(graph)
    producer: dict[str, str] = {}
    nodes: list[graph_pb2.NodeDef] = []
    taken: set[str] = set()
    initializers = {init.name for init in graph.initializer}
    for value in graph.input:
        if value.name not in initializers:
            node = _value_node(f"input/{_clean(value.name)}", "Input", types.get(value.name), taken)
            producer[value.name] = node.name
            nodes.append(node)
    for init in graph.initializer:
        shape = (_element_type(init), tensors.shape_proto(tuple(init.dims)))
        node = _value_node(_clean(init.name), "Initializer", shape, taken)
        producer[init.name] = node.name
        nodes.append(node)
    for number, onnx_node in enumerate(graph.node):
        nodes.append(_operation(onnx_node, number, producer, types, taken))
    for value in graph.output:
        node = _value_node(f"output/{_clean(value.name)}", "Output", types.get(value.name), taken)
        if value.name in producer:
            node.input.append(producer[value.name])
        nodes.append(node)
    return graph_pb2.GraphDef(node=nodes, versions=graph_pb2.VersionDef(producer=metadata.PRODUCER))


def _element_type(onnx_tensor: Any) -> tensor_pb2.DataType:
    return _ONNX_TYPES.get(int(onnx_tensor.data_type), DT.DT_INVALID)


def _value_types(graph: Any) -> dict[str, Typed]:
    """Each named tensor's dtype and shape, where the model says them."""
    found: dict[str, Typed] = {}
    for value in (*graph.input, *graph.value_info, *graph.output):
        tensor = value.type.tensor_type
        shape = tensor_pb2.TensorShapeProto(unknown_rank=not tensor.HasField("shape"))
        for dim in tensor.shape.dim:
            if dim.HasField("dim_value"):
                shape.dim.add(size=int(dim.dim_value))
            else:  # symbolic ("batch") or unknown
                shape.dim.add(size=-1, name=dim.dim_param)
        found[value.name] = (_ONNX_TYPES.get(int(tensor.elem_type), DT.DT_INVALID), shape)
    return found


def _clean(name: str) -> str:
    """An ONNX name as a node name: its leading "/" dropped (torch's exporter scopes with them)."""
    return name.strip("/") or "unnamed"


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate


def _value_node(name: str, op: str, typed: Typed | None, taken: set[str]) -> graph_pb2.NodeDef:
    node = graph_pb2.NodeDef(name=_unique(name, taken), op=op)
    _add_output(node, typed)
    return node


def _add_output(node: graph_pb2.NodeDef, typed: Typed | None) -> None:
    dtype, shape = typed or (DT.DT_INVALID, tensor_pb2.TensorShapeProto(unknown_rank=True))
    node.attr["_output_shapes"].list.shape.append(shape)
    node.attr["_output_types"].list.type.append(dtype)


def _operation(
    onnx_node: Any, number: int, producer: dict[str, str], types: dict[str, Typed], taken: set[str]
) -> graph_pb2.NodeDef:
    base = onnx_node.name or (onnx_node.output[0] if onnx_node.output else f"node_{number}")
    op = (
        onnx_node.op_type
        if onnx_node.domain in ("", "ai.onnx")
        else (f"{onnx_node.domain}::{onnx_node.op_type}")
    )
    node = graph_pb2.NodeDef(name=_unique(_clean(base), taken), op=op)
    node.input.extend(producer[name] for name in onnx_node.input if name in producer)
    for slot, output in enumerate(onnx_node.output):
        if output:
            producer[output] = node.name if slot == 0 else f"{node.name}:{slot}"
        _add_output(node, types.get(output))
    for attribute in onnx_node.attribute:
        _set_attribute(node.attr[attribute.name], attribute)
    return node


def _set_attribute(attr: graph_pb2.AttrValue, attribute: Any) -> None:
    """An ONNX attribute as an ``AttrValue`` (tensors by dtype and shape, small ones with values)."""
    kind = int(attribute.type)
    if kind == 1:
        attr.f = attribute.f
    elif kind == 2:
        attr.i = attribute.i
    elif kind == 3:
        attr.s = attribute.s
    elif kind == 4:
        attr.tensor.CopyFrom(_tensor(attribute.t))
    elif kind == 5:
        attr.s = f"<graph {attribute.g.name}: {len(attribute.g.node)} nodes>".encode()
    elif kind == 6:
        attr.list.f.extend(attribute.floats)
    elif kind == 7:
        attr.list.i.extend(attribute.ints)
    elif kind == 8:
        attr.list.s.extend(attribute.strings)
    else:
        attr.s = f"<{len(attribute.tensors) + len(attribute.graphs)} tensors or graphs>".encode()


def _tensor(onnx_tensor: Any) -> tensor_pb2.TensorProto:
    dims = tuple(int(d) for d in onnx_tensor.dims)
    size = 1
    for d in dims:
        size *= d
    if size <= _SMALL_TENSOR:
        from onnx import numpy_helper

        try:
            return tensors.to_tensor_proto(numpy_helper.to_array(onnx_tensor))
        except (ValueError, TypeError):
            pass
    return tensor_pb2.TensorProto(
        dtype=_element_type(onnx_tensor),
        tensor_shape=tensors.shape_proto(dims),
    )
