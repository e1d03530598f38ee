"""Reading graphs from where they lie, node by node, in bounded memory.

A ``GraphDef`` is walked field by field (:mod:`stepscope.loader.wire`):
each node up to :data:`INLINE_NODE` bytes is read and parsed by itself; a
bigger one (a huge constant) is walked too, and an attribute above the size
limit is not read at all: only its kind, size, and for a tensor its dtype
and shape, are kept (:class:`Truncated`), as TensorBoard's
``_too_large_attrs`` does. So a 200 MB graph of a few huge constants takes
memory in proportion to what is shown, not to the file.

A ``RunMetadata`` (TF2's traced function graphs, step stats) is walked the
same way down to its graphs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stepscope.loader.wire import LEN, VARINT, Field, Source, WireError, read_field, walk
from stepscope.proto import graph_pb2, run_metadata_pb2, tensor_pb2

#: A node up to this size is parsed whole; a bigger one is walked.
INLINE_NODE = 1 << 20
#: Attributes that stepscope reads into a node's own fields: kept up to this size.
LIFTED = ("_output_shapes", "_output_types", "_param", "_module", "_module_class")
LIFTED_LIMIT = 1 << 16
#: How much of a truncated string attribute is kept to show.
PREVIEW = 256
_TEXT_LIMIT = 1 << 16  # a name, op or input longer than this is cut

# Field numbers (graph.proto, run_metadata.proto, tensor.proto).
_GRAPH_NODE, _GRAPH_LIBRARY, _GRAPH_VERSIONS = 1, 2, 4
_NODE_NAME, _NODE_OP, _NODE_INPUT, _NODE_DEVICE, _NODE_ATTR = 1, 2, 3, 4, 5
_ATTR_KINDS = {
    1: "list",
    2: "s",
    3: "i",
    4: "f",
    5: "b",
    6: "type",
    7: "shape",
    8: "tensor",
    9: "placeholder",
    10: "func",
}
_TENSOR_DTYPE, _TENSOR_SHAPE = 1, 2
_RUN_STEP_STATS, _RUN_PARTITION_GRAPHS, _RUN_FUNCTION_GRAPHS = 1, 3, 4
_FUNCTION_PRE_OPTIMIZATION = 2


@dataclass
class Truncated:
    """An attribute too large to show: what it is, and how big."""

    kind: str  # the AttrValue field: "tensor", "s", "list", ...
    size: int  # bytes
    dtype: int = 0  # of a tensor
    shape: tensor_pb2.TensorShapeProto | None = None  # of a tensor
    preview: bytes = b""  # the first bytes of a string


Attr = graph_pb2.AttrValue | Truncated


@dataclass
class RawNode:
    """A node as written: name, op, inputs (TensorFlow's syntax), device and attributes."""

    name: str
    op: str
    inputs: list[str]
    device: str = ""
    attrs: dict[str, Attr] = field(default_factory=dict)


@dataclass
class ParsedGraph:
    """The nodes of a graph, and the names and sizes of its library's functions."""

    nodes: list[RawNode] = field(default_factory=list)
    functions: list[tuple[str, int]] = field(default_factory=list)
    producer: int = 0


def read_graph_def(source: Source, start: int, end: int, limit: int | None) -> ParsedGraph:
    """The graph in ``[start, end)`` of ``source``; attributes over ``limit`` bytes truncated.

    ``limit=None`` keeps every attribute whole. Raises
    :class:`~stepscope.loader.wire.WireError` if the graph is not well formed.
    """
    graph = ParsedGraph()
    for found in walk(source, start, end):
        if found.wire_type != LEN:
            continue
        if found.number == _GRAPH_NODE:
            graph.nodes.append(_node(source, found, limit))
        elif found.number == _GRAPH_LIBRARY:
            graph.functions.extend(_functions(source, found))
        elif found.number == _GRAPH_VERSIONS:
            versions = graph_pb2.VersionDef.FromString(read_field(source, found))
            graph.producer = versions.producer
    return graph


def count_nodes(source: Source, start: int, end: int) -> int:
    """How many nodes the graph in ``[start, end)`` has (without reading them)."""
    return sum(1 for found in walk(source, start, end) if found.number == _GRAPH_NODE)


# -- nodes ------------------------------------------------------------------------------


def _node(source: Source, found: Field, limit: int | None) -> RawNode:
    if found.end - found.start <= INLINE_NODE:
        proto = graph_pb2.NodeDef.FromString(read_field(source, found))
        attrs = {key: _kept(key, value, limit) for key, value in proto.attr.items()}
        return RawNode(proto.name, proto.op, list(proto.input), proto.device, attrs)
    node = RawNode("", "", [])
    for part in walk(source, found.start, found.end):
        if part.wire_type != LEN:
            continue
        if part.number == _NODE_ATTR:
            key, value = _attr_entry(source, part, limit)
            node.attrs[key] = value
        elif part.number in (_NODE_NAME, _NODE_OP, _NODE_INPUT, _NODE_DEVICE):
            text = _text(source, part)
            if part.number == _NODE_NAME:
                node.name = text
            elif part.number == _NODE_OP:
                node.op = text
            elif part.number == _NODE_INPUT:
                node.inputs.append(text)
            else:
                node.device = text
    return node


def _allowed(key: str, limit: int | None) -> int | None:
    if limit is None:
        return None
    return max(limit, LIFTED_LIMIT) if key in LIFTED else limit


def _kept(key: str, value: graph_pb2.AttrValue, limit: int | None) -> Attr:
    allowed = _allowed(key, limit)
    size = value.ByteSize()
    if allowed is None or size <= allowed:
        return value
    kind = value.WhichOneof("value") or ""
    if kind == "tensor":
        shape = tensor_pb2.TensorShapeProto()
        shape.CopyFrom(value.tensor.tensor_shape)
        return Truncated(kind, size, int(value.tensor.dtype), shape)
    preview = value.s[:PREVIEW] if kind == "s" else b""
    return Truncated(kind, size, preview=preview)


def _attr_entry(source: Source, entry: Field, limit: int | None) -> tuple[str, Attr]:
    """One ``attr`` map entry of a big node: the value read only if within the limit."""
    key = ""
    value_field: Field | None = None
    for part in walk(source, entry.start, entry.end):
        if part.number == 1 and part.wire_type == LEN:
            key = _text(source, part)
        elif part.number == 2 and part.wire_type == LEN:
            value_field = part
    if value_field is None:
        return key, graph_pb2.AttrValue()
    allowed = _allowed(key, limit)
    size = value_field.end - value_field.start
    if allowed is None or size <= allowed:
        return key, graph_pb2.AttrValue.FromString(read_field(source, value_field))
    return key, _truncated(source, value_field)


def _truncated(source: Source, value: Field) -> Truncated:
    """What a large ``AttrValue`` is, read from its first fields only."""
    size = value.end - value.start
    for part in walk(source, value.start, value.end):
        kind = _ATTR_KINDS.get(part.number, "unknown")
        if kind == "tensor" and part.wire_type == LEN:
            return _truncated_tensor(source, part, size)
        if kind == "s" and part.wire_type == LEN:
            return Truncated(kind, size, preview=source.read(part.start, PREVIEW))
        return Truncated(kind, size)
    return Truncated("unknown", size)


def _truncated_tensor(source: Source, tensor: Field, size: int) -> Truncated:
    found = Truncated("tensor", size, shape=tensor_pb2.TensorShapeProto())
    for part in walk(source, tensor.start, tensor.end):
        if part.number == _TENSOR_DTYPE and part.wire_type == VARINT:
            found.dtype = part.value
        elif (
            part.number == _TENSOR_SHAPE
            and part.wire_type == LEN
            and part.end - part.start <= LIFTED_LIMIT
        ):
            found.shape = tensor_pb2.TensorShapeProto.FromString(read_field(source, part))
    return found


def _text(source: Source, part: Field) -> str:
    length = min(part.end - part.start, _TEXT_LIMIT)
    return source.read(part.start, length).decode("utf-8", "replace")


def _functions(source: Source, library: Field) -> list[tuple[str, int]]:
    """``(name, node count)`` of each function of a graph's library."""
    found = []
    for function in walk(source, library.start, library.end):
        if function.number != 1 or function.wire_type != LEN:
            continue
        name, nodes = "", 0
        for part in walk(source, function.start, function.end):
            if part.number == 1 and part.wire_type == LEN:
                name = _signature_name(source, part)
            elif part.number == 3:
                nodes += 1
        found.append((name, nodes))
    return found


def _signature_name(source: Source, signature: Field) -> str:
    for part in walk(source, signature.start, signature.end):
        if part.number == 1 and part.wire_type == LEN:
            return _text(source, part)
    return ""


# -- run metadata -------------------------------------------------------------------------


@dataclass
class RunMetadataParts:
    """Where a ``RunMetadata``'s graphs lie, and its step stats (parsed: they are per node)."""

    function_graphs: list[tuple[int, int]] = field(default_factory=list)
    partition_graphs: list[tuple[int, int]] = field(default_factory=list)
    step_stats: run_metadata_pb2.StepStats | None = None

    @property
    def graphs(self) -> list[tuple[int, int]]:
        """The graphs TensorBoard draws: the functions' pre-optimization graphs, else the partitions."""
        return self.function_graphs or self.partition_graphs


def read_run_metadata(source: Source, start: int, end: int) -> RunMetadataParts:
    """The parts of the ``RunMetadata`` in ``[start, end)`` (its graphs not read yet)."""
    parts = RunMetadataParts()
    for found in walk(source, start, end):
        if found.wire_type != LEN:
            continue
        if found.number == _RUN_STEP_STATS:
            stats = run_metadata_pb2.StepStats.FromString(read_field(source, found))
            if parts.step_stats is None:
                parts.step_stats = stats
            else:
                parts.step_stats.MergeFrom(stats)
        elif found.number == _RUN_PARTITION_GRAPHS:
            parts.partition_graphs.append((found.start, found.end))
        elif found.number == _RUN_FUNCTION_GRAPHS:
            for part in walk(source, found.start, found.end):
                if part.number == _FUNCTION_PRE_OPTIMIZATION and part.wire_type == LEN:
                    parts.function_graphs.append((part.start, part.end))
    return parts


def merged_graph(source: Source, regions: list[tuple[int, int]], limit: int | None) -> ParsedGraph:
    """The graphs in ``regions`` as one: each under ``graph_<n>/`` when there are several.

    That is TensorBoard's rule (``merge_graph_defs``) for the function graphs
    of one trace, whose node names may repeat.
    """
    if len(regions) == 1:
        return read_graph_def(source, *regions[0], limit)
    merged = ParsedGraph()
    for number, (start, end) in enumerate(regions, start=1):
        prefix = f"graph_{number}/"
        graph = read_graph_def(source, start, end, limit)
        for node in graph.nodes:
            node.name = prefix + node.name
            node.inputs = [_prefixed(prefix, name) for name in node.inputs]
            merged.nodes.append(node)
        merged.functions.extend((f"graph_{number}_{name}", size) for name, size in graph.functions)
        merged.producer = merged.producer or graph.producer
    return merged


def _prefixed(prefix: str, name: str) -> str:
    return "^" + prefix + name[1:] if name.startswith("^") else prefix + name


__all__ = [
    "INLINE_NODE",
    "ParsedGraph",
    "RawNode",
    "RunMetadataParts",
    "Truncated",
    "WireError",
    "count_nodes",
    "merged_graph",
    "read_graph_def",
    "read_run_metadata",
]
