"""Running a model's operations without their arithmetic.

A summary needs shapes, costs and memory, not values. Each operation's
results can be allocated on the real device (so the allocator sees exactly
the memory the real kernel would take) with the layout torch's own meta
kernel gives, without computing them: a pass of a large model then takes a
fraction of its compute time.

Values matter only where the model reads them: an ``item()`` or ``bool()``
on a tensor, or an operation whose output *shape* depends on the values
(``nonzero``, a boolean mask, ``unique``). torch tags those
(``data_dependent_output``, ``dynamic_output_shape``); meeting one raises
:class:`NeedsValues` and the pass is run again with everything computed.
Views, in-place and ``out=`` operations, and operations that take no tensor,
run as they are: they allocate nothing new, or cost nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._pytree import tree_leaves, tree_map_only

aten = torch.ops.aten

# When the pass computes, the backward pass's matrix products still only
# allocate: their values are not needed for the memory measurement.
PRODUCTS = {
    aten.mm,
    aten.addmm,
    aten.bmm,
    aten.baddbmm,
    aten.convolution_backward,
    aten.mkldnn_rnn_layer_backward,
    aten._scaled_dot_product_flash_attention_for_cpu_backward,
    aten._scaled_dot_product_flash_attention_backward,
    aten._scaled_dot_product_efficient_attention_backward,
    aten._efficient_attention_backward,
    aten._flash_attention_backward,
}
_READS_VALUES = {aten.is_nonzero, aten.item, aten._local_scalar_dense, aten.equal}
# Fused RNN kernels: their meta kernels leave out the workspace the real
# kernel returns for the backward pass, so they are computed.
_COMPUTED = {
    aten.mkldnn_rnn_layer,
    aten.mkldnn_rnn_layer_backward,
    aten._cudnn_rnn,
    aten._cudnn_rnn_backward,
}


class NeedsValues(BaseException):  # a signal: a model's own `except Exception` must not catch it
    """The model read a tensor's values: the pass must compute them."""


def without_arithmetic(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The results of ``func``: allocated, not computed, unless something needs their values."""
    packet = func.overloadpacket
    tags = func.tags
    if packet in _READS_VALUES or torch.Tag.data_dependent_output in tags:
        raise NeedsValues(str(func))
    if torch.Tag.dynamic_output_shape in tags and not _integer_index(packet, args):
        raise NeedsValues(str(func))
    if packet in _COMPUTED or any(ret.alias_info is not None for ret in func._schema.returns):
        return func(*args, **kwargs)  # a view, in-place or out=: nothing new to allocate
    return allocated_like(func, args, kwargs)


def _integer_index(packet: Any, args: tuple[Any, ...]) -> bool:
    # x[idx] has a shape known from idx unless idx is a boolean mask.
    if packet is not aten.index:
        return False
    indices = args[1] if len(args) > 1 else []
    return all(i is None or not (i.dtype is torch.bool or i.dtype is torch.uint8) for i in indices)


def allocated_like(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What ``func`` would return, allocated but not computed (its meta kernel gives the layout)."""
    tensors = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
    if not tensors:
        return func(*args, **kwargs)  # a factory (zeros, randn...): cheap, and may set values
    device = kwargs.get("device") or tensors[0].device
    try:
        meta_args, meta_kwargs = tree_map_only(torch.Tensor, lambda t: t.to("meta"), (args, kwargs))
        if "device" in meta_kwargs:
            meta_kwargs["device"] = torch.device("meta")
        layout = func(*meta_args, **meta_kwargs)
    except (NotImplementedError, RuntimeError, TypeError):  # no meta kernel: compute it
        return func(*args, **kwargs)
    return tree_map_only(
        torch.Tensor,
        lambda m: torch.empty_strided(m.shape, m.stride(), dtype=m.dtype, device=device),
        layout,
    )
