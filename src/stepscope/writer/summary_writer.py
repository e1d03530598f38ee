"""``stepscope.SummaryWriter``: torch's ``SummaryWriter``, faster.

Change one import::

    # from torch.utils.tensorboard import SummaryWriter
    from stepscope import SummaryWriter

and the script runs unchanged: same constructor, defaults, methods, run
layout and event files (TensorBoard reads them; stepscope reads them).

Each ``add_*`` method validates and converts its arguments on the caller's
thread (so a mistake raises right there, with the expected shape in the
message), then hands the event to :class:`EventFileWriter`, which writes in
batches from a background thread. See ``docs/writer.md`` for the few
deliberate differences from torch.

The ``add_*`` families live beside this module, as mixins:
:mod:`~stepscope.writer.media_summaries` (images, figures, video, audio),
:mod:`~stepscope.writer.tensor_summaries` (tensors, histograms, PR curves,
meshes), :mod:`~stepscope.writer.text_summaries` (text, custom-scalar
layouts) and :mod:`~stepscope.writer.graph_summaries` (model graphs).
Scalars, hyperparameters (both may open sub-run writers), checkpoints and
the files themselves are here.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from stepscope.plugins.histograms.summary import DEFAULT_EDGES
from stepscope.plugins.hparams.summary import hparams_values
from stepscope.plugins.scalars.summary import new_style_value
from stepscope.proto import event_pb2
from stepscope.values import to_float, to_step
from stepscope.writer.encoding import message_event, values_event
from stepscope.writer.event_file import EventFileWriter
from stepscope.writer.graph_summaries import GraphSummaries
from stepscope.writer.media_summaries import MediaSummaries
from stepscope.writer.tensor_summaries import TensorSummaries
from stepscope.writer.text_summaries import TextSummaries


def default_log_dir(comment: str = "") -> str:
    """torch's default: ``runs/<Mon><DD>_<HH-MM-SS>_<hostname><comment>``."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


