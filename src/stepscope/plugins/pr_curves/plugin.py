"""The PR curves kind as a dashboard plugin; its curves come through ``/api/tensors``."""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="pr_curves", title="PR curves", order=90, page="builtin:pr_curves")
