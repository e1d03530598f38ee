"""A PyTorch Lightning logger that writes through stepscope's ``SummaryWriter``.

Example::

    import lightning as L
    from stepscope.integrations.lightning import StepscopeLogger

    trainer = L.Trainer(logger=StepscopeLogger("logs", name="exp"))
    trainer.fit(model)  # writes logs/exp/version_0/events.out.tfevents.*

``StepscopeLogger`` takes the options of Lightning's ``TensorBoardLogger``
and writes the same directory layout, scalar tags, ``hparams.yaml`` and
hparams session, so switching is a change of class; ``docs/lightning.md``
lists the few differences. It is built on ``lightning`` and falls back to
the ``pytorch_lightning`` package when only that one is installed; either
package's ``Trainer`` accepts it.

Importing :mod:`stepscope` never imports Lightning: only this module does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import importlib
import inspect
import os
import re
from argparse import Namespace
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from stepscope.errors import UsageError
from stepscope.files import write_atomically
from stepscope.plugins.hparams.summary import hparams_values
from stepscope.proto import summary_pb2
from stepscope.values import is_torch_tensor, to_numpy
from stepscope.warnings import warn_once
from stepscope.writer import SummaryWriter

__all__ = ["HPARAMS_FILE", "StepscopeLogger"]

HPARAMS_FILE = "hparams.yaml"
_INSTALL_HINT = "stepscope.integrations.lightning needs PyTorch Lightning: pip install lightning"
# TensorBoardLogger counts "version_3" and also "version_3_old" as version 3.
_VERSION_DIR = re.compile(r"version_(\d+)(?:_|$)")
_PLAIN_TYPES = (bool, int, float, str)
# The standalone package and its fabric, used when the unified ``lightning`` is not installed.
_PYTORCH_LIGHTNING = ("pytorch_lightning", "lightning_fabric")


def _lightning_api() -> tuple[Any, Any, Any]:
    """``(Logger, rank_zero_experiment, rank_zero_only)`` of ``lightning``, else of ``pytorch_lightning``."""
    for trainer, fabric in (("lightning.pytorch", "lightning.fabric"), _PYTORCH_LIGHTNING):
        try:
            loggers = importlib.import_module(f"{trainer}.loggers.logger")
            fabric_loggers = importlib.import_module(f"{fabric}.loggers.logger")
            rank_zero = importlib.import_module(f"{fabric}.utilities.rank_zero")
        except ModuleNotFoundError as missing:
            if missing.name != trainer.split(".")[0]:
                raise  # the package is there but broken: its own error says more
            continue
        return loggers.Logger, fabric_loggers.rank_zero_experiment, rank_zero.rank_zero_only
    raise ModuleNotFoundError(_INSTALL_HINT, name="lightning")


if TYPE_CHECKING:
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.fabric.utilities.rank_zero import rank_zero_only
    from lightning.pytorch.loggers.logger import Logger
else:
    # Both packages share one rank_zero_only (lightning_utilities'), so a
    # logger built on either one knows its rank under either Trainer.
    Logger, rank_zero_experiment, rank_zero_only = _lightning_api()


class StepscopeLogger(Logger):
    """Lightning's ``TensorBoardLogger``, writing with stepscope's ``SummaryWriter``.

    Example::

        logger = StepscopeLogger("logs", name="exp")  # logs/exp/version_<next>
        trainer = L.Trainer(logger=logger)
        # in a LightningModule: self.log("train_loss", loss), or
        # self.logger.experiment.add_histogram("weights", w, self.global_step)

    Args:
        save_dir: the local directory holding every experiment.
        name: the experiment's directory under ``save_dir``; ``""`` or ``None`` for none.
        version: ``None`` takes the next free ``version_<N>``; an int ``N`` means
            ``version_<N>``; a string is the directory name itself.
        log_graph: write the model's graph at ``fit`` (from ``example_input_array``).
        default_hp_metric: log ``hp_metric = -1`` with hyperparameters given without a metric,
            so the HParams view lists the run.
        prefix: put before every metric name, joined with ``"-"``.
        sub_dir: a directory under the version's to write into.
        **kwargs: ``SummaryWriter`` options (``flush_secs``, ``max_queue``, ``filename_suffix``...).
    """

    LOGGER_JOIN_CHAR = "-"
    NAME_HPARAMS_FILE = HPARAMS_FILE

    def __init__(
        self,
        save_dir: str | os.PathLike[str],
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        log_graph: bool = False,
        default_hp_metric: bool = True,
        prefix: str = "",
        sub_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._save_dir = _local_dir(save_dir)
        self._name = name or ""
        self._version = version
        self._sub_dir = None if sub_dir is None else os.fspath(sub_dir)
        self._log_graph = log_graph
        self._default_hp_metric = default_hp_metric
        self._prefix = prefix
        self._writer_options = _writer_options(kwargs)
        self._experiment: SummaryWriter | None = None
        self._hparams_saved = False
        self.hparams: dict[str, Any] = {}

    # -- where things go ------------------------------------------------------

    @property
    def name(self) -> str:
        """The experiment's name (its directory under ``save_dir``)."""
        return self._name

    @property
    def version(self) -> int | str:
        """The version: as given, or the next free ``version_<N>`` number (chosen once)."""
        if self._version is None:
            self._version = self._next_version()
        return self._version

    @property
    def save_dir(self) -> str:
        """The directory holding every experiment, as given."""
        return self._save_dir

    @property
    def root_dir(self) -> str:
        """The directory holding this experiment's versions: ``save_dir/name``."""
        return os.path.join(self._save_dir, self._name)

    @property
    def sub_dir(self) -> str | None:
        """The directory under the version's that the event files go to, if any."""
        return self._sub_dir

    @property
    def log_dir(self) -> str:
        """Where the event files and ``hparams.yaml`` go: ``save_dir/name/version_<N>[/sub_dir]``."""
        version = self.version
        leaf = version if isinstance(version, str) else f"version_{version}"
        path = os.path.join(self.root_dir, leaf)
        if self._sub_dir is not None:
            path = os.path.join(path, self._sub_dir)
        return os.path.expanduser(os.path.expandvars(path))

    def _next_version(self) -> int:
        directory = os.path.expanduser(os.path.expandvars(self.root_dir)) or "."
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return 0
        numbers = [
            int(found.group(1))
            for entry in entries
            if entry.is_dir() and (found := _VERSION_DIR.match(entry.name))
        ]
        return max(numbers) + 1 if numbers else 0

    # -- the writer -----------------------------------------------------------

    @property
    @rank_zero_experiment
    def experiment(self) -> SummaryWriter:
        """The :class:`stepscope.SummaryWriter` of ``log_dir`` (a do-nothing stand-in off rank 0).

        Example: ``self.logger.experiment.add_image("sample", image, self.global_step)``
        """
        if self._experiment is None:
            self._experiment = SummaryWriter(self.log_dir, **self._writer_options)
        return self._experiment

    def _tag(self, key: str) -> str:
        return f"{self._prefix}{self.LOGGER_JOIN_CHAR}{key}" if self._prefix else key

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Write each metric as a scalar (a dict of numbers as ``add_scalars`` sub-runs).

        Example: ``logger.log_metrics({"val_acc": 0.75}, step=100)``
        """
        writer = self.experiment
        for key, value in metrics.items():
            tag = self._tag(key)
            try:
                if isinstance(value, Mapping):
                    writer.add_scalars(tag, value, step)
                else:
                    writer.add_scalar(tag, value, step)
            except (TypeError, ValueError) as error:
                raise UsageError(
                    f"cannot log metric {tag!r}: {error}; log a number, a one-element tensor "
                    "or a dict of them"
                ) from error

    @rank_zero_only
    def log_hyperparams(
        self,
        params: Mapping[str, Any] | Namespace | None,
        metrics: Any = None,
        step: int | None = None,
    ) -> None:
        """Record hyperparameters: in ``hparams.yaml`` (at ``save()``) and as an hparams session.

        Nested values are flattened to ``a/b`` keys for the session. Without
        ``metrics`` (and with ``default_hp_metric``) the metric ``hp_metric``
        is logged as -1; with ``default_hp_metric=False`` and no metric, only
        ``hparams.yaml`` is written. A single number is taken as ``hp_metric``.

        Example: ``logger.log_hyperparams({"lr": 1e-3, "model": {"layers": 4}})``
        """
        given = _as_dict(params)
        self.hparams.update(given)
        self._hparams_saved = False
        if metrics is None:
            metrics = {"hp_metric": -1} if self._default_hp_metric else {}
        elif not isinstance(metrics, Mapping):
            metrics = {"hp_metric": metrics}
        if not metrics:
            return
        self.log_metrics(metrics, step)
        session = {key: _session_value(value) for key, value in _flatten(given).items()}
        # The session names the metrics as they were written (with the prefix),
        # so that the HParams view finds their values.
        values = hparams_values(session, dict.fromkeys(self._tag(key) for key in metrics))
        file_writer = self.experiment._get_file_writer()
        for value in values:
            file_writer.add_summary(summary_pb2.Summary(value=[value]), step)

    @rank_zero_only
    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Write the model's graph (``SummaryWriter.add_graph``) when ``log_graph=True``.

        As ``TensorBoardLogger`` does: the input is ``input_array``, else the
        model's ``example_input_array``, moved by the model's batch transfer
        hooks; without one (or with one that is not a tensor or a tuple of
        forward's arguments) it warns once and writes nothing. The Trainer
        calls this at every ``fit``.
        """
        if not self._log_graph:
            return
        if input_array is None:
            input_array = getattr(model, "example_input_array", None)
        if input_array is None:
            warn_once(
                "StepscopeLogger cannot log the model graph: set the model's example_input_array "
                "or pass input_array to log_graph",
                key=("lightning", "log_graph", "no input"),
            )
            return
        if not (is_torch_tensor(input_array) or isinstance(input_array, tuple)):
            warn_once(
                f"StepscopeLogger cannot log the model graph: its input is a "
                f"{type(input_array).__name__}; make it a tensor or a tuple of forward()'s "
                "positional arguments",
                key=("lightning", "log_graph", "input type"),
            )
            return
        for hook in ("_on_before_batch_transfer", "_apply_batch_transfer_handler"):
            if hasattr(model, hook):
                input_array = getattr(model, hook)(input_array)
        with _jit_scripting():
            self.experiment.add_graph(model, input_array)

    # -- lifecycle ------------------------------------------------------------

    @rank_zero_only
    def save(self) -> None:
        """Flush the event files and write ``hparams.yaml`` if the hyperparameters changed."""
        self.experiment.flush()
        self._save_hparams_file()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Close the event files; after a successful run, ``save()`` first (as TensorBoardLogger does)."""
        if status == "success":
            self.save()
        if self._experiment is not None:
            self._experiment.close()

    def _save_hparams_file(self) -> None:
        directory = self.log_dir
        path = os.path.join(directory, HPARAMS_FILE)
        if (self._hparams_saved and os.path.isfile(path)) or not os.path.isdir(directory):
            return
        text = yaml.safe_dump(_yaml_plain(self.hparams), sort_keys=False, allow_unicode=True)
        # Written whole, then renamed: a dashboard reading the logdir never sees half a file.
        write_atomically(path, lambda file: file.write(text.encode("utf-8")))
        self._hparams_saved = True

    def __getstate__(self) -> dict[str, Any]:
        # A logger is pickled into spawned workers and checkpoints; the writer
        # (a thread and open files) is made again where it is next used.
        state = self.__dict__.copy()
        state["_experiment"] = None
        return state


@contextlib.contextmanager
def _jit_scripting() -> Iterator[None]:
    """Lightning's flag that keeps a LightningModule's properties traceable (its ``_jit_is_scripting``)."""
    for package in ("lightning.pytorch", "pytorch_lightning"):
        try:
            module = importlib.import_module(f"{package}.core.module")
        except ModuleNotFoundError:
            continue
        scripting = getattr(module, "_jit_is_scripting", None)
        if scripting is not None:
            with scripting():
                yield
            return
    yield


# -- arguments ------------------------------------------------------------------


def _local_dir(save_dir: str | os.PathLike[str]) -> str:
    path = os.fspath(save_dir)
    if "://" in path:
        raise UsageError(
            f"StepscopeLogger writes to a local directory, got {path!r}; give a local path "
            "and copy the logs to remote storage afterwards"
        )
    return path


def _writer_options(options: dict[str, Any]) -> dict[str, Any]:
    """The ``SummaryWriter`` options among ``options``; anything else is a usage error."""
    accepted = [name for name in inspect.signature(SummaryWriter).parameters if name != "log_dir"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise UsageError(
            f"StepscopeLogger got unknown option(s) {', '.join(unknown)}; besides its own it "
            f"takes the SummaryWriter options {', '.join(accepted)}"
        )
    return dict(options)


# -- hyperparameters --------------------------------------------------------------


def _as_dict(params: Any) -> dict[str, Any]:
    """Hyperparameters given as a dict or another mapping (OmegaConf's), a Namespace or a dataclass."""
    if params is None:
        return {}
    nested = _nested(params)
    if isinstance(nested, Mapping):
        return dict(nested)
    raise UsageError(
        f"hyperparameters must be a dict, a Namespace or a dataclass, got {type(params).__name__}"
    )


def _nested(value: Any) -> Any:
    """Namespaces and dataclass instances as mappings: they are flattened like dicts."""
    if isinstance(value, Namespace):
        return vars(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _flatten(params: Mapping[Any, Any], parent: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "l": [{"c": 2}]}`` as ``{"a/b": 1, "l/0/c": 2}``, as Lightning flattens."""
    flat: dict[str, Any] = {}
    for key, raw in params.items():
        name = f"{parent}/{key}" if parent else str(key)
        value = _nested(raw)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for index, item in enumerate(value):
                flat.update(_flatten(item, f"{name}/{index}"))
        else:
            flat[name] = value
    return flat


def _session_value(value: Any) -> bool | int | float | str:
    """A hyperparameter as a session holds it: a number, a bool or a string; anything else as text."""
    if isinstance(value, np.generic) or (is_torch_tensor(value) and value.numel() == 1):
        value = value.item()
    if type(value) in _PLAIN_TYPES:
        plain: bool | int | float | str = value
        return plain
    return str(value)


def _yaml_plain(value: Any) -> Any:
    """``value`` as data that ``yaml.safe_dump`` writes (tuples as lists, enums by name, others as text)."""
    if value is None or type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, np.generic):
        return value.item()
    if is_torch_tensor(value) or isinstance(value, np.ndarray):
        return to_numpy(value).tolist()
    value = _nested(value)
    if isinstance(value, Mapping):
        return {_yaml_key(key): _yaml_plain(item) for key, item in value.items()}
    if isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes):
        return [_yaml_plain(item) for item in value]
    return str(value)


def _yaml_key(key: Any) -> Any:
    return key if key is None or type(key) in _PLAIN_TYPES else str(key)
