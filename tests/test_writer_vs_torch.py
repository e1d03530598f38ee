"""stepscope's ``SummaryWriter`` against torch's, call for call.

Each test makes the same calls, with the same (seeded) torch tensors, on
``torch.utils.tensorboard.SummaryWriter`` and on ``stepscope.SummaryWriter``
in two logdirs, loads both with TensorBoard's plugin event multiplexer (what
the dashboards read) and with the raw legacy events (full float64 histograms,
image and audio headers), normalizes them, and asserts they are equal.

Normalized form: ``{run: {tag: [(step, metadata, value), ...]}}`` where
``metadata`` is the plugin name, the parsed plugin content, display name,
description and data class, and ``value`` is the tensor as numpy, with images
decoded to pixels, audio decoded to samples and layouts parsed.

Deliberate differences (documented, so normalized away here, and asserted
for stepscope alone in ``test_writer_tensorboard.py``): a bool hparam is a
bool (torch: 1.0/0.0), hparams sessions carry start/end times; PNG bytes
differ (zlib level), so pixels are compared; ``add_tensor`` uses
``tensor_content``, so decoded values are compared; ``add_video`` is not
compared (torch needs moviepy).
"""

from __future__ import annotations

import io
import math
import os
import re
import socket
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
from google.protobuf.message import Message
from PIL import Image
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.audio import plugin_data_pb2 as audio_pb2
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.histogram import plugin_data_pb2 as histogram_pb2
from tensorboard.plugins.hparams import api_pb2 as hparams_api_pb2
from tensorboard.plugins.hparams import plugin_data_pb2 as hparams_pb2
from tensorboard.plugins.image import plugin_data_pb2 as image_pb2
from tensorboard.plugins.mesh import plugin_data_pb2 as mesh_pb2
from tensorboard.plugins.pr_curve import plugin_data_pb2 as pr_curve_pb2
from tensorboard.plugins.scalar import plugin_data_pb2 as scalar_pb2
from tensorboard.plugins.text import plugin_data_pb2 as text_pb2
from tensorboard.util import tensor_util
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from stepscope import SummaryWriter

matplotlib.use("Agg")

WALL = 1_700_000_000.5
NAN, INF = float("nan"), float("inf")

CONTENT_PROTOS: dict[str, type[Message]] = {
    "audio": audio_pb2.AudioPluginData,
    "histograms": histogram_pb2.HistogramPluginData,
    "hparams": hparams_pb2.HParamsPluginData,
    "images": image_pb2.ImagePluginData,
    "mesh": mesh_pb2.MeshPluginData,
    "pr_curves": pr_curve_pb2.PrCurvePluginData,
    "scalars": scalar_pb2.ScalarPluginData,
    "text": text_pb2.TextPluginData,
}


# -- writing ------------------------------------------------------------------


def write_both(tmp_path: Path, calls: Callable[[Any], object], **kwargs: Any) -> tuple[Path, Path]:
    """Run ``calls(writer)`` on torch's writer and on ours; return both logdirs."""
    theirs, ours = tmp_path / "torch", tmp_path / "stepscope"
    for cls, logdir in ((TorchWriter, theirs), (SummaryWriter, ours)):
        with cls(str(logdir), **kwargs) as writer:
            calls(writer)
    return theirs, ours


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- loading and normalizing --------------------------------------------------


def normalized_hparams(data: hparams_pb2.HParamsPluginData) -> hparams_pb2.HParamsPluginData:
    """Drop the documented differences: session times, and bools (torch writes 1.0/0.0)."""
    data = hparams_pb2.HParamsPluginData.FromString(data.SerializeToString())
    data.session_start_info.ClearField("start_time_secs")
    data.session_end_info.ClearField("end_time_secs")
    if not data.HasField("session_start_info"):
        data.ClearField("session_start_info")
    if not data.HasField("session_end_info"):
        data.ClearField("session_end_info")
    values = [*data.session_start_info.hparams.values()]
    for info in data.experiment.hparam_infos:
        if info.type == hparams_api_pb2.DATA_TYPE_BOOL:
            info.type = hparams_api_pb2.DATA_TYPE_FLOAT64
        values.extend(info.domain_discrete.values)
    for value in values:
        if value.WhichOneof("kind") == "bool_value":
            value.number_value = float(value.bool_value)
    return data


