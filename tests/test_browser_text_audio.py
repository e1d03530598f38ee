"""The text, audio and raw-tensor views in a real browser (issue 5).

Logdirs are written in the tests by torch's SummaryWriter and by ours (with
hand-built summaries for what no ``add_*`` writes: string tensors of rank 2
and 3, undecodable audio, a plugin stepscope has no view for). Each test starts
its own server and asserts what a person sees: Markdown tables as tables, the
step slider changing the text, logged HTML kept inert with nothing fetched,
players whose bytes are WAV, waveforms really drawn, raw tensors in a tab of
their own.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from browser_support import Server, Tab, snapshot
from playwright.sync_api import Locator, Page, expect
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from stepscope import SummaryWriter

StartServer = Callable[[Path], Server]
OpenPage = Callable[[str], Tab]

# A 1x1 red PNG: the one kind of image a logged text may show (its bytes are in the page).
RED_DOT = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def report(step: int) -> str:
    return (
        f"## Report at step {step}\n\n"
        "| metric | value |\n|---|---|\n"
        f"| loss | {1.0 / (step + 1):.3f} |\n"
        f"| accuracy | {step * 10}% |\n\n"
        "- first item\n- **bold** item\n"
    )


def plugin_summary(tag: str, plugin: str, array: np.ndarray[Any, Any]) -> summary_pb2.Summary:
    """A summary of one tensor for a plugin, as TF2's summary ops write it."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )
    tensor = tensor_util.make_tensor_proto(array)
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
    )


def audio_summary(tag: str, data: bytes, rate: int, channels: int) -> summary_pb2.Summary:
    """A legacy audio summary holding the bytes given, whatever they are."""
    audio = summary_pb2.Summary.Audio(
        sample_rate=rate, num_channels=channels, encoded_audio_string=data, content_type="audio/wav"
    )
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, audio=audio)])


def stereo_float_wav(rate: int, frames: int) -> bytes:
    """A stereo 32-bit float WAV (format 3), which Python's wave module cannot write."""
    t = np.arange(frames) / rate
    left = 0.5 * np.sin(2 * math.pi * 220 * t)
    right = 0.9 * np.sign(np.sin(2 * math.pi * 3 * t))
    samples = np.stack([left, right], axis=1).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 2, rate, rate * 8, 8, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


def drawn_rows(canvas: Locator) -> dict[str, int]:
    """The canvas pixels drawn in a colour other than the grey midline: how many, where, how high."""
    found: dict[str, int] = canvas.evaluate(
        """c => {
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let count = 0, upper = 0, lower = 0, top = c.height, bottom = -1;
            for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
                const i = (y * c.width + x) * 4;
                const grey = d[i] === 0xc8 && d[i + 1] === 0xce && d[i + 2] === 0xd6;
                if (d[i + 3] === 0 || grey) continue;
                count++;
                if (y < c.height / 2) upper++; else lower++;
                top = Math.min(top, y);
                bottom = Math.max(bottom, y);
            }
            return {count, upper, lower, top, bottom, width: c.width, height: c.height};
        }"""
    )
    return found


def open_tab(open_page: OpenPage, server: Server, tab: str) -> tuple[Tab, Page]:
    opened = open_page(server.url + "#tab=" + tab)
    return opened, opened.page


# -- text ----------------------------------------------------------------------


