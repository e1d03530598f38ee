"""stepscope's ``SummaryWriter`` output, read back by TensorBoard's own loaders.

Every ``add_*`` method writes into a fresh logdir; the writer is closed and
the files are loaded with no sampling by

* ``event_accumulator.EventAccumulator`` (legacy scalars, histograms,
  images, audio, exactly as written: no compat layer),
* ``plugin_event_accumulator.EventAccumulator`` (what TensorBoard's
  dashboards read: legacy values converted to tensors per plugin by
  ``data_compat``/``dataclass_compat``), with the plugins' own metadata
  parsers and ``tensor_util.make_ndarray``,
* ``event_file_loader.LegacyEventFileLoader`` for the raw events (file
  header, session logs, image colorspace).

Expected values are written out by hand or computed from the documented
rules (torch's), never by calling stepscope's encoders.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import time
import wave
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing import event_multiplexer
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.audio import metadata as audio_metadata
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata
from tensorboard.plugins.hparams import api_pb2 as hparams_api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.plugins.mesh import metadata as mesh_metadata
from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_pb2
from tensorboard.plugins.pr_curve import metadata as pr_curve_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.util import tensor_util

from stepscope import SummaryWriter

matplotlib.use("Agg")

WALL = 1_700_000_000.25  # exactly representable: wall times must come back bit for bit
HOST = socket.gethostname()
NAN, INF = float("nan"), float("inf")
LEGACY_EVERYTHING = {
    ea.COMPRESSED_HISTOGRAMS: 0,
    ea.IMAGES: 0,
    ea.AUDIO: 0,
    ea.SCALARS: 0,
    ea.HISTOGRAMS: 0,
    ea.TENSORS: 0,
}


# -- helpers ------------------------------------------------------------------


def event_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if "tfevents" in p.name)


def raw_events(directory: Path) -> list[event_pb2.Event]:
    """Every event of every file directly in ``directory``, as written (no compat layer)."""
    return [
        event
        for path in event_files(directory)
        for event in LegacyEventFileLoader(str(path)).Load()
    ]


def raw_values(
    directory: Path, tag: str
) -> list[tuple[event_pb2.Event, summary_pb2.Summary.Value]]:
    return [
        (event, value)
        for event in raw_events(directory)
        for value in event.summary.value
        if value.tag == tag
    ]


def legacy(directory: Path) -> ea.EventAccumulator:
    accumulator = ea.EventAccumulator(str(directory), size_guidance=LEGACY_EVERYTHING)
    accumulator.Reload()
    return accumulator


def plugin(directory: Path) -> pea.EventAccumulator:
    accumulator = pea.EventAccumulator(str(directory), size_guidance={pea.TENSORS: 0})
    accumulator.Reload()
    return accumulator


def legacy_runs(logdir: Path) -> event_multiplexer.EventMultiplexer:
    mux = event_multiplexer.EventMultiplexer(size_guidance=LEGACY_EVERYTHING)
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    return mux


def tensors(accumulator: pea.EventAccumulator, tag: str) -> list[tuple[int, float, np.ndarray]]:
    return [
        (e.step, e.wall_time, tensor_util.make_ndarray(e.tensor_proto))
        for e in accumulator.Tensors(tag)
    ]


def plugin_of(accumulator: pea.EventAccumulator, tag: str) -> tuple[str, bytes, int]:
    metadata = accumulator.SummaryMetadata(tag)
    return metadata.plugin_data.plugin_name, metadata.plugin_data.content, metadata.data_class


def f32(x: float) -> float:
    return float(np.float32(x))


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def decode_png(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image)


def to_uint8(x: Any) -> np.ndarray:
    """torch's rule: uint8 is kept; anything else is [0, 1], times 255 in float32, clipped."""
    array = np.asarray(x)
    if array.dtype == np.uint8:
        return array
    return np.clip(array.astype(np.float32) * np.float32(255), 0, 255).astype(np.uint8)


def tensorflow_edges() -> np.ndarray:
    """torch's default histogram edges: +-1e-12 growing x1.1 up to 1e20, and 0."""
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return np.array([-e for e in reversed(positive)] + [0.0] + positive)


def trimmed(counts: np.ndarray, edges: np.ndarray) -> tuple[list[float], list[float]]:
    """The documented layout: right edges of the non-empty range, plus one empty bucket left."""
    nonzero = np.flatnonzero(counts)
    first, last = nonzero[0], nonzero[-1]
    kept = counts[first - 1 : last + 1] if first > 0 else np.concatenate([[0], counts[: last + 1]])
    return edges[first : last + 2].tolist(), kept.astype(float).tolist()


def write(logdir: Path, calls: Any, **kwargs: Any) -> None:
    with SummaryWriter(str(logdir), **kwargs) as writer:
        calls(writer)


# -- files, runs, lifecycle ---------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".v2", "_my-suffix"])
def test_event_file_name_and_header(tmp_path: Path, suffix: str) -> None:
    before = time.time()
    with SummaryWriter(str(tmp_path), filename_suffix=suffix) as writer:
        writer.add_scalar("x", 1.0, 0)
        writer.add_scalars("main", {"a": 1.0}, 0)
    after = time.time()

    for directory in (tmp_path, tmp_path / "main_a"):
        (path,) = event_files(directory)
        pattern = rf"events\.out\.tfevents\.(\d{{10}})\.{re.escape(HOST)}\.{os.getpid()}\.\d+"
        match = re.fullmatch(pattern + re.escape(suffix), path.name)
        assert match, path.name
        assert int(before) <= int(match.group(1)) <= after
        first = raw_events(directory)[0]
        assert first.file_version == "brain.Event:2"
        assert before <= first.wall_time <= after


def test_default_log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before = datetime.now().replace(microsecond=0)
    writer = SummaryWriter(comment="_lr=0.1")
    after = datetime.now()
    writer.add_scalar("x", 2.0, 1)
    writer.close()

    logdir = Path(writer.get_logdir())
    assert logdir.parent == Path("runs")
    stamps = set()
    moment = before
    while moment <= after:
        stamps.add(moment.strftime("%b%d_%H-%M-%S"))
        moment += timedelta(seconds=1)
    assert logdir.name in {f"{stamp}_{HOST}_lr=0.1" for stamp in stamps}
    assert re.fullmatch(r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.*", logdir.name)
    assert [e.value for e in legacy(tmp_path / logdir).Scalars("x")] == [2.0]


def test_comment_is_ignored_when_log_dir_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SummaryWriter("exp", comment="_ignored") as writer:
        assert writer.get_logdir() == "exp"
    assert sorted(os.listdir(tmp_path)) == ["exp"]
    assert len(event_files(tmp_path / "exp")) == 1


def test_get_logdir_returns_the_argument(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path / "p") as writer:
        assert writer.get_logdir() == tmp_path / "p"
    with SummaryWriter(str(tmp_path / "s")) as writer:
        assert writer.get_logdir() == str(tmp_path / "s")


def test_event_file_exists_before_anything_is_logged(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path))
    try:
        assert len(event_files(tmp_path)) == 1
    finally:
        writer.close()
    assert [e.file_version for e in raw_events(tmp_path)] == ["brain.Event:2"]


def test_flush_makes_everything_readable_before_close(tmp_path: Path) -> None:
    writer = SummaryWriter(str(tmp_path), flush_secs=10_000)
    try:
        for step in range(50):
            writer.add_scalar("loss", step / 2, step, walltime=WALL + step)
        writer.add_text("note", "flushed", 3)
        writer.flush()
        accumulator = legacy(tmp_path)
        assert [(e.step, e.value) for e in accumulator.Scalars("loss")] == [
            (s, s / 2) for s in range(50)
        ]
        assert "note/text_summary" in accumulator.Tags()["tensors"]
    finally:
        writer.close()


