"""Ingestion: TensorBoard's two loaders, tbparse and stepscope on the same logdir, in one run.

The logdir (``ingest_data.py``): 50 runs x 20 scalar tags x 5,000 steps
written by torch's SummaryWriter (5 million scalars, about 270 MB), plus 5
runs with 100 steps of a histogram and a 64x64 image.

Each reader runs in a fresh process; the clock starts when the process is
started and stops when all the data is queryable:

* TensorBoard (``--load_fast=false``: its Python loader; ``--load_fast=true``:
  its Rust data server): polled over HTTP until every run's last tag
  reaches the last step and the last image is served. Both keep only a
  sample (1,000 points per series, 10 images per tag).
* tbparse: until its ``scalars`` DataFrame is built.
* stepscope: ``stepscope.open(logdir)`` into a new index (cold) and again
  on the same index (warm restart), then a query of every point.

Peak memory is the largest summed RSS of the process and its children,
sampled every 20 ms. A last measurement appends points with torch's writer
while stepscope follows the logdir, and reports how long a flushed point
takes to become queryable.

Usage::

    python benchmarks/bench_ingest.py                 # everything (TensorBoard's Python loader takes minutes)
    python benchmarks/bench_ingest.py --skip-slow     # leave out TensorBoard's Python loader and tbparse
    python benchmarks/bench_ingest.py --runs 5 --steps 500   # a small logdir, for a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_data import ensure_logdir

# How often the follower looks at the logdir (what the dashboard will do).
FOLLOW_INTERVAL = 0.25


class TreeMemory:
    """Samples the summed RSS of a process and its children until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += process.memory_info().rss
            except psutil.NoSuchProcess:
                return
            self.peak = max(self.peak, total)
            self._stop.wait(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str, data: bytes | None = None) -> Any:
    with urllib.request.urlopen(url, data=data, timeout=30) as response:
        return json.loads(response.read())


def _tensorboard_ready(
    base: str, runs: list[str], last_tag: str, last_step: int, media: list[str]
) -> bool:
    try:
        tags = _get(base + "/data/plugin/scalars/tags")
    except OSError:
        return False
    if any(run not in tags or last_tag not in tags[run] for run in runs):
        return False
    body = urllib.parse.urlencode({"tag": last_tag, "runs": runs}, doseq=True).encode()
    series = _get(base + "/data/plugin/scalars/scalars_multirun", body)
    if any(not series.get(run) or series[run][-1][1] != last_step for run in runs):
        return False
    for run in media:
        query = urllib.parse.urlencode({"run": run, "tag": "sample"})
        try:
            images = _get(f"{base}/data/plugin/images/images?{query}")
        except OSError:
            return False
        if not images or images[-1]["step"] != 99:
            return False
    return True


def bench_tensorboard(
    logdir: str,
    load_fast: bool,
    runs: list[str],
    last_tag: str,
    last_step: int,
    media: list[str],
    timeout: float,
) -> dict[str, float]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        logdir,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        f"--load_fast={'true' if load_fast else 'false'}",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    memory = TreeMemory(process.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        while not _tensorboard_ready(base, runs, last_tag, last_step, media):
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"TensorBoard did not load the logdir in {timeout:.0f} s")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        peak = memory.stop()
        process.terminate()
        process.wait()
    return {"seconds": seconds, "peak_mb": peak / 1e6}


_TBPARSE = """
import sys, time
from tbparse import SummaryReader
frame = SummaryReader(sys.argv[1], pivot=False).scalars
print(len(frame))
"""

# Ready is when open() returns: everything is in the index and queryable. The
# count that follows checks it (and is not timed); so is closing, which
# checkpoints DuckDB's log into the database file.
_STEPSCOPE = """
import sys, time
import stepscope
logdir = stepscope.open(sys.argv[1], index=sys.argv[2])
ready = time.time()
(count,) = logdir.index.cursor().execute("SELECT count(*) FROM scalars").fetchone()
print(ready, count)
logdir.close()
"""


