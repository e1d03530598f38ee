"""The result of :func:`stepscope.summary`: figures, the table, and exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepscope.model_summary.trace import Layer

COLUMNS = {
    "kernel_size": "Kernel Shape",
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "mult_adds": "Mult-Adds",
    "other_ops": "Other Ops",
    "trainable": "Trainable",
}
ROW_SETTINGS = {"depth", "var_names", "ascii_only", "hide_recursive_layers"}
MB = 1e6


@dataclass
class Formatting:
    """How the table is drawn: torchinfo's options."""

    columns: tuple[str, ...]
    col_width: int = 25
    depth: int = 3
    row_settings: frozenset[str] = frozenset({"depth"})
    verbose: int = 1


@dataclass
class Totals:
    """The figures under the table (bytes are bytes; ``None`` when not measured)."""

    total_params: int = 0
    trainable_params: int = 0
    total_mult_adds: int = 0
    total_other_ops: int = 0
    input_bytes: int = 0
    forward_backward_bytes: int = 0  # estimate: every leaf call's output, and its gradient
    param_bytes: int = 0
    buffer_bytes: int = 0
    measured_peak_bytes: int | None = None  # forward and backward
    measured_forward_peak_bytes: int | None = None
    device: str = "cpu"

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def estimated_total_bytes(self) -> int:
        return self.input_bytes + self.forward_backward_bytes + self.param_bytes + self.buffer_bytes