def test_context_manager_closes_and_logging_after_close_opens_a_new_file(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("loss", 1.0, 1)
    assert len(event_files(tmp_path)) == 1
    writer.add_scalar("loss", 2.0, 2)  # torch reopens a new file, and so must we
    writer.close()
    writer.close()  # closing twice is harmless
    assert len(event_files(tmp_path)) == 2
    assert [(e.step, e.value) for e in legacy(tmp_path).Scalars("loss")] == [(1, 1.0), (2, 2.0)]


def test_purge_step_writes_a_session_start_at_that_step(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path), purge_step=42) as writer:
        writer.add_scalar("loss", 0.5, 42)
    events = raw_events(tmp_path)
    assert events[0].file_version == "brain.Event:2"
    starts = [e for e in events if e.HasField("session_log")]
    assert len(starts) == 1
    assert starts[0].session_log.status == event_pb2.SessionLog.START
    assert starts[0].step == 42
    # The START comes before the data of the resumed attempt.
    assert events.index(starts[0]) < next(i for i, e in enumerate(events) if e.HasField("summary"))


def test_purge_step_hides_the_crashed_attempts_later_steps(tmp_path: Path) -> None:
    first = tmp_path / "first attempt"
    with SummaryWriter(str(first)) as writer:
        for step in range(10):
            writer.add_scalar("loss", float(step), step)
            writer.add_histogram("w", torch.tensor([float(step)]), step)
    logdir = tmp_path / "run"
    logdir.mkdir()
    # The crashed attempt's file, named so that it sorts (and is read) first.
    (path,) = event_files(first)
    path.rename(logdir / "events.out.tfevents.0000000001.attempt1")

    with SummaryWriter(str(logdir), purge_step=5) as writer:
        for step in range(5, 8):
            writer.add_scalar("loss", 100.0 + step, step)
            writer.add_histogram("w", torch.tensor([100.0 + step]), step)

    accumulator = legacy(logdir)
    expected = [(s, float(s)) for s in range(5)] + [(s, 100.0 + s) for s in range(5, 8)]
    assert [(e.step, e.value) for e in accumulator.Scalars("loss")] == expected
    histograms = accumulator.Histograms("w")
    assert [(e.step, e.histogram_value.max) for e in histograms] == expected


def test_every_event_carries_its_wall_time(tmp_path: Path) -> None:
    """torch stamps every event it writes (``FileWriter.add_event``), including the purge events."""
    before = time.time()
    with SummaryWriter(str(tmp_path), purge_step=3) as writer:
        writer.add_scalar("loss", 1.0, 3)
        writer.add_text("t", "x", 3)
        writer.add_histogram("h", torch.arange(5.0), 3)
        writer.add_image("i", torch.zeros(3, 2, 2), 3)
        writer.add_custom_scalars_multilinechart(["loss"])
    after = time.time()
    events = raw_events(tmp_path)
    assert len(events) == 8
    for event in events:
        assert before <= event.wall_time <= after, event


# -- scalars ------------------------------------------------------------------

SCALAR_INPUTS = [
    (0.1, f32(0.1)),
    (1, 1.0),
    (-2.5, -2.5),
    (1 / 3, f32(1 / 3)),
    (np.float64(2 / 3), f32(2 / 3)),
    (np.float32(7.25), 7.25),
    (np.int64(-9), -9.0),
    (torch.tensor(0.3), f32(0.3)),
    (torch.tensor([[2.0]], dtype=torch.float64), 2.0),
    (torch.tensor(5, dtype=torch.int32), 5.0),
    (True, 1.0),
    (3.4e38, f32(3.4e38)),
    (1e40, INF),  # beyond float32: an infinity, as a protobuf float field stores it
    (-1e40, -INF),
    (1e-50, 0.0),
    (INF, INF),
    (-INF, -INF),
    (NAN, NAN),
]


def test_add_scalar_values_steps_and_wall_times(tmp_path: Path) -> None:
    steps = [i * 7 for i in range(len(SCALAR_INPUTS))]

    def calls(w: SummaryWriter) -> None:
        for (value, _), step in zip(SCALAR_INPUTS, steps, strict=True):
            w.add_scalar("loss/train", value, step, walltime=WALL + step)

    write(tmp_path, calls)

    events = legacy(tmp_path).Scalars("loss/train")
    assert [e.step for e in events] == steps
    assert [e.wall_time for e in events] == [WALL + s for s in steps]
    for event, (value, expected) in zip(events, SCALAR_INPUTS, strict=True):
        assert same_float(event.value, expected), (value, event.value, expected)

    accumulator = plugin(tmp_path)
    assert plugin_of(accumulator, "loss/train") == ("scalars", b"", summary_pb2.DATA_CLASS_SCALAR)
    read = tensors(accumulator, "loss/train")
    assert [(step, wall) for step, wall, _ in read] == [(s, WALL + s) for s in steps]
    for (_, _, array), (_, expected) in zip(read, SCALAR_INPUTS, strict=True):
        assert array.shape == ()
        assert array.dtype == np.float32
        assert same_float(float(array), expected)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (None, 0),
        (0, 0),
        (1, 1),
        (2**40, 2**40),
        (2**63 - 1, 2**63 - 1),
        (np.int64(12), 12),
        (torch.tensor(13), 13),
    ],
)
def test_add_scalar_step_types(tmp_path: Path, step: Any, expected: int) -> None:
    write(tmp_path, lambda w: w.add_scalar("s", 1.5, step))
    assert [(e.step, e.value) for e in legacy(tmp_path).Scalars("s")] == [(expected, 1.5)]


def test_add_scalar_default_wall_time_is_now(tmp_path: Path) -> None:
    before = time.time()
    write(tmp_path, lambda w: w.add_scalar("s", 1.0, 1))
    after = time.time()
    (event,) = legacy(tmp_path).Scalars("s")
    assert before <= event.wall_time <= after


@pytest.mark.parametrize(
    ("double_precision", "dtype", "value", "expected"),
    [
        (False, np.float32, 0.1, np.float32(0.1)),
        (True, np.float64, 0.1, np.float64(0.1)),
        (True, np.float64, 1e300, np.float64(1e300)),
        (False, np.float32, NAN, np.float32(NAN)),
        (True, np.float64, -INF, np.float64(-INF)),
    ],
)
def test_add_scalar_new_style(
    tmp_path: Path, double_precision: bool, dtype: type, value: float, expected: Any
) -> None:
    write(
        tmp_path,
        lambda w: w.add_scalar(
            "acc", value, 3, walltime=WALL, new_style=True, double_precision=double_precision
        ),
    )
    accumulator = plugin(tmp_path)
    name, content, _ = plugin_of(accumulator, "acc")
    assert (name, content) == ("scalars", b"")
    ((step, wall, array),) = tensors(accumulator, "acc")
    assert (step, wall) == (3, WALL)
    assert array.shape == ()
    assert array.dtype == dtype
    np.testing.assert_array_equal(array, expected)
    # A new-style scalar is a tensor, not a legacy simple_value.
    assert legacy(tmp_path).Tags()["scalars"] == []
    assert legacy(tmp_path).Tags()["tensors"] == ["acc"]


def test_double_precision_without_new_style_is_a_legacy_float32(tmp_path: Path) -> None:
    write(tmp_path, lambda w: w.add_scalar("acc", 0.1, 1, double_precision=True))
    assert [e.value for e in legacy(tmp_path).Scalars("acc")] == [f32(0.1)]


