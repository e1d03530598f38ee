"""``/api/plugins/hparams/sessions`` for every writer of hyperparameters the hparams view shows.

Sessions are written by torch's ``add_hparams``, tensorboardX's, stepscope's,
TensorBoard's own hparams summary (the bytes ``hp.hparams`` writes in
TensorFlow) and a Lightning-style ``hparams.yaml`` beside an event file; the
answers are checked against what was logged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

LIGHTNING_YAML = """\
lr: 0.001
batch_size: 64
model:
  layers: 4
  activation: gelu
betas: !!python/tuple
- 0.9
- 0.999
scheduler: null
"""


@contextmanager
def _serving(root: Path) -> Iterator[tuple[TestClient, DataProvider]]:
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as client:
        yield client, data
    data.index.close()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from tensorboard.plugins.hparams import summary_v2
    from tensorboardX import SummaryWriter as TbxWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("hparams") / "logs"
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_scalar("train/loss", 2.0, 0)  # the training run itself has no hparams
    torch_writer.add_hparams(
        {"lr": 0.1, "bs": 32, "optimizer": "adam", "nesterov": True, "wd": math.nan},
        {"hparam/accuracy": 0.875, "hparam/loss": 0.25},
        run_name="a",
    )
    torch_writer.add_hparams(
        {"lr": 0.01, "bs": 64, "optimizer": "sgd", "nesterov": False, "wd": 1e-4},
        {"hparam/accuracy": 0.5, "hparam/loss": math.inf},
        run_name="b",
    )
    torch_writer.close()
    tbx = TbxWriter(str(root / "tbx"))
    tbx.add_hparams(
        {"lr": 0.2, "bs": 16, "optimizer": "rms", "flag": True}, {"hparam/accuracy": 0.75}
    )
    tbx.close()
    with SummaryWriter(str(root / "ours")) as ours:
        ours.add_hparams({"lr": 0.3, "dropout": False}, {"hparam/accuracy": 0.625}, run_name="hp")
    # TensorFlow's hp.hparams(...) writes this summary into the training run.
    keras = TorchWriter(str(root / "keras"))
    keras._get_file_writer().add_summary(
        summary_v2.hparams_pb({"units": 128, "activation": "relu", "lr": 0.05}, trial_id="t1"), 0
    )
    for step, accuracy in enumerate([0.5, 0.75, 0.875]):
        keras.add_scalar("epoch_accuracy", accuracy, step)
    keras.close()
    lightning = root / "lightning" / "version_0"
    with SummaryWriter(str(lightning)) as writer:
        for step, value in enumerate([0.25, 0.5, 0.625]):
            writer.add_scalar("val_acc", value, step)
        writer.add_scalar("val_loss", math.nan, 2)
    (lightning / "hparams.yaml").write_text(LIGHTNING_YAML)
    with SummaryWriter(str(root / "plain")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    with _serving(root) as (client, _):
        body = client.get("/api/plugins/hparams/sessions").json()
    return {session["run"]: session for session in body["sessions"]}


def test_only_runs_with_hyperparameters_are_sessions(sessions: dict[str, dict[str, Any]]) -> None:
    runs = list(sessions)
    assert [r for r in runs if not r.startswith("tbx/")] == [
        "keras",
        "lightning/version_0",
        "ours/hp",
        "torch/a",
        "torch/b",
    ]
    assert len([r for r in runs if r.startswith("tbx/")]) == 1  # its sub-run is named by the time


def test_torch_add_hparams_one_session_per_call_with_its_metric_dict(
    sessions: dict[str, dict[str, Any]],
) -> None:
    a, b = sessions["torch/a"], sessions["torch/b"]
    # torch logs bools as numbers and every number as a double.
    assert a["hparams"] == {"lr": 0.1, "bs": 32, "optimizer": "adam", "nesterov": 1, "wd": "NaN"}
    assert b["hparams"] == {"lr": 0.01, "bs": 64, "optimizer": "sgd", "nesterov": 0, "wd": 1e-4}
    # The sub-run's scalars are the metric_dict; non-finite values come as strings.
    assert a["metrics"] == {"hparam/accuracy": 0.875, "hparam/loss": 0.25}
    assert b["metrics"] == {"hparam/accuracy": 0.5, "hparam/loss": "Infinity"}


def test_tensorboardx_and_stepscope_keep_booleans(sessions: dict[str, dict[str, Any]]) -> None:
    [tbx] = [s for run, s in sessions.items() if run.startswith("tbx/")]
    assert tbx["hparams"] == {"lr": pytest.approx(0.2), "bs": 16, "optimizer": "rms", "flag": True}
    assert tbx["metrics"] == {"hparam/accuracy": 0.75}
    assert sessions["ours/hp"]["hparams"] == {"lr": 0.3, "dropout": False}
    assert sessions["ours/hp"]["metrics"] == {"hparam/accuracy": 0.625}


def test_tensorboard_hparams_summary_metrics_are_the_final_values(
    sessions: dict[str, dict[str, Any]],
) -> None:
    keras = sessions["keras"]
    assert keras["hparams"] == {"units": 128, "activation": "relu", "lr": 0.05}
    assert keras["metrics"] == {"epoch_accuracy": 0.875}  # the last step's, not the first


def test_lightning_hparams_yaml_is_flattened_and_read_as_data(
    sessions: dict[str, dict[str, Any]],
) -> None:
    lightning = sessions["lightning/version_0"]
    assert lightning["hparams"] == {
        "lr": 0.001,
        "batch_size": 64,
        "model/layers": 4,
        "model/activation": "gelu",
        "betas": "[0.9, 0.999]",  # a Python tuple tag becomes its values, shown as text
        "scheduler": None,
    }
    assert lightning["metrics"] == {"val_acc": 0.625, "val_loss": "NaN"}


def test_an_edited_hparams_yaml_is_read_again(tmp_path: Path) -> None:
    run = tmp_path / "logs" / "version_0"
    with SummaryWriter(str(run)) as writer:
        writer.add_scalar("val_acc", 0.5, 0)
    path = run / "hparams.yaml"
    path.write_text("lr: 0.1\n")
    with _serving(tmp_path / "logs") as (client, data):
        [session] = client.get("/api/plugins/hparams/sessions").json()["sessions"]
        assert session == {"run": "version_0", "hparams": {"lr": 0.1}, "metrics": {"val_acc": 0.5}}
        path.write_text("lr: 0.2\nmomentum: 0.9\n")
        later = os.stat(path).st_mtime + 5
        os.utime(path, (later, later))
        data.update()
        [session] = client.get("/api/plugins/hparams/sessions").json()["sessions"]
        assert session["hparams"] == {"lr": 0.2, "momentum": 0.9}


def test_a_logdir_without_hyperparameters_has_no_sessions(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "logs" / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    with _serving(tmp_path / "logs") as (client, _):
        assert client.get("/api/plugins/hparams/sessions").json() == {"sessions": []}
