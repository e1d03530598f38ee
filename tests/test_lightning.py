"""``StepscopeLogger`` in a real Lightning ``Trainer``, checked against Lightning's ``TensorBoardLogger``.

Lightning is a test dependency, not a dependency of stepscope: the ``test``
extra in ``pyproject.toml`` lists ``lightning>=2.2`` (which also installs the
``pytorch_lightning`` package used below) and users get it with
``pip install stepscope[lightning]``. Importing stepscope never imports it.

Every run is a real ``Trainer.fit`` on the CPU with a tiny model; what the
logger wrote is read back with TensorBoard's own ``EventAccumulator`` and
with stepscope's read API, server and ``hparams.yaml`` reader.
"""

from __future__ import annotations

import enum
import math
import os
import pickle
import subprocess
import sys
import textwrap
from argparse import Namespace
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from fastapi.testclient import TestClient
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from torch.utils.data import DataLoader, TensorDataset

import stepscope
from stepscope.errors import UsageError
from stepscope.integrations.lightning import StepscopeLogger
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.lightning import read_hparams_yaml
from stepscope.store.provider import DataProvider

# Lightning's own advisory warnings, raised from its code on every fit: its
# use of a torch API that torch deprecated, and the DataLoader-workers tip
# (shown on machines with more than two cores).
pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning:lightning.pytorch.utilities._pytree"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pytorch_lightning.utilities._pytree"),
    pytest.mark.filterwarnings("ignore:The '\\w+_dataloader' does not have many workers"),
]

HPARAMS = {
    "lr": 0.05,
    "hidden": 8,
    "name": "tiny",
    "use_bias": True,
    "betas": (0.9, 0.99),
    "model": {"layers": 2, "act": "relu"},
}


