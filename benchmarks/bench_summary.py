"""stepscope.summary vs torchinfo.summary on a 12-layer Transformer encoder (d_model 512).

Both summarize the same model on the same input shape in one process, in
alternating order, after one warm-up each; the median of the repeats is
reported, with the ratio and the difference in the totals each reports.

stepscope is timed three ways: as called by default (a forward and a
backward pass for the measured peak memory, allocating every result on the
device without computing it), with ``measure_memory=False`` (the forward
only), and with ``compute=True`` (every kernel run, as torchinfo's pass
does). All count what torchinfo does not (attention, activations, norms) and
check parameter sharing.

Usage::

    python benchmarks/bench_summary.py            # batch 8 x 128 tokens, 5 repeats
    python benchmarks/bench_summary.py --quick    # batch 2 x 32 tokens, 3 repeats
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torchinfo
from torch import nn

import stepscope


def build(layers: int = 12, d_model: int = 512) -> nn.Module:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model, 8, 4 * d_model, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    options = parser.parse_args()
    shape = (2, 32, 512) if options.quick else (8, 128, 512)
    repeats = options.repeats or (3 if options.quick else 5)
    torch.set_num_threads(torch.get_num_threads())
    model = build()
    runners: dict[str, Callable[[], Any]] = {
        "torchinfo": lambda: torchinfo.summary(model, input_size=shape, verbose=0),
        "stepscope (forward only)": lambda: stepscope.summary(
            model, input_size=shape, verbose=0, measure_memory=False
        ),
        "stepscope (default: + backward, measured memory)": lambda: stepscope.summary(
            model, input_size=shape, verbose=0
        ),
        "stepscope (compute=True: every kernel run)": lambda: stepscope.summary(
            model, input_size=shape, verbose=0, compute=True
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    results: dict[str, Any] = {}
    for run in runners.values():  # warm-up: allocator, thread pools, first-call costs
        run()
    for _ in range(repeats):
        for name, run in runners.items():
            seconds, results[name] = timed(run)
            times[name].append(seconds)

    print(
        f"12-layer Transformer encoder, d_model 512, input {list(shape)}, {torch.get_num_threads()} threads"
    )
    print(f"median of {repeats} after a warm-up, alternating order\n")
    base = statistics.median(times["torchinfo"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<50} {median:8.3f} s   {median / base:5.2f}x torchinfo's time")
    theirs = results["torchinfo"]
    ours = results["stepscope (default: + backward, measured memory)"]
    totals = ours.totals
    print("\nreported totals            torchinfo            stepscope")
    print(f"  total params          {theirs.total_params:>16,}  {totals.total_params:>16,}")
    print(f"  mult-adds             {theirs.total_mult_adds:>16,}  {totals.total_mult_adds:>16,}")
    print(f"  other ops             {'(not counted)':>16}  {totals.total_other_ops:>16,}")
    print(
        f"  fwd/bwd size (MB)     {theirs.total_output_bytes / 1e6:>16.2f}  {totals.forward_backward_bytes / 1e6:>16.2f}  (estimates)"
    )
    print(
        f"  measured peak (MB)    {'(not measured)':>16}  {(totals.measured_peak_bytes or 0) / 1e6:>16.2f}"
    )
    ratio = totals.total_mult_adds / max(theirs.total_mult_adds, 1)
    print(f"\ntorchinfo's mult-adds are {ratio:.0f}x too low: a Linear on [batch, tokens, d] is")
    print("counted per batch row only, and attention's matrix products are not counted.")


if __name__ == "__main__":
    main()
