"""What marks a greeting in an event file: the tag metadata's plugin name ``hello``.

A greeting is a tensor summary: one UTF-8 string (a DT_STRING tensor of
shape ``[1]``) whose ``SummaryMetadata.plugin_data.plugin_name`` is
:data:`PLUGIN_NAME`. stepscope files every tag carrying that name under
this plugin; ``data_class`` TENSOR lets TensorBoard's data providers read
it too.
"""

from __future__ import annotations

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import summary_pb2

PLUGIN_NAME = "hello"


def greeting_metadata() -> summary_pb2.SummaryMetadata:
    """The metadata written on every greeting."""
    return plugin_metadata(PLUGIN_NAME, data_class=summary_pb2.DATA_CLASS_TENSOR)
