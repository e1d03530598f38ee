"""Graph events as blob references: where each graph lies in its event file.

A ``graph_def`` event (torch, tensorboardX, TF) becomes a blob of the tag
``__run_graph__`` of plugin ``graphs``; a ``tagged_run_metadata`` event a blob
of its own tag, plugin ``graph_tagged_run_metadata`` (TensorBoard files them
the same way); a ``meta_graph_def`` (TF1) gives its ``graph_def`` to
``__run_graph__`` too. The bytes stay in the event file and are read when a
graph is asked for, so the index does not grow with the graphs' size.

A ``GraphDef`` whose framing is broken (a node or a field running past its
end) is reported and skipped like any damaged record: only its framing is
checked here, node by node, which costs a walk over the nodes' fields.
"""

from __future__ import annotations

from stepscope.loader.model import BlobRef, TagInfo
from stepscope.loader.wire import LEN, BytesSource, Field, WireError, walk
from stepscope.plugins.graphs import metadata

_DATA_CLASS_BLOB_SEQUENCE = 3
_GRAPH_DEF_FIELD = 4  # Event.graph_def
_TAGGED_RUN_METADATA_FIELD = 8  # Event.tagged_run_metadata
_META_GRAPH_DEF_FIELD = 9  # Event.meta_graph_def
_META_GRAPH_GRAPH_FIELD = 2  # MetaGraphDef.graph_def
_NODE_FIELD = 1  # GraphDef.node

#: The ``Event.what`` kinds that carry a graph or run metadata.
GRAPH_EVENTS = frozenset({"graph_def", "tagged_run_metadata", "meta_graph_def"})


def graph_tag_info(plugin_name: str) -> TagInfo:
    """The metadata TensorBoard gives the tags it makes of graph events."""
    return TagInfo(plugin_name=plugin_name, data_class=_DATA_CLASS_BLOB_SEQUENCE)


def event_graph(kind: str, path: str, offset: int, payload: bytes) -> tuple[str, TagInfo, BlobRef]:
    """``(tag, tag info, reference)`` of the graph or run metadata in an event's ``payload``.

    ``offset`` is where the payload starts in the file at ``path``. Raises
    :class:`WireError` (a ``ValueError``) when a graph is damaged.
    """
    source = BytesSource(payload)
    if kind == "tagged_run_metadata":
        entry = _field(source, 0, len(payload), _TAGGED_RUN_METADATA_FIELD)
        tag_field = _last_field(source, entry.start, entry.end, 1)
        tag = (
            payload[tag_field.start : tag_field.end].decode("utf-8", "replace") if tag_field else ""
        )
        data = _last_field(source, entry.start, entry.end, 2)
        start, end = (data.start, data.end) if data else (entry.end, entry.end)
        plugin = metadata.TAGGED_RUN_METADATA
        kind_type = metadata.RUN_METADATA_TYPE
    else:
        if kind == "meta_graph_def":
            outer = _field(source, 0, len(payload), _META_GRAPH_DEF_FIELD)
            graph = _field(source, outer.start, outer.end, _META_GRAPH_GRAPH_FIELD)
        else:
            graph = _field(source, 0, len(payload), _GRAPH_DEF_FIELD)
        check_graph_def(source, graph.start, graph.end)
        tag, plugin, start, end = (
            metadata.RUN_GRAPH_TAG,
            metadata.PLUGIN_NAME,
            graph.start,
            graph.end,
        )
        kind_type = metadata.GRAPH_DEF_TYPE
    ref = BlobRef(path, offset + start, end - start, content_type=kind_type)
    return tag, graph_tag_info(plugin), ref


def check_graph_def(source: BytesSource, start: int, end: int) -> None:
    """Raise :class:`WireError` unless ``[start, end)`` is framed as a ``GraphDef``."""
    for field in walk(source, start, end):
        if field.number == _NODE_FIELD:
            if field.wire_type != LEN:
                raise WireError(f"a node that is not a message at byte {field.start}")
            for _ in walk(source, field.start, field.end):
                pass


def _last_field(source: BytesSource, start: int, end: int, number: int) -> Field | None:
    """The last length-delimited field ``number`` of a message (protobuf's rule for a singular field)."""
    found = None
    for field in walk(source, start, end):
        if field.number == number and field.wire_type == LEN:
            found = field
    return found


def _field(source: BytesSource, start: int, end: int, number: int) -> Field:
    found = _last_field(source, start, end, number)
    if found is None:
        raise WireError(f"no field {number} in the event")
    return found


def content_type(plugin_name: str) -> str:
    """The media type of the blobs of a graph tag of ``plugin_name``."""
    return metadata.content_type(plugin_name)


def is_graph_plugin(plugin_name: str) -> bool:
    """Whether tags of ``plugin_name`` hold graphs (string tensors kept as blob references)."""
    return plugin_name in metadata.GRAPH_PLUGINS
