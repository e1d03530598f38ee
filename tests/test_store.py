"""The DuckDB index of a logdir, against TensorBoard's own reading of the same files.

Logdirs are written by torch's SummaryWriter, tensorboardX, stepscope's
writer and TensorBoard's own event-file writer (TF2-style tensor
summaries), loaded into an :class:`~stepscope.store.index.Index`, and read
back through the :class:`~stepscope.store.provider.DataProvider` and the
SQL views. TensorBoard's plugin event accumulator (no sampling) is the
reference. The rest covers what the index adds: incremental updates, warm
restarts, purges, Lightning's ``hparams.yaml``, parallel loading, schema
rebuilds, the lock of a second process and vanished runs.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import wave
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import platformdirs
import pytest
import torch
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.compat.proto.event_pb2 import Event as TBEvent
from tensorboard.plugins.audio import metadata as audio_metadata
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter as TBEventFileWriter
from tensorboard.util import tensor_util
from tensorboardX import SummaryWriter as XSummaryWriter
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

import stepscope
import stepscope.store.index as index_module
from stepscope import SummaryWriter
from stepscope.api import Logdir
from stepscope.errors import NotFoundError, UsageError
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

NAN, INF = float("nan"), float("inf")
LONG_TAG = "edge/" + "x" * 150 + "/ünïcode"  # a two-byte tag length, and UTF-8
VIEW_NAMES = ["runs", "tags", "scalars", "tensors", "blobs", "checkpoints", "problems"]


# -- helpers ------------------------------------------------------------------


def open_index(logdir: Path, path: Path | str) -> Index:
    return Index.open(parse_logdir_spec(str(logdir)), str(path))


def png(color: tuple[int, int, int], size: tuple[int, int] = (3, 2)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def wav(frames: int, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.arange(frames, dtype=np.int16).tobytes())
    return out.getvalue()


def tensorboard(logdir: Path) -> dict[tuple[str, str], tuple[str, list[tuple[int, float, Any]]]]:
    """``(run, tag) -> (plugin, [(step, wall_time, array)])`` as TensorBoard reads it, unsampled."""
    mux = pem.EventMultiplexer(size_guidance={pea.TENSORS: 0})
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    found = {}
    for run in mux.Runs():
        accumulator = mux.GetAccumulator(run)
        for tag in accumulator.Tags()[pea.TENSORS]:
            plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
            events = [
                (e.step, e.wall_time, tensor_util.make_ndarray(e.tensor_proto))
                for e in accumulator.Tensors(tag)
            ]
            found[(run, tag)] = (plugin, events)
    return found


def raw_histograms(run_dir: Path, tag: str) -> list[np.ndarray]:
    """A legacy histogram's buckets in float64, straight from the files (data_compat's layout)."""
    found = []
    for path in sorted(p for p in run_dir.iterdir() if "tfevents" in p.name):
        for event in LegacyEventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == tag and value.WhichOneof("value") == "histo":
                    histo = value.histo
                    counts = list(histo.bucket)
                    nonzero = [i for i, c in enumerate(counts) if c > 0]
                    first, last = nonzero[0], nonzero[-1]
                    inner = list(histo.bucket_limit[first:last])
                    rows = [[histo.min, *inner], [*inner, histo.max], counts[first : last + 1]]
                    found.append(np.array(rows, dtype=np.float64).T)
    return found


def snapshot(index: Index) -> dict[str, list[tuple[Any, ...]]]:
    """Every documented view, fully sorted (the whole visible content of the index)."""
    cursor = index.cursor()
    return {
        name: cursor.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in VIEW_NAMES
    }


def scalar_points(index: Index, run: str, tag: str) -> list[tuple[int, float]]:
    series = DataProvider(index).scalars(run, tag)
    return list(zip(series.steps.tolist(), series.values.tolist(), strict=True))


def age_event_files(run_dir: Path) -> None:
    """Date the event files in ``run_dir`` one second back, so later files sort after them.

    Writers name files ``...tfevents.<second>.<host>.<pid>.<counter>``; two
    files made in the same second by one process sort by a counter compared
    as text (``.10`` before ``.9``). An earlier second keeps the tests
    independent of that counter (as if the first attempt ran a while ago).
    """
    for path in [p for p in run_dir.iterdir() if "tfevents" in p.name]:
        parts = path.name.split(".")
        parts[3] = f"{int(parts[3]) - 1:010d}"
        path.rename(path.with_name(".".join(parts)))


# -- the logdir every writer wrote ------------------------------------------


def write_torch_style(writer: Any, generator: torch.Generator) -> None:
    """Everything torch's API can log; stepscope's writer takes the same calls."""
    for step in range(12):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("lr", 0.1 * step, step, new_style=True)
        writer.add_scalar(
            "precise", 0.1 * step + 1e-10, step, new_style=True, double_precision=True
        )
        if step % 3 == 0:
            writer.add_histogram(
                "weights", torch.randn(500, generator=generator) * (step + 1), step
            )
            writer.add_image("image", torch.rand(3, 4, 5, generator=generator), step)
    for step, value in [(2**31, 0.25), (2**40, INF), (-1, -INF), (5, -0.0), (6, 1e-45), (7, 3e38)]:
        writer.add_scalar(LONG_TAG, value, step)
    writer.add_audio("tone", torch.sin(torch.linspace(0, 100, 800)), 1, sample_rate=8000)
    writer.add_text("notes", "**hello** ünïcode", 2)
    labels = torch.randint(0, 2, (50,), generator=generator)
    writer.add_pr_curve("pr", labels, torch.rand(50, generator=generator), 3)
    writer.add_scalars("group", {"a": 1.0, "b": 2.0}, 7)


def write_tf2_style(run_dir: Path) -> None:
    """TF2-style tensor summaries (and one legacy two-value event) with TensorBoard's writer."""
    writer = TBEventFileWriter(str(run_dir))

    def event(step: int, *values: tb_summary_pb2.Summary.Value) -> None:
        summary = tb_summary_pb2.Summary(value=list(values))
        writer.add_event(TBEvent(step=step, wall_time=1.7e9 + step / 7, summary=summary))

    def tensor(tag: str, metadata: Any, data: Any) -> tb_summary_pb2.Summary.Value:
        proto = tensor_util.make_tensor_proto(data)
        return tb_summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=proto)

    scalar_meta = scalar_metadata.create_summary_metadata("", "")
    for step in range(6):
        event(step, tensor("s32", scalar_meta, np.float32(step / 3)))
        event(step, tensor("s64", scalar_meta, np.float64(step / 3 + 1e-12)))
        edges = np.linspace(-1.0, 1.0, 5) * (step + 1) / 3
        buckets = np.stack([edges[:-1], edges[1:], np.arange(4.0) + step], axis=1)
        event(step, tensor("hist", histogram_metadata.create_summary_metadata("", ""), buckets))
    images = [png((255, 0, 0)), png((0, 0, 255))]
    event(
        4, tensor("sample", image_metadata.create_summary_metadata("", ""), [b"3", b"2", *images])
    )
    clips = np.array([[wav(100), b"first"], [wav(50), b""]], dtype=object)
    audio_meta = audio_metadata.create_summary_metadata(
        "", "", audio_metadata.Encoding.Value("WAV")
    )
    event(5, tensor("clip", audio_meta, clips))
    text_meta = text_metadata.create_summary_metadata("", "")
    event(2, tensor("txt", text_meta, np.array("plain ünïcode".encode(), dtype=object)))
    table = np.array([[b"a", b"b"], [b"c", b"d"]], dtype=object)
    event(3, tensor("table", text_meta, table))
    event(
        9,
        tb_summary_pb2.Summary.Value(tag="multi/a", simple_value=1.5),
        tb_summary_pb2.Summary.Value(tag="multi/b", simple_value=-2.25),
    )
    writer.close()


