"""The graphs kind's names: the plugin names of its tags and what their blobs hold.

TensorBoard's graph plugin reads five tag plugins, and so does stepscope:

* ``graphs``: the run's op graph, a ``GraphDef`` (``Event.graph_def``, filed
  under the tag ``__run_graph__``, as TensorBoard files it);
* ``graph_tagged_run_metadata``: a ``RunMetadata`` from ``Event.tagged_run_metadata``
  (torch's ``add_graph`` writes an empty one tagged ``step1``);
* ``graph_run_metadata`` and ``graph_run_metadata_graph``: TF2's
  ``tf.summary.trace_export``, a ``RunMetadata`` holding the traced function
  graphs (and, with the profiler, step stats);
* ``graph_keras_model``: Keras's model config (``model.to_json()``), the
  conceptual graph of layers, under the tag ``keras``.
"""

from __future__ import annotations

PLUGIN_NAME = "graphs"
RUN_GRAPH_TAG = "__run_graph__"
TAGGED_RUN_METADATA = "graph_tagged_run_metadata"
RUN_METADATA = "graph_run_metadata"
RUN_METADATA_WITH_GRAPH = "graph_run_metadata_graph"
KERAS_MODEL = "graph_keras_model"

#: Every tag plugin the graphs kind shows.
GRAPH_PLUGINS = (
    PLUGIN_NAME,
    TAGGED_RUN_METADATA,
    RUN_METADATA,
    RUN_METADATA_WITH_GRAPH,
    KERAS_MODEL,
)
#: The plugins whose blobs are a serialized ``RunMetadata``.
RUN_METADATA_PLUGINS = (TAGGED_RUN_METADATA, RUN_METADATA, RUN_METADATA_WITH_GRAPH)
#: The content of TF2's run-metadata and Keras tags' plugin data (a version).
SUMMARY_CONTENT = b"1"

# What a graph blob holds (the index's content_type of its reference).
GRAPH_DEF_TYPE = "application/x-protobuf; messageType=GraphDef"
RUN_METADATA_TYPE = "application/x-protobuf; messageType=RunMetadata"
KERAS_JSON_TYPE = "application/json"

#: TensorBoard's producer version for the graphs torch writes.
PRODUCER = 22


def content_type(plugin_name: str) -> str:
    """The media type of the blobs of a tag of ``plugin_name``."""
    if plugin_name in RUN_METADATA_PLUGINS:
        return RUN_METADATA_TYPE
    if plugin_name == KERAS_MODEL:
        return KERAS_JSON_TYPE
    return GRAPH_DEF_TYPE
