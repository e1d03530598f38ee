"""Meshes of tensorboardX in a real Chromium, beside torch's (issue 14, bug 1).

tensorboardX's ``add_mesh`` names the parts' tags ``<tag>_1``, ``<tag>_2``,
``<tag>_3`` (torch's ``<tag>_VERTEX``, ...); both say in the mesh metadata
which mesh and which part a tag is, and the page finds the meshes from it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from browser_support import snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect

BACKGROUND = (240, 242, 245)  # #f0f2f5, the drawing's background
TETRA = [[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]
TETRA_FACES = [[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]
TETRA_COLORS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]


def write_logdir(root: Path) -> None:
    import torch
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    x = XWriter(str(root / "tbx"))
    for step in (0, 3):
        x.add_mesh(
            "tetra",
            torch.tensor([TETRA], dtype=torch.float) * (step + 1),
            colors=torch.tensor([TETRA_COLORS], dtype=torch.int),
            faces=torch.tensor([TETRA_FACES], dtype=torch.int),
            global_step=step,
        )
    cloud = np.random.default_rng(0).normal(size=(1, 600, 3)).astype(np.float32)
    x.add_mesh("cloud", torch.from_numpy(cloud), global_step=0)  # no colours, no faces
    x.close()
    t = TorchWriter(str(root / "torch"))
    t.add_mesh(
        "tetra",
        torch.tensor([TETRA], dtype=torch.float),
        colors=torch.tensor([TETRA_COLORS], dtype=torch.int),
        faces=torch.tensor([TETRA_FACES], dtype=torch.int),
        global_step=0,
    )
    t.close()


def mesh_card(page: Page, run: str, name: str) -> Locator:
    return page.locator(f'.mesh-card[data-run="{run}"][data-mesh="{name}"]')


def pixels(canvas: Locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)


def test_tensorboardx_meshes_are_drawn_beside_torchs(
    start_server, open_page, tmp_path: Path
) -> None:
    root = tmp_path / "meshes"
    write_logdir(root)
    page = open_page(start_server(root).url + "#tab=mesh").page
    # One card per run and mesh (not per tag: tensorboardX's tetra is three tags).
    expect(page.locator(".mesh-card")).to_have_count(3, timeout=10_000)
    names = page.locator(".mesh-card .card-title").all_text_contents()
    assert sorted(names) == ["cloud", "tetra", "tetra"], names

    for run in ("tbx", "torch"):
        tetra = mesh_card(page, run, "tetra")
        tetra.scroll_into_view_if_needed()
        expect(tetra).to_have_attribute("data-state", "drawn", timeout=15_000)
        expect(tetra).to_have_attribute("data-faces", "4")
        expect(tetra).to_have_attribute("data-vertices", "4")
        shot = pixels(tetra.locator("canvas"))
        covered = np.abs(shot - np.array(BACKGROUND)).max(axis=2) > 30
        assert covered.mean() > 0.05, (run, covered.mean())  # a solid surface
        for channel in range(3):  # the vertex colours: red, green and blue corners show
            others = np.delete(shot, channel, axis=2).max(axis=2)
            assert (shot[..., channel] - others > 60).sum() > 30, (run, channel)
    tbx = mesh_card(page, "tbx", "tetra")
    expect(tbx).to_have_attribute("data-step", "3")  # the last step first
    expect(tbx.locator(".step-label")).to_contain_text("2 of 2")
    expect(tbx.locator(".step-label")).to_contain_text("4 vertices, 4 faces")

    cloud = mesh_card(page, "tbx", "cloud")
    cloud.scroll_into_view_if_needed()
    expect(cloud).to_have_attribute("data-state", "drawn", timeout=15_000)
    expect(cloud).to_have_attribute("data-faces", "0")
    expect(cloud.locator(".step-label")).to_contain_text("600 points")
    drawn = np.abs(pixels(cloud.locator("canvas")) - np.array(BACKGROUND)).max(axis=2) > 30
    assert drawn.sum() > 600, drawn.sum()

    # The tag filter picks meshes by name.
    page.get_by_placeholder("Filter tags (regex)").fill("^cloud$")
    expect(page.locator(".mesh-card")).to_have_count(1)
    expect(mesh_card(page, "tbx", "cloud")).to_be_visible()
    page.get_by_placeholder("Filter tags (regex)").fill("")
    expect(page.locator(".mesh-card")).to_have_count(3)
    snapshot(page, "kinds_mesh_tensorboardx_beside_torch")
