"""Long strings in the raw-tensor view, in a real Chromium (issue 14, bug 10).

A plugin stepscope has no view for shows its raw tensors, whose strings were
cut at 60 characters: a model's JSON config (Keras' ``model.to_json()``, as
its TensorBoard callback logs it for the plugin ``graph_keras_model``) could
not be read. The plugin here is a made-up one, so that the test stays on the
raw view whichever plugins get views of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

from browser_support import snapshot
from playwright.sync_api import expect
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2

from stepscope import SummaryWriter


def keras_model_json() -> str:
    """A Sequential model's ``to_json()``, as Keras writes it (one line, no spaces to spare)."""
    layers = [
        {
            "class_name": "Dense",
            "config": {
                "name": f"dense_{i}",
                "trainable": True,
                "dtype": "float32",
                "units": 64 // (i + 1),
                "activation": "relu",
                "use_bias": True,
                "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            },
        }
        for i in range(6)
    ]
    model = {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }
    return json.dumps(model, separators=(",", ":"))


def string_summary(tag: str, plugin: str, texts: list[str], scalar: bool) -> summary_pb2.Summary:
    """A string tensor for a plugin, as Keras' keras_model summary op writes its JSON (a scalar)."""
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin, content=b"1")
    )
    dims = [] if scalar else [tensor_shape_pb2.TensorShapeProto.Dim(size=len(texts))]
    tensor = tensor_pb2.TensorProto(
        dtype=7,  # DT_STRING
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=dims),
        string_val=[text.encode() for text in texts],
    )
    return summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
    )


def test_a_models_json_can_be_read_whole(start_server, open_page, tmp_path: Path) -> None:
    root = tmp_path / "configs"
    model = keras_model_json()
    assert len(model) > 1000
    notes = ["short", "a long note " * 12, "another long one " * 8]
    with SummaryWriter(str(root / "train")) as writer:
        raw = writer._get_file_writer()
        raw.add_summary(string_summary("keras", "model_config", [model], scalar=True), 0)
        raw.add_summary(string_summary("notes", "model_config", notes, scalar=False), 0)
        writer.add_scalar("loss", 1.0, 0)
    page = open_page(start_server(root).url + "#tab=model_config").page
    card = page.locator('.raw-card[data-tag="keras"]')
    expect(card).to_have_attribute("data-state", "shown", timeout=10_000)
    values = card.locator("td.raw-values")
    # Cut at first, saying how long it is.
    expect(values).to_contain_text(json.dumps(model[:60] + "…", ensure_ascii=False))
    toggle = values.get_by_role("button", name=f"Show all {len(model):,} characters")
    expect(toggle).to_be_visible()
    toggle.click()

    whole = card.locator("pre.raw-long")  # under the row, the table's whole width
    expect(whole).to_be_visible()
    pretty = json.dumps(json.loads(model), indent=2)
    assert whole.text_content() == pretty  # all of it, indented
    assert whole.evaluate("p => p.scrollHeight") > 40 * 14  # one line per key, not one long line
    box = whole.bounding_box()
    frame = card.bounding_box()
    assert box is not None
    assert frame is not None
    assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1  # within the card
    assert box["width"] > frame["width"] * 0.9
    expect(values.get_by_role("button", name="Show less")).to_have_attribute(
        "aria-expanded", "true"
    )
    snapshot(page, "kinds_raw_keras_json_whole")

    values.get_by_role("button", name="Show less").click()
    expect(whole).to_have_count(0)
    expect(values).to_contain_text(json.dumps(model[:60] + "…", ensure_ascii=False))

    # Strings of a 1-D tensor open one by one; text that is not JSON is shown as it is.
    listed = page.locator('.raw-card[data-tag="notes"] td.raw-values')
    expect(listed).to_contain_text('"short", "a long note')
    expect(listed.get_by_role("button")).to_have_count(2)
    listed.get_by_role("button", name=f"Show all {len(notes[2]):,} characters").click()
    opened = page.locator('.raw-card[data-tag="notes"] pre.raw-long')
    expect(opened).to_have_count(1)
    assert opened.text_content() == notes[2]
    expect(
        listed.get_by_role("button", name=f"Show all {len(notes[1]):,} characters")
    ).to_be_visible()
