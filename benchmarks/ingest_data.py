"""The logdir bench_ingest.py reads: written by torch's SummaryWriter, cached between runs.

Layout (the issue's): ``runs`` runs x ``tags`` scalar tags x ``steps`` steps,
plus ``media_runs`` runs holding 100 steps of one histogram and one 64x64
image. Runs are written in parallel processes (torch's writer does about
13,000 scalars a second, so 5 million take a while); the logdir is kept
under ``--cache`` and reused while its parameters match.

Usage::

    python benchmarks/ingest_data.py --cache /tmp/stepscope-bench   # prints the logdir
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil


def _write_scalar_run(logdir: str, run: int, tags: int, steps: int) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(os.path.join(logdir, f"run{run:03d}"))
    for step in range(steps):
        for tag in range(tags):
            # A noisy decaying curve with a rare spike, so downsampling has something to keep.
            value = (
                1.0 / (1 + step * 0.01 * (tag + 1)) + ((step * 7919 + tag * 104729) % 1000) * 1e-5
            )
            if (step + tag * 37) % 1999 == 0:
                value += 10.0
            writer.add_scalar(f"group{tag % 4}/metric{tag:02d}", value, step)
    writer.close()


def _write_media_run(logdir: str, run: int) -> None:
    import numpy as np
    import torch
    from torch.utils.tensorboard import SummaryWriter

    generator = np.random.default_rng(run)
    writer = SummaryWriter(os.path.join(logdir, f"media{run:02d}"))
    for step in range(100):
        writer.add_histogram("weights", torch.from_numpy(generator.normal(size=10_000)), step)
        image = generator.integers(0, 255, size=(3, 64, 64), dtype=np.uint8)
        writer.add_image("sample", torch.from_numpy(image), step)
    writer.close()


def ensure_logdir(cache: str, runs: int, tags: int, steps: int, media_runs: int) -> str:
    """The logdir for these parameters, written now unless a complete one is cached."""
    params = {"runs": runs, "tags": tags, "steps": steps, "media_runs": media_runs, "v": 1}
    name = "logdir-" + "-".join(f"{k}{v}" for k, v in params.items())
    logdir = os.path.join(cache, name)
    marker = os.path.join(cache, name + ".done")
    if os.path.exists(marker):
        return logdir
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    workers = len(os.sched_getaffinity(0))
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        jobs = [pool.submit(_write_scalar_run, logdir, run, tags, steps) for run in range(runs)]
        jobs += [pool.submit(_write_media_run, logdir, run) for run in range(media_runs)]
        for job in jobs:
            job.result()
    with open(marker, "w") as f:
        json.dump(params, f)
    return logdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default="/tmp/stepscope-bench")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--media-runs", type=int, default=5)
    args = parser.parse_args()
    print(ensure_logdir(args.cache, args.runs, args.tags, args.steps, args.media_runs))


if __name__ == "__main__":
    main()
