"""What a plugin is: one kind of data, its tab, its routes and its page module.

Every kind stepscope shows (scalars, images, histograms, ...) is a
:class:`Plugin`, found through the entry-point group ``stepscope.plugins``;
the built-in ones are registered there by stepscope's own ``pyproject.toml``,
exactly as a third-party package registers its own::

    # pyproject.toml of a plugin package
    [project.entry-points."stepscope.plugins"]
    hello = "stepscope_hello.plugin:PLUGIN"

    # stepscope_hello/plugin.py
    PLUGIN = Plugin(
        name="hello",
        title="Hello",
        routes=routes,  # DataProvider -> APIRouter, mounted at /api/plugins/hello/
        page="hello.js",  # a built ES module in static/
        static=Path(__file__).parent / "static",
    )

``docs/plugins.md`` teaches writing one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from stepscope.store.provider import DataProvider

#: A plugin's name: its tab key and the segment of its routes, ``/api/plugins/<name>/``.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: The prefix of a ``page`` that names a module bundled with the dashboard itself.
BUILTIN = "builtin:"

RoutesFactory = Callable[["DataProvider"], "APIRouter"]


@dataclass(frozen=True)
class Plugin:
    """One kind of data in the dashboard.

    ``claims`` are the plugin names of tag metadata (``SummaryMetadata.
    plugin_data.plugin_name``) whose tags this plugin shows; by default its
    own name. The tab appears when some run has such a tag (or always, with
    ``always``). ``routes(data)`` returns a FastAPI ``APIRouter`` mounted at
    ``/api/plugins/<name>``. ``page`` is the page module: ``"builtin:<view>"``
    for one bundled with the dashboard, or the path of a built ES module
    inside ``static``, a folder served at ``/api/plugins/<name>/static/``.
    ``fallback`` marks the one plugin whose page shows the tags that no
    plugin claims (the raw-tensor view). ``uncompressed`` lists media types
    its routes answer in that gzip would not shrink (packed floats).
    """

    name: str
    title: str
    order: int = 1000
    claims: tuple[str, ...] = ()
    routes: RoutesFactory | None = None
    page: str | None = None
    static: Path | None = None
    always: bool = False
    fallback: bool = False
    uncompressed: tuple[str, ...] = ()
    description: str = ""

    @property
    def claimed(self) -> tuple[str, ...]:
        """The tag plugin names this plugin shows (``claims``, or its own name)."""
        return self.claims or (self.name,)

    def problem(self) -> str | None:
        """What is wrong with this plugin's declaration, or None."""
        if not NAME_PATTERN.match(self.name):
            return (
                f"its name {self.name!r} is not a plugin name (lower-case letters, digits "
                "and underscores, starting with a letter)"
            )
        if not self.title.strip():
            return "it has no title"
        if self.page is not None and not self.page.startswith(BUILTIN):
            if self.static is None:
                return f"its page module {self.page!r} needs a static folder (Plugin.static)"
            module = (self.static / self.page).resolve()
            if not module.is_relative_to(self.static.resolve()):
                return f"its page module {self.page!r} lies outside its static folder"
            if not module.is_file():
                return f"its page module {self.page!r} is not in {self.static}"
        return None
