"""The custom scalars kind's reading: the layouts of ``add_custom_scalars``, merged over runs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError

from stepscope.plugins.custom_scalars.summary import CONFIG_TAG
from stepscope.proto import plugin_custom_scalars_pb2 as custom_scalars_pb2
from stepscope.store.provider import DataProvider


def merged_layout(data: DataProvider) -> dict[str, Any]:
    """``{categories: [{title, closed, charts}], problems: [line]}`` over every run.

    Each run's last layout counts; categories of one title are merged and a
    chart that two runs both define is listed once. A chart is
    ``{title, multiline: [tag regex]}`` or ``{title, margin: [{value, lower, upper}]}``.
    """
    categories: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    problems = []
    for found in data.tags("custom_scalars", count_points=False):
        if found.tag != CONFIG_TAG:
            continue
        points = data.tensors(found.run, found.tag)
        if not points:
            continue
        try:
            layout = custom_scalars_pb2.Layout.FromString(_layout_bytes(points[-1].value))
        except (DecodeError, ValueError) as error:
            problems.append(f"run {found.run!r}: its custom scalars layout is unreadable ({error})")
            continue
        for category in layout.category:
            merged = categories.setdefault(
                category.title,
                {"title": category.title, "closed": category.closed, "charts": []},
            )
            for chart in category.chart:
                entry = _chart(chart)
                key = json.dumps([category.title, entry], sort_keys=True)
                if entry is not None and key not in seen:
                    seen.add(key)
                    merged["charts"].append(entry)
    return {"categories": list(categories.values()), "problems": problems}


def _layout_bytes(value: np.ndarray) -> bytes:
    """The serialized Layout a custom scalars tensor holds (a rank-0 string; rank 1 from some writers)."""
    item = value.reshape(-1)[0] if value.size else b""
    if not isinstance(item, bytes):
        raise ValueError(f"a tensor of {value.dtype} where a serialized layout was expected")
    return item


def _chart(chart: custom_scalars_pb2.Chart) -> dict[str, Any] | None:
    kind = chart.WhichOneof("content")
    if kind == "multiline":
        return {"title": chart.title, "multiline": list(chart.multiline.tag)}
    if kind == "margin":
        series = [
            {"value": s.value, "lower": s.lower, "upper": s.upper} for s in chart.margin.series
        ]
        return {"title": chart.title, "margin": series}
    return None
