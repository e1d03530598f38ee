"""The tensor ``add_*`` methods of ``SummaryWriter``: tensors, histograms, PR curves, meshes.

Histograms are legacy ``HistogramProto`` values, as torch writes them; the
others are ``TensorProto`` values of their plugin. A large histogram with the
default buckets is binned off the caller's thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

from stepscope.plugins.histograms.summary import histogram_raw_value, histogram_value
from stepscope.plugins.mesh.summary import mesh_values
from stepscope.plugins.metadata import plugin_metadata
from stepscope.plugins.pr_curves.summary import (
    check_inputs,
    compute_curve,
    pr_curve_value,
    raw_data,
)
from stepscope.proto import summary_pb2
from stepscope.tensors import to_tensor_proto
from stepscope.values import to_numpy
from stepscope.writer.emitter import SummaryEmitter

_TENSOR_PLUGIN = "tensor"
# Values inside this range certainly land in a default histogram bucket, so
# binning cannot fail and may run in the background.
_DEFAULT_BINS_RANGE = 1e20
_DEFER_MIN_VALUES = 65536  # below this, binning costs less than handing it over


class TensorSummaries(SummaryEmitter):
    """Raw tensors, histograms, precision-recall curves and meshes."""

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