def content_of(plugin_name: str, content: bytes) -> Any:
    proto = CONTENT_PROTOS.get(plugin_name)
    if proto is None:
        return content
    parsed = proto.FromString(content)
    if plugin_name == "hparams":
        parsed = normalized_hparams(parsed)
    return parsed


def decode_png(data: bytes) -> dict[str, Any]:
    image = Image.open(io.BytesIO(data))
    return {"format": image.format, "mode": image.mode, "pixels": np.asarray(image)}


def decode_wav(data: bytes) -> dict[str, Any]:
    with wave.open(io.BytesIO(data)) as reader:
        return {
            "channels": reader.getnchannels(),
            "width": reader.getsampwidth(),
            "rate": reader.getframerate(),
            "samples": np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2"),
        }


def value_of(plugin_name: str, tensor: Any) -> Any:
    array = tensor_util.make_ndarray(tensor)
    if plugin_name == "images":
        return [*array[:2].tolist(), *(decode_png(png) for png in array[2:])]
    if plugin_name == "audio":
        return [decode_wav(clip) for clip in array.reshape(-1)]
    if plugin_name == "custom_scalars":
        return layout_pb2.Layout.FromString(array.item())
    return array


def load(logdir: Path, wall_times: bool = False) -> dict[str, dict[str, list[Any]]]:
    """What TensorBoard's dashboards read, normalized: ``{run: {tag: [(step, metadata, value)]}}``."""
    mux = pem.EventMultiplexer(size_guidance={pea.TENSORS: 0})
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    runs: dict[str, dict[str, list[Any]]] = {}
    for run in mux.Runs():
        accumulator = mux.GetAccumulator(run)
        tags: dict[str, list[Any]] = {}
        for tag in accumulator.Tags()[pea.TENSORS]:
            metadata = accumulator.SummaryMetadata(tag)
            name = metadata.plugin_data.plugin_name
            described = {
                "plugin": name,
                "content": content_of(name, metadata.plugin_data.content),
                "display_name": metadata.display_name,
                "description": metadata.summary_description,
                "data_class": metadata.data_class,
            }
            tags[tag] = [
                (
                    (e.step, e.wall_time) if wall_times else e.step,
                    described,
                    value_of(name, e.tensor_proto),
                )
                for e in accumulator.Tensors(tag)
            ]
        runs[run] = tags
    return runs


