"""Issue 14's run-group benchmark: a group of 50 runs x 5,000 steps, computed on the server.

Writes a logdir with stepscope's SummaryWriter (50 seeds of one config, one
tag, 5,000 steps each; every other run logs every other step, so the aligned
steps are a real union), reads it into an in-memory index, and times
:func:`stepscope.plugins.scalars.read.group_series` (full resolution, then
downsampled to 2,000 points) with the series in the scalar cache, as the
server has them once warm. The goal: under 100 ms. Prints the median of 5
(and the first, cold call, which reads the series from the index).

Usage::

    python benchmarks/bench_groups.py [--runs 50] [--steps 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.scalars.read import RunGroup, group_series
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

TAG = "loss"


def write_logdir(root: Path, runs: int, steps: int) -> list[str]:
    """``runs`` seeds of one config, each ``steps`` points of a noisy decaying loss; their names."""
    names = [f"cfg_seed{i}" for i in range(runs)]
    rng = np.random.default_rng(0)
    for i, name in enumerate(names):
        stride = 1 if i % 2 == 0 else 2
        values = np.exp(-np.arange(steps) / steps * 3) + rng.normal(0, 0.05, steps)
        with SummaryWriter(str(root / name)) as writer:
            for step in range(0, steps * stride, stride):
                writer.add_scalar(TAG, float(values[step // stride]), step)
    return names


def time_groups(
    data: DataProvider, names: list[str], repeat: int, max_points: int | None = 2000
) -> tuple[float, list[float]]:
    """The first call's time and each further call's, in milliseconds."""
    groups = [RunGroup("cfg", tuple(names))]

    def once() -> float:
        start = time.perf_counter()
        group_series(data, TAG, groups, "std", max_points)
        return (time.perf_counter() - start) * 1000

    first = once()
    return first, [once() for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        names = write_logdir(Path(tmp) / "logs", args.runs, args.steps)
        print(
            f"wrote {args.runs} runs x {args.steps} steps in {time.perf_counter() - started:.1f} s"
        )
        data = DataProvider(Index.open(parse_logdir_spec(str(Path(tmp) / "logs")), ":memory:"))
        data.update()
        for max_points in (2000, None):
            first, times = time_groups(data, names, args.repeat, max_points)
            print(
                f"group_series, {args.runs} runs x {args.steps} steps, max_points={max_points}: "
                f"median {statistics.median(times):.1f} ms of {args.repeat} "
                f"(first call, series read from the index: {first:.1f} ms)"
            )
        data.index.close()


if __name__ == "__main__":
    main()
