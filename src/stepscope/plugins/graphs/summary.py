"""Writer side of graphs: the events TensorBoard's graph plugin reads.

* :func:`graph_event`: ``Event.graph_def``, a serialized ``GraphDef`` (what
  torch's and tensorboardX's ``add_graph`` and ``add_onnx_graph`` write);
* :func:`run_metadata_event`: ``Event.tagged_run_metadata`` (torch writes an
  empty ``RunMetadata`` tagged ``step1`` beside each graph);
* :func:`run_metadata_summary`: TF2's ``tf.summary.trace_export`` form, a
  string tensor holding a ``RunMetadata`` with the function graphs
  (plugin ``graph_run_metadata_graph``; ``graph_run_metadata`` with step stats);
* :func:`keras_model_summary`: Keras's conceptual graph, its model config JSON
  (plugin ``graph_keras_model``, tag ``keras``), as Keras's TensorBoard
  callback writes it.

The model itself is traced by :mod:`stepscope.plugins.graphs.torch_graph`
(torch) and read by :mod:`stepscope.plugins.graphs.onnx_graph` (ONNX).
"""

from __future__ import annotations

import time

from stepscope.plugins.graphs import metadata
from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import event_pb2, graph_pb2, run_metadata_pb2, summary_pb2
from stepscope.tensors import string_tensor


def graph_event(graph: graph_pb2.GraphDef, walltime: float | None = None) -> event_pb2.Event:
    """The ``graph_def`` event of ``graph`` (at step 0, as torch writes it)."""
    wall = time.time() if walltime is None else float(walltime)
    return event_pb2.Event(wall_time=wall, graph_def=graph.SerializeToString())


def run_metadata_event(
    tag: str, run_metadata: run_metadata_pb2.RunMetadata, walltime: float | None = None
) -> event_pb2.Event:
    """A ``tagged_run_metadata`` event (torch's ``add_graph`` writes one tagged ``step1``)."""
    wall = time.time() if walltime is None else float(walltime)
    tagged = event_pb2.TaggedRunMetadata(tag=tag, run_metadata=run_metadata.SerializeToString())
    return event_pb2.Event(wall_time=wall, tagged_run_metadata=tagged)


def run_metadata_summary(
    tag: str, run_metadata: run_metadata_pb2.RunMetadata, profile: bool = False
) -> summary_pb2.Summary:
    """TF2's ``trace_export`` summary: the run metadata as a rank-0 string tensor.

    ``profile`` says the run metadata holds step stats (TF2's
    ``trace_export(profiler=True)``), plugin ``graph_run_metadata``; otherwise
    only its graphs count, plugin ``graph_run_metadata_graph``.
    """
    plugin = metadata.RUN_METADATA if profile else metadata.RUN_METADATA_WITH_GRAPH
    return _string_summary(tag, plugin, run_metadata.SerializeToString())


def keras_model_summary(model_json: str, tag: str = "keras") -> summary_pb2.Summary:
    """Keras's conceptual graph: ``model.to_json()`` as a rank-0 string tensor."""
    return _string_summary(tag, metadata.KERAS_MODEL, model_json.encode("utf-8"))


def _string_summary(tag: str, plugin: str, data: bytes) -> summary_pb2.Summary:
    value = summary_pb2.Summary.Value(
        tag=tag,
        # As TF2 writes it: content "1" (a version), no data class, a rank-0 tensor.
        metadata=plugin_metadata(plugin, metadata.SUMMARY_CONTENT),
        tensor=string_tensor([data], ()),
    )
    return summary_pb2.Summary(value=[value])
