"""The raw-tensor view as a dashboard plugin: the fallback for tags no plugin claims.

A tag of a plugin stepscope does not know (a custom TensorBoard plugin, a
future kind) still gets a tab, named after its plugin, that shows its
tensors step by step through ``/api/tensors``.
"""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="raw", title="Raw tensors", order=2000, page="builtin:raw", fallback=True)
