"""Running the model once under the tracer, and leaving it as it was."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from stepscope.errors import StepscopeError
from stepscope.model_summary.allocate import NeedsValues
from stepscope.model_summary.memory import CudaMeter, StorageMeter, storage_bytes
from stepscope.model_summary.trace import Layer, Tracer, tensors_in


class SummaryError(StepscopeError, RuntimeError):
    """The model's forward (or backward) raised; ``summary`` has the layers reached."""

    http_status = 422

    def __init__(self, message: str, summary: Any = None, layer: str | None = None) -> None:
        super().__init__(message)
        self.summary = summary
        self.layer = layer


@dataclass
class PassResult:
    """What one pass found (``root`` is None when the forward did not start)."""

    root: Layer | None
    error: BaseException | None = None
    phase: str = "forward"
    peak: int | None = None
    forward_peak: int | None = None
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _model_left_as_it_was(model: Any, mode: str) -> Iterator[None]:
    """Train/eval flags, gradients, buffers (a train-mode pass updates BatchNorm's) and the RNG restored."""
    training = {module: module.training for module in model.modules()}
    grads = {param: param.grad for param in model.parameters()}
    buffers = [(b, b.detach().clone()) for b in model.buffers()] if mode == "train" else []
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        model.train(mode == "train")
        for param in grads:
            param.grad = None
        # The fused inference kernels of nn.MultiheadAttention and
        # nn.TransformerEncoderLayer run their sub-layers' weights inside one
        # operation: no sub-layer call, and torch's FLOP counter sees nothing.
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for module, flag in training.items():
            module.training = flag
        for param, grad in grads.items():
            param.grad = grad
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


@dataclass
class PassRequest:
    """What to run: the model, its arguments, and how."""

    model: Any
    args: list[Any]
    kwargs: dict[str, Any]
    mode: str  # "train" or "eval"
    backward: bool  # also run one backward pass (to measure memory)
    device: torch.device


def run_pass(request: PassRequest, compute: bool = False) -> PassResult:
    """One forward (and, with ``request.backward``, one backward) pass, traced.

    Unless ``compute``, the pass first runs without arithmetic (allocate.py);
    if the model needs values, or anything goes wrong that way, it runs again
    computing everything, and only that run's errors are reported.
    """
    if compute:
        return _attempt(request, without_arithmetic=False)
    try:
        result = _attempt(request, without_arithmetic=True)
    except NeedsValues as signal:
        reason = f"it reads tensor values ({signal})"
    else:
        if result.error is None:
            return result
        reason = f"{type(result.error).__name__} without arithmetic"
    result = _attempt(request, without_arithmetic=False)
    result.notes.append(f"the model ran with its arithmetic computed: {reason}")
    return result


def _attempt(request: PassRequest, without_arithmetic: bool) -> PassResult:
    model, args, kwargs = request.model, request.args, request.kwargs
    backward, device = request.backward, request.device
    on_cuda = device.type == "cuda"
    meter = StorageMeter() if backward and not on_cuda else None
    tracer = Tracer(model, meter)
    tracer.without_arithmetic = without_arithmetic
    result = PassResult(None)
    with _model_left_as_it_was(model, request.mode):
        held = [*model.parameters(), *model.buffers(), *tensors_in((args, kwargs))]
        if meter is not None:
            meter.preload(held)
        cuda = CudaMeter(device) if backward and on_cuda else None
        tracer.attach()
        try:
            with tracer, torch.set_grad_enabled(backward):
                output = model(*args, **kwargs)
                result.forward_peak = _peak(meter, cuda, held)
                tracer.in_backward = True
                result.phase = "backward"
                if backward:
                    _backward(output, result)
            result.peak = _peak(meter, cuda, held) if backward else None
        except Exception as error:  # the model's own error, reported with the layers reached
            result.error = error
        finally:
            tracer.detach()
            result.root = tracer.root
    return result


def _peak(meter: StorageMeter | None, cuda: CudaMeter | None, held: list[Any]) -> int | None:
    if meter is not None:
        return meter.peak
    if cuda is not None:
        return cuda.peak_above_start() + storage_bytes(held)
    return None


def _backward(output: Any, result: PassResult) -> None:
    roots = [t for t in tensors_in(output) if t.requires_grad and t.is_floating_point()]
    if not roots:
        result.notes.append(
            "no backward pass: nothing in the output requires grad (frozen model?); "
            "the measured peak is the forward's"
        )
        return
    torch.autograd.backward([t.sum() for t in roots])
