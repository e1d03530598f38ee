"""The images kind's routes, at ``/api/plugins/images/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from stepscope.plugins.images.read import list_images, scaled_preview
from stepscope.server.data_routes import RunParam, TagParam, blob_response
from stepscope.store.provider import DataProvider


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/list")
    def images(run: RunParam, tag: TagParam) -> JSONResponse:
        """A tag's images by step, as ``/api/blobs``, with ``preview_url`` for those over 4 MP."""
        return JSONResponse(
            {"run": run, "tag": tag, "blobs": list_images(data, run, tag)},
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/preview")
    def preview(
        run: RunParam,
        tag: TagParam,
        step: int,
        index: Annotated[int, Query(ge=0)] = 0,
        v: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        """One image scaled to at most 2,048 pixels on its longer side, as PNG (422 if undecodable)."""
        ref = data.blob_point(run, tag, step, index).ref
        content = scaled_preview(data.read_blob(run, tag, step, ref), tag, step)
        return blob_response(content, "image/png", ref, v)

    return router
