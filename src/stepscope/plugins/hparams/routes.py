"""The hparams kind's routes, at ``/api/plugins/hparams/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stepscope.plugins.hparams.read import sessions
from stepscope.store.provider import DataProvider


def routes(data: DataProvider) -> APIRouter:
    router = APIRouter()
    # Every scalar's last value is read for the metrics: kept until the index changes.
    cache: dict[int, list[dict[str, Any]]] = {}

    @router.get("/sessions")
    def hparams_sessions() -> JSONResponse:
        """One entry per run with hyperparameters: ``{"sessions": [{run, hparams, metrics}]}``."""
        generation = data.index.generation
        if generation not in cache:
            found = sessions(data)
            cache.clear()
            cache[generation] = found
        return JSONResponse({"sessions": cache[generation]}, headers={"Cache-Control": "no-cache"})

    return router