class TinyModule(L.LightningModule):
    """A linear layer that logs its loss and remembers each one by step."""

    def __init__(
        self,
        lr: float = 0.05,
        hidden: int = 8,
        name: str = "tiny",
        use_bias: bool = True,
        betas: tuple[float, float] = (0.9, 0.99),
        model: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(3, 1, bias=use_bias)
        self.losses: dict[int, float] = {}

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        self.losses[self.global_step] = loss.item()
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _data() -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(24, 3, generator=generator)
    return DataLoader(TensorDataset(features, torch.randn(24, 1, generator=generator)), 4)


def _fit(logger: Any, module: Any = None, trainer_class: Any = L.Trainer, **options: Any) -> Any:
    torch.manual_seed(0)
    module = module if module is not None else TinyModule(model=dict(HPARAMS["model"]))
    settings: dict[str, Any] = {
        "max_epochs": 2,
        "limit_train_batches": 3,
        "log_every_n_steps": 1,
        "accelerator": "cpu",
        "devices": 1,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
    }
    settings.update(options)
    trainer_class(logger=logger, **settings).fit(module, _data())
    return module


def _tensorboard_scalars(log_dir: str) -> dict[str, dict[int, float]]:
    """Every scalar series of ``log_dir`` as TensorBoard's own loader reads it."""
    found = EventAccumulator(log_dir).Reload()
    return {
        tag: {event.step: event.value for event in found.Scalars(tag)}
        for tag in found.Tags()["scalars"]
    }


def _stepscope_scalars(root: Path, index: Path, run: str) -> dict[str, dict[int, float]]:
    """Every scalar series of ``run`` as ``stepscope.open`` reads it."""
    with stepscope.open(str(root), index=str(index)) as logdir:
        frame = logdir.scalars(run=run)
    series: dict[str, dict[int, float]] = {}
    for tag, step, value in frame[["tag", "step", "value"]].itertuples(index=False):
        series.setdefault(tag, {})[int(step)] = float(value)
    return series


def _as_float32(values: dict[int, float]) -> dict[int, float]:
    # Event files hold scalars as float32.
    return {step: float(np.float32(value)) for step, value in values.items()}


# -- layout ---------------------------------------------------------------------


def test_versions_and_directories_follow_tensorboard_logger(tmp_path: Path) -> None:
    first = StepscopeLogger(tmp_path / "logs", name="exp")
    _fit(first)
    second = StepscopeLogger(tmp_path / "logs", name="exp")
    _fit(second)
    assert (first.version, second.version) == (0, 1)
    assert first.log_dir == str(tmp_path / "logs" / "exp" / "version_0")
    assert second.log_dir == str(tmp_path / "logs" / "exp" / "version_1")
    for logger in (first, second):
        assert any(f.startswith("events.out.tfevents.") for f in os.listdir(logger.log_dir))
    assert first.save_dir == str(tmp_path / "logs")
    assert first.root_dir == str(tmp_path / "logs" / "exp")
    assert first.name == "exp"
    assert first.experiment.get_logdir() == first.log_dir
    assert isinstance(first.experiment, stepscope.SummaryWriter)

    named = StepscopeLogger(tmp_path / "logs", name="exp", version="abc", sub_dir="tb")
    _fit(named)
    assert named.log_dir == str(tmp_path / "logs" / "exp" / "abc" / "tb")
    assert os.listdir(named.log_dir)
    # "version_3_old" counts as 3 for TensorBoardLogger, so the next one is 4.
    (tmp_path / "logs" / "exp" / "version_3_old").mkdir()
    assert StepscopeLogger(tmp_path / "logs", name="exp").version == 4
    assert StepscopeLogger(tmp_path / "logs", name="exp", version=7).log_dir.endswith("version_7")
    assert StepscopeLogger(tmp_path / "flat", name="").log_dir == str(
        tmp_path / "flat" / "version_0"
    )


def test_checkpoints_go_under_the_version_directory(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path / "logs", name="exp")
    _fit(logger, enable_checkpointing=True)  # ModelCheckpoint calls after_save_checkpoint
    saved = os.listdir(os.path.join(logger.log_dir, "checkpoints"))
    assert len(saved) == 1
    assert saved[0].endswith(".ckpt")


# -- metrics --------------------------------------------------------------------


def test_logged_metrics_reach_the_event_file(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path / "logs", name="exp")
    module = _fit(logger)
    expected = _as_float32(module.losses)
    assert len(expected) == 6  # 2 epochs of 3 batches

    by_tensorboard = _tensorboard_scalars(logger.log_dir)
    by_stepscope = _stepscope_scalars(tmp_path / "logs", tmp_path / "index.duckdb", "exp/version_0")
    for series in (by_tensorboard, by_stepscope):
        assert series["train_loss"] == expected
        assert series["epoch"] == {0: 0.0, 1: 0.0, 2: 0.0, 3: 1.0, 4: 1.0, 5: 1.0}
        assert series["hp_metric"] == {0: -1.0}


def test_log_metrics_takes_what_tensorboard_logger_takes(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path, name="exp", prefix="val")
    logger.log_metrics(
        {"tensor": torch.tensor(0.25), "float": 0.5, "int": 3, "numpy": np.float16(1.5)}, step=2
    )
    logger.log_metrics({"acc": {"train": 0.75, "test": torch.tensor([0.5])}}, step=3)
    logger.finalize("success")
    written = _tensorboard_scalars(logger.log_dir)
    assert written == {
        "val-tensor": {2: 0.25},
        "val-float": {2: 0.5},
        "val-int": {2: 3.0},
        "val-numpy": {2: 1.5},
    }
    # A dict of numbers is one chart of sub-runs, as add_scalars (and TensorBoardLogger) writes it.
    assert _tensorboard_scalars(os.path.join(logger.log_dir, "val-acc_train")) == {
        "val-acc": {3: 0.75}
    }
    assert _tensorboard_scalars(os.path.join(logger.log_dir, "val-acc_test")) == {
        "val-acc": {3: 0.5}
    }


@pytest.mark.parametrize("value", ["high", torch.ones(3), {"nested": {"deeper": 1.0}}])
def test_a_value_that_is_not_a_number_is_refused_like_tensorboard_logger(
    tmp_path: Path, value: Any
) -> None:
    reference = TensorBoardLogger(tmp_path / "tb")
    # TensorBoardLogger refuses with a ValueError, or torch's RuntimeError for a long tensor.
    with pytest.raises((ValueError, RuntimeError)):
        reference.log_metrics({"bad": value}, step=0)
    reference.finalize("failed")
    ours = StepscopeLogger(tmp_path / "ours")
    with pytest.raises(ValueError, match=r"cannot log metric 'bad'.*log a number") as raised:
        ours.log_metrics({"bad": value}, step=0)
    assert isinstance(raised.value, UsageError)
    ours.finalize("failed")


# -- hyperparameters ------------------------------------------------------------


def _served_sessions(root: Path) -> dict[str, dict[str, Any]]:
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    try:
        with TestClient(create_app(data)) as client:
            answer = client.get("/api/plugins/hparams/sessions")
    finally:
        data.index.close()
    assert answer.status_code == 200
    return {session["run"]: session for session in answer.json()["sessions"]}


def _session_start(log_dir: str) -> dict[str, Any]:
    """The hyperparameters of the session in ``log_dir``, decoded with TensorBoard's own protos."""
    found = EventAccumulator(log_dir).Reload()
    content = found.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {key: getattr(value, value.WhichOneof("kind")) for key, value in start.hparams.items()}


def test_hyperparameters_are_saved_and_shown(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path / "logs", name="exp")
    _fit(logger)

    with open(os.path.join(logger.log_dir, "hparams.yaml"), encoding="utf-8") as f:
        saved = yaml.safe_load(f)
    assert saved == {**HPARAMS, "betas": [0.9, 0.99]}

    flat = {
        "lr": 0.05,
        "hidden": 8.0,
        "name": "tiny",
        "use_bias": True,
        "betas": "(0.9, 0.99)",  # Lightning gives a tuple to the session as text
        "model/layers": 2.0,
        "model/act": "relu",
    }
    assert _session_start(logger.log_dir) == flat

    with stepscope.open(str(tmp_path / "logs"), index=str(tmp_path / "index.duckdb")) as logdir:
        table = logdir.hparams().set_index("run")
    row = table.loc["exp/version_0"]
    assert {key: row[key] for key in flat} == flat
    assert row["hp_metric"] == -1.0

    session = _served_sessions(tmp_path / "logs")["exp/version_0"]
    assert session["hparams"] == flat
    assert session["metrics"]["hp_metric"] == -1.0


@dataclass
class Optimizer:
    name: str
    momentum: float


def test_log_hyperparams_options(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path, name="exp", prefix="p")
    params = Namespace(opt=Optimizer("sgd", 0.9), scale=np.float32(2.0), blocks=[{"w": 4}])
    logger.log_hyperparams(params, {"val/acc": 0.5}, step=3)
    logger.save()
    assert _session_start(logger.log_dir) == {
        "opt/name": "sgd",
        "opt/momentum": pytest.approx(0.9),
        "scale": 2.0,
        "blocks/0/w": 4.0,
    }
    found = EventAccumulator(logger.log_dir).Reload()
    content = found.SummaryMetadata("_hparams_/experiment").plugin_data.content
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    assert [metric.name.tag for metric in experiment.metric_infos] == ["p-val/acc"]
    assert _tensorboard_scalars(logger.log_dir) == {"p-val/acc": {3: 0.5}}

    # Later hyperparameters are added to hparams.yaml (TensorBoardLogger keeps the first file).
    logger.log_hyperparams({"extra": "yes"})
    logger.finalize("success")
    with open(os.path.join(logger.log_dir, "hparams.yaml"), encoding="utf-8") as f:
        saved = yaml.safe_load(f)
    assert saved == {
        "opt": {"name": "sgd", "momentum": 0.9},
        "scale": 2.0,
        "blocks": [{"w": 4}],
        "extra": "yes",
    }


class Color(enum.Enum):
    RED = 1


def test_hparams_yaml_is_plain_yaml(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path, name="exp", default_hp_metric=False)
    logger.log_hyperparams(Optimizer("sgd", 0.9))  # a dataclass, as a whole
    logger.log_hyperparams(
        MappingProxyType(
            {
                "color": Color.RED,
                "weights": torch.tensor([1.0, 2.0]),
                "path": Path("/data"),
                "shape": (2, 3),
                "nested": MappingProxyType({"depth": np.int64(3)}),
            }
        )
    )
    logger.finalize("success")  # writes the file without an explicit save()
    with open(os.path.join(logger.log_dir, "hparams.yaml"), encoding="utf-8") as f:
        text = f.read()
    assert "!!" not in text  # no Python-specific tag: any YAML reader takes it
    assert yaml.safe_load(text) == {
        "name": "sgd",
        "momentum": 0.9,
        "color": "RED",
        "weights": [1.0, 2.0],
        "path": "/data",
        "shape": [2, 3],
        "nested": {"depth": 3},
    }


def test_without_default_hp_metric_only_the_yaml_is_written(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path, name="exp", default_hp_metric=False)
    _fit(logger)
    found = EventAccumulator(logger.log_dir).Reload()
    assert "hp_metric" not in found.Tags()["scalars"]
    assert "_hparams_/experiment" not in found.summary_metadata
    assert read_hparams_yaml(os.path.join(logger.log_dir, "hparams.yaml"))["lr"] == 0.05


# -- the seed 000 pattern -------------------------------------------------------


class TacotronLogger(StepscopeLogger):
    """The cotatron project's logger (seed 000), now on stepscope instead of TensorBoardLogger."""

    def log_loss(self, loss: Any, mode: str, step: int, name: str = "") -> None:
        name = ".loss" + ("" if name == "" else "_" + name)
        self.experiment.add_scalar(mode + name, loss, step)


class CotatronLikeModule(TinyModule):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss_rec = torch.nn.functional.mse_loss(self.layer(x), y)
        self.logger.log_loss(loss_rec, mode="train", step=self.global_step, name="reconstruction")
        self.logger.log_loss(loss_rec * 2, mode="train", step=self.global_step)
        self.losses[self.global_step] = loss_rec.item()
        return loss_rec


def test_seed_000_logger_subclass_logs_through_experiment(tmp_path: Path) -> None:
    logger = TacotronLogger(save_dir=tmp_path / "logs", name="cota")
    module = _fit(logger, CotatronLikeModule(model={"layers": 1}))
    expected = _as_float32(module.losses)
    doubled = _as_float32({step: 2 * value for step, value in module.losses.items()})
    assert logger.log_dir == str(tmp_path / "logs" / "cota" / "version_0")
    by_tensorboard = _tensorboard_scalars(logger.log_dir)
    by_stepscope = _stepscope_scalars(
        tmp_path / "logs", tmp_path / "index.duckdb", "cota/version_0"
    )
    for series in (by_tensorboard, by_stepscope):
        assert series["train.loss_reconstruction"] == expected
        assert series["train.loss"] == doubled


# -- against TensorBoardLogger --------------------------------------------------


def test_same_run_same_scalars_as_tensorboard_logger(tmp_path: Path) -> None:
    reference = TensorBoardLogger(tmp_path / "tb", name="exp")
    reference_module = _fit(reference)
    ours = StepscopeLogger(tmp_path / "ours", name="exp")
    module = _fit(ours)
    assert module.losses == reference_module.losses  # the same run, twice

    theirs, mine = _tensorboard_scalars(reference.log_dir), _tensorboard_scalars(ours.log_dir)
    assert set(mine) == set(theirs) == {"train_loss", "epoch", "hp_metric"}
    assert mine == theirs
    assert os.path.relpath(ours.log_dir, tmp_path / "ours") == os.path.relpath(
        reference.log_dir, tmp_path / "tb"
    )

    their_session, my_session = _session_start(reference.log_dir), _session_start(ours.log_dir)
    # torch writes a bool hyperparameter as the number 1.0; stepscope keeps it a bool.
    assert their_session.pop("use_bias") == 1.0
    assert my_session.pop("use_bias") is True
    assert my_session == their_session
    # Lightning's file tags the tuple as !!python/tuple; ours is a plain list. Both read the same.
    yaml_of = "hparams.yaml"
    assert read_hparams_yaml(os.path.join(ours.log_dir, yaml_of)) == read_hparams_yaml(
        os.path.join(reference.log_dir, yaml_of)
    )


# -- graphs, ranks, pickling ----------------------------------------------------


class GraphModule(TinyModule):
    """TinyModule with a forward and an example input, so that its graph can be traced."""

    def __init__(self) -> None:
        super().__init__()
        self.example_input_array = torch.zeros(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.layer(x))


# torch's own add_graph (TensorBoardLogger's) calls torch.jit.trace, which torch deprecates.
@pytest.mark.filterwarnings("ignore:`torch.jit.trace.*` is deprecated:DeprecationWarning")
def test_log_graph_writes_the_graph_as_tensorboard_logger_does(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    quiet = StepscopeLogger(tmp_path, name="quiet")
    _fit(quiet, GraphModule())  # the Trainer calls log_graph at each fit; off by default
    assert not EventAccumulator(quiet.log_dir).Reload().Tags()["graph"]

    ours = StepscopeLogger(tmp_path, name="graph", log_graph=True)
    reference = TensorBoardLogger(tmp_path, name="tb", log_graph=True)
    module = _fit(ours, GraphModule())
    _fit(reference, GraphModule())
    assert module.training  # traced in eval mode, given back in training mode
    graphs = [EventAccumulator(logger.log_dir).Reload() for logger in (ours, reference)]
    assert [found.Tags()["graph"] for found in graphs] == [True, True]
    names = {node.name for node in graphs[0].Graph().node}
    assert {"GraphModule/Linear[layer]/linear", "GraphModule/relu"} <= names
    assert {"GraphModule/Linear[layer]/weight", "input/x", "output/output.1"} <= names
    assert "cannot log the model graph" not in capfd.readouterr().err

    without_input = StepscopeLogger(tmp_path, name="no_input", log_graph=True)
    _fit(without_input)  # TinyModule has no example_input_array
    without_input.log_graph(TinyModule())
    err = capfd.readouterr().err
    assert err.count("StepscopeLogger cannot log the model graph: set the model's") == 1
    assert not EventAccumulator(without_input.log_dir).Reload().Tags()["graph"]


def test_other_ranks_write_nothing(tmp_path: Path) -> None:
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    logger = StepscopeLogger(tmp_path, name="exp")
    rank = rank_zero_only.rank
    rank_zero_only.rank = 1  # what a DDP strategy sets in its other processes
    try:
        assert not isinstance(logger.experiment, stepscope.SummaryWriter)
        logger.log_metrics({"loss": 1.0}, step=0)
        logger.log_hyperparams({"lr": 0.1})
        logger.save()
        logger.finalize("success")
    finally:
        rank_zero_only.rank = rank
    assert not (tmp_path / "exp").exists()


def test_a_pickled_logger_writes_on(tmp_path: Path) -> None:
    logger = StepscopeLogger(tmp_path, name="exp", filename_suffix=".ours")
    logger.log_metrics({"loss": 1.0}, step=0)
    copy = pickle.loads(pickle.dumps(logger))
    logger.finalize("success")
    copy.log_metrics({"loss": 0.5}, step=1)
    copy.finalize("success")
    assert copy.log_dir == logger.log_dir
    assert all(name.endswith(".ours") for name in os.listdir(logger.log_dir) if "tfevents" in name)
    assert _tensorboard_scalars(logger.log_dir) == {"loss": {0: 1.0, 1: 0.5}}


# -- bad arguments --------------------------------------------------------------


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown option\(s\) flush_every; .*flush_secs"):
        StepscopeLogger(tmp_path, flush_every=3)
    with pytest.raises(UsageError, match=r"writes to a local directory, got 's3://bucket/logs'"):
        StepscopeLogger("s3://bucket/logs")
    with pytest.raises(UsageError, match=r"must be a dict, a Namespace or a dataclass, got list"):
        StepscopeLogger(tmp_path).log_hyperparams([("lr", 0.1)])  # type: ignore[arg-type]


# -- the pytorch_lightning package and imports ----------------------------------


def test_works_in_a_pytorch_lightning_trainer(tmp_path: Path) -> None:
    import pytorch_lightning as pl

    class Module(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)
            self.losses: dict[int, float] = {}

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("train_loss", loss)
            self.losses[self.global_step] = loss.item()
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    logger = StepscopeLogger(tmp_path, name="pl")
    module = _fit(logger, Module(), trainer_class=pl.Trainer)
    assert _tensorboard_scalars(logger.log_dir)["train_loss"] == _as_float32(module.losses)


# Makes the named top-level packages look uninstalled to the import system.
_HIDE = """
import sys

class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Hide())
"""


def _python(code: str, hidden: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    script = f"HIDDEN = {hidden!r}\n" + _HIDE + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )


def test_importing_stepscope_does_not_import_lightning() -> None:
    done = _python(
        """
        import sys
        import stepscope, stepscope.integrations
        stepscope.SummaryWriter
        print(sorted(m for m in ("lightning", "pytorch_lightning") if m in sys.modules))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_lightning_the_standalone_package_is_used() -> None:
    done = _python(
        """
        import sys
        from stepscope.integrations.lightning import StepscopeLogger
        import pytorch_lightning
        print(StepscopeLogger.__mro__[1].__module__, "lightning" in sys.modules)
        """,
        hidden=("lightning",),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pytorch_lightning.loggers.logger", "False"]


def test_without_any_lightning_the_error_says_what_to_install() -> None:
    done = _python(
        "import stepscope.integrations.lightning\n", hidden=("lightning", "pytorch_lightning")
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "ModuleNotFoundError: stepscope.integrations.lightning needs PyTorch Lightning: "
        "pip install lightning"
    )


def test_hparams_are_flattened_and_sanitized_as_lightning_does() -> None:
    from lightning.fabric.utilities.logger import _flatten_dict

    from stepscope.integrations.lightning import _flatten, _session_value

    params = {
        "ns": Namespace(depth=3, opt=Optimizer("adam", 0.5)),
        "layers": [{"w": 1}, {"w": 2}],
        "sizes": [1, 2],
        "none": None,
        "np": np.int64(5),
        "path": Path("/data"),
        "cls": torch.nn.ReLU,
        "matrix": torch.ones(2, 2),
        5: {"x": math.inf},
    }
    theirs = TensorBoardLogger._sanitize_params(_flatten_dict(dict(params)))
    ours = {key: _session_value(value) for key, value in _flatten(params).items()}
    assert ours == theirs
