"""The mesh kind as a dashboard plugin (registered in stepscope's pyproject.toml)."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.mesh.read import BINARY_MESH
from stepscope.plugins.mesh.routes import routes

PLUGIN = Plugin(
    name="mesh",
    title="Mesh",
    order=100,
    routes=routes,
    page="builtin:mesh",
    uncompressed=(BINARY_MESH,),  # float32 coordinates barely compress
)