@dataclass
class ModelSummary:
    """What :func:`stepscope.summary` found; ``str()`` is the table.

    ``layers`` are the rows in display order (every call of every module, and
    the modules never called); ``totals`` the figures below the table;
    ``notes`` what the reader should know (fast paths turned off, modules that
    never ran, tied weights). torchinfo's attribute names work too
    (``total_params``, ``total_mult_adds``, ``summary_list``...).
    """

    root: Layer
    totals: Totals
    formatting: Formatting
    forward_ran: bool
    notes: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[Layer]:
        return list(self.root.walk())

    summary_list = layers

    def __getattr__(self, name: str) -> Any:
        aliases = {
            "total_input": "input_bytes",
            "total_output_bytes": "forward_backward_bytes",
            "total_param_bytes": "param_bytes",
        }
        if name in aliases:
            return getattr(self.totals, aliases[name])
        if name in Totals.__dataclass_fields__ or isinstance(getattr(Totals, name, None), property):
            return getattr(self.totals, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __str__(self) -> str:
        return render(self)

    __repr__ = __str__

    def to_dict(self) -> dict[str, Any]:
        """The layers and totals as plain data (JSON-ready)."""
        totals = dict(self.totals.__dict__)
        totals["non_trainable_params"] = self.totals.non_trainable_params
        totals["estimated_total_bytes"] = self.totals.estimated_total_bytes
        return {
            "layers": [layer_record(layer) for layer in self.layers],
            "totals": totals,
            "notes": list(self.notes),
        }

    def to_dataframe(self) -> Any:
        """One row per layer (a pandas DataFrame), the table at full depth."""
        import pandas as pd

        return pd.DataFrame([layer_record(layer) for layer in self.layers])

    def log(self, writer: Any, tag: str = "model/summary", step: int = 0) -> None:
        """Write the table to a run as text (``writer.add_text``), shown in the Text tab.

        Example::

            stepscope.summary(model, input_size=(16, 3, 32, 32)).log(writer)
        """
        fenced = "```\n" + str(self) + "\n```"
        writer.add_text(tag, fenced, global_step=step)


def layer_record(layer: Layer) -> dict[str, Any]:
    return {
        "name": layer.name,
        "class_name": layer.class_name,
        "depth": layer.depth,
        "depth_index": layer.depth_index,
        "called": layer.call > 0,
        "call": layer.call,
        "input_shapes": layer.input_shapes,
        "output_shapes": layer.output_shapes,
        "params": layer.params,
        "trainable_params": layer.trainable_params,
        "own_params": layer.own_params,
        "shared_from": layer.shared_from,
        "mult_adds": layer.macs,
        "other_ops": layer.other_ops,
        "kernel_size": kernel_size(layer),
        "failed": layer.error is not None,
    }


def kernel_size(layer: Layer) -> list[int] | None:
    size = getattr(layer.module, "kernel_size", None)
    if isinstance(size, int):
        return [size]
    if isinstance(size, (tuple, list)):
        return [int(n) for n in size]
    return None


# ---------------------------------------------------------------- drawing


def render(result: ModelSummary) -> str:
    fmt = result.formatting
    shown = [layer for layer in result.layers if _visible(layer, fmt)]
    name_width = max([40, *(len(_title(layer, fmt)) + 1 for layer in shown)])
    name_width = -(-name_width // 5) * 5
    width = name_width + len(fmt.columns) * fmt.col_width
    line = "=" * width
    out = [
        line,
        _row("Layer (" + _header(fmt) + ")", {c: COLUMNS[c] for c in COLUMNS}, fmt, name_width),
        line,
    ]
    for layer in shown:
        out.append(_row(_title(layer, fmt), _cells(layer, result, fmt), fmt, name_width))
        if fmt.verbose >= 2:
            out.extend(_param_rows(layer, fmt, name_width))
    out.append(line)
    out.extend(line if entry is None else entry for entry in _totals(result))
    out.append(line)
    out.extend(f"Note: {note}" for note in result.notes)
    return "\n".join(out)


def _visible(layer: Layer, fmt: Formatting) -> bool:
    if layer.depth > fmt.depth:
        return False
    return not ("hide_recursive_layers" in fmt.row_settings and layer.call > 1)


def _header(fmt: Formatting) -> str:
    text = "type"
    if "var_names" in fmt.row_settings:
        text += " (var_name)"
    if "depth" in fmt.row_settings:
        text += ":depth-idx"
    return text


def _title(layer: Layer, fmt: Formatting) -> str:
    ascii_only = "ascii_only" in fmt.row_settings
    if layer.depth == 0:
        lead = ""
    elif layer.depth == 1:
        lead = "+ " if ascii_only else "├─"
    else:
        lead = ("|    " if ascii_only else "│    ") * (layer.depth - 1) + (
            "+ " if ascii_only else "└─"
        )
    name = layer.class_name
    if "var_names" in fmt.row_settings and layer.depth > 0:
        name = f"{layer.var_name} ({layer.class_name})"
    if "depth" in fmt.row_settings and layer.depth > 0:
        name += f": {layer.depth}-{layer.depth_index}"
    return lead + name


def _row(title: str, cells: dict[str, str], fmt: Formatting, name_width: int) -> str:
    text = f"{title:<{name_width}}"
    for column in fmt.columns:
        cell = cells.get(column, "")
        if len(cell) >= fmt.col_width:
            cell = cell[: fmt.col_width - 2] + "…"
        text += f"{cell:<{fmt.col_width}}"
    return text.rstrip()


def _shape_text(shapes: list[list[int]]) -> str:
    if not shapes:
        return "--"
    text = str(shapes[0])
    return text if len(shapes) == 1 else f"{text} +{len(shapes) - 1}"


def _cells(layer: Layer, result: ModelSummary, fmt: Formatting) -> dict[str, str]:
    folded = layer.depth == fmt.depth  # rows below are hidden: this one counts them
    params = layer.subtree("params") if folded else layer.params
    macs = layer.subtree("macs") if folded else layer.macs
    ops = layer.subtree("other_ops") if folded else layer.other_ops
    total = result.totals.total_params
    return {
        "kernel_size": str(kernel_size(layer) or "--"),
        "input_size": _shape_text(layer.input_shapes),
        "output_size": "(failed here)"
        if layer.error is not None
        else _shape_text(layer.output_shapes),
        "num_params": _params_text(layer, params),
        "params_percent": f"{100 * params / total:.2f}%" if params and total else "--",
        "mult_adds": f"{macs:,}" if macs else "--",
        "other_ops": f"{ops:,}" if ops else "--",
        "trainable": _trainable(layer),
    }


def _params_text(layer: Layer, params: int) -> str:
    if params:
        return f"{params:,}"
    if layer.own_params and layer.call > 1:
        return "(reused)"
    if layer.own_params:
        return "(tied)"
    return "--"


def _trainable(layer: Layer) -> str:
    if not layer.own_params:
        return "--"
    if layer.own_trainable == layer.own_params:
        return "True"
    return "False" if layer.own_trainable == 0 else "Partial"


def _param_rows(layer: Layer, fmt: Formatting, name_width: int) -> list[str]:
    lead = ("|    " if "ascii_only" in fmt.row_settings else "│    ") * (layer.depth + 1)
    rows = []
    for name, param in layer.module.named_parameters(recurse=False):
        cells = {"kernel_size": str(list(param.shape)), "num_params": f"{int(param.numel()):,}"}
        rows.append(_row(f"{lead}{name}", cells, fmt, name_width))
    return rows


def _amount(value: int) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if value >= scale:
            return f"({unit}): {value / scale:,.2f}"
    return f"(M): {value / 1e6:,.2f}"


def _totals(result: ModelSummary) -> list[str | None]:
    """The lines under the table; ``None`` is a divider."""
    t = result.totals
    lines: list[str | None] = [
        f"Total params: {t.total_params:,}",
        f"Trainable params: {t.trainable_params:,}",
        f"Non-trainable params: {t.non_trainable_params:,}",
    ]
    if not result.forward_ran:
        return lines
    lines += [
        f"Total mult-adds {_amount(t.total_mult_adds)}",
        f"Other ops (activations, norms, pooling, elementwise) {_amount(t.total_other_ops)}",
        None,
        f"Input size (MB): {t.input_bytes / MB:0.2f}",
        f"Forward/backward pass size (MB): {t.forward_backward_bytes / MB:0.2f}",
        f"Params size (MB): {t.param_bytes / MB:0.2f}",
    ]
    if t.buffer_bytes:
        lines.append(f"Buffers size (MB): {t.buffer_bytes / MB:0.2f}")
    lines.append(f"Estimated Total Size (MB): {t.estimated_total_bytes / MB:0.2f}")
    if t.measured_peak_bytes is not None:
        lines.append(
            f"Measured peak, forward + backward on {t.device} (MB): {t.measured_peak_bytes / MB:0.2f}"
        )
    return lines