class Close:
    """A float sum compared to 1e-12 relative: the order of a float64 sum's additions is
    not part of the format (torch sums the whole array at once, stepscope chunk by chunk)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        assert isinstance(other, Close)
        if math.isnan(self.value) or math.isnan(other.value):
            return math.isnan(self.value) and math.isnan(other.value)
        return self.value == other.value or math.isclose(self.value, other.value, rel_tol=1e-12)

    def __repr__(self) -> str:
        return f"Close({self.value!r})"

    __hash__ = None  # type: ignore[assignment]


def legacy(logdir: Path) -> dict[str, dict[str, list[Any]]]:
    """The legacy values as written (no compat layer), without the encoded PNG/WAV bytes."""
    runs: dict[str, dict[str, list[Any]]] = {}
    for directory, _, files in os.walk(logdir):
        tags: dict[str, list[Any]] = {}
        for name in sorted(f for f in files if "tfevents" in f):
            for event in LegacyEventFileLoader(os.path.join(directory, name)).Load():
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    if kind == "simple_value":
                        fields: Any = value.simple_value
                    elif kind == "histo":
                        h = value.histo
                        fields = (
                            h.min,
                            h.max,
                            h.num,
                            Close(h.sum),
                            Close(h.sum_squares),
                            list(h.bucket_limit),
                            list(h.bucket),
                        )
                    elif kind == "image":
                        fields = (value.image.height, value.image.width, value.image.colorspace)
                    elif kind == "audio":
                        a = value.audio
                        fields = (a.sample_rate, a.num_channels, a.length_frames, a.content_type)
                    elif kind == "tensor":
                        fields = (
                            value.tensor.dtype,
                            [d.size for d in value.tensor.tensor_shape.dim],
                        )
                    else:
                        fields = None
                    tags.setdefault(value.tag, []).append((event.step, kind, fields))
        if tags or any("tfevents" in f for f in files):
            runs[os.path.relpath(directory, logdir)] = tags
    return runs


def assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    """Deep equality for the normalized structures (NaN equals NaN; dtypes must match)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert sorted(ours) == sorted(theirs), f"{where}: keys differ"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}/{key}")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), where
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, torch has {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), where
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape), where
        if theirs.dtype.kind in "fc":
            differ = (ours != theirs) & ~(np.isnan(ours) & np.isnan(theirs))
            assert not differ.any(), (
                f"{where}: {int(differ.sum())} of {theirs.size} values differ, e.g. "
                f"stepscope {ours[differ][:5]} vs torch {theirs[differ][:5]}"
            )
        else:
            differ = ours != theirs
            assert not np.any(differ), (
                f"{where}: {int(np.sum(differ))} of {theirs.size} values differ"
            )
    elif isinstance(theirs, float):
        assert isinstance(ours, float), where
        assert (math.isnan(ours) and math.isnan(theirs)) or ours == theirs, (
            f"{where}: stepscope {ours!r} != torch {theirs!r}"
        )
    else:
        assert ours == theirs, f"{where}: stepscope {ours!r} != torch {theirs!r}"


def assert_equivalent(theirs: Path, ours: Path, wall_times: bool = False) -> None:
    assert_same(load(ours, wall_times), load(theirs, wall_times), "dashboards")
    assert_same(legacy(ours), legacy(theirs), "legacy")


def compare(tmp_path: Path, calls: Callable[[Any], object], wall_times: bool = False) -> None:
    theirs, ours = write_both(tmp_path, calls)
    assert_equivalent(theirs, ours, wall_times)


def compare_histograms(tmp_path: Path, calls: Callable[[Any], object]) -> None:
    """Buckets, min, max and num first (so a failure says which part differs), then everything."""
    theirs, ours = write_both(tmp_path, calls)

    def buckets(root: Path) -> dict[str, list[Any]]:
        return {
            tag: [(step, fields[:3], fields[5:]) for step, _, fields in values]
            for tag, values in legacy(root)["."].items()
        }

    assert_same(buckets(ours), buckets(theirs), "buckets")
    assert_equivalent(theirs, ours)


# -- runs, files --------------------------------------------------------------


def test_run_layout_matches_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_scalar("root", 1.0, 1)
        w.add_scalars("loss/all runs", {"train": 1.0, "val λ": 2.0, "a/b": 3.0}, 1)
        w.add_scalars("loss/all runs", {"train": 0.5}, 2)
        w.add_hparams({"lr": 0.1}, {"hp/metric": 0.5}, run_name="hp run")
        w.add_hparams({"lr": 0.2}, {"hp/metric": 0.25}, run_name="nested/run")

    theirs, ours = write_both(tmp_path, calls)
    ours_data, theirs_data = load(ours), load(theirs)
    assert (
        sorted(ours_data)
        == sorted(theirs_data)
        == sorted(
            [
                ".",
                "loss_all runs_train",
                "loss_all runs_val λ",
                "loss_all runs_a/b",
                "hp run",
                "nested/run",
            ]
        )
    )
    assert_equivalent(theirs, ours)

    def files(root: Path) -> list[str]:
        """The directory of every event file: one file per run."""
        return sorted(str(p.parent.relative_to(root)) for p in root.rglob("*tfevents*"))

    assert files(ours) == files(theirs)