@pytest.fixture(scope="module")
def mixed_logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logdir = tmp_path_factory.mktemp("mixed") / "logs"
    generator = torch.Generator().manual_seed(0)
    with TorchSummaryWriter(str(logdir / "torch")) as writer:
        write_torch_style(writer, generator)
    with SummaryWriter(str(logdir / "ours")) as ours:
        write_torch_style(ours, generator)
    rng = np.random.default_rng(1)
    with XSummaryWriter(str(logdir / "tbx")) as x:
        for step in range(10):
            x.add_scalar("acc", step / 10, step)
            if step % 4 == 0:
                x.add_histogram("h", rng.normal(size=300) * (step + 1), step)
                x.add_image("img", rng.random((3, 6, 7)), step)
        x.add_text("t", "tbx text", 3)
    write_tf2_style(logdir / "tf2")
    return logdir


@pytest.fixture(scope="module")
def mixed_index(mixed_logdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    index = open_index(mixed_logdir, tmp_path_factory.mktemp("index") / "mixed.duckdb")
    report = index.update()
    assert report.problems == []
    yield index
    index.close()


@pytest.fixture(scope="module")
def reference(mixed_logdir: Path) -> dict[tuple[str, str], tuple[str, list[Any]]]:
    return tensorboard(mixed_logdir)


WRITERS = ["torch", "ours", "tbx", "tf2"]


def of_writer(reference: dict[tuple[str, str], Any], writer: str, plugin: str) -> list[Any]:
    found = [
        (run, tag, events)
        for (run, tag), (tag_plugin, events) in sorted(reference.items())
        if (run == writer or run.startswith(writer + "/")) and tag_plugin == plugin
    ]
    return found


# -- the index against TensorBoard ------------------------------------------


def test_every_run_and_tag_is_tensorboards(
    mixed_index: Index, reference: dict[tuple[str, str], Any]
) -> None:
    data = DataProvider(mixed_index)
    ours = {(t.run, t.tag): t.plugin for t in data.tags() if t.points}
    theirs = {key: plugin for key, (plugin, _) in reference.items()}
    assert ours == theirs
    assert {r.name for r in data.runs()} == {run for run, _ in reference}
    assert {"torch/group_a", "torch/group_b", "ours/group_a", "ours/group_b"} <= {
        r.name for r in data.runs()
    }


@pytest.mark.parametrize("writer", WRITERS)
def test_scalars_equal_tensorboards(
    mixed_index: Index, reference: dict[tuple[str, str], Any], writer: str
) -> None:
    data = DataProvider(mixed_index)
    series = of_writer(reference, writer, "scalars")
    assert series
    for run, tag, file_order in series:
        # The index orders a series by step (values at one step in file order).
        events = sorted(file_order, key=lambda event: event[0])
        ours = data.scalars(run, tag)
        assert ours.steps.tolist() == [step for step, _, _ in events], (run, tag)
        assert ours.wall_times.tolist() == [wall for _, wall, _ in events], (run, tag)
        theirs = np.array([value.item() for _, _, value in events])
        file_dtype = events[0][2].dtype
        assert ours.values.dtype == np.float64
        # The file's float32 (or float64) exactly, widened to float64, not rounded again.
        np.testing.assert_array_equal(ours.values.astype(file_dtype), theirs.astype(file_dtype))
        np.testing.assert_array_equal(ours.values, theirs.astype(file_dtype).astype(np.float64))
        assert np.signbit(ours.values).tolist() == np.signbit(theirs).tolist()


def test_the_scalars_view_holds_exactly_tensorboards_scalars(
    mixed_index: Index, reference: dict[tuple[str, str], Any]
) -> None:
    def key(value: float) -> Any:
        return "nan" if math.isnan(value) else value

    rows = mixed_index.cursor().execute("SELECT run, tag, step, wall_time, value FROM scalars")
    ours = Counter(
        (run, tag, step, wall, key(value)) for run, tag, step, wall, value in rows.fetchall()
    )
    theirs = Counter(
        (run, tag, step, wall, key(float(value)))
        for (run, tag), (plugin, events) in reference.items()
        if plugin == "scalars"
        for step, wall, value in events
    )
    assert ours == theirs
    # A few values as written, to be sure the comparison is not vacuous.
    long_tag = dict(scalar_points(mixed_index, "torch", LONG_TAG))
    assert long_tag[2**31] == 0.25
    assert (long_tag[2**40], long_tag[-1], long_tag[7]) == (INF, -INF, float(np.float32(3e38)))
    assert dict(scalar_points(mixed_index, "torch", "precise"))[3] == 0.1 * 3 + 1e-10
    assert dict(scalar_points(mixed_index, "tf2", "s64"))[2] == 2 / 3 + 1e-12
    assert scalar_points(mixed_index, "tf2", "multi/b") == [(9, -2.25)]


@pytest.mark.parametrize("writer", WRITERS)
def test_histograms_equal_tensorboards_bucket_for_bucket(
    mixed_index: Index,
    reference: dict[tuple[str, str], Any],
    mixed_logdir: Path,
    writer: str,
) -> None:
    data = DataProvider(mixed_index)
    series = of_writer(reference, writer, "histograms")
    assert series
    for run, tag, events in series:
        ours = data.tensors(run, tag)
        assert [(p.step, p.wall_time) for p in ours] == [(s, w) for s, w, _ in events]
        for point, (_, _, theirs) in zip(ours, events, strict=True):
            assert point.value.dtype == np.float64
            assert point.value.shape == theirs.shape
            assert point.value.shape[1] == 3
            # TensorBoard narrows converted legacy histograms to float32.
            np.testing.assert_array_equal(point.value.astype(theirs.dtype), theirs)
        if writer != "tf2":
            # ... while the index keeps the file's float64 edges.
            raw = raw_histograms(mixed_logdir / run, tag)
            assert len(raw) == len(ours)
            for point, expected in zip(ours, raw, strict=True):
                np.testing.assert_array_equal(point.value, expected)


@pytest.mark.parametrize("writer", WRITERS)
def test_images_and_audio_bytes_equal_tensorboards(
    mixed_index: Index, reference: dict[tuple[str, str], Any], writer: str
) -> None:
    data = DataProvider(mixed_index)
    frame = Logdir(mixed_index).images()
    api_images = {(row.run, row.tag, row.step, row.index): row.image for row in frame.itertuples()}
    images = of_writer(reference, writer, "images")
    assert images
    checked = 0
    for run, tag, events in images:
        points = data.blobs(run, tag)
        assert sorted({p.step for p in points}) == [step for step, _, _ in events]
        for step, wall, array in events:
            width, height, *encoded = array.reshape(-1).tolist()
            at_step = [p for p in points if p.step == step]
            assert [p.index for p in at_step] == list(range(len(encoded)))
            for point, expected in zip(at_step, encoded, strict=True):
                assert point.wall_time == wall
                assert (point.ref.width, point.ref.height) == (int(width), int(height))
                assert data.blob(run, tag, step, point.index) == expected
                assert api_images[(run, tag, step, point.index)] == expected
                checked += 1
    assert checked == sum(1 for key in api_images if key[0].split("/")[0] == writer)
    for run, tag, events in of_writer(reference, writer, "audio"):
        for step, _, array in events:
            clips = (array[:, 0] if array.ndim == 2 else array.reshape(-1)).tolist()
            for index, expected in enumerate(clips):
                assert data.blob(run, tag, step, index) == expected


@pytest.mark.parametrize("writer", WRITERS)
def test_text_and_other_tensors_equal_tensorboards(
    mixed_index: Index, reference: dict[tuple[str, str], Any], writer: str
) -> None:
    data = DataProvider(mixed_index)
    texts = Logdir(mixed_index).text()
    seen = 0
    for (run, tag), (plugin, events) in sorted(reference.items()):
        if not (run == writer or run.startswith(writer + "/")):
            continue
        if plugin in ("scalars", "histograms", "images", "audio"):
            continue
        ours = data.tensors(run, tag)
        assert [(p.step, p.wall_time) for p in ours] == [(s, w) for s, w, _ in events]
        for point, (_, _, theirs) in zip(ours, events, strict=True):
            assert point.value.shape == theirs.shape
            if theirs.dtype == object:
                assert point.value.tolist() == theirs.tolist()
            else:
                assert point.value.dtype == theirs.dtype
                np.testing.assert_array_equal(point.value, theirs)
            if plugin == "text" and theirs.size == 1:
                [text] = texts[(texts["run"] == run) & (texts["tag"] == tag)]["text"]
                assert text == theirs.reshape(-1)[0].decode()
            seen += 1
    assert seen
    if writer == "tf2":
        [table] = texts[texts["tag"] == "table"]["text"]
        assert table == "a\tb\nc\td"


# -- restarts and following writers -------------------------------------------


def test_a_warm_restart_reads_nothing_and_keeps_everything(
    mixed_logdir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "index.duckdb"
    first = open_index(mixed_logdir, path)
    report = first.update()
    assert report.events > 0
    assert report.bytes_read == sum(
        p.stat().st_size for p in mixed_logdir.rglob("*") if "tfevents" in p.name
    )
    before = snapshot(first)
    first.close()

    again = open_index(mixed_logdir, path)
    report = again.update()
    assert (report.events, report.bytes_read) == (0, 0)
    assert (report.new_runs, report.removed_runs, report.problems) == ([], [], [])
    assert snapshot(again) == before
    assert len(before["scalars"]) > 100
    again.close()


@pytest.mark.parametrize("kind", ["stepscope", "torch"])
def test_following_a_writer_adds_only_what_is_new(tmp_path: Path, kind: str) -> None:
    logdir = tmp_path / "logs"
    make = SummaryWriter if kind == "stepscope" else TorchSummaryWriter
    writer = make(str(logdir / "a"))
    index = open_index(logdir, tmp_path / "index.duckdb")
    for step in range(10):
        writer.add_scalar("loss", float(step), step)
    writer.flush()
    report = index.update()
    assert report.new_runs == ["a"]
    assert [s for s, _ in scalar_points(index, "a", "loss")] == list(range(10))

    for step in range(10, 25):
        writer.add_scalar("loss", float(step), step)
    writer.add_histogram("h", np.arange(10.0), 24)
    writer.flush()
    report = index.update()
    assert report.events == 16
    assert report.new_runs == []
    assert scalar_points(index, "a", "loss") == [(s, float(s)) for s in range(25)]
    assert [p.step for p in DataProvider(index).tensors("a", "h")] == [24]

    # A new run, and a new event file in an existing run.
    with make(str(logdir / "b")) as other:
        other.add_scalar("loss", 7.0, 3)
    writer.close()
    with make(str(logdir / "a")) as second:
        for step in range(25, 30):
            second.add_scalar("loss", float(step), step)
    assert len(list((logdir / "a").glob("*tfevents*"))) == 2
    report = index.update()
    assert report.new_runs == ["b"]
    assert scalar_points(index, "a", "loss") == [(s, float(s)) for s in range(30)]
    assert scalar_points(index, "b", "loss") == [(3, 7.0)]
    count = index.cursor().execute("SELECT count(*) FROM scalars WHERE run = 'a'").fetchone()
    assert count == (30,)
    assert index.update().events == 0
    index.close()


def test_records_written_in_pieces_are_read_once_whole(tmp_path: Path) -> None:
    # A reader may look while a writer is halfway through a record.
    with SummaryWriter(str(tmp_path / "source")) as writer:
        for step in range(50):
            writer.add_scalar("loss", step / 3, step)
            if step % 10 == 0:
                writer.add_histogram("h", np.arange(10.0) + step, step)
                writer.add_image("img", np.full((3, 4, 4), step / 50), step)
    [source] = (tmp_path / "source").iterdir()
    data = source.read_bytes()
    (tmp_path / "logs").mkdir()
    target = tmp_path / "logs" / source.name
    index = open_index(tmp_path / "logs", tmp_path / "index.duckdb")
    cuts = [0, 5, 37, 38, 500, 1001, 1500, len(data) // 2, len(data) - 5, len(data)]
    events = 0
    for start, end in itertools.pairwise(cuts):
        with open(target, "ab") as f:
            f.write(data[start:end])
        report = index.update()
        assert report.problems == []
        events += report.events
    assert events == 1 + 50 + 5 + 5  # the file-version event, scalars, histograms, images
    data_provider = DataProvider(index)
    assert scalar_points(index, ".", "loss") == [(s, float(np.float32(s / 3))) for s in range(50)]
    assert [p.step for p in data_provider.tensors(".", "h")] == list(range(0, 50, 10))
    blobs = data_provider.blobs(".", "img")
    assert [p.step for p in blobs] == list(range(0, 50, 10))
    whole = open_index(tmp_path / "source", tmp_path / "whole.duckdb")
    whole.update()
    for point in blobs:
        assert data_provider.blob(".", "img", point.step) == DataProvider(whole).blob(
            ".", "img", point.step
        )
    assert [r.corrupt_records for r in data_provider.runs()] == [0]
    whole.close()
    index.close()


# -- purges, duplicates, precision ---------------------------------------------


def write_first_attempt(run_dir: Path) -> None:
    with TorchSummaryWriter(str(run_dir)) as first:
        for step in range(10):
            first.add_scalar("loss", 1.0, step)
            first.add_histogram("h", np.full(4, float(step)), step)
            first.add_image("img", np.zeros((3, 2, 2)), step)
    age_event_files(run_dir)


def write_resumed_attempt(run_dir: Path) -> None:
    with TorchSummaryWriter(str(run_dir), purge_step=6) as resumed:
        for step in range(6, 12):
            resumed.add_scalar("loss", 2.0, step)
            resumed.add_histogram("h", np.full(4, -float(step)), step)


def assert_resumed(index: Index) -> None:
    data = DataProvider(index)
    expected = [(step, 1.0) for step in range(6)] + [(step, 2.0) for step in range(6, 12)]
    assert scalar_points(index, ".", "loss") == expected
    histograms = [(p.step, p.value[0, 0]) for p in data.tensors(".", "h")]
    assert histograms == [(s, float(s)) for s in range(6)] + [(s, -float(s)) for s in range(6, 12)]
    assert [p.step for p in data.blobs(".", "img")] == list(range(6))


def test_purge_step_shows_only_the_resumed_values(tmp_path: Path) -> None:
    run_dir = tmp_path / "logs"
    write_first_attempt(run_dir)
    write_resumed_attempt(run_dir)
    index = open_index(run_dir, tmp_path / "index.duckdb")
    index.update()
    assert_resumed(index)
    index.close()


def test_purge_step_applies_to_what_an_earlier_update_indexed(tmp_path: Path) -> None:
    run_dir = tmp_path / "logs"
    write_first_attempt(run_dir)
    index = open_index(run_dir, tmp_path / "index.duckdb")
    index.update()
    assert [s for s, _ in scalar_points(index, ".", "loss")] == list(range(10))
    write_resumed_attempt(run_dir)
    index.update()
    assert_resumed(index)
    index.close()


def test_values_logged_twice_at_one_step_are_all_kept(tmp_path: Path) -> None:
    with TorchSummaryWriter(str(tmp_path / "logs")) as writer:
        for step, value in [(0, 1.0), (1, 2.0), (1, 3.0), (2, 4.0), (1, 5.0)]:
            writer.add_scalar("loss", value, step)
    index = open_index(tmp_path / "logs", tmp_path / "index.duckdb")
    index.update()
    ours = scalar_points(index, ".", "loss")
    # Ordered by step; at one step in the order they were logged.
    assert ours == [(0, 1.0), (1, 2.0), (1, 3.0), (1, 5.0), (2, 4.0)]
    theirs = tensorboard(tmp_path / "logs")[(".", "loss")][1]
    assert sorted(ours) == sorted((step, float(value)) for step, _, value in theirs)
    index.close()


def test_a_double_precision_scalar_keeps_its_float64_value(tmp_path: Path) -> None:
    value = 0.1 + 1e-12
    assert float(np.float32(value)) != value
    with TorchSummaryWriter(str(tmp_path / "logs")) as writer:
        writer.add_scalar("d", value, 1, new_style=True, double_precision=True)
        writer.add_scalar("f", value, 1, new_style=True)
        writer.add_scalar("legacy", value, 1)
    index = open_index(tmp_path / "logs", tmp_path / "index.duckdb")
    index.update()
    assert scalar_points(index, ".", "d") == [(1, value)]
    assert scalar_points(index, ".", "f") == [(1, float(np.float32(value)))]
    assert scalar_points(index, ".", "legacy") == [(1, float(np.float32(value)))]
    index.close()


@pytest.mark.parametrize("new_style", [False, True], ids=["simple_value", "tensor"])
def test_nan_and_infinite_scalars_are_kept(tmp_path: Path, new_style: bool) -> None:
    # A diverging run logs NaN; TensorBoard shows it, and so must the index.
    logged = [1.0, NAN, INF, -INF, 2.0]
    with TorchSummaryWriter(str(tmp_path / "logs")) as writer:
        for step, value in enumerate(logged):
            writer.add_scalar("loss", value, step, new_style=new_style)
        writer.add_scalar("other", 3.0, 0)
    index = open_index(tmp_path / "logs", tmp_path / "index.duckdb")
    try:
        report = index.update()
        assert report.problems == []
        series = DataProvider(index).scalars(".", "loss")
        assert series.steps.tolist() == list(range(5))
        np.testing.assert_array_equal(series.values, logged)  # NaN where NaN was logged
        theirs = [value.item() for _, _, value in tensorboard(tmp_path / "logs")[(".", "loss")][1]]
        np.testing.assert_array_equal(series.values, theirs)
        assert scalar_points(index, ".", "other") == [(0, 3.0)]
    finally:
        index.close()


# -- Lightning's hparams.yaml ---------------------------------------------------

HPARAMS_YAML = """\
lr: 0.001
batch_size: 32
use_amp: true
optimizer: adamw
scheduler: null
model:
  hidden: 128
  activation: relu
  dropout:
    p: 0.1
betas: !!python/tuple
- 0.9
- 0.999
args: !!python/object:argparse.Namespace
  seed: 7
danger: !!python/object/apply:os.system
- touch {marker}
"""


def test_lightning_hparams_yaml_is_read_without_executing_anything(tmp_path: Path) -> None:
    run_dir = tmp_path / "logs" / "lightning_logs" / "version_0"
    marker = tmp_path / "executed"
    with SummaryWriter(str(run_dir)) as writer:
        for step in range(3):
            writer.add_scalar("val_loss", 1.0 / (step + 1), step)
    (run_dir / "hparams.yaml").write_text(HPARAMS_YAML.format(marker=marker))
    (tmp_path / "logs" / "plain").mkdir()
    with SummaryWriter(str(tmp_path / "logs" / "plain")) as writer:
        writer.add_scalar("val_loss", 5.0, 0)

    with stepscope.open(str(tmp_path / "logs"), index=str(tmp_path / "index.duckdb")) as logdir:
        frame = logdir.hparams()
    assert not marker.exists()
    assert frame["run"].tolist() == ["lightning_logs/version_0"]
    [row] = frame.to_dict("records")
    assert row["lr"] == 0.001
    assert row["batch_size"] == 32
    assert row["use_amp"] is True or row["use_amp"] == 1
    assert row["optimizer"] == "adamw"
    assert row["model/hidden"] == 128
    assert row["model/activation"] == "relu"
    assert row["model/dropout/p"] == 0.1
    assert row["args/seed"] == 7
    assert isinstance(row["betas"], str)
    assert "0.9" in row["betas"]
    assert "0.999" in row["betas"]
    assert isinstance(row["danger"], str)
    assert "touch" in row["danger"]
    assert row["val_loss"] == float(np.float32(1 / 3))  # the metric's final value


def test_an_edited_hparams_yaml_is_picked_up(tmp_path: Path) -> None:
    run_dir = tmp_path / "logs"
    with SummaryWriter(str(run_dir)) as writer:
        writer.add_scalar("loss", 1.0, 0)
    (run_dir / "hparams.yaml").write_text("lr: 0.1\n")
    index = open_index(run_dir, tmp_path / "index.duckdb")
    index.update()
    assert DataProvider(index).hparams() == [(".", {"lr": 0.1})]
    (run_dir / "hparams.yaml").write_text("lr: 0.2\nlayers: 3\n")
    os.utime(run_dir / "hparams.yaml", ns=(1, 10**18))
    index.update()
    assert DataProvider(index).hparams() == [(".", {"lr": 0.2, "layers": 3})]
    index.close()


# -- parallel loading --------------------------------------------------------------


def test_a_parallel_load_equals_a_sequential_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logdir = tmp_path / "logs"
    rng = np.random.default_rng(3)
    for number in range(5):
        with SummaryWriter(str(logdir / f"run{number}")) as writer:
            for step in range(400 * (number + 1)):
                writer.add_scalar("loss", float(rng.normal()), step)
                writer.add_scalar("acc", float(rng.random()), step)
                if step % 100 == 0:
                    writer.add_histogram("w", rng.normal(size=200), step)
                    writer.add_image("img", rng.random((3, 4, 4)), step)
                    writer.add_text("note", f"step {step}", step)

    from stepscope.loader import workers

    calls = []
    real = workers.run_parallel

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(index_module, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(workers, "run_parallel", counting)
    parallel = open_index(logdir, tmp_path / "parallel.duckdb")
    parallel_report = parallel.update(workers=2)
    assert len(calls) == 1  # the worker processes were used
    sequential = open_index(logdir, tmp_path / "sequential.duckdb")
    sequential_report = sequential.update(workers=1)
    assert len(calls) == 1  # ... and here they were not

    assert parallel_report.problems == sequential_report.problems == []
    assert parallel_report.events == sequential_report.events
    assert parallel_report.bytes_read == sequential_report.bytes_read
    assert sorted(parallel_report.new_runs) == sorted(sequential_report.new_runs)
    ours, theirs = snapshot(parallel), snapshot(sequential)
    assert len(ours["scalars"]) == 2 * 400 * (1 + 2 + 3 + 4 + 5)
    assert ours == theirs
    for number in range(5):
        run = f"run{number}"
        assert scalar_points(parallel, run, "loss") == scalar_points(sequential, run, "loss")
    parallel.close()
    sequential.close()


# -- opening: schema versions, bad paths, locks, the default place ------------


def small_logdir(directory: Path) -> Path:
    with SummaryWriter(str(directory)) as writer:
        for step in range(5):
            writer.add_scalar("loss", step / 2, step)
    return directory


def test_an_index_of_another_schema_version_is_rebuilt(tmp_path: Path) -> None:
    logdir = small_logdir(tmp_path / "logs")
    path = tmp_path / "index.duckdb"
    index = open_index(logdir, path)
    index.update()
    before = snapshot(index)
    index.close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE _meta SET value = '0' WHERE key = 'schema_version'")
    con.execute("DELETE FROM _scalars")  # what an old version might hold differently
    con.close()

    index = open_index(logdir, path)
    version = index.cursor().execute("SELECT value FROM _meta WHERE key = 'schema_version'")
    assert version.fetchone() == (str(index_module.SCHEMA_VERSION),)
    report = index.update()
    assert report.new_runs == ["."]
    assert report.events > 0
    assert snapshot(index) == before
    assert scalar_points(index, ".", "loss") == [(s, s / 2) for s in range(5)]
    index.close()


def test_an_explicit_index_path_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    logdir = small_logdir(tmp_path / "logs")
    path = tmp_path / "notes.txt"
    content = b"my precious notes, not a database\n" * 200
    path.write_bytes(content)
    with pytest.raises(UsageError) as raised:
        open_index(logdir, path)
    message = str(raised.value)
    assert "\n" not in message
    assert str(path) in message
    assert path.read_bytes() == content  # never overwritten


def test_an_explicit_index_path_that_is_another_database_is_refused(tmp_path: Path) -> None:
    logdir = small_logdir(tmp_path / "logs")
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE mine AS SELECT 42 AS answer")
    con.close()
    with pytest.raises(UsageError) as raised:
        open_index(logdir, path)
    assert "\n" not in str(raised.value)
    con = duckdb.connect(str(path))
    assert con.execute("SELECT answer FROM mine").fetchall() == [(42,)]
    con.close()


def test_an_index_inside_the_logdir_is_refused(tmp_path: Path) -> None:
    logdir = small_logdir(tmp_path / "logs")
    for inside in (logdir / "index.duckdb", logdir / "sub" / "index.duckdb"):
        with pytest.raises(UsageError) as raised:
            open_index(logdir, inside)
        assert "\n" not in str(raised.value)
        assert not inside.exists()
    assert not (logdir / "sub").exists()


def test_the_default_index_lives_in_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    logdir = small_logdir(tmp_path / "logs")
    cache = platformdirs.user_cache_dir("stepscope")
    assert cache.startswith(str(tmp_path / "cache"))
    index = Index.open(parse_logdir_spec(str(logdir)))
    try:
        assert index.path.startswith(cache + os.sep)
        assert not index.path.startswith(str(logdir))
        index.update()
        assert os.path.exists(index.path)
        assert scalar_points(index, ".", "loss")[-1] == (4, 2.0)
    finally:
        index.close()
    assert not [p for p in logdir.iterdir() if "tfevents" not in p.name]


LOCKED_SCRIPT = """
import json, sys
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

index = Index.open(parse_logdir_spec(sys.argv[1]), sys.argv[2])
index.update()
series = DataProvider(index).scalars(".", "loss")
print(json.dumps({"path": index.path, "steps": series.steps.tolist(), "values": series.values.tolist()}))
index.close()
"""


def test_a_second_process_falls_back_to_a_private_index(tmp_path: Path) -> None:
    logdir = small_logdir(tmp_path / "logs")
    path = tmp_path / "index.duckdb"
    index = open_index(logdir, path)
    index.update()
    try:
        done = subprocess.run(
            [sys.executable, "-c", LOCKED_SCRIPT, str(logdir), str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "in use by another stepscope process" in done.stderr
        assert done.stderr.count("stepscope:") == 1
        result = json.loads(done.stdout)
        assert result["path"] == ":memory:"
        assert result["steps"] == list(range(5))
        assert result["values"] == [s / 2 for s in range(5)]
        # The first process's index is untouched and still works.
        assert scalar_points(index, ".", "loss") == [(s, s / 2) for s in range(5)]
    finally:
        index.close()


# -- runs that vanish ---------------------------------------------------------------


def test_a_run_removed_from_disk_leaves_the_index(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    for name in ("keep", "gone"):
        with SummaryWriter(str(logdir / name)) as writer:
            writer.add_scalar("loss", 1.0, 0)
            writer.add_histogram("h", np.arange(5.0), 0)
            writer.add_image("img", np.zeros((3, 2, 2)), 0)
    index = open_index(logdir, tmp_path / "index.duckdb")
    assert sorted(index.update().new_runs) == ["gone", "keep"]
    shutil.rmtree(logdir / "gone")
    report = index.update()
    assert report.removed_runs == ["gone"]
    data = DataProvider(index)
    assert [r.name for r in data.runs()] == ["keep"]
    for view in ("runs", "tags", "scalars", "tensors", "blobs", "problems"):
        rows = index.cursor().execute(f"SELECT count(*) FROM {view} WHERE run = 'gone'")
        assert rows.fetchone() == (0,), view
    for table in ("_scalars", "_tensors", "_blobs", "_tags", "_files"):
        orphans = index.cursor().execute(
            f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM _runs)"
        )
        assert orphans.fetchone() == (0,), table
    with pytest.raises(NotFoundError):
        data.scalars("gone", "loss")
    assert scalar_points(index, "keep", "loss") == [(0, 1.0)]
    assert index.update().removed_runs == []
    index.close()
