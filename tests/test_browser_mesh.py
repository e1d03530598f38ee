"""The mesh view in a real Chromium: point clouds and meshes drawn with three.js (WebGL).

The logdir is written by torch's SummaryWriter and by stepscope's. The
drawings are checked by their pixels: a canvas that shows only its
background has drawn nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Tab, snapshot
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from stepscope import SummaryWriter

BACKGROUND = (240, 242, 245)  # #f0f2f5, the drawing's background
TETRA = [[1, 1, 1], [-1, -1, 1], [1, -1, -1], [-1, 1, -1]]
TETRA_FACES = [[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]
TETRA_COLORS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]


def write_logdir(root: Path) -> None:
    import torch
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    writer = TorchWriter(str(root / "torch"))
    rng = np.random.default_rng(0)
    for step, count in ((0, 400), (5, 1500)):
        points = rng.normal(size=(1, count, 3)).astype(np.float32)
        colors = np.zeros((1, count, 3), dtype=np.float32)
        colors[..., 2] = 220.0  # blue
        writer.add_mesh(
            "cloud", torch.from_numpy(points), colors=torch.from_numpy(colors), global_step=step
        )
    writer.add_mesh(
        "tetra",
        torch.tensor([TETRA], dtype=torch.float),
        colors=torch.tensor([TETRA_COLORS], dtype=torch.int),
        faces=torch.tensor([TETRA_FACES], dtype=torch.int),
        global_step=0,
    )
    # torch writes it without a word: colours for 10 vertices, but 12 vertices.
    writer.add_mesh(
        "mismatch", torch.rand(1, 12, 3), colors=torch.full((1, 10, 3), 200.0), global_step=0
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
        # A batch of two: a cube and a flattened box with half its faces.
        boxes = np.stack([cube, cube * [2, 0.2, 2]])
        two_faces = np.stack([faces, np.concatenate([faces[:6], faces[:6]])])
        ours.add_mesh("boxes", boxes, faces=two_faces, global_step=7)


# The pixels of a card's 2D canvas that are neither transparent nor the background.
PAINTED = """c => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const far = Math.max(Math.abs(d[i] - 240), Math.abs(d[i + 1] - 242), Math.abs(d[i + 2] - 245));
    if (d[i + 3] > 0 && far > 30) n++;
  }
  return n;
}"""


def drawn_pixels(canvas: Locator) -> np.ndarray:
    """A mask of the canvas's pixels that are not its background."""
    shot = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)
    return np.abs(shot - np.array(BACKGROUND)).max(axis=2) > 30


