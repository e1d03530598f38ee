"""What the histograms and distributions views read: ``/api/tensors`` of a histogram tag.

Whatever wrote it (torch's SummaryWriter, stepscope's, a TF2-style
``[k, 3]`` tensor written by TensorBoard's own event writer), a histogram
comes as rows of (left edge, right edge, count) per step, and values that are
not finite come as the strings JavaScript's ``Number()`` reads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

SAMPLES = 500


def logged(step: int) -> np.ndarray:
    return np.random.default_rng(step).normal(step, 1.0, SAMPLES)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.histogram import summary_v2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("histogram_views") / "logs"
    torch_writer = TorchWriter(str(root / "torch"))
    tf2_writer = EventFileWriter(str(root / "tf2"))
    with SummaryWriter(str(root / "ours")) as writer:
        for step in range(3):
            writer.add_histogram("h", logged(step), step)
            torch_writer.add_histogram("h", logged(step), step)
            summary = summary_v2.histogram_pb("h", logged(step), buckets=30)
            tf2_writer.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=summary))
        writer.add_histogram("nonfinite", np.array([1.0, 2.0, np.nan, np.inf, -np.inf]), 0)
        writer.add_histogram_raw(
            "raw", -math.inf, math.inf, 6, 0, 0, [1.0, 2.0, 3.0], [2.0, math.nan, 4.0], 0
        )
    torch_writer.close()
    tf2_writer.close()
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as found:
        yield found
    data.index.close()


def points(client: TestClient, run: str, tag: str) -> list[dict]:
    body = client.get("/api/tensors", params={"run": run, "tag": tag}).json()
    assert body["plugin"] == "histograms"
    found: list[dict] = body["points"]
    return found


@pytest.mark.parametrize("run", ["ours", "torch", "tf2"])
def test_every_writer_gives_rows_of_edges_and_counts(client: TestClient, run: str) -> None:
    found = points(client, run, "h")
    assert [p["step"] for p in found] == [0, 1, 2]
    for point in found:
        rows = np.array(point["values"], dtype=float)
        values = logged(point["step"])
        assert point["shape"] == [len(rows), 3]
        assert rows[:, 2].sum() == pytest.approx(SAMPLES)
        assert (rows[:, 1] >= rows[:, 0]).all()
        np.testing.assert_allclose(rows[1:, 0], rows[:-1, 1])  # adjacent buckets
        assert rows[0, 0] == pytest.approx(values.min())
        assert rows[-1, 1] == pytest.approx(values.max())
    if run == "tf2":
        assert len(found[0]["values"]) == 30


def test_non_finite_edges_and_counts_come_as_strings(client: TestClient) -> None:
    [point] = points(client, "ours", "raw")
    assert point["values"] == [["-Infinity", 1.0, 2.0], [1.0, 2.0, "NaN"], [2.0, "Infinity", 4.0]]
    [point] = points(client, "ours", "nonfinite")
    rows = point["values"]
    # Like torch's writer: NaN and infinities are not counted, and min and max become NaN.
    assert rows[0][0] == "NaN"
    assert rows[-1][1] == "NaN"
    assert sum(row[2] for row in rows) == 2