@pytest.mark.parametrize("suffix", ["", ".v2"])
def test_event_file_names_match_torch(tmp_path: Path, suffix: str) -> None:
    theirs, ours = write_both(tmp_path, lambda w: w.add_scalar("x", 1.0), filename_suffix=suffix)

    def shape(root: Path) -> list[str]:
        return [
            re.sub(
                r"tfevents\.\d{10}\.",
                "tfevents.<time>.",
                re.sub(r"\.\d+" + re.escape(suffix) + "$", ".<n>" + suffix, p.name),
            )
            for p in root.iterdir()
            if "tfevents" in p.name
        ]

    assert (
        shape(ours)
        == shape(theirs)
        == [f"events.out.tfevents.<time>.{socket.gethostname()}.{os.getpid()}.<n>{suffix}"]
    )


def test_default_log_dir_matches_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    names = []
    for cls in (TorchWriter, SummaryWriter):
        writer = cls(comment="_c")
        writer.close()
        names.append(
            re.sub(r"^\w{3}\d{2}_\d{2}-\d{2}-\d{2}_", "<stamp>_", Path(writer.get_logdir()).name)
        )
        assert Path(writer.get_logdir()).parent == Path("runs")
    assert names[0] == names[1] == f"<stamp>_{socket.gethostname()}_c"


def test_purge_step_events_match_torch(tmp_path: Path) -> None:
    theirs, ours = write_both(tmp_path, lambda w: w.add_scalar("x", 1.0, 7), purge_step=7)

    def events(root: Path) -> list[Any]:
        (path,) = [p for p in root.iterdir() if "tfevents" in p.name]
        out = []
        for event in LegacyEventFileLoader(str(path)).Load():
            kind = event.WhichOneof("what")
            detail = {"file_version": event.file_version, "session_log": event.session_log.status}
            out.append((event.step, kind, detail.get(kind), event.wall_time > 0))
        return out

    # header, file_version at step 7 and a SessionLog START at step 7, then the data;
    # every event stamped with a wall time (torch's FileWriter.add_event sets it).
    assert events(theirs) == [
        (0, "file_version", "brain.Event:2", True),
        (7, "file_version", "brain.Event:2", True),
        (7, "session_log", event_pb2.SessionLog.START, True),
        (7, "summary", None, True),
    ]
    assert events(ours) == events(theirs)


# -- scalars ------------------------------------------------------------------

SCALARS = [
    0.1,
    1,
    -2.5,
    1 / 3,
    True,
    np.float64(2 / 3),
    np.float32(7.25),
    np.int64(-9),
    torch.tensor(0.3),
    torch.tensor([[2.0]], dtype=torch.float64),
    torch.tensor(5, dtype=torch.int32),
    3.4e38,
    1e40,
    -1e40,
    1e-50,
    INF,
    -INF,
    NAN,
]
TAGS = ["loss/train", "with space", "ünïcødé/λ", "a//b", "x/y/z/", "日本語 タグ"]


def test_scalars_match_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        for i, value in enumerate(SCALARS):
            w.add_scalar(TAGS[i % len(TAGS)], value, i * 3, walltime=WALL + i)
            w.add_scalar("new style", value, i, walltime=WALL, new_style=True)
            w.add_scalar("double", value, i, walltime=WALL, new_style=True, double_precision=True)
            w.add_scalar("legacy double", value, i, walltime=WALL, double_precision=True)
        for step in (None, 0, 2**40, 2**63 - 1, np.int64(12), torch.tensor(13)):
            w.add_scalar("steps", 1.5, step, walltime=WALL)

    compare(tmp_path, calls, wall_times=True)


