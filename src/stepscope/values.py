"""Turning what users pass to the writer (numbers, numpy arrays, torch
tensors, lists) into numpy arrays, without importing torch.

torch is optional: a tensor is recognised by its methods, never by
``isinstance(x, torch.Tensor)``, so ``import stepscope`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def is_torch_tensor(value: object) -> bool:
    """Whether ``value`` looks like a torch tensor (without importing torch)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy(value: Any) -> npt.NDArray[Any]:
    """A numpy array holding ``value``; no copy where none is needed.

    torch tensors are detached and moved to the CPU; bfloat16, which numpy
    lacks, becomes float32 (exact). Callers that keep the array beyond the
    call must copy it, because it may share memory with the caller's tensor.
    """
    if isinstance(value, np.ndarray):
        return value
    if is_torch_tensor(value):
        tensor = value.detach()
        if tensor.device.type == "meta":
            raise ValueError("a tensor on the 'meta' device has no values to log")
        if str(tensor.dtype) == "torch.bfloat16":
            tensor = tensor.float()
        if tensor.device.type != "cpu":
            tensor = tensor.cpu()
        if tensor.is_conj():
            tensor = tensor.resolve_conj()
        return np.asarray(tensor.numpy())
    if np.isscalar(value):
        return np.array([value])
    return np.asarray(value)


def to_float(value: Any) -> float:
    """One number from a Python number, a numpy scalar, or a one-element array/tensor."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is bool or isinstance(value, np.generic):
        return float(value)
    if is_torch_tensor(value) and value.numel() == 1:
        return float(value.detach().cpu().item())
    array = to_numpy(value).squeeze()
    if array.ndim != 0:
        raise ValueError(
            f"expected a single number, got an array of shape {tuple(array.shape)}; "
            "log one element (e.g. loss.item()) or use add_histogram/add_tensor"
        )
    return float(array)


def to_step(step: Any) -> int:
    """The int64 step of an event (``None`` means 0, as in torch's writer)."""
    if step is None:
        return 0
    if type(step) is int:
        return step
    return int(step)