def test_add_scalars_writes_one_sub_run_per_key(tmp_path: Path) -> None:
    def calls(w: SummaryWriter) -> None:
        w.add_scalar("loss/all runs", 9.0, 1)
        w.add_scalars("loss/all runs", {"train": 1.0, "val λ": torch.tensor(2.0)}, 3, WALL)
        w.add_scalars("loss/all runs", {"train": 0.5, "val λ": np.float32(1.5)}, 4, WALL + 1)
        w.add_scalars("acc", {"test/top 1": 0.75}, 4)

    write(tmp_path, calls)

    mux = legacy_runs(tmp_path)
    runs = {"loss_all runs_train", "loss_all runs_val λ", "acc_test/top 1"}
    assert set(mux.Runs()) == {"."} | runs
    for run in runs:
        assert len(event_files(tmp_path / run)) == 1  # one writer per sub-run, reused
    assert mux.GetAccumulator("loss_all runs_train").Tags()["scalars"] == ["loss/all runs"]

    def points(run: str, tag: str) -> list[tuple[int, float, float]]:
        return [(e.step, e.wall_time, e.value) for e in mux.Scalars(run, tag)]

    assert points("loss_all runs_train", "loss/all runs") == [(3, WALL, 1.0), (4, WALL + 1, 0.5)]
    assert points("loss_all runs_val λ", "loss/all runs") == [(3, WALL, 2.0), (4, WALL + 1, 1.5)]
    assert [(s, v) for s, _, v in points("acc_test/top 1", "acc")] == [(4, 0.75)]
    assert [(s, v) for s, _, v in points(".", "loss/all runs")] == [(1, 9.0)]


# -- tags ---------------------------------------------------------------------

ODD_TAGS = [
    "with space",
    "ünïcødé/λ",
    "a//b",
    "x/y/z/",
    "日本語 タグ",
    "tab\there",
    "-_.~!@#$%^&*()",
]


def test_tags_are_kept_as_given(tmp_path: Path) -> None:
    def calls(w: SummaryWriter) -> None:
        for tag in ODD_TAGS:
            w.add_scalar(tag, 1.0, 1)
            w.add_histogram(tag, torch.arange(3.0), 1)
            w.add_image(tag, torch.zeros(3, 2, 2), 1)
            w.add_audio(tag, torch.zeros(4), 1)
            w.add_text(tag, "t", 1)
            w.add_tensor(tag + "#tensor", torch.ones(2), 1)

    write(tmp_path, calls)
    tags = legacy(tmp_path).Tags()
    for kind in ("scalars", "histograms", "images", "audio"):
        assert sorted(tags[kind]) == sorted(ODD_TAGS), kind
    assert sorted(tags["tensors"]) == sorted(
        [t + "/text_summary" for t in ODD_TAGS] + [t + "#tensor" for t in ODD_TAGS]
    )


# -- tensors ------------------------------------------------------------------

TENSOR_INPUTS = [
    torch.arange(6, dtype=torch.float32).reshape(2, 3) / 3,
    torch.tensor([[NAN, INF], [-INF, -0.0]], dtype=torch.float64),
    torch.tensor([-(2**62), 2**62, 0], dtype=torch.int64),
    torch.tensor([[-5], [7]], dtype=torch.int32),
    torch.tensor([-128, 127], dtype=torch.int8),
    torch.tensor([-32768, 32767], dtype=torch.int16),
    torch.tensor([0, 200, 255], dtype=torch.uint8),
    torch.tensor([True, False, True]),
    torch.tensor([1.5, -2.0, 65504.0], dtype=torch.float16),
    torch.tensor(3.25),
    torch.zeros(2, 0, 3),
    torch.tensor([1 + 2j, -3.5j], dtype=torch.complex64),
    np.arange(24, dtype=np.float64).reshape(2, 3, 4),
]


@pytest.mark.parametrize("value", TENSOR_INPUTS, ids=lambda v: f"{v.dtype}{tuple(v.shape)}")
def test_add_tensor(tmp_path: Path, value: Any) -> None:
    write(tmp_path, lambda w: w.add_tensor("t/x", value, 5, walltime=WALL))
    accumulator = plugin(tmp_path)
    assert plugin_of(accumulator, "t/x")[:2] == ("tensor", b"")
    ((step, wall, array),) = tensors(accumulator, "t/x")
    expected = value.numpy() if isinstance(value, torch.Tensor) else value
    assert (step, wall) == (5, WALL)
    assert array.dtype == expected.dtype
    assert array.shape == expected.shape
    np.testing.assert_array_equal(array, expected)


# -- histograms ---------------------------------------------------------------


def read_histogram(directory: Path, tag: str) -> ea.HistogramEvent:
    (event,) = legacy(directory).Histograms(tag)
    return event


def test_add_histogram_explicit_edges(tmp_path: Path) -> None:
    values = torch.tensor([0.5, 1.5, 1.5, 3.5])
    write(tmp_path, lambda w: w.add_histogram("h", values, 2, bins=[0, 1, 2, 3, 4], walltime=WALL))

    event = read_histogram(tmp_path, "h")
    assert (event.step, event.wall_time) == (2, WALL)
    h = event.histogram_value
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (0.5, 3.5, 4, 7.0, 17.0)
    assert list(h.bucket_limit) == [0, 1, 2, 3, 4]
    assert list(h.bucket) == [0, 1, 2, 0, 1]

    # What the dashboards see: empty end buckets dropped, outer edges = min/max.
    accumulator = plugin(tmp_path)
    assert plugin_of(accumulator, "h")[0] == "histograms"
    assert plugin_of(accumulator, "h")[2] == summary_pb2.DATA_CLASS_TENSOR
    ((step, wall, array),) = tensors(accumulator, "h")
    assert (step, wall) == (2, WALL)
    np.testing.assert_array_equal(
        array, np.array([[0.5, 1, 1], [1, 2, 2], [2, 3, 0], [3, 3.5, 1]], dtype=np.float32)
    )


def test_add_histogram_first_bucket_non_empty_gets_an_empty_bucket_on_the_left(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        lambda w: w.add_histogram("h", torch.tensor([0.25, 0.75], dtype=torch.float64), bins=2),
    )
    h = read_histogram(tmp_path, "h").histogram_value
    assert list(h.bucket_limit) == [0.25, 0.5, 0.75]
    assert list(h.bucket) == [0, 1, 1]


def default_bin_inputs() -> dict[str, np.ndarray]:
    edges = tensorflow_edges()
    g = np.random.default_rng(7)
    on_edges = np.concatenate([edges[::37], [0.0, 1e-12, -1e-12, edges[-1], edges[1], 1.0, -1.0]])
    near = np.concatenate([np.nextafter(edges[::53], np.inf), np.nextafter(edges[::53], -np.inf)])
    f32_edges = edges[700:900].astype(np.float32)
    f32_near = np.concatenate(
        [
            f32_edges,
            np.nextafter(f32_edges, np.float32(np.inf)),
            np.nextafter(f32_edges, np.float32(-np.inf)),
        ]
    )
    return {
        "one value": np.array([1.0]),
        "symmetric": np.array([-1.0, 1.0, 0.0, 3.0]),
        "exact edges": on_edges,
        "next to edges": near,
        "float32 next to edges": f32_near,
        "normal float32 (deferred)": (g.standard_normal(20_000) * 10).astype(np.float32),
        "wide float64": g.standard_normal(5000) * 10.0 ** g.integers(-11, 19, 5000),
        "int64": g.integers(-1000, 1000, 300),
        "uint8": g.integers(0, 256, 300).astype(np.uint8),
        "float16": g.standard_normal(300).astype(np.float16),
        "bool": np.array([True, False, True]),
    }


