"""Several images at one step, and images at their actual size, in a real Chromium (issue 14, bug 2).

TF2's ``tf.summary.image(..., max_outputs=3)`` writes one string tensor per
step, ``[width, height, png1, png2, png3]`` (written here with the protos, as
TensorFlow is not installed): every sample is shown whole, and the card says
how many there are. A 16x16 image is shown at 16x16 (not blown up to 300
pixels), enlarged with sharp pixels only when asked. torch's and
tensorboardX's ``add_images`` write a batch as one grid, shown at its size.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from browser_support import pixels_of, snapshot
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2

from stepscope import SummaryWriter

COLOURS = [(230, 0, 0), (0, 170, 0), (0, 0, 230)]
WALL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def png(rgb: tuple[int, int, int], size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, rgb).save(out, format="PNG")
    return out.getvalue()


def tf2_images(tag: str, images: list[bytes], size: tuple[int, int]) -> summary_pb2.Summary:
    """What TF2's tf.summary.image writes: [width, height, *encoded] as a string tensor."""
    width, height = size
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images")
    )
    tensor = tensor_pb2.TensorProto(
        dtype=7,  # DT_STRING
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(images) + 2)]
        ),
        string_val=[str(width).encode(), str(height).encode(), *images],
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
    )


def write_logdir(root: Path) -> None:
    import torch
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    with SummaryWriter(str(root / "tf2")) as writer:
        raw = writer._get_file_writer()
        for step in range(2):
            raw.add_summary(tf2_images("samples", [png(c) for c in COLOURS], (16, 16)), step)
        wide = png((200, 120, 0), (900, 60))  # wider than a card
        raw.add_summary(tf2_images("wide", [wide], (900, 60)), 0)
    batch = torch.zeros(3, 3, 16, 16)
    for i in range(3):
        batch[i, i] = 1.0  # red, green, blue
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_images("batch", batch, 0)
    torch_writer.close()
    x = XWriter(str(root / "tbx"))
    x.add_images("batch", batch, 0)
    x.add_image("small", batch[2], 0)
    x.close()


def image_card(page: Page, run: str, tag: str) -> Locator:
    return page.locator(f'.image-card[data-run="{run}"][data-tag="{tag}"]')


def shown_size(img: Locator) -> list[int]:
    size: list[int] = img.evaluate("i => [i.clientWidth, i.clientHeight]")
    return size


def natural_size(img: Locator) -> list[int]:
    size: list[int] = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    return size


def inside(inner: Locator, outer: Locator) -> bool:
    a, b = inner.bounding_box(), outer.bounding_box()
    assert a is not None
    assert b is not None
    return (
        a["x"] >= b["x"] - 0.5
        and a["y"] >= b["y"] - 0.5
        and a["x"] + a["width"] <= b["x"] + b["width"] + 0.5
        and a["y"] + a["height"] <= b["y"] + b["height"] + 0.5
    )


def test_every_sample_of_a_step_is_shown_whole(start_server, open_page, tmp_path: Path) -> None:
    root = tmp_path / "images"
    write_logdir(root)
    page = open_page(start_server(root).url + "#tab=images").page
    samples = image_card(page, "tf2", "samples")
    expect(samples).to_have_attribute("data-state", "shown", timeout=10_000)
    expect(samples).to_have_attribute("data-step", "1")
    images = samples.locator("img")
    expect(images).to_have_count(3)
    for img in images.all():
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    shot = samples.screenshot()
    for k, rgb in enumerate(COLOURS):
        img = images.nth(k)
        assert natural_size(img) == [16, 16]
        assert shown_size(img) == [16, 16], k  # its actual size, not 300 px
        assert inside(img, samples), k  # none cut at the card's edges
        # Whole: all its 256 pixels are on screen (and not smoothed into their neighbours).
        assert 240 <= pixels_of(shot, rgb, tolerance=10) <= 300, (k, pixels_of(shot, rgb))
    expect(samples).to_have_attribute("data-samples", "3")
    # The card says there are several, and which is which.
    expect(samples.locator(".card-head")).to_contain_text("3 samples")
    expect(samples.locator("figcaption")).to_have_text(
        ["sample 1 of 3", "sample 2 of 3", "sample 3 of 3"]
    )
    label = samples.locator(".step-label")
    expect(label).to_contain_text("step 1 (2 of 2) · 16\u00d716 · 3 samples · ")
    assert WALL.search(label.text_content() or ""), label.text_content()
    assert images.first.evaluate("i => getComputedStyle(i).imageRendering") != "pixelated"

    # Fit: enlarged to share the card's width, with sharp pixels, each still whole.
    samples.get_by_role("button", name="Fit").click()
    expect(samples.get_by_role("button", name="Fit")).to_have_attribute("aria-pressed", "true")
    frame_width = samples.locator(".image-samples").evaluate("f => f.clientWidth")
    widths = []
    for k, rgb in enumerate(COLOURS):
        img = images.nth(k)
        width, height = shown_size(img)
        widths.append(width)
        assert width > 4 * 16, width
        assert width == height
        assert img.evaluate("i => getComputedStyle(i).imageRendering") == "pixelated"
        img.scroll_into_view_if_needed()
        assert inside(img, samples), k
        assert pixels_of(img.screenshot(), rgb, tolerance=10) > 0.95 * width * height
    assert sum(widths) > 0.9 * frame_width - 3 * 8, (widths, frame_width)  # less the gaps
    snapshot(page, "kinds_images_samples_fit")
    samples.get_by_role("button", name="Fit").click()
    page.wait_for_function("i => i.clientWidth === 16", arg=images.first.element_handle())

    # The first step has its three samples too.
    samples.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(samples).to_have_attribute("data-step", "0")
    expect(samples.locator("figcaption")).to_have_count(3)

    # An image wider than the card is scaled down to it (smoothly); 1:1 shows every pixel.
    wide = image_card(page, "tf2", "wide")
    wide.scroll_into_view_if_needed()
    expect(wide).to_have_attribute("data-state", "shown", timeout=10_000)
    img = wide.locator("img")
    width, _ = shown_size(img)
    assert width < 900
    assert inside(img, wide)
    assert img.evaluate("i => getComputedStyle(i).imageRendering") != "pixelated"
    expect(wide.locator(".card-head")).not_to_contain_text("samples")
    wide.get_by_role("button", name="1:1").click()
    page.wait_for_function("i => i.clientWidth === 900", arg=img.element_handle())


def test_grids_of_torch_and_tensorboardx_at_their_size(
    start_server, open_page, tmp_path: Path
) -> None:
    root = tmp_path / "images"
    write_logdir(root)
    page = open_page(start_server(root).url + "#tab=images").page
    for run in ("torch", "tbx"):
        grid = image_card(page, run, "batch")
        grid.scroll_into_view_if_needed()
        expect(grid).to_have_attribute("data-state", "shown", timeout=10_000)
        img = grid.locator("img")
        natural = natural_size(img)
        assert natural[1] == 16, natural  # the three samples of the batch side by side
        assert shown_size(img) == natural, run
        shot = img.screenshot()
        for rgb in ((255, 0, 0), (0, 255, 0), (0, 0, 255)):
            assert pixels_of(shot, rgb, tolerance=10) >= 200, (run, rgb)
        expect(grid).to_have_attribute("data-samples", "1")  # one image: the grid
    small = image_card(page, "tbx", "small")
    small.scroll_into_view_if_needed()
    expect(small).to_have_attribute("data-state", "shown", timeout=10_000)
    assert shown_size(small.locator("img")) == [16, 16]
    snapshot(page, "kinds_images_grids")
