"""Downsampling a series for display without hiding a spike.

A request for at most ``n`` points gets the first and last points plus, in
each of ``(n - 2) // 2`` buckets of equal step width, the point with the
smallest and the one with the largest value (NaN counts as the largest, so
a divergence is always shown). A series of ``n`` points or fewer is
returned whole. This is the M4 idea (first/last/min/max per pixel column)
with the first and last taken once for the series. Below 4 points there is
no room for a bucket: only the first and last are returned.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def keep_spikes(
    steps: npt.NDArray[np.int64], values: npt.NDArray[np.float64], max_points: int
) -> npt.NDArray[np.int64]:
    """Indexes (ascending) of the points to keep out of a series sorted by step.

    Example::

        >>> import numpy as np
        >>> values = np.zeros(1000); values[500] = 9.0
        >>> kept = keep_spikes(np.arange(1000), values, 10)
        >>> bool(9.0 in values[kept]), len(kept) <= 10
        (True, True)
    """
    bounds = np.array([0, len(values)], dtype=np.int64)
    return keep_spikes_many(bounds, steps, values, max_points)


def keep_spikes_many(
    bounds: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    max_points: int,
) -> npt.NDArray[np.int64]:
    """:func:`keep_spikes` for many series at once, in a few passes over all their points.

    The series are ``steps[bounds[i]:bounds[i+1]]`` (each sorted by step);
    returns the kept indexes into the concatenation, ascending. Used to
    downsample one tag of many runs for a chart in one go.
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    total = len(values)
    starts = bounds[:-1].astype(np.int64)
    counts = np.diff(bounds).astype(np.int64)
    keep = np.zeros(total + 1, dtype=np.int64)
    small = counts <= max_points
    # Whole series that fit: +1 at their start, -1 after their end, then a running sum.
    np.add.at(keep, starts[small], 1)
    np.add.at(keep, starts[small] + counts[small], -1)
    mask = np.cumsum(keep[:-1]) > 0
    large = ~small & (counts > 0)
    mask[starts[large]] = True
    if max_points > 1:
        mask[starts[large] + counts[large] - 1] = True
    bucketed = large & (counts > 2) if max_points >= 4 else np.zeros_like(large)
    if bucketed.any():
        mask |= _bucket_extremes(starts[bucketed], counts[bucketed], steps, values, max_points)
    return np.flatnonzero(mask).astype(np.int64)


def _bucket_extremes(
    starts: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    steps: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    max_points: int,
) -> npt.NDArray[np.bool_]:
    """A mask of each bucket's smallest (first of equals) and largest (last of equals; NaN wins)."""
    buckets = (max_points - 2) // 2
    inner_counts = counts - 2
    total = int(inner_counts.sum())
    series = np.repeat(np.arange(len(starts)), inner_counts)
    first_inner = starts + 1
    offsets = np.cumsum(inner_counts) - inner_counts
    position = np.arange(total) - np.repeat(offsets, inner_counts)  # 0-based, inner points
    index = np.repeat(first_inner, inner_counts) + position
    inner_steps = steps[index].astype(np.float64)
    low_per_series = steps[first_inner].astype(np.float64)
    spread_per_series = steps[first_inner + inner_counts - 1].astype(np.float64) - low_per_series
    low = np.repeat(low_per_series, inner_counts)
    spread = np.repeat(np.where(spread_per_series > 0, spread_per_series, 1), inner_counts)
    bucket = ((inner_steps - low) / spread * buckets).astype(np.int64)
    np.minimum(bucket, buckets - 1, out=bucket)
    if (spread_per_series <= 0).any():
        # A series whose inner points share one step is bucketed by position instead.
        flat = np.repeat(spread_per_series <= 0, inner_counts)
        by_position = position * buckets // np.repeat(inner_counts, inner_counts)
        bucket[flat] = np.minimum(by_position[flat], buckets - 1)
    # Steps are sorted, so (series, bucket) only grows: groups are contiguous runs.
    change = (bucket[1:] != bucket[:-1]) | (series[1:] != series[:-1])
    group_start = np.flatnonzero(np.r_[True, change])
    group = np.cumsum(np.r_[False, change])
    inner_values = values[index]
    nan = np.isnan(inner_values)
    mask = np.zeros(len(values), dtype=bool)
    if not nan.any():
        lowest = np.minimum.reduceat(inner_values, group_start)
        highest = np.maximum.reduceat(inner_values, group_start)
        is_low = inner_values == lowest[group]
        is_high = inner_values == highest[group]
    else:
        lowest = np.minimum.reduceat(np.where(nan, np.inf, inner_values), group_start)
        highest = np.maximum.reduceat(np.where(nan, -np.inf, inner_values), group_start)
        nans = np.add.reduceat(nan.astype(np.int64), group_start)
        sizes = np.diff(np.r_[group_start, total])
        # The smallest: the first of the lowest non-NaN values (a group of only NaN: its first).
        is_low = (~nan & (inner_values == lowest[group])) | (
            (nans == sizes)[group] & (position == position[group_start][group])
        )
        # The largest: the last NaN if the group has one, else the last of the highest values.
        is_high = np.where((nans > 0)[group], nan, ~nan & (inner_values == highest[group]))
    found = np.flatnonzero(is_low)
    mask[index[found[np.r_[True, group[found][1:] != group[found][:-1]]]]] = True
    found = np.flatnonzero(is_high)
    mask[index[found[np.r_[group[found][1:] != group[found][:-1], True]]]] = True
    return mask
