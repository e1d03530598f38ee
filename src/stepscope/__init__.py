"""stepscope: fast, open training monitoring for deep learning.

Log with a drop-in for torch's writer::

    from stepscope import SummaryWriter

    writer = SummaryWriter("runs/exp1")
    writer.add_scalar("loss", 0.5, 1)
    writer.close()

Read any logdir back as DataFrames::

    logdir = stepscope.open("runs")
    logdir.scalars(tag="loss")

Importing stepscope never imports torch (nor pandas or DuckDB, until the
read API is used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepscope.errors import EventWriteError, StepscopeError

if TYPE_CHECKING:
    from stepscope.api import Logdir, open
    from stepscope.writer import SummaryWriter

__version__ = "0.1.0.dev0"

__all__ = ["EventWriteError", "Logdir", "StepscopeError", "SummaryWriter", "__version__", "open"]


def __getattr__(name: str) -> Any:
    # Imported on first use: a training script that only logs does not pay
    # for pandas and DuckDB, and a reader does not pay for the writer.
    if name == "SummaryWriter":
        from stepscope.writer import SummaryWriter

        return SummaryWriter
    if name in ("open", "Logdir"):
        from stepscope import api

        return getattr(api, name)
    raise AttributeError(f"module 'stepscope' has no attribute {name!r}")
