"""Writer side of histograms: a legacy ``HistogramProto`` per value, as torch writes.

Binning follows torch's ``add_histogram`` exactly (same buckets, same
trimming), but the default ``bins="tensorflow"`` is computed much faster.
Those edges grow by x1.1 from 1e-12 to 1e20 on both sides of zero, so a
value's bucket is ``floor(log(|x| / 1e-12) / log(1.1))``; that estimate, in
float32, is checked against the exact edges for the few values that land
within a hair of an edge. numpy's ``histogram`` sorts the values instead.

Non-finite values are handled as torch handles them: NaN and +-Inf are not
counted in any bucket (nor are values beyond +-1e20), but ``num`` counts
every value and ``min``/``max``/``sum`` show them. A histogram with no value
inside the buckets at all raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from stepscope.proto import summary_pb2

PLUGIN_NAME = "histograms"

_CHUNK = 1 << 16


def _tensorflow_edges() -> npt.NDArray[np.float64]:
    # Repeated multiplication, not 1.1**k: the edges must equal torch's bit for bit.
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return np.array([-e for e in reversed(positive)] + [0.0] + positive, dtype=np.float64)


DEFAULT_EDGES = _tensorflow_edges()
_ZERO = int(np.searchsorted(DEFAULT_EDGES, 0.0))  # index of the 0 edge
_POSITIVE = DEFAULT_EDGES[_ZERO + 1 :]  # 1e-12 ... last edge below 1e20
_LAST = len(_POSITIVE) - 1
_NUM_BINS = len(DEFAULT_EDGES) - 1
_INV_LOG_STEP = np.float32(1.0 / math.log(1.1))
_GUESS_OFFSET = np.float32(1.0 - math.log(_POSITIVE[0]) / math.log(1.1))
_NEAR_EDGE = np.float32(5e-4)  # 6x the largest float32 error of the estimate (8e-5)


def default_bin_counts(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Counts of ``values`` in the buckets of :data:`DEFAULT_EDGES` (numpy's rules)."""
    if values.dtype.kind != "f":
        values = values.astype(np.float64)  # abs() of int8's -128 is -128
    return _scan(values, with_moments=False)[0]


def _scan(
    values: npt.NDArray[Any], with_moments: bool
) -> tuple[npt.NDArray[np.int64], float, float]:
    """Default-bucket counts and, while each chunk is in cache, its float64 sum and sum of squares."""
    keys = np.zeros(_KEYS, dtype=np.int64)
    total = squares = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, values.size, _CHUNK):
            chunk = values[start : start + _CHUNK]
            keys += np.bincount(_bucket_keys(chunk), minlength=_KEYS)
            if with_moments:
                wide = chunk.astype(np.float64, copy=False)
                # einsum, not dot: OpenBLAS slows to a crawl when two threads call
                # it at once (the caller and the background writer may).
                total += float(np.einsum("i->", wide))
                squares += float(np.einsum("i,i->", wide, wide))
    # Key s (s = j + 1, 0 for |x| below the first edge) of a value >= 0 is bucket
    # _ZERO + s; of a negative value, _NEGATIVE + s is bucket _ZERO - 1 - s.
    negative = keys[_NEGATIVE : _NEGATIVE + _LAST + 1][::-1]
    return np.concatenate([negative, keys[: _LAST + 1]]), total, squares


_NEGATIVE = 1024  # key offset of negative values (> _LAST + 1)
_OUTSIDE = 2 * _NEGATIVE - 1  # key of NaN and +-inf
_KEYS = 2 * _NEGATIVE


def _bucket_keys(chunk: npt.NDArray[Any]) -> npt.NDArray[np.intp]:
    """A small integer key per value from which :func:`default_bin_counts` finds its bucket."""
    magnitude = np.abs(chunk)
    guess = np.log(magnitude.astype(np.float32, copy=False))
    guess *= _INV_LOG_STEP
    guess += _GUESS_OFFSET  # now about j + 1 where P[j] <= |x| < P[j+1]
    # Distance to the nearest edge; NaN and +-inf compare False, staying on the fast path.
    distance = np.rint(guess)
    distance -= guess
    near = np.abs(distance, out=distance) < _NEAR_EDGE
    np.clip(guess, 0, _LAST + 1, out=guess)
    negative = chunk < 0
    guess += negative * np.float32(_NEGATIVE)
    keys = guess.astype(np.intp)  # s = j + 1 in [0, _LAST + 1] (+ _NEGATIVE); _LAST + 1 is "beyond"
    if near.any():
        _exact(keys, near, magnitude, negative)
    if not np.isfinite(chunk).all():
        keys[~np.isfinite(chunk)] = _OUTSIDE
    result: npt.NDArray[np.intp] = keys
    return result


