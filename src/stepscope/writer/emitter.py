"""What every ``add_*`` family of :class:`~stepscope.writer.SummaryWriter` shares.

The families (media, tensors, text and layouts) are mixins over
:class:`SummaryEmitter`: each converts its arguments to summary values and
hands them to the main event file, now or, for heavy encoding, off the
caller's thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from stepscope.proto import summary_pb2
from stepscope.values import to_step
from stepscope.writer.encoding import values_event
from stepscope.writer.event_file import EventFileWriter


class SummaryEmitter:
    """Hands summary values to the main event file; the writer says which file that is."""

    def _get_file_writer(self) -> EventFileWriter:
        raise NotImplementedError  # SummaryWriter opens (and reopens) the file

    def _emit(
        self,
        values: list[summary_pb2.Summary.Value],
        global_step: Any,
        walltime: float | None,
    ) -> None:
        step = to_step(global_step)
        wall = time.time() if walltime is None else float(walltime)
        self._get_file_writer().add_event_bytes(values_event(values, step, wall))

    def _emit_later(
        self,
        make_value: Callable[[], summary_pb2.Summary.Value],
        nbytes: int,
        global_step: Any,
        walltime: float | None,
    ) -> None:
        """Queue ``make_value()`` to run off the caller's thread."""
        step = to_step(global_step)
        wall = time.time() if walltime is None else float(walltime)

        def encode() -> bytes:
            return values_event([make_value()], step, wall)

        self._get_file_writer().add_deferred(encode, nbytes)
