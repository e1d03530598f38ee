"""The plugins in the app: their routes under ``/api/plugins/<name>/``, their page modules,
``GET /api/plugins``, and a plugin's failure kept to that plugin.

A plugin whose routes fail to start is listed with its ``problem`` (its tab
says it); one whose route raises answers a 500 in the one error shape that
names it, and the terminal hears of each failure once. The other plugins and
the core routes answer as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepscope.plugins.base import BUILTIN, Plugin
from stepscope.plugins.registry import Registry
from stepscope.store.provider import DataProvider

PREFIX = "/api/plugins/"
Echo = Callable[[str], None]


def mount_plugins(app: FastAPI, data: DataProvider, registry: Registry, echo: Echo) -> None:
    """Mounts every plugin's routes and static folder, and ``GET /api/plugins``."""
    problems: dict[str, str] = {}
    for plugin in registry.plugins:
        problem = _mount(app, data, plugin)
        if problem is not None:
            problems[plugin.name] = problem
    lines = [*registry.problems, *(f"plugin {n!r} {p}" for n, p in problems.items())]
    for line in lines:
        echo(f"warning: {line}")
    cache: dict[int, dict[str, Any]] = {}

    @app.get("/api/plugins")
    def plugins() -> JSONResponse:
        """The plugins with data, in tab order, with what the page needs to load each.

        ``{"plugins": [{name, title, order, claims, page, fallback, problem}],
        "problems": [line]}``; ``page`` is ``{"builtin": view}``, ``{"url": module}``
        or null. Tags of a plugin that no plugin claims get an entry of the
        fallback plugin (the raw-tensor view) under their plugin's name.
        """
        generation = data.index.generation
        if generation not in cache:
            cache.clear()
            cache[generation] = plugin_listing(registry, data.plugin_names(), problems, lines)
        return JSONResponse(cache[generation], headers={"Cache-Control": "no-cache"})


def plugin_listing(
    registry: Registry, present: set[str], problems: dict[str, str], lines: list[str]
) -> dict[str, Any]:
    """What ``GET /api/plugins`` answers for the tag plugin names ``present`` in the logdir.

    ``problems`` are the plugins' own (by name), ``lines`` every problem as the terminal heard it.
    """
    entries = [
        _entry(plugin, problems.get(plugin.name))
        for plugin in registry.plugins
        if not plugin.fallback and (plugin.always or present.intersection(plugin.claimed))
    ]
    fallback = registry.fallback
    taken = {plugin.name for plugin in registry.plugins}
    if fallback is not None:
        for name in sorted(present - registry.claimed().keys() - taken):
            entry = _entry(fallback, problems.get(fallback.name))
            entry.update(name=name, title=readable_title(name), claims=[name])
            entries.append(entry)
    return {"plugins": entries, "problems": lines}


#: Titles of plugins that TensorBoard and its writers use, which stepscope shows raw.
KNOWN_TITLES = {
    "graph_keras_model": "Keras model",
    "graph_run_metadata": "Run metadata",
    "graph_run_metadata_graph": "Run metadata graphs",
    "graph_host_call": "Host calls",
    "tensor": "Tensors",
    "profile": "Profile",
    "projector": "Projector",
    "timeseries": "Time series",
}


def readable_title(plugin_name: str) -> str:
    """A tab title for a plugin name no plugin claims: ``custom_plugin`` is "Custom plugin"."""
    known = KNOWN_TITLES.get(plugin_name)
    if known is not None:
        return known
    words = " ".join(plugin_name.replace("-", "_").split("_")).strip() or plugin_name
    return words[:1].upper() + words[1:]


def _entry(plugin: Plugin, problem: str | None) -> dict[str, Any]:
    page: dict[str, str] | None = None
    if plugin.page is not None and plugin.page.startswith(BUILTIN):
        page = {"builtin": plugin.page.removeprefix(BUILTIN)}
    elif plugin.page is not None:
        page = {"url": f"{PREFIX[1:]}{plugin.name}/static/{plugin.page}"}
    return {
        "name": plugin.name,
        "title": plugin.title,
        "order": plugin.order,
        "claims": list(plugin.claimed),
        "page": page,
        "fallback": plugin.fallback,
        "problem": problem,
    }


def _mount(app: FastAPI, data: DataProvider, plugin: Plugin) -> str | None:
    """Mounts one plugin; what went wrong, or None."""
    if plugin.static is not None:
        app.mount(
            f"{PREFIX}{plugin.name}/static",
            StaticFiles(directory=plugin.static, check_dir=False),
            name=f"plugin-{plugin.name}-static",
        )
    if plugin.routes is None:
        return None
    try:
        router = plugin.routes(data)
        if not isinstance(router, APIRouter):
            raise TypeError(f"routes() returned a {type(router).__name__}, not an APIRouter")
        app.include_router(router, prefix=f"{PREFIX}{plugin.name}", tags=[plugin.name])
    except Exception as error:  # a plugin's code may fail in any way; the rest goes on
        return f"could not start its routes: {type(error).__name__}: {error}"
    return None


class PluginErrorMiddleware:
    """Turns an exception escaping a plugin's route into a 500 that names the plugin.

    The terminal is told once per plugin and message; the response has the
    one error shape, so the page shows the line in that plugin's tab.
    """

    def __init__(self, app: ASGIApp, echo: Echo) -> None:
        self.app = app
        self.echo = echo
        self.told: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        at = path.find(PREFIX)
        if at < 0:
            await self.app(scope, receive, send)
            return
        name = path[at + len(PREFIX) :].split("/", 1)[0]
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            message = f"plugin {name!r} failed: {type(error).__name__}: {error}"
            if (name, message) not in self.told:
                self.told.add((name, message))
                self.echo(f"error: {message} (at {path})")
            if started:
                raise
            response = JSONResponse({"error": {"status": 500, "message": message}}, status_code=500)
            await response(scope, receive, send)