def test_add_scalars_match_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_scalars("loss/all runs", {"train": 1.0, "val λ": torch.tensor(2.0)}, 3, WALL)
        w.add_scalars("loss/all runs", {"train": NAN, "val λ": np.float32(1.5)}, 4, WALL + 1)
        w.add_scalars("acc", {"top 1": 0.75, "top 5": 1}, 4, WALL + 2)

    compare(tmp_path, calls, wall_times=True)


# -- tensors ------------------------------------------------------------------

# torch's own encodings of uint8 (uint32_val under DT_UINT8) and float16
# (float32 bits in half_val) cannot be read back by TensorBoard, so those two
# are only checked in test_writer_tensorboard.py.
TENSORS = [
    torch.arange(6, dtype=torch.float32).reshape(2, 3) / 3,
    torch.randn(4, 5, generator=gen(1), dtype=torch.float64),
    torch.tensor([[NAN, INF], [-INF, -0.0]]),
    torch.tensor([-(2**62), 2**62, 0], dtype=torch.int64),
    torch.tensor([[-5], [7]], dtype=torch.int32),
    torch.tensor([-128, 127], dtype=torch.int8),
    torch.tensor([-32768, 32767], dtype=torch.int16),
    torch.tensor([True, False, True]),
    torch.tensor(3.25),
    torch.tensor([1 + 2j, -3.5j], dtype=torch.complex64),
    torch.tensor([1 + 2j], dtype=torch.complex128),
]


@pytest.mark.parametrize("value", TENSORS, ids=lambda v: f"{v.dtype}{tuple(v.shape)}")
def test_add_tensor_matches_torch(tmp_path: Path, value: torch.Tensor) -> None:
    compare(tmp_path, lambda w: w.add_tensor("t/x", value, 5, walltime=WALL), wall_times=True)


# -- histograms ---------------------------------------------------------------


def tensorflow_edges() -> list[float]:
    """torch's default histogram edges: +-1e-12 growing x1.1 up to 1e20, and 0."""
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return [-e for e in reversed(positive)] + [0.0] + positive


