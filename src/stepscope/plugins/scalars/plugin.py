"""The scalars kind as a dashboard plugin (registered in stepscope's pyproject.toml).

Its data come through the core's scalar routes (``/api/scalars``), which
every chart shares, so it adds no routes of its own.
"""

from stepscope.plugins.base import Plugin

PLUGIN = Plugin(name="scalars", title="Scalars", order=10, page="builtin:scalars", always=True)
