"""The graphs kind's reading: every graph of a logdir, listed and read on demand.

Graphs are indexed as blob references (:mod:`stepscope.loader.graphs`), so
listing them reads nothing but their framing, and reading one walks its
bytes node by node (:mod:`stepscope.plugins.graphs.parse`), attributes over
``limit_attr_size`` bytes left unread. Three kinds:

* ``op``: a ``GraphDef`` (tag ``__run_graph__``, plugin ``graphs``);
* ``run_metadata``: a ``RunMetadata``: TF2's traced function graphs (plugins
  ``graph_run_metadata_graph``, and ``graph_run_metadata`` with step stats),
  or ``tagged_run_metadata`` (torch's ``step1``, TF1's session runs), whose
  step stats can be joined to the run's op graph (``stats=<tag>``);
* ``keras``: Keras's model config, drawn as layers (plugin ``graph_keras_model``).

Example::

    graph = read_graph(provider, "train", "__run_graph__")
    [node.name for node in graph.nodes]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from google.protobuf.message import DecodeError

from stepscope.errors import NotFoundError, UnprocessableError, UsageError
from stepscope.loader.model import BlobRef
from stepscope.loader.wire import FileSource, Source, WireError
from stepscope.plugins.graphs import metadata
from stepscope.plugins.graphs.assemble import Assembled, Edge, Node, Note, Scope, assemble
from stepscope.plugins.graphs.keras import KerasConfigError, keras_nodes
from stepscope.plugins.graphs.parse import (
    ParsedGraph,
    count_nodes,
    merged_graph,
    read_graph_def,
    read_run_metadata,
)
from stepscope.proto import run_metadata_pb2
from stepscope.store.provider import BlobPoint, DataProvider

#: TensorBoard's default limit (``limit_attr_size``): larger attributes are truncated.
LIMIT_ATTR_SIZE = 1024
#: A Keras model config larger than this is refused (configs are kilobytes).
MAX_KERAS_BYTES = 64 << 20

_KINDS = {
    metadata.PLUGIN_NAME: "op",
    metadata.KERAS_MODEL: "keras",
    metadata.TAGGED_RUN_METADATA: "run_metadata",
    metadata.RUN_METADATA: "run_metadata",
    metadata.RUN_METADATA_WITH_GRAPH: "run_metadata",
}


@dataclass(frozen=True)
class GraphInfo:
    """One graph tag of a run: what it holds (``kind``), at which steps, how many nodes."""

    run: str
    tag: str
    plugin: str
    kind: str  # "op", "keras" or "run_metadata"
    step: int  # of the newest one, the one read by default
    wall_time: float
    steps: list[int]
    nodes: int  # of the newest one; 0 when it holds no graph
    profile: bool  # holds step stats (compute time, memory) per node
    bytes: int


@dataclass
class Graph:
    """A graph ready to draw: nodes, edges, scopes and notes (see :mod:`.assemble`)."""

    run: str
    tag: str
    kind: str
    step: int
    wall_time: float
    assembled: Assembled
    functions: list[dict[str, object]] = field(default_factory=list)
    limit_attr_size: int | None = LIMIT_ATTR_SIZE
    stats: str | None = None  # the tag whose step stats were joined

    @property
    def nodes(self) -> list[Node]:
        return self.assembled.nodes

    @property
    def edges(self) -> list[Edge]:
        return self.assembled.edges

    @property
    def scopes(self) -> list[Scope]:
        return self.assembled.scopes

    @property
    def notes(self) -> list[Note]:
        return self.assembled.notes


# -- listing --------------------------------------------------------------------------------


def list_graphs(data: DataProvider, run: str | None = None) -> list[GraphInfo]:
    """Every graph tag (of one run, or of all), by run then tag."""
    found = []
    for plugin in metadata.GRAPH_PLUGINS:
        for tag in data.tags(plugin, run, count_points=False):
            points = data.blobs(tag.run, tag.tag)
            if not points:
                continue
            newest = points[-1]
            nodes, profile = _summary(plugin, newest.ref)
            found.append(
                GraphInfo(
                    tag.run,
                    tag.tag,
                    plugin,
                    _KINDS[plugin],
                    newest.step,
                    newest.wall_time,
                    sorted({point.step for point in points}),
                    nodes,
                    profile,
                    newest.ref.length,
                )
            )
    return sorted(found, key=lambda info: (info.run, info.tag))


def _summary(plugin: str, ref: BlobRef) -> tuple[int, bool]:
    """``(node count, has step stats)`` of a graph blob; ``(0, False)`` if it cannot be read."""
    try:
        changed = os.stat(ref.path).st_mtime_ns  # a rewritten file is counted again
        return _counted(plugin, ref.path, ref.offset, ref.length, changed)
    except (OSError, ValueError, DecodeError):
        return 0, False


@lru_cache(maxsize=4096)
def _counted(plugin: str, path: str, offset: int, length: int, _mtime: int) -> tuple[int, bool]:
    with open(path, "rb") as file:
        source = FileSource(file, offset, length)
        if plugin == metadata.PLUGIN_NAME:
            return count_nodes(source, 0, length), False
        if plugin == metadata.KERAS_MODEL:
            if length > MAX_KERAS_BYTES:
                return 0, False
            return len(keras_nodes(source.read(0, length))), False
        parts = read_run_metadata(source, 0, length)
        nodes = sum(count_nodes(source, start, end) for start, end in parts.graphs)
        stats = parts.step_stats
        profile = stats is not None and any(device.node_stats for device in stats.dev_stats)
        return nodes, profile


# -- reading --------------------------------------------------------------------------------


def read_graph(
    data: DataProvider,
    run: str,
    tag: str = metadata.RUN_GRAPH_TAG,
    step: int | None = None,
    limit_attr_size: int | None = LIMIT_ATTR_SIZE,
    stats: str | None = None,
) -> Graph:
    """One graph of a run (the newest of ``tag``, or the one at ``step``), ready to draw.

    ``limit_attr_size`` truncates larger attributes (``None``: none is);
    ``stats`` names a run-metadata tag of the run whose step stats are joined
    to the nodes (compute time, memory).
    """
    if limit_attr_size is not None and limit_attr_size < 1:
        raise UsageError(
            f"limit_attr_size must be a positive number of bytes, not {limit_attr_size}"
        )
    plugin = _plugin(data, run, tag)
    point = _point(data, run, tag, step)
    with _opened(run, tag, point) as source:
        parsed, step_stats, notes = _parse(plugin, source, limit_attr_size, run, tag, point.step)
    if stats is not None:
        step_stats = _stats_of(data, run, stats)
    assembled = assemble(parsed.nodes, step_stats)
    assembled.notes[:0] = notes
    if parsed.functions:
        assembled.notes.append(
            Note(
                "library",
                f"the graph's library has {len(parsed.functions)} functions, listed but not drawn",
            )
        )
    return Graph(
        run,
        tag,
        _KINDS[plugin],
        point.step,
        point.wall_time,
        assembled,
        [{"name": name, "nodes": size} for name, size in parsed.functions],
        limit_attr_size,
        stats,
    )


def _plugin(data: DataProvider, run: str, tag: str) -> str:
    for found in data.tags(None, run, count_points=False):
        if found.tag == tag:
            if found.plugin not in _KINDS:
                raise NotFoundError(
                    f"run {run!r} has no graph {tag!r} (it is a {found.plugin} tag)"
                )
            return found.plugin
    raise NotFoundError(f"run {run!r} has no graph {tag!r}")


def _point(data: DataProvider, run: str, tag: str, step: int | None) -> BlobPoint:
    points = data.blobs(run, tag, step)
    if not points:
        at = "" if step is None else f" at step {step}"
        raise NotFoundError(f"run {run!r} has no graph {tag!r}{at}")
    return points[-1]


@contextlib.contextmanager
def _opened(run: str, tag: str, point: BlobPoint) -> Iterator[Source]:
    """The graph's bytes where they lie; a file gone or changed since is a :class:`NotFoundError`."""
    try:
        with open(point.ref.path, "rb") as file:
            yield FileSource(file, point.ref.offset, point.ref.length)
    except OSError as error:
        raise NotFoundError(
            f"the event file holding {tag!r} at step {point.step} of run {run!r} is gone or "
            f"changed ({error.strerror or error}); reload the logdir"
        ) from error


