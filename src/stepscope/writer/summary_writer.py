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
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.plugins.audio.summary import audio_value
from stepscope.plugins.custom_scalars.summary import LayoutDict, layout_value
from stepscope.plugins.histograms.summary import (
    DEFAULT_EDGES,
    histogram_raw_value,
    histogram_value,
)
from stepscope.plugins.hparams.summary import hparams_values
from stepscope.plugins.images.summary import (
    ImageArray,
    check_boxes,
    draw_boxes,
    figure_to_hwc,
    gif_value,
    png_value,
    resize,
    to_hwc_uint8,
    video_frames,
)
from stepscope.plugins.mesh.summary import mesh_values
from stepscope.plugins.metadata import plugin_metadata
from stepscope.plugins.pr_curves.summary import (
    check_inputs,
    compute_curve,
    pr_curve_value,
    raw_data,
)
from stepscope.plugins.scalars.summary import new_style_value
from stepscope.plugins.text.summary import text_value
from stepscope.proto import event_pb2, summary_pb2
from stepscope.tensors import to_tensor_proto
from stepscope.values import to_float, to_numpy, to_step
from stepscope.warnings import warn_once
from stepscope.writer.encoding import message_event, values_event
from stepscope.writer.event_file import EventFileWriter

_TENSOR_PLUGIN = "tensor"
# Values inside this range certainly land in a default histogram bucket, so
# binning cannot fail and may run in the background.
_DEFAULT_BINS_RANGE = 1e20
_DEFER_MIN_VALUES = 65536  # below this, binning costs less than handing it over


