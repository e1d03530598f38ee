"""The hparams kind's reading: one session per run with hyperparameters, and its metrics."""

from __future__ import annotations

from typing import Any

from stepscope.server.jsonable import json_number, plain
from stepscope.store.provider import DataProvider


def sessions(data: DataProvider) -> list[dict[str, Any]]:
    """``{run, hparams, metrics}`` for every run with hyperparameters.

    Hyperparameters come from the hparams plugin and Lightning's
    ``hparams.yaml``; ``metrics`` holds each scalar tag's final value (at the
    run's highest step, the last logged there).

    Example::

        sessions(provider)  # [{"run": "lr=0.1", "hparams": {"lr": 0.1}, "metrics": {"loss": 0.02}}]
    """
    found = data.hparams()
    metrics: dict[str, dict[str, Any]] = {}
    for run, tag, value in data.last_scalars().itertuples(index=False, name=None):
        metrics.setdefault(run, {})[tag] = json_number(float(value))
    return [
        {
            "run": run,
            "hparams": {k: plain(v) for k, v in values.items()},
            "metrics": metrics.get(run, {}),
        }
        for run, values in found
    ]
