"""The audio kind as a dashboard plugin; its clips come through ``/api/blobs`` and ``/api/blob``."""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="audio", title="Audio", order=40, page="builtin:audio")
