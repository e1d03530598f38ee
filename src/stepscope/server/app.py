"""The dashboard's HTTP API: a FastAPI app over the data interface.

Every route reads through :class:`~stepscope.store.provider.DataProvider`.
Errors have one JSON shape, ``{"error": {"status": 404, "message": "..."}}``;
a malformed parameter is a 400 that names it. Responses are gzipped. Floats
that JSON cannot hold (NaN, +-Infinity) are sent as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (``Number(s)`` in JavaScript reads them),
so a divergence is shown rather than dropped.

When the server listens beyond the loopback interface it requires a token
(``?token=...`` once, then a cookie; or ``Authorization: token ...``), as
Jupyter does.
"""

from __future__ import annotations

import hmac
import math
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from stepscope import __version__
from stepscope.errors import StepscopeError
from stepscope.store.provider import DataProvider

#: The most points one series may be asked for at once.
MAX_POINTS = 100_000
_COOKIE = "stepscope_token"


def create_app(
    data: DataProvider,
    *,
    token: str | None = None,
    window_title: str = "stepscope",
    status: Any = None,
) -> FastAPI:
    """The API app. ``status()`` (optional) returns the follower's state for ``/api/status``."""
    app = FastAPI(
        title="stepscope",
        version=__version__,
        description="The dashboard's data: runs, tags and series of a logdir, read through the index.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if token is not None:
        app.add_middleware(_TokenMiddleware, token=token)

    @app.exception_handler(StepscopeError)
    async def _known(request: Request, error: StepscopeError) -> JSONResponse:
        return _error(error.http_status, str(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        reason = first.get("msg", "invalid value")
        return _error(400, f"bad parameter {where!r}: {reason}")

    @app.get("/api/environment")
    def environment() -> dict[str, Any]:
        """What the page needs to start: the title and the version."""
        return {"window_title": window_title, "version": __version__}

    @app.get("/api/status")
    def follower_status() -> dict[str, Any]:
        """How the reading of the logdir goes (first load, last update, problems)."""
        return dict(status()) if status is not None else {"loading": False}

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        """Every run, with how much of it was read and what went wrong (one line per file)."""
        return [
            {
                "name": run.name,
                "events": run.events,
                "corrupt_records": run.corrupt_records,
                "problems": run.problems,
            }
            for run in data.runs()
        ]

    @app.get("/api/tags")
    def tags(
        plugin: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, dict[str, Any]]:
        """Tags per run (of one plugin if given), with their metadata and number of points."""
        found: dict[str, dict[str, Any]] = {}
        for tag in data.tags(plugin):
            found.setdefault(tag.run, {})[tag.tag] = {
                "plugin": tag.plugin,
                "display_name": tag.info.display_name,
                "description": tag.info.description,
                "points": tag.points,
            }
        return found

    @app.get("/api/scalars")
    def scalars(
        tag: Annotated[str, Query(min_length=1, max_length=1000)],
        run: Annotated[list[str] | None, Query(max_length=10_000)] = None,
        max_points: Annotated[int | None, Query(ge=1, le=MAX_POINTS)] = None,
    ) -> Response:
        """One tag for many runs (all runs that have it, if none is named), as columns.

        ``max_points`` downsamples each series without hiding a spike.
        """
        names = run or [t.run for t in data.tags("scalars", count_points=False) if t.tag == tag]
        if not names:
            return _error(404, f"no run has a scalar tag {tag!r}")
        series = []
        for name in names:
            found = data.scalars(name, tag, max_points)
            series.append(
                {
                    "run": name,
                    "total": found.total,
                    "step": found.steps.tolist(),
                    "wall_time": found.wall_times.tolist(),
                    "value": [_number(v) for v in found.values.tolist()],
                }
            )
        return JSONResponse({"tag": tag, "series": series})

    return app


def _number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


class _TokenMiddleware(BaseHTTPMiddleware):
    """Requires the token printed with the URL (query once, then a cookie; or a header)."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("token "):
            given = given or header[6:].strip()
        given = given or request.cookies.get(_COOKIE)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return _error(
                403,
                "this stepscope server needs its token: open the URL it printed "
                "(it ends in ?token=...)",
            )
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(_COOKIE, self.token, httponly=True, samesite="strict")
        return response
