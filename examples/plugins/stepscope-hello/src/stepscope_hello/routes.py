"""The HTTP side: the routes stepscope mounts at ``/api/plugins/hello/``.

``GET /api/plugins/hello/greetings[?run=A&run=B]`` answers
``{"greetings": [{"run", "tag", "step", "text"}, ...]}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from stepscope.store.provider import DataProvider
from stepscope_hello.greetings import greetings_json, read_greetings


def routes(data: DataProvider) -> APIRouter:
    """The plugin's router over ``data`` (stepscope calls this once, at start)."""
    router = APIRouter()

    @router.get("/greetings")
    def greetings(
        run: Annotated[list[str] | None, Query(max_length=10_000)] = None,
    ) -> dict[str, Any]:
        """The greetings of the runs named (of every run if none is)."""
        return greetings_json(read_greetings(data, run))

    return router
