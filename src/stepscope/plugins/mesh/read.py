"""The mesh kind's reading: the meshes and point clouds of a run, and one step of one.

``add_mesh(name, vertices, colors, faces)`` writes one tag per component
(``<name>_VERTEX``, ``<name>_FACE``, ``<name>_COLOR``), each a [B, N, 3]
tensor whose metadata (``MeshPluginData``) names the mesh. These routes put
the components back together. Each of the B items of a batch is a mesh of
its own.

A step whose parts do not fit together (a face index beyond the vertices,
colours for 10 vertices when there are 12, faces that are not whole
triangles) comes with a one-line ``problem`` and no arrays, so the page says
what is wrong instead of drawing something wrong.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf.message import DecodeError

from stepscope.errors import NotFoundError
from stepscope.proto import plugin_mesh_pb2
from stepscope.store.provider import DataProvider, TagSummary

#: The media type of the binary form of ``GET /api/plugins/mesh/mesh``.
BINARY_MESH = "application/vnd.stepscope.mesh"
_MAGIC = b"SSM1"
COMPONENTS = ("VERTEX", "FACE", "COLOR")
# MeshPluginData.content_type -> component.
_COMPONENT_OF = {1: "VERTEX", 2: "FACE", 3: "COLOR"}


@dataclass
class MeshStep:
    """One item of one step of a mesh, ready to draw (or a ``problem`` and no arrays).

    ``vertices`` are float32 [N, 3]; ``faces`` uint32 [F, 3] or None (a
    point cloud); ``colors`` uint8 [N, 3] (0-255) or None.
    """

    run: str
    name: str
    step: int
    wall_time: float
    item: int
    items: int
    vertices: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    faces: npt.NDArray[np.uint32] | None = None
    colors: npt.NDArray[np.uint8] | None = None
    problem: str | None = None

    def header(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "name": self.name,
            "step": self.step,
            "wall_time": self.wall_time,
            "item": self.item,
            "items": self.items,
            "vertex_count": len(self.vertices),
            "face_count": 0 if self.faces is None else len(self.faces),
            "has_colors": self.colors is not None,
            "problem": self.problem,
        }


# -- listing -------------------------------------------------------------------


def list_meshes(data: DataProvider, run: str, name: str | None = None) -> list[dict[str, Any]]:
    """Each mesh of ``run`` (by name): its components, the steps of its vertices, its config."""
    parts = _parts_by_mesh(data, run)
    if name is not None:
        if name not in parts:
            raise NotFoundError(f"run {run!r} has no mesh {name!r}")
        parts = {name: parts[name]}
    found = []
    for mesh_name, components in sorted(parts.items()):
        first = components.get("VERTEX") or next(iter(components.values()))
        meta = _plugin_data(first)
        found.append(
            {
                "name": mesh_name,
                "display_name": first.info.display_name,
                "description": first.info.description,
                "components": [c for c in COMPONENTS if c in components],
                "shapes": {c: _plugin_data(s).shape[:] for c, s in components.items()},
                "steps": (
                    data.tensor_steps(run, components["VERTEX"].tag)
                    if "VERTEX" in components
                    else []
                ),
                "config": _config(meta.json_config),
            }
        )
    return found


def _parts_by_mesh(data: DataProvider, run: str) -> dict[str, dict[str, TagSummary]]:
    """The run's mesh tags grouped by mesh name, then by component ("VERTEX", ...)."""
    parts: dict[str, dict[str, TagSummary]] = {}
    for summary in data.tags("mesh", run, count_points=False):
        meta = _plugin_data(summary)
        component = _COMPONENT_OF.get(meta.content_type)
        if component is None:
            continue
        name = meta.name or summary.tag.removesuffix(f"_{component}")
        parts.setdefault(name, {})[component] = summary
    return parts


def _plugin_data(summary: TagSummary) -> plugin_mesh_pb2.MeshPluginData:
    """The tag's ``MeshPluginData``; from the tag's suffix when the bytes are unreadable."""
    try:
        return plugin_mesh_pb2.MeshPluginData.FromString(summary.info.content)
    except DecodeError:
        suffix = summary.tag.rsplit("_", 1)[-1]
        content_type = COMPONENTS.index(suffix) + 1 if suffix in COMPONENTS else 0
        return plugin_mesh_pb2.MeshPluginData(content_type=content_type)  # type: ignore[arg-type]


def _config(text: str) -> Any:
    """The json_config as JSON, or None when it is not valid (or not an object)."""
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# -- one step --------------------------------------------------------------------


def read_mesh_step(data: DataProvider, run: str, name: str, step: int, item: int = 0) -> MeshStep:
    """Item ``item`` of a mesh at ``step`` (the values last logged at that step), checked."""
    components = _parts_by_mesh(data, run).get(name)
    if components is None:
        raise NotFoundError(f"run {run!r} has no mesh {name!r}")
    if "VERTEX" not in components:
        raise NotFoundError(f"mesh {name!r} of run {run!r} has no vertices")
    tensors, wall_time = _tensors_at(data, run, {c: s.tag for c, s in components.items()}, step)
    if "VERTEX" not in tensors:
        raise NotFoundError(f"mesh {name!r} of run {run!r} has no step {step}")
    items = _batch_size(tensors["VERTEX"])
    if item >= items:
        raise NotFoundError(
            f"mesh {name!r} of run {run!r} has {items} item(s) at step {step}, so no item {item}"
        )
    found = MeshStep(run, name, step, wall_time, item, items)
    try:
        found.vertices, found.faces, found.colors = check_parts(
            tensors["VERTEX"], tensors.get("FACE"), tensors.get("COLOR"), item
        )
    except MeshPartsError as problem:
        found.problem = f"{problem} (item {item} at step {step})"
    return found


