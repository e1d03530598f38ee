"""The example input of a summary: from ``input_size`` (made up) or ``input_data`` (given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch

from stepscope.errors import UsageError


def normalize_sizes(input_size: Any) -> list[tuple[int, ...]]:
    """torchinfo's forms: ``(2, 3)``, ``[2, 3]``, ``[(2, 3), (2, 5)]``, ``torch.Size``..."""
    if not isinstance(input_size, (list, tuple)) or not input_size:
        raise UsageError(
            f"input_size must be a shape like (16, 3, 32, 32) or a list of shapes, not {input_size!r}"
        )
    if all(isinstance(n, int) for n in input_size):
        sizes = [tuple(input_size)]
    elif all(isinstance(s, (list, tuple)) for s in input_size):
        sizes = [tuple(s) for s in input_size]
    else:
        raise UsageError(
            f"input_size mixes numbers and shapes: {input_size!r}; "
            "give one shape, or a list with one shape per input"
        )
    for size in sizes:
        if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
            raise UsageError(f"input_size has a dimension that is not a positive integer: {size!r}")
    return sizes


def make_inputs(
    input_size: Any,
    batch_dim: int | None,
    dtypes: Sequence[Any] | None,
    device: torch.device,
) -> list[torch.Tensor]:
    """Random floats (zeros for integer dtypes: valid indices for any embedding) of each shape."""
    sizes = normalize_sizes(input_size)
    dtypes = list(dtypes) if dtypes is not None else [torch.float32] * len(sizes)
    if len(dtypes) != len(sizes):
        raise UsageError(f"dtypes has {len(dtypes)} entries for {len(sizes)} input shapes")
    tensors = []
    for size, dtype in zip(sizes, dtypes, strict=True):
        shape = list(size)
        if batch_dim is not None:
            shape.insert(batch_dim, 1)
        if dtype.is_floating_point or dtype.is_complex:
            tensors.append(torch.rand(shape, device=device).to(dtype))
        else:
            tensors.append(torch.zeros(shape, dtype=dtype, device=device))
    return tensors


def to_device(data: Any, device: torch.device | None) -> Any:
    """``data`` with every tensor moved to ``device`` (nested lists, tuples and dicts)."""
    if device is None:
        return data
    if isinstance(data, torch.Tensor):
        return data.to(device)
    if isinstance(data, Mapping):
        moved = {key: to_device(value, device) for key, value in data.items()}
        return moved if type(data) is dict else cast(Any, type(data))(moved)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(to_device(value, device) for value in data))
    if isinstance(data, (list, tuple)):
        return type(data)(to_device(value, device) for value in data)
    return data


def split_input_data(input_data: Any) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments of the forward call, torchinfo's way.

    A tensor (or numpy array) is the one argument; a dict is keyword arguments
    (Hugging Face style: ``{"input_ids": ..., "attention_mask": ...}``); a list
    or tuple is the positional arguments (wrap a dict in a list to pass it as
    one argument).
    """
    if isinstance(input_data, torch.Tensor):
        return [input_data], {}
    if type(input_data).__module__ == "numpy":
        return [torch.as_tensor(input_data)], {}
    if isinstance(input_data, Mapping):
        return [], dict(input_data)
    if isinstance(input_data, (list, tuple)):
        return list(input_data), {}
    raise UsageError(
        f"input_data must be a tensor, a list of arguments or a dict of keyword arguments, "
        f"not {type(input_data).__name__}"
    )
