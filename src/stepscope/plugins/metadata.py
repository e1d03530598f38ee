"""``SummaryMetadata`` helpers shared by every kind."""

from __future__ import annotations

from stepscope.proto import summary_pb2


def plugin_metadata(
    plugin_name: str, content: bytes = b"", *, data_class: int = 0, display_name: str = ""
) -> summary_pb2.SummaryMetadata:
    """Metadata naming the plugin that owns a tag (written on a tag's values)."""
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=plugin_name, content=content
        ),
        data_class=data_class,  # type: ignore[arg-type]
        display_name=display_name,
    )
