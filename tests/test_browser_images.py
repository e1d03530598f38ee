"""The images view in a real browser: every step, what torch's writer makes of
grids, boxes, figures and videos, and images that are broken or huge."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
from browser_support import snapshot
from PIL import Image
from playwright.sync_api import expect
from tensorboard.compat.proto import summary_pb2

from stepscope import SummaryWriter


def _image_card(page, run: str, tag: str):
    return page.locator(f'.image-card[data-run="{run}"][data-tag="{tag}"]')


def _raw_image(
    writer: SummaryWriter, tag: str, encoded: bytes, size: tuple[int, int], step: int
) -> None:
    """An image summary holding exactly these bytes (a writer would not write broken ones)."""
    width, height = size
    image = summary_pb2.Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=encoded
    )
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)])
    writer._get_file_writer().add_summary(summary, step)


def test_images_view_steps_through_every_image(start_server, open_page, tmp_path: Path) -> None:
    """A card per run and tag, a slider over every step (not TensorBoard's 10), filters."""
    root = tmp_path / "images"
    colours = {"cats": (255, 0, 0), "dogs": (0, 0, 255)}
    for run, rgb in colours.items():
        with SummaryWriter(str(root / run)) as writer:
            for step in range(15):
                image = np.zeros((3, 10, 16), dtype=np.uint8)
                image[:, :, :] = np.array(rgb, dtype=np.uint8)[:, None, None]
                image[:, : step % 10 + 1, 0] = 255  # a white bar whose height tells the step
                writer.add_image("samples", image, step * 10)
            writer.add_scalar("loss", 1.0, 0)
    server = start_server(root)
    page = open_page(server.url + "#tab=images").page
    cards = page.locator(".image-card")
    expect(cards).to_have_count(2)
    for run, rgb in colours.items():
        found = page.locator(f'.image-card[data-run="{run}"]')
        expect(found).to_have_attribute("data-state", "shown", timeout=10_000)
        expect(found).to_have_attribute("data-step", "140")  # the last step first
        expect(found.locator(".step-label")).to_contain_text("15 of 15")
        img = found.locator("img")
        assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [16, 10]
        shot = Image.open(io.BytesIO(img.screenshot())).convert("RGB")
        centre = shot.getpixel((shot.width * 3 // 4, shot.height // 2))
        assert all(abs(a - b) < 40 for a, b in zip(centre, rgb, strict=True)), (run, centre)
    slider = page.locator('.image-card[data-run="cats"] .step-slider')
    slider.focus()
    page.keyboard.press("Home")
    cats = page.locator('.image-card[data-run="cats"]')
    expect(cats).to_have_attribute("data-step", "0")
    expect(cats.locator(".step-label")).to_contain_text("1 of 15")
    page.keyboard.press("ArrowRight")
    expect(cats).to_have_attribute("data-step", "10")
    page.get_by_label("Brightness").fill("2")
    assert "brightness(2)" in cats.locator("img").evaluate("i => i.style.filter")
    snapshot(page, "test_images_view_steps_through_every_image")


TORCH_MEDIA = """
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

writer = SummaryWriter(sys.argv[1])
for step in range(3):
    batch = torch.zeros(4, 3, 8, 8)
    for i in range(4):
        batch[i, i % 3] = 1.0  # red, green, blue, red
    writer.add_images("grid", batch, step)
    canvas = torch.full((3, 64, 96), 0.5)
    writer.add_image_with_boxes(
        "boxes", canvas, torch.tensor([[10.0, 10.0, 50.0, 40.0]]), step, labels=["cat"]
    )
    figure = plt.figure(figsize=(3, 2))
    plt.plot([0, 1, 2], [step, step + 1, step * 2])
    writer.add_figure("figure", figure, step)
writer.close()
"""


def test_torch_grids_boxes_figures_and_our_videos(start_server, open_page, tmp_path: Path) -> None:
    root = tmp_path / "media"
    torch_run = subprocess.run(
        [sys.executable, "-c", TORCH_MEDIA, str(root / "torch")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert torch_run.returncode == 0, torch_run.stderr
    with SummaryWriter(str(root / "ours")) as writer:
        video = np.zeros((1, 6, 3, 16, 16), dtype=np.uint8)
        for t in range(6):
            video[0, t, t % 3] = 255  # each frame one colour: the GIF changes as it plays
        writer.add_video("clip", video, 0, fps=8)
    server = start_server(root)
    page = open_page(server.url + "#tab=images").page
    expect(page.locator(".image-card")).to_have_count(4)

    # add_images: one image of the whole batch (torch lays 4 images of 8x8 out in a row).
    grid = _image_card(page, "torch", "grid")
    expect(grid).to_have_attribute("data-state", "shown", timeout=10_000)
    expect(grid.locator(".step-label")).to_contain_text("3 of 3")
    assert grid.locator("img").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [32, 8]

    # add_image_with_boxes: the box is drawn into the image (red outline on grey).
    boxes = _image_card(page, "torch", "boxes")
    expect(boxes).to_have_attribute("data-state", "shown", timeout=10_000)
    boxes.locator("button", has_text="1:1").click()
    shot = np.asarray(
        Image.open(io.BytesIO(boxes.locator("img").screenshot())).convert("RGB")
    ).astype(int)
    red = (shot[:, :, 0] > 180) & (shot[:, :, 1] < 80) & (shot[:, :, 2] < 80)
    assert red.sum() > 50, "the box outline is not in the image"

    # add_figure: matplotlib's rendering of a 3x2-inch figure.
    figure = _image_card(page, "torch", "figure")
    figure.scroll_into_view_if_needed()
    expect(figure).to_have_attribute("data-state", "shown", timeout=10_000)
    width, height = figure.locator("img").evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert width / height == 1.5
    assert width >= 200

    # add_video: an animated GIF, playing.
    clip = _image_card(page, "ours", "clip")
    clip.scroll_into_view_if_needed()
    expect(clip).to_have_attribute("data-state", "shown", timeout=10_000)
    with urllib.request.urlopen(server.url + "api/blobs?run=ours&tag=clip", timeout=10) as response:
        listed = json.loads(response.read())["blobs"]
    assert listed[0]["content_type"] == "image/gif"
    colours = set()
    for _ in range(12):
        shot = Image.open(io.BytesIO(clip.locator("img").screenshot())).convert("RGB")
        colours.add(shot.getpixel((shot.width // 2, shot.height // 2)))
        page.wait_for_timeout(60)
    assert len(colours) >= 2, f"the GIF does not play: {colours}"
    snapshot(page, "images_torch_media")


def test_a_corrupt_image_gets_a_placeholder_and_a_huge_one_a_preview(
    start_server, open_page, tmp_path: Path
) -> None:
    root = tmp_path / "bad"
    with SummaryWriter(str(root / "run")) as writer:
        good = np.zeros((3, 12, 12), dtype=np.uint8)
        good[1] = 200
        for step in range(3):
            writer.add_image("good", good, step)
        png = io.BytesIO()
        Image.new("RGB", (12, 12), (0, 200, 0)).save(png, format="PNG")
        broken = png.getvalue()[:30] + b"\x00garbage" * 8  # a PNG signature, then nothing valid
        _raw_image(writer, "broken", broken, (12, 12), 0)
        # 50 megapixels (greyscale, so the test stays light): a gradient with a dark square.
        big = np.tile(np.linspace(0, 255, 10_000, dtype=np.uint8), (5_000, 1))
        big[2_000:3_000, 4_000:6_000] = 0
        encoded = io.BytesIO()
        Image.fromarray(big, mode="L").save(encoded, format="PNG", compress_level=1)
        _raw_image(writer, "huge", encoded.getvalue(), (10_000, 5_000), 0)
    server = start_server(root)
    page = open_page(server.url + "#tab=images").page
    expect(page.locator(".image-card")).to_have_count(3)

    broken_card = _image_card(page, "run", "broken")
    expect(broken_card).to_have_attribute("data-state", "error", timeout=10_000)
    expect(broken_card.locator(".image-placeholder")).to_contain_text(
        "The image at step 0 cannot be shown: its bytes are not a valid image/png."
    )
    good_card = _image_card(page, "run", "good")
    expect(good_card).to_have_attribute("data-state", "shown")  # the rest still shows

    huge_card = _image_card(page, "run", "huge")
    huge_card.scroll_into_view_if_needed()
    expect(huge_card).to_have_attribute("data-state", "shown", timeout=20_000)
    img = huge_card.locator("img")
    assert img.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [2048, 1024]
    full = huge_card.get_by_role("link", name="Open the full 10000\u00d75000 image")
    href = full.get_attribute("href")
    assert href is not None
    assert "preview" not in href
    with urllib.request.urlopen(server.url + href, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(response.read())) as original:
            assert original.size == (10_000, 5_000)
    # The page stayed responsive: a slider on another card still answers at once.
    good_card.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(good_card).to_have_attribute("data-step", "0")
    snapshot(page, "images_broken_and_huge")