def default_log_dir(comment: str = "") -> str:
    """torch's default: ``runs/<Mon><DD>_<HH-MM-SS>_<hostname><comment>``."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


class SummaryWriter:
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

    def add_tensor(
        self, tag: str, tensor: Any, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """Log a whole tensor (plugin ``tensor``), kept as it is."""
        proto = to_tensor_proto(to_numpy(tensor))
        value = summary_pb2.Summary.Value(
            tag=tag, tensor=proto, metadata=plugin_metadata(_TENSOR_PLUGIN)
        )
        self._emit([value], global_step, walltime)

    # -- histograms -----------------------------------------------------------

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Any = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Log the distribution of ``values`` (any shape; flattened).

        ``bins`` is torch's: ``"tensorflow"`` (the default exponential
        buckets), or anything ``numpy.histogram`` takes.
        """
        array = to_numpy(values).reshape(-1)
        if array.size == 0:
            raise ValueError(f"histogram {tag!r}: the input has no element")
        if array.dtype.kind not in "fiub":
            raise TypeError(f"histogram {tag!r}: cannot bin values of dtype {array.dtype}")
        extremes = self._extremes_if_safe(array, bins)
        if extremes is None:
            # Binning could fail (no value inside the buckets): do it here, so the
            # error is raised at the call.
            self._emit([histogram_value(tag, array, bins, max_bins)], global_step, walltime)
            return
        snapshot = array.copy()  # the caller may change its tensor right after the call
        self._emit_later(
            lambda: histogram_value(tag, snapshot, bins, max_bins, extremes),
            snapshot.nbytes,
            global_step,
            walltime,
        )

    @staticmethod
    def _extremes_if_safe(array: npt.NDArray[Any], bins: Any) -> tuple[float, float] | None:
        """``(min, max)`` when binning is certain to succeed, so it may run in the background."""
        if not (isinstance(bins, str) and bins == "tensorflow") or array.size < _DEFER_MIN_VALUES:
            return None
        low, high = float(array.min()), float(array.max())
        if low > -_DEFAULT_BINS_RANGE and high < _DEFAULT_BINS_RANGE:
            return low, high
        return None

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: float,
        sum: float,
        sum_squares: float,
        bucket_limits: Sequence[float],
        bucket_counts: Sequence[float],
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log a histogram whose buckets you computed (right edges and counts)."""
        value = histogram_raw_value(
            tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts
        )
        self._emit([value], global_step, walltime)

    # -- images, figures, video -----------------------------------------------

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Log an image: float in [0, 1] or uint8, shaped as ``dataformats`` says."""
        image = self._image(img_tensor, dataformats, tag)
        self._emit_later(lambda: png_value(tag, image), image.nbytes, global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: float | None = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Log a batch of images as one grid, 8 per row."""
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    @staticmethod
    def _image(img_tensor: Any, dataformats: str, tag: str) -> ImageArray:
        source = to_numpy(img_tensor)
        image = to_hwc_uint8(source, dataformats, tag)
        # The PNG is encoded later: never keep a view of the caller's tensor.
        return image.copy() if np.may_share_memory(image, source) else image

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: Any,
        box_tensor: Any,
        global_step: Any = None,
        walltime: float | None = None,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: Sequence[str] | str | None = None,
    ) -> None:
        """Log an image with boxes (N, 4) of (xmin, ymin, xmax, ymax) pixels, and labels."""
        image = self._image(img_tensor, dataformats, tag)
        boxes = check_boxes(to_numpy(box_tensor), tag)
        names = [labels] if isinstance(labels, str) else labels
        if names is not None and len(names) != len(boxes):
            warn_once(
                f"image {tag!r}: {len(names)} labels for {len(boxes)} boxes; drawing the "
                "boxes without labels (give one label per box)",
                key=("box-labels", tag),
            )
            names = None
        names = None if names is None else [str(name) for name in names]

        def make_value() -> summary_pb2.Summary.Value:
            return png_value(tag, resize(draw_boxes(image, boxes, names), rescale))

        self._emit_later(make_value, image.nbytes, global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: Any = None,
        close: bool = True,
        walltime: float | None = None,
    ) -> None:
        """Log a matplotlib figure (or a list of them, as a grid); closes it by default."""
        if isinstance(figure, list):
            batch = np.stack([figure_to_hwc(item, close) for item in figure])
            self.add_image(tag, batch, global_step, walltime, dataformats="NHWC")
        else:
            self.add_image(tag, figure_to_hwc(figure, close), global_step, walltime, "HWC")

    def add_video(
        self,
        tag: str,
        vid_tensor: Any,
        global_step: Any = None,
        fps: float = 4,
        walltime: float | None = None,
    ) -> None:
        """Log videos (N, T, C, H, W) as one animated GIF (Pillow; no moviepy needed)."""
        if fps <= 0:
            raise ValueError(f"video {tag!r}: fps must be positive, got {fps}")
        frames = video_frames(to_numpy(vid_tensor), tag)
        self._emit_later(lambda: gif_value(tag, frames, fps), frames.nbytes, global_step, walltime)

    # -- audio, text ----------------------------------------------------------

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: Any = None,
        sample_rate: int = 44100,
        walltime: float | None = None,
    ) -> None:
        """Log a mono clip of samples in [-1, 1] as 16-bit WAV."""
        self._emit([audio_value(tag, to_numpy(snd_tensor), sample_rate)], global_step, walltime)

    def add_text(
        self, tag: str, text_string: str, global_step: Any = None, walltime: float | None = None
    ) -> None:
        """Log Markdown text (shown under ``<tag>/text_summary``, as torch names it)."""
        self._emit([text_value(tag, text_string)], global_step, walltime)

    # -- PR curves ------------------------------------------------------------

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log a precision-recall curve of binary ``labels`` against ``predictions`` in [0, 1]."""
        truth = to_numpy(labels)
        scores = to_numpy(predictions)
        check_inputs(tag, truth, scores)
        thresholds = min(int(num_thresholds), 127)
        if thresholds < 2:
            raise ValueError(f"pr curve {tag!r}: num_thresholds must be at least 2")
        weight = None if weights is None else to_numpy(weights)
        data = compute_curve(truth, scores, thresholds, weight)
        self._emit([pr_curve_value(tag, data, thresholds)], global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log a precision-recall curve from counts you computed (``weights`` is unused, as in torch)."""
        rows = (
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
        )
        data = raw_data(*(to_numpy(row) for row in rows), tag=tag)
        self._emit([pr_curve_value(tag, data, num_thresholds)], global_step, walltime)

    # -- custom scalars -------------------------------------------------------

    def add_custom_scalars(self, layout: LayoutDict) -> None:
        """Lay out a custom-scalars dashboard (torch's dict form; see the docs)."""
        self._emit([layout_value(layout)], None, None)

    def add_custom_scalars_multilinechart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One chart drawing several tags (each may be a regex)."""
        self.add_custom_scalars({category: {title: ["Multiline", list(tags)]}})

    def add_custom_scalars_marginchart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """One chart drawing a value with a lower and an upper band: tags (value, lower, upper)."""
        if len(tags) != 3:
            raise ValueError(f"a margin chart takes 3 tags (value, lower, upper), got {len(tags)}")
        self.add_custom_scalars({category: {title: ["Margin", list(tags)]}})

    # -- meshes ---------------------------------------------------------------

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: dict[str, Any] | None = None,
        global_step: Any = None,
        walltime: float | None = None,
    ) -> None:
        """Log a point cloud or mesh: vertices (B, N, 3), colors (B, N, 3), faces (B, F, 3)."""
        values = mesh_values(
            tag,
            to_numpy(vertices),
            None if colors is None else to_numpy(colors),
            None if faces is None else to_numpy(faces),
            config_dict,
        )
        self._emit(values, global_step, walltime)

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