@pytest.mark.parametrize("name", list(default_bin_inputs()))
def test_add_histogram_default_bins(tmp_path: Path, name: str) -> None:
    values = default_bin_inputs()[name]
    write(tmp_path, lambda w: w.add_histogram("h", torch.from_numpy(values.copy()), 1))

    exact = values.astype(np.float64)
    counts, _ = np.histogram(exact, bins=tensorflow_edges())
    limits, buckets = trimmed(counts, tensorflow_edges())
    h = read_histogram(tmp_path, "h").histogram_value
    assert list(h.bucket_limit) == limits
    assert list(h.bucket) == buckets
    assert (h.min, h.max, h.num) == (exact.min(), exact.max(), values.size)
    assert h.sum == pytest.approx(exact.sum(), rel=1e-12, abs=1e-300)
    assert h.sum_squares == pytest.approx(exact.dot(exact), rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
@pytest.mark.parametrize("bins", [7, "auto", "fd", [-3.0, -1.0, 0.0, 0.5, 2.0, 3.0]])
def test_add_histogram_numpy_bins(tmp_path: Path, dtype: torch.dtype, bins: Any) -> None:
    g = torch.Generator().manual_seed(3)
    values = (torch.randn(500, generator=g) * 1.2).to(dtype)
    write(tmp_path, lambda w: w.add_histogram("h", values, 1, bins=bins))
    exact = values.numpy().astype(np.float64)
    counts, edges = np.histogram(exact, bins=bins)
    limits, buckets = trimmed(counts, edges)
    h = read_histogram(tmp_path, "h").histogram_value
    assert list(h.bucket_limit) == limits
    assert list(h.bucket) == buckets
    assert (h.min, h.max, h.num) == (exact.min(), exact.max(), 500)


@pytest.mark.parametrize(("bins", "max_bins"), [("tensorflow", 30), (100, 30), (64, 8), (10, 10)])
def test_add_histogram_max_bins(tmp_path: Path, bins: Any, max_bins: int) -> None:
    g = torch.Generator().manual_seed(4)
    values = torch.randn(2000, generator=g, dtype=torch.float64)
    write(tmp_path, lambda w: w.add_histogram("h", values, 1, bins=bins, max_bins=max_bins))
    edges = tensorflow_edges() if bins == "tensorflow" else np.histogram(values.numpy(), bins)[1]
    full = len(edges) - 1
    factor = max(1, full // max_bins) if full > max_bins else 1
    h = read_histogram(tmp_path, "h").histogram_value
    # Buckets are merged by `factor` neighbours: every right edge is one of every factor-th
    # original edge (or the last one), the counts are all kept, and the range still spans the data.
    allowed = set(edges[::factor].tolist()) | {edges[-1]}
    assert set(h.bucket_limit) <= allowed
    assert sum(h.bucket) == 2000
    assert h.bucket[0] == 0
    assert h.bucket_limit[0] <= h.min
    assert h.max <= h.bucket_limit[-1]
    assert len(h.bucket) <= math.ceil(full / factor) + 1
    if full > max_bins:
        assert len(set(h.bucket_limit)) == len(h.bucket_limit)


def test_add_histogram_non_finite_values_are_counted_but_not_binned(tmp_path: Path) -> None:
    def calls(w: SummaryWriter) -> None:
        w.add_histogram("inf", torch.tensor([1.0, 2.0, INF], dtype=torch.float64), 1)
        w.add_histogram("nan", torch.tensor([1.0, NAN, 3.0]), 1)

    write(tmp_path, calls)
    h = read_histogram(tmp_path, "inf").histogram_value
    assert (h.num, h.min, h.max, h.sum, h.sum_squares) == (3, 1.0, INF, INF, INF)
    assert sum(h.bucket) == 2
    h = read_histogram(tmp_path, "nan").histogram_value
    assert h.num == 3
    assert math.isnan(h.min)
    assert math.isnan(h.max)
    assert math.isnan(h.sum)
    assert sum(h.bucket) == 2


def test_add_histogram_rejects_what_cannot_be_drawn(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="no element"):
            writer.add_histogram("empty", torch.zeros(0), 1)
        with pytest.raises(ValueError, match="nothing to draw"):
            writer.add_histogram("nan", torch.tensor([NAN, NAN]), 1)
    assert legacy(tmp_path).Tags()["histograms"] == []


def test_histograms_feed_the_distributions_dashboard(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(5)
    values = torch.randn(1000, generator=g)
    write(tmp_path, lambda w: w.add_histogram("h", values, 1))
    (compressed,) = legacy(tmp_path).CompressedHistograms("h")
    points = compressed.compressed_histogram_values
    assert [basis_point for basis_point, _ in points] == list(ea.NORMAL_HISTOGRAM_BPS)
    assert points[0][1] == pytest.approx(float(values.min()))
    assert points[-1][1] == pytest.approx(float(values.max()))
    assert [value for _, value in points] == sorted(value for _, value in points)


def test_add_histogram_raw(tmp_path: Path) -> None:
    def calls(w: SummaryWriter) -> None:
        w.add_histogram_raw(
            "raw",
            min=-1.0,
            max=2.5,
            num=5,
            sum=3.0,
            sum_squares=7.25,
            bucket_limits=torch.tensor([-1.0, 0.0, 1.0, 2.5], dtype=torch.float64),
            bucket_counts=[0, 1, 3, 1],
            global_step=9,
            walltime=WALL,
        )

    write(tmp_path, calls)
    event = read_histogram(tmp_path, "raw")
    assert (event.step, event.wall_time) == (9, WALL)
    h = event.histogram_value
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (-1.0, 2.5, 5, 3.0, 7.25)
    assert list(h.bucket_limit) == [-1.0, 0.0, 1.0, 2.5]
    assert list(h.bucket) == [0, 1, 3, 1]
    ((_, _, array),) = tensors(plugin(tmp_path), "raw")
    np.testing.assert_array_equal(
        array, np.array([[-1.0, 0.0, 1], [0.0, 1.0, 3], [1.0, 2.5, 1]], dtype=np.float32)
    )


def test_add_histogram_raw_rejects_mismatched_lengths(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer, pytest.raises(ValueError, match="bucket"):
        writer.add_histogram_raw("raw", 0, 1, 2, 1, 1, [0.5, 1.0], [2])


# -- images -------------------------------------------------------------------

G = torch.Generator().manual_seed(11)
FLOAT_CHW = torch.rand(3, 5, 7, generator=G) * 1.4 - 0.2  # some values out of [0, 1]: clipped
UINT8_CHW = torch.randint(0, 256, (3, 5, 7), generator=G, dtype=torch.uint8)


def grid(batch_hwc: np.ndarray) -> np.ndarray:
    """torch's make_grid: 8 per row, black padding."""
    n, h, w, c = batch_hwc.shape
    columns = min(n, 8)
    rows = math.ceil(n / columns)
    canvas = np.zeros((rows * h, columns * w, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        canvas[r * h : (r + 1) * h, col * w : (col + 1) * w] = batch_hwc[i]
    return canvas


def hwc(chw: torch.Tensor) -> np.ndarray:
    return chw.permute(1, 2, 0).numpy()


def rgb(gray: Any) -> np.ndarray:
    """A gray image (..., H, W) repeated into 3 channels (..., H, W, 3)."""
    return np.repeat(np.asarray(gray)[..., np.newaxis], 3, axis=-1)


RGBA_CHW = torch.cat([UINT8_CHW, UINT8_CHW[:1]])
FLOAT_BATCH = FLOAT_CHW * torch.linspace(0, 1, 10).view(10, 1, 1, 1)  # (10, 3, 5, 7)
UINT8_BATCH = UINT8_CHW.expand(3, 3, 5, 7)

IMAGE_CASES = {
    # name: (method, tensor, dataformats, expected HWC uint8)
    "CHW float": ("add_image", FLOAT_CHW, "CHW", to_uint8(hwc(FLOAT_CHW))),
    "CHW float64": ("add_image", FLOAT_CHW.double(), "CHW", to_uint8(hwc(FLOAT_CHW.double()))),
    "CHW uint8": ("add_image", UINT8_CHW, "CHW", hwc(UINT8_CHW)),
    "CHW 1 channel": ("add_image", FLOAT_CHW[:1], "CHW", rgb(to_uint8(FLOAT_CHW[0]))),
    "CHW RGBA": ("add_image", RGBA_CHW, "CHW", hwc(RGBA_CHW)),
    "HWC uint8": ("add_image", UINT8_CHW.permute(1, 2, 0), "HWC", hwc(UINT8_CHW)),
    "HWC 1 channel": ("add_image", UINT8_CHW[1].unsqueeze(-1), "HWC", rgb(UINT8_CHW[1])),
    "HW float": ("add_image", FLOAT_CHW[2], "HW", rgb(to_uint8(FLOAT_CHW[2]))),
    "WH uint8": ("add_image", UINT8_CHW[0].T, "WH", rgb(UINT8_CHW[0])),
    "hwc lower case": ("add_image", UINT8_CHW.permute(1, 2, 0), "hwc", hwc(UINT8_CHW)),
    "NCHW float x10": (
        "add_images",
        FLOAT_BATCH,
        "NCHW",
        grid(to_uint8(FLOAT_BATCH.permute(0, 2, 3, 1))),
    ),
    "NHWC uint8 x3": (
        "add_images",
        UINT8_BATCH.permute(0, 2, 3, 1),
        "NHWC",
        grid(UINT8_BATCH.permute(0, 2, 3, 1).numpy()),
    ),
    "NCHW 1 channel x2": (
        "add_images",
        UINT8_CHW[:2].unsqueeze(1),
        "NCHW",
        grid(rgb(UINT8_CHW[:2])),
    ),
    "NHW x9": ("add_images", FLOAT_BATCH[:9, 0], "NHW", grid(rgb(to_uint8(FLOAT_BATCH[:9, 0])))),
}


@pytest.mark.parametrize("name", list(IMAGE_CASES))
def test_add_image(tmp_path: Path, name: str) -> None:
    method, tensor, dataformats, expected = IMAGE_CASES[name]
    write(tmp_path, lambda w: getattr(w, method)("img/a b", tensor, 4, WALL, dataformats))
    height, width, channels = expected.shape

    (event,) = legacy(tmp_path).Images("img/a b")
    assert (event.step, event.wall_time, event.width, event.height) == (4, WALL, width, height)
    np.testing.assert_array_equal(decode_png(event.encoded_image_string), expected)
    ((_, value),) = raw_values(tmp_path, "img/a b")
    assert value.image.colorspace == channels

    accumulator = plugin(tmp_path)
    name_, content, data_class = plugin_of(accumulator, "img/a b")
    assert (name_, data_class) == ("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    assert image_metadata.parse_plugin_metadata(content).converted_to_tensor
    ((step, wall, array),) = tensors(accumulator, "img/a b")
    assert (step, wall) == (4, WALL)
    assert array[:2].tolist() == [str(width).encode(), str(height).encode()]
    np.testing.assert_array_equal(decode_png(array[2]), expected)


@pytest.mark.parametrize(
    ("shape", "dataformats", "match"),
    [
        ((3, 4), "CHW", "expects a 3-D"),
        ((2, 4, 4), "CHW", "channels"),
        ((3, 4, 4), "CCW", "dataformats"),
        ((3, 2, 4, 4), "NCHW", "channels"),
        ((3, 4, 4), "NCHW", "expects a 4-D"),
    ],
)
def test_add_image_rejects_bad_shapes(
    tmp_path: Path, shape: tuple[int, ...], dataformats: str, match: str
) -> None:
    with SummaryWriter(str(tmp_path)) as writer, pytest.raises(ValueError, match=match):
        writer.add_image("x", torch.zeros(shape), 0, dataformats=dataformats)


BOX_IMAGE = torch.full((3, 20, 30), 0.5)
BOXES = torch.tensor([[2.0, 3.0, 12.0, 15.0], [14.0, 1.0, 27.0, 18.0]])
RED = [255, 0, 0]
GREY = [127, 127, 127]


def box_image(tmp_path: Path, **kwargs: Any) -> tuple[np.ndarray, summary_pb2.Summary.Image]:
    directory = tmp_path / str(len(list(tmp_path.iterdir())))
    write(directory, lambda w: w.add_image_with_boxes("boxes", BOX_IMAGE, BOXES, 1, WALL, **kwargs))
    ((_, value),) = raw_values(directory, "boxes")
    (event,) = legacy(directory).Images("boxes")
    assert (event.step, event.wall_time) == (1, WALL)
    return decode_png(event.encoded_image_string), value.image


def test_add_image_with_boxes_draws_red_box_outlines(tmp_path: Path) -> None:
    pixels, header = box_image(tmp_path)
    assert pixels.shape == (20, 30, 3)
    assert (header.height, header.width, header.colorspace) == (20, 30, 3)
    red = (pixels == RED).all(axis=-1)
    # On each edge of the first box (xmin=2, ymin=3, xmax=12, ymax=15):
    for y, x in [(3, 7), (15, 7), (9, 2), (9, 12), (1, 20), (18, 20), (10, 14), (10, 27)]:
        assert red[y, x], (y, x)
    # Inside and far outside the boxes nothing changed.
    for y, x in [(9, 7), (10, 20), (19, 0), (0, 0), (19, 29)]:
        assert pixels[y, x].tolist() == GREY, (y, x)
    # Only pixels within a line width of a box outline are touched.
    changed = (pixels != GREY).any(axis=-1)
    near_outline = np.zeros_like(changed)
    for xmin, ymin, xmax, ymax in BOXES.int().tolist():
        near_outline[ymin - 1 : ymax + 2, xmin - 1 : xmax + 2] = True
        near_outline[ymin + 2 : ymax - 1, xmin + 2 : xmax - 1] = False
    assert not (changed & ~near_outline).any()


def test_add_image_with_boxes_labels(tmp_path: Path) -> None:
    plain, _ = box_image(tmp_path)
    labelled, _ = box_image(tmp_path, labels=["cat", "dog"])
    # A red band with black (antialiased) text at the bottom left inside each box.
    changed = (plain != labelled).any(axis=-1)
    assert changed.sum() > 20
    ys, _ = np.nonzero(changed)
    assert ys.max() <= 18
    assert ys.min() >= 1
    assert (labelled[changed][:, 1:] == 0).all()  # shades of red only
    assert (labelled[changed] == RED).all(-1).sum() > 10  # the band
    assert (labelled[changed][:, 0] < 128).sum() > 5  # the text
    # A single string labels a single box; one label per box otherwise, else no labels.
    one = torch.tensor([[2.0, 3.0, 12.0, 15.0]])
    directory = tmp_path / "one"
    write(directory, lambda w: w.add_image_with_boxes("b", BOX_IMAGE, one, labels="cat"))
    write(
        tmp_path / "one list", lambda w: w.add_image_with_boxes("b", BOX_IMAGE, one, labels=["cat"])
    )
    a = decode_png(legacy(directory).Images("b")[0].encoded_image_string)
    b = decode_png(legacy(tmp_path / "one list").Images("b")[0].encoded_image_string)
    np.testing.assert_array_equal(a, b)
    mismatched, _ = box_image(tmp_path, labels=["only one"])
    np.testing.assert_array_equal(mismatched, plain)


@pytest.mark.parametrize(("rescale", "size"), [(2, (40, 60)), (0.5, (10, 15)), (1.5, (30, 45))])
def test_add_image_with_boxes_rescale(
    tmp_path: Path, rescale: float, size: tuple[int, int]
) -> None:
    pixels, header = box_image(tmp_path, rescale=rescale)
    assert pixels.shape == (*size, 3)
    # The header describes the PNG it carries.
    assert (header.height, header.width) == size
    (event,) = legacy(tmp_path / "0").Images("boxes")
    assert (event.height, event.width) == size


def test_add_image_with_boxes_hwc_uint8(tmp_path: Path) -> None:
    image = torch.zeros(10, 12, 3, dtype=torch.uint8)
    write(
        tmp_path,
        lambda w: w.add_image_with_boxes(
            "b", image, torch.tensor([[1, 1, 8, 8]]), dataformats="HWC"
        ),
    )
    pixels = decode_png(legacy(tmp_path).Images("b")[0].encoded_image_string)
    assert pixels.shape == (10, 12, 3)
    assert pixels[1, 4].tolist() == RED
    assert pixels[5, 5].tolist() == [0, 0, 0]


def make_figure(color: str, width: float = 2.0) -> Any:
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(width, 1.5), dpi=50)
    figure.patch.set_facecolor(color)
    return figure


def test_add_figure(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = make_figure("#ff8000")
    write(tmp_path, lambda w: w.add_figure("fig", figure, 3, walltime=WALL))
    assert not plt.fignum_exists(figure.number)  # closed by default
    (event,) = legacy(tmp_path).Images("fig")
    assert (event.step, event.wall_time, event.width, event.height) == (3, WALL, 100, 75)
    pixels = decode_png(event.encoded_image_string)
    assert pixels.shape == (75, 100, 3)
    assert (pixels == [255, 128, 0]).all()


def test_add_figure_list_is_a_grid_and_close_false_keeps_them(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    figures = [make_figure("#ff0000"), make_figure("#0000ff")]
    write(tmp_path, lambda w: w.add_figure("figs", figures, 1, close=False))
    assert all(plt.fignum_exists(f.number) for f in figures)
    for figure in figures:
        plt.close(figure)
    pixels = decode_png(legacy(tmp_path).Images("figs")[0].encoded_image_string)
    assert pixels.shape == (75, 200, 3)
    assert (pixels[:, :100] == RED).all()
    assert (pixels[:, 100:] == [0, 0, 255]).all()


# -- video --------------------------------------------------------------------

PALETTE = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]],
    dtype=np.uint8,
)


def gif_frames(data: bytes) -> tuple[list[np.ndarray], list[Any]]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    frames, durations = [], []
    for i in range(image.n_frames):
        image.seek(i)
        frames.append(np.asarray(image.convert("RGB")))
        durations.append(image.info.get("duration"))
    return frames, durations


@pytest.mark.parametrize("dtype", ["uint8", "float"])
def test_add_video_is_an_animated_gif_of_tiled_frames(tmp_path: Path, dtype: str) -> None:
    n, t, h, w = 3, 4, 8, 6
    colors = PALETTE[(np.arange(n)[:, None] + np.arange(t)[None, :]) % len(PALETTE)]  # (n, t, 3)
    video = np.broadcast_to(colors[:, :, :, None, None], (n, t, 3, h, w)).copy()
    tensor = torch.from_numpy(video) if dtype == "uint8" else torch.from_numpy(video / 255.0)
    write(tmp_path, lambda wr: wr.add_video("vid", tensor, 2, fps=4, walltime=WALL))

    (event,) = legacy(tmp_path).Images("vid")
    # 3 videos are padded to 4 and laid out 1 row x 4 columns, as torch does.
    assert (event.step, event.wall_time, event.width, event.height) == (2, WALL, 4 * w, h)
    ((_, value),) = raw_values(tmp_path, "vid")
    assert value.image.colorspace == 3
    frames, durations = gif_frames(event.encoded_image_string)
    assert len(frames) == t
    assert durations == [250] * t
    assert Image.open(io.BytesIO(event.encoded_image_string)).info.get("loop") == 0
    for i, frame in enumerate(frames):
        assert frame.shape == (h, 4 * w, 3)
        for j in range(n):
            assert (frame[:, j * w : (j + 1) * w] == colors[j, i]).all(), (i, j)
        assert (frame[:, 3 * w :] == 0).all()

    accumulator = plugin(tmp_path)
    assert plugin_of(accumulator, "vid")[0] == "images"
    ((_, _, array),) = tensors(accumulator, "vid")
    assert array[:2].tolist() == [str(4 * w).encode(), str(h).encode()]
    assert array[2] == event.encoded_image_string


def test_add_video_grayscale_single_and_grid_layout(tmp_path: Path) -> None:
    gray = torch.zeros(1, 2, 1, 4, 5, dtype=torch.uint8)
    gray[0, 1] = 255
    five = torch.zeros(5, 1, 3, 2, 3, dtype=torch.uint8)
    write(tmp_path, lambda w: (w.add_video("gray", gray), w.add_video("five", five, fps=10)))
    frames, _ = gif_frames(legacy(tmp_path).Images("gray")[0].encoded_image_string)
    assert [f.tolist() for f in frames] == [
        np.zeros((4, 5, 3)).tolist(),
        np.full((4, 5, 3), 255).tolist(),
    ]
    # 5 videos pad to 8: 2 rows of 4.
    (event,) = legacy(tmp_path).Images("five")
    assert (event.width, event.height) == (4 * 3, 2 * 2)
    frames, durations = gif_frames(event.encoded_image_string)
    assert len(frames) == 1
    assert durations == [100]


# -- audio --------------------------------------------------------------------


def decode_wav(data: bytes) -> tuple[int, int, int, np.ndarray]:
    with wave.open(io.BytesIO(data)) as reader:
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
        return reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), samples


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        (
            torch.linspace(-1, 1, 11, dtype=torch.float64),
            (np.linspace(-1, 1, 11) * 32767).astype(np.int16),
        ),
        (
            torch.tensor([[0.0, 0.5, -0.5, 0.25]], dtype=torch.float64),
            np.array([0, 16383, -16383, 8191], dtype=np.int16),
        ),
        (
            torch.tensor([2.0, -3.0, 0.1], dtype=torch.float64),
            np.array([32767, -32767, 3276], dtype=np.int16),
        ),
        (torch.tensor([0.0, 0.5, -1.0, 1.0]), np.array([0, 16383, -32767, 32767], dtype=np.int16)),
    ],
)
def test_add_audio(tmp_path: Path, clip: torch.Tensor, expected: np.ndarray) -> None:
    write(tmp_path, lambda w: w.add_audio("sound/λ", clip, 6, sample_rate=16000, walltime=WALL))

    (event,) = legacy(tmp_path).Audio("sound/λ")
    assert (event.step, event.wall_time) == (6, WALL)
    assert (event.content_type, event.sample_rate, event.length_frames) == (
        "audio/wav",
        16000.0,
        expected.size,
    )
    assert decode_wav(event.encoded_audio_string)[:3] == (1, 2, 16000)
    np.testing.assert_array_equal(decode_wav(event.encoded_audio_string)[3], expected)
    ((_, value),) = raw_values(tmp_path, "sound/λ")
    assert value.audio.num_channels == 1

    accumulator = plugin(tmp_path)
    name, content, data_class = plugin_of(accumulator, "sound/λ")
    assert (name, data_class) == ("audio", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    assert audio_metadata.parse_plugin_metadata(content).encoding == audio_metadata.Encoding.Value(
        "WAV"
    )
    ((_, _, array),) = tensors(accumulator, "sound/λ")
    assert array.tolist() == [event.encoded_audio_string]


def test_add_audio_default_sample_rate(tmp_path: Path) -> None:
    write(tmp_path, lambda w: w.add_audio("a", torch.zeros(1, 3)))
    (event,) = legacy(tmp_path).Audio("a")
    assert (event.step, event.sample_rate, event.length_frames) == (0, 44100.0, 3)
    assert decode_wav(event.encoded_audio_string)[2] == 44100


# -- text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["hello", "**bold** ünïcödé 日本\n\n| a | b |\n|---|---|\n| 1 | 2 |", "", "x" * 100_000]
)
def test_add_text(tmp_path: Path, text: str) -> None:
    write(
        tmp_path, lambda w: (w.add_text("notes/λ", text, 3, WALL), w.add_text("notes/λ", "2nd", 4))
    )
    accumulator = plugin(tmp_path)
    name, content, data_class = plugin_of(accumulator, "notes/λ/text_summary")
    assert (name, data_class) == ("text", summary_pb2.DATA_CLASS_TENSOR)
    assert text_metadata.parse_plugin_metadata(content).version == 0
    read = tensors(accumulator, "notes/λ/text_summary")
    assert [(step, array.shape, array.tolist()) for step, _, array in read] == [
        (3, (1,), [text.encode()]),
        (4, (1,), [b"2nd"]),
    ]
    assert read[0][1] == WALL
    assert legacy(tmp_path).Tags()["tensors"] == ["notes/λ/text_summary"]


# -- PR curves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        (
            None,
            [
                [2, 2, 1, 1, 0],
                [2, 1, 1, 0, 0],
                [0, 1, 1, 2, 2],
                [0, 0, 1, 1, 2],
                [0.5, 2 / 3, 0.5, 1, 0],
                [1, 1, 0.5, 0.5, 0],
            ],
        ),
        (
            torch.tensor([1.0, 2.0, 1.0, 0.5]),
            [
                [2.5, 2.5, 0.5, 0.5, 0],
                [2, 1, 1, 0, 0],
                [0, 1, 1, 2, 2],
                [0, 0, 2, 2, 2.5],
                [2.5 / 4.5, 2.5 / 3.5, 0.5 / 1.5, 1, 0],
                [1, 1, 0.2, 0.2, 0],
            ],
        ),
    ],
)
def test_add_pr_curve(tmp_path: Path, weights: Any, expected: list[list[float]]) -> None:
    labels = torch.tensor([0, 1, 0, 1])
    predictions = torch.tensor([0.1, 0.4, 0.6, 0.9])
    write(
        tmp_path,
        lambda w: w.add_pr_curve("pr/c", labels, predictions, 2, 5, weights=weights, walltime=WALL),
    )
    accumulator = plugin(tmp_path)
    name, content, data_class = plugin_of(accumulator, "pr/c")
    assert (name, data_class) == ("pr_curves", summary_pb2.DATA_CLASS_TENSOR)
    parsed = pr_curve_metadata.parse_plugin_metadata(content)
    assert (parsed.version, parsed.num_thresholds) == (0, 5)
    ((step, wall, array),) = tensors(accumulator, "pr/c")
    assert (step, wall) == (2, WALL)
    assert array.dtype == np.float32
    np.testing.assert_array_equal(array, np.array(expected, dtype=np.float32))


