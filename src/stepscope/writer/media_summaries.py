"""The media ``add_*`` methods of ``SummaryWriter``: images, figures, video, audio.

Images and video are converted on the caller's thread (so a wrong shape
raises at the call) and encoded (PNG, GIF) off it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stepscope.plugins.audio.summary import audio_value
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
from stepscope.proto import summary_pb2
from stepscope.values import to_numpy
from stepscope.warnings import warn_once
from stepscope.writer.emitter import SummaryEmitter


class MediaSummaries(SummaryEmitter):
    """Images and figures (PNG), videos (GIF) and audio (WAV)."""

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