def histogram_input(kind: str) -> torch.Tensor:
    g = gen(21)
    if kind == "float32":
        return torch.randn(3000, generator=g) * 3
    if kind == "float64":
        return torch.randn(3000, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(
            -10, 18, (3000,), generator=g
        )
    if kind == "int64":
        return torch.randint(-500, 500, (777,), generator=g)
    if kind == "int32":
        return torch.randint(0, 10, (50,), generator=g, dtype=torch.int32)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize(
    ("bins", "max_bins"),
    [
        ("tensorflow", None),
        ("tensorflow", 50),
        ("auto", None),
        (10, None),
        (100, 30),
        ([-600.0, -10.0, 0.0, 0.5, 5.0, 600.0], None),
    ],
)
def test_histograms_match_torch(tmp_path: Path, kind: str, bins: Any, max_bins: Any) -> None:
    values = histogram_input(kind)
    compare_histograms(
        tmp_path,
        lambda w: w.add_histogram("h/ist", values, 3, bins=bins, walltime=WALL, max_bins=max_bins),
    )


def test_histogram_default_bins_on_exact_edges_match_torch(tmp_path: Path) -> None:
    edges = torch.tensor(tensorflow_edges()[::17], dtype=torch.float64)
    near = torch.cat(
        [
            edges,
            torch.nextafter(edges, torch.tensor(INF)),
            torch.nextafter(edges, torch.tensor(-INF)),
        ]
    )
    as_float32 = edges.float()
    near32 = torch.cat(
        [
            as_float32,
            torch.nextafter(as_float32, torch.tensor(INF)),
            torch.nextafter(as_float32, torch.tensor(-INF)),
        ]
    )

    def calls(w: Any) -> None:
        w.add_histogram("edges", edges, 1)
        w.add_histogram("near edges", near, 1)
        w.add_histogram("float32 near edges", near32, 1)
        w.add_histogram("zeros", torch.zeros(10), 1)
        w.add_histogram("single", torch.tensor([1.0]), 1)

    compare_histograms(tmp_path, calls)


def test_large_float32_histogram_matches_torch(tmp_path: Path) -> None:
    values = torch.randn(100_000, generator=gen(8)) * 5 + 1
    compare_histograms(tmp_path, lambda w: w.add_histogram("big", values, 1))


def test_histogram_with_infinities_matches_torch(tmp_path: Path) -> None:
    values = torch.tensor([1.0, 2.0, INF, -3.0], dtype=torch.float64)
    compare_histograms(tmp_path, lambda w: w.add_histogram("inf", values, 1))


def test_add_histogram_raw_matches_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_histogram_raw(
            "raw",
            min=-1.0,
            max=2.5,
            num=5,
            sum=3.0,
            sum_squares=7.25,
            bucket_limits=[-1.0, 0.0, 1.0, 2.5],
            bucket_counts=[0, 1, 3, 1],
            global_step=9,
            walltime=WALL,
        )

    compare(tmp_path, calls, wall_times=True)


# -- images -------------------------------------------------------------------

FLOAT = torch.rand(3, 6, 9, generator=gen(31)) * 1.4 - 0.2  # some out of [0, 1]: clipped
UINT8 = torch.randint(0, 256, (3, 6, 9), generator=gen(32), dtype=torch.uint8)

IMAGE_CALLS: dict[str, tuple[str, torch.Tensor, str]] = {
    "CHW float": ("add_image", FLOAT, "CHW"),
    "CHW float64": ("add_image", FLOAT.double(), "CHW"),
    "CHW uint8": ("add_image", UINT8, "CHW"),
    "CHW 1 channel": ("add_image", FLOAT[:1], "CHW"),
    "CHW RGBA": ("add_image", torch.cat([UINT8, UINT8[:1]]), "CHW"),
    "HWC float": ("add_image", FLOAT.permute(1, 2, 0), "HWC"),
    "HWC uint8": ("add_image", UINT8.permute(1, 2, 0), "HWC"),
    "HWC 1 channel": ("add_image", UINT8[:1].permute(1, 2, 0), "HWC"),
    "HW float": ("add_image", FLOAT[0], "HW"),
    "HW uint8": ("add_image", UINT8[1], "HW"),
    "WH": ("add_image", FLOAT[2].T, "WH"),
    "NCHW float x10": (
        "add_images",
        FLOAT.unsqueeze(0) * torch.linspace(0, 1, 10).view(10, 1, 1, 1),
        "NCHW",
    ),
    "NCHW uint8 x3": ("add_images", UINT8.unsqueeze(0).repeat(3, 1, 1, 1), "NCHW"),
    "NCHW 1 channel x2": ("add_images", FLOAT[:2].unsqueeze(1), "NCHW"),
    "NHWC float x17": (
        "add_images",
        (FLOAT.unsqueeze(0) * torch.rand(17, 1, 1, 1, generator=gen(33))).permute(0, 2, 3, 1),
        "NHWC",
    ),
    "NHWC uint8 x1": ("add_images", UINT8.permute(1, 2, 0).unsqueeze(0), "NHWC"),
    "CHW through add_images": ("add_images", UINT8, "CHW"),
}


@pytest.mark.parametrize("name", list(IMAGE_CALLS))
def test_images_match_torch(tmp_path: Path, name: str) -> None:
    method, tensor, dataformats = IMAGE_CALLS[name]
    compare(
        tmp_path,
        lambda w: getattr(w, method)("img/a b", tensor, 4, WALL, dataformats),
        wall_times=True,
    )


BOX_IMAGE = torch.rand(3, 40, 60, generator=gen(41))
BOXES = torch.tensor([[5.0, 6.0, 30.0, 35.0], [20.0, 10.0, 55.0, 38.0], [0.0, 0.0, 59.0, 39.0]])


@pytest.mark.parametrize(
    ("image", "dataformats", "labels"),
    [
        (BOX_IMAGE, "CHW", None),
        (BOX_IMAGE, "CHW", ["cat", "dog λ", "all"]),
        (BOX_IMAGE, "CHW", ["too", "few"]),  # ignored, as torch does
        ((BOX_IMAGE * 255).to(torch.uint8).permute(1, 2, 0), "HWC", ["a", "", "c"]),
        (BOX_IMAGE[0], "HW", ["x", "y", "z"]),
    ],
)
def test_image_with_boxes_matches_torch(
    tmp_path: Path, image: torch.Tensor, dataformats: str, labels: Any
) -> None:
    compare(
        tmp_path,
        lambda w: w.add_image_with_boxes(
            "boxes", image, BOXES, 2, WALL, dataformats=dataformats, labels=labels
        ),
        wall_times=True,
    )


def test_image_with_one_box_and_a_string_label_matches_torch(tmp_path: Path) -> None:
    compare(tmp_path, lambda w: w.add_image_with_boxes("b", BOX_IMAGE, BOXES[:1], labels="cat"))


@pytest.mark.parametrize("rescale", [2, 0.5])
def test_image_with_boxes_rescaled_pixels_match_torch(tmp_path: Path, rescale: float) -> None:
    """Same pixels. The header differs on purpose: torch keeps the unscaled size in it."""
    theirs, ours = write_both(
        tmp_path,
        lambda w: w.add_image_with_boxes(
            "b", BOX_IMAGE, BOXES, 1, rescale=rescale, labels=["p", "q", "r"]
        ),
    )

    def pixels(root: Path) -> Any:
        ((_, _, value),) = load(root)["."]["b"]
        return value[2]

    assert_same(pixels(ours), pixels(theirs))
    assert pixels(ours)["pixels"].shape == (int(40 * rescale), int(60 * rescale), 3)


def line_figure(seed: int) -> Any:
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(3, 2), dpi=40)
    axes = figure.add_subplot()
    axes.plot(torch.randn(20, generator=gen(seed)).tolist(), label="loss")
    axes.set_title("a title")
    axes.legend()
    return figure


