"""stepscope: fast, open training monitoring for deep learning.

Log with a drop-in for torch's writer::

    from stepscope import SummaryWriter

    writer = SummaryWriter("runs/exp1")
    writer.add_scalar("loss", 0.5, 1)
    writer.close()

Read any logdir back as DataFrames::

    logdir = stepscope.open("runs")
    logdir.scalars(tag="loss")

Summarize a model, keep checkpoints, and open the dashboard in a notebook::

    stepscope.summary(model, input_size=(16, 3, 32, 32))
    manager = stepscope.CheckpointManager("checkpoints", max_to_keep=5)
    %load_ext stepscope
    %stepscope --logdir runs

Importing stepscope never imports torch (nor pandas or DuckDB, until the
read API is used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepscope.errors import EventWriteError, StepscopeError

if TYPE_CHECKING:
    from stepscope.api import Logdir, open
    from stepscope.checkpoint import CheckpointManager, latest_checkpoint
    from stepscope.model_summary import ModelSummary, summary
    from stepscope.writer import SummaryWriter

__version__ = "0.1.0.dev0"

__all__ = [
    "CheckpointManager",
    "EventWriteError",
    "Logdir",
    "ModelSummary",
    "StepscopeError",
    "SummaryWriter",
    "__version__",
    "latest_checkpoint",
    "load_ipython_extension",
    "open",
    "summary",
]

# Where each lazily imported public name lives.
_LAZY = {
    "SummaryWriter": "stepscope.writer",
    "open": "stepscope.api",
    "Logdir": "stepscope.api",
    "CheckpointManager": "stepscope.checkpoint",
    "latest_checkpoint": "stepscope.checkpoint",
    "summary": "stepscope.model_summary",
    "ModelSummary": "stepscope.model_summary",
}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext stepscope``: registers the ``%stepscope`` magic (see :mod:`stepscope.notebook`)."""
    from stepscope import notebook

    notebook.load_ipython_extension(ipython)


def __getattr__(name: str) -> Any:
    # Imported on first use: a training script that only logs does not pay
    # for pandas and DuckDB, and a reader does not pay for the writer.
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'stepscope' has no attribute {name!r}")
