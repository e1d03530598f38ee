"""Writer throughput: torch's SummaryWriter vs tensorboardX's vs stepscope's.

Each measurement runs in a fresh process (so imports, threads and memory do
not leak between writers), in alternating order, and the median of the
repeats is reported. Every worker builds the same inputs (torch tensors from
the same seed) before the clock starts; the clock covers the calls and the
final ``close()``, i.e. until everything is on disk.

Workloads (from the issue):

* ``scalar``:    200,000 ``add_scalar`` calls over 10 tags (Python floats)
* ``histogram``: 200 ``add_histogram`` calls of 1,000,000 float32 values
* ``image``:     200 ``add_image`` calls of a 3x256x256 float tensor

torch's writer is also measured pinned to one core ("torch 1-core"), where
it runs faster; the ratio is reported against its better figure.

Usage::

    python benchmarks/bench_writer.py              # the full run (a few minutes)
    python benchmarks/bench_writer.py --quick      # 1/10 of the work, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

WORKLOADS: dict[str, dict[str, int]] = {
    "scalar": {"calls": 200_000},
    "histogram": {"calls": 200},
    "image": {"calls": 200},
}
WRITERS = ("torch", "torch 1-core", "tensorboardX", "stepscope")


def _writer_class(name: str) -> Any:
    if name.startswith("torch"):
        from torch.utils.tensorboard import SummaryWriter
    elif name == "tensorboardX":
        from tensorboardX import SummaryWriter
    else:
        from stepscope import SummaryWriter
    return SummaryWriter


def _run_worker(writer_name: str, workload: str, calls: int, logdir: str) -> dict[str, float]:
    """Time one workload with one writer in this process."""
    import torch

    if writer_name == "torch 1-core":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    torch.manual_seed(0)
    SummaryWriter = _writer_class(writer_name)
    tags = [f"metrics/tag_{i}" for i in range(10)]
    values = torch.rand(calls).tolist()
    histogram = torch.randn(1_000_000)
    image = torch.rand(3, 256, 256)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    writer = SummaryWriter(logdir)
    start = time.perf_counter()
    if workload == "scalar":
        for i in range(calls):
            writer.add_scalar(tags[i % 10], values[i], i)
    elif workload == "histogram":
        for i in range(calls):
            writer.add_histogram("weights", histogram, i)
    else:
        for i in range(calls):
            writer.add_image("image", image, i)
    writer.close()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "calls_per_s": calls / seconds,
        "peak_mb": peak / 1024,
        "growth_mb": (peak - rss_before) / 1024,
    }


def _measure(writer_name: str, workload: str, calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench_writer_") as logdir:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", writer_name, workload, str(calls), logdir],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1/10 of the calls, 1 repeat")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, workload, calls, logdir = args.worker
        print(json.dumps(_run_worker(name, workload, int(calls), logdir)))
        return
    repeats = 1 if args.quick else args.repeats
    print(f"cores: {len(os.sched_getaffinity(0))}, repeats: {repeats} (median shown)")
    for workload in args.workload or list(WORKLOADS):
        calls = WORKLOADS[workload]["calls"] // (10 if args.quick else 1)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in WRITERS}
        for _ in range(repeats):
            for name in WRITERS:  # alternating: one of each per round
                results[name].append(_measure(name, workload, calls))
        _report(workload, calls, results)


def _report(workload: str, calls: int, results: dict[str, list[dict[str, float]]]) -> None:
    median = {
        name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    torch_best = max(median["torch"]["calls_per_s"], median["torch 1-core"]["calls_per_s"])
    torch_peak = median["torch"]["peak_mb"]
    print(f"\n{workload}: {calls} calls")
    header = f"  {'writer':<14}{'calls/s':>12}{'vs torch':>10}{'peak MB':>10}{'vs torch':>10}"
    print(header + "   calls/s of each repeat")
    for name in WRITERS:
        row = median[name]
        each = " ".join(f"{r['calls_per_s']:.1f}" for r in results[name])
        print(
            f"  {name:<14}{row['calls_per_s']:>12,.1f}{row['calls_per_s'] / torch_best:>9.2f}x"
            f"{row['peak_mb']:>10.0f}{row['peak_mb'] / torch_peak:>9.2f}x   {each}"
        )


if __name__ == "__main__":
    main()
