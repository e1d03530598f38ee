"""The run loader, against TensorBoard's own loader on files real writers wrote.

Logdirs are written by torch's SummaryWriter, tensorboardX's and
TensorBoard's own event-file writer (TF2-style tensor summaries), then read
by stepscope's loader and by TensorBoard's plugin event accumulator (which
applies TensorBoard's legacy-to-tensor conversion) with no sampling.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.compat.proto import summary_pb2 as tb_summary_pb2
from tensorboard.compat.proto.event_pb2 import Event as TBEvent
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter as TBEventFileWriter
from tensorboard.util import tensor_util
from tensorboardX import SummaryWriter as XSummaryWriter
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

from stepscope.loader import LogdirSource, MemorySink, RunLoader, discover
from stepscope.records import frame_record


def load(logdir: Path) -> tuple[MemorySink, dict[str, RunLoader]]:
    sink = MemorySink()
    loaders = {}
    for run, files in discover([LogdirSource(str(logdir))]).runs.items():
        loaders[run] = RunLoader(run)
        loaders[run].load(files.files, sink)
    return sink, loaders


def tensorboard(run_dir: Path) -> pea.EventAccumulator:
    accumulator = pea.EventAccumulator(str(run_dir), size_guidance={pea.TENSORS: 0})
    accumulator.Reload()
    return accumulator


def png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def torch_logdir(tmp_path: Path) -> Path:
    generator = torch.Generator().manual_seed(0)
    with TorchSummaryWriter(str(tmp_path / "torch")) as writer:
        for step in range(5):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
            writer.add_scalar(
                "loss/double", 0.1 * step, step, new_style=True, double_precision=True
            )
            writer.add_histogram("weights", torch.randn(1000, generator=generator), step)
            writer.add_image("image", torch.rand(3, 4, 5, generator=generator), step)
        writer.add_audio("tone", torch.sin(torch.linspace(0, 100, 800)), 1, sample_rate=8000)
        writer.add_text("notes", "**hello**", 2)
        labels = torch.randint(0, 2, (50,), generator=generator)
        writer.add_pr_curve("pr", labels, torch.rand(50, generator=generator), 3)
    return tmp_path / "torch"


def test_torch_logdir_matches_tensorboard(torch_logdir: Path) -> None:
    sink, _ = load(torch_logdir)
    accumulator = tensorboard(torch_logdir)
    tags = accumulator.Tags()[pea.TENSORS]
    assert {tag for run, tag in sink.tags} == set(tags)
    for tag in tags:
        theirs = accumulator.Tensors(tag)
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        assert sink.tags[(".", tag)].plugin_name == plugin
        if plugin == "scalars":
            ours = sink.scalars[(".", tag)]
            assert [(s, w) for s, w, _ in ours] == [(e.step, e.wall_time) for e in theirs]
            expected = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in theirs]
            assert [v for _, _, v in ours] == expected
        elif plugin in ("images", "audio"):
            ours_blobs = sink.blobs[(".", tag)]
            assert [s for s, _, _, _ in ours_blobs] == [e.step for e in theirs]
            for (_, _, _, ref), event in zip(ours_blobs, theirs, strict=True):
                array = tensor_util.make_ndarray(event.tensor_proto).reshape(-1)
                encoded = array[2] if plugin == "images" else array[0]
                assert ref.read() == encoded
        else:
            ours_tensors = sink.tensors[(".", tag)]
            assert [s for s, _, _ in ours_tensors] == [e.step for e in theirs]
            for (_, _, value), event in zip(ours_tensors, theirs, strict=True):
                expected_array = tensor_util.make_ndarray(event.tensor_proto)
                if expected_array.dtype.kind == "f":
                    # TensorBoard narrows converted histograms to float32; we keep float64.
                    np.testing.assert_array_equal(
                        value.astype(expected_array.dtype), expected_array
                    )
                else:
                    assert value.tolist() == expected_array.tolist()


def test_image_blobs_know_their_size_and_audio_is_wav(torch_logdir: Path) -> None:
    sink, _ = load(torch_logdir)
    [first, *_] = sink.blobs[(".", "image")]
    assert (first[3].width, first[3].height) == (5, 4)
    [(_, _, _, clip)] = sink.blobs[(".", "tone")]
    assert clip.content_type == "audio/wav"
    with wave.open(io.BytesIO(clip.read())) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 800)


def test_tensorboardx_and_tf2_tensor_summaries(tmp_path: Path) -> None:
    with XSummaryWriter(str(tmp_path / "x")) as writer:
        writer.add_scalar("acc", 0.5, 7)
        writer.add_scalars("group", {"a": 1.0, "b": 2.0}, 7)
    # A TF2-style image summary: a string tensor [width, height, png, png].
    tf2 = TBEventFileWriter(str(tmp_path / "tf2"))
    images = [png((255, 0, 0)), png((0, 0, 255))]
    value = tb_summary_pb2.Summary.Value(
        tag="sample",
        metadata=image_metadata.create_summary_metadata("sample", ""),
        tensor=tensor_util.make_tensor_proto([b"3", b"2", *images]),
    )
    tf2.add_event(TBEvent(step=4, wall_time=1.5, summary=tb_summary_pb2.Summary(value=[value])))
    tf2.close()
    sink, _ = load(tmp_path)
    [(step, wall_time, value)] = sink.scalars[("x", "acc")]
    assert (step, value) == (7, 0.5)
    assert wall_time > 1.6e9
    assert {run for run, tag in sink.scalars} >= {"x/group/a", "x/group/b"}
    blobs = sink.blobs[("tf2", "sample")]
    assert [(step, index) for step, _, index, _ in blobs] == [(4, 0), (4, 1)]
    assert [ref.read() for *_, ref in blobs] == images
    assert all((ref.width, ref.height) == (3, 2) for *_, ref in blobs)


def test_unknown_plugin_is_kept_as_a_tensor(tmp_path: Path) -> None:
    writer = TBEventFileWriter(str(tmp_path))
    value = tb_summary_pb2.Summary.Value(
        tag="custom/thing",
        metadata=tb_summary_pb2.SummaryMetadata(
            plugin_data=tb_summary_pb2.SummaryMetadata.PluginData(
                plugin_name="my_plugin", content=b"v1"
            )
        ),
        tensor=tensor_util.make_tensor_proto(np.arange(6, dtype=np.int32).reshape(2, 3)),
    )
    writer.add_event(TBEvent(step=2, summary=tb_summary_pb2.Summary(value=[value])))
    writer.close()
    sink, _ = load(tmp_path)
    assert sink.tags[(".", "custom/thing")].plugin_name == "my_plugin"
    assert sink.tags[(".", "custom/thing")].content == b"v1"
    [(step, _, array)] = sink.tensors[(".", "custom/thing")]
    assert step == 2
    assert array.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_following_a_growing_file_reads_only_what_is_new(tmp_path: Path) -> None:
    from stepscope import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    loader = RunLoader(".")
    sink = MemorySink()
    files = discover([LogdirSource(str(tmp_path))]).runs["."].files
    for round_ in range(3):
        for step in range(round_ * 100, (round_ + 1) * 100):
            writer.add_scalar("loss", float(step), step)
        writer.flush()
        new_events = loader.load(files, sink)
        assert new_events == 100 + (1 if round_ == 0 else 0)  # the file-version event first
        assert [s for s, _, _ in sink.scalars[(".", "loss")]] == list(range((round_ + 1) * 100))
    writer.close()


def test_purge_step_shows_only_the_resumed_values(tmp_path: Path) -> None:
    with TorchSummaryWriter(str(tmp_path)) as first:
        for step in range(10):
            first.add_scalar("loss", 1.0, step)
    with TorchSummaryWriter(str(tmp_path), purge_step=6) as resumed:
        for step in range(6, 12):
            resumed.add_scalar("loss", 2.0, step)
    sink, _ = load(tmp_path)
    points = [(step, value) for step, _, value in sink.scalars[(".", "loss")]]
    assert points == [(step, 1.0) for step in range(6)] + [(step, 2.0) for step in range(6, 12)]


def damaged_logdir(tmp_path: Path, damage: str) -> tuple[Path, int]:
    from stepscope import SummaryWriter

    with SummaryWriter(str(tmp_path)) as writer:
        for step in range(20):
            writer.add_scalar("loss", float(step), step)
    [path] = tmp_path.glob("*tfevents*")
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[:-7]
    elif damage == "crc":
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path, len(data)


@pytest.mark.parametrize(("damage", "expected_steps"), [("truncated", 19), ("crc", 19)])
def test_damaged_files_lose_only_the_damaged_record(
    tmp_path: Path, damage: str, expected_steps: int
) -> None:
    path, _ = damaged_logdir(tmp_path, damage)
    sink, loaders = load(tmp_path)
    assert len(sink.scalars[(".", "loss")]) == expected_steps
    if damage == "truncated":
        assert sink.problems == []  # a partial tail is waited for, not reported
    else:
        [(run, problem_path, message)] = sink.problems
        assert (run, problem_path) == (".", str(path))
        assert str(path) in message
        assert "\n" not in message
        assert loaders["."].corrupt_records() == 1


def test_garbage_zero_length_and_vanished_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "events.out.tfevents.1.garbage").write_bytes(rng.bytes(100_000))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "events.out.tfevents.1.empty").write_bytes(b"")
    (tmp_path / "not_events").mkdir()
    (tmp_path / "not_events" / "events.out.tfevents.1.x").write_bytes(frame_record(b"\xff\xff\xff"))
    runs = discover([LogdirSource(str(tmp_path))]).runs
    sink = MemorySink()
    for run, files in runs.items():
        RunLoader(run).load(files.files, sink)
    vanished = RunLoader("gone")
    vanished.load([str(tmp_path / "gone" / "events.out.tfevents.2.x")], sink)
    vanished.load([str(tmp_path / "gone" / "events.out.tfevents.2.x")], sink)  # reported once
    problem_runs = sorted(run for run, _, _ in sink.problems)
    assert problem_runs == ["garbage", "gone", "not_events"]
    messages: dict[str, Any] = {run: message for run, _, message in sink.problems}
    assert "disappeared" in messages["gone"]
    assert "not an event" in messages["not_events"]
    assert sink.scalars == {}