def _exact(
    keys: npt.NDArray[np.intp],
    near: npt.NDArray[np.bool_],
    magnitude: npt.NDArray[Any],
    negative: npt.NDArray[np.bool_],
) -> None:
    """Replace the estimate by a binary search where a value is close to an edge."""
    index = np.flatnonzero(near)
    mag = magnitude[index]
    # Buckets are [lo, hi) on the value axis: for x >= 0 that is P[j] <= |x| < P[j+1];
    # for x < 0 it flips to P[j] < |x| <= P[j+1].
    right = np.searchsorted(_POSITIVE, mag, side="right")
    left = np.searchsorted(_POSITIVE, mag, side="left")
    is_negative = negative[index]
    exact = np.where(is_negative, left, right)
    # The closing edge belongs to the last bucket on either side.
    exact[(exact == _LAST + 1) & (mag == _POSITIVE[_LAST])] = _LAST
    keys[index] = exact + is_negative * _NEGATIVE


def bin_counts(
    values: npt.NDArray[Any], bins: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(counts, edges)`` for torch's ``bins`` argument ("tensorflow" or anything numpy takes)."""
    if isinstance(bins, str) and bins == "tensorflow":
        return default_bin_counts(values), DEFAULT_EDGES
    counts, edges = np.histogram(values.astype(np.float64, copy=False), bins=bins)
    return counts.astype(np.int64), edges.astype(np.float64)


def subsample(
    counts: npt.NDArray[np.int64], edges: npt.NDArray[np.float64], max_bins: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Merge neighbouring buckets so that at most about ``max_bins`` remain (torch's rule)."""
    factor = len(counts) // max_bins
    remainder = len(counts) % factor
    if remainder:
        counts = np.pad(counts, (0, factor - remainder))
    counts = counts.reshape(-1, factor).sum(axis=-1)
    merged = np.empty(counts.size + 1, dtype=edges.dtype)
    merged[:-1] = edges[:-1:factor]
    merged[-1] = edges[-1]
    return counts, merged


def trim(
    counts: npt.NDArray[np.int64], edges: npt.NDArray[np.float64], tag: str
) -> tuple[list[float], list[float]]:
    """``(bucket_limit, bucket)``: right edges of the non-empty range, one empty bucket before it.

    TensorBoard stores right edges only, so an empty bucket on the left keeps
    the leftmost edge.
    """
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        raise ValueError(
            f"histogram {tag!r}: no value falls inside the buckets (all values are NaN, "
            "infinite or beyond the bin range); nothing to draw"
        )
    first, last = int(nonzero[0]), int(nonzero[-1])
    if first > 0:
        kept = counts[first - 1 : last + 1]
    else:
        kept = np.concatenate([[0], counts[: last + 1]])
    limits = edges[first : last + 2]
    return limits.tolist(), kept.astype(np.float64).tolist()


def histogram_value(
    tag: str,
    values: npt.NDArray[Any],
    bins: Any = "tensorflow",
    max_bins: int | None = None,
    extremes: tuple[float, float] | None = None,
) -> summary_pb2.Summary.Value:
    """The ``Summary.Value`` of ``add_histogram``.

    ``extremes`` is ``(min, max)`` of ``values`` when the caller already has them.
    NaN and +-inf propagate into min/max/sum as in torch.
    """
    values = values.reshape(-1)
    if values.size == 0:
        raise ValueError(f"histogram {tag!r}: the input has no element")
    if values.dtype.kind not in "fiub":
        raise TypeError(f"histogram {tag!r}: cannot bin values of dtype {values.dtype}")
    if values.dtype.kind != "f" or values.dtype.itemsize < 4:
        values = values.astype(np.float64)
    if isinstance(bins, str) and bins == "tensorflow":
        counts, total, squares = _scan(values, with_moments=True)
        edges = DEFAULT_EDGES
    else:
        counts, edges = bin_counts(values, bins)
        wide = values.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            total, squares = float(wide.sum()), float(np.square(wide).sum())
    if max_bins is not None and len(counts) > max_bins:
        counts, edges = subsample(counts, edges, max_bins)
    limits, buckets = trim(counts, edges, tag)
    low, high = extremes if extremes is not None else (float(values.min()), float(values.max()))
    histo = summary_pb2.HistogramProto(
        min=low,
        max=high,
        num=float(values.size),
        sum=total,
        sum_squares=squares,
        bucket_limit=limits,
        bucket=buckets,
    )
    return summary_pb2.Summary.Value(tag=tag, histo=histo)


def histogram_raw_value(
    tag: str,
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limits: Sequence[float],
    bucket_counts: Sequence[float],
) -> summary_pb2.Summary.Value:
    """The ``Summary.Value`` of ``add_histogram_raw`` (buckets given by the caller)."""
    limits = [float(x) for x in np.asarray(bucket_limits).reshape(-1)]
    counts = [float(x) for x in np.asarray(bucket_counts).reshape(-1)]
    if len(limits) != len(counts):
        raise ValueError(
            f"histogram {tag!r}: {len(limits)} bucket_limits but {len(counts)} bucket_counts; "
            "give one right edge per bucket"
        )
    histo = summary_pb2.HistogramProto(
        min=float(min),
        max=float(max),
        num=float(num),
        sum=float(sum),
        sum_squares=float(sum_squares),
        bucket_limit=limits,
        bucket=counts,
    )
    return summary_pb2.Summary.Value(tag=tag, histo=histo)
