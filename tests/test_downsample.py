"""Spike-preserving downsampling: ``keep_spikes`` and ``DataProvider.scalars(max_points=N)``.

The contract (``stepscope/store/downsample.py``): at most ``N`` points,
ascending, first and last kept, the whole series when it has ``N`` points
or fewer, and, in each of ``(N - 2) // 2`` buckets of equal step width over
the inner points, the smallest and the largest value (NaN counting as the
largest), so that no spike disappears.

Bucket membership is computed here with exact integer arithmetic. A point
lying exactly on a bucket boundary may land on either side in floating
point, so those points are checked against the two buckets they touch.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stepscope
from stepscope.errors import UsageError
from stepscope.proto import event_pb2, summary_pb2
from stepscope.records import frame_record
from stepscope.store.downsample import keep_spikes, keep_spikes_many

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def order(value: float) -> tuple[int, float]:
    """A total order on values in which NaN is the largest."""
    return (1, 0.0) if math.isnan(value) else (0, value)


def assert_basic(steps: np.ndarray, values: np.ndarray, n: int, kept: np.ndarray) -> None:
    count = len(values)
    assert kept.dtype == np.int64
    assert len(kept) <= n
    assert np.all(np.diff(kept) > 0), "indexes must be ascending and unique"
    if count:
        assert kept.min() >= 0
        assert kept.max() < count
    if count <= n:
        assert kept.tolist() == list(range(count))
        return
    assert kept[0] == 0  # the first point is always kept
    if n >= 2:
        assert kept[-1] == count - 1  # and so is the last
    if n < 4:
        # No room for a bucket: the first and last points only.
        assert kept.tolist() == [0, count - 1][:n]
        return
    kept_values = values[kept]
    if np.isnan(values).any():
        assert np.isnan(kept_values).any(), "a NaN (the largest value) was dropped"
    else:
        assert values.max() in kept_values
    finite = values[~np.isnan(values)]
    if len(finite):
        assert finite.min() in kept_values


def assert_buckets(steps: np.ndarray, values: np.ndarray, n: int, kept: np.ndarray) -> None:
    """Each equal-step-width bucket's smallest and largest value is kept (within its steps)."""
    count = len(values)
    if count <= n or n < 4:
        return
    buckets = (n - 2) // 2
    inner = list(range(1, count - 1))
    low, high = int(steps[1]), int(steps[count - 2])
    span = high - low
    if span == 0:
        return  # no step width to bucket by

    def scaled(i: int) -> int:
        return (int(steps[i]) - low) * buckets

    def exact_bucket(i: int) -> int:
        return min(scaled(i) // span, buckets - 1)

    def on_boundary(i: int) -> bool:
        k = scaled(i) // span
        return scaled(i) % span == 0 and 0 < k < buckets

    kept_inner = sorted((scaled(i), i) for i in kept.tolist() if 0 < i < count - 1)
    keys = [key for key, _ in kept_inner]

    def kept_between(first: int, last: int) -> list[int]:
        """Kept inner points whose step lies in the closed range of buckets first..last."""
        start = bisect.bisect_left(keys, first * span)
        stop = bisect.bisect_right(keys, (last + 1) * span)
        return [i for _, i in kept_inner[start:stop]]

    groups: dict[tuple[int, bool], list[int]] = {}
    for i in inner:
        groups.setdefault((exact_bucket(i), on_boundary(i)), []).append(i)
    for (k, boundary), members in groups.items():
        # Points strictly inside bucket k are in it; points on its lower edge
        # may have been put in bucket k - 1.
        window = kept_between(k - 1, k) if boundary else kept_between(k, k)
        largest = max(order(values[i]) for i in members)
        smallest = min(order(values[i]) for i in members)
        assert any(order(values[i]) >= largest for i in window), (k, boundary, "max")
        assert any(order(values[i]) <= smallest for i in window), (k, boundary, "min")


values_strategy = st.floats(allow_nan=True, allow_infinity=True, width=64)


@st.composite
def series(draw: st.DrawFn, huge_steps: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    count = draw(st.integers(0, 400))
    if huge_steps:
        step_values = st.integers(-(2**63), 2**63 - 1)
    else:
        step_values = st.integers(-1000, draw(st.sampled_from([0, 10, 1000, 10**6])))
    steps = np.sort(np.array(draw(st.lists(step_values, min_size=count, max_size=count)), np.int64))
    kind = draw(st.sampled_from(["any", "smooth", "spiky"]))
    if kind == "any":
        values = np.array(
            draw(st.lists(values_strategy, min_size=count, max_size=count)), np.float64
        )
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        values = np.cumsum(rng.normal(size=count)) if kind == "smooth" else rng.normal(size=count)
        for _ in range(draw(st.integers(0, 3)) if count else 0):
            at = draw(st.integers(0, count - 1))
            values[at] = draw(st.sampled_from([1e6, -1e6, math.nan, math.inf, -math.inf]))
    n = draw(st.one_of(st.integers(1, 10), st.integers(1, count + 5)))
    return steps, values, n


@SETTINGS
@given(case=series())
def test_keep_spikes_properties(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    steps, values, n = case
    kept = keep_spikes(steps, values, n)
    assert_basic(steps, values, n, kept)
    assert_buckets(steps, values, n, kept)


@settings(SETTINGS, max_examples=75)
@given(case=series(huge_steps=True))
def test_keep_spikes_with_steps_across_the_int64_range(
    case: tuple[np.ndarray, np.ndarray, int],
) -> None:
    steps, values, n = case
    kept = keep_spikes(steps, values, n)
    assert_basic(steps, values, n, kept)


@settings(SETTINGS, max_examples=60)
@given(cases=st.lists(series(), min_size=0, max_size=6), n=st.integers(1, 40))
def test_many_series_at_once_keep_what_each_keeps_alone(
    cases: list[tuple[np.ndarray, np.ndarray, int]], n: int
) -> None:
    """``keep_spikes_many`` over a concatenation = ``keep_spikes`` on each series."""
    lengths = [len(values) for _, values, _ in cases]
    bounds = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    steps = np.concatenate([s for s, _, _ in cases] or [np.zeros(0, np.int64)]).astype(np.int64)
    values = np.concatenate([v for _, v, _ in cases] or [np.zeros(0)]).astype(np.float64)
    kept = keep_spikes_many(bounds, steps, values, n)
    expected = [
        start + keep_spikes(s, v, n) for start, (s, v, _) in zip(bounds[:-1], cases, strict=True)
    ]
    assert kept.tolist() == np.concatenate(expected or [np.zeros(0, np.int64)]).tolist()
    for s, v, _ in cases:
        assert_basic(s, v, n, keep_spikes(s, v, n))


def test_keep_spikes_example_from_the_docstring() -> None:
    values = np.zeros(1000)
    values[500] = 9.0
    kept = keep_spikes(np.arange(1000), values, 10)
    assert 500 in kept
    assert len(kept) <= 10


@pytest.mark.parametrize("n", [4, 5, 10, 100, 101])
def test_nan_counts_as_the_largest_value_of_its_bucket(n: int) -> None:
    values = np.zeros(10_000)
    values[5000] = math.nan
    values[5001] = 1e30  # larger than everything but the NaN, in the same bucket
    values[6000] = -1e30
    kept = keep_spikes(np.arange(10_000), values, n)
    assert 5000 in kept
    assert 6000 in kept


def test_series_of_one_step_is_bucketed_by_position() -> None:
    values = np.zeros(1000)
    values[777] = 5.0
    values[123] = -5.0
    kept = keep_spikes(np.full(1000, 42, dtype=np.int64), values, 20)
    assert len(kept) <= 20
    assert {0, 123, 777, 999} <= set(kept.tolist())


def test_keep_spikes_refuses_zero_points() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        keep_spikes(np.arange(3), np.zeros(3), 0)


# -- through the provider -------------------------------------------------------------------


def scalar_records(tag: str, steps: np.ndarray, values: np.ndarray, wall0: float) -> bytes:
    parts = []
    for i, (step, value) in enumerate(zip(steps.tolist(), values.tolist(), strict=True)):
        event = event_pb2.Event(
            wall_time=wall0 + i,  # unique: identifies each point
            step=step,
            summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
            ),
        )
        parts.append(frame_record(event.SerializeToString()))
    return b"".join(parts)


SPIKE_AT = 61_803


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[stepscope.Logdir]:
    root = tmp_path_factory.mktemp("downsample")
    logdir = root / "logs" / "run"
    logdir.mkdir(parents=True)
    rng = np.random.default_rng(1)
    # 100k points of small noise with one spike.
    flat = rng.normal(scale=0.01, size=100_000).astype(np.float32)
    flat[SPIKE_AT] = 50.0
    # 3000 points with repeated steps, NaNs and infinities, in a float32-exact form.
    noisy_steps = np.sort(rng.integers(0, 1500, size=3000))
    noisy = rng.normal(size=3000).astype(np.float32)
    noisy[rng.integers(0, 3000, size=20)] = np.nan
    noisy[100], noisy[2900] = np.inf, -np.inf
    data = scalar_records("flat", np.arange(100_000), flat, 1e9)
    data += scalar_records("noisy", noisy_steps, noisy, 2e9)
    (logdir / "events.out.tfevents.1.host").write_bytes(data)
    with stepscope.open(str(root / "logs"), index=str(root / "index.duckdb")) as logdir_:
        yield logdir_


def test_single_spike_in_100k_points_survives(opened: stepscope.Logdir) -> None:
    series_ = opened.data.scalars("run", "flat", max_points=100)
    assert series_.total == 100_000
    assert len(series_.steps) <= 100
    assert SPIKE_AT in series_.steps.tolist()
    assert series_.values.max() == 50.0
    assert series_.steps[0] == 0
    assert series_.steps[-1] == 99_999
    assert np.all(np.diff(series_.steps) > 0)
    full = opened.data.scalars("run", "flat")
    assert series_.values.min() == full.values.min()


@settings(SETTINGS, max_examples=60)
@given(n=st.one_of(st.integers(1, 10), st.integers(1, 3200)))
def test_provider_downsampling_keeps_the_contract(opened: stepscope.Logdir, n: int) -> None:
    full = opened.data.scalars("run", "noisy")
    assert full.total == len(full.steps) == 3000
    assert np.all(np.diff(full.steps) >= 0)
    series_ = opened.data.scalars("run", "noisy", max_points=n)
    assert series_.total == 3000
    # Each returned point is a point of the full series (identified by its wall time).
    where = {wall: i for i, wall in enumerate(full.wall_times.tolist())}
    kept = np.array([where[wall] for wall in series_.wall_times.tolist()], dtype=np.int64)
    assert series_.steps.tolist() == full.steps[kept].tolist()
    np.testing.assert_array_equal(series_.values, full.values[kept])
    assert_basic(full.steps, full.values, n, kept)
    assert_buckets(full.steps, full.values, n, kept)


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_provider_refuses_max_points_below_one(opened: stepscope.Logdir, bad: int) -> None:
    with pytest.raises(UsageError, match="max_points"):
        opened.data.scalars("run", "flat", max_points=bad)


def test_provider_without_max_points_returns_everything(opened: stepscope.Logdir) -> None:
    full = opened.data.scalars("run", "flat", max_points=None)
    assert len(full.steps) == full.total == 100_000
    assert opened.data.scalars("run", "flat", max_points=100_000).steps.tolist() == list(
        range(100_000)
    )
