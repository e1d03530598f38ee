"""Writer side of custom scalars: the layout of a custom-scalars dashboard.

The layout is a serialized ``Layout`` in a rank-0 DT_STRING tensor under the
tag ``custom_scalars__config__``. The dict form is torch's::

    {"Category": {"Chart title": ["Multiline", ["loss/train", "loss/val"]],
                  "Margin chart": ["Margin", ["value", "lower", "upper"]]}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import plugin_custom_scalars_pb2 as layout_pb2
from stepscope.proto import summary_pb2
from stepscope.tensors import string_tensor

PLUGIN_NAME = "custom_scalars"
CONFIG_TAG = "custom_scalars__config__"

LayoutDict = Mapping[str, Mapping[str, Sequence[object]]]


def layout_proto(layout: LayoutDict) -> layout_pb2.Layout:
    """Turn torch's layout dict into a ``Layout`` message."""
    if not isinstance(layout, Mapping):
        raise TypeError("the custom scalars layout must be a dict of categories")
    categories = []
    for category, charts in layout.items():
        chart_protos = [_chart(str(title), spec) for title, spec in charts.items()]
        categories.append(layout_pb2.Category(title=str(category), chart=chart_protos))
    return layout_pb2.Layout(category=categories)


def _chart(title: str, spec: Sequence[object]) -> layout_pb2.Chart:
    if not isinstance(spec, Sequence) or len(spec) != 2:
        raise ValueError(
            f"chart {title!r}: expected ['Multiline', [tags...]] or ['Margin', [value, lower, upper]]"
        )
    kind, tags = spec
    tags = [str(tag) for tag in tags]  # type: ignore[attr-defined]
    if kind == "Margin":
        if len(tags) != 3:
            raise ValueError(
                f"margin chart {title!r} needs 3 tags (value, lower, upper), got {len(tags)}"
            )
        series = layout_pb2.MarginChartContent.Series(value=tags[0], lower=tags[1], upper=tags[2])
        return layout_pb2.Chart(title=title, margin=layout_pb2.MarginChartContent(series=[series]))
    return layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=tags))


def layout_value(layout: LayoutDict) -> summary_pb2.Summary.Value:
    serialized = layout_proto(layout).SerializeToString()
    return summary_pb2.Summary.Value(
        tag=CONFIG_TAG,
        metadata=plugin_metadata(PLUGIN_NAME),
        tensor=string_tensor([serialized], ()),
    )
