"""The plugin itself: what the ``stepscope.plugins`` entry point ``hello`` names."""

from __future__ import annotations

from pathlib import Path

from stepscope.plugins.base import Plugin
from stepscope_hello.metadata import PLUGIN_NAME
from stepscope_hello.routes import routes

PLUGIN = Plugin(
    name=PLUGIN_NAME,
    title="Hello",
    routes=routes,
    page="hello.js",
    static=Path(__file__).parent / "static",
    description="The greetings each run logged (stepscope's example plugin).",
)
