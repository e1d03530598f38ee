"""PR curves through /api/tensors, as the PR curves view reads them.

torch's SummaryWriter and stepscope's write the same curves; each comes back
as [6, N] rows, value for value, with NaN precision or recall (from
``add_pr_curve_raw``) as the string "NaN" that the page turns into a number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.pr_curves.summary import compute_curve
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

RNG = np.random.default_rng(3)
LABELS = RNG.integers(0, 2, 100).astype(bool)
SCORES = np.clip(LABELS * 0.3 + RNG.uniform(0, 0.7, 100), 0, 1)
# Precision divided without a guard: 0/0 (NaN) above every score.
NAIVE = compute_curve(LABELS, SCORES * 0.5, 11)
with np.errstate(invalid="ignore"):
    NAIVE[4] = NAIVE[0] / (NAIVE[0] + NAIVE[1])


def log_curves(writer: Any) -> None:
    for step in range(2):
        writer.add_pr_curve("pr/fine", LABELS, SCORES, step)
        writer.add_pr_curve("pr/coarse", LABELS, SCORES, step, num_thresholds=11)
    writer.add_pr_curve_raw("pr/naive", *NAIVE, global_step=0, num_thresholds=11)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("prcurves") / "logs"
    torch_writer = TorchWriter(str(root / "torch"))
    log_curves(torch_writer)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        log_curves(writer)
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as found:
        yield found
    data.index.close()


def rows(client: TestClient, run: str, tag: str) -> list[dict[str, Any]]:
    body = client.get("/api/tensors", params={"run": run, "tag": tag}).json()
    assert body["plugin"] == "pr_curves"
    points: list[dict[str, Any]] = body["points"]
    return points


@pytest.mark.parametrize("run", ["torch", "ours"])
@pytest.mark.parametrize(("tag", "thresholds"), [("pr/fine", 127), ("pr/coarse", 11)])
def test_pr_curves_come_value_for_value(
    client: TestClient, run: str, tag: str, thresholds: int
) -> None:
    points = rows(client, run, tag)
    assert [p["step"] for p in points] == [0, 1]
    expected = compute_curve(LABELS, SCORES, thresholds).astype(np.float32)
    for point in points:
        assert point["shape"] == [6, thresholds]
        assert point["truncated"] is False
        np.testing.assert_array_equal(np.array(point["values"], dtype=np.float32), expected)


@pytest.mark.parametrize("run", ["torch", "ours"])
def test_nan_precision_comes_as_a_string_the_page_reads(client: TestClient, run: str) -> None:
    [point] = rows(client, run, "pr/naive")
    precision = point["values"][4]
    undefined = [i for i, v in enumerate(precision) if v == "NaN"]
    assert undefined == [i for i in range(11) if math.isnan(NAIVE[4][i])]
    assert 0 < len(undefined) < 11
    # Everything else is a plain number.
    assert all(isinstance(v, float | int) for i, v in enumerate(precision) if i not in undefined)
