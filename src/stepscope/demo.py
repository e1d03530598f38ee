"""A sample logdir: what ``stepscope demo`` writes (numpy only, no torch needed).

Three runs of a made-up training with different learning rates, logging
every kind of data the writer knows, so each dashboard has something to show.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stepscope.loader import LogdirSource, MemorySink, RunLoader, discover
from stepscope.writer import SummaryWriter

LEARNING_RATES = (0.1, 0.03, 0.01)
STEPS = 500


def write_demo(logdir: str, steps: int = STEPS) -> list[str]:
    """Write the sample runs under ``logdir``; return their directories."""
    rng = np.random.default_rng(0)
    runs = []
    for lr in LEARNING_RATES:
        run = os.path.join(logdir, f"lr_{lr}")
        with SummaryWriter(run) as writer:
            _train(writer, rng, lr, steps)
            writer.add_hparams(
                {"lr": lr, "optimizer": "sgd", "batch_size": 32},
                {"hparam/final_loss": _loss(rng, lr, steps)},
                run_name="hparams",
            )
        runs.append(run)
    return runs


def _loss(rng: np.random.Generator, lr: float, step: int) -> float:
    return float(2.0 * math.exp(-lr * step / 20) + 0.05 * rng.standard_normal() ** 2)


def _train(writer: SummaryWriter, rng: np.random.Generator, lr: float, steps: int) -> None:
    weights = rng.standard_normal(10_000) * 0.5
    for step in range(steps):
        loss = _loss(rng, lr, step)
        writer.add_scalar("loss/train", loss, step)
        writer.add_scalar("loss/val", loss * 1.1 + 0.02, step)
        writer.add_scalar("accuracy/train", 1 - loss / 2.5, step)
        writer.add_scalar("lr", lr * 0.5 ** (step // 200), step)
        if step % 50 == 0:
            weights = weights * 0.97 + rng.standard_normal(weights.size) * 0.02
            writer.add_histogram("weights/layer1", weights, step)
            writer.add_image("samples", _sample_image(step, steps), step, dataformats="HWC")
            scores = rng.uniform(size=200)
            labels = rng.uniform(size=200) < scores ** (1 + step / 100)
            writer.add_pr_curve("pr/class0", labels, scores, step)
    writer.add_scalars("compare", {"train": 0.4, "val": 0.5}, steps)
    writer.add_text("notes", f"**lr = {lr}**: a demo run written by `stepscope demo`.", 0)
    t = np.linspace(0, 1, 8000)
    writer.add_audio("tone", 0.5 * np.sin(2 * np.pi * 440 * t), 0, sample_rate=8000)
    points = rng.standard_normal((1, 500, 3))
    writer.add_mesh("cloud", points, colors=np.full((1, 500, 3), 200, np.uint8))
    writer.add_custom_scalars_multilinechart(["loss/train", "loss/val"], "losses", "train vs val")


def _sample_image(step: int, steps: int) -> np.ndarray:
    y, x = np.mgrid[0:64, 0:64] / 63.0
    phase = step / steps
    return np.stack([x, y, np.full_like(x, phase)], axis=-1)


@dataclass(frozen=True)
class RunContents:
    """What one run holds: values per (plugin, tag); 0 for a tag that is metadata only."""

    run: str
    files: int
    counts: dict[tuple[str, str], int]


def describe(logdir: str) -> Iterator[RunContents]:
    """Load every run under ``logdir`` with the loader and count its values per tag."""
    for run, found in sorted(discover([LogdirSource(os.path.abspath(logdir))]).runs.items()):
        sink = MemorySink()
        RunLoader(run).load(found.files, sink)
        counts = {
            (info.plugin_name, tag): len(sink.scalars.get(key, []))
            + len(sink.tensors.get(key, []))
            + len(sink.blobs.get(key, []))
            for key, info in sink.tags.items()
            for tag in (key[1],)
        }
        yield RunContents(run, len(found.files), counts)
