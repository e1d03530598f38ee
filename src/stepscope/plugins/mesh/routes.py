"""The mesh kind's routes, at ``/api/plugins/mesh/``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from stepscope.plugins.mesh.read import (
    BINARY_MESH,
    list_meshes,
    mesh_binary,
    mesh_json,
    read_mesh_step,
)
from stepscope.server.data_routes import RunParam
from stepscope.store.provider import DataProvider

NameParam = Annotated[str, Query(min_length=1, max_length=1000)]


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/meshes")
    def meshes(
        run: RunParam, name: Annotated[str | None, Query(max_length=1000)] = None
    ) -> JSONResponse:
        """The meshes of a run (or the one named): components, steps and three.js config.

        ``config`` is the logged ``json_config`` parsed, or null when it is not
        valid JSON.
        """
        return JSONResponse(
            {"run": run, "meshes": list_meshes(data, run, name)},
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/mesh")
    def mesh(
        run: RunParam,
        name: NameParam,
        step: int,
        item: Annotated[int, Query(ge=0)] = 0,
        format: Literal["json", "binary"] = "json",
    ) -> Response:
        """One step of a mesh (one item of its batch): vertices, faces and colours.

        JSON: flat arrays ``vertices`` (x, y, z, ...), ``faces`` (three vertex
        indices per triangle, or null) and ``colors`` (r, g, b in 0-255 per
        vertex, or null), with ``problem`` saying why they are empty.
        ``format=binary`` sends the same as typed arrays (see
        :func:`mesh_binary`).
        """
        found = read_mesh_step(data, run, name, step, item)
        headers = {"Cache-Control": "no-cache"}
        if format == "binary":
            return Response(mesh_binary(found), media_type=BINARY_MESH, headers=headers)
        return JSONResponse(mesh_json(found), headers=headers)

    return router
