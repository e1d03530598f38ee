"""Histogram binning (``stepscope.plugins.histograms.summary``) against numpy and torch.

The fast path for the default ``bins="tensorflow"`` estimates each value's
bucket with a float32 logarithm and falls back to an exact search near an
edge; it must give exactly ``numpy.histogram`` on torch's edges. The whole
``HistogramProto`` must equal what torch's own ``summary.histogram`` builds
for every ``bins`` / ``max_bins`` combination.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch.utils.tensorboard.summary import histogram as torch_histogram

from stepscope.plugins.histograms.summary import (
    DEFAULT_EDGES,
    default_bin_counts,
    histogram_value,
)

FLOAT_DTYPES = [np.float16, np.float32, np.float64]
SIGNED_INTS = [np.int8, np.int16, np.int32, np.int64]
UNSIGNED_INTS = [np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.fixture(scope="module")
def torch_default_bins(tmp_path_factory: pytest.TempPathFactory) -> list[float]:
    """The edges torch's real ``SummaryWriter`` uses for ``bins="tensorflow"``."""
    from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

    writer = TorchSummaryWriter(str(tmp_path_factory.mktemp("torch_bins")))
    bins: list[float] = list(writer.default_bins)
    writer.close()
    return bins


@contextmanager
def spurious_warnings_ignored() -> Iterator[None]:
    """Counting tests check the counts; stray RuntimeWarnings have their own test below."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def numpy_counts(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    counts, _ = np.histogram(values.astype(float), bins=DEFAULT_EDGES)
    return counts


def assert_counts_equal_numpy(values: npt.NDArray[Any]) -> None:
    with spurious_warnings_ignored():
        ours = default_bin_counts(values)
    expected = numpy_counts(values)
    assert ours.shape == expected.shape
    if not np.array_equal(ours, expected):
        wrong = np.flatnonzero(ours != expected)
        raise AssertionError(
            f"{wrong.size} buckets differ, first at edges "
            f"[{DEFAULT_EDGES[wrong[0]]!r}, {DEFAULT_EDGES[wrong[0] + 1]!r}): "
            f"ours {ours[wrong[0]]}, numpy {expected[wrong[0]]}"
        )


# -- the edges --------------------------------------------------------------------


def test_default_edges_equal_torchs(torch_default_bins: list[float]) -> None:
    assert DEFAULT_EDGES.dtype == np.float64
    assert DEFAULT_EDGES.tolist() == torch_default_bins
    assert np.all(np.diff(DEFAULT_EDGES) > 0)
    assert DEFAULT_EDGES[0] < -1e19
    assert DEFAULT_EDGES[-1] < 1e20
    assert 0.0 in DEFAULT_EDGES


# -- default_bin_counts against numpy.histogram ----------------------------------


def edge_cases() -> npt.NDArray[np.float64]:
    edges = DEFAULT_EDGES
    return np.concatenate(
        [
            edges,
            np.nextafter(edges, np.inf),
            np.nextafter(edges, -np.inf),
            np.nextafter(np.nextafter(edges, np.inf), np.inf),
            np.nextafter(np.nextafter(edges, -np.inf), -np.inf),
            # the middle of every bucket
            (edges[:-1] + edges[1:]) / 2,
            [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-13, -1e-13, 9.99e-13, -9.99e-13],
            [1e20, -1e20, 1e21, -1e21, 1e300, -1e300, 1.7e308, -1.7e308],
        ]
    )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_every_edge_and_its_neighbours(dtype: Any) -> None:
    with np.errstate(over="ignore"):
        values = edge_cases().astype(dtype)
    assert_counts_equal_numpy(values)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float32_and_float16_neighbours_of_every_edge(dtype: Any) -> None:
    # The nearest values of the narrow dtype on both sides of each edge.
    with np.errstate(over="ignore"):
        narrow = DEFAULT_EDGES.astype(dtype)
    values = np.concatenate(
        [narrow, np.nextafter(narrow, dtype(np.inf)), np.nextafter(narrow, dtype(-np.inf))]
    )
    assert_counts_equal_numpy(values)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_each_edge_alone(dtype: Any) -> None:
    """One value per call: a value exactly on an edge goes to the bucket on its right."""
    with np.errstate(over="ignore"):
        values = DEFAULT_EDGES.astype(dtype)
    for value in values:
        assert_counts_equal_numpy(np.array([value]))


def test_last_edge_belongs_to_the_last_bucket_on_both_sides() -> None:
    counts = default_bin_counts(np.array([DEFAULT_EDGES[-1], DEFAULT_EDGES[0]]))
    assert counts[-1] == 1
    assert counts[0] == 1
    assert counts.sum() == 2


def test_zeros_and_negative_zero_go_to_the_bucket_right_of_zero() -> None:
    zero = int(np.searchsorted(DEFAULT_EDGES, 0.0))
    for dtype in FLOAT_DTYPES:
        counts = default_bin_counts(np.array([0.0, -0.0, 0.0], dtype=dtype))
        assert counts[zero] == 3
        assert counts.sum() == 3


def test_tiny_values_below_the_first_edge() -> None:
    zero = int(np.searchsorted(DEFAULT_EDGES, 0.0))
    values = np.array([1e-13, 5e-324, 1e-300, 9.999999e-13])
    counts = default_bin_counts(np.concatenate([values, -values]))
    assert counts[zero] == 4  # [0, 1e-12)
    assert counts[zero - 1] == 4  # [-1e-12, 0)
    assert_counts_equal_numpy(np.concatenate([values, -values]))


def test_values_at_and_beyond_the_range_are_left_out() -> None:
    values = np.array([1e20, -1e20, 1e25, -1e25, 1e300, -1e300, np.finfo(np.float64).max])
    with spurious_warnings_ignored():
        assert default_bin_counts(values).sum() == 0
    assert_counts_equal_numpy(values)
    float32 = np.array([3e38, -3e38, 1e20, -1e20], dtype=np.float32)
    assert default_bin_counts(float32).sum() == 0


@pytest.mark.parametrize(
    "call",
    [default_bin_counts, lambda v: histogram_value("h", v)],
    ids=["default_bin_counts", "histogram_value"],
)
def test_no_warning_for_doubles_beyond_float32(call: Callable[[Any], Any]) -> None:
    """A diverging weight (1e39 as float64) is legal input: binning it must not warn.

    torch bins such values silently; a RuntimeWarning from stepscope's internals
    would spam a training loop (and raise under ``-W error``).
    """
    values = np.array([1.0, 1e39, -1e300, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call(values)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_and_infinities_are_left_out(dtype: Any) -> None:
    values = np.array([np.nan, np.inf, -np.inf, -np.nan, 1.0, -2.0], dtype=dtype)
    counts = default_bin_counts(values)
    assert counts.sum() == 2
    assert_counts_equal_numpy(values)


@pytest.mark.parametrize("dtype", SIGNED_INTS + UNSIGNED_INTS)
def test_integer_inputs_over_the_whole_dtype_range(dtype: Any) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(1)
    values = rng.integers(info.min + 1, info.max, size=20000, dtype=dtype, endpoint=True)
    special = np.array([0, 1, info.max, info.max - 1, info.min + 1], dtype=dtype)
    assert_counts_equal_numpy(np.concatenate([values, special]))


@pytest.mark.parametrize("dtype", SIGNED_INTS)
def test_integer_minimum_of_signed_dtypes(dtype: Any) -> None:
    """``np.abs`` of e.g. int8 -128 overflows back to -128: it must still be binned."""
    values = np.array([np.iinfo(dtype).min, -1, 0, 1], dtype=dtype)
    assert_counts_equal_numpy(values)


def test_values_spread_over_chunks() -> None:
    # More values than one internal chunk (65536), edge values at the chunk seam.
    rng = np.random.default_rng(2)
    values = rng.standard_normal(200_003) * 10.0 ** rng.integers(-14, 21, 200_003)
    values[65530:65542] = DEFAULT_EDGES[700:712]
    assert_counts_equal_numpy(values)
    assert_counts_equal_numpy(values.astype(np.float32))


DISTRIBUTIONS = [
    "normal",
    "wide_log",
    "lognormal",
    "uniform_small",
    "exponential",
    "near_edges",
    "integers",
    "with_nonfinite",
]


def draw_values(kind: str, seed: int, size: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.standard_normal(size) * 10.0 ** rng.uniform(-15, 22)
    if kind == "wide_log":
        return rng.choice([-1.0, 1.0], size) * 10.0 ** rng.uniform(-320, 308, size)
    if kind == "lognormal":
        return rng.lognormal(0, 20, size) * rng.choice([-1.0, 1.0], size)
    if kind == "uniform_small":
        return rng.uniform(-1e-11, 1e-11, size)
    if kind == "exponential":
        return rng.exponential(10.0 ** rng.uniform(-12, 20), size)
    if kind == "near_edges":
        picks = rng.choice(DEFAULT_EDGES, size)
        return picks * (1 + rng.integers(-3, 4, size) * np.finfo(np.float64).eps)
    if kind == "integers":
        return rng.integers(-(10**6), 10**6, size).astype(np.float64)
    values = rng.standard_normal(size)
    values[rng.random(size) < 0.1] = np.nan
    values[rng.random(size) < 0.05] = np.inf
    values[rng.random(size) < 0.05] = -np.inf
    return values


@settings(derandomize=True, database=None, max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(DISTRIBUTIONS),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 3000),
    dtype=st.sampled_from([*FLOAT_DTYPES, np.int64]),
)
def test_distributions_match_numpy(kind: str, seed: int, size: int, dtype: Any) -> None:
    values = draw_values(kind, seed, size)
    if dtype is np.int64:
        values = np.nan_to_num(np.clip(values, -(2.0**62), 2.0**62)).astype(np.int64)
    else:
        with np.errstate(over="ignore"):
            values = values.astype(dtype)
    assert_counts_equal_numpy(values)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from(FLOAT_DTYPES),
        shape=st.integers(1, 200),
        elements={"allow_nan": True, "allow_infinity": True, "allow_subnormal": True},
    )
)
def test_arbitrary_float_arrays_match_numpy(values: npt.NDArray[Any]) -> None:
    assert_counts_equal_numpy(values)


# -- histogram_value against torch's HistogramProto ----------------------------------


def assert_same_histogram(
    values: npt.NDArray[Any], bins: Any, max_bins: int | None, torch_bins: Any
) -> None:
    with warnings.catch_warnings():
        # The reference itself warns on overflowing sums (numpy's dot); not under test.
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = torch_histogram("h", values, torch_bins, max_bins).value[0].histo
    with spurious_warnings_ignored():
        value = histogram_value("h", values, bins, max_bins)
    assert value.tag == "h"
    ours = value.histo
    assert list(ours.bucket_limit) == list(theirs.bucket_limit)
    assert list(ours.bucket) == list(theirs.bucket)
    assert ours.num == theirs.num
    for name in ("min", "max"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a == b or (math.isnan(a) and math.isnan(b)), name
    # Summation order may differ (chunks vs numpy's pairwise sum): allow 1e-12 of
    # the sum of magnitudes, which is the size of a rounding difference.
    as_float = values.astype(float).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        bounds = (
            ("sum", float(np.abs(as_float).sum())),
            ("sum_squares", float(as_float.dot(as_float))),
        )
    for name, bound in bounds:
        a, b = getattr(ours, name), getattr(theirs, name)
        if math.isnan(b) or math.isinf(b):
            assert a == b or (math.isnan(a) and math.isnan(b)), name
        else:
            assert abs(a - b) <= 1e-12 * max(abs(b), bound), (name, a, b)


def torch_bins_for(bins: Any, default: list[float]) -> Any:
    return default if isinstance(bins, str) and bins == "tensorflow" else bins


BIN_CASES: list[tuple[Any, int | None]] = [
    ("tensorflow", None),
    ("tensorflow", 30),
    ("tensorflow", 7),
    ("tensorflow", 1000),
    (10, None),
    (64, 8),
    (1, None),
    ("auto", None),
    ("auto", 5),
    ("fd", None),
    ("sturges", None),
    (np.linspace(-3.0, 3.0, 17), None),
    (np.array([-1.0, 0.0, 0.5, 2.0]), None),
    (np.linspace(-5.0, 5.0, 101), 9),
    ([-10.0, -1.0, 0.0, 1.0, 10.0], None),
]


@pytest.mark.parametrize(("bins", "max_bins"), BIN_CASES, ids=lambda x: str(x)[:20])
@pytest.mark.parametrize("dtype", [*FLOAT_DTYPES, np.int32, np.int64, np.uint8])
def test_histogram_value_equals_torch(
    bins: Any, max_bins: int | None, dtype: Any, torch_default_bins: list[float]
) -> None:
    rng = np.random.default_rng(3)
    if np.dtype(dtype).kind == "f":
        values = (rng.standard_normal(5000) * 2).astype(dtype)
    else:
        values = rng.integers(0, 200, 5000).astype(dtype)
    assert_same_histogram(values, bins, max_bins, torch_bins_for(bins, torch_default_bins))


@settings(derandomize=True, database=None, max_examples=120, deadline=None)
@given(
    kind=st.sampled_from(DISTRIBUTIONS),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 5000),
    dtype=st.sampled_from(FLOAT_DTYPES),
    max_bins=st.one_of(st.none(), st.integers(1, 200)),
)
def test_default_bins_histogram_equals_torch_for_many_distributions(
    kind: str,
    seed: int,
    size: int,
    dtype: Any,
    max_bins: int | None,
    torch_default_bins: list[float],
) -> None:
    with np.errstate(over="ignore"):
        values = draw_values(kind, seed, size).astype(dtype)
    if not np.any(numpy_counts(values)):
        return  # nothing inside the buckets: covered by the ValueError tests
    assert_same_histogram(values, "tensorflow", max_bins, torch_default_bins)


def test_large_histogram_equals_torch(torch_default_bins: list[float]) -> None:
    rng = np.random.default_rng(4)
    values = rng.standard_normal(300_000).astype(np.float32) * 1e3
    assert_same_histogram(values, "tensorflow", None, torch_default_bins)
    assert_same_histogram(values, "tensorflow", 40, torch_default_bins)


def test_nonfinite_values_counted_in_num_but_not_in_buckets(
    torch_default_bins: list[float],
) -> None:
    values = np.array([1.0, 2.0, np.inf, 3.0, np.nan, -np.inf, -4.0])
    assert_same_histogram(values, "tensorflow", None, torch_default_bins)
    histo = histogram_value("h", values).histo
    assert histo.num == 7
    assert sum(histo.bucket) == 4
    assert math.isnan(histo.min)
    assert math.isnan(histo.max)
    assert math.isnan(histo.sum)


def test_multidimensional_input_is_flattened(torch_default_bins: list[float]) -> None:
    values = np.random.default_rng(5).standard_normal((4, 5, 6))
    assert_same_histogram(values, "tensorflow", None, torch_default_bins)
    assert histogram_value("h", values).histo.num == 120


def test_torch_tensor_values(torch_default_bins: list[float]) -> None:
    import torch

    tensor = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    values = tensor.numpy()
    assert_same_histogram(values, "tensorflow", None, torch_default_bins)


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_all_nan_raises_a_clear_value_error(dtype: Any) -> None:
    with pytest.raises(ValueError, match=r"histogram 'weights'.*no value falls inside"):
        histogram_value("weights", np.full(100, np.nan, dtype=dtype))


def test_all_out_of_range_raises_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"NaN, infinite or beyond the bin range"):
        histogram_value("w", np.array([np.inf, -np.inf, 1e25, np.nan]))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_empty_input_raises_value_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"histogram 'empty': the input has no element"):
        histogram_value("empty", np.zeros(shape))


def test_non_numeric_input_raises_type_error() -> None:
    with pytest.raises(TypeError, match="cannot bin values of dtype"):
        histogram_value("s", np.array(["a", "b"]))


def test_summary_writer_add_histogram_raises_at_the_call(tmp_path: Path) -> None:
    from stepscope import SummaryWriter

    with SummaryWriter(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="no element"):
            writer.add_histogram("h", np.array([]), 0)
        with pytest.raises(ValueError, match="no value falls inside"):
            writer.add_histogram("h", np.full(10, np.nan), 0)
