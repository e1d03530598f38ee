"""The custom scalars kind as a dashboard plugin (registered in stepscope's pyproject.toml)."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.custom_scalars.routes import routes

PLUGIN = Plugin(
    name="custom_scalars",
    title="Custom scalars",
    order=20,
    routes=routes,
    page="builtin:custom_scalars",
)
