"""The images kind as a dashboard plugin (registered in stepscope's pyproject.toml)."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.images.routes import routes

PLUGIN = Plugin(name="images", title="Images", order=30, routes=routes, page="builtin:images")
