"""The graphs kind as a dashboard plugin (registered in stepscope's pyproject.toml)."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.graphs.metadata import GRAPH_PLUGINS
from stepscope.plugins.graphs.routes import routes

PLUGIN = Plugin(
    name="graphs",
    title="Graphs",
    order=50,
    claims=GRAPH_PLUGINS,
    routes=routes,
    page="builtin:graphs",
    description="Model graphs: op graphs (torch, tensorboardX, TF), Keras's layers, run metadata",
)
