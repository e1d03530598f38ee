"""PyTorch Lightning's ``hparams.yaml``: the hyperparameters its TensorBoardLogger saves beside the events.

Lightning dumps ``self.hparams`` with PyYAML, which can include Python-specific
tags (``!!python/object``, ``!!python/tuple``...) for namespaces, tuples and
enums. Nothing in the file is ever executed: unknown tags become their
plain YAML value (a mapping, a list or a string).
"""

from __future__ import annotations

from typing import Any

import yaml


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """A safe loader that reads any tag as plain data instead of refusing it."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("", _plain)


def read_hparams_yaml(path: str) -> dict[str, Any]:
    """The hyperparameters in a Lightning ``hparams.yaml``, flattened to ``{"a/b": value}``.

    Values that are not numbers, booleans or strings are shown as text. A
    file that cannot be read or parsed gives ``{}`` (the run is still read).
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    flat: dict[str, Any] = {}
    _flatten(data, "", flat)
    return flat


def _flatten(data: dict[Any, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, name + "/", out)
        elif isinstance(value, bool | int | float | str) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
