"""stepscope: fast, open training monitoring for deep learning.

Log with a drop-in for torch's writer::

    from stepscope import SummaryWriter

    writer = SummaryWriter("runs/exp1")
    writer.add_scalar("loss", 0.5, 1)
    writer.close()

Importing stepscope never imports torch.
"""

from stepscope.errors import EventWriteError, StepscopeError
from stepscope.writer import SummaryWriter

__version__ = "0.1.0.dev0"

__all__ = ["EventWriteError", "StepscopeError", "SummaryWriter", "__version__"]