def test_add_pr_curve_thresholds_are_capped_at_127(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (50,), generator=g)
    write(tmp_path, lambda w: w.add_pr_curve("pr", labels, torch.rand(50, generator=g), 0, 500))
    accumulator = plugin(tmp_path)
    assert (
        pr_curve_metadata.parse_plugin_metadata(plugin_of(accumulator, "pr")[1]).num_thresholds
        == 127
    )
    ((_, _, array),) = tensors(accumulator, "pr")
    assert array.shape == (6, 127)
    positives = float(labels.sum())
    assert array[0, 0] == positives
    assert array[1, 0] == 50 - positives


def test_add_pr_curve_raw(tmp_path: Path) -> None:
    rows = [
        torch.tensor([3, 2, 0]),
        torch.tensor([2, 1, 0]),
        torch.tensor([0, 1, 2]),
        torch.tensor([0, 1, 3]),
        torch.tensor([0.6, 2 / 3, 0.0]),
        torch.tensor([1.0, 2 / 3, 0.0]),
    ]
    write(tmp_path, lambda w: w.add_pr_curve_raw("raw", *rows, 8, 3, walltime=WALL))
    accumulator = plugin(tmp_path)
    parsed = pr_curve_metadata.parse_plugin_metadata(plugin_of(accumulator, "raw")[1])
    assert (parsed.version, parsed.num_thresholds) == (0, 3)
    ((step, wall, array),) = tensors(accumulator, "raw")
    assert (step, wall) == (8, WALL)
    np.testing.assert_array_equal(array, np.stack([r.numpy() for r in rows]).astype(np.float32))


