"""Measuring the peak memory of a forward and backward pass.

On CUDA the caching allocator keeps the figure (``max_memory_allocated``).
Elsewhere (CPU) the pass runs under a dispatch mode that sees every tensor
an operation returns: a new storage adds its bytes, and a finalizer on the
storage takes them off when it is freed (torch keeps a storage's Python
object alive exactly as long as the storage, so the finalizer runs at the
free, not earlier). The peak is then the most bytes held at once by tensors
made during the pass, plus what was held before it (parameters, buffers,
inputs). Scratch memory a kernel allocates and frees inside one operation is
not a tensor and is not seen.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch


class StorageMeter:
    """Bytes held by the storages it has been shown, and the most held at once."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self._live: dict[int, int] = {}

    def preload(self, tensors: Any) -> None:
        """Count what is held before the pass (parameters, buffers, inputs), so views of them are not new."""
        for tensor in tensors:
            self.see(tensor)

    def see(self, value: Any) -> None:
        """Count the storage of every tensor in ``value`` (a tensor or nested tuple/list)."""
        if isinstance(value, torch.Tensor):
            self._see_tensor(value)
        elif isinstance(value, (tuple, list)):
            for item in value:
                self.see(item)

    def _see_tensor(self, tensor: torch.Tensor) -> None:
        if tensor.device.type == "meta" or tensor.is_sparse:
            return
        try:
            storage = tensor.untyped_storage()
        except (RuntimeError, NotImplementedError):  # tensors without storage (nested, functional)
            return
        size = int(storage.nbytes())
        key = int(storage.data_ptr())
        if size == 0 or key in self._live:
            return
        self._live[key] = size
        self.current += size
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._release, key)

    def _release(self, key: int) -> None:
        self.current -= self._live.pop(key, 0)


def storage_bytes(tensors: Any) -> int:
    """Bytes of the distinct storages behind ``tensors`` (an iterable of tensors)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
            storage = tensor.untyped_storage()
            seen[int(storage.data_ptr())] = int(storage.nbytes())
    return sum(seen.values())


class CudaMeter:
    """The CUDA allocator's own peak, from a reset before the pass."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        self.before = int(torch.cuda.memory_allocated(device))

    def peak_above_start(self) -> int:
        torch.cuda.synchronize(self.device)
        return int(torch.cuda.max_memory_allocated(self.device)) - self.before