def _tensors_at(
    data: DataProvider, run: str, tags: dict[str, str], step: int
) -> tuple[dict[str, npt.NDArray[Any]], float]:
    """The components' tensors at ``step`` (the last logged of each) and the vertices' wall time."""
    found: dict[str, npt.NDArray[Any]] = {}
    wall_time = 0.0
    for component, tag in tags.items():
        points = data.tensors(run, tag, step=step)
        if not points:
            continue
        found[component] = points[-1].value  # the last logged at the step
        if component == "VERTEX":
            wall_time = points[-1].wall_time
    return found, wall_time


def _batch_size(array: npt.NDArray[Any]) -> int:
    """B of a [B, N, 3] tensor; a tensor of rank 2 or less is one mesh."""
    return int(array.shape[0]) if array.ndim >= 3 else 1


def _item(array: npt.NDArray[Any], item: int) -> npt.NDArray[Any]:
    return array[item] if array.ndim >= 3 else array


class MeshPartsError(ValueError):
    """Parts of a mesh that do not fit together; the message is one line for the page."""


def check_parts(
    vertices: npt.NDArray[Any],
    faces: npt.NDArray[Any] | None,
    colors: npt.NDArray[Any] | None,
    item: int = 0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32] | None, npt.NDArray[np.uint8] | None]:
    """Item ``item`` of each part as drawable arrays, or :class:`MeshPartsError` saying what is wrong."""
    points = _triples("vertices", "values", _item(vertices, item)).astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points).all(axis=1)).sum())
        raise MeshPartsError(f"{bad} of {len(points)} vertices have NaN or infinite coordinates")
    triangles = None
    if faces is not None:
        _same_batch("faces", faces, vertices)
        triangles = _face_indices(_triples("faces", "indices", _item(faces, item)), len(points))
    shades = None
    if colors is not None:
        _same_batch("colors", colors, vertices)
        shades = _color_bytes(_triples("colors", "values", _item(colors, item)), len(points))
    return points, triangles, shades


def _triples(what: str, unit: str, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The values as rows of 3 (x, y, z / a, b, c / r, g, b)."""
    if values.dtype.kind not in "biuf":
        raise MeshPartsError(f"{what} are of type {values.dtype}, not numbers")
    if values.size % 3:
        raise MeshPartsError(f"{what} hold {values.size} {unit}, not a multiple of 3")
    return values.reshape(-1, 3)


def _same_batch(what: str, part: npt.NDArray[Any], vertices: npt.NDArray[Any]) -> None:
    if _batch_size(part) != _batch_size(vertices):
        raise MeshPartsError(
            f"{what} have a batch of {_batch_size(part)} but vertices {_batch_size(vertices)}"
        )


def _face_indices(faces: npt.NDArray[Any], vertex_count: int) -> npt.NDArray[np.uint32]:
    if faces.size == 0:
        return np.zeros((0, 3), np.uint32)
    if faces.dtype.kind == "f" and not (
        np.isfinite(faces).all() and (faces == np.round(faces)).all()
    ):
        raise MeshPartsError("face indices must be whole numbers")
    low, high = faces.min(), faces.max()
    if low < 0 or high >= vertex_count:
        bad = low if low < 0 else high
        raise MeshPartsError(
            f"face index {int(bad)} is out of range: there are {vertex_count} vertices "
            f"(indices 0 to {vertex_count - 1})"
        )
    return faces.astype(np.uint32)


def _color_bytes(colors: npt.NDArray[Any], vertex_count: int) -> npt.NDArray[np.uint8]:
    """Colours as bytes. Floats all within [0, 1] are taken as fractions, as torch documents."""
    if len(colors) != vertex_count:
        raise MeshPartsError(
            f"there are {len(colors)} colors for {vertex_count} vertices; give one color per vertex"
        )
    values = np.nan_to_num(colors.astype(np.float64), nan=0.0)
    if colors.dtype.kind == "f" and values.size and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


# -- answers ---------------------------------------------------------------------


def mesh_json(found: MeshStep) -> dict[str, Any]:
    """The JSON form: the header's fields and flat arrays (null when a part is absent)."""
    return {
        **found.header(),
        "vertices": found.vertices.reshape(-1).tolist(),
        "faces": None if found.faces is None else found.faces.reshape(-1).tolist(),
        "colors": None if found.colors is None else found.colors.reshape(-1).tolist(),
    }


def mesh_binary(found: MeshStep) -> bytes:
    """``SSM1``, a uint32 header length, the JSON header padded to 4 bytes, then the arrays.

    The arrays follow each other, little-endian: the vertices as float32
    (``vertex_count`` x 3), the faces as uint32 (``face_count`` x 3) and the
    colours as uint8 (``vertex_count`` x 3, when ``has_colors``).
    """
    header = json.dumps(found.header()).encode()
    padding = b" " * (-(len(_MAGIC) + 4 + len(header)) % 4)
    parts = [_MAGIC, struct.pack("<I", len(header) + len(padding)), header, padding]
    parts.append(found.vertices.astype("<f4").tobytes())
    if found.faces is not None:
        parts.append(found.faces.astype("<u4").tobytes())
    if found.colors is not None:
        parts.append(found.colors.tobytes())
    return b"".join(parts)
