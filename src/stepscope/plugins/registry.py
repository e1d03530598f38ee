"""Finds the plugins: every entry point of the group ``stepscope.plugins``.

stepscope's own kinds are registered in that group by its ``pyproject.toml``,
so they load exactly as a third party's do. A plugin that cannot be loaded
is left out with one line saying which and why (:attr:`Registry.problems`);
the others load as usual. A second plugin of a name already taken is
refused.

Example::

    registry = load_plugins()
    [plugin.name for plugin in registry.plugins]  # ['scalars', 'custom_scalars', 'images', ...]
    registry.problems  # ["plugin 'hello' (stepscope_hello.plugin:PLUGIN) cannot be imported: ..."]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from stepscope.plugins.base import Plugin

GROUP = "stepscope.plugins"


@dataclass(frozen=True)
class Registry:
    """The plugins found, in tab order, and one line per plugin that could not be loaded."""

    plugins: tuple[Plugin, ...]
    problems: tuple[str, ...] = ()
    #: The entry point each plugin came from (``module:attribute``), by name.
    sources: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Plugin | None:
        for plugin in self.plugins:
            if plugin.name == name:
                return plugin
        return None

    @property
    def fallback(self) -> Plugin | None:
        """The plugin that shows the tags no other plugin claims (the raw-tensor view)."""
        return next((plugin for plugin in self.plugins if plugin.fallback), None)

    def claimed(self) -> dict[str, list[Plugin]]:
        """The plugins that show each tag plugin name."""
        found: dict[str, list[Plugin]] = {}
        for plugin in self.plugins:
            for name in plugin.claimed:
                found.setdefault(name, []).append(plugin)
        return found


def load_plugins(found: Iterable[EntryPoint] | None = None) -> Registry:
    """The plugins of the ``stepscope.plugins`` entry points (or of ``found``), checked."""
    points = sorted(
        entry_points(group=GROUP) if found is None else found, key=lambda p: (p.name, p.value)
    )
    plugins: dict[str, Plugin] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for point in points:
        plugin, problem = _load(point)
        if problem is None and plugin is not None:
            if plugin.name in plugins:
                problem = (
                    f"refused: the name {plugin.name!r} is taken by {sources[plugin.name]}; "
                    "rename one of the two plugins or uninstall one"
                )
            else:
                plugins[plugin.name] = plugin
                sources[plugin.name] = point.value
                continue
        problems.append(f"plugin {point.name!r} ({point.value}) {problem}")
    if not plugins:
        problems.append(
            "no plugin was found in the entry-point group 'stepscope.plugins': "
            "install stepscope again (pip install stepscope, or pip install -e . in a checkout)"
        )
    ordered = sorted(plugins.values(), key=lambda p: (p.order, p.name))
    return Registry(tuple(ordered), tuple(problems), sources)


def _load(point: EntryPoint) -> tuple[Plugin | None, str | None]:
    try:
        plugin = point.load()
    except Exception as error:  # a third party's import can fail in any way
        return None, f"cannot be imported: {type(error).__name__}: {error}"
    if not isinstance(plugin, Plugin):
        return None, f"is not a stepscope Plugin but a {type(plugin).__name__}"
    problem = plugin.problem()
    return plugin, (f"is refused: {problem}" if problem else None)
