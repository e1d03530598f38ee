"""Writer side of meshes and point clouds: one float tensor per component.

``add_mesh(tag, vertices, colors, faces)`` writes up to three tags,
``<tag>_VERTEX``, ``<tag>_FACE`` and ``<tag>_COLOR``, each a [B, N, 3]
tensor with ``MeshPluginData`` naming the mesh, the component and the
bitmask of all components written. Like torch, all three are DT_FLOAT.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import plugin_mesh_pb2, summary_pb2
from stepscope.tensors import to_tensor_proto

PLUGIN_NAME = "mesh"
ContentType = plugin_mesh_pb2.MeshPluginData.ContentType


def instance_tag(name: str, content_type: int) -> str:
    return f"{name}_{ContentType.Name(content_type)}"


def _check(tag: str, what: str, array: npt.NDArray[Any]) -> None:
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(
            f"mesh {tag!r}: {what} must have shape (B, N, 3), got shape {tuple(array.shape)}"
        )


def check_mesh(
    tag: str,
    vertices: npt.NDArray[Any],
    colors: npt.NDArray[Any] | None,
    faces: npt.NDArray[Any] | None,
) -> None:
    """Raise ``ValueError`` naming the problem when the parts do not fit together."""
    _check(tag, "vertices", vertices)
    if colors is not None:
        _check(tag, "colors", colors)
        if colors.shape[:2] != vertices.shape[:2]:
            raise ValueError(
                f"mesh {tag!r}: colors have shape {tuple(colors.shape)} but vertices "
                f"{tuple(vertices.shape)}; give one color per vertex"
            )
    if faces is not None:
        _check(tag, "faces", faces)
        if faces.shape[0] != vertices.shape[0]:
            raise ValueError(
                f"mesh {tag!r}: faces have batch size {faces.shape[0]} but vertices {vertices.shape[0]}"
            )
        if faces.size and (faces.min() < 0 or faces.max() >= vertices.shape[1]):
            raise ValueError(
                f"mesh {tag!r}: face indices must be in [0, {vertices.shape[1] - 1}] "
                f"(there are {vertices.shape[1]} vertices), got [{faces.min()}, {faces.max()}]"
            )


def mesh_values(
    tag: str,
    vertices: npt.NDArray[Any],
    colors: npt.NDArray[Any] | None,
    faces: npt.NDArray[Any] | None,
    config_dict: dict[str, Any] | None,
) -> list[summary_pb2.Summary.Value]:
    check_mesh(tag, vertices, colors, faces)
    json_config = json.dumps(config_dict, sort_keys=True) if config_dict is not None else "{}"
    parts = [
        (array, content_type)
        for array, content_type in (
            (vertices, ContentType.VERTEX),
            (faces, ContentType.FACE),
            (colors, ContentType.COLOR),
        )
        if array is not None
    ]
    components = 0
    for _, content_type in parts:
        components |= 1 << content_type
    values = []
    for array, content_type in parts:
        content = plugin_mesh_pb2.MeshPluginData(
            version=0,
            name=tag,
            content_type=content_type,
            json_config=json_config,
            shape=list(array.shape),
            components=components,
        ).SerializeToString()
        values.append(
            summary_pb2.Summary.Value(
                tag=instance_tag(tag, content_type),
                metadata=plugin_metadata(PLUGIN_NAME, content),
                tensor=to_tensor_proto(np.asarray(array, dtype=np.float32)),
            )
        )
    return values
