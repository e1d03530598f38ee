"""Writer side of text: a DT_STRING tensor of Markdown under plugin ``text``.

torch (and tensorboardX) append ``/text_summary`` to the tag and write a
rank-1 tensor of one string; stepscope does the same so that logdirs match.
"""

from __future__ import annotations

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import plugin_text_pb2, summary_pb2
from stepscope.tensors import string_tensor

PLUGIN_NAME = "text"
TAG_SUFFIX = "/text_summary"


def text_value(tag: str, text: str) -> summary_pb2.Summary.Value:
    if not isinstance(text, str):
        raise TypeError(f"add_text expects a str, got {type(text).__name__}")
    content = plugin_text_pb2.TextPluginData(version=0).SerializeToString()
    return summary_pb2.Summary.Value(
        tag=tag + TAG_SUFFIX,
        metadata=plugin_metadata(PLUGIN_NAME, content),
        tensor=string_tensor([text.encode("utf-8")], (1,)),
    )