def _parse(
    plugin: str, source: Source, limit: int | None, run: str, tag: str, step: int
) -> tuple[ParsedGraph, run_metadata_pb2.StepStats | None, list[Note]]:
    where = f"the graph {tag!r} of run {run!r} at step {step}"
    try:
        if plugin == metadata.PLUGIN_NAME:
            return read_graph_def(source, 0, source.size, limit), None, []
        if plugin == metadata.KERAS_MODEL:
            if source.size > MAX_KERAS_BYTES:
                raise UnprocessableError(
                    f"{where} is a Keras config of {source.size} bytes: too large"
                )
            return ParsedGraph(keras_nodes(source.read(0, source.size))), None, []
        parts = read_run_metadata(source, 0, source.size)
        notes = []
        if not parts.graphs:
            notes.append(
                Note(
                    "no_graph",
                    f"{tag!r} is run metadata without a graph: ask for the run's op graph "
                    f"({metadata.RUN_GRAPH_TAG!r}) with stats={tag!r} to see its step stats",
                )
            )
        return merged_graph(source, parts.graphs, limit), parts.step_stats, notes
    except (WireError, DecodeError, KerasConfigError) as error:
        raise UnprocessableError(f"{where} is damaged ({error})") from error


def _stats_of(data: DataProvider, run: str, tag: str) -> run_metadata_pb2.StepStats | None:
    plugin = _plugin(data, run, tag)
    if plugin not in metadata.RUN_METADATA_PLUGINS:
        raise UsageError(f"stats={tag!r} is not run metadata of run {run!r} (it is {plugin})")
    point = _point(data, run, tag, None)
    with _opened(run, tag, point) as source:
        try:
            return read_run_metadata(source, 0, source.size).step_stats
        except (WireError, DecodeError) as error:
            raise UnprocessableError(
                f"the run metadata {tag!r} of run {run!r} is damaged ({error})"
            ) from error
