"""From one traced pass to a :class:`ModelSummary`: the rows, the totals and the notes."""

from __future__ import annotations

from typing import Any

from stepscope.model_summary.memory import storage_bytes
from stepscope.model_summary.run import PassResult
from stepscope.model_summary.table import Formatting, ModelSummary, Totals
from stepscope.model_summary.trace import (
    Layer,
    add_uncalled,
    assign_parameters,
    number_rows,
    tensors_in,
)

_FUSED = {"MultiheadAttention", "TransformerEncoderLayer"}

# The attribute that says what input a layer expects, and how to say it.
_EXPECTS = (
    ("in_features", "a last dimension of {} (in_features)"),
    ("in_channels", "{} channels in dimension 1, or 0 when unbatched (in_channels)"),
    ("num_features", "{} features/channels (num_features)"),
    ("normalized_shape", "trailing dimensions {} (normalized_shape)"),
    ("embed_dim", "a last dimension of {} (embed_dim)"),
    ("input_size", "a last dimension of {} (input_size)"),
    ("num_embeddings", "integer indices below {} (num_embeddings)"),
)


def assemble(
    model: Any,
    passed: PassResult,
    formatting: Formatting,
    inputs: Any,
    forward_ran: bool,
    device: Any,
) -> ModelSummary:
    root = add_uncalled(model, passed.root)
    assign_parameters(root)
    number_rows(root)
    layers = list(root.walk())
    totals = Totals(
        total_params=sum(layer.params for layer in layers),
        trainable_params=sum(layer.trainable_params for layer in layers),
        total_mult_adds=sum(layer.macs for layer in layers),
        total_other_ops=sum(layer.other_ops for layer in layers),
        input_bytes=storage_bytes(tensors_in(inputs)),
        forward_backward_bytes=2 * sum(layer.output_bytes for layer in layers if layer.is_leaf),
        param_bytes=sum(int(p.numel()) * p.element_size() for p in model.parameters()),
        buffer_bytes=sum(int(b.numel()) * b.element_size() for b in model.buffers()),
        measured_peak_bytes=passed.peak,
        measured_forward_peak_bytes=passed.forward_peak,
        device=str(device),
    )
    notes = list(passed.notes)
    fused = sorted({type(m).__name__ for m in model.modules() if type(m).__name__ in _FUSED})
    if forward_ran and fused:
        notes.append(
            f"the fused inference fast path of {' and '.join(fused)} was off for the summary: "
            "FLOP counters cannot see inside the fused kernel, and it skips the sub-layers' calls"
        )
    if forward_ran:
        notes += _notes(layers)
    return ModelSummary(root, totals, formatting, forward_ran and passed.error is None, notes)


def _notes(layers: list[Layer]) -> list[str]:
    notes = []
    uncalled = [
        layer for layer in layers if layer.call == 0 and layer.own_params and layer.error is None
    ]
    if uncalled:
        names = ", ".join(f"{layer.name} ({layer.class_name})" for layer in uncalled[:2])
        more = f" and {len(uncalled) - 2} more" if len(uncalled) > 2 else ""
        notes.append(
            f"{names}{more} never ran as a module call (a parent used the weights directly, "
            "or the layer is unused); their parameters are counted, their cost is in the parent's row"
        )
    tied = [layer for layer in layers if layer.shared_from and layer.call <= 1]
    for layer in tied[:4]:
        notes.append(
            f"{layer.name} shares parameters with {layer.shared_from}: counted once, there"
        )
    # The outermost module run again (a block in a loop), not each layer inside it.
    reused = {
        id(layer.module): layer
        for layer in layers
        if layer.call > 1 and (layer.parent is None or layer.parent.call <= 1)
    }
    for layer in list(reused.values())[:4]:
        notes.append(
            f"{layer.name} ({layer.class_name}) ran {layer.call} times: each call is a row "
            "with its own cost; its parameters are counted once"
        )
    return notes


def describe_failure(result: ModelSummary, passed: PassResult) -> tuple[str, str | None]:
    """One line: where the forward failed, with what shapes, and the layers reached before."""
    error = passed.error
    assert error is not None
    failing = [layer for layer in result.layers if layer.error is not None]
    reached = [layer for layer in _in_call_order(result.root) if layer.done and layer.is_leaf]
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = f"{type(error).__name__}: {first_line}".rstrip(": ")
    trail = " → ".join(f"{layer.name or layer.class_name}" for layer in reached[-6:])
    if len(reached) > 6:
        trail = f"({len(reached) - 6} earlier) → {trail}"
    reached_text = f"Layers reached before it: {trail}." if reached else "No layer had finished."
    partial = "The layers reached are in error.summary."
    if not failing:
        where = "the backward pass" if passed.phase == "backward" else "the model's forward"
        return f"{where} failed with {reason}. {reached_text} {partial}", None
    layer = max(failing, key=lambda item: item.depth)
    shapes = ", ".join(str(shape) for shape in layer.input_shapes) or "no tensors"
    expects = _expectation(layer.module)
    expect_text = f"; it expects {expects}" if expects else ""
    return (
        f"forward failed in {layer.name or 'the model'} ({layer.class_name}) with {reason}. "
        f"It got input {shapes}{expect_text}. {reached_text} {partial}",
        layer.name,
    )


def _in_call_order(root: Layer) -> list[Layer]:
    return [layer for layer in root.walk() if layer.call > 0]


def _expectation(module: Any) -> str:
    for attribute, text in _EXPECTS:
        value = getattr(module, attribute, None)
        if isinstance(value, (int, tuple, list)) and not isinstance(value, bool):
            shown = list(value) if isinstance(value, (tuple, list)) else value
            return text.format(shown)
    return ""
