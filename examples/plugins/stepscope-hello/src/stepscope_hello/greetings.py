"""The reader side: the greetings of a logdir, read through stepscope's DataProvider.

Plain functions of the provider, so they are tested without HTTP; the route
in :mod:`stepscope_hello.routes` only parses the request and calls them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from stepscope.store.provider import DataProvider
from stepscope_hello.metadata import PLUGIN_NAME


@dataclass(frozen=True)
class Greeting:
    run: str
    tag: str
    step: int
    text: str


def read_greetings(data: DataProvider, runs: list[str] | None = None) -> list[Greeting]:
    """Every greeting of these runs (all runs if None), by run, tag, then step.

    An unknown run raises stepscope's ``NotFoundError`` (a 404 from a route).
    """
    tags = [
        found
        for run in (runs if runs is not None else [None])
        for found in data.tags(PLUGIN_NAME, run, count_points=False)
    ]
    return [
        Greeting(found.run, found.tag, point.step, _text(point.value.reshape(-1)))
        for found in tags
        for point in data.tensors(found.run, found.tag)
    ]


def greetings_json(greetings: list[Greeting]) -> dict[str, Any]:
    """The answer of ``GET /api/plugins/hello/greetings``."""
    return {"greetings": [asdict(greeting) for greeting in greetings]}


def _text(values: Any) -> str:
    # Another writer may have logged something else under our plugin name:
    # show what it holds rather than fail.
    if len(values) != 1 or not isinstance(values[0], bytes):
        return repr(values.tolist())
    return values[0].decode("utf-8", errors="replace")
