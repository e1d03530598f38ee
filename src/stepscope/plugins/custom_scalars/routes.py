"""The custom scalars kind's routes, at ``/api/plugins/custom_scalars/``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stepscope.plugins.custom_scalars.read import merged_layout
from stepscope.store.provider import DataProvider


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()

    @router.get("/layout")
    def layout() -> JSONResponse:
        """The layout written by ``add_custom_scalars``, merged over runs (see ``merged_layout``)."""
        return JSONResponse(merged_layout(data), headers={"Cache-Control": "no-cache"})

    return router