def bench_script(script: str, *args: str) -> dict[str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    memory = TreeMemory(process.pid)
    out, _ = process.communicate()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    if process.returncode:
        raise RuntimeError(f"the benchmark process failed with exit code {process.returncode}")
    return {"seconds": seconds, "peak_mb": peak / 1e6, "points": int(out.split()[-1])}


def bench_follow(points: int = 10) -> dict[str, float]:
    """Seconds from a torch writer's flush() to the point being queryable through stepscope."""
    from torch.utils.tensorboard import SummaryWriter

    import stepscope

    scratch = tempfile.mkdtemp(prefix="stepscope-follow-")
    logdir = os.path.join(scratch, "logs")
    writer = SummaryWriter(os.path.join(logdir, "live"))
    writer.add_scalar("loss", 0.0, 0)
    writer.flush()
    latencies = []
    flushed_at: dict[int, float] = {}

    def write() -> None:
        for step in range(1, points + 1):
            time.sleep(0.37)
            writer.add_scalar("loss", float(step), step)
            writer.flush()
            flushed_at[step] = time.perf_counter()

    try:
        with stepscope.open(logdir, index=os.path.join(scratch, "index.duckdb")) as opened:
            thread = threading.Thread(target=write)
            thread.start()
            seen = 0
            deadline = time.perf_counter() + points * 0.37 + 10
            while seen < points and time.perf_counter() < deadline:
                opened.refresh()
                series = opened.data.scalars("live", "loss")
                now = time.perf_counter()
                for step in series.steps.tolist():
                    if step > seen and step in flushed_at:
                        latencies.append(now - flushed_at[step])
                        seen = step
                time.sleep(FOLLOW_INTERVAL)
            thread.join()
    finally:
        writer.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "max_seconds": max(latencies),
        "mean_seconds": sum(latencies) / len(latencies),
        "points": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Ingestion benchmark (see the module docstring).")
    parser.add_argument("--cache", default="/tmp/stepscope-bench")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--media-runs", type=int, default=5)
    parser.add_argument(
        "--skip-slow", action="store_true", help="leave out TensorBoard's Python loader and tbparse"
    )
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    logdir = ensure_logdir(args.cache, args.runs, args.tags, args.steps, args.media_runs)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(logdir) for f in fs)
    print(f"logdir: {logdir} ({size / 1e6:.0f} MB, {args.runs * args.tags * args.steps:,} scalars)")
    runs = [f"run{i:03d}" for i in range(args.runs)]
    media = [f"media{i:02d}" for i in range(args.media_runs)]
    last_tag = f"group{(args.tags - 1) % 4}/metric{args.tags - 1:02d}"
    results: dict[str, dict[str, float]] = {}

    # Warm the page cache once, so every reader starts from the same place.
    for d, _, fs in os.walk(logdir):
        for f in fs:
            with open(os.path.join(d, f), "rb") as handle:
                while handle.read(1 << 24):
                    pass

    scratch = tempfile.mkdtemp(prefix="stepscope-bench-")
    index = os.path.join(scratch, "index.duckdb")
    try:
        results["stepscope cold"] = bench_script(_STEPSCOPE, logdir, index)
        print("stepscope cold:", results["stepscope cold"], flush=True)
        results["stepscope warm"] = bench_script(_STEPSCOPE, logdir, index)
        print("stepscope warm:", results["stepscope warm"], flush=True)
        results["TensorBoard Rust"] = bench_tensorboard(
            logdir, True, runs, last_tag, args.steps - 1, media, args.timeout
        )
        print("TensorBoard --load_fast=true:", results["TensorBoard Rust"], flush=True)
        if not args.skip_slow:
            results["tbparse"] = bench_script(_TBPARSE, logdir)
            print("tbparse:", results["tbparse"], flush=True)
            results["TensorBoard Python"] = bench_tensorboard(
                logdir, False, runs, last_tag, args.steps - 1, media, args.timeout
            )
            print("TensorBoard --load_fast=false:", results["TensorBoard Python"], flush=True)
        follow = bench_follow()
        print("flush to queryable:", follow, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    cold = results["stepscope cold"]
    print()
    print(f"{'reader':<22}{'seconds':>10}{'peak MB':>10}{'stepscope faster by':>22}")
    for name, figures in results.items():
        ratio = figures["seconds"] / cold["seconds"]
        print(f"{name:<22}{figures['seconds']:>10.2f}{figures['peak_mb']:>10.0f}{ratio:>21.2f}x")
    print(
        f"warm restart: {results['stepscope warm']['seconds']:.2f} s; "
        f"flushed point queryable within {follow['max_seconds']:.2f} s (mean {follow['mean_seconds']:.2f} s)"
    )


if __name__ == "__main__":
    main()
