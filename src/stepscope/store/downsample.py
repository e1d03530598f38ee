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
    count = len(values)
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    if count <= max_points:
        return np.arange(count, dtype=np.int64)
    if max_points < 4:
        return np.unique(np.array([0, count - 1], dtype=np.int64))[:max_points]
    buckets = (max_points - 2) // 2
    inner = slice(1, count - 1)
    inner_steps = steps[inner].astype(np.float64)
    low, high = inner_steps[0], inner_steps[-1]
    if high > low:
        bucket = np.minimum(
            ((inner_steps - low) / (high - low) * buckets).astype(np.int64), buckets - 1
        )
    else:
        bucket = np.minimum(np.arange(count - 2) * buckets // (count - 2), buckets - 1)
    inner_values = values[inner]
    # Order by (bucket, value); NaN sorts last, i.e. as each bucket's maximum.
    order = np.lexsort((inner_values, bucket))
    ordered_buckets = bucket[order]
    starts = np.flatnonzero(np.r_[True, ordered_buckets[1:] != ordered_buckets[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    picked = np.concatenate(([0], order[starts] + 1, order[ends] + 1, [count - 1]))
    return np.unique(picked).astype(np.int64)
