"""The writer side: log a greeting through a ``stepscope.SummaryWriter``.

Example::

    from stepscope import SummaryWriter
    from stepscope_hello.summary import add_greeting

    with SummaryWriter("runs/exp1") as writer:
        add_greeting(writer, "greetings", "Hello, world", step=0)
"""

from __future__ import annotations

import time

from stepscope import SummaryWriter
from stepscope.proto import summary_pb2
from stepscope.tensors import string_tensor
from stepscope_hello.metadata import greeting_metadata


def greeting_summary(tag: str, text: str) -> summary_pb2.Summary:
    """A ``Summary`` holding one greeting under ``tag``."""
    if not isinstance(text, str):
        raise TypeError(f"a greeting is a str, got {type(text).__name__}")
    value = summary_pb2.Summary.Value(
        tag=tag,
        metadata=greeting_metadata(),
        tensor=string_tensor([text.encode("utf-8")], (1,)),
    )
    return summary_pb2.Summary(value=[value])


def add_greeting(
    writer: SummaryWriter, tag: str, text: str, step: int, walltime: float | None = None
) -> None:
    """Log the greeting ``text`` under ``tag`` at ``step``."""
    summary = greeting_summary(tag, text)
    wall = time.time() if walltime is None else walltime
    # torch's accessor of the event file (Lightning uses it too); it opens a
    # new file if the writer was closed, as every add_* does.
    writer._get_file_writer().add_summary(summary, step, wall)