def test_figures_match_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_figure("fig", line_figure(1), 1, walltime=WALL)
        w.add_figure("figs", [line_figure(2), line_figure(3), line_figure(4)], 2, walltime=WALL)

    compare(tmp_path, calls, wall_times=True)


# -- audio, text --------------------------------------------------------------


@pytest.mark.parametrize(
    "clip",
    [
        torch.rand(1, 4000, generator=gen(51), dtype=torch.float64) * 2 - 1,
        torch.rand(1, 4000, generator=gen(52)) * 2 - 1,
        torch.tensor([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0]),
        torch.linspace(-1, 1, 101),
    ],
    ids=["float64", "float32", "clipped", "linspace"],
)
def test_audio_matches_torch(tmp_path: Path, clip: torch.Tensor) -> None:
    compare(tmp_path, lambda w: w.add_audio("sound/λ", clip, 6, 22050, WALL), wall_times=True)


def test_text_matches_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_text("notes/λ", "**bold** ünïcödé 日本\n\n| a | b |\n|---|---|\n| 1 | 2 |", 3, WALL)
        w.add_text("notes/λ", "", 4, WALL)
        w.add_text("with space", "x" * 10_000, 0, WALL)

    compare(tmp_path, calls, wall_times=True)


# -- PR curves ----------------------------------------------------------------


