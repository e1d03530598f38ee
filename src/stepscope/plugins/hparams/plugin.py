"""The hparams kind as a dashboard plugin (registered in stepscope's pyproject.toml)."""

from stepscope.plugins.base import Plugin
from stepscope.plugins.hparams.routes import routes

PLUGIN = Plugin(name="hparams", title="HParams", order=80, routes=routes, page="builtin:hparams")
