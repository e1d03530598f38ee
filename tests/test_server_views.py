"""The API of the views beyond scalars (issue 5's data): tensors, images and audio, hparams.

Logdirs are written by torch's own SummaryWriter and by stepscope's; the
answers are checked against what was logged.
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.server.jsonable import PREVIEW
from stepscope.server.jsonable import tensor_values as _values
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

TEXT = "# Results\n\n| a | b |\n|---|---|\n| 1 | <script>x</script> |"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("views") / "logs"
    image = np.zeros((3, 8, 12), dtype=np.float32)
    image[0] = 1.0  # red
    with SummaryWriter(str(root / "ours")) as writer:
        for step in range(3):
            writer.add_histogram("weights", np.arange(10.0) + step, step)
            writer.add_image("sample", image, step)
        writer.add_text("notes", TEXT, 0)
        writer.add_audio("clip", np.sin(np.linspace(0, 20, 800)), 0, sample_rate=8000)
        writer.add_pr_curve("pr", np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.6, 0.4]), 0)
        writer.add_scalar("loss", 0.5, 0)
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_hparams({"lr": 0.1, "bs": 32, "opt": "adam"}, {"hparam/acc": 0.875})
    torch_writer.close()
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as found:
        yield found
    data.index.close()


def test_histograms_come_as_bucket_rows_per_step(client: TestClient) -> None:
    body = client.get("/api/tensors", params={"run": "ours", "tag": "weights"}).json()
    assert body["plugin"] == "histograms"
    assert [p["step"] for p in body["points"]] == [0, 1, 2]
    for step, point in enumerate(body["points"]):
        rows = point["values"]
        assert point["shape"] == [len(rows), 3]
        assert sum(row[2] for row in rows) == 10  # every value counted once
        assert rows[0][0] == pytest.approx(step)  # the lowest bucket starts at the minimum
        assert point["truncated"] is False
    thinned = client.get(
        "/api/tensors", params={"run": "ours", "tag": "weights", "max_points": 2}
    ).json()
    assert [p["step"] for p in thinned["points"]] == [0, 2]


def test_text_comes_as_the_logged_string_unrendered(client: TestClient) -> None:
    # torch's add_text (and ours, its drop-in) logs under "<tag>/text_summary".
    body = client.get("/api/tensors", params={"run": "ours", "tag": "notes/text_summary"}).json()
    assert body["plugin"] == "text"
    [point] = body["points"]
    assert point["shape"] == [1]
    assert point["values"] == [TEXT]  # as data: the page will render and sanitize it


def test_pr_curves_come_as_six_rows_of_thresholds(client: TestClient) -> None:
    body = client.get("/api/tensors", params={"run": "ours", "tag": "pr"}).json()
    assert body["plugin"] == "pr_curves"
    [point] = body["points"]
    assert point["shape"][0] == 6
    true_positives = point["values"][0]
    assert true_positives[0] == 3  # at the lowest threshold every positive is found


def test_images_are_listed_with_urls_whose_bytes_are_cached_for_good(client: TestClient) -> None:
    body = client.get("/api/blobs", params={"run": "ours", "tag": "sample"}).json()
    assert [b["step"] for b in body["blobs"]] == [0, 1, 2]
    first = body["blobs"][0]
    assert (first["width"], first["height"]) == (12, 8)
    response = client.get("/" + first["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["x-content-type-options"] == "nosniff"
    pixel = Image.open(io.BytesIO(response.content)).convert("RGB").getpixel((5, 5))
    assert pixel == (255, 0, 0)
    stale = client.get("/api/blob", params={"run": "ours", "tag": "sample", "step": 0, "v": "old"})
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"
    missing = client.get("/api/blob", params={"run": "ours", "tag": "sample", "step": 7})
    assert missing.status_code == 404
    assert "step 7" in missing.json()["error"]["message"]


def test_audio_is_served_as_wav(client: TestClient) -> None:
    [clip] = client.get("/api/blobs", params={"run": "ours", "tag": "clip"}).json()["blobs"]
    response = client.get("/" + clip["url"])
    assert response.headers["content-type"].startswith("audio/")
    with wave.open(io.BytesIO(response.content)) as read:
        assert read.getframerate() == 8000
        assert read.getnframes() == 800


def test_hparams_sessions_hold_hparams_and_final_metrics(client: TestClient) -> None:
    sessions = client.get("/api/plugins/hparams/sessions").json()["sessions"]
    [session] = [s for s in sessions if s["run"].startswith("torch/")]
    assert session["hparams"] == {"lr": 0.1, "bs": 32, "opt": "adam"}
    assert session["metrics"]["hparam/acc"] == pytest.approx(0.875)


def test_unknown_runs_and_tags_and_bad_parameters(client: TestClient) -> None:
    missing = client.get("/api/tensors", params={"run": "nope", "tag": "weights"})
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "no run named 'nope' in this logdir"
    assert client.get("/api/tensors", params={"run": "ours", "tag": "nope"}).status_code == 404
    bad = client.get("/api/blob", params={"run": "ours", "tag": "sample", "step": "x"})
    assert bad.status_code == 400
    assert "step" in bad.json()["error"]["message"]
    assert client.get("/api/tensors", params={"run": "ours"}).status_code == 400


def test_huge_tensors_come_as_a_preview_and_non_finite_values_as_strings() -> None:
    huge = _values(np.arange(200_001, dtype=np.float64))
    assert huge["truncated"] is True
    assert huge["values"] == list(map(float, range(PREVIEW)))
    odd = _values(np.array([math.nan, math.inf, -math.inf, 1.5]))
    assert odd == {"values": ["NaN", "Infinity", "-Infinity", 1.5], "truncated": False}
    text = _values(np.array([b"caf\xc3\xa9", b"\xff"], dtype=object))
    assert text["values"] == ["café", "\ufffd"]


def test_complex_values_and_integers_beyond_two_to_the_53_survive_json(tmp_path) -> None:
    from stepscope.proto import summary_pb2
    from stepscope.tensors import to_tensor_proto

    with SummaryWriter(str(tmp_path / "run")) as writer:
        for tag, array in {
            "odd/complex": np.array([1 + 2j, complex(float("nan"), -1)], dtype=np.complex64),
            "odd/int64": np.array([2**62 + 1, -5], dtype=np.int64),
        }.items():
            metadata = summary_pb2.SummaryMetadata()
            metadata.plugin_data.plugin_name = "my_plugin"
            value = summary_pb2.Summary.Value(
                tag=tag, metadata=metadata, tensor=to_tensor_proto(array)
            )
            writer._get_file_writer().add_summary(summary_pb2.Summary(value=[value]), 0)
    data = DataProvider(Index.open(parse_logdir_spec(str(tmp_path)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as client:
        found = client.get("/api/tensors", params={"run": "run", "tag": "odd/complex"}).json()
        assert found["points"][0]["values"] == [[1.0, 2.0], ["NaN", -1.0]]
        found = client.get("/api/tensors", params={"run": "run", "tag": "odd/int64"}).json()
        assert found["points"][0]["values"] == [str(2**62 + 1), -5]
