"""The graphs kind's routes, at ``/api/plugins/graphs/`` (``docs/graphs.md``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from stepscope.plugins.graphs import metadata
from stepscope.plugins.graphs.graph_json import graph_info_json, graph_json
from stepscope.plugins.graphs.read import LIMIT_ATTR_SIZE, list_graphs, read_graph
from stepscope.server.data_routes import RunParam, TagParam
from stepscope.store.provider import DataProvider

_FRESH = {"Cache-Control": "no-cache"}


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/graphs")
    def graphs(
        run: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    ) -> JSONResponse:
        """The graph tags of a run (or of every run): kind, steps, node count, step stats or not."""
        found = [graph_info_json(info) for info in list_graphs(data, run)]
        return JSONResponse({"run": run, "graphs": found}, headers=_FRESH)

    @router.get("/graph")
    def graph(
        run: RunParam,
        tag: TagParam = metadata.RUN_GRAPH_TAG,
        step: int | None = None,
        limit_attr_size: Annotated[int, Query(ge=1)] = LIMIT_ATTR_SIZE,
        stats: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    ) -> JSONResponse:
        """One graph: nodes, edges, scopes and notes; attributes over ``limit_attr_size`` bytes truncated.

        The newest graph of the tag, or the one at ``step``; ``stats`` joins
        the step stats of a run-metadata tag of the run to the nodes.
        """
        found = read_graph(data, run, tag, step, limit_attr_size, stats)
        return JSONResponse(graph_json(found), headers=_FRESH)

    return router
