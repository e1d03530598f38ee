"""Keras's conceptual graph: a model config (``model.to_json()``) as nodes, one per layer.

As TensorBoard draws it: each layer is a node named by the models it is
nested in (``model/dense_1``); a nested model is a scope, its input layers
joined to what feeds the model and its output layers to what reads it; a
Sequential model's layers follow each other. The layer's class is its op
(and ``keras_class``), its dtype ``dtype``, and its config's plain values
(``units``, ``activation``...) its attributes.

Both Keras 3's ``inbound_nodes`` (``{"args": [{"config": {"keras_history": [...]}}]}``)
and Keras 2's (``[[["name", node, tensor, {}]]]``) are read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from stepscope.plugins.graphs.parse import RawNode
from stepscope.proto import graph_pb2, tensor_pb2

DT = tensor_pb2.DataType
_DTYPES = {
    "float16": DT.DT_HALF,
    "float32": DT.DT_FLOAT,
    "float64": DT.DT_DOUBLE,
    "bfloat16": DT.DT_BFLOAT16,
    "int8": DT.DT_INT8,
    "int16": DT.DT_INT16,
    "int32": DT.DT_INT32,
    "int64": DT.DT_INT64,
    "uint8": DT.DT_UINT8,
    "uint16": DT.DT_UINT16,
    "bool": DT.DT_BOOL,
    "string": DT.DT_STRING,
    "complex64": DT.DT_COMPLEX64,
    "complex128": DT.DT_COMPLEX128,
}
_SKIPPED_CONFIG = ("name", "dtype", "layers", "input_layers", "output_layers")
_TEXT_LIMIT = 200


class KerasConfigError(ValueError):
    """The JSON is not a Keras model config."""


def keras_nodes(text: bytes) -> list[RawNode]:
    """The layers of the Keras model config ``text`` as nodes."""
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KerasConfigError(f"not JSON ({error})") from error
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise KerasConfigError("not a Keras model config (no 'config' object)")
    return _Converter().convert(config)


class _Converter:
    def __init__(self) -> None:
        self.input_of: dict[str, str] = {}  # a nested model's input layer -> what feeds it
        self.outputs_of: dict[str, list[str]] = {}  # a model -> its output layers
        self.previous: str | None = None  # the last layer, for Sequential chains

    def convert(self, config: dict[str, Any]) -> list[RawNode]:
        nodes = []
        for scope, layer in _walk(config, ""):
            if _is_model(layer):
                self._model(scope, layer)
                continue
            nodes.append(self._layer(scope, layer))
        return nodes

    def _model(self, scope: str, layer: dict[str, Any]) -> None:
        config = layer["config"]
        name = _scoped(scope, str(config.get("name", "model")))
        inputs, outputs = config.get("input_layers"), config.get("output_layers")
        inbound = _inbound(layer)
        functional = bool(inputs and outputs)
        if inbound and functional:
            for entry, source in zip(_as_list_of_refs(inputs), inbound, strict=False):
                self.input_of[_scoped(name, str(entry[0]))] = _scoped(scope, source)
        elif inbound:
            self.previous = _scoped(scope, inbound[0])  # a Sequential model's one input
        elif functional and self.previous is not None:
            first = _as_list_of_refs(inputs)[0]
            self.input_of[_scoped(name, str(first[0]))] = self.previous
        if functional:
            self.outputs_of[name] = [
                _scoped(name, str(ref[0])) for ref in _as_list_of_refs(outputs)
            ]
        elif config.get("layers"):
            last = config["layers"][-1].get("config", {}).get("name", "")
            self.outputs_of[name] = [_scoped(name, str(last))]

    def _layer(self, scope: str, layer: dict[str, Any]) -> RawNode:
        config = layer.get("config") or {}
        name = _scoped(scope, str(config.get("name", "layer")))
        class_name = str(layer.get("class_name", "Layer"))
        node = RawNode(name, class_name, [])
        node.attrs["keras_class"] = graph_pb2.AttrValue(s=class_name.encode())
        dtype = _dtype(config.get("dtype"))
        if dtype is not None:
            node.attrs["dtype"] = graph_pb2.AttrValue(type=dtype)  # type: ignore[arg-type]
        for key, value in config.items():
            if key not in _SKIPPED_CONFIG and (attr := _attr(value)) is not None:
                node.attrs[key] = attr
        if "inbound_nodes" in layer:
            for source, tensor in _inbound_refs(layer):
                sources = self.outputs_of.get(_scoped(scope, source), [_scoped(scope, source)])
                node.inputs.append(sources[tensor] if tensor < len(sources) else sources[-1])
        elif self.previous is not None:
            node.inputs.append(self.previous)
        if name in self.input_of:
            node.inputs.append(self.input_of[name])
        self.previous = name
        return node


def _walk(layer: dict[str, Any], scope: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(scope, layer)`` of a layer and everything nested in it, in order."""
    yield scope, layer
    config = layer.get("config") or {}
    if isinstance(config.get("layers"), list):
        inner = _scoped(scope, str(config.get("name", "model")))
        for child in config["layers"]:
            if isinstance(child, dict):
                yield from _walk(child, inner)


def _is_model(layer: dict[str, Any]) -> bool:
    return isinstance((layer.get("config") or {}).get("layers"), list)


def _scoped(scope: str, name: str) -> str:
    return f"{scope}/{name}" if scope else name


def _as_list_of_refs(refs: Any) -> list[list[Any]]:
    """``["name", 0, 0]`` or ``[["a", 0, 0], ["b", 0, 0]]`` as a list of references."""
    if isinstance(refs, list) and refs and isinstance(refs[0], list):
        return refs
    return [refs] if isinstance(refs, list) and refs else []


def _inbound(layer: dict[str, Any]) -> list[str]:
    return [source for source, _ in _inbound_refs(layer)]


def _inbound_refs(layer: dict[str, Any]) -> list[tuple[str, int]]:
    """``(layer name, tensor index)`` of each input of a layer, Keras 3's form or Keras 2's."""
    found = []
    for call in layer.get("inbound_nodes") or []:
        if isinstance(call, dict):  # Keras 3
            for argument in _flat(call.get("args", [])):
                history = (argument.get("config") or {}).get("keras_history", [])
                if len(history) >= 3:
                    found.append((str(history[0]), int(history[2])))
        elif isinstance(call, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            for ref in call:
                if isinstance(ref, list) and len(ref) >= 3:
                    found.append((str(ref[0]), int(ref[2])))
    return found


def _flat(items: Any) -> Iterator[dict[str, Any]]:
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, list):
            yield from _flat(item)
        elif isinstance(item, dict):
            yield item


def _dtype(value: Any) -> int | None:
    """A layer's dtype: a name, or a policy ``{"config": {"name": ...}}`` (mixed precision has none)."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    return _DTYPES.get(value) if isinstance(value, str) else None


def _attr(value: Any) -> graph_pb2.AttrValue | None:
    """A config value as an attribute: numbers, flags and text as they are, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return graph_pb2.AttrValue(b=value)
    if isinstance(value, int):
        return graph_pb2.AttrValue(i=value) if abs(value) < 1 << 63 else None
    if isinstance(value, float):
        return graph_pb2.AttrValue(f=value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return graph_pb2.AttrValue(s=text[:_TEXT_LIMIT].encode())