# -- custom scalars -----------------------------------------------------------


def read_layout(directory: Path) -> list[layout_pb2.Layout]:
    accumulator = plugin(directory)
    tag = custom_scalar_metadata.CONFIG_SUMMARY_TAG
    assert plugin_of(accumulator, tag)[:2] == (custom_scalar_metadata.PLUGIN_NAME, b"")
    layouts = []
    for step, _, array in tensors(accumulator, tag):
        assert step == 0
        assert array.shape == ()
        layouts.append(layout_pb2.Layout.FromString(array.item()))
    return layouts


def multiline(title: str, tags: list[str]) -> layout_pb2.Chart:
    return layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(tag=tags))


def margin(title: str, value: str, lower: str, upper: str) -> layout_pb2.Chart:
    series = layout_pb2.MarginChartContent.Series(value=value, lower=lower, upper=upper)
    return layout_pb2.Chart(title=title, margin=layout_pb2.MarginChartContent(series=[series]))


def test_add_custom_scalars(tmp_path: Path) -> None:
    layout = {
        "Losses λ": {
            "train vs val": ["Multiline", ["loss/train", "loss/val"]],
            "band": ["Margin", ["m", "m/lo", "m/hi"]],
        },
        "Other": {"acc": ["Multiline", [r"acc/.*"]]},
    }
    write(tmp_path, lambda w: w.add_custom_scalars(layout))
    assert read_layout(tmp_path) == [
        layout_pb2.Layout(
            category=[
                layout_pb2.Category(
                    title="Losses λ",
                    chart=[
                        multiline("train vs val", ["loss/train", "loss/val"]),
                        margin("band", "m", "m/lo", "m/hi"),
                    ],
                ),
                layout_pb2.Category(title="Other", chart=[multiline("acc", [r"acc/.*"])]),
            ]
        )
    ]


