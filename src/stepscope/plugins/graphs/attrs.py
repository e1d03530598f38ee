"""Node attributes as JSON: one key naming the kind of value, as protobuf's ``AttrValue`` does.

===================================  ============================================
``AttrValue``                        JSON
===================================  ============================================
``s`` (bytes)                        ``{"s": "text"}`` (UTF-8, invalid bytes replaced)
``i``, ``f``, ``b``                  ``{"i": 3}``, ``{"f": 0.5}``, ``{"b": true}``
``type``                             ``{"type": "float32"}``
``shape``                            ``{"shape": [2, -1]}`` (``null``: rank unknown)
``tensor``                           ``{"tensor": {"dtype", "shape", "values"}}``
``list``                             ``{"list": {"i": [...], "shape": [...], ...}}``
``func``                             ``{"func": {"name": ..., "attrs": {...}}}``
``placeholder``                      ``{"placeholder": "T"}``
too large                            the same key, and ``"truncated": true, "bytes": N``
===================================  ============================================

A truncated tensor keeps its dtype and shape (``values`` is ``null``); a
truncated string its first 256 bytes. Non-finite floats are the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"``, integers beyond 2**53 strings, as
everywhere in stepscope's JSON.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from stepscope import tensors
from stepscope.plugins.graphs.parse import Truncated
from stepscope.proto import graph_pb2, tensor_pb2
from stepscope.server.jsonable import json_values, plain

#: A tensor attribute's values are listed up to this many elements.
TENSOR_VALUES = 1000


@lru_cache(maxsize=256)
def type_name(dtype: int) -> str | None:
    """``"float32"`` for DT_FLOAT; ``None`` for DT_INVALID (not a tensor)."""
    return None if dtype == tensor_pb2.DT_INVALID else tensors.dtype_name(dtype)


def shape_list(shape: tensor_pb2.TensorShapeProto) -> list[int] | None:
    """Dimensions (-1 where unknown), or ``None`` when even the rank is unknown."""
    if shape.unknown_rank:
        return None
    return [int(dim.size) for dim in shape.dim]


def attr_json(value: graph_pb2.AttrValue | Truncated) -> dict[str, Any]:
    """One attribute as JSON (see the module's table)."""
    if isinstance(value, Truncated):
        return _truncated(value)
    kind = value.WhichOneof("value")
    if kind is None:
        return {"list": {}}  # an empty list is an AttrValue with nothing set
    if kind == "list":
        return {"list": _list(value.list)}
    return {kind: _single(kind, getattr(value, kind))}


def _truncated(value: Truncated) -> dict[str, Any]:
    content: Any = None
    if value.kind == "tensor":
        content = {
            "dtype": type_name(value.dtype),
            "shape": shape_list(value.shape) if value.shape is not None else None,
            "values": None,
        }
    elif value.kind == "s":
        content = value.preview.decode("utf-8", "replace")
    return {value.kind: content, "truncated": True, "bytes": value.size}


def _single(kind: str, value: Any) -> Any:
    if kind == "s":
        return value.decode("utf-8", "replace")
    if kind == "type":
        return type_name(value)
    if kind == "shape":
        return shape_list(value)
    if kind == "tensor":
        return _tensor(value)
    if kind == "func":
        return {"name": value.name, "attrs": {k: attr_json(v) for k, v in value.attr.items()}}
    return plain(value)


def _list(values: graph_pb2.AttrValue.ListValue) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field, items in values.ListFields():
        kind = field.name
        if kind == "s":
            found[kind] = [item.decode("utf-8", "replace") for item in items]
        elif kind == "type":
            found[kind] = [type_name(item) for item in items]
        elif kind in ("shape", "tensor", "func"):
            found[kind] = [_single(kind, item) for item in items]
        else:
            found[kind] = plain(list(items))
    return found


def _tensor(proto: tensor_pb2.TensorProto) -> dict[str, Any]:
    found: dict[str, Any] = {
        "dtype": type_name(proto.dtype),
        "shape": shape_list(proto.tensor_shape),
        "values": None,
    }
    try:
        array = tensors.to_numpy(proto)
    except ValueError:  # a dtype stepscope does not decode
        return found
    flat = array.reshape(-1)
    found["values"] = json_values(flat[:TENSOR_VALUES])
    if flat.size > TENSOR_VALUES:
        found["truncated"] = True
    return found
