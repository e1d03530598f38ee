"""Writer side of PR curves: a float tensor [6, num_thresholds] under plugin ``pr_curves``.

Rows are TP, FP, TN, FN, precision, recall; threshold i is i / (n - 1).
torch caps ``num_thresholds`` at 127 and writes plugin data version 0; so
does stepscope.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.plugins.metadata import plugin_metadata
from stepscope.proto import plugin_pr_curves_pb2, summary_pb2
from stepscope.tensors import to_tensor_proto

PLUGIN_NAME = "pr_curves"
MAX_THRESHOLDS = 127
_MINIMUM_COUNT = 1e-7


def compute_curve(
    labels: npt.NDArray[Any],
    predictions: npt.NDArray[Any],
    num_thresholds: int,
    weights: npt.NDArray[Any] | float | None = None,
) -> npt.NDArray[np.float64]:
    """The [6, num_thresholds] PR data of binary ``labels`` against ``predictions`` in [0, 1]."""
    weight = 1.0 if weights is None else weights
    buckets = np.floor(predictions * (num_thresholds - 1)).astype(np.int64)
    positive = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(
        buckets, bins=num_thresholds, range=span, weights=positive * weight
    )
    fp_buckets, _ = np.histogram(
        buckets, bins=num_thresholds, range=span, weights=(1.0 - positive) * weight
    )
    # Counts at threshold i are those of every prediction at or above it.
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(_MINIMUM_COUNT, tp + fp)
    recall = tp / np.maximum(_MINIMUM_COUNT, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def check_inputs(tag: str, labels: npt.NDArray[Any], predictions: npt.NDArray[Any]) -> None:
    if labels.shape != predictions.shape:
        raise ValueError(
            f"pr curve {tag!r}: labels and predictions must have the same shape, got "
            f"{tuple(labels.shape)} and {tuple(predictions.shape)}"
        )
    if predictions.size and not (
        np.isfinite(predictions).all() and predictions.min() >= 0 and predictions.max() <= 1
    ):
        raise ValueError(
            f"pr curve {tag!r}: predictions must be probabilities in [0, 1] (no NaN); "
            "apply a sigmoid or softmax first"
        )


def pr_curve_value(
    tag: str, data: npt.NDArray[Any], num_thresholds: int
) -> summary_pb2.Summary.Value:
    """The ``Summary.Value`` holding PR data already computed (``add_pr_curve_raw``)."""
    content = plugin_pr_curves_pb2.PrCurvePluginData(
        version=0, num_thresholds=min(int(num_thresholds), MAX_THRESHOLDS)
    ).SerializeToString()
    return summary_pb2.Summary.Value(
        tag=tag,
        metadata=plugin_metadata(PLUGIN_NAME, content),
        tensor=to_tensor_proto(np.asarray(data, dtype=np.float32)),
    )


def raw_data(*rows: npt.NDArray[Any], tag: str) -> npt.NDArray[np.float64]:
    """Stack the six rows of ``add_pr_curve_raw``, checking they have one length."""
    arrays = [np.asarray(row, dtype=np.float64).reshape(-1) for row in rows]
    lengths = {array.size for array in arrays}
    if len(lengths) != 1:
        raise ValueError(
            f"pr curve {tag!r}: true/false positive/negative counts, precision and recall "
            f"must have one length each, got lengths {[a.size for a in arrays]}"
        )
    return np.stack(arrays)