class SummaryWriter(MediaSummaries, TensorSummaries, TextSummaries, GraphSummaries):
    """Writes TensorBoard event files to ``log_dir``; a drop-in for torch's writer.

    Example::

        from stepscope import SummaryWriter

        with SummaryWriter("runs/exp1") as writer:
            for step in range(100):
                writer.add_scalar("loss/train", 1 / (step + 1), step)

    Args:
        log_dir: where to write; default ``runs/<date>_<host><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: when a crashed run resumes at this step, hide the data the
            first attempt wrote at this step and later.
        max_queue: accepted for compatibility; stepscope batches by count and size.
        flush_secs: events reach the file at least this often (and at least
            every 2 s, so a dashboard stays live).
        filename_suffix: appended to the event file's name.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ) -> None:
        if not log_dir:
            log_dir = default_log_dir(comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: EventFileWriter | None = None
        self.all_writers: dict[str, EventFileWriter] | None = None
        self._get_file_writer()

    @property
    def default_bins(self) -> list[float]:
        """The edges of ``bins="tensorflow"`` (torch exposes them under this name)."""
        return list(DEFAULT_EDGES.tolist())

    # -- files ----------------------------------------------------------------

    def _get_file_writer(self) -> EventFileWriter:
        """The writer of the main event file, opening a new file after ``close()``."""
        if self.all_writers is None or self.file_writer is None:
            writer = EventFileWriter(os.fspath(self.log_dir), self.flush_secs, self.filename_suffix)
            self.file_writer = writer
            self.all_writers = {writer.get_logdir(): writer}
            if self.purge_step is not None:
                self._write_purge(writer, int(self.purge_step))
                self.purge_step = None
        return self.file_writer

    @staticmethod
    def _write_purge(writer: EventFileWriter, step: int) -> None:
        # A SessionLog START at step S tells readers to drop what an earlier
        # attempt of this run wrote at steps >= S.
        writer.add_event_bytes(
            message_event(
                event_pb2.Event(wall_time=time.time(), step=step, file_version="brain.Event:2")
            )
        )
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        writer.add_event_bytes(
            message_event(event_pb2.Event(wall_time=time.time(), step=step, session_log=start))
        )

    def get_logdir(self) -> str | os.PathLike[str]:
        """The directory the event files go to."""
        return self.log_dir

    # -- scalars --------------------------------------------------------------

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Any = None,
        walltime: float | None = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Log one number (a Python number, numpy scalar or one-element tensor).

        Example: ``writer.add_scalar("loss/train", loss.item(), step)``
        """
        if type(tag) is not str:
            raise TypeError(f"tag must be a str, got {type(tag).__name__}")
        value = scalar_value if type(scalar_value) is float else to_float(scalar_value)
        step = global_step if type(global_step) is int else to_step(global_step)
        wall = time.time() if walltime is None else float(walltime)
        writer = self.file_writer or self._get_file_writer()
        if new_style:
            payload = values_event([new_style_value(tag, value, double_precision)], step, wall)
            writer.add_event_bytes(payload)
        else:
            writer.add_scalar(tag, value, step, wall)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log several numbers on one chart: each key becomes a sub-run, as in torch.

        The sub-run of key ``k`` is ``<log_dir>/<main_tag with / as _>_<k>``,
        and each holds the tag ``main_tag``.
        """
        wall = time.time() if walltime is None else float(walltime)
        step = to_step(global_step)
        logdir = self._get_file_writer().get_logdir()
        writers = self.all_writers
        assert writers is not None
        for key, scalar_value in tag_scalar_dict.items():
            sub_logdir = logdir + "/" + main_tag.replace("/", "_") + "_" + key
            writer = writers.get(sub_logdir)
            if writer is None:
                writer = EventFileWriter(sub_logdir, self.flush_secs, self.filename_suffix)
                writers[sub_logdir] = writer
            writer.add_scalar(main_tag, to_float(scalar_value), step, wall)

    # -- hparams --------------------------------------------------------------

    def add_hparams(
        self,
        hparam_dict: Mapping[str, Any],
        metric_dict: Mapping[str, Any],
        hparam_domain_discrete: Mapping[str, list[Any]] | None = None,
        run_name: str | None = None,
        global_step: Any = None,
    ) -> None:
        """Log one session of hyperparameters and its final metrics, in a sub-run.

        The sub-run is ``<log_dir>/<run_name>``, by default the current time,
        as in torch.
        """
        experiment, start, end = hparams_values(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as session:
            session._emit([experiment], global_step, None)
            session._emit([start], global_step, None)
            session._emit([end], global_step, None)
            for key, value in metric_dict.items():
                session.add_scalar(key, value, global_step)

    # -- checkpoints ----------------------------------------------------------

    def add_checkpoint(
        self,
        path: str | os.PathLike[str],
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Mark that a checkpoint was saved at this step (a ``SessionLog`` CHECKPOINT event).

        :class:`stepscope.CheckpointManager` calls this for each save when given
        the writer. Example: ``writer.add_checkpoint("checkpoints/ckpt-500.pt", 500)``
        """
        session_log = event_pb2.SessionLog(
            status=event_pb2.SessionLog.CHECKPOINT, checkpoint_path=os.fspath(path)
        )
        wall = time.time() if walltime is None else float(walltime)
        event = event_pb2.Event(wall_time=wall, step=to_step(global_step), session_log=session_log)
        self._get_file_writer().add_event_bytes(message_event(event))

    # -- lifecycle ------------------------------------------------------------

    def flush(self) -> None:
        """Return once everything logged so far is in the event files."""
        for writer in list((self.all_writers or {}).values()):
            writer.flush()

    def close(self) -> None:
        """Flush and close every file. Logging afterwards starts a new event file.

        If a final write fails, the error is raised and the files that could not
        be closed stay open with their events: calling ``close()`` again retries
        (so does the interpreter's exit).
        """
        writers = self.all_writers or {}
        errors = []
        for writer in writers.values():
            try:
                writer.close()
            except Exception as error:
                errors.append(error)
        still_open = {key: writer for key, writer in writers.items() if not writer.closed}
        main = self.file_writer
        self.all_writers = still_open or None
        self.file_writer = main if main is not None and not main.closed else None
        if errors:
            raise errors[0]

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
