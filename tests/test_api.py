"""The Python read API: ``stepscope.open(logdir)`` and its DataFrames.

The logdirs are written by torch's SummaryWriter (and stepscope's); every
test passes an index path under ``tmp_path``.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.tensorboard import SummaryWriter as TorchSummaryWriter

import stepscope
from stepscope import SummaryWriter
from stepscope.errors import NotFoundError

SCALAR_COLUMNS = ["run", "tag", "step", "wall_time", "value"]
# Steps are logged out of order on purpose: the frame is ordered by step all the same.
LOSS_STEPS = [5, 3, 1, 0, 2, 4]
IMAGE = np.arange(3 * 4 * 6, dtype=np.uint8).reshape(3, 4, 6) * 3  # CHW, 6 wide, 4 high
HISTOGRAM_VALUES = np.arange(100, dtype=np.float64)


def loss(run: str, step: int) -> float:
    return float(np.float32({"a": 1.0, "b": 2.0, "c/d": 3.0}[run] + step / 8))


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api") / "logs"
    for run in ("a", "b", "c/d"):
        with TorchSummaryWriter(str(root / run)) as writer:
            for step in LOSS_STEPS:
                writer.add_scalar("loss", loss(run, step), step)
            if run != "c/d":
                for step in range(3):
                    writer.add_scalar("acc", step / 4 + (run == "b"), step)
                    writer.add_scalar("lr", 0.5, step)
    with TorchSummaryWriter(str(root / "a")) as writer:
        writer.add_histogram("weights", HISTOGRAM_VALUES, 0)
        writer.add_histogram("weights", HISTOGRAM_VALUES * 2, 10)
        writer.add_image("img", IMAGE, 4)
        writer.add_audio("tone", torch.sin(torch.linspace(0, 100, 800)), 1, sample_rate=8000)
        writer.add_text("notes", "hello **world**", 3)
    return root


@pytest.fixture
def opened(logdir: Path, tmp_path: Path) -> stepscope.Logdir:
    with stepscope.open(str(logdir), index=str(tmp_path / "index.duckdb")) as handle:
        yield handle


# -- scalars ------------------------------------------------------------------


def test_scalars_columns_order_and_values(opened: stepscope.Logdir) -> None:
    frame = opened.scalars()
    assert list(frame.columns) == SCALAR_COLUMNS
    assert str(frame["step"].dtype) == "int64"
    assert str(frame["value"].dtype) == "float64"
    assert str(frame["wall_time"].dtype) == "float64"
    assert len(frame) == 3 * len(LOSS_STEPS) + 2 * 2 * 3
    ordered = frame.sort_values(["run", "tag", "step"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, ordered)
    assert list(frame.index) == list(range(len(frame)))
    a_loss = frame[(frame["run"] == "a") & (frame["tag"] == "loss")]
    assert a_loss["step"].tolist() == sorted(LOSS_STEPS)
    assert a_loss["value"].tolist() == [loss("a", step) for step in sorted(LOSS_STEPS)]
    assert (frame["wall_time"] > 1e9).all()


@pytest.mark.parametrize(
    ("run", "tag", "runs", "tags"),
    [
        ("a", None, {"a"}, {"loss", "acc", "lr"}),
        (["a", "c/d"], None, {"a", "c/d"}, {"loss", "acc", "lr"}),
        (("b",), "acc", {"b"}, {"acc"}),
        (re.compile(r"^c/"), None, {"c/d"}, {"loss"}),
        (re.compile(r"d$"), re.compile("loss"), {"c/d"}, {"loss"}),
        (None, "loss", {"a", "b", "c/d"}, {"loss"}),
        (None, ["acc", "lr"], {"a", "b"}, {"acc", "lr"}),
        (None, re.compile(r"^l"), {"a", "b", "c/d"}, {"loss", "lr"}),
    ],
)
def test_scalars_filters(
    opened: stepscope.Logdir,
    run: object,
    tag: object,
    runs: set[str],
    tags: set[str],
) -> None:
    frame = opened.scalars(run=run, tag=tag)
    assert list(frame.columns) == SCALAR_COLUMNS
    assert set(frame["run"]) == runs
    assert set(frame["tag"]) == tags
    everything = opened.scalars()
    wanted = everything[everything["run"].isin(runs) & everything["tag"].isin(tags)]
    pd.testing.assert_frame_equal(frame, wanted.reset_index(drop=True))


def test_a_filter_may_be_any_iterable_of_names(opened: stepscope.Logdir) -> None:
    # The filter type is ``Iterable[str]``: a generator (or a pandas column) is one too.
    expected = opened.scalars(run=["a", "c/d"], tag=["loss", "lr"])
    assert set(expected["run"]) == {"a", "c/d"}
    from_generators = opened.scalars(
        run=(name for name in ["a", "c/d"]), tag=(name for name in ["loss", "lr"])
    )
    pd.testing.assert_frame_equal(from_generators, expected)
    from_series = opened.scalars(run=pd.Series(["a", "c/d"]), tag={"loss", "lr"})
    pd.testing.assert_frame_equal(from_series, expected)


def test_a_filter_matching_nothing_gives_an_empty_frame(opened: stepscope.Logdir) -> None:
    frame = opened.scalars(run="no such run")
    assert list(frame.columns) == SCALAR_COLUMNS
    assert len(frame) == 0
    assert len(opened.scalars(tag=re.compile("^zzz"))) == 0


def test_tags_lists_every_series_with_its_plugin_and_points(opened: stepscope.Logdir) -> None:
    frame = opened.tags()
    assert list(frame.columns) == ["run", "tag", "plugin", "points", "display_name", "description"]
    points = {(row.run, row.tag): (row.plugin, row.points) for row in frame.itertuples()}
    assert points[("a", "loss")] == ("scalars", len(LOSS_STEPS))
    assert points[("a", "weights")] == ("histograms", 2)
    assert points[("a", "img")] == ("images", 1)
    assert set(opened.tags("scalars")["plugin"]) == {"scalars"}


# -- histograms, images, audio, text ------------------------------------------------


def test_histograms(opened: stepscope.Logdir) -> None:
    frame = opened.histograms()
    assert list(frame.columns) == [
        "run",
        "tag",
        "step",
        "wall_time",
        "count",
        "min",
        "max",
        "buckets",
    ]
    assert frame["step"].tolist() == [0, 10]
    for row, scale in zip(frame.itertuples(), (1, 2), strict=True):
        assert (row.run, row.tag) == ("a", "weights")
        assert row.count == 100
        assert (row.min, row.max) == (0.0, 99.0 * scale)
        buckets = row.buckets
        assert buckets.dtype == np.float64
        assert buckets.ndim == 2
        assert buckets.shape[1] == 3
        assert buckets[:, 2].sum() == 100
        assert (buckets[:, 0] <= buckets[:, 1]).all()
        assert (buckets[1:, 0] == buckets[:-1, 1]).all()  # contiguous
    assert len(opened.histograms(run="b")) == 0


def test_images_as_bytes_and_as_pil(opened: stepscope.Logdir) -> None:
    frame = opened.images()
    assert list(frame.columns) == [
        "run",
        "tag",
        "step",
        "wall_time",
        "index",
        "width",
        "height",
        "content_type",
        "image",
    ]
    [row] = frame.itertuples()
    assert (row.run, row.tag, row.step, row.index) == ("a", "img", 4, 0)
    assert (row.width, row.height) == (6, 4)
    assert row.content_type == "image/png"
    assert isinstance(row.image, bytes)
    assert row.image.startswith(b"\x89PNG")
    decoded = np.asarray(Image.open(io.BytesIO(row.image)).convert("RGB"))
    np.testing.assert_array_equal(decoded, IMAGE.transpose(1, 2, 0))

    [pil] = opened.images(tag="img", as_pil=True)["image"]
    assert isinstance(pil, Image.Image)
    assert pil.size == (6, 4)
    np.testing.assert_array_equal(np.asarray(pil.convert("RGB")), IMAGE.transpose(1, 2, 0))


def test_audio(opened: stepscope.Logdir) -> None:
    frame = opened.audio()
    assert list(frame.columns) == [
        "run",
        "tag",
        "step",
        "wall_time",
        "index",
        "content_type",
        "audio",
    ]
    [row] = frame.itertuples()
    assert (row.run, row.tag, row.step) == ("a", "tone", 1)
    assert row.content_type == "audio/wav"
    with wave.open(io.BytesIO(row.audio)) as clip:
        assert (clip.getframerate(), clip.getnframes(), clip.getnchannels()) == (8000, 800, 1)


def test_text(opened: stepscope.Logdir) -> None:
    frame = opened.text()
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "text"]
    [row] = frame.itertuples()
    assert (row.run, row.step) == ("a", 3)
    assert row.tag.startswith("notes")
    assert row.text == "hello **world**"


# -- hparams --------------------------------------------------------------------------


def test_hparams_one_row_per_run_with_final_metrics(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    settings = {
        "r1": {"lr": 0.1, "bs": 32, "opt": "adam"},
        "r2": {"lr": 0.01, "bs": 64, "opt": "sgd"},
    }
    for run, hparams in settings.items():
        with TorchSummaryWriter(str(root / run)) as writer:
            writer.add_scalar("loss", 1.0, 0)
            writer.add_hparams(hparams, {"hparam/acc": 0.5}, run_name="hp")
    # The metric goes on being logged after add_hparams: the final value is the last step's.
    with TorchSummaryWriter(str(root / "r1" / "hp")) as writer:
        writer.add_scalar("hparam/acc", 0.75, 10)
        writer.add_scalar("hparam/acc", 0.625, 5)

    with stepscope.open(str(root), index=str(tmp_path / "index.duckdb")) as logdir:
        frame = logdir.hparams()
    assert frame["run"].tolist() == ["r1/hp", "r2/hp"]
    assert {"run", "lr", "bs", "opt", "hparam/acc"} <= set(frame.columns)
    rows = {row["run"]: row for row in frame.to_dict("records")}
    for run, hparams in settings.items():
        row = rows[f"{run}/hp"]
        assert row["lr"] == hparams["lr"]
        assert row["bs"] == hparams["bs"]
        assert row["opt"] == hparams["opt"]
    assert rows["r1/hp"]["hparam/acc"] == 0.75
    assert rows["r2/hp"]["hparam/acc"] == 0.5
    assert "loss" not in frame.columns  # runs without hyperparameters have no row


def test_hparams_of_a_logdir_without_any(opened: stepscope.Logdir) -> None:
    frame = opened.hparams()
    assert len(frame) == 0
    assert "run" in frame.columns


# -- SQL ------------------------------------------------------------------------------


def test_sql_over_the_documented_views(opened: stepscope.Logdir) -> None:
    best = opened.sql(
        "SELECT run, max(value) AS best FROM scalars WHERE tag = 'acc' GROUP BY run ORDER BY run"
    )
    expected = opened.scalars(tag="acc").groupby("run")["value"].max()
    assert best["run"].tolist() == ["a", "b"]
    assert best["best"].tolist() == expected.tolist()
    assert best["best"].tolist() == [0.5, 1.5]
    counts = opened.sql("SELECT count(*) AS n FROM scalars WHERE run = ?", ["a"])
    assert counts["n"].tolist() == [len(LOSS_STEPS) + 6]
    views = {
        "runs": 3,
        "tags": len(opened.tags()),
        "tensors": 3,  # two histograms and a text
        "blobs": 2,  # an image and an audio clip
        "problems": 0,
    }
    for view, rows in views.items():
        assert opened.sql(f"SELECT count(*) AS n FROM {view}")["n"].tolist() == [rows], view


# -- runs and problems ---------------------------------------------------------------


def test_runs_and_problems_show_a_corrupt_file(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    for run in ("bad", "good"):
        with SummaryWriter(str(root / run)) as writer:
            for step in range(20):
                writer.add_scalar("loss", float(step), step)
    [path] = (root / "bad").glob("*tfevents*")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with stepscope.open(str(root), index=str(tmp_path / "index.duckdb")) as logdir:
        runs = logdir.runs()
        problems = logdir.problems()
        scalars = logdir.scalars()
    assert list(runs.columns) == ["run", "directory", "events", "corrupt_records", "problems"]
    rows = {row["run"]: row for row in runs.to_dict("records")}
    assert set(rows) == {"bad", "good"}
    assert rows["good"]["corrupt_records"] == 0
    assert rows["good"]["problems"] == []
    assert rows["bad"]["corrupt_records"] == 1
    [message] = rows["bad"]["problems"]
    assert str(path) in message
    assert "\n" not in message
    assert rows["bad"]["directory"] == str(root / "bad")
    assert rows["good"]["events"] == 21  # the file-version event and 20 scalars
    assert list(problems.columns) == ["run", "path", "message"]
    assert problems.values.tolist() == [["bad", str(path), message]]
    assert (scalars["run"] == "bad").sum() == 19  # only the damaged record is lost
    assert (scalars["run"] == "good").sum() == 20


# -- opening, refreshing, closing -------------------------------------------------------


def test_open_without_update_then_refresh(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    writer = SummaryWriter(str(root))
    writer.add_scalar("loss", 1.0, 0)
    writer.flush()
    index = str(tmp_path / "index.duckdb")
    with stepscope.open(str(root), index=index, update=False) as logdir:
        assert len(logdir.scalars()) == 0
        report = logdir.refresh()
        assert report.new_runs == ["."]
        assert logdir.scalars()["step"].tolist() == [0]
        writer.add_scalar("loss", 2.0, 1)
        writer.flush()
        assert logdir.refresh().events == 1
        assert logdir.scalars()["value"].tolist() == [1.0, 2.0]
    writer.close()
    with stepscope.open(str(root), index=index) as again:
        assert again.last_update is not None
        assert again.last_update.events == 0  # the index kept what it had read
        assert again.scalars()["value"].tolist() == [1.0, 2.0]


def test_the_context_manager_closes_the_index(logdir: Path, tmp_path: Path) -> None:
    with stepscope.open(str(logdir), index=str(tmp_path / "index.duckdb")) as handle:
        assert len(handle.sql("SELECT 1 AS one")) == 1
    with pytest.raises(duckdb.ConnectionException):
        handle.sql("SELECT 1 AS one")


def test_a_missing_logdir_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "logdir"
    with pytest.raises(NotFoundError) as raised:
        stepscope.open(str(missing), index=str(tmp_path / "index.duckdb"))
    message = str(raised.value)
    assert "\n" not in message
    assert str(missing) in message
    assert isinstance(raised.value, LookupError)


IMPORT_SCRIPT = """
import json, sys
import stepscope
loaded = sorted(name for name in ("pandas", "duckdb", "torch") if name in sys.modules)
with stepscope.open(sys.argv[1], index=sys.argv[2]) as logdir:
    frame = logdir.scalars(tag="loss")
    print(json.dumps({
        "loaded_by_import": loaded,
        "class": type(logdir).__name__,
        "same_class": type(logdir) is stepscope.Logdir,
        "rows": len(frame),
        "pandas_after": "pandas" in sys.modules,
    }))
"""


def test_importing_stepscope_loads_neither_pandas_nor_duckdb(logdir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, str(logdir), str(tmp_path / "index.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "loaded_by_import": [],
        "class": "Logdir",
        "same_class": True,
        "rows": 3 * len(LOSS_STEPS),
        "pandas_after": True,
    }
