"""The text kind as a dashboard plugin; its strings come through ``/api/tensors``."""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="text", title="Text", order=120, page="builtin:text")
