"""``stepscope.summary``: torchinfo's model summary, with the figures it gets wrong made right.

Example::

    import stepscope

    result = stepscope.summary(model, input_size=(16, 3, 32, 32))
    result.total_params, result.total_mult_adds, result.totals.measured_peak_bytes
    result.to_dataframe()
    result.log(writer)            # the table in the run's Text tab

What differs from torchinfo, and why, is in ``docs/summary.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

from stepscope.errors import UsageError
from stepscope.model_summary.table import COLUMNS, ROW_SETTINGS, Formatting, ModelSummary, Totals

__all__ = ["ModelSummary", "SummaryError", "Totals", "summary"]


def __getattr__(name: str) -> Any:
    if name == "SummaryError":  # lives with torch-importing code; import on use
        from stepscope.model_summary.run import SummaryError

        return SummaryError
    raise AttributeError(f"module 'stepscope.model_summary' has no attribute {name!r}")


def summary(
    model: Any,
    input_size: Any = None,
    input_data: Any = None,
    batch_dim: int | None = None,
    cache_forward_pass: bool | None = None,
    col_names: Iterable[str] | None = None,
    col_width: int = 25,
    depth: int = 3,
    device: Any = None,
    dtypes: Sequence[Any] | None = None,
    mode: str | None = None,
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    measure_memory: bool = True,
    compute: bool = False,
    writer: Any = None,
    **kwargs: Any,
) -> ModelSummary:
    """Summarize a torch model: layers, shapes, parameters, mult-adds, memory.

    The arguments are torchinfo's (``input_size`` or ``input_data``,
    ``batch_dim``, ``col_names``, ``col_width``, ``depth``, ``device``,
    ``dtypes``, ``mode``, ``row_settings``, ``verbose``, and keyword
    arguments passed on to ``forward``), plus:

    * ``measure_memory``: also run one backward pass and report the measured
      peak memory of forward and backward next to the estimate (default on);
    * ``compute``: run the model's arithmetic. By default the operations only
      allocate their results (on the real device, with the real layouts),
      which gives the same shapes, counts and memory in a fraction of the
      time; a model that reads tensor values (``item()``, boolean masks) is
      detected and computed anyway;
    * ``writer``: a SummaryWriter to log the table to (``model/summary``).

    ``cache_forward_pass`` is accepted for torchinfo's callers and has no
    effect: every call runs the model.

    Example::

        >>> stepscope.summary(nn.Linear(4, 2), input_size=(8, 4), verbose=0).total_params
        10
    """
    del cache_forward_pass
    from stepscope.model_summary import run
    from stepscope.model_summary.inputs import make_inputs, split_input_data, to_device

    given = input_size is not None or input_data is not None
    formatting = _formatting(col_names, col_width, depth, row_settings, verbose, given)
    if input_size is not None and input_data is not None:
        raise UsageError("give input_size or input_data, not both")
    if mode not in (None, "train", "eval"):
        raise UsageError(f"mode must be 'train' or 'eval', not {mode!r}")
    target = _device(model, device)
    if device is not None:
        model.to(target)
    args: list[Any] = []
    call_kwargs: dict[str, Any] = {}
    if input_size is not None:
        args = list(make_inputs(input_size, batch_dim, dtypes, target))
    elif input_data is not None:
        args, call_kwargs = split_input_data(input_data)
        args = to_device(args, target if device is not None else None)
        call_kwargs = to_device(call_kwargs, target if device is not None else None)
    call_kwargs.update(to_device(kwargs, target if device is not None else None))
    if given:
        request = run.PassRequest(model, args, call_kwargs, mode or "eval", measure_memory, target)
        passed = run.run_pass(request, compute)
    else:
        passed = run.PassResult(None)
    from stepscope.model_summary.assemble import assemble

    result = assemble(model, passed, formatting, (args, call_kwargs), given, target)
    if passed.error is not None:
        raise run.SummaryError(*_failure(result, passed)) from passed.error
    if formatting.verbose > 0:
        print(result)
    if writer is not None:
        result.log(writer)
    return result


def _formatting(
    col_names: Iterable[str] | None,
    col_width: int,
    depth: int,
    row_settings: Iterable[str] | None,
    verbose: int | None,
    given: bool,
) -> Formatting:
    if col_names is None:
        columns: tuple[str, ...] = ("output_size", "num_params") if given else ("num_params",)
    else:
        columns = tuple(col_names)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise UsageError(f"unknown column {unknown[0]!r}; choose from {', '.join(COLUMNS)}")
    needs_input = {"input_size", "output_size", "mult_adds", "other_ops"} & set(columns)
    if needs_input and not given:
        raise UsageError(
            f"the columns {sorted(needs_input)} need a forward pass: give input_size or input_data"
        )
    rows = frozenset(row_settings) if row_settings is not None else frozenset({"depth"})
    if rows - ROW_SETTINGS:
        raise UsageError(
            f"unknown row setting {sorted(rows - ROW_SETTINGS)[0]!r}; choose from {', '.join(sorted(ROW_SETTINGS))}"
        )
    if col_width <= 0:
        raise UsageError(f"col_width must be positive, not {col_width}")
    if verbose is None:
        verbose = 0 if getattr(sys, "ps1", None) else 1  # torchinfo's default: quiet in a REPL
    if verbose not in (0, 1, 2):
        raise UsageError(
            f"verbose must be 0 (quiet), 1 (table) or 2 (with each weight), not {verbose}"
        )
    return Formatting(columns, col_width, depth, rows, verbose)


def _device(model: Any, device: Any) -> Any:
    import torch

    if device is not None:
        return torch.device(device)
    for param in model.parameters():
        return param.device
    return torch.device("cpu")


def _failure(result: ModelSummary, passed: Any) -> tuple[str, ModelSummary, str | None]:
    from stepscope.model_summary.assemble import describe_failure

    message, layer = describe_failure(result, passed)
    return message, result, layer