@pytest.mark.parametrize("num_thresholds", [127, 10, 2, 500])
@pytest.mark.parametrize("weighted", [False, True])
def test_pr_curves_match_torch(tmp_path: Path, num_thresholds: int, weighted: bool) -> None:
    g = gen(61)
    labels = torch.randint(0, 2, (300,), generator=g)
    predictions = torch.rand(300, generator=g)
    predictions[:3] = torch.tensor([0.0, 1.0, 0.5])
    weights = torch.rand(300, generator=g, dtype=torch.float64).numpy() if weighted else None
    compare(
        tmp_path,
        lambda w: w.add_pr_curve("pr/c", labels, predictions, 2, num_thresholds, weights, WALL),
        wall_times=True,
    )


@pytest.mark.parametrize("num_thresholds", [5, 200])
def test_pr_curve_raw_matches_torch(tmp_path: Path, num_thresholds: int) -> None:
    g = gen(62)
    rows = [torch.rand(5, generator=g, dtype=torch.float64) * 10 for _ in range(6)]
    rows = [r.numpy() for r in rows]  # torch's add_pr_curve_raw stacks with numpy
    compare(
        tmp_path,
        lambda w: w.add_pr_curve_raw("raw", *rows, 8, num_thresholds, walltime=WALL),
        wall_times=True,
    )


# -- custom scalars, meshes ---------------------------------------------------


def test_custom_scalars_match_torch(tmp_path: Path) -> None:
    layout = {
        "Losses λ": {
            "train vs val": ["Multiline", ["loss/train", "loss/val"]],
            "band": ["Margin", ["m", "m/lo", "m/hi"]],
        },
        "Other": {"acc": ["Multiline", [r"acc/.*"]]},
    }

    def calls(w: Any) -> None:
        w.add_custom_scalars(layout)
        w.add_custom_scalars_multilinechart(["a", "b/.*"])
        w.add_custom_scalars_multilinechart(["c"], category="Cat", title="T")
        w.add_custom_scalars_marginchart(["v", "lo", "hi"])
        w.add_custom_scalars_marginchart(["v2", "lo2", "hi2"], category="M", title="band")

    compare(tmp_path, calls)


VERTICES = torch.rand(2, 5, 3, generator=gen(71)) * 2 - 1
COLORS = torch.randint(0, 256, (2, 5, 3), generator=gen(72), dtype=torch.uint8)
FACES = torch.randint(0, 5, (2, 4, 3), generator=gen(73), dtype=torch.int32)


@pytest.mark.parametrize(
    "parts",
    [
        {"colors": COLORS, "faces": FACES},
        {"colors": COLORS.int()},
        {"faces": FACES.long()},
        {},
    ],
    ids=["all", "colors", "faces", "vertices"],
)
@pytest.mark.parametrize(
    "config", [None, {"camera": {"cls": "PerspectiveCamera", "fov": 75}, "a": [1, 2]}]
)
def test_meshes_match_torch(tmp_path: Path, parts: dict[str, torch.Tensor], config: Any) -> None:
    compare(
        tmp_path,
        lambda w: w.add_mesh(
            "my mesh", VERTICES, config_dict=config, global_step=7, walltime=WALL, **parts
        ),
        wall_times=True,
    )


# -- hparams ------------------------------------------------------------------


def test_hparams_match_torch(tmp_path: Path) -> None:
    def calls(w: Any) -> None:
        w.add_scalar("main", 1.0, 1)
        w.add_hparams(
            {
                "lr": 0.01,
                "layers": 3,
                "optimizer": "adam",
                "use bn": True,  # torch: 1.0; normalized (a documented difference)
                "frozen": False,
                "dropout": torch.tensor([0.5]),
                "skipped": None,
            },
            {"hparam/accuracy": 0.9, "hparam/loss": torch.tensor(0.25)},
            {"optimizer": ["adam", "sgd"], "layers": [2, 3, 4], "use bn": [True, False]},
            run_name="trial λ",
            global_step=7,
        )
        w.add_hparams({"lr": 0.02}, {"hparam/accuracy": 0.8}, run_name="trial 2")

    compare(tmp_path, calls)