def test_text_view_renders_markdown_and_steps_through_it(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """torch's add_text: a Markdown table and list per step; the slider reaches every step."""
    root = tmp_path / "text"
    torch_writer = TorchWriter(str(root / "torch"))
    for step in range(0, 30, 10):
        torch_writer.add_text("report", report(step), step)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        writer.add_text("report", report(7), 7)
    server = start_server(root)
    _, page = open_tab(open_page, server, "text")
    cards = page.locator(".text-card")
    expect(cards).to_have_count(2)
    torch_card = page.locator('.text-card[data-run="torch"]')
    expect(torch_card).to_have_attribute("data-state", "shown", timeout=10_000)
    expect(torch_card).to_have_attribute("data-tag", "report/text_summary")
    expect(torch_card).to_have_attribute("data-step", "20")  # the last step first
    expect(torch_card.locator(".step-label")).to_contain_text("3 of 3")
    body = torch_card.locator(".text-body")
    expect(body.locator("h2")).to_have_text("Report at step 20")
    table = body.locator("table")
    expect(table.locator("th")).to_have_text(["metric", "value"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(1).locator("td")).to_have_text(["accuracy", "200%"])
    expect(body.locator("li")).to_have_text(["first item", "bold item"])
    expect(body.locator("li strong")).to_have_text("bold")
    ours = page.locator('.text-card[data-run="ours"]')
    expect(ours).to_have_attribute("data-step", "7")
    expect(ours.locator("td").nth(1)).to_have_text("0.125")
    snapshot(page, "text_view_markdown_at_last_step")

    slider = torch_card.locator(".step-slider")
    slider.focus()
    page.keyboard.press("Home")
    expect(torch_card).to_have_attribute("data-step", "0")
    expect(body.locator("h2")).to_have_text("Report at step 0")
    expect(table.locator("tbody tr").nth(0).locator("td")).to_have_text(["loss", "1.000"])
    expect(torch_card.locator(".step-label")).to_contain_text("1 of 3")
    page.keyboard.press("ArrowRight")
    expect(torch_card).to_have_attribute("data-step", "10")
    expect(body.locator("h2")).to_have_text("Report at step 10")
    expect(ours).to_have_attribute("data-step", "7")  # each card has its own slider

    # Live: a card at its last step follows new steps; one moved back stays where it is.
    with SummaryWriter(str(root / "ours")) as writer:
        writer.add_text("report", report(8), 8)
    with SummaryWriter(str(root / "torch")) as writer:
        writer.add_text("report", report(30), 30)
    expect(ours).to_have_attribute("data-step", "8", timeout=10_000)
    expect(ours.locator("h2")).to_have_text("Report at step 8")
    expect(torch_card.locator(".step-label")).to_contain_text("2 of 4", timeout=10_000)
    expect(torch_card).to_have_attribute("data-step", "10")
    expect(body.locator("h2")).to_have_text("Report at step 10")


def test_text_tensors_of_rank_0_to_3_show_as_documents_and_tables(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """TF2's text: rank 0 is a document, rank 1 and 2 tables of Markdown cells, rank 3 its first slice."""
    root = tmp_path / "tensors"
    grid = np.array([["**name**", "score"], ["`alice`", "*0.9*"], ["bob", "0.7"]], dtype=object)
    cube = np.array([[["a", "b"], ["c", "d"]], [["e", "f"], ["g", "h"]]], dtype=object)
    with SummaryWriter(str(root / "run")) as writer:
        raw = writer._get_file_writer()
        raw.add_summary(
            plugin_summary("single", "text", np.array("just *one* string", dtype=object)), 0
        )
        raw.add_summary(plugin_summary("column", "text", np.array(["x", "~~y~~"], dtype=object)), 0)
        raw.add_summary(plugin_summary("grid", "text", grid), 0)
        raw.add_summary(plugin_summary("cube", "text", cube), 0)
    server = start_server(root)
    _, page = open_tab(open_page, server, "text")
    expect(page.locator(".text-card")).to_have_count(4)
    for tag in ["single", "column", "grid", "cube"]:
        expect(page.locator(f'.text-card[data-tag="{tag}"]')).to_have_attribute(
            "data-state", "shown", timeout=10_000
        )
    single = page.locator('.text-card[data-tag="single"] .text-body')
    expect(single).to_have_text("just one string")
    expect(single.locator("em")).to_have_text("one")
    expect(single.locator("table")).to_have_count(0)
    column = page.locator('.text-card[data-tag="column"] table.text-table')
    expect(column.locator("tr")).to_have_count(2)
    expect(column.locator("td")).to_have_text(["x", "y"])
    expect(column.locator("td del")).to_have_text("y")
    table = page.locator('.text-card[data-tag="grid"] table.text-table')
    expect(table.locator("tr")).to_have_count(3)
    expect(table.locator("tr").nth(1).locator("td")).to_have_text(["alice", "0.9"])
    expect(table.locator("td strong")).to_have_text("name")
    expect(table.locator("td code")).to_have_text("alice")
    cube_card = page.locator('.text-card[data-tag="cube"]')
    expect(cube_card.locator("td")).to_have_text(["a", "b", "c", "d"])
    expect(cube_card.locator(".text-warning")).to_contain_text(
        "shape [2, 2, 2]; only its first 2-D slice"
    )
    expect(page.locator('.text-card[data-tag="grid"] .text-warning')).to_be_hidden()
    snapshot(page, "text_view_tensor_ranks")


HOSTILE = """# Hostile text

<script>window.pwned=1</script>

<img src=x onerror="window.pwned=2">

[click](javascript:window.pwned=3)

<img src="http://example.com/x.png">

<iframe src="http://example.com/frame"></iframe>

<div style="background:url(http://example.com/bg.png)" onmouseover="window.pwned=4">styled</div>

<style>@import url(http://example.com/style.css);</style>

<link rel="stylesheet" href="http://example.com/link.css">

<video poster="http://example.com/poster.png" src="http://example.com/v.mp4"></video>

<svg><image href="http://example.com/svg.png"></image></svg>

<img srcset="http://example.com/set.png 2x" src="data:image/svg+xml,<svg/>">

<form action="http://example.com/form"><button>go</button></form>

<a href="data:text/html,<script>window.pwned=5</script>">data link</a>

[safe link](https://example.org/docs) and ![red dot](RED_DOT)
""".replace("RED_DOT", RED_DOT)


def test_text_view_keeps_logged_html_inert(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """Script, handlers, javascript: and data: links, remote resources: none survive, nothing is fetched."""
    root = tmp_path / "hostile"
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_text("hostile", HOSTILE, 0)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        cells = np.array(
            [["<img src=x onerror='window.pwned=6'>", "[x](javascript:window.pwned=7)"]],
            dtype=object,
        )
        writer._get_file_writer().add_summary(plugin_summary("hostile cells", "text", cells), 0)
    server = start_server(root)
    tab, page = open_tab(open_page, server, "text")
    cards = page.locator(".text-card")
    expect(cards).to_have_count(2)
    for run in ["torch", "ours"]:
        expect(page.locator(f'.text-card[data-run="{run}"]')).to_have_attribute(
            "data-state", "shown", timeout=10_000
        )
    body = page.locator('.text-card[data-run="torch"] .text-body')
    expect(body.locator("h1")).to_have_text("Hostile text")
    expect(body).to_contain_text("styled")
    forbidden = "script, iframe, style, link, video, svg, form, button, object, embed"
    expect(page.locator(f".text-body :is({forbidden})")).to_have_count(0)
    found = page.locator(".text-view").evaluate(
        """root => {
            const elements = [...root.querySelectorAll(".text-body *")];
            return {
                handlers: elements.flatMap(e => [...e.attributes].map(a => a.name).filter(n => n.startsWith("on"))),
                styles: elements.filter(e => e.hasAttribute("style")).length,
                hrefs: [...root.querySelectorAll(".text-body a[href]")].map(a => a.getAttribute("href")),
                images: [...root.querySelectorAll(".text-body img")].map(i => i.getAttribute("src")),
                srcsets: elements.filter(e => e.hasAttribute("srcset")).length,
            };
        }"""
    )
    assert found["handlers"] == []
    assert found["styles"] == 0
    assert found["srcsets"] == 0
    assert found["hrefs"] == ["https://example.org/docs"]  # javascript: and data: links lost theirs
    assert found["images"] == [RED_DOT]  # inline bytes only; no remote, relative or SVG image
    click = body.locator("a", has_text="click")
    expect(click).not_to_have_attribute("href", "javascript:window.pwned=3")
    safe = body.locator("a", has_text="safe link")
    expect(safe).to_have_attribute("target", "_blank")
    expect(safe).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(body.locator("img")).to_have_attribute("alt", "red dot")
    ours = page.locator('.text-card[data-run="ours"] table.text-table')
    expect(ours.locator("td").nth(0)).to_have_text("[image]")
    expect(ours.locator("td").nth(1)).to_have_text("x")
    expect(ours.locator("a[href]")).to_have_count(0)
    click.click()  # a link without a target does nothing
    body.locator("div", has_text="styled").hover()
    # Whatever the page would fetch for the text was asked for before a request made after it.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("() => fetch('api/status').then(r => r.status)") == 200
    assert page.evaluate("() => window.pwned") is None
    remote = [r.url for r in tab.requests if "example.com" in r.url or "example.org" in r.url]
    assert remote == []
    assert len(page.context.pages) == 1  # nothing opened
    snapshot(page, "text_view_hostile_markdown_inert")


# -- audio ---------------------------------------------------------------------


def test_audio_view_plays_clips_and_draws_their_waveforms(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """torch's add_audio at two steps, a stereo float WAV, and bytes that are no audio at all."""
    root = tmp_path / "audio"
    rate = 8000
    t = np.arange(rate // 2) / rate  # half a second
    torch_writer = TorchWriter(str(root / "torch"))
    torch_writer.add_audio("sine", 0.2 * np.sin(2 * math.pi * 440 * t), 0, sample_rate=rate)
    torch_writer.add_audio("sine", 0.9 * np.sin(2 * math.pi * 440 * t), 5, sample_rate=rate)
    torch_writer.close()
    with SummaryWriter(str(root / "ours")) as writer:
        raw = writer._get_file_writer()
        raw.add_summary(audio_summary("stereo", stereo_float_wav(rate, rate), rate, 2), 0)
        broken = b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4
        raw.add_summary(audio_summary("broken", broken, 44100, 1), 0)
    server = start_server(root)
    _, page = open_tab(open_page, server, "audio")
    expect(page.locator(".audio-card")).to_have_count(3)

    sine = page.locator('.audio-card[data-tag="sine"]')
    expect(sine).to_have_attribute("data-state", "shown", timeout=10_000)
    expect(sine).to_have_attribute("data-step", "5")
    expect(sine.locator(".step-label")).to_contain_text("2 of 2")
    player = sine.locator("audio")
    expect(player).to_have_count(1)
    expect(player).to_have_attribute("controls", "")
    status, content_type, wav = player.evaluate(
        """async a => {
            const r = await fetch(a.src);
            return [r.status, r.headers.get("content-type"), [...new Uint8Array(await r.arrayBuffer())]];
        }"""
    )
    assert (status, content_type) == (200, "audio/wav")
    with wave.open(io.BytesIO(bytes(wav))) as read:
        assert (read.getframerate(), read.getnchannels(), read.getnframes()) == (rate, 1, rate // 2)
    expect(sine.locator(".audio-label")).to_have_text(
        "audio/wav · 500ms · 8,000 Hz · mono · 16-bit PCM · 7.9 KiB"
    )
    loud = drawn_rows(sine.locator("canvas.audio-wave"))
    assert loud["count"] > loud["width"] * loud["height"] // 4, loud  # a 440 Hz sine fills its band
    assert loud["bottom"] - loud["top"] > 0.8 * loud["height"], loud  # 0.9 of full scale
    snapshot(page, "audio_view_clips")

    # A click on the waveform moves the player there (half-way: 0.25 s of 0.5 s).
    canvas = sine.locator("canvas.audio-wave")
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_function(
        "a => Math.abs(a.currentTime - 0.25) < 0.01", arg=player.element_handle(), timeout=5_000
    )
    expect(sine.locator(".audio-playhead")).to_be_visible()

    sine.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(sine).to_have_attribute("data-step", "0")
    expect(sine).to_have_attribute("data-state", "shown")
    quiet = drawn_rows(sine.locator("canvas.audio-wave"))
    assert 0 < quiet["bottom"] - quiet["top"] < 0.3 * quiet["height"], quiet  # 0.2 of full scale

    # A new clip elsewhere in the tag keeps the player of the step shown (it may be playing).
    player.evaluate("a => { a.dataset.mark = 'kept'; }")
    with SummaryWriter(str(root / "torch")) as writer:
        writer.add_audio("sine", 0.5 * np.sin(2 * math.pi * 880 * t), 9, sample_rate=rate)
    expect(sine.locator(".step-label")).to_contain_text("1 of 3", timeout=10_000)
    expect(sine).to_have_attribute("data-step", "0")
    expect(player).to_have_attribute("data-mark", "kept")

    stereo = page.locator('.audio-card[data-tag="stereo"]')
    expect(stereo).to_have_attribute("data-state", "shown")
    expect(stereo.locator(".audio-label")).to_contain_text("1s · 8,000 Hz · stereo · 32-bit float")
    lanes = drawn_rows(stereo.locator("canvas.audio-wave"))
    assert lanes["upper"] > 0, lanes  # the left channel's lane
    assert lanes["lower"] > 0, lanes  # the right channel's lane

    broken_card = page.locator('.audio-card[data-tag="broken"]')
    expect(broken_card).to_have_attribute("data-state", "error")
    expect(broken_card.locator(".audio-clip .card-message")).to_have_text(
        "This clip cannot be decoded: it has no format chunk, and the browser cannot decode it either."
    )
    expect(broken_card.locator("audio")).to_have_count(1)  # the player stays
    assert drawn_rows(broken_card.locator("canvas.audio-wave"))["count"] == 0
    snapshot(page, "audio_view_quiet_step_and_broken_clip")


# -- raw tensors ---------------------------------------------------------------


def test_plugin_without_a_view_shows_its_raw_tensors(
    start_server: StartServer, open_page: OpenPage, tmp_path: Path
) -> None:
    """A custom plugin's tensors (ours and torch's writer): a tab of its own, dtype, shape, values."""
    root = tmp_path / "custom"
    with SummaryWriter(str(root / "ours")) as writer:
        raw = writer._get_file_writer()
        for step in range(8):
            weights = np.arange(30, dtype=np.float32).reshape(5, 6) + step
            weights[0, 1] = np.nan
            raw.add_summary(plugin_summary("layer/weights", "my_plugin", weights), step * 100)
        writer.add_scalar("loss", 1.0, 0)
    torch_writer = TorchWriter(str(root / "torch"))
    names = np.array([b"cat", b"dog"], dtype=object)
    torch_writer._get_file_writer().add_summary(plugin_summary("labels", "my_plugin", names), 3)
    torch_writer.close()
    server = start_server(root)
    tab, page = open_tab(open_page, server, "scalars")
    plugin_tab = page.locator('a.tab[data-plugin="my_plugin"]')
    expect(plugin_tab).to_have_text("My plugin")  # a readable title (issue 14, bug 10)
    plugin_tab.click()
    expect(page.locator(".raw-note")).to_have_text(
        "stepscope has no view for the plugin my_plugin; these are its raw tensors."
    )
    expect(page.locator(".raw-card")).to_have_count(2)
    weights = page.locator('.raw-card[data-tag="layer/weights"]')
    expect(weights).to_have_attribute("data-state", "shown", timeout=10_000)
    expect(weights).to_have_attribute("data-step", "700")
    rows = weights.locator("tbody tr")
    expect(rows).to_have_count(5)  # the slider's step and the four before it
    last = rows.nth(4).locator("td")
    expect(last.nth(0)).to_have_text("700")
    expect(last.nth(2)).to_have_text("float32")
    expect(last.nth(3)).to_have_text("[5, 6]")
    expect(last.nth(4)).to_have_text(
        "7, NaN, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, … (30 values)"
    )
    expect(weights.locator("th")).to_have_text(["Step", "Wall time", "dtype", "Shape", "Values"])
    labels = page.locator('.raw-card[data-tag="labels"]')
    expect(labels).to_have_attribute("data-state", "shown")
    expect(labels.locator("tbody td").nth(3)).to_have_text("[2]")
    expect(labels.locator("tbody td").nth(4)).to_have_text('"cat", "dog"')
    snapshot(page, "raw_view_my_plugin")

    weights.locator(".step-slider").focus()
    page.keyboard.press("Home")
    expect(weights).to_have_attribute("data-step", "0")
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("td").nth(4)).to_contain_text("0, NaN, 2, 3")
    page.keyboard.press("ArrowRight")
    expect(weights).to_have_attribute("data-step", "100")
    expect(rows.locator("td:first-child")).to_have_text(["0", "100"])
    assert tab.errors == []
