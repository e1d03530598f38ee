"""What one aten operation costs: multiply-adds, and the other arithmetic.

Two figures per operation, kept apart because they mean different things:

* **mult-adds** (MACs): the products of matrix multiplications, convolutions
  and attention. For the operations torch's own FLOP counter knows
  (``torch.utils.flop_counter.flop_registry``) the figure is exactly half of
  its FLOPs. Two kinds it does not know are counted here too: attention on
  CPU (``_scaled_dot_product_flash_attention_for_cpu``) and oneDNN's fused RNN
  layer (``mkldnn_rnn_layer``, what ``nn.LSTM`` runs on CPU). The fused
  inference fast paths of ``nn.MultiheadAttention`` and
  ``nn.TransformerEncoderLayer`` are turned off while a summary runs, so
  their work shows as the products above.
* **other ops**: the arithmetic outside the multiply-adds, the part torchinfo
  and torch's counter leave out. One per output element for an elementwise
  operation (activations, additions, masks), one per input element for a
  reduction, three per element for a softmax (exponent, sum, divide), five per
  element for a normalization (mean, variance, subtract, divide, affine) and
  the kernel's area per output element for a pooling.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.flop_counter import flop_registry, sdpa_flop_count

aten = torch.ops.aten

# Pointwise by torch's tags, but copies: no arithmetic.
_COPIES = {
    aten.clone,
    aten.copy_,
    aten.copy,
    aten.fill_,
    aten.zero_,
    aten.lift_fresh,
    aten.alias,
    aten.detach,
    aten.masked_fill_,
    aten.masked_fill,
}
_SOFTMAX = {aten._softmax, aten._log_softmax, aten._safe_softmax}
_NORMS = {
    aten.native_layer_norm,
    aten.native_batch_norm,
    aten._native_batch_norm_legit,
    aten._native_batch_norm_legit_no_training,
    aten.native_group_norm,
    aten._fused_rms_norm,
}
# Pooling operations and their number of spatial dimensions (a kernel size
# given as one number is that number in each of them).
_POOLS = {
    aten.max_pool1d: 1,
    aten.max_pool2d: 2,
    aten.max_pool3d: 3,
    aten.max_pool2d_with_indices: 2,
    aten.max_pool3d_with_indices: 3,
    aten.avg_pool1d: 1,
    aten.avg_pool2d: 2,
    aten.avg_pool3d: 3,
}
_ADAPTIVE_POOLS = {
    aten._adaptive_avg_pool2d,
    aten._adaptive_avg_pool3d,
    aten.adaptive_max_pool2d,
    aten.adaptive_max_pool3d,
    aten.adaptive_avg_pool1d,
}


def _numel(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return int(value.numel())
    if isinstance(value, (tuple, list)):
        return sum(_numel(item) for item in value)
    return 0


def _first_numel(value: Any) -> int:
    while isinstance(value, (tuple, list)) and value:
        value = value[0]
    return _numel(value)


def mult_adds(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Multiply-adds of one call of ``func`` (an aten overload), 0 if it has none."""
    packet = func.overloadpacket
    formula = flop_registry.get(packet)
    if formula is not None:
        return int(formula(*args, **kwargs, out_val=out)) // 2
    if packet is aten._scaled_dot_product_flash_attention_for_cpu:
        query, key, value = args[:3]
        flops = sdpa_flop_count(query.shape, key.shape, value.shape)  # type: ignore[no-untyped-call]
        return int(flops) // 2
    if packet is aten.mkldnn_rnn_layer:
        # input [time, batch, features]; weights [gates * hidden, in] and [gates * hidden, hidden]
        steps = int(args[0].shape[0]) * int(args[0].shape[1])
        return steps * (int(args[1].numel()) + int(args[2].numel()))
    return 0


def other_ops(func: Any, args: tuple[Any, ...], out: Any) -> int:
    """Arithmetic of one call outside its multiply-adds (see the module's docstring)."""
    packet = func.overloadpacket
    if packet in _COPIES:
        return 0
    if packet in _SOFTMAX:
        return 3 * _numel(args[0])
    if packet in _NORMS:
        return 5 * _numel(args[0])
    if packet in _POOLS:
        kernel = [int(k) for k in _as_list(args[1])]
        area = kernel[0] ** _POOLS[packet] if len(kernel) == 1 else math.prod(kernel)
        return _first_numel(out) * area
    if packet in _ADAPTIVE_POOLS:
        return _numel(args[0])
    tags = func.tags
    if torch.Tag.pointwise in tags:
        return _first_numel(out)
    if torch.Tag.reduction in tags:
        return _numel(args[0])
    return 0


def _as_list(kernel: Any) -> list[Any]:
    return list(kernel) if isinstance(kernel, (list, tuple)) else [kernel]