def test_add_custom_scalars_multiline_and_margin_charts(tmp_path: Path) -> None:
    def calls(w: SummaryWriter) -> None:
        w.add_custom_scalars_multilinechart(["a", "b/.*"])
        w.add_custom_scalars_multilinechart(["c"], category="Cat", title="T")
        w.add_custom_scalars_marginchart(["v", "lo", "hi"])
        w.add_custom_scalars_marginchart(["v2", "lo2", "hi2"], category="M", title="band")

    write(tmp_path, calls)

    def one(title: str, chart: layout_pb2.Chart) -> layout_pb2.Layout:
        return layout_pb2.Layout(category=[layout_pb2.Category(title=title, chart=[chart])])

    assert read_layout(tmp_path) == [
        one("default", multiline("untitled", ["a", "b/.*"])),
        one("Cat", multiline("T", ["c"])),
        one("default", margin("untitled", "v", "lo", "hi")),
        one("M", margin("band", "v2", "lo2", "hi2")),
    ]


# -- meshes -------------------------------------------------------------------

VERTICES = torch.tensor([[[1.0, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1.5]]])
COLORS = torch.tensor([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]], dtype=torch.uint8)
FACES = torch.tensor([[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]], dtype=torch.int32)


@pytest.mark.parametrize(
    ("parts", "config"),
    [
        ({"colors": COLORS, "faces": FACES}, {"camera": {"cls": "PerspectiveCamera", "fov": 75}}),
        ({}, None),
        ({"colors": COLORS.int()}, {"b": 1, "a": [1, 2]}),
    ],
)
def test_add_mesh(tmp_path: Path, parts: dict[str, torch.Tensor], config: Any) -> None:
    write(
        tmp_path,
        lambda w: w.add_mesh(
            "my mesh", VERTICES, config_dict=config, global_step=7, walltime=WALL, **parts
        ),
    )
    arrays = {"VERTEX": VERTICES, "FACE": parts.get("faces"), "COLOR": parts.get("colors")}
    present = {k: v for k, v in arrays.items() if v is not None}
    kind = mesh_pb2.MeshPluginData.ContentType
    components = sum(1 << kind.Value(k) for k in present)
    accumulator = plugin(tmp_path)
    assert sorted(accumulator.Tags()["tensors"]) == sorted(f"my mesh_{k}" for k in present)
    for key, value in present.items():
        tag = f"my mesh_{key}"
        name, content, data_class = plugin_of(accumulator, tag)
        assert (name, data_class) == ("mesh", summary_pb2.DATA_CLASS_TENSOR)
        parsed = mesh_metadata.parse_plugin_metadata(content)
        assert parsed.version == 0
        assert parsed.name == "my mesh"
        assert parsed.content_type == kind.Value(key)
        assert parsed.components == components
        assert list(parsed.shape) == list(value.shape)
        assert parsed.json_config == (
            "{}" if config is None else json.dumps(config, sort_keys=True)
        )
        ((step, wall, array),) = tensors(accumulator, tag)
        assert (step, wall) == (7, WALL)
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, value.numpy().astype(np.float32))


