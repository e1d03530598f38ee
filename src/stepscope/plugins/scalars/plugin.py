"""The scalars kind as a dashboard plugin (registered in stepscope's pyproject.toml).

Its series come through the core's scalar routes (``/api/scalars``), which
every chart shares; its own routes add run groups (``POST
/api/plugins/scalars/groups``: a group's mean and band).
"""

from stepscope.plugins.base import Plugin
from stepscope.plugins.scalars.read import BINARY_GROUPS
from stepscope.plugins.scalars.routes import routes

PLUGIN = Plugin(
    name="scalars",
    title="Scalars",
    order=10,
    routes=routes,
    page="builtin:scalars",
    always=True,
    uncompressed=(BINARY_GROUPS,),
)
