"""The query box as a dashboard plugin: a tab for read-only SQL over the index."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.sql.routes import routes

PLUGIN = Plugin(
    name="sql", title="Query", order=1500, routes=routes, page="builtin:sql", always=True
)