# -- hparams ------------------------------------------------------------------


def session(directory: Path) -> tuple[Any, Any, Any, pea.EventAccumulator]:
    accumulator = plugin(directory)
    content = accumulator.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    assert sorted(content) == sorted(
        [
            hparams_metadata.EXPERIMENT_TAG,
            hparams_metadata.SESSION_START_INFO_TAG,
            hparams_metadata.SESSION_END_INFO_TAG,
        ]
    )
    return (
        hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG]),
        hparams_metadata.parse_session_start_info_plugin_data(
            content[hparams_metadata.SESSION_START_INFO_TAG]
        ),
        hparams_metadata.parse_session_end_info_plugin_data(
            content[hparams_metadata.SESSION_END_INFO_TAG]
        ),
        accumulator,
    )


def test_add_hparams(tmp_path: Path) -> None:
    hparams = {
        "lr": 0.01,
        "layers": 3,
        "optimizer": "adam",
        "use bn": True,
        "dropout": torch.tensor([0.5]),
        "skipped": None,
    }
    metrics = {"hparam/accuracy": 0.9, "hparam/loss": torch.tensor(0.25)}
    domains = {"optimizer": ["adam", "sgd"], "layers": [2, 3, 4], "use bn": [True, False]}
    before = time.time()
    write(
        tmp_path,
        lambda w: (
            w.add_scalar("main", 1.0, 1),
            w.add_hparams(hparams, metrics, domains, run_name="trial λ/1", global_step=7),
        ),
    )
    after = time.time()

    assert set(legacy_runs(tmp_path).Runs()) == {".", "trial λ/1"}
    assert legacy(tmp_path).Tags()["tensors"] == []
    experiment, start, end, accumulator = session(tmp_path / "trial λ" / "1")

    types = hparams_api_pb2.DataType
    assert [(i.name, i.type) for i in experiment.hparam_infos] == [
        ("lr", types.DATA_TYPE_FLOAT64),
        ("layers", types.DATA_TYPE_FLOAT64),
        ("optimizer", types.DATA_TYPE_STRING),
        ("use bn", types.DATA_TYPE_BOOL),  # torch writes FLOAT64 here: a documented difference
        ("dropout", types.DATA_TYPE_FLOAT64),
    ]
    discrete = {
        i.name: [getattr(v, v.WhichOneof("kind")) for v in i.domain_discrete.values]
        for i in experiment.hparam_infos
        if i.HasField("domain_discrete")
    }
    assert discrete == {
        "layers": [2.0, 3.0, 4.0],
        "optimizer": ["adam", "sgd"],
        "use bn": [True, False],
    }
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy", "hparam/loss"]
    assert [m.name.group for m in experiment.metric_infos] == ["", ""]

    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    assert values == {
        "lr": 0.01,
        "layers": 3.0,
        "optimizer": "adam",
        "use bn": True,
        "dropout": 0.5,
    }
    assert start.hparams["use bn"].WhichOneof("kind") == "bool_value"
    assert before <= start.start_time_secs <= after
    assert end.status == hparams_api_pb2.Status.STATUS_SUCCESS
    assert before <= end.end_time_secs <= after

    for tag in (
        hparams_metadata.EXPERIMENT_TAG,
        hparams_metadata.SESSION_START_INFO_TAG,
        hparams_metadata.SESSION_END_INFO_TAG,
    ):
        assert [step for step, _, _ in tensors(accumulator, tag)] == [7]
    scalars = legacy(tmp_path / "trial λ" / "1")
    assert [(e.step, e.value) for e in scalars.Scalars("hparam/accuracy")] == [(7, f32(0.9))]
    assert [(e.step, e.value) for e in scalars.Scalars("hparam/loss")] == [(7, 0.25)]


def test_add_hparams_default_run_name_is_the_time(tmp_path: Path) -> None:
    before = time.time()
    write(tmp_path, lambda w: w.add_hparams({"lr": 0.1}, {"m": 1}))
    after = time.time()
    (run,) = [d for d in tmp_path.iterdir() if d.is_dir()]
    assert before <= float(run.name) <= after
    experiment, start, _, _ = session(run)
    assert [i.name for i in experiment.hparam_infos] == ["lr"]
    assert start.hparams["lr"].number_value == 0.1
    assert [(e.step, e.value) for e in legacy(run).Scalars("m")] == [(0, 1.0)]


def test_add_hparams_rejects_domains_of_the_wrong_type(tmp_path: Path) -> None:
    with (
        SummaryWriter(str(tmp_path)) as writer,
        pytest.raises(TypeError, match="hparam_domain_discrete"),
    ):
        writer.add_hparams({"opt": "adam"}, {"m": 1.0}, {"opt": [1, 2]}, run_name="x")
    assert not (tmp_path / "x").exists()