def pixels(canvas: Locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")).astype(int)


def after_next_frame(page: Page) -> None:
    """Returns once the page has drawn what it scheduled (cards draw on the next animation frame)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def mesh_card(page: Page, run: str, name: str) -> Locator:
    return page.locator(f'.mesh-card[data-run="{run}"][data-mesh="{name}"]')


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "meshes"
    write_logdir(root)
    return root


def test_mesh_view_draws_clouds_and_meshes(start_server, open_page, logdir: Path) -> None:
    """A card per run and mesh; points and faces really drawn; the slider steps; a turn and a reset."""
    page = open_page(start_server(logdir).url + "#tab=mesh").page
    expect(page.locator(".mesh-card")).to_have_count(4)

    cloud = mesh_card(page, "torch", "cloud")
    expect(cloud).to_have_attribute("data-state", "drawn", timeout=10_000)
    expect(cloud).to_have_attribute("data-step", "5")  # the last step first
    expect(cloud).to_have_attribute("data-vertices", "1500")
    expect(cloud).to_have_attribute("data-faces", "0")
    expect(cloud.locator(".step-label")).to_contain_text("1,500 points")
    many = drawn_pixels(cloud.locator("canvas")).sum()
    blue = pixels(cloud.locator("canvas"))
    assert many > 1500, many
    assert ((blue[..., 2] > 150) & (blue[..., 0] < 80)).sum() > 1000  # the logged colour
    slider = cloud.locator(".step-slider")
    slider.focus()
    page.keyboard.press("Home")
    expect(cloud).to_have_attribute("data-step", "0")
    expect(cloud).to_have_attribute("data-vertices", "400")
    expect(cloud).to_have_attribute("data-state", "drawn")
    few = drawn_pixels(cloud.locator("canvas")).sum()
    assert 300 < few < many, (few, many)

    tetra = mesh_card(page, "torch", "tetra")
    expect(tetra).to_have_attribute("data-state", "drawn", timeout=10_000)
    expect(tetra).to_have_attribute("data-faces", "4")
    canvas = tetra.locator("canvas")
    before = pixels(canvas)
    covered = drawn_pixels(canvas)
    assert covered.mean() > 0.05, covered.mean()  # a solid surface, not a few dots
    for channel in range(3):  # the vertex colours: red, green and blue corners all show
        others = np.delete(before, channel, axis=2).max(axis=2)
        assert (before[..., channel] - others > 60).sum() > 30, channel
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 30, steps=6)
    page.mouse.up()
    after_next_frame(page)
    turned = pixels(canvas)
    assert np.abs(turned - before).max(axis=2).astype(bool).mean() > 0.01  # the view turned
    tetra.get_by_role("button", name="Reset view").click()
    after_next_frame(page)
    assert np.abs(pixels(canvas) - before).max(axis=2).astype(bool).mean() < 0.005

    mismatch = mesh_card(page, "torch", "mismatch")
    expect(mismatch).to_have_attribute("data-state", "error", timeout=10_000)
    expect(mismatch.locator(".card-message")).to_have_text(
        "This mesh cannot be drawn: there are 10 colors for 12 vertices; "
        "give one color per vertex (item 0 at step 0)."
    )
    # Nothing drawn (the message covers the canvas, so its own pixels are read).
    assert mismatch.locator("canvas").evaluate(PAINTED) == 0
    assert tetra.locator("canvas").evaluate(PAINTED) > 1000  # (what PAINTED counts when drawn)

    boxes = mesh_card(page, "ours", "boxes")
    boxes.scroll_into_view_if_needed()
    expect(boxes).to_have_attribute("data-state", "drawn", timeout=10_000)
    expect(boxes).to_have_attribute("data-faces", "12")
    cube_shape = drawn_pixels(boxes.locator("canvas"))
    item = boxes.locator("select.mesh-item")
    expect(item).to_be_visible()
    item.select_option("1")
    expect(boxes).to_have_attribute("data-item", "1")
    expect(boxes).to_have_attribute("data-state", "drawn")
    flat_shape = drawn_pixels(boxes.locator("canvas"))
    assert flat_shape.mean() > 0.02, flat_shape.mean()
    assert (flat_shape != cube_shape).mean() > 0.05  # another shape
    snapshot(page, "mesh_view_second_item_of_a_batch")


@pytest.fixture
def no_webgl(chromium: Browser) -> Iterator[Browser]:
    """A Chromium of its own, without WebGL."""
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--disable-webgl"]
    )
    try:
        yield browser
    finally:
        browser.close()


def test_without_webgl_the_card_says_so(start_server, no_webgl: Browser, logdir: Path) -> None:
    server = start_server(logdir)
    context = no_webgl.new_context(bypass_csp=True, viewport=VIEWPORT)
    try:
        tab = Tab(context.new_page())
        page = tab.page
        page.goto(server.url + "#tab=mesh")
        assert page.evaluate("() => document.createElement('canvas').getContext('webgl2')") is None
        tetra = mesh_card(page, "torch", "tetra")
        expect(tetra).to_have_attribute("data-state", "error", timeout=10_000)
        expect(tetra.locator(".card-message")).to_contain_text(
            "WebGL is not available in this browser"
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / "test_without_webgl_the_card_says_so.png"), full_page=True
        )
        assert tab.errors == []
    finally:
        context.close()
