"""The API of the mesh plugin: ``/api/plugins/mesh/meshes`` and ``/api/plugins/mesh/mesh``.

Logdirs are written by torch's own SummaryWriter and by stepscope's; the
answers are checked against what was logged, including parts that do not
fit together (which torch writes without a word).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from stepscope import SummaryWriter
from stepscope.loader.discovery import parse_logdir_spec
from stepscope.plugins.mesh.read import BINARY_MESH
from stepscope.server.app import create_app
from stepscope.store.index import Index
from stepscope.store.provider import DataProvider

# A tetrahedron: 4 vertices, 4 faces.
TETRA = np.array([[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]], dtype=np.float32)
TETRA_FACES = np.array([[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]], dtype=np.int32)
TETRA_COLORS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]], dtype=np.uint8)
CONFIG = {"material": {"cls": "PointsMaterial", "size": 0.2}, "camera": {"fov": 60}}


def cloud(step: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(step)
    return rng.normal(size=(1, count, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    import torch
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    root = tmp_path_factory.mktemp("mesh") / "logs"
    writer = TorchWriter(str(root / "torch"))
    # A point cloud without colours or faces, growing step by step.
    for step, count in enumerate([10, 20]):
        writer.add_mesh("cloud", torch.from_numpy(cloud(step, count)), global_step=step)
    # The torch docstring's example: a tetrahedron with int colours and faces.
    writer.add_mesh(
        "tetra",
        torch.from_numpy(TETRA[None]),
        colors=torch.from_numpy(TETRA_COLORS[None].astype(np.int32)),
        faces=torch.from_numpy(TETRA_FACES[None]),
        config_dict=CONFIG,
        global_step=3,
    )
    # Float colours in [0, 1], as torch documents for floats.
    writer.add_mesh(
        "fractions",
        torch.from_numpy(TETRA[None]),
        colors=torch.full((1, 4, 3), 0.5),
        global_step=0,
    )
    # B=2: two meshes in one batch, of the same size.
    batch = np.stack([TETRA, TETRA * 2])
    writer.add_mesh(
        "pair", torch.from_numpy(batch), faces=torch.from_numpy(np.stack([TETRA_FACES] * 2))
    )
    # What torch writes without checking: parts that do not fit.
    twelve = torch.from_numpy(cloud(0, 12))
    writer.add_mesh("few_colors", twelve, colors=torch.full((1, 10, 3), 200.0))
    writer.add_mesh("far_face", torch.from_numpy(TETRA[None]), faces=torch.tensor([[[0, 1, 4]]]))
    writer.add_mesh(
        "negative_face", torch.from_numpy(TETRA[None]), faces=torch.tensor([[[0, -1, 2]]])
    )
    writer.add_mesh(
        "half_face", torch.from_numpy(TETRA[None]), faces=torch.tensor([[[0, 1], [2, 3]]])
    )
    writer.add_mesh("pair_one_color", torch.from_numpy(batch), colors=torch.zeros(1, 4, 3))
    writer.add_mesh("nan_point", torch.tensor([[[0.0, 0.0, 0.0], [float("nan"), 1.0, 2.0]]]))
    writer.add_mesh(
        "fraction_face", torch.from_numpy(TETRA[None]), faces=torch.tensor([[[0.0, 1.5, 2.0]]])
    )
    writer.close()

    with SummaryWriter(str(root / "ours")) as ours:
        cube = np.array(
            [[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=np.float32
        )
        faces = np.array(
            [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
             [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
            dtype=np.int64,
        )  # fmt: skip
        colors = np.tile(np.array([[0, 128, 255]], dtype=np.uint8), (8, 1))
        for step in (0, 10):
            ours.add_mesh(
                "cube",
                cube[None] * (step + 1),
                colors[None],
                faces[None],
                {"camera": {"fov": 40}},
                step,
            )
        ours.add_mesh(
            "cube", cube[None] * 100, colors[None], faces[None], global_step=10
        )  # logged again: wins
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as found:
        yield found
    data.index.close()


def mesh(client: TestClient, run: str, name: str, step: int = 0, **extra: Any) -> dict[str, Any]:
    response = client.get(
        "/api/plugins/mesh/mesh", params={"run": run, "name": name, "step": step, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listing(client: TestClient, run: str) -> dict[str, dict[str, Any]]:
    response = client.get("/api/plugins/mesh/meshes", params={"run": run})
    assert response.status_code == 200, response.text
    return {m["name"]: m for m in response.json()["meshes"]}


def test_meshes_lists_components_steps_and_config(client: TestClient) -> None:
    found = listing(client, "torch")
    assert sorted(found) == sorted(
        [
            "cloud",
            "tetra",
            "fractions",
            "pair",
            "few_colors",
            "far_face",
            "negative_face",
            "half_face",
            "pair_one_color",
            "nan_point",
            "fraction_face",
        ]
    )
    assert found["cloud"]["components"] == ["VERTEX"]
    assert found["cloud"]["steps"] == [0, 1]
    assert found["cloud"]["config"] == {}  # torch writes "{}" without a config
    assert found["tetra"]["components"] == ["VERTEX", "FACE", "COLOR"]
    assert found["tetra"]["steps"] == [3]
    assert found["tetra"]["config"] == CONFIG
    assert found["tetra"]["shapes"] == {"VERTEX": [1, 4, 3], "FACE": [1, 4, 3], "COLOR": [1, 4, 3]}
    ours = listing(client, "ours")
    assert list(ours) == ["cube"]
    assert ours["cube"]["steps"] == [0, 10]
    assert ours["cube"]["config"] == {"camera": {"fov": 40}}
    one = client.get("/api/plugins/mesh/meshes", params={"run": "torch", "name": "tetra"}).json()[
        "meshes"
    ]
    assert [m["name"] for m in one] == ["tetra"]


def test_a_point_cloud_comes_as_flat_vertices_without_faces(client: TestClient) -> None:
    for step, count in enumerate([10, 20]):
        body = mesh(client, "torch", "cloud", step)
        assert body["vertex_count"] == count
        assert body["face_count"] == 0
        assert body["faces"] is None
        assert body["colors"] is None
        assert body["has_colors"] is False
        assert body["problem"] is None
        assert body["items"] == 1
        np.testing.assert_allclose(
            np.reshape(body["vertices"], (-1, 3)), cloud(step, count)[0], rtol=1e-6
        )


def test_a_mesh_comes_with_its_faces_and_colours(client: TestClient) -> None:
    body = mesh(client, "torch", "tetra", 3)
    assert body["step"] == 3
    assert body["problem"] is None
    assert body["vertices"] == TETRA.reshape(-1).tolist()
    assert body["faces"] == TETRA_FACES.reshape(-1).tolist()
    assert body["colors"] == TETRA_COLORS.reshape(-1).tolist()
    assert (body["vertex_count"], body["face_count"]) == (4, 4)


def test_float_colours_within_one_are_fractions(client: TestClient) -> None:
    assert mesh(client, "torch", "fractions")["colors"] == [128] * 12


def test_our_writer_mesh_and_the_last_logged_at_a_step_wins(client: TestClient) -> None:
    first = mesh(client, "ours", "cube", 0)
    assert (first["vertex_count"], first["face_count"]) == (8, 12)
    assert max(first["vertices"]) == 1
    assert first["colors"][:3] == [0, 128, 255]
    assert max(mesh(client, "ours", "cube", 10)["vertices"]) == 100


def test_each_item_of_a_batch_is_a_mesh(client: TestClient) -> None:
    first = mesh(client, "torch", "pair", item=0)
    second = mesh(client, "torch", "pair", item=1)
    assert first["items"] == second["items"] == 2
    assert first["vertices"] == TETRA.reshape(-1).tolist()
    assert second["vertices"] == (TETRA * 2).reshape(-1).tolist()
    assert second["faces"] == TETRA_FACES.reshape(-1).tolist()
    missing = client.get(
        "/api/plugins/mesh/mesh", params={"run": "torch", "name": "pair", "step": 0, "item": 2}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == (
        "mesh 'pair' of run 'torch' has 2 item(s) at step 0, so no item 2"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (
            "few_colors",
            "there are 10 colors for 12 vertices; give one color per vertex (item 0 at step 0)",
        ),
        (
            "far_face",
            "face index 4 is out of range: there are 4 vertices (indices 0 to 3) (item 0 at step 0)",
        ),
        (
            "negative_face",
            "face index -1 is out of range: there are 4 vertices (indices 0 to 3) (item 0 at step 0)",
        ),
        ("half_face", "faces hold 4 indices, not a multiple of 3 (item 0 at step 0)"),
        ("pair_one_color", "colors have a batch of 1 but vertices 2 (item 0 at step 0)"),
        ("nan_point", "1 of 2 vertices have NaN or infinite coordinates (item 0 at step 0)"),
        ("fraction_face", "face indices must be whole numbers (item 0 at step 0)"),
    ],
)
def test_parts_that_do_not_fit_come_as_a_problem_and_nothing_to_draw(
    client: TestClient, name: str, problem: str
) -> None:
    body = mesh(client, "torch", name)
    assert body["problem"] == problem
    assert body["vertices"] == []
    assert body["faces"] is None
    assert body["colors"] is None
    assert body["vertex_count"] == 0


def test_the_binary_form_holds_the_same_arrays(client: TestClient) -> None:
    response = client.get(
        "/api/plugins/mesh/mesh",
        params={"run": "torch", "name": "tetra", "step": 3, "format": "binary"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == BINARY_MESH
    raw = response.content
    assert raw[:4] == b"SSM1"
    (length,) = struct.unpack("<I", raw[4:8])
    header = json.loads(raw[8 : 8 + length])
    assert (8 + length) % 4 == 0
    assert header["vertex_count"] == 4
    assert header["face_count"] == 4
    assert header["has_colors"]
    offset = 8 + length
    vertices = np.frombuffer(raw, "<f4", 12, offset)
    faces = np.frombuffer(raw, "<u4", 12, offset + 48)
    colors = np.frombuffer(raw, np.uint8, 12, offset + 96)
    assert len(raw) == offset + 48 + 48 + 12
    np.testing.assert_array_equal(vertices, TETRA.reshape(-1))
    np.testing.assert_array_equal(faces, TETRA_FACES.reshape(-1))
    np.testing.assert_array_equal(colors, TETRA_COLORS.reshape(-1))


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/api/plugins/mesh/meshes", {"run": "nope"}, 404, "no run named 'nope' in this logdir"),
        (
            "/api/plugins/mesh/meshes",
            {"run": "torch", "name": "nope"},
            404,
            "run 'torch' has no mesh 'nope'",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "nope", "step": 0},
            404,
            "run 'torch' has no mesh 'nope'",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "tetra", "step": 4},
            404,
            "mesh 'tetra' of run 'torch' has no step 4",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "tetra"},
            400,
            "bad parameter 'step': Field required",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "tetra", "step": "x"},
            400,
            "bad parameter 'step'",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "tetra", "step": 3, "item": -1},
            400,
            "bad parameter 'item'",
        ),
        (
            "/api/plugins/mesh/mesh",
            {"run": "torch", "name": "tetra", "step": 3, "format": "xml"},
            400,
            "bad parameter 'format'",
        ),
    ],
)
def test_errors_are_one_line_in_the_one_shape(
    client: TestClient, path: str, params: dict[str, Any], status: int, message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["error"]["status"] == status
    assert response.json()["error"]["message"].startswith(message)


def test_a_large_cloud_stays_compact(tmp_path: Path) -> None:
    """100,000 coloured points: about 1.5 MB in binary; the JSON twin is a few times that."""
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "big")) as writer:
        rng = np.random.default_rng(0)
        points = rng.normal(size=(1, 100_000, 3)).astype(np.float32)
        colors = rng.integers(0, 256, size=(1, 100_000, 3), dtype=np.uint8)
        writer.add_mesh("big", points, colors, global_step=0)
    data = DataProvider(Index.open(parse_logdir_spec(str(root)), ":memory:"))
    data.update()
    with TestClient(create_app(data)) as client:
        params = {"run": "big", "name": "big", "step": 0}
        binary = client.get("/api/plugins/mesh/mesh", params={**params, "format": "binary"})
        assert len(binary.content) < 100_000 * 15 + 1000
        body = client.get("/api/plugins/mesh/mesh", params=params).json()
        assert body["vertex_count"] == 100_000
        np.testing.assert_allclose(np.reshape(body["vertices"], (-1, 3)), points[0], rtol=1e-6)
    data.index.close()
