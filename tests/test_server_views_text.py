"""What the text, audio and raw-tensor views ask of the API, beyond what ``add_*`` writes.

TF2's text summaries (rank 0 and rank 2 string tensors), a plugin stepscope
has no view for, and audio bytes that are no WAV, written as hand-built
summaries through our writer's file writer (torch's ``add_summary`` path).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

NOT_AUDIO = b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(64))


def tensor_summary(tag: str, plugin: str, array: np.ndarray[Any, Any]) -> summary_pb2.Summary:
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )
    value = summary_pb2.Summary.Value(
        tag=tag, metadata=metadata, tensor=tensor_util.make_tensor_proto(array)
    )
    return summary_pb2.Summary(value=[value])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("views_text") / "logs"
    with SummaryWriter(str(root / "run")) as writer:
        raw = writer._get_file_writer()
        raw.add_summary(tensor_summary("note", "text", np.array("*hi*", dtype=object)), 1)
        grid = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object)
        raw.add_summary(tensor_summary("grid", "text", grid), 2)
        for step in range(3):
            values = np.full((2, 3), float(step), dtype=np.float32)
            values[0, 0] = np.nan
            raw.add_summary(tensor_summary("custom", "my_plugin", values), step)
        audio = summary_pb2.Summary.Audio(
            sample_rate=44100,
            num_channels=1,
            encoded_audio_string=NOT_AUDIO,
            content_type="audio/wav",
        )
        raw.add_summary(
            summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="noise", audio=audio)]), 0
        )
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as found:
        yield found
    data.index.close()


def test_tf2_text_of_rank_0_and_2_keeps_its_shape(client: TestClient) -> None:
    note = client.get("/api/tensors", params={"run": "run", "tag": "note"}).json()
    assert note["plugin"] == "text"
    [point] = note["points"]
    assert (point["shape"], point["values"]) == ([], "*hi*")
    grid = client.get("/api/tensors", params={"run": "run", "tag": "grid"}).json()
    [point] = grid["points"]
    assert point["shape"] == [3, 2]
    assert point["values"] == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_a_plugin_without_a_view_is_listed_and_its_tensors_come_whole(client: TestClient) -> None:
    tags = client.get("/api/tags").json()
    assert tags["run"]["custom"]["plugin"] == "my_plugin"
    body = client.get("/api/tensors", params={"run": "run", "tag": "custom"}).json()
    assert body["plugin"] == "my_plugin"
    assert [p["step"] for p in body["points"]] == [0, 1, 2]
    last = body["points"][-1]
    assert (last["dtype"], last["shape"], last["truncated"]) == ("float32", [2, 3], False)
    assert last["values"] == [["NaN", 2.0, 2.0], [2.0, 2.0, 2.0]]


def test_audio_bytes_come_as_logged_even_when_they_are_no_wav(client: TestClient) -> None:
    [clip] = client.get("/api/blobs", params={"run": "run", "tag": "noise"}).json()["blobs"]
    assert (clip["content_type"], clip["length"]) == ("audio/wav", len(NOT_AUDIO))
    response = client.get("/" + clip["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == NOT_AUDIO
